// DescribeTopicPartitions (KIP-966) against a real broker process: name order, pagination by
// partition count with a cursor, unknown and invalid names, the cursor checks Kafka makes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic } from '../helpers/requests.js';
import { ApiKey, type DescribeTopicPartitionsResponse, type MetadataResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';

async function dtp(
  c: RawClient,
  topics: string[],
  limit: number,
  cursor: { topicName: string; partitionIndex: number } | null = null,
): Promise<DescribeTopicPartitionsResponse> {
  const r = await c.request<DescribeTopicPartitionsResponse>(ApiKey.DescribeTopicPartitions, 0, {
    topics: topics.map((name) => ({ name })),
    responsePartitionLimit: limit,
    cursor,
  });
  return r.body;
}

/** Pages through everything as the Java admin client does, collecting topic:partition. */
async function pageAll(c: RawClient, topics: string[], limit: number): Promise<{ seen: string[]; pages: number }> {
  const seen: string[] = [];
  let cursor: { topicName: string; partitionIndex: number } | null = null;
  let pages = 0;
  do {
    const res: DescribeTopicPartitionsResponse = await dtp(c, topics, limit, cursor);
    pages++;
    for (const t of res.topics) for (const p of t.partitions) seen.push(`${t.name}:${p.partitionIndex}`);
    assert.ok(res.topics.reduce((n, t) => n + t.partitions.length, 0) <= limit, 'a page holds at most the limit');
    cursor = res.nextCursor;
  } while (cursor && pages < 100);
  return { seen, pages };
}

describe('DescribeTopicPartitions', () => {
  let broker: BrokerProcess;
  let c: RawClient;

  before(async () => {
    broker = await startBrokerProcess({ overrides: { 'max.request.partition.size.limit': '7' } });
    c = await RawClient.connect(broker.port);
    await createTopic(c, 'dtp-b', 5);
    await createTopic(c, 'dtp-a', 3);
    await createTopic(c, 'dtp-c', 1);
  });
  after(async () => {
    c?.close();
    await broker.stop();
    broker.cleanup();
  });

  test('is advertised at v0', async () => {
    const r = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    const entry = r.body.apiKeys.find((k: { apiKey: number }) => k.apiKey === ApiKey.DescribeTopicPartitions);
    assert.deepEqual({ min: entry?.minVersion, max: entry?.maxVersion }, { min: 0, max: 0 });
  });

  test('describes requested topics in name order with the same ids and partitions as Metadata', async () => {
    const res = await dtp(c, ['dtp-c', 'dtp-a', 'dtp-a'], 100);
    assert.deepEqual(
      res.topics.map((t) => t.name),
      ['dtp-a', 'dtp-c'],
    );
    assert.equal(res.nextCursor, null);
    const md = (
      await c.request<MetadataResponse>(ApiKey.Metadata, 12, {
        topics: [{ name: 'dtp-a', topicId: ZERO_UUID }],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      })
    ).body;
    const a = res.topics[0]!;
    assert.equal(a.errorCode, ErrorCode.NONE);
    assert.equal(a.topicId, md.topics[0]!.topicId);
    assert.notEqual(a.topicId, ZERO_UUID);
    assert.equal(a.isInternal, false);
    assert.deepEqual(
      a.partitions.map((p) => p.partitionIndex),
      [0, 1, 2],
    );
    for (const p of a.partitions) {
      assert.equal(p.errorCode, ErrorCode.NONE);
      assert.equal(p.leaderId, md.brokers[0]!.nodeId);
      assert.deepEqual(p.replicaNodes, [p.leaderId]);
      assert.deepEqual(p.isrNodes, [p.leaderId]);
      assert.deepEqual(p.eligibleLeaderReplicas, []);
      assert.deepEqual(p.lastKnownElr, []);
      assert.deepEqual(p.offlineReplicas, []);
    }
  });

  test('pages split a topic and resume at the cursor partition', async () => {
    const res = await dtp(c, ['dtp-a', 'dtp-b', 'dtp-c'], 4);
    assert.deepEqual(
      res.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]),
      [
        ['dtp-a', [0, 1, 2]],
        ['dtp-b', [0]],
      ],
    );
    assert.deepEqual(res.nextCursor, { topicName: 'dtp-b', partitionIndex: 1 });
    const next = await dtp(c, ['dtp-a', 'dtp-b', 'dtp-c'], 4, res.nextCursor);
    assert.deepEqual(
      next.topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]),
      [['dtp-b', [1, 2, 3, 4]]],
    );
    assert.deepEqual(next.nextCursor, { topicName: 'dtp-c', partitionIndex: 0 }, 'a page full at a topic boundary points at the next topic');
    const last = await dtp(c, ['dtp-a', 'dtp-b', 'dtp-c'], 4, next.nextCursor);
    assert.deepEqual(
      last.topics.map((t) => [t.name, t.partitions.length]),
      [['dtp-c', 1]],
    );
    assert.equal(last.nextCursor, null);
  });

  test('an empty topic list pages through every topic, the broker limit capping the client limit', async () => {
    const { seen, pages } = await pageAll(c, [], 1000);
    const mine = seen.filter((s) => s.startsWith('dtp-'));
    assert.deepEqual(mine, ['dtp-a:0', 'dtp-a:1', 'dtp-a:2', 'dtp-b:0', 'dtp-b:1', 'dtp-b:2', 'dtp-b:3', 'dtp-b:4', 'dtp-c:0']);
    assert.ok(pages >= 2, `max.request.partition.size.limit=7 splits 9 partitions (${pages} pages)`);
    const sorted = [...new Set(seen.map((s) => s.split(':')[0]!))];
    assert.deepEqual(sorted, [...sorted].sort());
  });

  test('a limit below 1 still returns one partition', async () => {
    const res = await dtp(c, ['dtp-a'], 0);
    assert.equal(res.topics[0]!.partitions.length, 1);
    assert.deepEqual(res.nextCursor, { topicName: 'dtp-a', partitionIndex: 1 });
  });

  test('unknown and invalid names answer per topic; the list form hides nothing, the all form skips', async () => {
    const res = await dtp(c, ['dtp-a', 'dtp-missing', 'bad name!'], 100);
    const byName = new Map(res.topics.map((t) => [t.name, t]));
    assert.equal(byName.get('dtp-missing')!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(byName.get('dtp-missing')!.topicId, ZERO_UUID);
    assert.equal(byName.get('bad name!')!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
    assert.equal(byName.get('dtp-a')!.errorCode, ErrorCode.NONE);
    // Not auto-created.
    const again = await dtp(c, ['dtp-missing'], 100);
    assert.equal(again.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  test('a cursor outside the requested topics or with a negative partition is an invalid request', async () => {
    const res = await dtp(c, ['dtp-a', 'dtp-b'], 100, { topicName: 'dtp-c', partitionIndex: 0 });
    assert.deepEqual(
      res.topics.map((t) => [t.name, t.errorCode]),
      [
        ['dtp-a', ErrorCode.INVALID_REQUEST],
        ['dtp-b', ErrorCode.INVALID_REQUEST],
      ],
    );
    const neg = await dtp(c, ['dtp-a'], 100, { topicName: 'dtp-a', partitionIndex: -1 });
    assert.equal(neg.topics[0]!.errorCode, ErrorCode.INVALID_REQUEST);
  });
});
