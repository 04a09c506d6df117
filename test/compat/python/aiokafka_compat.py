"""aiokafka (pure-Python asyncio client) against Tributary: idempotent produce with every codec,
consume, a two-member group, transactions. Prints one JSON summary line; python.test.ts asserts it.
Usage: aiokafka_compat.py BOOTSTRAP PREFIX"""
import asyncio
import json
import sys

import aiokafka
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, RebalanceInProgressError

bootstrap, prefix = sys.argv[1], sys.argv[2]
out = {"version": aiokafka.__version__}


async def read_all(topic, partitions, want, **kw):
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest", **kw)
    await c.start()
    try:
        c.assign([TopicPartition(topic, p) for p in range(partitions)])
        got = []
        async def loop():
            while len(got) < want:
                batch = await c.getmany(timeout_ms=500)
                for msgs in batch.values():
                    got.extend(msgs)
        await asyncio.wait_for(loop(), 30)
        return got
    finally:
        await c.stop()


async def main():
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    codecs = ["gzip", "snappy", "lz4", "zstd", None]
    topics = {c: f"{prefix}-{c or 'none'}" for c in codecs}
    await admin.create_topics([NewTopic(t, 2, 1) for t in topics.values()] +
                              [NewTopic(f"{prefix}-group", 4, 1), NewTopic(f"{prefix}-txn", 2, 1)])

    # Idempotent produce with each codec, read back by assignment.
    out["codecs"] = {}
    for codec, topic in topics.items():
        p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, compression_type=codec, linger_ms=5)
        await p.start()
        try:
            futs = [await p.send(topic, value=f"v{i}".encode() * 20, key=f"k{i % 5}".encode(), headers=[("h", b"x")])
                    for i in range(200)]
            metas = await asyncio.gather(*futs)
        finally:
            await p.stop()
        got = await read_all(topic, 2, 200)
        out["codecs"][codec or "none"] = {
            "acked": len(metas), "read": len(got), "distinct": len({m.value for m in got}),
            "headers": all(m.headers == (("h", b"x"),) for m in got)}

    # A two-member group: both members get partitions, everything read once, offsets committed.
    gtopic, group = f"{prefix}-group", f"{prefix}-g"
    p = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await p.start()
    for i in range(400):
        await p.send(gtopic, value=str(i).encode(), partition=i % 4)
    await p.flush()
    await p.stop()
    members = [AIOKafkaConsumer(gtopic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                enable_auto_commit=False, client_id=f"aio-{i}") for i in range(2)]
    for m in members:
        await m.start()
    seen = set()

    async def group_loop():
        while True:
            for m in members:
                batch = await m.getmany(timeout_ms=200)
                for msgs in batch.values():
                    for msg in msgs:
                        seen.add(msg.value)
                if batch:
                    try:
                        await m.commit()
                    except (CommitFailedError, RebalanceInProgressError):
                        pass  # a rebalance moved the partitions; their records are read again
            if len(seen) == 400 and all(len(m.assignment()) > 0 for m in members):
                return

    await asyncio.wait_for(group_loop(), 60)
    out["group"] = {"seen": len(seen), "assignment_sizes": sorted(len(m.assignment()) for m in members)}
    for m in members:
        await m.stop()
    offsets = await admin.list_consumer_group_offsets(group)
    out["group"]["committed"] = sum(o.offset for o in offsets.values())
    described = await admin.describe_consumer_groups([group])
    out["group"]["state_after_leave"] = described[0].groups[0][2]  # (error, group, state, ...)

    # Transactions: commit, abort, and offsets sent to the transaction.
    ttopic = f"{prefix}-txn"
    tp = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id=f"{prefix}-tid")
    await tp.start()
    try:
        async with tp.transaction():
            for i in range(10):
                await tp.send(ttopic, value=f"c{i}".encode(), partition=i % 2)
        try:
            async with tp.transaction():
                for i in range(10):
                    await tp.send(ttopic, value=f"a{i}".encode(), partition=i % 2)
                raise RuntimeError("abort")
        except RuntimeError:
            pass
        async with tp.transaction():
            await tp.send(ttopic, value=b"with-offsets", partition=0)
            await tp.send_offsets_to_transaction({TopicPartition(gtopic, 0): 42}, f"{prefix}-eos")
    finally:
        await tp.stop()
    committed = await read_all(ttopic, 2, 11, isolation_level="read_committed")
    out["txn_committed"] = sorted(m.value.decode() for m in committed)
    uncommitted = await read_all(ttopic, 2, 21)
    out["txn_uncommitted_count"] = len(uncommitted)
    eos = await admin.list_consumer_group_offsets(f"{prefix}-eos")
    out["txn_offsets"] = {f"{tp_.topic}:{tp_.partition}": o.offset for tp_, o in eos.items()}
    await admin.close()


asyncio.run(main())
print(json.dumps(out))
