"""Reads partition 0 of a topic from offset 0 with librdkafka at the given isolation level
until the end (partition EOF: the LSO for read_committed) and prints the values as one JSON line."""
import json
import sys

from confluent_kafka import Consumer, KafkaError, TopicPartition

bootstrap, topic, isolation = sys.argv[1], sys.argv[2], sys.argv[3]
consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "txn-consume",
    "enable.auto.commit": False,
    "enable.partition.eof": True,
    "isolation.level": isolation,
})
consumer.assign([TopicPartition(topic, 0, 0)])
values = []
eof = False
for _ in range(120):
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        if msg.error().code() == KafkaError._PARTITION_EOF:
            eof = True
            break
        print(json.dumps({"error": str(msg.error())}), flush=True)
        sys.exit(1)
    values.append(msg.value().decode())
consumer.close()
print(json.dumps({"values": values, "eof": eof}))
sys.exit(0 if eof else 2)
