"""librdkafka (confluent-kafka-python) producing under a producer_byte_rate quota: counts the
throttle events the broker reports (throttle_cb) and how long delivery took. Prints one JSON
summary line; exits non-zero if a message is not delivered."""
import json
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, client_id, count, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])

throttles = []
delivered = []
errors = []


def on_throttle(event):
    throttles.append(event.throttle_time)


def on_delivery(err, msg):
    if err is not None:
        errors.append(str(err))
    else:
        delivered.append(msg.offset())


producer = Producer({
    "bootstrap.servers": bootstrap,
    "client.id": client_id,
    "acks": "all",
    "linger.ms": 5,
    "throttle_cb": on_throttle,
})
started = time.time()
payload = b"x" * size
for i in range(count):
    producer.produce(topic, value=payload, on_delivery=on_delivery)
    producer.poll(0)
remaining = producer.flush(90)
elapsed = time.time() - started
# throttle_cb is served by poll(): give late reports a chance.
for _ in range(5):
    producer.poll(0.1)
# One more message right after: a throttled client (muted by the broker, backing off itself)
# gets it delivered only once the throttle time has passed.
after_started = time.time()
producer.produce(topic, value=b"after", on_delivery=on_delivery)
remaining += producer.flush(90)
after_s = time.time() - after_started
print(json.dumps({
    "delivered": len(delivered),
    "errors": errors[:5],
    "remaining": remaining,
    "throttle_events": len(throttles),
    "max_throttle_s": max(throttles) if throttles else 0,
    "elapsed_s": elapsed,
    "after_s": after_s,
}))
sys.exit(0 if len(delivered) == count + 1 and not errors else 1)
