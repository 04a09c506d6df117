"""Consumer groups through kafka-python. Usage:

  groups_kafka_python.py consume BOOTSTRAP TOPIC GROUP COUNT   subscribe, read COUNT messages, commit, check committed
  groups_kafka_python.py admin   BOOTSTRAP TOPIC GROUP         list/describe groups, fetch offsets, delete the group

Prints one JSON summary line as its last line; exits non-zero on failure."""
import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

mode, bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]


def fail(**info):
    print(json.dumps({"ok": False, **info}))
    sys.exit(1)


def consume(count):
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
    )
    values = []
    deadline = time.time() + 60
    while len(values) < count and time.time() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            values.extend(r.value.decode() for r in records)
    if len(values) < count:
        fail(error="not all messages arrived", consumed=len(values))
    consumer.commit()
    committed = {}
    for tp in consumer.assignment():
        committed[tp.partition] = consumer.committed(tp)
        if committed[tp.partition] != consumer.position(tp):
            fail(error="committed offset differs from position", partition=tp.partition)
    consumer.close()
    print(json.dumps({"ok": True, "consumed": len(values), "distinct": len(set(values)), "committed": [committed[p] for p in sorted(committed)]}))


def admin():
    client = KafkaAdminClient(bootstrap_servers=bootstrap)
    listed = [g for g in client.list_consumer_groups() if g[0] == group]
    described = client.describe_consumer_groups([group])[0]
    offsets = client.list_consumer_group_offsets(group)
    committed = {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}
    client.delete_consumer_groups([group])
    after = [g for g in client.list_consumer_groups() if g[0] == group]
    client.close()
    print(json.dumps({
        "ok": True,
        "listed": [list(g) for g in listed],
        "state": described.state,
        "protocolType": described.protocol_type,
        "members": len(described.members),
        "committed": [committed[p] for p in sorted(committed)],
        "listedAfterDelete": len(after),
    }))


if mode == "consume":
    consume(int(sys.argv[5]))
elif mode == "admin":
    admin()
else:
    fail(error=f"unknown mode {mode}")
