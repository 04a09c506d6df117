"""Reads every partition of a topic from the beginning to its end offset with librdkafka
(explicit assignment, no group) and prints one JSON line per record."""
import base64
import json
import sys

from confluent_kafka import Consumer, TopicPartition

bootstrap, topic = sys.argv[1], sys.argv[2]
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "dump", "enable.auto.commit": False})
meta = consumer.list_topics(topic, timeout=10)
partitions = sorted(meta.topics[topic].partitions.keys())
ends = {}
for p in partitions:
    _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
    ends[p] = high
consumer.assign([TopicPartition(topic, p, 0) for p in partitions if ends[p] > 0])
remaining = {p for p in partitions if ends[p] > 0}
idle = 0
while remaining and idle < 40:
    msg = consumer.poll(0.5)
    if msg is None:
        idle += 1
        continue
    if msg.error():
        print(json.dumps({"error": str(msg.error())}), flush=True)
        sys.exit(1)
    idle = 0
    headers = {k: v.decode() for k, v in (msg.headers() or [])}
    print(json.dumps({
        "partition": msg.partition(), "offset": msg.offset(),
        "key": msg.key().decode() if msg.key() is not None else None,
        "value": msg.value().decode() if msg.value() is not None else None,
        "headers": headers, "timestamp": msg.timestamp()[1],
    }))
    if msg.offset() + 1 >= ends[msg.partition()]:
        remaining.discard(msg.partition())
consumer.close()
sys.exit(0 if not remaining else 2)
