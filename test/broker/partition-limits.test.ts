// Regression (found by the protocol fuzzer): CreatePartitions (and CreateTopics) accepted any
// count, so one request for 2^31-1 partitions made the broker open partition logs for ever: its
// fuzz topic had 10,000+ partition directories and RSS kept climbing. A request may now add at
// most MAX_NEW_PARTITIONS partitions to a topic (INVALID_PARTITIONS otherwise).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { suiteBroker, withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { metadataRequest } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { MAX_NEW_PARTITIONS } from '../../src/broker/broker.js';

describe('partition count limits', () => {
  const broker = suiteBroker();
  let client: RawClient;
  before(async () => {
    client = await RawClient.connect(broker.port);
  });
  after(() => client?.close());

  const createTopic = async (name: string, numPartitions: number) =>
    (
      await client.request(ApiKey.CreateTopics, 7, {
        topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      })
    ).body.topics[0];

  const createPartitions = async (name: string, count: number) =>
    (await client.request(ApiKey.CreatePartitions, 3, { topics: [{ name, count, assignments: null }], timeoutMs: 5000, validateOnly: false })).body.results[0];

  test('CreateTopics with 2^31-1 partitions is refused at once', async () => {
    for (const n of [0x7fffffff, MAX_NEW_PARTITIONS + 1]) {
      const t = await createTopic(`huge-${n}`, n);
      assert.equal(t.errorCode, ErrorCode.INVALID_PARTITIONS, t.errorMessage);
    }
  });

  test('CreatePartitions to 2^31-1 is refused at once; a normal increase works', async () => {
    assert.equal((await createTopic('grows', 1)).errorCode, ErrorCode.NONE);
    for (const n of [0x7fffffff, 1_000_000, MAX_NEW_PARTITIONS + 2]) {
      const r = await createPartitions('grows', n);
      assert.equal(r.errorCode, ErrorCode.INVALID_PARTITIONS, r.errorMessage);
    }
    assert.equal((await createPartitions('grows', 3)).errorCode, ErrorCode.NONE);
    const md = await client.request(ApiKey.Metadata, 12, metadataRequest(['grows']));
    assert.equal(md.body.topics[0].partitions.length, 3);
    assert.ok(broker.running);
  });
});

// Found while reviewing the fuzzer's CreatePartitions finding: two CreatePartitions for the same
// topic at the same time both opened the partitions from the same current count, so the topic
// ended with duplicated partitions (two logs on one directory).
describe('concurrent CreatePartitions', () => {
  test('run one after the other: each partition exists once', async (t) => {
    const broker = await withBroker(t);
    const a = await RawClient.connect(broker.port);
    const b = await RawClient.connect(broker.port);
    try {
      const created = await a.request(ApiKey.CreateTopics, 7, {
        topics: [{ name: 'raced', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      });
      assert.equal(created.body.topics[0].errorCode, ErrorCode.NONE);
      const grow = (c: RawClient, count: number) =>
        c.request(ApiKey.CreatePartitions, 3, { topics: [{ name: 'raced', count, assignments: null }], timeoutMs: 5000, validateOnly: false });
      const [ra, rb] = await Promise.all([grow(a, 40), grow(b, 60)]);
      assert.equal(ra.body.results[0].errorCode, ErrorCode.NONE);
      assert.equal(rb.body.results[0].errorCode, ErrorCode.NONE);
      // Queued behind the larger one, the smaller request finds the topic past its count (or,
      // if it arrives first, grows it first).
      const [rc, rd] = await Promise.all([grow(a, 80), grow(b, 70)]);
      assert.equal(rc.body.results[0].errorCode, ErrorCode.NONE);
      assert.ok([ErrorCode.NONE, ErrorCode.INVALID_PARTITIONS].includes(rd.body.results[0].errorCode));
      const md = await a.request(ApiKey.Metadata, 12, metadataRequest(['raced']));
      const indexes = md.body.topics[0].partitions.map((p: { partitionIndex: number }) => p.partitionIndex);
      assert.deepEqual(
        indexes,
        Array.from({ length: 80 }, (_, i) => i),
      );
    } finally {
      a.close();
      b.close();
    }
  });
});
