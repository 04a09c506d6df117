"""Round trip through kafka-python: produce with acks=all, consume by assignment, check order."""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
compression = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] != "none" else None

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=compression, linger_ms=5)
futures = [producer.send(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), partition=0,
                         headers=[("n", str(i).encode())]) for i in range(count)]
producer.flush(30)
offsets = [f.get(timeout=30).offset for f in futures]
producer.close()

consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                         auto_offset_reset="earliest", consumer_timeout_ms=10000)
tp = TopicPartition(topic, 0)
consumer.assign([tp])
consumer.seek_to_beginning(tp)
got = []
for msg in consumer:
    got.append((msg.offset, msg.key.decode(), msg.value.decode(), dict(msg.headers)["n"].decode()))
    if len(got) >= count:
        break
consumer.close()

expected = [(offsets[i], f"k{i}", f"v{i}", str(i)) for i in range(count)]
ok = got == expected and offsets == list(range(offsets[0], offsets[0] + count))
print(json.dumps({"produced": len(offsets), "consumed": len(got), "ok": ok}))
sys.exit(0 if ok else 1)
