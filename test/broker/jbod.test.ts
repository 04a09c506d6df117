// JBOD on a broker process: `log.dirs` with two directories. A topic's partitions are spread
// over both (each new one where there are fewest), DescribeLogDirs lists each directory with
// its partitions and sizes (raw, and through Kafka's kafka-log-dirs tool when Java is here),
// and after a restart every record is read back from both directories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { twoLogDirBroker } from '../helpers/two-log-dirs.js';
import { RawClient } from '../helpers/raw-client.js';
import { waitUntil } from '../helpers/wait.js';
import { javaSetup, Tools } from '../compat/java/harness.js';

const { Kafka, logLevel } = kafkajs;
const TOPIC = 'jbod';
const PARTITIONS = 6;
const PER_PARTITION = 25;

const twoDirs = twoLogDirBroker('tributary-jbod-');
const { dirA, dirB } = twoDirs;

interface DirView {
  errorCode: number;
  logDir: string;
  totalBytes: number;
  topics: { name: string; partitions: { partitionIndex: number; partitionSize: number }[] }[];
}

async function describeLogDirs(): Promise<DirView[]> {
  const c = await RawClient.connect(twoDirs.broker.port);
  try {
    const r = await c.request(ApiKey.DescribeLogDirs, 4, { topics: null });
    assert.equal(r.body.errorCode, ErrorCode.NONE);
    return r.body.results as DirView[];
  } finally {
    c.close();
  }
}

/** partition index → its directory, for TOPIC. */
function placement(dirs: DirView[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const d of dirs) for (const t of d.topics) if (t.name === TOPIC) for (const p of t.partitions) out.set(p.partitionIndex, d.logDir);
  return out;
}

const kafka = () => new Kafka({ brokers: [twoDirs.broker.bootstrap], logLevel: logLevel.NOTHING });

async function readAll(): Promise<string[]> {
  const consumer = kafka().consumer({ groupId: `jbod-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const seen = new Map<string, string>();
  await consumer.run({ eachMessage: async ({ partition, message }) => void seen.set(`${partition}@${message.offset}`, message.value!.toString()) });
  try {
    await waitUntil(() => seen.size >= PARTITIONS * PER_PARTITION, { timeout: 30_000, interval: 50, message: 'every record read' }).catch(() => undefined);
  } finally {
    await consumer.disconnect();
  }
  return [...seen.values()].sort();
}

const expected = Array.from({ length: PARTITIONS * PER_PARTITION }, (_, i) => `p${i % PARTITIONS}-${Math.floor(i / PARTITIONS)}`).sort();

test('partitions spread over both log.dirs; DescribeLogDirs lists each; a restart reads every record back', async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  await admin.disconnect();
  const producer = kafka().producer();
  await producer.connect();
  for (let round = 0; round < PER_PARTITION; round++) {
    await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `p${p}-${round}` })) });
  }
  await producer.disconnect();

  const dirs = await describeLogDirs();
  assert.deepEqual(
    dirs.map((d) => [d.logDir, d.errorCode]),
    [
      [dirA, ErrorCode.NONE],
      [dirB, ErrorCode.NONE],
    ],
  );
  assert.ok(dirs.every((d) => d.totalBytes > 0));
  const where = placement(dirs);
  assert.equal(where.size, PARTITIONS, 'every partition is listed once');
  const counts = [dirA, dirB].map((d) => [...where.values()].filter((w) => w === d).length);
  assert.deepEqual(counts, [3, 3], 'the partitions are balanced over the two directories');
  for (const [p, d] of where) assert.ok(existsSync(join(d, `${TOPIC}-${p}`)), `${TOPIC}-${p} is on disk in ${d}`);
  for (const d of dirs)
    for (const t of d.topics) if (t.name === TOPIC) for (const p of t.partitions) assert.ok(p.partitionSize > 0, `partition ${p.partitionIndex} has a size`);

  assert.deepEqual(await readAll(), expected);
  await twoDirs.broker.stop();
  await twoDirs.start();
  assert.deepEqual(placement(await describeLogDirs()), where, 'each partition is found where it was');
  assert.deepEqual(await readAll(), expected, 'every record, once, after the restart');
});

const java = javaSetup();
test('kafka-log-dirs --describe lists both directories with their partitions', { skip: typeof java === 'string' ? java : false }, async () => {
  assert.ok(typeof java !== 'string');
  const tools = await Tools.start(java);
  try {
    const r = await tools.run('org.apache.kafka.tools.LogDirsCommand', ['--bootstrap-server', twoDirs.broker.bootstrap, '--describe', '--topic-list', TOPIC]);
    assert.equal(r.exit, 0, `${r.out}\n${r.err.slice(-2000)}`);
    const line = r.out.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, r.out);
    const out = JSON.parse(line) as { brokers: { broker: number; logDirs: { logDir: string; error: string | null; partitions: { partition: string; size: number }[] }[] }[] };
    assert.equal(out.brokers.length, 1);
    const logDirs = out.brokers[0]!.logDirs.sort((a, b) => a.logDir.localeCompare(b.logDir));
    assert.deepEqual(
      logDirs.map((d) => [d.logDir, d.error, d.partitions.length]),
      [
        [dirA, null, 3],
        [dirB, null, 3],
      ],
    );
    assert.deepEqual(logDirs.flatMap((d) => d.partitions.map((p) => p.partition)).sort(), Array.from({ length: PARTITIONS }, (_, p) => `${TOPIC}-${p}`).sort());
  } finally {
    await tools.close();
  }
});
