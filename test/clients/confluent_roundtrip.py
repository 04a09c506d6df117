"""Round trip through librdkafka (confluent-kafka-python): idempotent produce, then consume
by explicit assignment. Prints one JSON summary line; exits non-zero on any failure."""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, topic, count, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
compression = sys.argv[5] if len(sys.argv) > 5 else "none"

acked = []
errors = []


def on_delivery(err, msg):
    if err is not None:
        errors.append(str(err))
    else:
        acked.append((msg.partition(), msg.offset(), msg.key().decode()))


producer = Producer({
    "bootstrap.servers": bootstrap,
    "enable.idempotence": True,
    "acks": "all",
    "compression.type": compression,
    "linger.ms": 5,
})
for i in range(count):
    producer.produce(topic, key=f"key-{i}", value=f"value-{i}", partition=i % partitions,
                     headers=[("seq", str(i).encode())], on_delivery=on_delivery)
    producer.poll(0)
remaining = producer.flush(30)
if remaining or errors:
    print(json.dumps({"error": "produce failed", "remaining": remaining, "errors": errors[:5]}))
    sys.exit(1)

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "unused-by-assign",
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
})
consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
seen = {p: [] for p in range(partitions)}
deadline = time.time() + 30
total = 0
while total < count and time.time() < deadline:
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        print(json.dumps({"error": str(msg.error())}))
        sys.exit(1)
    i = int(msg.value().decode().split("-")[1])
    assert msg.key().decode() == f"key-{i}", msg.key()
    assert dict(msg.headers())["seq"] == str(i).encode()
    seen[msg.partition()].append((msg.offset(), i))
    total += 1
consumer.close()

ok = total == count
for p, items in seen.items():
    offsets = [o for o, _ in items]
    values = [v for _, v in items]
    if offsets != list(range(len(offsets))) or values != sorted(values):
        ok = False
print(json.dumps({"produced": len(acked), "consumed": total, "ok": ok}))
sys.exit(0 if ok else 1)
