"""Transactions through librdkafka (confluent-kafka-python). One scenario per sub-command; the last
stdout line is a JSON summary that the Node test asserts on.

  commit-abort BOOTSTRAP TOPIC TXID      one committed and one aborted transaction over 3 partitions
  read BOOTSTRAP TOPIC ISOLATION         every record below the end offset of each partition
  fence BOOTSTRAP TOPIC TXID             a second producer with the same id fences the first
  process BOOTSTRAP IN OUT GROUP TXID [CRASH_AFTER]
                                         consume-transform-produce with send_offsets_to_transaction;
                                         exits abruptly mid-transaction after CRASH_AFTER outputs
  open BOOTSTRAP TOPIC TXID COUNT        leaves a transaction open (the process then just exits)
"""
import json
import os
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition


def producer(bootstrap, txid, **extra):
    conf = {"bootstrap.servers": bootstrap, "transactional.id": txid, "linger.ms": 5}
    conf.update(extra)
    return Producer(conf)


def commit_abort(bootstrap, topic, txid):
    p = producer(bootstrap, txid)
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(30):
        p.produce(topic, key=f"c{i}", value=f"committed-{i}", partition=i % 3)
    p.commit_transaction(30)
    p.begin_transaction()
    for i in range(30):
        p.produce(topic, key=f"a{i}", value=f"aborted-{i}", partition=i % 3)
    p.flush(30)  # the aborted records are really in the log before the abort
    p.abort_transaction(30)
    p.begin_transaction()
    for i in range(3):
        p.produce(topic, key=f"d{i}", value=f"committed-after-abort-{i}", partition=i)
    p.commit_transaction(30)
    return {"ok": True}


def read(bootstrap, topic, isolation):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{os.getpid()}", "enable.auto.commit": False,
                  "isolation.level": isolation, "auto.offset.reset": "earliest"})
    meta = c.list_topics(topic, timeout=10)
    partitions = sorted(meta.topics[topic].partitions.keys())
    ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    c.assign([TopicPartition(topic, p, 0) for p in partitions])
    records = []
    idle = 0
    while idle < 6:
        msg = c.poll(0.5)
        if msg is None:
            # Done once every partition's position reached its end (control records advance it).
            positions = c.position([TopicPartition(topic, p) for p in partitions])
            if all(tp.offset >= ends[tp.partition] for tp in positions if tp.offset >= 0) and \
                    all(tp.offset >= 0 or ends[tp.partition] == 0 for tp in positions):
                break
            idle += 1
            continue
        if msg.error():
            return {"error": str(msg.error())}
        idle = 0
        records.append({"p": msg.partition(), "o": msg.offset(), "k": msg.key().decode(), "v": msg.value().decode()})
    c.close()
    return {"records": records, "ends": ends}


def fence(bootstrap, topic, txid):
    first = producer(bootstrap, txid)
    first.init_transactions(30)
    first.begin_transaction()
    first.produce(topic, key="zombie-0", value="z", partition=0)
    first.flush(30)
    second = producer(bootstrap, txid)
    second.init_transactions(60)
    error = None
    try:
        first.produce(topic, key="zombie-1", value="z", partition=0)
        first.flush(10)
        first.commit_transaction(30)
    except KafkaException as e:
        err = e.args[0]
        error = {"name": err.name(), "fatal": err.fatal(), "str": err.str()}
    second.begin_transaction()
    second.produce(topic, key="winner", value="w", partition=0)
    second.commit_transaction(30)
    return {"error": error}


def process(bootstrap, source, sink, group, txid, crash_after):
    # A crashed predecessor stays in the group until its session times out: keep that short.
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "isolation.level": "read_committed", "auto.offset.reset": "earliest",
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    c.subscribe([source])
    p = producer(bootstrap, txid, **{"transaction.timeout.ms": 10000})
    p.init_transactions(60)
    produced = 0
    idle = 0
    deadline = time.time() + 90
    while idle < 4 and time.time() < deadline:
        msgs = c.consume(50, 1.0)
        msgs = [m for m in msgs if not m.error()]
        if not msgs:
            # Idle counts only once partitions are assigned (the first rebalance can take a while).
            if c.assignment():
                idle += 1
            continue
        idle = 0
        p.begin_transaction()
        for m in msgs:
            p.produce(sink, key=m.key(), value=b"out:" + m.value(), partition=m.partition())
            produced += 1
            if crash_after is not None and produced >= crash_after:
                p.flush(10)
                print(json.dumps({"crashed": True, "produced": produced}), flush=True)
                os._exit(3)
        positions = c.position(c.assignment())
        p.send_offsets_to_transaction(positions, c.consumer_group_metadata(), 30)
        p.commit_transaction(30)
    c.close()
    return {"produced": produced}


def leave_open(bootstrap, topic, txid, count):
    p = producer(bootstrap, txid, **{"transaction.timeout.ms": 5000})
    p.init_transactions(30)
    p.begin_transaction()
    for i in range(count):
        p.produce(topic, key=f"open-{i}", value="o", partition=0)
    p.flush(30)
    return {"ok": True}


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "commit-abort":
        out = commit_abort(*args)
    elif cmd == "read":
        out = read(*args)
    elif cmd == "fence":
        out = fence(*args)
    elif cmd == "process":
        crash = int(args[5]) if len(args) > 5 else None
        out = process(*args[:5], crash)
    elif cmd == "open":
        out = leave_open(args[0], args[1], args[2], int(args[3]))
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
