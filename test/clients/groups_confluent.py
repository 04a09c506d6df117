"""Consumer-group scenarios through librdkafka (confluent-kafka-python). Usage:

  groups_confluent.py split  BOOTSTRAP TOPIC GROUP STRATEGY   two consumers split a 4-partition topic
  groups_confluent.py static BOOTSTRAP TOPIC GROUP            a static member restarts, the other sees no rebalance
  groups_confluent.py lag    BOOTSTRAP TOPIC GROUP            committed offsets vs high watermarks, AdminClient.list_groups

Each mode prints one JSON summary line as its last line and exits non-zero on failure."""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

mode, bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
PARTITIONS = 4


def fail(**info):
    print(json.dumps({"ok": False, **info}))
    sys.exit(1)


def create_topic():
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
        f.result(10)


def produce(count, start=0):
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(start, start + count):
        p.produce(topic, key=f"k{i}", value=f"v{i}", partition=i % PARTITIONS)
    if p.flush(30):
        fail(error="produce did not finish")
    return [f"v{i}" for i in range(start, start + count)]


class Member:
    def __init__(self, name, **extra):
        self.name = name
        self.assigned = set()
        self.assign_calls = 0
        self.revoke_calls = 0
        self.revoked_sizes = []
        self.values = []
        conf = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
            "topic.metadata.refresh.interval.ms": 2000,
        }
        conf.update(extra)
        self.cooperative = conf.get("partition.assignment.strategy") == "cooperative-sticky"
        self.c = Consumer(conf)
        self.c.subscribe([topic], on_assign=self.on_assign, on_revoke=self.on_revoke)

    def on_assign(self, consumer, partitions):
        self.assign_calls += 1
        if self.cooperative:
            self.assigned |= {p.partition for p in partitions}
        else:
            self.assigned = {p.partition for p in partitions}

    def on_revoke(self, consumer, partitions):
        self.revoke_calls += 1
        self.revoked_sizes.append(len(partitions))
        if self.cooperative:
            self.assigned -= {p.partition for p in partitions}
        else:
            self.assigned = set()

    def poll(self, timeout=0.1):
        m = self.c.poll(timeout)
        if m is None:
            return
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                return
            fail(error=str(m.error()), member=self.name)
        self.values.append(m.value().decode())


def poll_until(members, cond, timeout, what):
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            fail(error=f"timed out waiting for {what}", assigned={m.name: sorted(m.assigned) for m in members})
        for m in members:
            m.poll(0.05)


def split(strategy):
    create_topic()
    a = Member("a", **{"partition.assignment.strategy": strategy})
    poll_until([a], lambda: len(a.assigned) == PARTITIONS, 40, "the first member to own everything")
    b = Member("b", **{"partition.assignment.strategy": strategy})
    members = [a, b]
    poll_until(members, lambda: len(a.assigned) == 2 and len(b.assigned) == 2 and not (a.assigned & b.assigned), 40, "a 2/2 split")
    expected = produce(400)
    poll_until(members, lambda: len(a.values) + len(b.values) >= len(expected), 40, "all messages")
    got = a.values + b.values
    if sorted(got) != sorted(expected):
        fail(error="messages lost or duplicated", consumed=len(got), distinct=len(set(got)))
    results = {}
    for m in members:
        m.c.commit(asynchronous=False)
        tps = [TopicPartition(topic, p) for p in sorted(m.assigned)]
        committed = m.c.committed(tps, timeout=10)
        positions = m.c.position(tps)
        for c, pos in zip(committed, positions):
            _, high = m.c.get_watermark_offsets(TopicPartition(topic, c.partition), timeout=10)
            if c.error or c.offset != pos.offset or c.offset != high:
                fail(error="committed/position/high watermark disagree", partition=c.partition, committed=c.offset, position=pos.offset, high=high)
            results[c.partition] = c.offset
    for m in members:
        m.c.close()
    print(json.dumps({"ok": True, "consumed": len(got), "committed": [results[p] for p in sorted(results)], "firstMemberRevoked": [n for n in a.revoked_sizes if n > 0][:1]}))


def static():
    produce(40)
    b = Member("b", **{"group.instance.id": "static-b", "partition.assignment.strategy": "range"})
    poll_until([b], lambda: len(b.assigned) == PARTITIONS, 40, "b alone owns everything")
    a = Member("a", **{"group.instance.id": "static-a", "partition.assignment.strategy": "range"})
    poll_until([a, b], lambda: len(a.assigned) == 2 and len(b.assigned) == 2, 40, "a 2/2 split")
    # Let the group settle, then restart a: close() of a static member sends no LeaveGroup.
    end = time.time() + 2
    while time.time() < end:
        for m in (a, b):
            m.poll(0.05)
    a_before = sorted(a.assigned)
    b_calls = b.assign_calls
    b_revokes = b.revoke_calls
    a.c.close()
    time.sleep(1)
    a2 = Member("a2", **{"group.instance.id": "static-a", "partition.assignment.strategy": "range"})
    poll_until([a2, b], lambda: len(a2.assigned) > 0, 20, "the restarted member's assignment")
    end = time.time() + 4
    while time.time() < end:
        for m in (a2, b):
            m.poll(0.05)
    summary = {
        "ok": True,
        "sameAssignment": sorted(a2.assigned) == a_before,
        "otherAssignCallbacks": b.assign_calls - b_calls,
        "otherRevokeCallbacks": b.revoke_calls - b_revokes,
        "bAssigned": sorted(b.assigned),
    }
    a2.c.close()
    b.c.close()
    print(json.dumps(summary))


def lag():
    produce(100)
    c = Member("lag", **{"partition.assignment.strategy": "range"})
    poll_until([c], lambda: len(c.values) >= 100, 40, "all messages")
    # Commit only partitions 0 and 1 fully; partition 2 at 5; partition 3 never.
    c.c.commit(offsets=[TopicPartition(topic, 0, 25), TopicPartition(topic, 1, 25), TopicPartition(topic, 2, 5)], asynchronous=False)
    groups = AdminClient({"bootstrap.servers": bootstrap}).list_groups(group, timeout=10)
    if len(groups) != 1:
        fail(error="list_groups did not find the group", groups=[g.id for g in groups])
    g = groups[0]
    desc = {"id": g.id, "state": g.state, "protocol_type": g.protocol_type, "protocol": g.protocol, "members": len(g.members)}
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    lags = []
    for tp in c.c.committed(tps, timeout=10):
        _, high = c.c.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
        lags.append(high - tp.offset if tp.offset >= 0 else high)
    c.c.close()
    print(json.dumps({"ok": True, "group": desc, "lag": lags}))


try:
    if mode == "split":
        split(sys.argv[5])
    elif mode == "static":
        static()
    elif mode == "lag":
        lag()
    else:
        fail(error=f"unknown mode {mode}")
except KafkaException as e:
    fail(error=str(e))
