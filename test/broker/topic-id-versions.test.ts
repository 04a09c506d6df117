// The Kafka 4.4 versions that name topics by id instead of name (OffsetCommit v10, OffsetFetch
// v10, Produce v13; TxnOffsetCommit v6 is in transactions-protocol.test.ts), ApiVersions v5's
// cluster and node id check (KIP-1242) and Fetch v18, through our own codecs: a known id works as its name did, an id the broker does not know
// (never created, or a deleted topic's even after a topic of the same name came back) answers
// UNKNOWN_TOPIC_ID, and authorization is by the name the id resolves to.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetchRequest } from '../helpers/requests.js';
import {
  ApiKey,
  type ApiVersionsResponse,
  type FetchResponse,
  type ListOffsetsResponse,
  type MetadataResponse,
  type ProduceResponse,
  type OffsetCommitResponse,
  type OffsetFetchResponse,
} from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';

const TOPIC = 2;
const LITERAL = 3;
const ALL = 2;
const DENY = 2;

describe('APIs that name topics by id', () => {
  // An authorizer that allows everything but what an ACL names: 'secret' is denied to the
  // anonymous principal these connections have.
  const broker = suiteBroker({
    config: { 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'allow.everyone.if.no.acl.found': 'true' },
  });
  let client: RawClient;
  const ids: Record<string, string> = {};

  async function deleteTopic(name: string): Promise<void> {
    const r = await client.request(ApiKey.DeleteTopics, 5, { topics: [], topicNames: [name], timeoutMs: 5000 });
    assert.equal(r.body.responses[0].errorCode, ErrorCode.NONE);
  }

  before(async () => {
    client = await RawClient.connect(broker.port);
    for (const [name, partitions] of [
      ['ids-a', 2],
      ['ids-b', 1],
      ['secret', 1],
      ['ids-c', 1],
    ] as const) {
      ids[name] = await createTopic(client, name, partitions);
    }
    const acl = await client.request(ApiKey.CreateAcls, 3, {
      creations: [{ resourceType: TOPIC, resourceName: 'secret', resourcePatternType: LITERAL, principal: 'User:ANONYMOUS', host: '*', operation: ALL, permissionType: DENY }],
    });
    assert.equal(acl.body.results[0].errorCode, ErrorCode.NONE);
  });
  after(() => client?.close());

  const commit = (version: number, groupId: string, topics: { name?: string; topicId?: string; partitions: [number, number][] }[]) =>
    client.request<OffsetCommitResponse>(ApiKey.OffsetCommit, version, {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: topics.map((t) => ({
        name: t.name ?? '',
        topicId: t.topicId ?? '',
        partitions: t.partitions.map(([partitionIndex, committedOffset]) => ({
          partitionIndex,
          committedOffset,
          committedLeaderEpoch: -1,
          committedMetadata: `m${committedOffset}`,
        })),
      })),
    });
  const fetchOffsets = (version: number, groupId: string, topics: { name?: string; topicId?: string; partitionIndexes: number[] }[] | null) =>
    client.request<OffsetFetchResponse>(ApiKey.OffsetFetch, version, {
      groupId: '',
      topics: [],
      requireStable: true,
      groups: [
        {
          groupId,
          memberId: null,
          memberEpoch: -1,
          topics: topics?.map((t) => ({ name: t.name ?? '', topicId: t.topicId ?? '', partitionIndexes: t.partitionIndexes })) ?? null,
        },
      ],
    });
  /** [topicId, [partition, errorCode]...] per response topic. */
  const codes = (topics: { topicId: string; partitions: { partitionIndex: number; errorCode: number }[] }[]) =>
    topics.map((t) => [t.topicId, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]);

  test('OffsetCommit v10 and OffsetFetch v10 name topics by id; offsets are shared with the by-name versions', async () => {
    const unknown = randomUUID();
    const c = await commit(10, 'g-ids', [
      {
        topicId: ids['ids-a'],
        partitions: [
          [0, 41],
          [1, 42],
          [7, 1],
        ],
      },
      { topicId: unknown, partitions: [[0, 5]] },
    ]);
    // As in Kafka, a partition that does not exist is answered first, before the group's.
    assert.deepEqual(codes(c.body.topics), [
      [
        ids['ids-a'],
        [
          [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
          [0, ErrorCode.NONE],
          [1, ErrorCode.NONE],
        ],
      ],
      [unknown, [[0, ErrorCode.UNKNOWN_TOPIC_ID]]],
    ]);
    // Read back by id, and by name at v9: the same offsets.
    const f = await fetchOffsets(10, 'g-ids', [
      { topicId: unknown, partitionIndexes: [0] },
      { topicId: ids['ids-a'], partitionIndexes: [0, 1] },
    ]);
    const g = f.body.groups[0]!;
    assert.equal(g.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      g.topics.map((t) => [t.topicId, t.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.metadata, p.errorCode])]),
      [
        [
          ids['ids-a'],
          [
            [0, 41, 'm41', ErrorCode.NONE],
            [1, 42, 'm42', ErrorCode.NONE],
          ],
        ],
        // An unknown id comes after the others, as in Kafka.
        [unknown, [[0, -1, '', ErrorCode.UNKNOWN_TOPIC_ID]]],
      ],
    );
    const byName = await fetchOffsets(9, 'g-ids', [{ name: 'ids-a', partitionIndexes: [0, 1] }]);
    assert.deepEqual(
      byName.body.groups[0]!.topics[0]!.partitions.map((p) => p.committedOffset),
      [41, 42],
    );
    // All topics: each carries its id.
    const all = await fetchOffsets(10, 'g-ids', null);
    assert.deepEqual(
      all.body.groups[0]!.topics.map((t) => [t.topicId, t.partitions.map((p) => p.committedOffset)]),
      [[ids['ids-a'], [41, 42]]],
    );
    // A v9 commit by name reads back at v10 by id.
    const v9 = await commit(9, 'g-ids', [{ name: 'ids-b', partitions: [[0, 7]] }]);
    assert.deepEqual(
      v9.body.topics.map((t) => [t.name, t.partitions[0]!.errorCode]),
      [['ids-b', ErrorCode.NONE]],
    );
    const b = await fetchOffsets(10, 'g-ids', [{ topicId: ids['ids-b'], partitionIndexes: [0] }]);
    assert.equal(b.body.groups[0]!.topics[0]!.partitions[0]!.committedOffset, 7);
  });

  test('a deleted topic id answers UNKNOWN_TOPIC_ID, also once a topic of the same name exists again', async () => {
    const old = ids['ids-b'];
    await deleteTopic('ids-b');
    ids['ids-b'] = await createTopic(client, 'ids-b', 1);
    assert.notEqual(ids['ids-b'], old);
    const c = await commit(10, 'g-recreated', [
      { topicId: old, partitions: [[0, 3]] },
      { topicId: ids['ids-b'], partitions: [[0, 4]] },
    ]);
    assert.deepEqual(codes(c.body.topics), [
      [old, [[0, ErrorCode.UNKNOWN_TOPIC_ID]]],
      [ids['ids-b'], [[0, ErrorCode.NONE]]],
    ]);
    const f = await fetchOffsets(10, 'g-recreated', [
      { topicId: old, partitionIndexes: [0] },
      { topicId: ids['ids-b'], partitionIndexes: [0] },
    ]);
    assert.deepEqual(
      f.body.groups[0]!.topics.map((t) => [t.topicId, t.partitions[0]!.committedOffset, t.partitions[0]!.errorCode]),
      [
        [ids['ids-b'], 4, ErrorCode.NONE],
        [old, -1, ErrorCode.UNKNOWN_TOPIC_ID],
      ],
    );
    // The zero id is no topic's.
    const zero = await commit(10, 'g-recreated', [{ topicId: '00000000-0000-0000-0000-000000000000', partitions: [[0, 1]] }]);
    assert.deepEqual(codes(zero.body.topics), [['00000000-0000-0000-0000-000000000000', [[0, ErrorCode.UNKNOWN_TOPIC_ID]]]]);
  });

  test('topic ids are authorized by the name they resolve to; failed topics come first, in request order', async () => {
    const unknown = randomUUID();
    const c = await commit(10, 'g-auth', [
      { topicId: ids['ids-c'], partitions: [[0, 3]] },
      { topicId: ids['secret'], partitions: [[0, 1]] },
      { topicId: unknown, partitions: [[0, 1]] },
      {
        topicId: ids['ids-a'],
        partitions: [
          [0, 2],
          [9, 2],
        ],
      },
    ]);
    // As Kafka's response builder orders them: an entry per topic at its first failure (unknown
    // id, no READ, a partition that does not exist), then the group coordinator's answers,
    // appended to their topic's entry or after the others.
    assert.deepEqual(codes(c.body.topics), [
      [ids['secret'], [[0, ErrorCode.TOPIC_AUTHORIZATION_FAILED]]],
      [unknown, [[0, ErrorCode.UNKNOWN_TOPIC_ID]]],
      [
        ids['ids-a'],
        [
          [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
          [0, ErrorCode.NONE],
        ],
      ],
      [ids['ids-c'], [[0, ErrorCode.NONE]]],
    ]);
    const only = await commit(10, 'g-auth', [{ topicId: ids['secret'], partitions: [[0, 1]] }]);
    assert.deepEqual(codes(only.body.topics), [[ids['secret'], [[0, ErrorCode.TOPIC_AUTHORIZATION_FAILED]]]]);
    const f = await fetchOffsets(10, 'g-auth', [
      { topicId: ids['secret'], partitionIndexes: [0] },
      { topicId: ids['ids-a'], partitionIndexes: [0] },
    ]);
    assert.deepEqual(
      f.body.groups[0]!.topics.map((t) => [t.topicId, t.partitions[0]!.committedOffset, t.partitions[0]!.errorCode]),
      [
        [ids['secret'], -1, ErrorCode.TOPIC_AUTHORIZATION_FAILED],
        [ids['ids-a'], 2, ErrorCode.NONE],
      ],
    );
  });

  const produce = (version: number, topics: { name?: string; topicId?: string; partitions: number[] }[]) =>
    client.request<ProduceResponse>(ApiKey.Produce, version, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: topics.map((t) => ({
        name: t.name ?? '',
        topicId: t.topicId ?? '',
        partitionData: t.partitions.map((index) => ({ index, records: buildRecordBatch({ records: [{ value: `v${index}` }] }) })),
      })),
    });
  const endOffset = async (topic: string) => {
    const r = await client.request<ListOffsetsResponse>(ApiKey.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 5000,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
    });
    return Number(r.body.topics[0]!.partitions[0]!.offset);
  };

  test('Produce v13 names topics by id: unknown, deleted and unauthorized ids are refused, nothing is appended', async () => {
    const unknown = randomUUID();
    const r = await produce(13, [
      { topicId: ids['ids-a'], partitions: [0, 9] },
      { topicId: unknown, partitions: [0] },
      { topicId: ids['secret'], partitions: [0] },
    ]);
    assert.deepEqual(
      r.body.responses.map((t) => [t.topicId, t.partitionResponses.map((p) => [p.index, p.errorCode, Number(p.baseOffset)])]),
      [
        [
          ids['ids-a'],
          [
            [0, ErrorCode.NONE, 0],
            [9, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1],
          ],
        ],
        [unknown, [[0, ErrorCode.UNKNOWN_TOPIC_ID, -1]]],
        [ids['secret'], [[0, ErrorCode.TOPIC_AUTHORIZATION_FAILED, -1]]],
      ],
    );
    // v12 by name appends to the same log.
    const byName = await produce(12, [{ name: 'ids-a', partitions: [0] }]);
    assert.deepEqual(
      byName.body.responses.map((t) => [t.name, t.partitionResponses[0]!.errorCode, Number(t.partitionResponses[0]!.baseOffset)]),
      [['ids-a', ErrorCode.NONE, 1]],
    );
    // A producer holding the id of a topic that was deleted and created again does not write to
    // the new topic.
    const old = ids['ids-c']!;
    assert.equal((await produce(13, [{ topicId: old, partitions: [0] }])).body.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    await deleteTopic('ids-c');
    ids['ids-c'] = await createTopic(client, 'ids-c', 1);
    const stale = await produce(13, [{ topicId: old, partitions: [0] }]);
    assert.equal(stale.body.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
    assert.equal(await endOffset('ids-c'), 0, 'nothing appended to the new ids-c');
    const fresh = await produce(13, [{ topicId: ids['ids-c'], partitions: [0] }]);
    assert.equal(fresh.body.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    assert.equal(await endOffset('ids-c'), 1);
    // The zero id is no topic's.
    const zero = await produce(13, [{ topicId: '00000000-0000-0000-0000-000000000000', partitions: [0] }]);
    assert.equal(zero.body.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.UNKNOWN_TOPIC_ID);
  });

  test('Fetch v18 takes the follower high watermark (KIP-1166) and answers as v17', async () => {
    assert.equal((await produce(13, [{ topicId: ids['ids-a'], partitions: [1, 1] }])).body.responses[0]!.partitionResponses[1]!.errorCode, ErrorCode.NONE);
    const fetch = async (version: number, highWatermark: number, session = { sessionId: 0, sessionEpoch: -1 }, fetchOffset = 0) => {
      const req = fetchRequest({ topics: [{ topicId: ids['ids-a'], partitions: [{ partition: 1, fetchOffset }] }], ...session });
      for (const t of req.topics) for (const p of t.partitions) p.highWatermark = highWatermark;
      const r = await client.request<FetchResponse>(ApiKey.Fetch, version, req);
      assert.equal(r.body.errorCode, ErrorCode.NONE);
      const parts = r.body.responses.flatMap((t) => t.partitions.map((p) => [t.topicId, p.partitionIndex, p.errorCode, Number(p.highWatermark), p.records?.length ?? 0]));
      return { sessionId: r.body.sessionId, parts };
    };
    const v17 = await fetch(17, 2 ** 63);
    assert.deepEqual(v17.parts, [[ids['ids-a'], 1, ErrorCode.NONE, 2, v17.parts[0]![4]]]);
    assert.ok((v17.parts[0]![4] as number) > 0, 'records');
    // Unknown (-1), behind the leader (0), and "not supported" (INT64_MAX): the same answer.
    for (const hw of [-1, 0, 2 ** 63]) assert.deepEqual((await fetch(18, hw)).parts, v17.parts, `high watermark ${hw}`);
    // In a fetch session too.
    const opened = await fetch(18, 0, { sessionId: 0, sessionEpoch: 0 });
    assert.ok(opened.sessionId > 0);
    assert.deepEqual(opened.parts, v17.parts);
    // At the end of the log, knowing the leader's high watermark: nothing changed, so the
    // incremental answer leaves the partition out.
    const end = await fetch(18, 2, { sessionId: opened.sessionId, sessionEpoch: 1 }, 2);
    assert.deepEqual(end.parts, []);
  });

  test('ApiVersions advertises the topic-id versions', async () => {
    const r = await client.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    const max = new Map(r.body.apiKeys.map((k) => [k.apiKey, k.maxVersion]));
    assert.equal(max.get(ApiKey.OffsetCommit), 10);
    assert.equal(max.get(ApiKey.OffsetFetch), 10);
    assert.equal(max.get(ApiKey.Produce), 13);
    assert.equal(max.get(ApiKey.TxnOffsetCommit), 6);
    assert.equal(max.get(ApiKey.ApiVersions), 5);
    assert.equal(max.get(ApiKey.Fetch), 18);
  });

  test('ApiVersions v5 checks the cluster and node the client means to reach (KIP-1242)', async () => {
    const md = await client.request<MetadataResponse>(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const clusterId = md.body.clusterId!;
    const nodeId = md.body.brokers[0]!.nodeId;
    const ask = (id: string | null, node: number) =>
      client.request<ApiVersionsResponse>(ApiKey.ApiVersions, 5, { clientSoftwareName: 't', clientSoftwareVersion: '1', clusterId: id, nodeId: node });
    // Neither (a bootstrap connection), or both matching: the full answer.
    for (const [id, node] of [
      [null, -1],
      [clusterId, nodeId],
    ] as const) {
      const ok = await ask(id, node);
      assert.equal(ok.body.errorCode, ErrorCode.NONE);
      assert.equal(new Map(ok.body.apiKeys.map((k) => [k.apiKey, k.maxVersion])).get(ApiKey.Produce), 13);
    }
    // Another cluster, or another node of this one: bootstrap again.
    for (const [id, node] of [
      ['another-cluster-id', nodeId],
      [clusterId, nodeId + 1],
    ] as const) {
      const r = await ask(id, node);
      assert.equal(r.body.errorCode, ErrorCode.REBOOTSTRAP_REQUIRED, `${id} ${node}`);
      assert.deepEqual(r.body.apiKeys, []);
    }
    // One without the other is malformed.
    assert.equal((await ask(clusterId, -1)).body.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await ask(null, nodeId)).body.errorCode, ErrorCode.INVALID_REQUEST);
    // The connection still works.
    assert.equal((await ask(null, -1)).body.errorCode, ErrorCode.NONE);
  });
});
