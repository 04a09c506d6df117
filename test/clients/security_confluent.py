# confluent-kafka-python (librdkafka) against a secured listener: produces N records and reads
# them back. Args: bootstrap topic count security-json; security-json holds librdkafka settings
# (security.protocol, sasl.*, ssl.*). Last stdout line: a JSON summary.
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer

bootstrap, topic, count, security = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
errors = []


def on_error(err):
    errors.append(str(err))


base = {"bootstrap.servers": bootstrap, "error_cb": on_error, **security}
producer = Producer({**base, "enable.idempotence": True, "message.timeout.ms": 20000})
delivered = []
for i in range(count):
    producer.produce(topic, key=str(i).encode(), value=f"secure-{i}".encode(), on_delivery=lambda err, msg: delivered.append(err))
left = producer.flush(30)
failed = [str(e) for e in delivered if e is not None]
if left or failed or len(delivered) != count:
    print(json.dumps({"produced": len(delivered) - len(failed), "errors": (failed + errors)[:3]}))
    sys.exit(1)

consumer = Consumer({**base, "group.id": f"sec-{topic}", "auto.offset.reset": "earliest", "enable.auto.commit": False})
consumer.subscribe([topic])
got = []
deadline = time.time() + 40
while len(got) < count and time.time() < deadline:
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        errors.append(str(msg.error()))
        continue
    got.append(msg.value().decode())
consumer.close()
ok = got == [f"secure-{i}" for i in range(count)]
print(json.dumps({"produced": count, "consumed": len(got), "ok": ok, "errors": errors[:3]}))
sys.exit(0 if ok else 1)
