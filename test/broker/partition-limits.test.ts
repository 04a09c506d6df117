// Regression (found by the protocol fuzzer): CreatePartitions (and CreateTopics) accepted any
// count, so one request for 2^31-1 partitions made the broker open partition logs for ever: its
// fuzz topic had 10,000+ partition directories and RSS kept climbing. A request may now add at
// most MAX_NEW_PARTITIONS partitions to a topic (INVALID_PARTITIONS otherwise).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { MAX_NEW_PARTITIONS } from '../../src/broker/broker.js';

describe('partition count limits', () => {
  let broker: BrokerProcess;
  let client: RawClient;
  before(async () => {
    broker = await startBrokerProcess();
    client = await RawClient.connect(broker.port);
  });
  after(async () => {
    client.close();
    await broker.stop();
    broker.cleanup();
  });

  const createTopic = async (name: string, numPartitions: number) =>
    (
      await client.request(ApiKey.CreateTopics, 7, {
        topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      })
    ).body.topics[0];

  const createPartitions = async (name: string, count: number) =>
    (await client.request(ApiKey.CreatePartitions, 3, { topics: [{ name, count, assignments: null }], timeoutMs: 5000, validateOnly: false })).body
      .results[0];

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
    const md = await client.request(ApiKey.Metadata, 12, {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'grows' }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.equal(md.body.topics[0].partitions.length, 3);
    assert.equal(broker.child.exitCode, null);
  });
});
