// A failed log directory (KIP-112), made to fail for real: the directory is replaced by a file
// (as Kafka's LogDirFailureTest does), so the next file it must create (a segment roll) or the
// periodic probe fails. The broker takes that directory offline: its partitions answer
// KAFKA_STORAGE_ERROR (Metadata: no leader, this replica offline), DescribeLogDirs reports
// KAFKA_STORAGE_ERROR for it, the partitions in the other directory keep serving. In a cluster,
// the broker's registration lists its offline replicas: the controller moves their leadership
// to another in-sync replica and takes this one out of the ISR, and producers go on.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import type { EtcdProcess } from '../../src/cluster/etcd-process.js';
import { tempDir } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetchRequest, produceRequest } from '../helpers/requests.js';
import { partitionViews } from '../helpers/cluster-metadata.js';
import { etcdMissing, withEtcd } from '../helpers/etcd.js';
import { waitUntil } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

async function produce(c: RawClient, topic: string, partition: number, value: string): Promise<number> {
  const res = await c.request(ApiKey.Produce, 9, produceRequest(topic, partition, buildRecordBatch([{ key: null, value: `${value}-${'v'.repeat(600)}` }]), -1));
  return res.body.responses[0].partitionResponses[0].errorCode as number;
}

async function fetchError(c: RawClient, topic: string, partition: number): Promise<number> {
  const res = await c.request(ApiKey.Fetch, 11, fetchRequest({ topics: [{ topic, partitions: [{ partition, fetchOffset: 0 }] }], maxWaitMs: 0 }));
  return res.body.responses[0].partitions[0].errorCode as number;
}

async function logDirs(c: RawClient): Promise<Map<string, { errorCode: number; partitions: number[] }>> {
  const r = await c.request(ApiKey.DescribeLogDirs, 4, { topics: null });
  const out = new Map<string, { errorCode: number; partitions: number[] }>();
  for (const d of r.body.results as { logDir: string; errorCode: number; topics: { partitions: { partitionIndex: number }[] }[] }[]) {
    out.set(d.logDir, { errorCode: d.errorCode, partitions: d.topics.flatMap((t) => t.partitions.map((p) => p.partitionIndex)) });
  }
  return out;
}

/** Replaces a directory by a file of the same name: every path operation under it now fails (ENOTDIR). */
function breakDir(dir: string): void {
  fs.renameSync(dir, `${dir}.gone`);
  fs.writeFileSync(dir, 'not a directory');
}

describe('a failed log dir on a single broker', () => {
  const root = tempDir('tributary-dirfail-');
  const a = path.join(root, 'a');
  const b = path.join(root, 'b');
  let broker: RunningBroker;
  let c: RawClient;
  before(async () => {
    // The periodic probe is slow here: the failure is found by the write that hits it.
    broker = await startBroker({ config: { 'log.dirs': `${a},${b}`, 'log.level': 'fatal', 'replica.high.watermark.checkpoint.interval.ms': 600_000 } });
    c = await RawClient.connect(broker.port);
  });
  after(async () => {
    c?.close();
    await broker?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('takes the directory offline at its first failed write; the other directory keeps serving', async () => {
    await createTopic(c, 'f', 4, { 'segment.bytes': 4096 });
    for (let p = 0; p < 4; p++) assert.equal(await produce(c, 'f', p, `first-${p}`), ErrorCode.NONE);
    const before = await logDirs(c);
    const inB = before.get(b)!.partitions;
    const inA = before.get(a)!.partitions;
    assert.equal(inA.length, 2);
    assert.equal(inB.length, 2);
    breakDir(b);
    // Appends go on into the open segment until one needs a new file: the roll fails.
    let code: number = ErrorCode.NONE;
    for (let i = 0; i < 20 && code === ErrorCode.NONE; i++) code = await produce(c, 'f', inB[0]!, `roll-${i}`);
    assert.equal(code, ErrorCode.KAFKA_STORAGE_ERROR);
    await waitUntil(async () => (await logDirs(c)).get(b)!.errorCode === ErrorCode.KAFKA_STORAGE_ERROR, { timeout: 10_000, message: 'dir b reported offline' });
    const dirs = await logDirs(c);
    assert.deepEqual(dirs.get(b), { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, partitions: [] });
    assert.equal(dirs.get(a)!.errorCode, ErrorCode.NONE);
    assert.deepEqual(dirs.get(a)!.partitions.sort(), [...inA].sort());
    for (const p of inB) {
      assert.equal(await produce(c, 'f', p, 'after'), ErrorCode.KAFKA_STORAGE_ERROR, `partition ${p} in the failed dir refuses writes`);
      assert.equal(await fetchError(c, 'f', p), ErrorCode.KAFKA_STORAGE_ERROR, `partition ${p} in the failed dir refuses reads`);
    }
    for (const p of inA) {
      assert.equal(await produce(c, 'f', p, 'after'), ErrorCode.NONE, `partition ${p} in the working dir takes writes`);
      assert.equal(await fetchError(c, 'f', p), ErrorCode.NONE);
    }
    const views = await partitionViews(broker.port, 'f');
    for (const p of inB) {
      assert.equal(views[p]!.leader, -1);
      assert.deepEqual(views[p]!.offline, [1]);
    }
    for (const p of inA) assert.equal(views[p]!.leader, 1);
    // New partitions go to the working directory.
    const r = await c.request(ApiKey.CreatePartitions, 3, { topics: [{ name: 'f', count: 6, assignments: null }], timeoutMs: 5000, validateOnly: false });
    assert.equal(r.body.results[0].errorCode, ErrorCode.NONE);
    assert.deepEqual((await logDirs(c)).get(a)!.partitions.sort(), [...inA, 4, 5].sort());
    // AlterReplicaLogDirs into the offline directory: KAFKA_STORAGE_ERROR.
    const alter = await c.request(ApiKey.AlterReplicaLogDirs, 2, { dirs: [{ path: b, topics: [{ name: 'f', partitions: [inA[0]] }] }] });
    assert.equal(alter.body.results[0].partitions[0].errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
    // Restarted with the directory still broken, the broker refuses to create those replicas
    // empty elsewhere: it does not start, and says why.
    c.close();
    await broker.stop();
    await assert.rejects(startBroker({ config: { 'log.dirs': `${a},${b}`, 'log.level': 'fatal' } }), (err: Error) =>
      err.message.includes(`is in no working log directory, and ${b} is offline`),
    );
  });
});

describe('a failed log dir in a 3-broker cluster', { skip: etcdMissing }, () => {
  let etcd: EtcdProcess;
  const root = tempDir('tributary-dirfail-cluster-');
  const a = path.join(root, 'a');
  const b = path.join(root, 'b');
  const brokers: RunningBroker[] = [];
  const brokerConfig = (id: number) => ({
    'node.id': id,
    'etcd.endpoints': etcd.endpoint,
    'etcd.prefix': '/dirfail',
    'log.level': 'fatal',
    'broker.session.timeout.ms': 3000,
    'replica.lag.time.max.ms': 4000,
    'default.replication.factor': 3,
    'replica.high.watermark.checkpoint.interval.ms': 200,
  });
  before(async () => {
    etcd = await withEtcd();
    for (let id = 1; id <= 3; id++) {
      brokers.push(await startBroker({ storage: id === 1 ? 'disk' : 'memory', config: { ...brokerConfig(id), ...(id === 1 ? { 'log.dirs': `${a},${b}` } : {}) } }));
    }
  });
  after(async () => {
    for (const br of brokers.reverse()) await br.stop().catch(() => undefined);
    await etcd?.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('moves leadership off the failed replicas and takes them out of the ISR; producers go on', async () => {
    const kafka = new Kafka({ brokers: brokers.map((x) => x.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    // Every partition led by broker 1 (the preferred leader is the first replica).
    await admin.createTopics({ topics: [{ topic: 'g', replicaAssignment: [0, 1, 2, 3].map((partition) => ({ partition, replicas: [1, 2, 3] })) }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'g', acks: -1, messages: [0, 1, 2, 3].map((partition) => ({ partition, value: `before-${partition}` })) });
    let c1 = await RawClient.connect(brokers[0]!.port);
    try {
      await waitUntil(async () => (await partitionViews(brokers[0]!.port, 'g')).every((v) => v.isr.length === 3), { timeout: 15_000, message: 'full ISRs' });
      // First a leader replica moves from a to b while it leads (AlterReplicaLogDirs in a cluster):
      // acks=all writes still commit through the followers after the switch.
      const moving = (await logDirs(c1)).get(a)!.partitions.sort()[0]!;
      const alter = await c1.request(ApiKey.AlterReplicaLogDirs, 2, { dirs: [{ path: b, topics: [{ name: 'g', partitions: [moving] }] }] });
      assert.equal(alter.body.results[0].partitions[0].errorCode, ErrorCode.NONE);
      await waitUntil(async () => (await logDirs(c1)).get(b)!.partitions.includes(moving), { timeout: 15_000, message: 'the leader replica moved to b' });
      await producer.send({ topic: 'g', acks: -1, messages: [{ partition: moving, value: `moved-${moving}` }] });
      const inB = (await logDirs(c1)).get(b)!.partitions.sort();
      assert.equal(inB.length, 3);
      breakDir(b);
      await waitUntil(async () => (await logDirs(c1)).get(b)!.errorCode === ErrorCode.KAFKA_STORAGE_ERROR, { timeout: 10_000, message: 'dir b offline' });
      await waitUntil(
        async () => {
          const views = await partitionViews(brokers[1]!.port, 'g');
          return inB.every((p) => views[p]!.leader !== 1 && views[p]!.leader !== -1 && !views[p]!.isr.includes(1) && views[p]!.offline.includes(1));
        },
        { timeout: 15_000, interval: 100, message: 'the failed replicas lose leadership and leave the ISR' },
      );
      const views = await partitionViews(brokers[1]!.port, 'g');
      for (let p = 0; p < 4; p++) {
        if (inB.includes(p)) continue;
        assert.equal(views[p]!.leader, 1, `partition ${p} in the working dir keeps its leader`);
        assert.equal(views[p]!.isr.length, 3);
      }
      // Producers follow the new leaders; everything is read back.
      await producer.send({ topic: 'g', acks: -1, messages: [0, 1, 2, 3].map((partition) => ({ partition, value: `after-${partition}` })) });
      await producer.disconnect();
      const consumer = kafka.consumer({ groupId: 'dirfail', maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic: 'g', fromBeginning: true });
      // A rebalance may deliver a record twice (nothing is committed here): distinct values count.
      const seen = new Set<string>();
      await consumer.run({ eachMessage: async ({ message }) => void seen.add(message.value!.toString()) });
      await waitUntil(() => seen.size >= 9, { timeout: 30_000, message: 'all 9 records read' });
      await consumer.disconnect();
      assert.deepEqual([...seen].sort(), [...[0, 1, 2, 3].flatMap((p) => [`after-${p}`, `before-${p}`]), `moved-${moving}`].sort());

      // Restarted with the directory still broken: it starts, b offline, its replicas listed offline.
      c1.close();
      await brokers[0]!.stop();
      brokers[0] = await startBroker({ storage: 'disk', config: { ...brokerConfig(1), 'log.dirs': `${a},${b}` } });
      c1 = await RawClient.connect(brokers[0].port);
      assert.equal((await logDirs(c1)).get(b)!.errorCode, ErrorCode.KAFKA_STORAGE_ERROR);
      await waitUntil(
        async () => {
          const v = await partitionViews(brokers[0]!.port, 'g');
          return v.every((x) => inB.includes(x.index) === x.offline.includes(1)) && v.filter((x) => !inB.includes(x.index)).every((x) => x.isr.includes(1));
        },
        { timeout: 20_000, interval: 100, message: 'after the restart only the replicas of the broken dir are offline' },
      );
    } finally {
      c1.close();
    }
  });
});
