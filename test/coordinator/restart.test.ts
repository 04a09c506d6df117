// Committed offsets and groups survive a broker restart, clean (SIGTERM) or not (kill -9):
// the coordinator rebuilds them from __consumer_offsets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { withBroker, type TestBroker } from '../helpers/broker.js';
import { createTopic } from '../helpers/requests.js';
import { elapse, waitUntil } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

const TOPIC = 'restart-topic';
const GROUP = 'restart-group';
const overrides = { 'group.initial.rebalance.delay.ms': '0' };

function client(broker: TestBroker) {
  return new Kafka({ clientId: 'restart-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
}

async function produce(broker: TestBroker, from: number, count: number): Promise<string[]> {
  const producer = client(broker).producer();
  await producer.connect();
  const values = Array.from({ length: count }, (_, i) => `v${from + i}`);
  await producer.send({ topic: TOPIC, messages: values.map((value, i) => ({ value, partition: (from + i) % 3 })) });
  await producer.disconnect();
  return values;
}

/** Consumes with the group until `expected` arrived and is committed; returns what arrived. */
async function consumeAndCommit(broker: TestBroker, expected: string[]): Promise<string[]> {
  const kafka = client(broker);
  const consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
  const seen: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  await consumer.run({ autoCommit: false, eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
  try {
    await waitUntil(() => expected.every((v) => seen.includes(v)), { timeout: 30_000, message: 'the messages' });
    // Not a wait for a condition: time for a redelivery (a message before the commits) to show up.
    await elapse(300);
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(TOPIC);
    await admin.disconnect();
    await consumer.commitOffsets(ends.map((p) => ({ topic: TOPIC, partition: p.partition, offset: p.high })));
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

async function committed(broker: TestBroker): Promise<Record<number, string>> {
  const admin = client(broker).admin();
  await admin.connect();
  try {
    const offsets = (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0]!.partitions;
    return Object.fromEntries(offsets.map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

describe('group coordinator restart', () => {
  test('offsets survive a clean stop and a kill -9; a consumer resumes after them', async (t) => {
    const broker = await withBroker(t, { process: true, config: overrides });
    await createTopic(broker, TOPIC, 3);
    const first = await produce(broker, 0, 30);
    assert.deepEqual((await consumeAndCommit(broker, first)).sort(), [...first].sort());
    const before = await committed(broker);
    assert.deepEqual(before, { 0: '10', 1: '10', 2: '10' });

    // Clean stop.
    assert.equal(await broker.stop(), 0);
    await broker.restart();
    assert.ok(
      broker.logs.some((l) => l.msg === 'group coordinator loaded'),
      'the coordinator replayed __consumer_offsets',
    );
    assert.deepEqual(await committed(broker), before);
    const listed = client(broker).admin();
    await listed.connect();
    const groups = await listed.listGroups();
    await listed.disconnect();
    assert.deepEqual(
      groups.groups.filter((g) => g.groupId === GROUP),
      [{ groupId: GROUP, protocolType: 'consumer' }],
    );

    const second = await produce(broker, 30, 15);
    assert.deepEqual((await consumeAndCommit(broker, second)).sort(), [...second].sort(), 'only messages after the commits are delivered');
    const afterSecond = await committed(broker);
    assert.deepEqual(afterSecond, { 0: '15', 1: '15', 2: '15' });

    // Crash.
    await broker.kill();
    await broker.restart();
    assert.deepEqual(await committed(broker), afterSecond);
    const third = await produce(broker, 45, 6);
    assert.deepEqual((await consumeAndCommit(broker, third)).sort(), [...third].sort(), 'a crash loses no commit');
  });
});
