// ListOffsets (earliest, latest, max timestamp, by timestamp) and OffsetForLeaderEpoch against a
// broker, through kafkajs admin and through our own codecs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic as createTopicVia, produceOk } from '../helpers/requests.js';
import { ApiKey, type ListOffsetsResponseListOffsetsPartitionResponse, type OffsetForLeaderEpochResponseEpochEndOffset } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';

const { Kafka, logLevel } = kafkajs;

const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
/** A fixed, realistic CreateTime base so the expected answers are exact. */
const T = 1_700_000_000_000;

describe('ListOffsets and OffsetForLeaderEpoch', () => {
  const broker = suiteBroker();
  let client: RawClient;
  let kafka: InstanceType<typeof Kafka>;

  const createTopic = (name: string, partitions: number, configs: Record<string, string> = {}) => createTopicVia(client, name, partitions, configs);

  /** One batch of records with the given CreateTime timestamps; returns its base offset. */
  async function produceBatch(topic: string, partition: number, timestamps: number[]): Promise<number> {
    return produceOk(client, topic, partition, buildRecordBatch({ records: timestamps.map((timestamp, i) => ({ value: `v-${timestamp}-${i}`, timestamp })) }));
  }

  async function listOffset(
    version: number,
    topic: string,
    partition: number,
    timestamp: number,
    currentLeaderEpoch = -1,
  ): Promise<ListOffsetsResponseListOffsetsPartitionResponse> {
    const r = await client.request(ApiKey.ListOffsets, version, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 5000,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch, timestamp }] }],
    });
    assert.equal(r.body.topics.length, 1);
    assert.equal(r.body.topics[0].name, topic);
    return r.body.topics[0].partitions[0];
  }

  async function offsetForEpoch(
    version: number,
    topic: string,
    partition: number,
    leaderEpoch: number,
    currentLeaderEpoch = -1,
  ): Promise<OffsetForLeaderEpochResponseEpochEndOffset> {
    const r = await client.request(ApiKey.OffsetForLeaderEpoch, version, {
      replicaId: -1,
      topics: [{ topic, partitions: [{ partition, currentLeaderEpoch, leaderEpoch }] }],
    });
    assert.equal(r.body.topics[0].topic, topic);
    return r.body.topics[0].partitions[0];
  }

  before(async () => {
    client = await RawClient.connect(broker.port);
    kafka = new Kafka({ clientId: 'offsets-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 2 } });

    // 'ts' partition 0: three batches of four records, CreateTime T, T+10, ..., T+110.
    await createTopic('ts', 2);
    for (let b = 0; b < 3; b++)
      await produceBatch(
        'ts',
        0,
        [0, 1, 2, 3].map((i) => T + (b * 4 + i) * 10),
      );
    // 'ts' partition 1: one kafkajs batch of five records, T+1000, T+1100, ..., T+1400.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'ts', messages: [0, 1, 2, 3, 4].map((i) => ({ partition: 1, value: `k${i}`, timestamp: String(T + 1000 + i * 100) })) });
    await producer.disconnect();
  });
  after(() => client?.close());

  test('kafkajs fetchTopicOffsets: earliest and latest per partition', async () => {
    await createTopic('empty', 1);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = (await admin.fetchTopicOffsets('ts')).sort((a, b) => a.partition - b.partition);
      assert.deepEqual(
        offsets.map((o) => ({ partition: o.partition, low: o.low, high: o.high })),
        [
          { partition: 0, low: '0', high: '12' },
          { partition: 1, low: '0', high: '5' },
        ],
      );
      const empty = await admin.fetchTopicOffsets('empty');
      assert.deepEqual(
        empty.map((o) => [o.low, o.high]),
        [['0', '0']],
      );
    } finally {
      await admin.disconnect();
    }
  });

  test('kafkajs fetchTopicOffsetsByTimestamp: first record at or after the timestamp', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const at = async (ts: number) => {
        const r = await admin.fetchTopicOffsetsByTimestamp('ts', ts);
        return Object.fromEntries(r.map((o) => [o.partition, Number(o.offset)]));
      };
      assert.deepEqual(await at(T - 5), { 0: 0, 1: 0 });
      assert.deepEqual(await at(T + 15), { 0: 2, 1: 0 });
      assert.deepEqual(await at(T + 40), { 0: 4, 1: 0 });
      assert.deepEqual(await at(T + 1050), { 0: 12, 1: 1 }, 'past every record of partition 0: kafkajs maps -1 to the high watermark');
      assert.deepEqual(await at(T + 1400), { 0: 12, 1: 4 });
      assert.deepEqual(await at(T + 1401), { 0: 12, 1: 5 });
    } finally {
      await admin.disconnect();
    }
  });

  for (const version of [1, 4, 7, 10]) {
    test(`v${version}: by timestamp is exact within a batch; after every record gives -1`, async () => {
      const cases: [number, number][] = [
        [T - 1000, 0],
        [T, 0],
        [T + 1, 1],
        [T + 10, 1],
        [T + 35, 4],
        [T + 39, 4],
        [T + 40, 4],
        [T + 70, 7],
        [T + 71, 8],
        [T + 110, 11],
      ];
      for (const [target, offset] of cases) {
        const r = await listOffset(version, 'ts', 0, target);
        assert.equal(r.errorCode, ErrorCode.NONE);
        assert.equal(r.offset, offset, `timestamp T+${target - T} → offset ${offset}`);
        assert.equal(r.timestamp, T + offset * 10, 'the timestamp of the record found');
        assert.equal(r.leaderEpoch, version >= 4 ? 0 : -1);
      }
      const none = await listOffset(version, 'ts', 0, T + 111);
      assert.equal(none.errorCode, ErrorCode.NONE);
      assert.equal(none.offset, -1);
      assert.equal(none.timestamp, -1);
      const p1 = await listOffset(version, 'ts', 1, T + 1250);
      assert.deepEqual([p1.offset, p1.timestamp], [3, T + 1300], 'inside a kafkajs batch');
    });

    test(`v${version}: earliest and latest`, async () => {
      const earliest = await listOffset(version, 'ts', 0, EARLIEST);
      assert.equal(earliest.errorCode, ErrorCode.NONE);
      assert.equal(earliest.offset, 0);
      const latest = await listOffset(version, 'ts', 0, LATEST);
      assert.equal(latest.errorCode, ErrorCode.NONE);
      assert.equal(latest.offset, 12);
      assert.equal(latest.timestamp, -1);
      if (version >= 4) assert.equal(latest.leaderEpoch, 0);
      const unknown = await listOffset(version, 'no-such-topic', 0, LATEST);
      assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const badPartition = await listOffset(version, 'ts', 9, EARLIEST);
      assert.equal(badPartition.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    });
  }

  test('timestamps are found across many segments', async () => {
    // Tiny segments and an index entry per batch: the lookup must use the time index and
    // still land on the exact record.
    await createTopic('ts-segments', 1, { 'segment.bytes': '300', 'index.interval.bytes': '1' });
    for (let b = 0; b < 20; b++)
      await produceBatch(
        'ts-segments',
        0,
        [0, 1, 2].map((i) => T + (b * 3 + i) * 10),
      );
    for (const offset of [0, 1, 2, 3, 17, 31, 44, 58, 59]) {
      const r = await listOffset(10, 'ts-segments', 0, T + offset * 10 - 5);
      assert.deepEqual([r.offset, r.timestamp], [offset, T + offset * 10], `T+${offset * 10 - 5}`);
    }
    const none = await listOffset(10, 'ts-segments', 0, T + 600);
    assert.equal(none.offset, -1);
    const max = await listOffset(10, 'ts-segments', 0, MAX_TIMESTAMP);
    assert.deepEqual([max.offset, max.timestamp], [59, T + 590]);
  });

  for (const version of [7, 10]) {
    test(`v${version}: max timestamp (-3) names the record with the largest timestamp`, async () => {
      const topic = `maxts-v${version}`;
      await createTopic(topic, 2);
      // The largest timestamp is in the middle of the first batch; a later batch ties it.
      await produceBatch(topic, 0, [T + 10, T + 500, T + 20]);
      await produceBatch(topic, 0, [T + 30, T + 40]);
      await produceBatch(topic, 0, [T + 50, T + 500, T + 60]);
      const r = await listOffset(version, topic, 0, MAX_TIMESTAMP);
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.equal(r.offset, 1, 'the first record carrying the largest timestamp');
      assert.equal(r.timestamp, T + 500);
      assert.equal(r.leaderEpoch, 0);
      // A newer maximum moves the answer.
      await produceBatch(topic, 0, [T + 70, T + 900]);
      const moved = await listOffset(version, topic, 0, MAX_TIMESTAMP);
      assert.deepEqual([moved.offset, moved.timestamp], [9, T + 900]);
      // An empty partition has no answer.
      const empty = await listOffset(version, topic, 1, MAX_TIMESTAMP);
      assert.equal(empty.errorCode, ErrorCode.NONE);
      assert.deepEqual([empty.offset, empty.timestamp], [-1, -1]);
      // Through our own codecs the ts topic agrees with its data.
      const ts = await listOffset(version, 'ts', 0, MAX_TIMESTAMP);
      assert.deepEqual([ts.offset, ts.timestamp], [11, T + 110]);
    });
  }

  test('ListOffsets checks currentLeaderEpoch', async () => {
    assert.equal((await listOffset(10, 'ts', 0, LATEST, 0)).errorCode, ErrorCode.NONE);
    assert.equal((await listOffset(10, 'ts', 0, LATEST, 3)).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
  });

  for (const version of [2, 3, 4]) {
    test(`OffsetForLeaderEpoch v${version}: epoch 0 ends at the log end offset; wrong current epochs are refused`, async () => {
      const r = await offsetForEpoch(version, 'ts', 0, 0);
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.equal(r.leaderEpoch, 0);
      assert.equal(r.endOffset, 12);
      const p1 = await offsetForEpoch(version, 'ts', 1, 0, 0);
      assert.deepEqual([p1.errorCode, p1.leaderEpoch, p1.endOffset], [ErrorCode.NONE, 0, 5]);

      const future = await offsetForEpoch(version, 'ts', 0, 0, 1);
      assert.equal(future.errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
      const stale = await offsetForEpoch(version, 'ts', 0, 0, -2);
      assert.equal(stale.errorCode, ErrorCode.FENCED_LEADER_EPOCH);

      // An epoch newer than any the log knows has no end offset.
      const unknownEpoch = await offsetForEpoch(version, 'ts', 0, 7);
      assert.equal(unknownEpoch.errorCode, ErrorCode.NONE);
      assert.deepEqual([unknownEpoch.leaderEpoch, unknownEpoch.endOffset], [-1, -1]);

      const unknown = await offsetForEpoch(version, 'no-such-topic', 0, 0);
      assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    });
  }

  test('OffsetForLeaderEpoch on an empty partition: epoch 0 ends at 0, as a new leader', async () => {
    await createTopic('epoch-empty', 1);
    const r = await offsetForEpoch(4, 'epoch-empty', 0, 0);
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual([r.leaderEpoch, r.endOffset], [0, 0]);
    const latest = await listOffset(4, 'epoch-empty', 0, LATEST);
    assert.deepEqual([latest.offset, latest.leaderEpoch], [0, 0], 'ListOffsets knows the epoch too');
    await produceBatch('epoch-empty', 0, [T, T + 1]);
    const after = await offsetForEpoch(4, 'epoch-empty', 0, 0);
    assert.deepEqual([after.leaderEpoch, after.endOffset], [0, 2]);
  });
});
