"""librdkafka (confluent-kafka-python) consumer assigned at an offset below the log start:
with auto.offset.reset=earliest it must get OFFSET_OUT_OF_RANGE, reset to the log start and
read from there. Prints one JSON summary line; exits non-zero on any failure."""
import json
import sys
import time

from confluent_kafka import Consumer, TopicPartition

bootstrap, topic, start_at, expected = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

consumer = Consumer({
    "bootstrap.servers": bootstrap,
    "group.id": "offset-reset-by-assign",
    "enable.auto.commit": False,
    "auto.offset.reset": "earliest",
})
consumer.assign([TopicPartition(topic, 0, start_at)])
offsets = []
deadline = time.time() + 30
while len(offsets) < expected and time.time() < deadline:
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        print(json.dumps({"error": str(msg.error())}))
        sys.exit(1)
    offsets.append(msg.offset())
low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
consumer.close()
print(json.dumps({"first": offsets[0] if offsets else None, "count": len(offsets), "low": low, "high": high}))
