// Retention and DeleteRecords against a real broker process: kafkajs admin sees the log start
// move, fetches below it get OFFSET_OUT_OF_RANGE, and a librdkafka consumer positioned below
// it resets to the earliest offset.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { suiteBroker } from '../helpers/broker.js';
import { repoRoot } from '../helpers/dist.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic as createTopicVia, fetchOne } from '../helpers/requests.js';
import { waitUntil } from '../helpers/wait.js';
import { ApiKey, type DeleteRecordsResponse, type FetchResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const PYTHON = '/usr/bin/python3';

function fetchAt(topic: string, fetchOffset: number) {
  return fetchOne(topic, 0, fetchOffset);
}

const segmentBases = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => Number(f.slice(0, 20)))
    .sort((a, b) => a - b);

describe('retention and DeleteRecords', () => {
  const broker = suiteBroker({ process: true, config: { 'log.retention.check.interval.ms': 200 } });
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let client: RawClient;

  async function connect(): Promise<void> {
    kafka = new Kafka({ clientId: 'retention-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
    client = await RawClient.connect(broker.port);
  }

  async function disconnect(): Promise<void> {
    client?.close();
    await producer?.disconnect();
    await admin?.disconnect();
  }

  const createTopic = (topic: string, configs: Record<string, string>) => createTopicVia(broker, topic, 1, configs);

  /** One batch per message, so small segments roll often. */
  async function produce(topic: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) await producer.send({ topic, messages: [{ key: `k${i}`, value: `value-${i}`.padEnd(60, '.') }] });
  }

  async function offsets(topic: string): Promise<{ low: number; high: number }> {
    const [p] = await admin.fetchTopicOffsets(topic);
    return { low: Number(p!.low), high: Number(p!.high) };
  }

  async function deleteRecordsRaw(version: number, topic: string, partition: number, offset: number) {
    const r = await client.request<DeleteRecordsResponse>(ApiKey.DeleteRecords, version, {
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, offset }] }],
      timeoutMs: 5000,
    });
    return r.body.topics[0]!.partitions[0]!;
  }

  before(() => connect());
  after(() => disconnect());

  test('DeleteRecords through kafkajs moves the low watermark; fetches below it are out of range', async () => {
    const topic = 'delete-records';
    await createTopic(topic, { 'segment.bytes': '1024', 'retention.ms': '-1' });
    await produce(topic, 40);
    assert.deepEqual(await offsets(topic), { low: 0, high: 40 });
    const dir = join(broker.dataDir, `${topic}-0`);
    assert.ok(segmentBases(dir).length > 3, `several segments: ${segmentBases(dir).join(',')}`);

    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '25' }] });
    assert.deepEqual(await offsets(topic), { low: 25, high: 40 });
    const bases = segmentBases(dir);
    assert.ok(bases[0]! > 0 && bases[0]! <= 25 && (bases[1] ?? Infinity) > 25, `only the segment holding 25 and later stay: ${bases.join(',')}`);

    const below = await client.request<FetchResponse>(ApiKey.Fetch, 12, fetchAt(topic, 10));
    const belowPartition = below.body.responses[0]!.partitions[0]!;
    assert.equal(belowPartition.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.equal(belowPartition.logStartOffset, 25);
    const at = await client.request<FetchResponse>(ApiKey.Fetch, 12, fetchAt(topic, 25));
    const atPartition = at.body.responses[0]!.partitions[0]!;
    assert.equal(atPartition.errorCode, ErrorCode.NONE);
    assert.ok(atPartition.records && atPartition.records.length > 0);

    // Error cases and -1, at the oldest and the flexible version.
    for (const version of [0, 2]) {
      assert.deepEqual(await deleteRecordsRaw(version, topic, 0, 1000), { partitionIndex: 0, lowWatermark: -1, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
      assert.deepEqual(await deleteRecordsRaw(version, 'no-such-topic', 0, 1), { partitionIndex: 0, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      assert.deepEqual(await deleteRecordsRaw(version, topic, 7, 1), { partitionIndex: 7, lowWatermark: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
      assert.deepEqual(await deleteRecordsRaw(version, topic, 0, 3), { partitionIndex: 0, lowWatermark: 25, errorCode: ErrorCode.NONE });
    }
    await assert.rejects(admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '1000' }] }));
    assert.deepEqual(await deleteRecordsRaw(1, topic, 0, -1), { partitionIndex: 0, lowWatermark: 40, errorCode: ErrorCode.NONE });
    assert.deepEqual(await offsets(topic), { low: 40, high: 40 });

    // The start survives a restart, and a crash.
    await disconnect();
    await broker.restart();
    await connect();
    assert.deepEqual(await offsets(topic), { low: 40, high: 40 });
    await produce(topic, 5);
    assert.deepEqual(await deleteRecordsRaw(2, topic, 0, 43), { partitionIndex: 0, lowWatermark: 43, errorCode: ErrorCode.NONE });
    await disconnect();
    await broker.kill();
    await broker.restart();
    await connect();
    assert.deepEqual(await offsets(topic), { low: 43, high: 45 });
  });

  test('retention.ms empties an expired log; ListOffsets(earliest) follows', async () => {
    const topic = 'expiring';
    await createTopic(topic, { 'segment.bytes': '1024', 'retention.ms': '3000' });
    await produce(topic, 30);
    const dir = join(broker.dataDir, `${topic}-0`);
    assert.ok(segmentBases(dir).length > 2);
    const seen = await waitUntil(
      async () => {
        const o = await offsets(topic);
        return o.low >= 30 && o;
      },
      { timeout: 20_000, interval: 100, message: 'retention.ms to expire the log' },
    );
    assert.deepEqual(seen, { low: 30, high: 30 });
    // Files are removed asynchronously, right after the start moved.
    await waitUntil(() => segmentBases(dir).length <= 1, { timeout: 10_000, message: () => `old segments to go (${segmentBases(dir).join(',')})` });
    assert.deepEqual(segmentBases(dir), [30], 'old segments are gone from disk');
    const below = await client.request<FetchResponse>(ApiKey.Fetch, 12, fetchAt(topic, 0));
    assert.equal(below.body.responses[0]!.partitions[0]!.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);

    // New data is kept until it expires in turn.
    await produce(topic, 2);
    assert.deepEqual(await offsets(topic), { low: 30, high: 32 });
  });

  test('DeleteRecords on a compact-only topic is a policy violation, as in Kafka', async () => {
    const topic = 'compact-only';
    await createTopic(topic, { 'cleanup.policy': 'compact' });
    await produce(topic, 3);
    assert.deepEqual(await deleteRecordsRaw(2, topic, 0, 2), { partitionIndex: 0, lowWatermark: -1, errorCode: ErrorCode.POLICY_VIOLATION });
    assert.deepEqual(await offsets(topic), { low: 0, high: 3 });
  });

  test('retention.bytes keeps a partition bounded under a produce loop', async () => {
    const topic = 'bounded';
    await createTopic(topic, { 'segment.bytes': '1024', 'retention.bytes': '4096', 'retention.ms': '-1' });
    const dir = join(broker.dataDir, `${topic}-0`);
    const logBytes = () =>
      fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.log'))
        .reduce((sum, f) => sum + fs.statSync(join(dir, f)).size, 0);
    // Each round adds about 4 KiB; the peak is taken right after it, before the next retention
    // check, and every round ends once retention has brought the partition back under the bound.
    let largest = 0;
    for (let round = 0; round < 10; round++) {
      await produce(topic, 30);
      largest = Math.max(largest, logBytes());
      await waitUntil(() => logBytes() <= 4096 + 1024, { timeout: 5000, message: () => `round ${round}: retention to trim the partition (${logBytes()} bytes)` });
    }
    assert.ok(largest < 4 * 4096, `never more than ${largest} bytes`);
    const { low, high } = await offsets(topic);
    assert.equal(high, 300);
    assert.ok(low > 200, `log start ${low}`);
  });

  test('a librdkafka consumer below the log start resets to the earliest offset', () => {
    return (async () => {
      const topic = 'reset-earliest';
      await createTopic(topic, { 'retention.ms': '-1' });
      await produce(topic, 20);
      assert.deepEqual(await offsets(topic), { low: 0, high: 20 }); // also loads the topic's metadata into kafkajs
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '12' }] });
      const r = spawnSync(PYTHON, [join(repoRoot, 'test/clients/confluent_offset_reset.py'), broker.bootstrap, topic, '3', '8'], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
      assert.equal(r.status, 0, last + r.stderr);
      assert.deepEqual(JSON.parse(last), { first: 12, count: 8, low: 12, high: 20 });
    })();
  });
});
