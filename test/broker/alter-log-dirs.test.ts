// AlterReplicaLogDirs (KIP-113) on a broker process with two log.dirs: a replica moves to the
// other directory while it keeps serving — records produced before, during and after the move
// are all read back once, in order; DescribeLogDirs shows the future replica meanwhile; the
// per-partition errors are Kafka's; a kill -9 in the middle of a move leaves the partition in
// exactly one directory with every acknowledged record, and the move runs again; Kafka's
// kafka-reassign-partitions tool moves a replica with "log_dirs" (when Java is here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { twoLogDirBroker } from '../helpers/two-log-dirs.js';
import { RawClient } from '../helpers/raw-client.js';
import { cli } from '../helpers/cli.js';
import { waitUntil } from '../helpers/wait.js';
import { javaSetup, Tools } from '../compat/java/harness.js';

const { Kafka, logLevel } = kafkajs;

const twoDirs = twoLogDirBroker('tributary-alter-log-dirs-');
const { root, dirA, dirB } = twoDirs;

interface PartitionView {
  partitionIndex: number;
  partitionSize: number;
  offsetLag: number;
  isFutureKey: boolean;
}
interface DirView {
  errorCode: number;
  logDir: string;
  topics: { name: string; partitions: PartitionView[] }[];
}

async function request<T>(apiKey: number, version: number, body: unknown): Promise<T> {
  const c = await RawClient.connect(twoDirs.broker.port);
  try {
    return (await c.request(apiKey, version, body)).body as T;
  } finally {
    c.close();
  }
}

async function describeLogDirs(): Promise<DirView[]> {
  const r = await request<{ errorCode: number; results: DirView[] }>(ApiKey.DescribeLogDirs, 4, { topics: null });
  assert.equal(r.errorCode, ErrorCode.NONE);
  return r.results;
}

/** Where each replica of `topic` is (current ones), and where futures are. */
async function where(topic: string): Promise<{ current: Map<number, string>; future: Map<number, string> }> {
  const current = new Map<number, string>();
  const future = new Map<number, string>();
  for (const d of await describeLogDirs())
    for (const t of d.topics) if (t.name === topic) for (const p of t.partitions) (p.isFutureKey ? future : current).set(p.partitionIndex, d.logDir);
  return { current, future };
}

async function alter(dir: string, topic: string, partitions: number[], version = 2): Promise<Map<string, number>> {
  const r = await request<{ results: { topicName: string; partitions: { partitionIndex: number; errorCode: number }[] }[] }>(ApiKey.AlterReplicaLogDirs, version, {
    dirs: [{ path: dir, topics: [{ name: topic, partitions }] }],
  });
  const out = new Map<string, number>();
  for (const t of r.results) for (const p of t.partitions) out.set(`${t.topicName}-${p.partitionIndex}`, p.errorCode);
  return out;
}

const kafka = () => new Kafka({ brokers: [twoDirs.broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 50, maxRetryTime: 500 } });

async function readPartition(topic: string, partition: number, count: number): Promise<string[]> {
  const consumer = kafka().consumer({ groupId: `ald-${Math.random()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: { offset: number; value: string }[] = [];
  await consumer.run({
    eachMessage: async ({ partition: p, message }) => {
      if (p === partition) seen.push({ offset: Number(message.offset), value: message.value!.toString() });
    },
  });
  try {
    await waitUntil(() => seen.length >= count, { timeout: 30_000, interval: 50, message: `${count} records of ${topic}-${partition} read` });
  } finally {
    await consumer.disconnect();
  }
  seen.sort((a, b) => a.offset - b.offset);
  assert.deepEqual(
    seen.map((s) => s.offset),
    seen.map((_, i) => i),
    'offsets 0..n-1, each once',
  );
  return seen.map((s) => s.value);
}

function otherDir(dir: string): string {
  return dir === dirA ? dirB : dirA;
}

test('a replica moves to the other log dir while a producer writes; every record is read back once, in order', async () => {
  const topic = 'move-live';
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  await admin.disconnect();
  const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const values: string[] = [];
  const send = async (n: number, tag: string) => {
    for (let i = 0; i < n; i++) {
      const value = `${tag}-${i}-${'x'.repeat(200)}`;
      await producer.send({ topic, acks: -1, messages: [{ partition: 0, value }] });
      values.push(value);
    }
  };
  await send(300, 'before');
  const { current } = await where(topic);
  const from = current.get(0)!;
  const to = otherDir(from);

  // Keep producing while the move runs.
  let stop = false;
  const during = (async () => {
    for (let i = 0; i < 2000 && !stop; i++) await send(1, `during${i}`);
  })();
  const codes = await alter(to, topic, [0]);
  assert.equal(codes.get(`${topic}-0`), ErrorCode.NONE);
  await waitUntil(async () => (await where(topic)).current.get(0) === to, { timeout: 30_000, interval: 20, message: 'partition 0 is in its new directory' });
  stop = true;
  await during;
  await send(100, 'after');
  await producer.disconnect();

  const after1 = await where(topic);
  assert.equal(after1.future.size, 0, 'no future replica left');
  assert.equal(after1.current.get(1), current.get(1), 'partition 1 did not move');
  assert.ok(existsSync(join(to, `${topic}-0`)), 'the replica is in the target directory');
  await waitUntil(() => !existsSync(join(from, `${topic}-0`)), { timeout: 5_000, message: 'the old replica is deleted' });
  assert.deepEqual(
    readdirSync(from).filter((n) => n.startsWith(`${topic}-0`)),
    [],
    'no leftover of the old replica or the move',
  );
  assert.deepEqual(await readPartition(topic, 0, values.length), values);

  // A restart finds it where it moved, with every record.
  await twoDirs.broker.stop();
  await twoDirs.start();
  assert.equal((await where(topic)).current.get(0), to);
  assert.deepEqual(await readPartition(topic, 0, values.length), values);
});

test("Kafka's answers: LOG_DIR_NOT_FOUND, REPLICA_NOT_AVAILABLE (the dir is remembered), NONE for the current dir", async () => {
  const topic = 'move-errors';
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const { current } = await where(topic);
  const here = current.get(0)!;
  assert.equal((await alter(join(root, 'nowhere'), topic, [0])).get(`${topic}-0`), ErrorCode.LOG_DIR_NOT_FOUND);
  assert.equal((await alter('relative/dir', topic, [0], 1)).get(`${topic}-0`), ErrorCode.LOG_DIR_NOT_FOUND);
  assert.equal((await alter(here, topic, [0])).get(`${topic}-0`), ErrorCode.NONE);
  assert.equal((await where(topic)).current.get(0), here, 'asking for the current directory moves nothing');
  // A partition this broker does not host yet: the directory is remembered for when it is made.
  const later = 'move-later';
  const codes = await alter(dirB, later, [0, 1, 2]);
  assert.deepEqual([...codes.values()], [ErrorCode.REPLICA_NOT_AVAILABLE, ErrorCode.REPLICA_NOT_AVAILABLE, ErrorCode.REPLICA_NOT_AVAILABLE]);
  await admin.createTopics({ topics: [{ topic: later, numPartitions: 3 }] });
  await admin.disconnect();
  const placed = (await where(later)).current;
  assert.deepEqual([...placed.values()], [dirB, dirB, dirB], 'each partition was created in the directory asked for');
});

test('kill -9 in the middle of a move: the partition is in exactly one directory with every record, and the move runs again', async () => {
  const topic = 'move-crash';
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: String(1024 * 1024) }] }] });
  await admin.disconnect();
  const producer = kafka().producer();
  await producer.connect();
  const values: string[] = [];
  const big = 'y'.repeat(4000);
  for (let b = 0; b < 40; b++) {
    const batch = Array.from({ length: 100 }, (_, i) => `${b}-${i}-${big}`);
    await producer.send({ topic, acks: -1, messages: batch.map((value) => ({ partition: 0, value })) });
    values.push(...batch);
  }
  await producer.disconnect();
  const from = (await where(topic)).current.get(0)!;
  const to = otherDir(from);
  assert.equal((await alter(to, topic, [0])).get(`${topic}-0`), ErrorCode.NONE);
  await twoDirs.broker.kill();
  const onDisk = [dirA, dirB].filter((d) => existsSync(join(d, `${topic}-0`)));
  assert.ok(onDisk.length >= 1);
  await twoDirs.start();
  // Whatever the kill interrupted, the restarted broker has one replica and finishes the move.
  await waitUntil(async () => (await where(topic)).current.get(0) === to && (await where(topic)).future.size === 0, {
    timeout: 30_000,
    interval: 50,
    message: 'the move finished after the restart',
  });
  assert.ok(!existsSync(join(from, `${topic}-0`)), 'the old replica is gone');
  assert.ok(!existsSync(join(to, `${topic}-0.future`)), 'no future marker is left');
  assert.deepEqual(await readPartition(topic, 0, values.length), values);
});

test('under replica.alter.log.dirs.io.max.bytes.per.second, DescribeLogDirs shows the future replica catching up', async () => {
  const topic = 'move-throttled';
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = kafka().producer();
  await producer.connect();
  const values = Array.from({ length: 300 }, (_, i) => `${i}-${'z'.repeat(2000)}`);
  for (let i = 0; i < values.length; i += 50) await producer.send({ topic, acks: -1, messages: values.slice(i, i + 50).map((value) => ({ partition: 0, value })) });
  await producer.disconnect();
  // About 600 KB at 200 KB/s: the copy takes about 3 s.
  const setThrottle = (value: string | null) =>
    request<{ responses: { errorCode: number }[] }>(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [
        { resourceType: 4, resourceName: '', configs: [{ name: 'replica.alter.log.dirs.io.max.bytes.per.second', configOperation: value === null ? 1 : 0, value }] },
      ],
      validateOnly: false,
    });
  assert.equal((await setThrottle('200000')).responses[0]!.errorCode, ErrorCode.NONE);
  const from = (await where(topic)).current.get(0)!;
  const to = otherDir(from);
  assert.equal((await alter(to, topic, [0])).get(`${topic}-0`), ErrorCode.NONE);
  const lags: number[] = [];
  await waitUntil(
    async () => {
      for (const d of await describeLogDirs())
        for (const t of d.topics) if (t.name === topic) for (const p of t.partitions) if (p.isFutureKey && d.logDir === to) lags.push(p.offsetLag);
      return lags.length >= 2 && lags[lags.length - 1]! < lags[0]!;
    },
    { timeout: 10_000, interval: 100, message: 'the future replica is listed in the target dir, catching up' },
  );
  assert.equal((await where(topic)).current.get(0), from, 'the current replica stays where it is meanwhile');
  assert.ok(lags[0]! > 0, `the future replica starts behind: lags ${lags.join(',')}`);
  assert.equal((await setThrottle(null)).responses[0]!.errorCode, ErrorCode.NONE);
  await waitUntil(async () => (await where(topic)).current.get(0) === to, { timeout: 15_000, interval: 50, message: 'the move finished' });
  await admin.disconnect();
  assert.deepEqual(await readPartition(topic, 0, values.length), values);
});

test('tributary reassign-partitions moves a replica between log dirs with "log_dirs" and --verify reports it', async () => {
  const topic = 'move-cli';
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const from = (await where(topic)).current.get(0)!;
  const to = otherDir(from);
  const plan = join(root, 'cli-plan.json');
  writeFileSync(plan, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, replicas: [1], log_dirs: [to] }] }));
  const args = ['reassign-partitions', '--bootstrap-server', twoDirs.broker.bootstrap, '--reassignment-json-file', plan];
  const exec = await cli([...args, '--execute']);
  assert.equal(exec.code, 0, exec.stderr);
  assert.match(exec.stdout, new RegExp(`Successfully started log directory move for: ${topic}-0-1`));
  await waitUntil(async () => (await where(topic)).current.get(0) === to, { timeout: 15_000, interval: 50, message: 'moved' });
  const verify = await cli([...args, '--verify']);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stdout, new RegExp(`Reassignment of replica ${topic}-0-1 completed successfully\\.`));
  // A dir the broker does not have: the tool says which replica failed and why.
  writeFileSync(plan, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, replicas: [1], log_dirs: [join(root, 'nowhere')] }] }));
  const bad = await cli([...args, '--execute']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stdout, new RegExp(`${topic}-0-1: LOG_DIR_NOT_FOUND`));
});

const java = javaSetup();
test('kafka-reassign-partitions moves a replica between log dirs with "log_dirs"', { skip: typeof java === 'string' ? java : false }, async () => {
  assert.ok(typeof java !== 'string');
  const topic = 'move-java';
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka().producer();
  await producer.connect();
  const values = Array.from({ length: 50 }, (_, i) => `j${i}`);
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ partition: 0, value })) });
  await producer.disconnect();
  const from = (await where(topic)).current.get(0)!;
  const to = otherDir(from);
  const plan = join(root, 'plan.json');
  writeFileSync(plan, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, replicas: [1], log_dirs: [to] }] }));
  const tools = await Tools.start(java);
  try {
    const REASSIGN = 'org.apache.kafka.tools.reassign.ReassignPartitionsCommand';
    const exec = await tools.run(REASSIGN, ['--bootstrap-server', twoDirs.broker.bootstrap, '--execute', '--reassignment-json-file', plan]);
    assert.equal(exec.exit, 0, `${exec.out}\n${exec.err.slice(-2000)}`);
    await waitUntil(
      async () => {
        const v = await tools.run(REASSIGN, ['--bootstrap-server', twoDirs.broker.bootstrap, '--verify', '--reassignment-json-file', plan]);
        assert.equal(v.exit, 0, `${v.out}\n${v.err.slice(-2000)}`);
        return /Reassignment of replica .* completed successfully/.test(v.out) ? v : null;
      },
      { timeout: 60_000, interval: 200, message: 'reassign --verify reports the log dir move done' },
    );
    const d = await tools.run('org.apache.kafka.tools.LogDirsCommand', ['--bootstrap-server', twoDirs.broker.bootstrap, '--describe', '--topic-list', topic]);
    assert.equal(d.exit, 0, d.err.slice(-2000));
    const line = d.out.split('\n').find((l) => l.startsWith('{'))!;
    const out = JSON.parse(line) as { brokers: { logDirs: { logDir: string; partitions: { partition: string; isFuture: boolean }[] }[] }[] };
    const dirs = out.brokers[0]!.logDirs.filter((l) => l.partitions.some((p) => p.partition === `${topic}-0`));
    assert.deepEqual(
      dirs.map((l) => [l.logDir, l.partitions.find((p) => p.partition === `${topic}-0`)!.isFuture]),
      [[to, false]],
    );
  } finally {
    await tools.close();
  }
  assert.deepEqual(await readPartition(topic, 0, values.length), values);
});
