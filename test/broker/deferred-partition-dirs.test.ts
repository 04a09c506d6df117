// CreateTopics answers before the partitions' directories exist (they are created on each
// partition's first write, as Kafka creates its logs after the metadata is committed). A crash
// right after the answer leaves a topic in the metadata with no directories: the next start must
// serve every partition, empty, and keep every record acknowledged meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { withBroker } from '../helpers/broker.js';
import { createTopic } from '../helpers/requests.js';

const { Kafka, logLevel } = kafkajs;

test('a crash between answering CreateTopics and creating the partition directories loses nothing', async (t) => {
  const topic = 'deferred';
  const partitions = 40;
  const broker = await withBroker(t, { process: true });
  await createTopic(broker, topic, partitions);
  const dirsOf = () =>
    readdirSync(broker.dataDir)
      .filter((name) => name.startsWith(`${topic}-`))
      .sort();
  assert.deepEqual(dirsOf(), [], 'no partition directory exists before a write');

  const client = () => new Kafka({ clientId: 'deferred-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 50 } });
  const produce = async (partition: number, count: number) => {
    const producer = client().producer();
    await producer.connect();
    try {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: count }, (_, i) => ({ value: `v-${partition}-${i}`, partition })) });
    } finally {
      await producer.disconnect();
    }
  };
  const highs = async () => {
    const admin = client().admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    } finally {
      await admin.disconnect();
    }
  };

  await produce(3, 5);
  assert.deepEqual(dirsOf(), [`${topic}-3`], 'the first write created its partition directory');
  await broker.kill(); // a crash: nothing was closed

  await broker.restart();
  let high = await highs();
  assert.equal(high.size, partitions, 'every partition is served after the crash');
  assert.equal(high.get(3), 5, 'the acknowledged records survived');
  for (const [p, h] of high) if (p !== 3) assert.equal(h, 0, `partition ${p} is empty`);

  // A partition in the metadata whose directory never existed takes writes after the restart.
  await produce(17, 2);
  assert.ok(existsSync(join(broker.dataDir, `${topic}-17`, '00000000000000000000.log')));
  await broker.stop();
  assert.deepEqual(dirsOf(), [`${topic}-17`, `${topic}-3`], 'a clean shutdown creates nothing for partitions never written');
  await broker.start();
  high = await highs();
  assert.equal(high.get(3), 5);
  assert.equal(high.get(17), 2);
});

test('a kill -9 while the partition directories of a produce are being created recovers cleanly', async (t) => {
  const topic = 'midway';
  const partitions = 300;
  const broker = await withBroker(t, { process: true });
  await createTopic(broker, topic, partitions);
  const kafka = () => new Kafka({ clientId: 'deferred-kill', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
  const everyPartition = (label: string) => Array.from({ length: partitions }, (_, p) => ({ key: `k-${p}`, value: `${label}-${p}`, partition: p }));
  const highs = async () => {
    const admin = kafka().admin();
    await admin.connect();
    try {
      return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
    } finally {
      await admin.disconnect();
    }
  };

  const producer = kafka().producer();
  await producer.connect();
  const sending = producer.send({ topic, acks: -1, messages: everyPartition('first') }).then(
    () => 'answered',
    () => 'failed',
  );
  // Killed as soon as the first directories appear: the creations of the others are under way.
  const deadline = Date.now() + 20_000;
  while (!readdirSync(broker.dataDir).some((name) => name.startsWith(`${topic}-`))) {
    if (Date.now() > deadline) throw new Error('no partition directory appeared');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await broker.kill();
  await sending;
  await producer.disconnect().catch(() => undefined);

  await broker.restart();
  const before = await highs();
  assert.equal(before.size, partitions, 'every partition is served after the crash');
  for (const [p, h] of before) assert.ok(h === 0 || h === 1, `partition ${p} holds the record or nothing (${h})`);
  const again = kafka().producer();
  await again.connect();
  try {
    await again.send({ topic, acks: -1, messages: everyPartition('second') });
  } finally {
    await again.disconnect();
  }
  const after = await highs();
  for (const [p, h] of before) assert.equal(after.get(p), h + 1, `partition ${p} took the write after the crash`);
  await broker.stop();
  await broker.start();
  const restarted = await highs();
  assert.deepEqual(
    [...restarted].sort((a, b) => a[0] - b[0]),
    [...after].sort((a, b) => a[0] - b[0]),
    'all kept over a clean restart',
  );
});
