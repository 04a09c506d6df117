"""confluent-kafka-python 2.x (its bundled librdkafka) against Tributary: the admin APIs that 1.x
lacks, a two-member group, transactions. Prints one JSON summary line; python.test.ts asserts it.
Usage: confluent2_admin.py BOOTSTRAP PREFIX"""
import json
import sys
import time
import uuid

import confluent_kafka
from confluent_kafka import (Consumer, ConsumerGroupTopicPartitions, IsolationLevel, KafkaException, Producer,
                             TopicCollection, TopicPartition)
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions,
                                   NewTopic, OffsetSpec)

bootstrap, prefix = sys.argv[1], sys.argv[2]
out = {"version": confluent_kafka.version()[0], "librdkafka": confluent_kafka.libversion()[0]}
admin = AdminClient({"bootstrap.servers": bootstrap})
T = 30


def name(e):
    return e.args[0].name() if isinstance(e, KafkaException) else type(e).__name__


def wait_for(cond, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


topic = prefix + "-t"
admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(T)
admin.create_partitions([NewPartitions(topic, 4)])[topic].result(T)

# describe_topics (Metadata with topic ids) and describe_cluster.
desc = admin.describe_topics(TopicCollection([topic]))[topic].result(T)
out["describe_topic"] = {"partitions": len(desc.partitions), "has_id": desc.topic_id is not None,
                         "internal": desc.is_internal, "leader": desc.partitions[0].leader.id,
                         "isr": [n.id for n in desc.partitions[0].isr]}
try:
    admin.describe_topics(TopicCollection([prefix + "-missing"]))[prefix + "-missing"].result(T)
    out["describe_missing"] = "NONE"
except KafkaException as e:
    out["describe_missing"] = name(e)
cluster = admin.describe_cluster().result(T)
out["cluster"] = {"nodes": len(cluster.nodes), "controller": cluster.controller.id if cluster.controller else None,
                  "has_id": bool(cluster.cluster_id)}

# Produce with a timestamp per record: record i of partition p at base + i seconds.
base = int(time.time() * 1000) - 3_600_000
p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5, "compression.type": "zstd"})
for part in range(4):
    for i in range(20):
        p.produce(topic, value=f"{part}-{i}".encode(), partition=part, timestamp=base + i * 1000)
assert p.flush(T) == 0

# list_offsets: earliest, latest, max timestamp, for a timestamp.
specs = {TopicPartition(topic, 0): OffsetSpec.earliest(), TopicPartition(topic, 1): OffsetSpec.latest(),
         TopicPartition(topic, 2): OffsetSpec.max_timestamp(), TopicPartition(topic, 3): OffsetSpec.for_timestamp(base + 5500)}
listed = {tp.partition: (r.offset, r.timestamp) for tp, f in admin.list_offsets(specs).items() for r in [f.result(T)]}
out["list_offsets"] = {"earliest": listed[0][0], "latest": listed[1][0], "max_ts": list(listed[2]),
                       "for_ts": listed[3][0]}
out["max_ts_expected"] = base + 19_000
committed = admin.list_offsets({TopicPartition(topic, 1): OffsetSpec.latest()},
                               isolation_level=IsolationLevel.READ_COMMITTED)
out["list_offsets_committed"] = [f.result(T).offset for f in committed.values()][0]

# delete_records moves the low watermark; past the end is OFFSET_OUT_OF_RANGE.
deleted = admin.delete_records([TopicPartition(topic, 0, 7)])
out["delete_records"] = [f.result(T).low_watermark for f in deleted.values()][0]
try:
    [f.result(T) for f in admin.delete_records([TopicPartition(topic, 1, 999)]).values()]
    out["delete_records_beyond"] = "NONE"
except KafkaException as e:
    out["delete_records_beyond"] = name(e)
after = admin.list_offsets({TopicPartition(topic, 0): OffsetSpec.earliest()})
out["earliest_after_delete"] = [f.result(T).offset for f in after.values()][0]

# Configs: describe, incremental alter (set, delete), legacy alter, a bad value.
res = ConfigResource("topic", topic)
admin.incremental_alter_configs([ConfigResource("topic", topic, incremental_configs=[
    ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET),
    ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.SET)])])[res].result(T)
cfg = admin.describe_configs([res])[res].result(T)
out["incremental_set"] = [cfg["retention.ms"].value, cfg["retention.ms"].source, cfg["cleanup.policy"].value]
admin.incremental_alter_configs([ConfigResource("topic", topic, incremental_configs=[
    ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)])])[res].result(T)
cfg = admin.describe_configs([res])[res].result(T)
out["incremental_delete"] = [cfg["retention.ms"].value, cfg["retention.ms"].source, cfg["cleanup.policy"].value]
try:
    admin.incremental_alter_configs([ConfigResource("topic", topic, incremental_configs=[
        ConfigEntry("retention.ms", "soon", incremental_operation=AlterConfigOpType.SET)])])[res].result(T)
    out["incremental_bad"] = "NONE"
except KafkaException as e:
    out["incremental_bad"] = name(e)
broker_res = ConfigResource("broker", "1")
bcfg = admin.describe_configs([broker_res])[broker_res].result(T)
out["broker_static"] = [bcfg["log.retention.hours"].value, bcfg["log.retention.hours"].source,
                        bcfg["num.partitions"].source]

# A two-member group; then the group admin calls.
group = prefix + "-g"
seen = set()
members = []
for i in range(2):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "partition.assignment.strategy": "range", "client.id": f"member-{i}"})
    c.subscribe([topic])
    members.append(c)


def both_assigned():
    for c in members:
        m = c.poll(0.2)
        if m is not None and not m.error():
            seen.add((m.partition(), m.offset()))
            c.commit(message=m, asynchronous=False)
    return all(len(c.assignment()) > 0 for c in members) and len(seen) == 20 * 4 - 7


out["group_consumed"] = wait_for(both_assigned, 60)
out["assignment_sizes"] = sorted(len(c.assignment()) for c in members)
gd = admin.describe_consumer_groups([group])[group].result(T)
out["describe_group"] = {"state": str(gd.state.name), "members": len(gd.members), "assignor": gd.partition_assignor,
                         "simple": gd.is_simple_consumer_group,
                         "assigned": sum(len(m.assignment.topic_partitions) for m in gd.members)}
listed = admin.list_consumer_groups().result(T)
out["list_groups_has"] = any(g.group_id == group for g in listed.valid)
# All of the group's topics (OffsetFetch with a null topic list), then two partitions by name.
all_offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(T)
out["group_offsets_all"] = sorted((tp.topic == topic, tp.partition, tp.offset) for tp in all_offsets.topic_partitions)
some = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 1), TopicPartition(topic, 9)])],
                                         require_stable=True)[group].result(T)
out["group_offsets_some"] = [(tp.partition, tp.offset) for tp in some.topic_partitions]
try:
    admin.delete_consumer_groups([group])[group].result(T)
    out["delete_live_group"] = "NONE"
except KafkaException as e:
    out["delete_live_group"] = name(e)
for c in members:
    c.close()
wait_for(lambda: admin.describe_consumer_groups([group])[group].result(T).state.name == "EMPTY")
altered = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 2, 3)])])[group].result(T)
out["alter_group_offsets"] = [(tp.partition, tp.offset, tp.error is None) for tp in altered.topic_partitions]
again = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 2)])])[group].result(T)
out["after_alter"] = [tp.offset for tp in again.topic_partitions]
admin.delete_consumer_groups([group])[group].result(T)
try:
    admin.describe_consumer_groups([group])[group].result(T)
    gone = admin.describe_consumer_groups([group])[group].result(T).state.name
    out["after_delete"] = gone
except KafkaException as e:
    out["after_delete"] = name(e)

# Transactions: commit and abort, consume-transform-produce with send_offsets_to_transaction.
txt = prefix + "-txn"
admin.create_topics([NewTopic(txt, 2, 1)])[txt].result(T)
tp = Producer({"bootstrap.servers": bootstrap, "transactional.id": prefix + "-tid-" + uuid.uuid4().hex[:6]})
tp.init_transactions(T)
tp.begin_transaction()
for i in range(10):
    tp.produce(txt, value=f"c{i}".encode(), partition=i % 2)
tp.commit_transaction(T)
tp.begin_transaction()
for i in range(10):
    tp.produce(txt, value=f"a{i}".encode(), partition=i % 2)
tp.abort_transaction(T)
# Read the committed records in a group and commit their offsets inside a new transaction.
eos_group = prefix + "-eos"
cons = Consumer({"bootstrap.servers": bootstrap, "group.id": eos_group, "auto.offset.reset": "earliest",
                 "enable.auto.commit": False, "isolation.level": "read_committed"})
cons.subscribe([txt])
values = []
wait_for(lambda: (lambda m: m is not None and not m.error() and values.append(m.value().decode()) is None and len(values) >= 10)(cons.poll(0.2)), 30)
tp.begin_transaction()
tp.produce(txt, value=b"out", partition=0)
tp.send_offsets_to_transaction(cons.position(cons.assignment()), cons.consumer_group_metadata(), T)
tp.commit_transaction(T)
cons.close()
out["txn_read_committed"] = sorted(values)
eos = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(eos_group)])[eos_group].result(T)
out["txn_group_offsets"] = sorted((x.partition, x.offset) for x in eos.topic_partitions)

out["delete_topic"] = admin.delete_topics([topic])[topic].result(T) is None
print(json.dumps(out))
