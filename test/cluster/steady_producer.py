"""An idempotent acks=all librdkafka producer (confluent-kafka-python) that writes keyed records
until a stop file appears (or its bounds run out), for the rolling-restart test. Prints one JSON
line: every acknowledged value with its partition and offset, and any delivery error."""
import json
import os
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, stop_file = sys.argv[1], sys.argv[2], sys.argv[3]
MAX_RECORDS, MAX_SECONDS = 200_000, 120

acked = []
errors = []


def on_delivery(err, msg):
    if err is not None:
        errors.append(str(err))
    else:
        acked.append([msg.value().decode(), msg.partition(), msg.offset()])


producer = Producer({
    "bootstrap.servers": bootstrap,
    "enable.idempotence": True,
    "acks": "all",
    "linger.ms": 5,
    "message.timeout.ms": 60000,
})
started = time.time()
i = 0
while i < MAX_RECORDS and time.time() - started < MAX_SECONDS and not os.path.exists(stop_file):
    producer.produce(topic, key=f"k{i % 10}", value=f"s{i}", on_delivery=on_delivery)
    i += 1
    producer.poll(0.002 if i % 20 == 0 else 0)
remaining = producer.flush(60)
print(json.dumps({"sent": i, "remaining": remaining, "errors": errors[:10], "acked": acked}))
