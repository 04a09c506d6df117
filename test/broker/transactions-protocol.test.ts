// The transactional APIs frame by frame: KIP-890 produce verification, the broker-side batched
// AddPartitionsToTxn, transactional offset commits with require_stable, WriteTxnMarkers.
import { after, before, describe, test } from 'node:test';
import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { consumerJoinHeartbeat, createTopic, fetchOne, produceRequest } from '../helpers/requests.js';
import { ApiKey, type FetchResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { isControl, readBatchHeader, splitBatches } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';

describe('transactional APIs on the wire', () => {
  let broker: RunningBroker;
  let c: RawClient;
  let wireId: string;
  before(async () => {
    broker = await startBroker({ dataDir: ':memory:', config: { 'offsets.topic.num.partitions': 3, 'transaction.state.log.num.partitions': 3 } });
    c = await RawClient.connect(broker.port);
    wireId = await createTopic(c, 'wire', 2);
  });
  after(async () => {
    c.close();
    await broker.stop();
  });

  async function init(transactionalId: string): Promise<{ producerId: number; producerEpoch: number }> {
    const r = await c.request(ApiKey.InitProducerId, 4, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    assert.equal(r.body.errorCode, ErrorCode.NONE);
    return r.body;
  }

  async function addPartitions(transactionalId: string, p: { producerId: number; producerEpoch: number }, partitions: number[], version = 3): Promise<number[]> {
    const r = await c.request(ApiKey.AddPartitionsToTxn, version, {
      transactions: [],
      v3AndBelowTransactionalId: transactionalId,
      v3AndBelowProducerId: p.producerId,
      v3AndBelowProducerEpoch: p.producerEpoch,
      v3AndBelowTopics: [{ name: 'wire', partitions }],
    });
    return r.body.resultsByTopicV3AndBelow[0].resultsByPartition.map((x: { partitionErrorCode: number }) => x.partitionErrorCode);
  }

  async function produceTxn(
    transactionalId: string | null,
    p: { producerId: number; producerEpoch: number },
    partition: number,
    sequence: number,
    value: string,
  ): Promise<number> {
    const records = buildRecordBatch([{ value }], { transactional: true, producerId: p.producerId, producerEpoch: p.producerEpoch, baseSequence: sequence });
    const r = await c.request(ApiKey.Produce, 9, { ...produceRequest('wire', partition, records), transactionalId });
    return r.body.responses[0].partitionResponses[0].errorCode;
  }

  async function endTxn(transactionalId: string, p: { producerId: number; producerEpoch: number }, committed: boolean): Promise<number> {
    const r = await c.request(ApiKey.EndTxn, 3, { transactionalId, producerId: p.producerId, producerEpoch: p.producerEpoch, committed });
    return r.body.errorCode;
  }

  test('a transactional write is accepted only for partitions added to the ongoing transaction (KIP-890)', async () => {
    const p = await init('wire-1');
    assert.equal(await produceTxn('wire-1', p, 0, 0, 'early'), ErrorCode.INVALID_TXN_STATE, 'not added yet');
    assert.equal(await produceTxn(null, p, 0, 0, 'anonymous'), ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'no transactional id');
    assert.deepEqual(await addPartitions('wire-1', p, [0]), [ErrorCode.NONE]);
    assert.equal(await produceTxn('wire-1', p, 0, 0, 'in-txn'), ErrorCode.NONE);
    assert.equal(await produceTxn('wire-1', p, 1, 0, 'other-partition'), ErrorCode.INVALID_TXN_STATE);
    // The coordinator says PRODUCER_FENCED for any other epoch; the leader answers the producer
    // INVALID_PRODUCER_EPOCH, as Kafka's does.
    assert.equal(await produceTxn('wire-1', { ...p, producerEpoch: p.producerEpoch + 1 }, 0, 1, 'future-epoch'), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(await endTxn('wire-1', p, true), ErrorCode.NONE);
    assert.equal(await produceTxn('wire-1', p, 0, 1, 'after-commit'), ErrorCode.INVALID_TXN_STATE, 'the transaction is over');

    const f = await c.request<FetchResponse>(ApiKey.Fetch, 12, fetchOne('wire', 0, 0));
    const batches = [...splitBatches(f.body.responses[0]!.partitions[0]!.records!)];
    assert.equal(batches.length, 2, 'the data batch and the COMMIT marker');
    const marker = batches[1]!;
    const header = readBatchHeader(marker);
    assert.ok(isControl(header.attributes));
    assert.equal(header.producerId, p.producerId);
    assert.equal(decodeBatchRecords(marker)[0]!.key!.readInt16BE(2), 1, 'control type COMMIT');

    // A fenced producer is told so on every path.
    const next = await init('wire-1');
    assert.equal(next.producerEpoch, p.producerEpoch + 1);
    assert.deepEqual(await addPartitions('wire-1', p, [1], 3), [ErrorCode.PRODUCER_FENCED]);
    assert.deepEqual(await addPartitions('wire-1', p, [1], 1), [ErrorCode.INVALID_PRODUCER_EPOCH], 'v1 predates PRODUCER_FENCED');
    assert.equal(await produceTxn('wire-1', p, 0, 2, 'zombie'), ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(await endTxn('wire-1', p, true), ErrorCode.PRODUCER_FENCED);
  });

  test('AddPartitionsToTxn v4+: several transactions per request, verify-only', async () => {
    const a = await init('batch-a');
    await addPartitions('batch-a', a, [1]);
    const r = await c.request(ApiKey.AddPartitionsToTxn, 5, {
      transactions: [
        { transactionalId: 'batch-a', producerId: a.producerId, producerEpoch: a.producerEpoch, verifyOnly: true, topics: [{ name: 'wire', partitions: [0, 1] }] },
        { transactionalId: 'batch-unknown', producerId: 999, producerEpoch: 0, verifyOnly: true, topics: [{ name: 'wire', partitions: [0] }] },
      ],
      v3AndBelowTransactionalId: '',
      v3AndBelowProducerId: 0,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [],
    });
    assert.equal(r.body.errorCode, ErrorCode.NONE);
    const codes = r.body.resultsByTransaction.map((t: any) => [t.transactionalId, t.topicResults[0].resultsByPartition.map((x: any) => x.partitionErrorCode)]);
    assert.deepEqual(codes, [
      // Kafka's coordinator: TRANSACTION_ABORTABLE for a partition not in the transaction.
      ['batch-a', [ErrorCode.TRANSACTION_ABORTABLE, ErrorCode.NONE]],
      ['batch-unknown', [ErrorCode.INVALID_PRODUCER_ID_MAPPING]],
    ]);
    assert.equal(await endTxn('batch-a', a, false), ErrorCode.NONE);
  });

  test('TxnOffsetCommit needs AddOffsetsToTxn; its offsets are unstable until the commit', async () => {
    const p = await init('offsets-tx');
    const commit = (version: number) =>
      c.request(ApiKey.TxnOffsetCommit, version, {
        transactionalId: 'offsets-tx',
        groupId: 'txn-group',
        producerId: p.producerId,
        producerEpoch: p.producerEpoch,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [{ name: 'wire', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: 'm' }] }],
      });
    assert.equal((await commit(3)).body.topics[0].partitions[0].errorCode, ErrorCode.INVALID_TXN_STATE, 'AddOffsetsToTxn first');
    const added = await c.request(ApiKey.AddOffsetsToTxn, 3, {
      transactionalId: 'offsets-tx',
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      groupId: 'txn-group',
    });
    assert.equal(added.body.errorCode, ErrorCode.NONE);
    assert.equal((await commit(3)).body.topics[0].partitions[0].errorCode, ErrorCode.NONE);

    const fetchOffset = async (requireStable: boolean) => {
      const r = await c.request(ApiKey.OffsetFetch, 8, {
        groupId: '',
        topics: [],
        groups: [{ groupId: 'txn-group', memberId: null, memberEpoch: -1, topics: [{ name: 'wire', partitionIndexes: [0] }] }],
        requireStable,
      });
      return r.body.groups[0].topics[0].partitions[0] as { committedOffset: number; errorCode: number };
    };
    assert.equal((await fetchOffset(true)).errorCode, ErrorCode.UNSTABLE_OFFSET_COMMIT);
    assert.equal((await fetchOffset(false)).committedOffset, -1);
    assert.equal(await endTxn('offsets-tx', p, true), ErrorCode.NONE);
    assert.deepEqual(await fetchOffset(true), { ...(await fetchOffset(true)), errorCode: ErrorCode.NONE, committedOffset: 5 });
  });

  test('TxnOffsetCommit v6 names topics by id, and tells members GROUP_ID_NOT_FOUND and STALE_MEMBER_EPOCH', async () => {
    const p = await init('offsets-v6');
    const commit = (version: number, groupId: string, topics: { name?: string; topicId?: string }[], generationIdOrMemberEpoch = -1, memberId = '') =>
      c.request(ApiKey.TxnOffsetCommit, version, {
        transactionalId: 'offsets-v6',
        groupId,
        producerId: p.producerId,
        producerEpoch: p.producerEpoch,
        generationIdOrMemberEpoch,
        memberId,
        groupInstanceId: null,
        topics: topics.map((t) => ({
          name: t.name ?? '',
          topicId: t.topicId ?? '',
          partitions: [{ partitionIndex: 1, committedOffset: 9, committedLeaderEpoch: -1, committedMetadata: null }],
        })),
      });
    const codes = (r: { body: { topics: { topicId: string; partitions: { errorCode: number }[] }[] } }) => r.body.topics.map((t) => [t.topicId, t.partitions[0]!.errorCode]);
    const unknown = randomUUID();
    // v5+ adds the group's partition to the transaction itself (transactions V2).
    const r = await commit(6, 'txn-group-v6', [{ topicId: unknown }, { topicId: wireId }]);
    // As in Kafka, the topics that fail before the group coordinator come first.
    assert.deepEqual(codes(r), [
      [unknown, ErrorCode.UNKNOWN_TOPIC_ID],
      [wireId, ErrorCode.NONE],
    ]);
    // A member of a group that does not exist.
    assert.deepEqual(codes(await commit(6, 'no-such-group', [{ topicId: wireId }], 3, 'm')), [[wireId, ErrorCode.GROUP_ID_NOT_FOUND]]);
    // A consumer group member committing at an epoch newer than its own.
    const hb = await c.request(ApiKey.ConsumerGroupHeartbeat, 0, consumerJoinHeartbeat('cg-v6', 'member-v6', ['wire']));
    assert.equal(hb.body.errorCode, ErrorCode.NONE);
    const epoch = hb.body.memberEpoch as number;
    assert.deepEqual(codes(await commit(6, 'cg-v6', [{ topicId: wireId }], epoch + 5, hb.body.memberId)), [[wireId, ErrorCode.STALE_MEMBER_EPOCH]]);
    const v5 = await commit(5, 'cg-v6', [{ name: 'wire' }], epoch + 5, hb.body.memberId);
    assert.equal(v5.body.topics[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION, 'v5: ILLEGAL_GENERATION');
    const end = await c.request(ApiKey.EndTxn, 5, { transactionalId: 'offsets-v6', producerId: p.producerId, producerEpoch: p.producerEpoch, committed: true });
    assert.equal(end.body.errorCode, ErrorCode.NONE);
    const f = await c.request(ApiKey.OffsetFetch, 10, {
      groupId: '',
      topics: [],
      groups: [{ groupId: 'txn-group-v6', memberId: null, memberEpoch: -1, topics: [{ topicId: wireId, partitionIndexes: [1] }] }],
      requireStable: true,
    });
    assert.equal(f.body.groups[0].topics[0].partitions[0].committedOffset, 9);
  });

  test('TxnOffsetCommit v3-v5 from a member of a group that does not exist is ILLEGAL_GENERATION and creates nothing', async () => {
    const p = await init('ghost-member');
    const commit = (version: number, groupId: string) =>
      c.request(ApiKey.TxnOffsetCommit, version, {
        transactionalId: 'ghost-member',
        groupId,
        producerId: p.producerId,
        producerEpoch: p.producerEpoch,
        generationIdOrMemberEpoch: 2,
        memberId: 'member-1',
        groupInstanceId: null,
        topics: [{ name: 'wire', partitions: [{ partitionIndex: 0, committedOffset: 3, committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
    // v3 and v4 need AddOffsetsToTxn first; v5 adds the group's partition itself.
    for (const version of [3, 4, 5]) {
      const groupId = `ghost-group-v${version}`;
      if (version < 5) {
        const added = await c.request(ApiKey.AddOffsetsToTxn, 3, { transactionalId: 'ghost-member', producerId: p.producerId, producerEpoch: p.producerEpoch, groupId });
        assert.equal(added.body.errorCode, ErrorCode.NONE);
      }
      assert.equal((await commit(version, groupId)).body.topics[0].partitions[0].errorCode, ErrorCode.ILLEGAL_GENERATION, `v${version}`);
    }
    assert.equal(await endTxn('ghost-member', p, true), ErrorCode.NONE);
    const listed = await c.request(ApiKey.ListGroups, 4, { statesFilter: [] });
    assert.deepEqual(
      listed.body.groups.map((g: { groupId: string }) => g.groupId).filter((id: string) => id.startsWith('ghost-group')),
      [],
    );
  });

  test('OffsetFetch v9 of a consumer group checks the member as Kafka does: a null member id reads, an empty one is unknown', async () => {
    const hb = await c.request(ApiKey.ConsumerGroupHeartbeat, 0, consumerJoinHeartbeat('cg-fetch', 'member-fetch', ['wire']));
    assert.equal(hb.body.errorCode, ErrorCode.NONE);
    const epoch = hb.body.memberEpoch as number;
    const fetchAs = async (memberId: string | null, memberEpoch: number) => {
      const r = await c.request(ApiKey.OffsetFetch, 9, {
        groupId: '',
        topics: [],
        groups: [{ groupId: 'cg-fetch', memberId, memberEpoch, topics: [{ name: 'wire', partitionIndexes: [0] }] }],
        requireStable: false,
      });
      return r.body.groups[0].errorCode as number;
    };
    assert.equal(await fetchAs(null, -1), ErrorCode.NONE, 'an admin');
    assert.equal(await fetchAs('member-fetch', epoch), ErrorCode.NONE, 'the member');
    assert.equal(await fetchAs('member-fetch', epoch + 1), ErrorCode.STALE_MEMBER_EPOCH, 'the member at another epoch');
    assert.equal(await fetchAs('', -1), ErrorCode.UNKNOWN_MEMBER_ID, 'an empty member id');
    assert.equal(await fetchAs(null, epoch), ErrorCode.UNKNOWN_MEMBER_ID, 'an epoch without a member id');
  });

  test('a partition that does not exist answers UNKNOWN_TOPIC_OR_PARTITION by itself, before any group or transaction check', async () => {
    type Answer = { body: { topics: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[] } };
    const answers = (r: Answer) => r.body.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]);
    const partitions = (indexes: number[]) =>
      indexes.map((partitionIndex) => ({ partitionIndex, committedOffset: 1, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }));
    const topics = [
      { name: 'wire', topicId: '', partitions: partitions([0, 99]) },
      { name: 'nope', topicId: '', partitions: partitions([0]) },
    ];
    // A member of a group that does not exist: only the partitions that exist get the group's error.
    const commit = await c.request(ApiKey.OffsetCommit, 8, {
      groupId: 'unknown-parts',
      generationIdOrMemberEpoch: 3,
      memberId: 'm',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics,
    });
    assert.deepEqual(answers(commit), [
      [
        'wire',
        [
          [99, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
          [0, ErrorCode.ILLEGAL_GENERATION],
        ],
      ],
      ['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
    // Nothing that exists: no group check at all.
    const none = await c.request(ApiKey.OffsetCommit, 8, {
      groupId: 'unknown-parts',
      generationIdOrMemberEpoch: 3,
      memberId: 'm',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: topics.slice(1),
    });
    assert.deepEqual(answers(none), [['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]]]);
    // A transactional commit of nothing that exists does not check the transaction (no AddOffsetsToTxn here).
    const p = await init('unknown-parts');
    const txn = (groupId: string, t: typeof topics) =>
      c.request(ApiKey.TxnOffsetCommit, 3, {
        transactionalId: 'unknown-parts',
        groupId,
        producerId: p.producerId,
        producerEpoch: p.producerEpoch,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        topics: t,
      });
    assert.deepEqual(answers(await txn('unknown-parts', topics.slice(1))), [['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]]]);
    assert.deepEqual(answers(await txn('unknown-parts', topics)), [
      [
        'wire',
        [
          [99, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
          [0, ErrorCode.INVALID_TXN_STATE],
        ],
      ],
      ['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
    // An empty group id is refused for the partitions that exist only.
    assert.deepEqual(answers(await txn('', topics)), [
      [
        'wire',
        [
          [99, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
          [0, ErrorCode.INVALID_GROUP_ID],
        ],
      ],
      ['nope', [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
  });

  test('WriteTxnMarkers ends a transaction by hand and reports unknown partitions', async () => {
    const p = await init('by-hand');
    await addPartitions('by-hand', p, [1]);
    assert.equal(await produceTxn('by-hand', p, 1, 0, 'hanging'), ErrorCode.NONE);
    const r = await c.request(ApiKey.WriteTxnMarkers, 1, {
      markers: [
        {
          producerId: p.producerId,
          producerEpoch: p.producerEpoch,
          transactionResult: false,
          coordinatorEpoch: 0,
          topics: [
            { name: 'wire', partitionIndexes: [1] },
            { name: 'nope', partitionIndexes: [0] },
          ],
        },
      ],
    });
    const codes = r.body.markers[0].topics.map((t: any) => [t.name, t.partitions[0].errorCode]);
    assert.deepEqual(codes, [
      ['wire', ErrorCode.NONE],
      ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const f = await c.request<FetchResponse>(ApiKey.Fetch, 12, fetchOne('wire', 1, 0));
    const last = [...splitBatches(f.body.responses[0]!.partitions[0]!.records!)].at(-1)!;
    assert.ok(isControl(readBatchHeader(last).attributes));
    assert.equal(decodeBatchRecords(last)[0]!.key!.readInt16BE(2), 0, 'control type ABORT');
  });

  test('ListTransactions v2 filters by a transactional id pattern matching the whole id', async () => {
    await init('pattern-a1');
    await init('pattern-b1');
    await init('xpattern-a2');
    const list = async (transactionalIdPattern: string | null) => {
      const r = await c.request(ApiKey.ListTransactions, 2, { stateFilters: [], producerIdFilters: [], durationFilter: -1, transactionalIdPattern });
      return { errorCode: r.body.errorCode as number, ids: (r.body.transactionStates as { transactionalId: string }[]).map((t) => t.transactionalId).sort() };
    };
    assert.deepStrictEqual(await list('pattern-a.*'), { errorCode: ErrorCode.NONE, ids: ['pattern-a1'] });
    assert.deepStrictEqual(
      (await list('')).ids.filter((id) => id.includes('pattern')),
      ['pattern-a1', 'pattern-b1', 'xpattern-a2'],
    );
    assert.deepStrictEqual(
      (await list(null)).ids.filter((id) => id.includes('pattern')),
      ['pattern-a1', 'pattern-b1', 'xpattern-a2'],
    );
    assert.deepStrictEqual(await list('pattern-[a'), { errorCode: ErrorCode.INVALID_REGULAR_EXPRESSION, ids: [] });
  });

  test('ApiVersions advertises the transactional APIs, EndTxn up to v5 (transactions V2), TxnOffsetCommit up to v6', async () => {
    const r = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    const byKey = new Map<number, { minVersion: number; maxVersion: number }>(r.body.apiKeys.map((k: any) => [k.apiKey, k]));
    for (const key of [ApiKey.AddPartitionsToTxn, ApiKey.AddOffsetsToTxn, ApiKey.WriteTxnMarkers, ApiKey.DescribeTransactions, ApiKey.ListTransactions]) {
      assert.ok(byKey.has(key), `api ${key}`);
    }
    assert.equal(byKey.get(ApiKey.EndTxn)!.maxVersion, 5);
    assert.equal(byKey.get(ApiKey.TxnOffsetCommit)!.maxVersion, 6);
    assert.equal(byKey.get(ApiKey.AddPartitionsToTxn)!.maxVersion, 5);
  });
});
