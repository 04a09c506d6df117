// CreateTopics, DeleteTopics and Metadata against a broker: validation answers, topic ids,
// auto-creation, and topics surviving a restart.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker, withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import {
  ApiKey,
  type CreateTopicsResponse,
  type CreateTopicsResponseCreatableTopicResult,
  type DeleteTopicsResponseDeletableTopicResult,
  type MetadataResponse,
} from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';

interface NewTopic {
  name: string;
  numPartitions?: number;
  replicationFactor?: number;
  configs?: Record<string, string | null>;
}

async function createTopics(c: RawClient, version: number, topics: NewTopic[], validateOnly = false): Promise<CreateTopicsResponse> {
  const r = await c.request<CreateTopicsResponse>(ApiKey.CreateTopics, version, {
    topics: topics.map((t) => ({
      name: t.name,
      numPartitions: t.numPartitions ?? 1,
      replicationFactor: t.replicationFactor ?? 1,
      assignments: [],
      configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
    })),
    timeoutMs: 5000,
    validateOnly,
  });
  return r.body;
}

async function createOne(c: RawClient, version: number, topic: NewTopic, validateOnly = false): Promise<CreateTopicsResponseCreatableTopicResult> {
  const res = await createTopics(c, version, [topic], validateOnly);
  assert.equal(res.topics.length, 1);
  assert.equal(res.topics[0]!.name, topic.name);
  return res.topics[0]!;
}

async function metadata(c: RawClient, version: number, topics: ({ name: string } | { topicId: string })[] | null, allowAutoTopicCreation = true): Promise<MetadataResponse> {
  const r = await c.request<MetadataResponse>(ApiKey.Metadata, version, {
    topics: topics === null ? null : topics.map((t) => ('name' in t ? { name: t.name, topicId: ZERO_UUID } : { name: null, topicId: t.topicId })),
    allowAutoTopicCreation,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  });
  return r.body;
}

async function allTopicNames(c: RawClient): Promise<string[]> {
  const md = await metadata(c, 12, null);
  return md.topics.map((t) => t.name!).sort();
}

async function deleteByName(c: RawClient, version: number, names: string[]): Promise<DeleteTopicsResponseDeletableTopicResult[]> {
  const r = await c.request(ApiKey.DeleteTopics, version, {
    topics: version >= 6 ? names.map((name) => ({ name, topicId: ZERO_UUID })) : [],
    topicNames: version >= 6 ? [] : names,
    timeoutMs: 5000,
  });
  return r.body.responses;
}

async function deleteById(c: RawClient, ids: string[]): Promise<DeleteTopicsResponseDeletableTopicResult[]> {
  const r = await c.request(ApiKey.DeleteTopics, 6, { topics: ids.map((topicId) => ({ name: null, topicId })), topicNames: [], timeoutMs: 5000 });
  return r.body.responses;
}

async function produce(c: RawClient, topic: string, partition: number, values: string[]): Promise<number> {
  const r = await c.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: buildRecordBatch({ records: values.map((value) => ({ value })) }) }] }],
  });
  return r.body.responses[0].partitionResponses[0].errorCode;
}

async function latestOffset(c: RawClient, topic: string, partition: number): Promise<{ errorCode: number; offset: number }> {
  const r = await c.request(ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 0,
    timeoutMs: 5000,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1 }] }],
  });
  return r.body.topics[0].partitions[0];
}

const UNKNOWN_ID = '3b6a1f0e-0000-4000-8000-000000000001';

describe('topics', () => {
  const broker = suiteBroker({ config: { 'num.partitions': 3 } });
  let c: RawClient;

  before(async () => {
    c = await RawClient.connect(broker.port);
  });
  after(() => c?.close());

  describe('CreateTopics', () => {
    test('v2 creates a topic; no topic id or configs in that version', async () => {
      const r = await createOne(c, 2, { name: 'create-v2', numPartitions: 2 });
      assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? undefined);
      assert.equal(r.topicId, ZERO_UUID);
      assert.ok(!r.configs || r.configs.length === 0, 'no configs before v5');
      const md = await metadata(c, 12, [{ name: 'create-v2' }], false);
      assert.equal(md.topics[0]!.errorCode, ErrorCode.NONE);
      assert.equal(md.topics[0]!.partitions.length, 2);
      assert.notEqual(md.topics[0]!.topicId, ZERO_UUID, 'the topic has an id all the same');
    });

    test('v5+ returns the effective configs and v7 the topic id Metadata reports', async () => {
      for (const version of [5, 7]) {
        const name = `create-v${version}`;
        const r = await createOne(c, version, { name, numPartitions: 4, configs: { 'retention.ms': '12345', 'cleanup.policy': 'delete' } });
        assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? undefined);
        assert.equal(r.numPartitions, 4);
        assert.equal(r.replicationFactor, 1);
        assert.ok(r.configs && r.configs.length > 5, 'configs are listed');
        const retention = r.configs.find((e) => e.name === 'retention.ms');
        assert.equal(retention?.value, '12345');
        assert.equal(retention?.configSource, 1, 'DYNAMIC_TOPIC_CONFIG');
        const segment = r.configs.find((e) => e.name === 'segment.bytes');
        assert.equal(segment?.value, '1073741824');
        assert.notEqual(segment?.configSource, 1);
        const md = await metadata(c, 12, [{ name }], false);
        if (version >= 7) {
          assert.notEqual(r.topicId, ZERO_UUID);
          assert.equal(md.topics[0]!.topicId, r.topicId);
        } else {
          assert.equal(r.topicId, ZERO_UUID);
        }
      }
    });

    test('an existing topic gives TOPIC_ALREADY_EXISTS', async () => {
      await createOne(c, 7, { name: 'exists' });
      const again = await createOne(c, 7, { name: 'exists' });
      assert.equal(again.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
      assert.equal(again.topicId, ZERO_UUID);
    });

    test('validateOnly checks everything and creates nothing', async () => {
      const r = await createOne(c, 7, { name: 'validate-only', numPartitions: 2, configs: { 'retention.ms': '1000' } }, true);
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.equal(r.numPartitions, 2);
      const md = await metadata(c, 12, [{ name: 'validate-only' }], false);
      assert.equal(md.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      assert.ok(!(await allTopicNames(c)).includes('validate-only'));
      const bad = await createOne(c, 7, { name: 'validate-only', configs: { 'retention.ms': 'soon' } }, true);
      assert.equal(bad.errorCode, ErrorCode.INVALID_CONFIG);
      const real = await createOne(c, 7, { name: 'validate-only' });
      assert.equal(real.errorCode, ErrorCode.NONE, 'the name is still free');
    });

    test('-1 partitions and replication use the broker defaults', async () => {
      const r = await createOne(c, 7, { name: 'defaults', numPartitions: -1, replicationFactor: -1 });
      assert.equal(r.errorCode, ErrorCode.NONE);
      assert.equal(r.numPartitions, 3, 'num.partitions=3');
      assert.equal(r.replicationFactor, 1);
      const md = await metadata(c, 12, [{ name: 'defaults' }], false);
      assert.deepEqual(md.topics[0]!.partitions.map((p) => p.partitionIndex).sort(), [0, 1, 2]);
    });

    test('bad partition counts and replication factors are refused', async () => {
      assert.equal((await createOne(c, 7, { name: 'zero-partitions', numPartitions: 0 })).errorCode, ErrorCode.INVALID_PARTITIONS);
      assert.equal((await createOne(c, 7, { name: 'rf-three', replicationFactor: 3 })).errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
      assert.equal((await createOne(c, 7, { name: 'rf-zero', replicationFactor: 0 })).errorCode, ErrorCode.INVALID_REPLICATION_FACTOR);
      const names = await allTopicNames(c);
      for (const n of ['zero-partitions', 'rf-three', 'rf-zero']) assert.ok(!names.includes(n));
    });

    test('the same name twice in one request is INVALID_REQUEST for both', async () => {
      const res = await createTopics(c, 7, [{ name: 'dup' }, { name: 'dup' }, { name: 'not-dup' }]);
      const byCode = res.topics.map((t) => [t.name, t.errorCode]);
      assert.deepEqual(byCode, [
        ['dup', ErrorCode.INVALID_REQUEST],
        ['dup', ErrorCode.INVALID_REQUEST],
        ['not-dup', ErrorCode.NONE],
      ]);
      const names = await allTopicNames(c);
      assert.ok(!names.includes('dup'));
      assert.ok(names.includes('not-dup'));
    });

    test("names differing only by '.' and '_' collide", async () => {
      assert.equal((await createOne(c, 7, { name: 'a.b' })).errorCode, ErrorCode.NONE);
      const clash = await createOne(c, 7, { name: 'a_b' });
      assert.equal(clash.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
      assert.match(clash.errorMessage ?? '', /collides/);
      // Within one request too.
      const res = await createTopics(c, 7, [{ name: 'x_y.z' }, { name: 'x.y_z' }]);
      assert.equal(res.topics[0]!.errorCode, ErrorCode.NONE);
      assert.equal(res.topics[1]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
      const names = await allTopicNames(c);
      assert.ok(!names.includes('a_b') && !names.includes('x.y_z'));
    });

    test('illegal names are INVALID_TOPIC_EXCEPTION; 249 characters is fine', async () => {
      for (const name of ['x'.repeat(250), '..', '.', 'bad/name', 'spa ce', 'ümlaut', '']) {
        const r = await createOne(c, 7, { name });
        assert.equal(r.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION, `name ${JSON.stringify(name.slice(0, 20))}`);
      }
      const longest = 'y'.repeat(249);
      assert.equal((await createOne(c, 7, { name: longest })).errorCode, ErrorCode.NONE);
      assert.ok((await allTopicNames(c)).includes(longest));
    });

    test('bad configs are INVALID_CONFIG and create nothing', async () => {
      const cases: Record<string, string | null>[] = [
        { 'retention.ms': 'abc' },
        { 'no.such.config': '1' },
        { 'message.timestamp.type': 'WallClock' },
        { 'segment.bytes': '1' },
        { 'max.message.bytes': '-5' },
        { 'cleanup.policy': null },
      ];
      for (const [i, configs] of cases.entries()) {
        const r = await createOne(c, 7, { name: `bad-config-${i}`, configs });
        assert.equal(r.errorCode, ErrorCode.INVALID_CONFIG, JSON.stringify(configs));
        assert.ok(r.errorMessage);
      }
      const names = await allTopicNames(c);
      assert.ok(!names.some((n) => n.startsWith('bad-config-')));
    });
  });

  describe('DeleteTopics', () => {
    for (const version of [1, 2, 3, 4, 5, 6]) {
      test(`v${version} deletes by name; an unknown name is UNKNOWN_TOPIC_OR_PARTITION`, async () => {
        const name = `del-v${version}`;
        const created = await createOne(c, 7, { name, numPartitions: 2 });
        assert.equal(await produce(c, name, 1, ['gone soon']), ErrorCode.NONE);
        const res = await deleteByName(c, version, [name, `missing-v${version}`]);
        assert.equal(res.length, 2);
        const ok = res.find((r) => r.name === name)!;
        assert.equal(ok.errorCode, ErrorCode.NONE);
        if (version >= 6) assert.equal(ok.topicId, created.topicId);
        assert.equal(res.find((r) => r.name === `missing-v${version}`)!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        assert.ok(!(await allTopicNames(c)).includes(name));
        assert.equal((await latestOffset(c, name, 1)).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        assert.equal(await produce(c, name, 0, ['x']), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      });
    }

    test('v6 deletes by topic id; an unknown id is UNKNOWN_TOPIC_ID', async () => {
      const created = await createOne(c, 7, { name: 'del-by-id' });
      const res = await deleteById(c, [created.topicId, UNKNOWN_ID]);
      const ok = res.find((r) => r.topicId === created.topicId)!;
      assert.equal(ok.errorCode, ErrorCode.NONE);
      assert.equal(ok.name, 'del-by-id');
      assert.equal(res.find((r) => r.topicId === UNKNOWN_ID)!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
      const md = await metadata(c, 12, [{ topicId: created.topicId }], false);
      assert.equal(md.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
      // Deleting the same id again: it is gone.
      assert.equal((await deleteById(c, [created.topicId]))[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
    });

    test('a deleted topic can be created again: new id, empty log', async () => {
      const first = await createOne(c, 7, { name: 'recreated' });
      assert.equal(await produce(c, 'recreated', 0, ['a', 'b', 'c']), ErrorCode.NONE);
      assert.equal((await latestOffset(c, 'recreated', 0)).offset, 3);
      assert.equal((await deleteByName(c, 6, ['recreated']))[0]!.errorCode, ErrorCode.NONE);
      const second = await createOne(c, 7, { name: 'recreated' });
      assert.equal(second.errorCode, ErrorCode.NONE);
      assert.notEqual(second.topicId, first.topicId);
      assert.equal((await latestOffset(c, 'recreated', 0)).offset, 0, 'the old data is gone');
    });
  });

  describe('Metadata', () => {
    test('v0: an empty list means every topic', async () => {
      await createOne(c, 7, { name: 'md-v0' });
      const md = await metadata(c, 0, []);
      const names = md.topics.map((t) => t.name);
      assert.ok(names.includes('md-v0') && names.includes('a.b'));
      assert.equal(md.brokers.length, 1);
      assert.equal(md.brokers[0]!.port, broker.port);
    });

    test('v1+: null means every topic, an empty list none', async () => {
      for (const version of [1, 4, 9, 12]) {
        const all = await metadata(c, version, null);
        assert.ok(
          all.topics.some((t) => t.name === 'md-v0'),
          `v${version} all`,
        );
        const none = await metadata(c, version, []);
        assert.equal(none.topics.length, 0, `v${version} none`);
      }
    });

    test('v10+ reports topic ids, v12 looks topics up by id', async () => {
      const created = await createOne(c, 7, { name: 'md-ids', numPartitions: 2 });
      for (const version of [10, 11, 12, 13]) {
        const md = await metadata(c, version, [{ name: 'md-ids' }], false);
        assert.equal(md.topics[0]!.topicId, created.topicId, `v${version}`);
      }
      const old = await metadata(c, 9, [{ name: 'md-ids' }], false);
      assert.equal(old.topics[0]!.topicId, ZERO_UUID);
      const byId = await metadata(c, 12, [{ topicId: created.topicId }], false);
      assert.equal(byId.topics[0]!.errorCode, ErrorCode.NONE);
      assert.equal(byId.topics[0]!.name, 'md-ids');
      assert.equal(byId.topics[0]!.partitions.length, 2);
      const unknown = await metadata(c, 12, [{ topicId: UNKNOWN_ID }], false);
      assert.equal(unknown.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
      assert.equal(unknown.topics[0]!.topicId, UNKNOWN_ID);
    });

    test('auto-creation: on for v0-v3, on request for v4+, never for illegal names', async () => {
      const v1 = await metadata(c, 1, [{ name: 'auto-v1' }]);
      assert.equal(v1.topics[0]!.errorCode, ErrorCode.NONE);
      assert.equal(v1.topics[0]!.partitions.length, 3, 'num.partitions');
      const refused = await metadata(c, 4, [{ name: 'auto-v4-no' }], false);
      assert.equal(refused.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const refused12 = await metadata(c, 12, [{ name: 'auto-v12-no' }], false);
      assert.equal(refused12.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const allowed = await metadata(c, 12, [{ name: 'auto-v12-yes' }], true);
      assert.equal(allowed.topics[0]!.errorCode, ErrorCode.NONE);
      assert.notEqual(allowed.topics[0]!.topicId, ZERO_UUID);
      const illegal = await metadata(c, 12, [{ name: 'bad/name' }], true);
      assert.equal(illegal.topics[0]!.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
      const names = await allTopicNames(c);
      assert.ok(names.includes('auto-v1') && names.includes('auto-v12-yes'));
      assert.ok(!names.includes('auto-v4-no') && !names.includes('auto-v12-no') && !names.includes('bad/name'));
    });
  });

  test('auto.create.topics.enable=false: Metadata never creates', async (t) => {
    const b = await withBroker(t, { config: { 'auto.create.topics.enable': false } });
    const bc = await RawClient.connect(b.port);
    try {
      for (const version of [0, 1, 4, 12]) {
        const name = `no-auto-v${version}`;
        const md = await metadata(bc, version, [{ name }], true);
        assert.equal(md.topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `v${version}`);
      }
      assert.deepEqual(await allTopicNames(bc), []);
      // CreateTopics still works.
      assert.equal((await createOne(bc, 7, { name: 'explicit' })).errorCode, ErrorCode.NONE);
      assert.deepEqual(await allTopicNames(bc), ['explicit']);
    } finally {
      bc.close();
    }
  });

  test('topics, ids, partition counts, configs and data survive a restart', async (t) => {
    const b = await withBroker(t);
    let bc = await RawClient.connect(b.port);
    try {
      const kept = await createOne(bc, 7, { name: 'kept', numPartitions: 3, configs: { 'max.message.bytes': '2000' } });
      const other = await createOne(bc, 7, { name: 'kept.too' });
      const dropped = await createOne(bc, 7, { name: 'dropped' });
      assert.equal(await produce(bc, 'kept', 2, ['one', 'two']), ErrorCode.NONE);
      assert.equal((await deleteById(bc, [dropped.topicId]))[0]!.errorCode, ErrorCode.NONE);
      const before = await metadata(bc, 12, null);
      const clusterId = before.clusterId;
      bc.close();
      assert.equal(await b.stop(), 0);

      await b.restart();
      bc = await RawClient.connect(b.port);
      const md = await metadata(bc, 12, null);
      assert.equal(md.clusterId, clusterId, 'same cluster id');
      const summary = (m: MetadataResponse) =>
        m.topics.map((t) => ({ name: t.name, id: t.topicId, partitions: t.partitions.length })).sort((x, y) => x.name!.localeCompare(y.name!));
      assert.deepEqual(summary(md), [
        { name: 'kept', id: kept.topicId, partitions: 3 },
        { name: 'kept.too', id: other.topicId, partitions: 1 },
      ]);
      assert.deepEqual(summary(md), summary(before));
      const byId = await metadata(bc, 12, [{ topicId: kept.topicId }], false);
      assert.equal(byId.topics[0]!.name, 'kept');
      assert.equal((await metadata(bc, 12, [{ topicId: dropped.topicId }], false)).topics[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
      assert.equal((await latestOffset(bc, 'kept', 2)).offset, 2, 'data survived');
      // The topic's own config survived: a 5000-byte batch is too large for max.message.bytes=2000.
      assert.equal(await produce(bc, 'kept', 0, ['z'.repeat(5000)]), ErrorCode.MESSAGE_TOO_LARGE);
      assert.equal((await createOne(bc, 7, { name: 'kept' })).errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
      assert.equal((await createOne(bc, 7, { name: 'kept_too' })).errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION, 'collisions are checked against loaded topics');
      assert.equal((await createOne(bc, 7, { name: 'dropped' })).errorCode, ErrorCode.NONE, 'a deleted name is free');
    } finally {
      bc.close();
    }
  });
});
