"""confluent-kafka-python 2.x (librdkafka >= 2.4) with group.protocol=consumer (KIP-848) against
Tributary: two members of one group, driven from one thread so the order of the rebalance
callbacks is exact. Records whether a partition was ever assigned while another member owned it,
the split after the second member joins, that every record is consumed and committed, and the
move of the partitions when a member leaves. Prints one JSON summary line.
Usage: confluent2_kip848.py BOOTSTRAP PREFIX"""
import json
import sys
import time

import confluent_kafka
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, prefix = sys.argv[1], sys.argv[2]
out = {"version": confluent_kafka.version()[0], "librdkafka": confluent_kafka.libversion()[0]}
topic, group = prefix + "-t", prefix + "-g"
PARTITIONS, PER_PARTITION = 4, 25
admin = AdminClient({"bootstrap.servers": bootstrap})
admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)
producer = Producer({"bootstrap.servers": bootstrap})
for p in range(PARTITIONS):
    for i in range(PER_PARTITION):
        producer.produce(topic, value=("p%d-%d" % (p, i)).encode(), partition=p)
producer.flush(30)

owner = {}
violations = []
seen = set()


def member(name):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.protocol": "consumer",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})

    def on_assign(consumer, parts):
        for tp in parts:
            prev = owner.get(tp.partition)
            if prev is not None and prev != name:
                violations.append("%d assigned to %s while %s owns it" % (tp.partition, name, prev))
            owner[tp.partition] = name

    def on_revoke(consumer, parts):
        for tp in parts:
            if owner.get(tp.partition) == name:
                del owner[tp.partition]

    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_revoke)
    return c


def owned(name):
    return sorted(p for p, n in owner.items() if n == name)


def poll(consumers, until, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for c in consumers:
            m = c.poll(0.05)
            if m is not None and m.error() is None:
                seen.add((m.partition(), m.offset()))
                c.commit(message=m, asynchronous=False)
        if until():
            return True
    return False


a = member("a")
out["a_alone"] = poll([a], lambda: len(owned("a")) == PARTITIONS) and owned("a")
b = member("b")
out["split"] = poll([a, b], lambda: len(owned("a")) == 2 and len(owned("b")) == 2) and [len(owned("a")), len(owned("b"))]
out["consumed"] = poll([a, b], lambda: len(seen) == PARTITIONS * PER_PARTITION) and len(seen)
committed = b.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=30)
out["committed"] = sorted(tp.offset for tp in committed)
a.close()
out["b_after_leave"] = poll([b], lambda: len(owned("b")) == PARTITIONS) and owned("b")
b.close()
out["violations"] = violations
print(json.dumps(out))
