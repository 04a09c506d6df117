"""End-to-end latency: one record at a time at a steady rate through librdkafka, read back by a
consumer in the same process; prints percentiles as one JSON line. Bounded by rate x seconds."""
import json
import struct
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

bootstrap, topic, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "1"})
producer.produce(topic, value=b"warmup")
producer.flush(10)
consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "latency", "enable.auto.commit": False,
                     "fetch.wait.max.ms": 100, "fetch.min.bytes": 1})
consumer.assign([TopicPartition(topic, 0, 1)])
# Let the consumer reach the log end before timing starts.
consumer.poll(1.0)

latencies = []
total = int(rate * seconds)
interval = 1.0 / rate
start = time.perf_counter()
sent = 0
deadline = start + seconds + 10
while len(latencies) < total and time.perf_counter() < deadline:
    now = time.perf_counter()
    while sent < total and now >= start + sent * interval:
        producer.produce(topic, value=struct.pack(">d", time.perf_counter()))
        sent += 1
        now = time.perf_counter()
    producer.poll(0)
    msg = consumer.poll(0.001)
    while msg is not None:
        if not msg.error() and len(msg.value()) == 8:
            latencies.append((time.perf_counter() - struct.unpack(">d", msg.value())[0]) * 1000)
        msg = consumer.poll(0)
producer.flush(10)
consumer.close()
latencies.sort()


def pct(p):
    return latencies[min(len(latencies) - 1, int(len(latencies) * p))] if latencies else float("nan")


print(json.dumps({"p50_ms": pct(0.50), "p99_ms": pct(0.99), "p999_ms": pct(0.999), "max_ms": latencies[-1] if latencies else float("nan"), "received": len(latencies), "sent": sent}))
