"""A librdkafka producer (confluent-kafka 2.x, KIP-714 telemetry on by default) that keeps producing
until told to stop (stdin closed) or a deadline, so the broker gets its telemetry pushes.
Usage: telemetry_producer.py <bootstrap> <topic> <client.id> <seconds>"""
import json
import sys
import threading
import time

from confluent_kafka import Producer

bootstrap, topic, client_id, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
p = Producer({'bootstrap.servers': bootstrap, 'client.id': client_id, 'enable.metrics.push': True, 'linger.ms': 5})
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
deadline = time.time() + seconds
sent = 0
while not stop.is_set() and time.time() < deadline:
    p.produce(topic, value=b'telemetry-%d' % sent)
    sent += 1
    p.poll(0.05)
p.flush(10)
print(json.dumps({'sent': sent}))
