// The edge cases of OffsetCommit, TxnOffsetCommit and OffsetDelete against each kind of group, as
// Kafka 4.4's group coordinator answers them: a group that does not exist, a classic group's
// members (static ones too), a share group, and consumer and streams groups.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import type { CommitRequest, GroupCoordinator } from '../../src/coordinator/group-coordinator.js';
import { classicJoinRequest, consumerHeartbeat, oneSourceTopology, streamsJoinHeartbeat } from '../helpers/requests.js';
import { coordinatorFixture, countedMemberIds, joinClassic, type HeldAppend, type MemoryStore } from '../helpers/coordinator.js';
import { ManualClock, systemClock } from '../../src/common/clock.js';
import { ALL_OWNED, CoordinatorPartitions, type PartitionOwnership } from '../../src/coordinator/coordinator-partitions.js';
import { txnOffsetCommitHandler } from '../../src/broker/handlers/txn-offset-commit.js';
import { offsetCommitHandler } from '../../src/broker/handlers/offset-commit.js';
import { leaveGroupHandler } from '../../src/broker/handlers/leave-group.js';
import { syncGroupHandler } from '../../src/broker/handlers/sync-group.js';
import { listGroupsHandler } from '../../src/broker/handlers/list-groups.js';
import { describeGroupsHandler } from '../../src/broker/handlers/describe-groups.js';
import { deleteGroupsHandler } from '../../src/broker/handlers/delete-groups.js';
import { consumerGroupDescribeHandler } from '../../src/broker/handlers/consumer-group-heartbeat.js';
import { streamsGroupDescribeHandler } from '../../src/broker/handlers/streams-group-heartbeat.js';
import { shareGroupDescribeHandler } from '../../src/broker/handlers/share.js';
import type { RequestContext } from '../../src/broker/api.js';
import type { OffsetCommitRequest, OffsetCommitResponse, TxnOffsetCommitRequest, TxnOffsetCommitResponse } from '../../src/protocol/generated/index.js';
import type { TxnPartitionCheck } from '../../src/broker/txn-verifier.js';
import { decodeKey, encodeOffsetKey, encodeOffsetValue } from '../../src/coordinator/records.js';
import { newRequestTimes } from '../../src/network/request-times.js';

const TOPICS = [
  { id: '00000000-0000-0000-0000-000000000001', name: 't', numPartitions: 4 },
  { id: '00000000-0000-0000-0000-000000000002', name: 'other', numPartitions: 2 },
];

function setup(ownership: PartitionOwnership = ALL_OWNED) {
  return coordinatorFixture({
    ownership,
    topics: TOPICS,
    offsetMetadataMaxBytes: 10,
    newMemberId: countedMemberIds(),
    consumer: {},
    streams: {
      topics: {
        get: (name) => {
          const t = TOPICS.find((x) => x.name === name);
          return t ? { id: t.id, numPartitions: t.numPartitions } : undefined;
        },
        names: () => TOPICS.map((t) => t.name),
      },
      heartbeatIntervalMs: 1000,
      sessionTimeoutMs: 10_000,
      numStandbyReplicas: 0,
      maxSize: 10,
    },
  });
}

const offsets = (topic = 't', partition = 0, metadata = '') => [
  { name: topic, partitions: [{ partitionIndex: partition, committedOffset: 42, committedLeaderEpoch: -1, committedMetadata: metadata }] },
];

/** Every partition's code of a commit's answer. */
const codes = (r: { partitions: { errorCode: number }[] }[]) => [...new Set(r.flatMap((t) => t.partitions.map((p) => p.errorCode)))];

function commit(c: GroupCoordinator, over: Partial<CommitRequest> & { groupId: string }) {
  const apiVersion = over.apiVersion ?? 8;
  return c.commitOffsets({
    memberId: '',
    generationId: -1,
    groupInstanceId: null,
    unknownGroupError: apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION,
    apiVersion,
    topics: offsets(),
    ...over,
  });
}

function txnCommit(c: GroupCoordinator, over: Partial<CommitRequest> & { groupId: string }) {
  return c.commitTxnOffsets({ memberId: '', generationId: -1, groupInstanceId: null, producerId: 7, producerEpoch: 0, apiVersion: 5, topics: offsets(), ...over });
}

/** A KIP-848 heartbeat of `memberId` to consumer group `groupId` (a join subscribes to 't'). */
function consumerBeat(c: GroupCoordinator, groupId: string, memberId: string, memberEpoch = 0, over: Parameters<typeof consumerHeartbeat>[4] = {}) {
  return c.consumerGroupHeartbeat(consumerHeartbeat(groupId, memberId, memberEpoch, ['t'], over), 1, 'c', '/127.0.0.1');
}

/** Member 'm' joins consumer group `groupId` (KIP-848), subscribed to 't'. */
const joinConsumerGroup = (c: GroupCoordinator, groupId: string) => consumerBeat(c, groupId, 'm');

/** TxnOffsetCommit's wire request: producer 7 (epoch 0) of transaction 'tx' commits to group 'g', as no member. */
function txnOffsetCommitRequest(topics: TxnOffsetCommitRequest['topics'], over: Partial<TxnOffsetCommitRequest> = {}): TxnOffsetCommitRequest {
  return { transactionalId: 'tx', groupId: 'g', producerId: 7, producerEpoch: 0, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics, ...over };
}

const groupIds = (c: GroupCoordinator) => c.listGroups().map((g) => `${g.groupId}:${g.type}`);

/** A classic group 'g' with one Stable member (static when instanceId is given): its id and generation. */
async function stableClassic(c: GroupCoordinator, instanceId: string | null = null): Promise<{ memberId: string; generation: number }> {
  const joined = await joinClassic(c, instanceId);
  const synced = await c.sync('g', {
    memberId: joined.memberId,
    groupInstanceId: instanceId,
    generationId: joined.generationId,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [{ memberId: joined.memberId, assignment: Buffer.from('a') }],
  });
  assert.equal(synced.errorCode, ErrorCode.NONE);
  return { memberId: joined.memberId, generation: joined.generationId };
}

describe('TxnOffsetCommit to a group that does not exist', () => {
  test('a member (generation >= 0) is told ILLEGAL_GENERATION up to v5, GROUP_ID_NOT_FOUND from v6, and no group appears', async () => {
    const { coordinator: c } = setup();
    for (let v = 0; v <= 6; v++) {
      const r = await txnCommit(c, { groupId: 'ghost', memberId: 'm-1', generationId: 3, apiVersion: v });
      assert.deepEqual(codes(r), [v >= 6 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION], `v${v}`);
      // Generation 0 is a member's too.
      const zero = await txnCommit(c, { groupId: 'ghost', memberId: '', generationId: 0, apiVersion: v });
      assert.deepEqual(codes(zero), [v >= 6 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION], `v${v} generation 0`);
    }
    assert.deepEqual(groupIds(c), []);
    assert.equal(c.hasPendingTxnOffset('ghost', 't', 0), false);
    c.completeTransaction(7, true, c.partitionFor('ghost'));
    assert.deepEqual(groupIds(c), []);
    assert.equal(c.fetchOffsets('ghost', [{ name: 't', partitionIndexes: [0] }])[0]!.partitions[0]!.committedOffset, -1);
  });

  test('a commit without group management (generation -1) creates a simple classic group, at every version', async () => {
    const { coordinator: c } = setup();
    for (let v = 0; v <= 6; v++) {
      const r = await txnCommit(c, { groupId: `simple-${v}`, apiVersion: v });
      assert.deepEqual(codes(r), [ErrorCode.NONE], `v${v}`);
      assert.ok(c.hasPendingTxnOffset(`simple-${v}`, 't', 0));
      assert.ok(groupIds(c).includes(`simple-${v}:classic`), `v${v}`);
    }
  });
});

describe('TxnOffsetCommit to a classic group with members', () => {
  test('a member is checked as Kafka does: member id, then generation, with or without a rebalance', async () => {
    const { coordinator: c } = setup();
    const { memberId, generation } = await stableClassic(c);
    const cases: [string, Partial<CommitRequest>, number][] = [
      ['the member at its generation', { memberId, generationId: generation }, ErrorCode.NONE],
      ['no group management (pre-v3 producers)', { memberId: '', generationId: -1 }, ErrorCode.NONE],
      ['the member at an old generation', { memberId, generationId: generation - 1 }, ErrorCode.ILLEGAL_GENERATION],
      ['the member with generation -1', { memberId, generationId: -1 }, ErrorCode.ILLEGAL_GENERATION],
      ['no member id at a generation', { memberId: '', generationId: generation }, ErrorCode.UNKNOWN_MEMBER_ID],
      ['an unknown member id', { memberId: 'nobody', generationId: generation }, ErrorCode.UNKNOWN_MEMBER_ID],
      ['an instance id that is no static member', { memberId, generationId: generation, groupInstanceId: 'i-1' }, ErrorCode.UNKNOWN_MEMBER_ID],
    ];
    for (const [what, over, code] of cases) {
      assert.deepEqual(codes(await txnCommit(c, { groupId: 'g', ...over })), [code], what);
    }
    // A rebalance does not hold a transactional commit back (a plain one gets REBALANCE_IN_PROGRESS).
    const second = await c.join('g', classicJoinRequest(''));
    const rejoin = c.join('g', classicJoinRequest(second.memberId));
    assert.deepEqual(codes(await txnCommit(c, { groupId: 'g', memberId, generationId: generation })), [ErrorCode.NONE]);
    // While the group prepares the rebalance, a plain commit at the current generation goes through too.
    assert.deepEqual(codes(await commit(c, { groupId: 'g', memberId, generationId: generation })), [ErrorCode.NONE]);
    const again = c.join('g', classicJoinRequest(memberId));
    const [a, b] = await Promise.all([again, rejoin]);
    assert.equal(a.generationId, generation + 1);
    assert.equal(b.generationId, generation + 1);
    assert.deepEqual(codes(await txnCommit(c, { groupId: 'g', memberId, generationId: generation + 1 })), [ErrorCode.NONE]);
    assert.deepEqual(codes(await commit(c, { groupId: 'g', memberId, generationId: generation + 1 })), [ErrorCode.REBALANCE_IN_PROGRESS]);
  });

  test('a static member: its instance id with another member id is fenced, an unknown instance id is unknown', async () => {
    const { coordinator: c } = setup();
    const { memberId, generation } = await stableClassic(c, 'static-1');
    const txn = (over: Partial<CommitRequest>) => txnCommit(c, { groupId: 'g', generationId: generation, ...over }).then(codes);
    const plain = (over: Partial<CommitRequest>) => commit(c, { groupId: 'g', generationId: generation, ...over }).then(codes);
    for (const send of [txn, plain]) {
      assert.deepEqual(await send({ memberId, groupInstanceId: 'static-1' }), [ErrorCode.NONE]);
      assert.deepEqual(await send({ memberId: 'old-incarnation', groupInstanceId: 'static-1' }), [ErrorCode.FENCED_INSTANCE_ID]);
      assert.deepEqual(await send({ memberId, groupInstanceId: 'static-2' }), [ErrorCode.UNKNOWN_MEMBER_ID]);
      // The instance id is checked before the generation.
      assert.deepEqual(await send({ memberId: 'old-incarnation', groupInstanceId: 'static-1', generationId: generation + 5 }), [ErrorCode.FENCED_INSTANCE_ID]);
    }
  });
});

describe('OffsetCommit to a classic group with members', () => {
  test('a dynamic member naming an instance id that is no static member is UNKNOWN_MEMBER_ID', async () => {
    const { coordinator: c } = setup();
    const { memberId, generation } = await stableClassic(c);
    assert.deepEqual(codes(await commit(c, { groupId: 'g', memberId, generationId: generation })), [ErrorCode.NONE]);
    assert.deepEqual(codes(await commit(c, { groupId: 'g', memberId, generationId: generation, groupInstanceId: 'i-1' })), [ErrorCode.UNKNOWN_MEMBER_ID]);
  });
});

describe('a share group', () => {
  async function shareGroup(c: GroupCoordinator): Promise<void> {
    const r = await c.shareGroupHeartbeat({ groupId: 'sg', memberId: 'share-member', memberEpoch: 0, rackId: null, subscribedTopicNames: ['t'] }, 'c', '/127.0.0.1');
    assert.equal(r.errorCode, ErrorCode.NONE);
  }

  test('OffsetCommit and TxnOffsetCommit are GROUP_ID_NOT_FOUND at every version and create nothing', async () => {
    const { coordinator: c } = setup();
    await shareGroup(c);
    for (const v of [0, 8, 9, 10]) {
      assert.deepEqual(codes(await commit(c, { groupId: 'sg', apiVersion: v })), [ErrorCode.GROUP_ID_NOT_FOUND], `OffsetCommit v${v}`);
      assert.deepEqual(codes(await commit(c, { groupId: 'sg', apiVersion: v, memberId: 'share-member', generationId: 1 })), [ErrorCode.GROUP_ID_NOT_FOUND]);
    }
    for (const v of [0, 3, 5, 6]) {
      assert.deepEqual(codes(await txnCommit(c, { groupId: 'sg', apiVersion: v })), [ErrorCode.GROUP_ID_NOT_FOUND], `TxnOffsetCommit v${v}`);
    }
    assert.deepEqual(groupIds(c), ['sg:share']);
    assert.equal(c.fetchOffsets('sg', null).length, 0);
    assert.equal((await c.deleteOffsets('sg', [{ name: 't', partitions: [0] }])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  });
});

/**
 * A member at `memberEpoch` that reads topic 't' commits offsets of 't' and 'other'; OffsetDelete
 * of both then removes only 'other' and answers GROUP_SUBSCRIBED_TO_TOPIC for 't'.
 */
async function deletesOnlyTheUnsubscribed(c: GroupCoordinator, groupId: string, memberEpoch: number): Promise<void> {
  assert.deepEqual(codes(await commit(c, { groupId, memberId: 'm', generationId: memberEpoch, apiVersion: 9, topics: [...offsets('t'), ...offsets('other')] })), [
    ErrorCode.NONE,
  ]);
  const del = await c.deleteOffsets(groupId, [
    { name: 't', partitions: [0] },
    { name: 'other', partitions: [0] },
  ]);
  assert.equal(del.errorCode, ErrorCode.NONE);
  assert.deepEqual(
    del.topics.map((t) => [t.name, codes([t])[0]]),
    [
      ['t', ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC],
      ['other', ErrorCode.NONE],
    ],
  );
  assert.deepEqual(
    c.fetchOffsets(groupId, null).map((t) => t.name),
    ['t'],
  );
}

describe('OffsetDelete of a consumer or streams group', () => {
  test('a consumer group: the offsets of a topic no member subscribes to go, a subscribed one is GROUP_SUBSCRIBED_TO_TOPIC', async () => {
    const { coordinator: c } = setup();
    const r = await joinConsumerGroup(c, 'g');
    assert.equal(r.errorCode, ErrorCode.NONE);
    await deletesOnlyTheUnsubscribed(c, 'g', r.memberEpoch);
  });

  test("a streams group: its topology's source topics are GROUP_SUBSCRIBED_TO_TOPIC, others go", async () => {
    const { coordinator: c } = setup();
    const r = await c.streamsGroupHeartbeat(streamsJoinHeartbeat('app', 'm', { topology: oneSourceTopology('t') }), 'c', '/127.0.0.1');
    assert.equal(r.errorCode, ErrorCode.NONE);
    await deletesOnlyTheUnsubscribed(c, 'app', r.memberEpoch);
  });
});

describe('offset.metadata.max.bytes', () => {
  test("counts the metadata's characters (UTF-16 units) as Kafka does, not its UTF-8 bytes", async () => {
    const { coordinator: c } = setup();
    // The limit is 10: ten two-byte characters fit, eleven do not.
    const fits = 'é'.repeat(10);
    const over = 'é'.repeat(11);
    assert.deepEqual(codes(await commit(c, { groupId: 'simple', topics: offsets('t', 0, fits) })), [ErrorCode.NONE]);
    assert.deepEqual(codes(await commit(c, { groupId: 'simple', topics: offsets('t', 1, over) })), [ErrorCode.OFFSET_METADATA_TOO_LARGE]);
    assert.deepEqual(codes(await txnCommit(c, { groupId: 'simple', topics: offsets('t', 2, fits) })), [ErrorCode.NONE]);
    assert.deepEqual(codes(await txnCommit(c, { groupId: 'simple', topics: offsets('t', 3, over) })), [ErrorCode.OFFSET_METADATA_TOO_LARGE]);
    assert.equal(c.fetchOffsets('simple', [{ name: 't', partitionIndexes: [0] }])[0]!.partitions[0]!.metadata, fits);
  });
});

describe('an empty group id', () => {
  test('OffsetCommit takes it like any group id; OffsetDelete and TxnOffsetCommit answer INVALID_GROUP_ID', async () => {
    const { coordinator: c } = setup();
    assert.deepEqual(codes(await commit(c, { groupId: '', generationId: 1, memberId: 'm' })), [ErrorCode.ILLEGAL_GENERATION]);
    assert.deepEqual(codes(await commit(c, { groupId: '' })), [ErrorCode.NONE]);
    assert.equal(c.fetchOffsets('', [{ name: 't', partitionIndexes: [0] }])[0]!.partitions[0]!.committedOffset, 42);
    assert.deepEqual(codes(await txnCommit(c, { groupId: '' })), [ErrorCode.INVALID_GROUP_ID]);
    assert.equal((await c.deleteOffsets('', [{ name: 't', partitions: [0] }])).errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal(c.fetchOffsets('', [{ name: 't', partitionIndexes: [0] }])[0]!.partitions[0]!.committedOffset, 42);
  });
});

describe('OffsetDelete of a classic group with members', () => {
  test('of the consumer protocol with subscriptions that cannot be read: every topic is GROUP_SUBSCRIBED_TO_TOPIC', async () => {
    const { coordinator: c } = setup();
    // stableClassic's members send metadata that is no ConsumerProtocolSubscription.
    await stableClassic(c);
    const del = await c.deleteOffsets('g', [{ name: 'other', partitions: [0, 1] }]);
    assert.equal(del.errorCode, ErrorCode.NONE);
    assert.deepEqual(codes(del.topics), [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]);
  });

  test('of another protocol: NON_EMPTY_GROUP', async () => {
    const { coordinator: c } = setup();
    const first = await c.join('connect', classicJoinRequest('', { protocolType: 'connect' }));
    const joined = await c.join('connect', classicJoinRequest(first.memberId, { protocolType: 'connect' }));
    assert.equal(joined.errorCode, ErrorCode.NONE);
    assert.equal((await c.deleteOffsets('connect', [{ name: 't', partitions: [0] }])).errorCode, ErrorCode.NON_EMPTY_GROUP);
  });
});

/** The offset tombstones a store holds, as `group/topic/partition`. */
const offsetTombstones = (store: MemoryStore) =>
  store.records.flatMap((r) => {
    const k = decodeKey(r.key);
    return r.value === null && k?.kind === 'offset' ? [`${k.group}/${k.topic}/${k.partition}`] : [];
  });

/** The committed offset of t-0 in the group, -1 when none. */
const committedT0 = (c: GroupCoordinator, groupId: string) => c.fetchOffsets(groupId, [{ name: 't', partitionIndexes: [0] }])[0]!.partitions[0]!.committedOffset;

describe('an offset pending in an open transaction (Kafka: a tombstone of the partition drops it)', () => {
  test('OffsetDelete tombstones it, answers NONE, and the commit of the transaction then brings no offset', async () => {
    const { coordinator: c, store } = setup();
    // A simple group whose only offset of t-0 is pending in producer 7's transaction.
    assert.deepEqual(codes(await txnCommit(c, { groupId: 'g' })), [ErrorCode.NONE]);
    assert.equal(c.hasPendingTxnOffset('g', 't', 0), true);
    const del = await c.deleteOffsets('g', [{ name: 't', partitions: [0, 1] }]);
    assert.equal(del.errorCode, ErrorCode.NONE);
    assert.deepEqual(del.topics, [
      {
        name: 't',
        partitions: [
          { partitionIndex: 0, errorCode: ErrorCode.NONE },
          { partitionIndex: 1, errorCode: ErrorCode.NONE },
        ],
      },
    ]);
    // t-1 held nothing: no tombstone for it.
    assert.deepEqual(offsetTombstones(store), ['g/t/0']);
    assert.equal(c.hasPendingTxnOffset('g', 't', 0), false, 'require_stable no longer waits for it');
    c.completeTransaction(7, true, c.partitionFor('g'));
    assert.equal(committedT0(c, 'g'), -1);
  });

  test('an offset committed in the same transaction after the OffsetDelete is kept', async () => {
    const { coordinator: c } = setup();
    await txnCommit(c, { groupId: 'g' });
    await c.deleteOffsets('g', [{ name: 't', partitions: [0] }]);
    const later = [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 50, committedLeaderEpoch: -1, committedMetadata: '' }] }];
    assert.deepEqual(codes(await txnCommit(c, { groupId: 'g', topics: later })), [ErrorCode.NONE]);
    c.completeTransaction(7, true, c.partitionFor('g'));
    assert.equal(committedT0(c, 'g'), 50);
  });

  test('replayed from the log: a tombstone after a transactional offset drops it before the COMMIT marker', () => {
    const { coordinator: c } = setup();
    const key = encodeOffsetKey('g', 't', 0);
    c.replayRecord(key, encodeOffsetValue({ offset: 42, leaderEpoch: -1, metadata: '', commitTimestamp: 1 }), 7);
    c.replayRecord(key, null);
    c.finishLoading();
    c.completeTransaction(7, true, c.partitionFor('g'));
    assert.equal(committedT0(c, 'g'), -1);
  });

  test('DeleteGroups tombstones the pending offsets of the group too', async () => {
    const { coordinator: c, store } = setup();
    await txnCommit(c, { groupId: 'g' });
    assert.deepEqual(await c.deleteGroups(['g']), [{ groupId: 'g', errorCode: ErrorCode.NONE }]);
    assert.deepEqual(offsetTombstones(store), ['g/t/0']);
    c.completeTransaction(7, true, c.partitionFor('g'));
    assert.equal(committedT0(c, 'g'), -1);
  });

  test('expiry leaves an offset that a transaction holds, and its group', async () => {
    const { coordinator: c, clock, store } = setup();
    assert.deepEqual(codes(await commit(c, { groupId: 'g' })), [ErrorCode.NONE]);
    const next = [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 50, committedLeaderEpoch: -1, committedMetadata: '' }] }];
    assert.deepEqual(codes(await txnCommit(c, { groupId: 'g', topics: next })), [ErrorCode.NONE]);
    await clock.advance(120_000);
    await c.expireOffsets();
    assert.deepEqual(offsetTombstones(store), []);
    assert.deepEqual(groupIds(c), ['g:classic']);
    c.completeTransaction(7, true, c.partitionFor('g'));
    assert.equal(committedT0(c, 'g'), 50);
  });
});

describe("TxnOffsetCommit's order of checks, as Kafka's CoordinatorRuntime runs them", () => {
  /**
   * The TxnOffsetCommit handler over an in-process coordinator whose partitions answer `status`,
   * with a transaction verifier that answers `verdict` and counts its calls.
   */
  function txnSetup(status: { code: number }, verdict: { code: number }, ownership: PartitionOwnership = { ...ALL_OWNED, status: () => status.code }) {
    const { coordinator } = setup(ownership);
    const checks: TxnPartitionCheck[] = [];
    const broker = {
      groupCoordinator: coordinator,
      topicsById: new Map(TOPICS.map((t) => [t.id, t])),
      security: { topic: () => true },
      partitionExists: (topic: string, partition: number) => TOPICS.some((t) => t.name === topic && partition >= 0 && partition < t.numPartitions),
      txnVerifier: {
        check: (c: TxnPartitionCheck) => {
          checks.push(c);
          return verdict.code;
        },
      },
    };
    const send = async (over: Partial<TxnOffsetCommitRequest> = {}, apiVersion = 4) => {
      const req = txnOffsetCommitRequest(
        [{ name: 't', topicId: TOPICS[0]!.id, partitions: [{ partitionIndex: 0, committedOffset: 42, committedLeaderEpoch: -1, committedMetadata: '' }] }],
        over,
      );
      const ctx = { broker, apiVersion } as unknown as RequestContext;
      const r = await txnOffsetCommitHandler.handle(ctx, req);
      return codes((r as { topics: { partitions: { errorCode: number }[] }[] }).topics);
    };
    return { coordinator, checks, send };
  }

  test("a broker that does not lead the group's partition answers NOT_COORDINATOR without asking the transaction coordinator", async () => {
    const status = { code: ErrorCode.NOT_COORDINATOR };
    const { checks, send } = txnSetup(status, { code: ErrorCode.INVALID_TXN_STATE }, { ...ALL_OWNED, status: () => status.code, leads: () => false });
    assert.deepEqual(await send(), [ErrorCode.NOT_COORDINATOR]);
    // With transactions V2 (v5) the check would add the group's partition to the transaction.
    assert.deepEqual(await send({}, 5), [ErrorCode.NOT_COORDINATOR]);
    assert.equal(checks.length, 0);
    // An empty group id is refused before anything else.
    assert.deepEqual(await send({ groupId: '' }), [ErrorCode.INVALID_GROUP_ID]);
  });

  test('a partition led here whose load failed: the transaction is checked first, then NOT_COORDINATOR', async () => {
    // A real CoordinatorPartitions whose load of the group's partition fails: Kafka's runtime keeps
    // the partition's context (FAILED) and the broker still leads it, so the transaction is
    // verified (and with V2 the partition added) before the runtime answers NOT_COORDINATOR.
    const partitions = new CoordinatorPartitions('__consumer_offsets', new ManualClock(0));
    let fail = true;
    partitions.attach({ load: () => (fail ? Promise.reject(new Error('corrupt batch')) : Promise.resolve()), activate: () => undefined, unload: () => undefined });
    const verdict: { code: number } = { code: ErrorCode.INVALID_PRODUCER_EPOCH };
    const { coordinator, checks, send } = txnSetup({ code: ErrorCode.NONE }, verdict, partitions);
    const index = coordinator.partitionFor('g');
    await assert.rejects(partitions.elect(index, 3), /corrupt batch/);
    assert.deepEqual([partitions.status(index), partitions.leads(index), partitions.loading()], [ErrorCode.NOT_COORDINATOR, true, false]);
    assert.deepEqual(await send(), [ErrorCode.INVALID_PRODUCER_EPOCH]);
    verdict.code = ErrorCode.NONE;
    assert.deepEqual(await send({}, 5), [ErrorCode.NOT_COORDINATOR]);
    assert.deepEqual(
      checks.map((c) => c.add),
      [false, true],
    );
    // The other group APIs: NOT_COORDINATOR, as Kafka's runtime answers for a FAILED context.
    assert.equal(coordinator.groupError('g'), ErrorCode.NOT_COORDINATOR);
    assert.deepEqual(codes(await commit(coordinator, { groupId: 'g' })), [ErrorCode.NOT_COORDINATOR]);
    // The same election announced again loads again; this time it works.
    fail = false;
    await partitions.elect(index, 3);
    assert.deepEqual(await send(), [ErrorCode.NONE]);
    // Losing the leadership: not led any more, NOT_COORDINATOR before the transaction.
    partitions.resign(index);
    verdict.code = ErrorCode.INVALID_PRODUCER_EPOCH;
    assert.deepEqual(await send(), [ErrorCode.NOT_COORDINATOR]);
    assert.equal(checks.length, 3);
  });

  test('while the partition loads, the transaction is checked first: its error, else COORDINATOR_LOAD_IN_PROGRESS', async () => {
    const verdict: { code: number } = { code: ErrorCode.INVALID_PRODUCER_EPOCH };
    const { checks, send } = txnSetup({ code: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS }, verdict);
    assert.deepEqual(await send(), [ErrorCode.INVALID_PRODUCER_EPOCH]);
    verdict.code = ErrorCode.NONE;
    assert.deepEqual(await send(), [ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
    assert.equal(checks.length, 2);
  });

  test('the transaction is checked before the group and its member: INVALID_TXN_STATE beats a stale generation', async () => {
    const verdict: { code: number } = { code: ErrorCode.INVALID_TXN_STATE };
    const { coordinator, checks, send } = txnSetup({ code: ErrorCode.NONE }, verdict);
    const { memberId, generation } = await stableClassic(coordinator);
    const stale = { memberId, generationIdOrMemberEpoch: generation + 1 };
    assert.deepEqual(await send(stale), [ErrorCode.INVALID_TXN_STATE]);
    verdict.code = ErrorCode.NONE;
    assert.deepEqual(await send(stale), [ErrorCode.ILLEGAL_GENERATION]);
    assert.deepEqual(await send({ memberId, generationIdOrMemberEpoch: generation }), [ErrorCode.NONE]);
    assert.deepEqual(
      checks.map((c) => [c.topic, c.partition, c.add]),
      Array.from({ length: 3 }, () => ['__consumer_offsets', coordinator.partitionFor('g'), false]),
    );
  });
});

describe('the COMMIT of a transaction and an offset committed outside it (Kafka: the later record wins)', () => {
  const at = (committedOffset: number) => [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset, committedLeaderEpoch: -1, committedMetadata: '' }] }];

  test('an OffsetCommit written after the transactional offset stays when the transaction commits', async () => {
    const { coordinator: c } = setup();
    assert.deepEqual(codes(await txnCommit(c, { groupId: 'g', topics: at(50) })), [ErrorCode.NONE]);
    assert.deepEqual(codes(await commit(c, { groupId: 'g', topics: at(42) })), [ErrorCode.NONE]);
    c.completeTransaction(7, true, c.partitionFor('g'));
    assert.equal(committedT0(c, 'g'), 42);
  });

  test('one written before it is replaced by the transactional offset', async () => {
    const { coordinator: c } = setup();
    await commit(c, { groupId: 'g', topics: at(42) });
    await txnCommit(c, { groupId: 'g', topics: at(50) });
    c.completeTransaction(7, true, c.partitionFor('g'));
    assert.equal(committedT0(c, 'g'), 50);
  });

  test('replayed from the log, the same', () => {
    const { coordinator: c } = setup();
    const key = encodeOffsetKey('g', 't', 0);
    const value = (offset: number) => encodeOffsetValue({ offset, leaderEpoch: -1, metadata: '', commitTimestamp: 1 });
    c.replayRecord(key, value(50), 7);
    c.replayRecord(key, value(42));
    c.replayRecord(encodeOffsetKey('g', 't', 1), value(10));
    c.replayRecord(encodeOffsetKey('g', 't', 1), value(60), 7);
    c.finishLoading();
    c.completeTransaction(7, true, c.partitionFor('g'));
    assert.deepEqual(
      c.fetchOffsets('g', [{ name: 't', partitionIndexes: [0, 1] }])[0]!.partitions.map((p) => p.committedOffset),
      [42, 60],
    );
  });
});

describe('a coordinator that was shut down', () => {
  test('answers COORDINATOR_NOT_AVAILABLE to every group API, as Kafka 4.4 while inactive', async () => {
    const { coordinator: c } = setup();
    const member = await stableClassic(c);
    c.shutdown();
    const unavailable = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    assert.equal((await c.join('g', classicJoinRequest(member.memberId))).errorCode, unavailable);
    assert.equal(c.heartbeat('g', member.memberId, null, member.generation), unavailable);
    assert.equal(c.groupError('g'), unavailable);
    assert.deepEqual(codes(await commit(c, { groupId: 'g', memberId: member.memberId, generationId: member.generation })), [unavailable]);
    assert.deepEqual(codes(await txnCommit(c, { groupId: 'g', memberId: member.memberId, generationId: member.generation })), [unavailable]);
    assert.equal((await joinConsumerGroup(c, 'cg')).errorCode, unavailable);
  });
});

describe('a topic named twice in one commit, as Kafka 4.4 answers it', () => {
  // Kafka's request handler hands the coordinator one topic per request topic and the coordinator
  // answers each (OffsetMetadataManager); the response builder takes that answer whole when no
  // partition failed before it, else merges every answer into the failures' entries, by topic.
  const part = (partitionIndex: number) => ({ partitionIndex, committedOffset: 42, committedLeaderEpoch: -1, committedMetadata: '' });
  const topic = (name: string, ...partitions: number[]) => ({
    name,
    topicId: TOPICS.find((t) => t.name === name)?.id ?? '00000000-0000-0000-0000-0000000000ff',
    partitions: partitions.map(part),
  });
  /** Each answered topic as `name:partition=code,...`, in the answer's order. */
  const shape = (topics: { name: string; topicId: string; partitions: { partitionIndex: number; errorCode: number }[] }[], byId = false) =>
    topics.map((t) => `${byId ? (TOPICS.find((x) => x.id === t.topicId)?.name ?? '?') : t.name}:${t.partitions.map((p) => `${p.partitionIndex}=${p.errorCode}`).join(',')}`);

  function handlers() {
    const { coordinator } = setup();
    const broker = {
      groupCoordinator: coordinator,
      topicsById: new Map(TOPICS.map((t) => [t.id, t])),
      security: { topic: () => true },
      partitionExists: (name: string, partition: number) => TOPICS.some((t) => t.name === name && partition >= 0 && partition < t.numPartitions),
      txnVerifier: { check: () => ErrorCode.NONE },
    };
    const ctx = (apiVersion: number) => ({ broker, conn: {}, apiVersion }) as unknown as RequestContext;
    return {
      commit: async (topics: OffsetCommitRequest['topics'], apiVersion = 8) => {
        const req: OffsetCommitRequest = { groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics };
        return shape(((await offsetCommitHandler.handle(ctx(apiVersion), req)) as OffsetCommitResponse).topics, apiVersion >= 10);
      },
      txnCommit: async (topics: TxnOffsetCommitRequest['topics'], apiVersion = 4) => {
        const req = txnOffsetCommitRequest(topics);
        return shape(((await txnOffsetCommitHandler.handle(ctx(apiVersion), req)) as TxnOffsetCommitResponse).topics, apiVersion >= 6);
      },
    };
  }

  test('OffsetCommit: answered once per request topic when nothing failed, merged by topic when something did', async () => {
    const { commit } = handlers();
    for (const version of [8, 10]) {
      assert.deepEqual(await commit([topic('t', 0), topic('other', 0), topic('t', 1, 2)], version), ['t:0=0', 'other:0=0', 't:1=0,2=0'], `v${version}`);
      // Partition 9 of 'other' does not exist: the failures come first, everything merged into them.
      assert.deepEqual(await commit([topic('t', 0), topic('other', 9, 1), topic('t', 1)], version), ['other:9=3,1=0', 't:0=0,1=0'], `v${version}`);
    }
    // By id, an unknown id fails by itself, before the others (merged).
    assert.deepEqual(await commit([topic('t', 0), topic('gone', 0), topic('t', 1)], 10), ['?:0=100', 't:0=0,1=0']);
  });

  test('TxnOffsetCommit: the same', async () => {
    const { txnCommit } = handlers();
    for (const version of [4, 6]) {
      assert.deepEqual(await txnCommit([topic('t', 0), topic('other', 0), topic('t', 1)], version), ['t:0=0', 'other:0=0', 't:1=0'], `v${version}`);
      assert.deepEqual(await txnCommit([topic('t', 0), topic('other', 9), topic('t', 1)], version), ['other:9=3', 't:0=0,1=0'], `v${version}`);
    }
  });
});

describe("the group APIs' coordinator-level errors, as Kafka 4.4's GroupCoordinatorService answers them", () => {
  /** The group handlers over an in-process coordinator, with every ACL allowed. */
  function groupApis(ownership: PartitionOwnership = ALL_OWNED) {
    const { coordinator } = setup(ownership);
    const broker = { groupCoordinator: coordinator, security: { group: () => true, cluster: () => true } };
    const ctx = (apiVersion: number) => ({ broker, conn: {}, apiVersion }) as unknown as RequestContext;
    type Groups = { groups: { groupId: string; errorCode: number }[] };
    return {
      coordinator,
      leave: async (groupId: string, apiVersion = 5) => {
        const r = await leaveGroupHandler.handle(ctx(apiVersion), { groupId, memberId: 'm', members: [{ memberId: 'm', groupInstanceId: null, reason: null }] });
        return r as { errorCode: number; members: { errorCode: number }[] };
      },
      list: async () => (await listGroupsHandler.handle(ctx(5), { statesFilter: [], typesFilter: [] })) as { errorCode: number; groups: { groupId: string }[] },
      describe: async (...groups: string[]) =>
        ((await describeGroupsHandler.handle(ctx(6), { groups, includeAuthorizedOperations: false })) as Groups).groups.map((g) => g.errorCode),
      delete: async (...groupsNames: string[]) =>
        ((await deleteGroupsHandler.handle(ctx(2), { groupsNames })) as { results: { errorCode: number }[] }).results.map((g) => g.errorCode),
      /** ConsumerGroupDescribe, StreamsGroupDescribe and ShareGroupDescribe of the ids. */
      describeModern: async (...groupIds: string[]) => {
        const req = { groupIds, includeAuthorizedOperations: false };
        const answers = [
          await consumerGroupDescribeHandler.handle(ctx(1), req),
          await streamsGroupDescribeHandler.handle(ctx(0), { ...req, includeTopologyDescription: false }),
          await shareGroupDescribeHandler.handle(ctx(1), req),
        ] as Groups[];
        return answers.map((a) => a.groups.map((g) => g.errorCode));
      },
    };
  }

  test('an empty group id: INVALID_GROUP_ID where Kafka refuses it, an ordinary group elsewhere', async () => {
    const apis = groupApis();
    const c = apis.coordinator;
    const invalid = ErrorCode.INVALID_GROUP_ID;
    assert.equal((await c.join('', classicJoinRequest('m'))).errorCode, invalid);
    const sync = await c.sync('', { memberId: 'm', groupInstanceId: null, generationId: 1, protocolType: 'consumer', protocolName: 'range', assignments: [] });
    assert.equal(sync.errorCode, invalid);
    assert.equal(c.heartbeat('', 'm', null, 1), invalid);
    // LeaveGroup: the whole answer's error, with no members (every version).
    for (const version of [0, 3, 5]) {
      const r = await apis.leave('', version);
      assert.deepEqual([r.errorCode, r.members], [invalid, []], `v${version}`);
    }
    assert.deepEqual(await apis.describeModern(''), [[invalid], [invalid], [invalid]]);
    // DescribeGroups and DeleteGroups look the empty id up like any other (Kafka refuses only null).
    assert.deepEqual(await apis.describe(''), [ErrorCode.GROUP_ID_NOT_FOUND]);
    assert.deepEqual(await apis.delete(''), [ErrorCode.GROUP_ID_NOT_FOUND]);
  });

  test('while a partition loads: per group COORDINATOR_LOAD_IN_PROGRESS, and ListGroups refuses the whole list', async () => {
    const state = { loading: true };
    const apis = groupApis({ ...ALL_OWNED, status: () => (state.loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE), loading: () => state.loading });
    const loading = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    assert.deepEqual(await apis.describe('g', ''), [loading, loading]);
    assert.deepEqual(await apis.delete('g'), [loading]);
    assert.deepEqual(await apis.describeModern('g'), [[loading], [loading], [loading]]);
    assert.deepEqual(await apis.list(), { throttleTimeMs: 0, errorCode: loading, groups: [] });
    const left = await apis.leave('g');
    assert.deepEqual([left.errorCode, left.members], [loading, []]);
    state.loading = false;
    await stableClassic(apis.coordinator);
    const listed = await apis.list();
    assert.deepEqual([listed.errorCode, listed.groups.map((g) => g.groupId)], [ErrorCode.NONE, ['g']]);
  });

  test('SyncGroup v5+ without its protocol type or name is INCONSISTENT_GROUP_PROTOCOL before the coordinator is asked', async () => {
    const { coordinator } = setup({ ...ALL_OWNED, status: () => ErrorCode.NOT_COORDINATOR });
    // The handler marks its wait for the coordinator as remote time on the request's stamps.
    const broker = { groupCoordinator: coordinator, clock: systemClock };
    const ctx = (apiVersion: number) => ({ broker, conn: {}, apiVersion, times: newRequestTimes(0, 0) }) as unknown as RequestContext;
    const sync = async (apiVersion: number, protocolType: string | null, protocolName: string | null) =>
      (
        (await syncGroupHandler.handle(ctx(apiVersion), {
          groupId: 'g',
          generationId: 1,
          memberId: 'm',
          groupInstanceId: null,
          protocolType,
          protocolName,
          assignments: [],
        })) as { errorCode: number }
      ).errorCode;
    assert.equal(await sync(5, null, 'range'), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(await sync(5, 'consumer', null), ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(await sync(5, 'consumer', 'range'), ErrorCode.NOT_COORDINATOR);
    assert.equal(await sync(4, null, null), ErrorCode.NOT_COORDINATOR);
  });

  test('a partition led elsewhere: LeaveGroup answers NOT_COORDINATOR alone; ListGroups lists the groups it has', async () => {
    const elsewhere = { index: -1 };
    const apis = groupApis({ ...ALL_OWNED, status: (index) => (index === elsewhere.index ? ErrorCode.NOT_COORDINATOR : ErrorCode.NONE) });
    await stableClassic(apis.coordinator);
    const left = await apis.leave('other-group');
    assert.deepEqual([left.errorCode, left.members.map((m) => m.errorCode)], [ErrorCode.NONE, [ErrorCode.UNKNOWN_MEMBER_ID]]);
    elsewhere.index = apis.coordinator.partitionFor('g');
    const moved = await apis.leave('g');
    assert.deepEqual([moved.errorCode, moved.members], [ErrorCode.NOT_COORDINATOR, []]);
    assert.deepEqual(await apis.list(), { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups: [] });
  });

  test('once shut down: COORDINATOR_NOT_AVAILABLE before an empty group id, and for ListGroups as a whole', async () => {
    const apis = groupApis();
    await stableClassic(apis.coordinator);
    apis.coordinator.shutdown();
    const unavailable = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    assert.deepEqual(await apis.list(), { throttleTimeMs: 0, errorCode: unavailable, groups: [] });
    assert.equal(apis.coordinator.heartbeat('', 'm', null, 1), unavailable);
    assert.equal((await apis.coordinator.deleteOffsets('', [{ name: 't', partitions: [0] }])).errorCode, unavailable);
    assert.deepEqual(codes(await txnCommit(apis.coordinator, { groupId: '' })), [unavailable]);
    const left = await apis.leave('');
    assert.deepEqual([left.errorCode, left.members], [unavailable, []]);
    assert.deepEqual(await apis.describe('g', ''), [unavailable, unavailable]);
    assert.deepEqual(await apis.delete('g'), [unavailable]);
    assert.deepEqual(await apis.describeModern(''), [[unavailable], [unavailable], [unavailable]]);
  });
});

describe('a group id too long for a __consumer_offsets key (over 32767 UTF-8 bytes, as flexible versions allow)', () => {
  // Kafka's record serializer throws and the write fails: UNKNOWN_SERVER_ERROR, nothing kept.
  const long = 'g'.repeat(40_000);

  test('commits answer UNKNOWN_SERVER_ERROR and leave no group behind', async () => {
    const { coordinator: c, store } = setup();
    assert.deepEqual(codes(await commit(c, { groupId: long })), [ErrorCode.UNKNOWN_SERVER_ERROR]);
    assert.deepEqual(codes(await txnCommit(c, { groupId: long })), [ErrorCode.UNKNOWN_SERVER_ERROR]);
    assert.deepEqual(c.listGroups(), []);
    assert.equal(store.records.length, 0);
  });

  test('a classic JoinGroup: the new group cannot be written, so it is gone again (Kafka 4.4 writes every new group)', async () => {
    const { coordinator: c, clock, store } = setup();
    // MEMBER_ID_REQUIRED is answered at once (Kafka completes it before the write); the member id
    // then names a group that does not exist.
    const first = await c.join(long, classicJoinRequest(''));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal((await c.join(long, classicJoinRequest(first.memberId))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    // A member added by its first join (before KIP-394) is told the write's error.
    const joined = await c.join(long, classicJoinRequest('', { requireKnownMemberId: false }));
    assert.deepEqual([joined.errorCode, joined.memberId], [ErrorCode.UNKNOWN_SERVER_ERROR, '']);
    assert.equal(c.groups.has(long), false);
    // No timer of the group it made is left to write it (one that threw would take a broker down).
    await clock.advance(60_000);
    assert.equal(store.records.length, 0);
  });
});

describe("the heartbeats of KIP-848's group types: the request's own checks before the group's partition", () => {
  // Kafka's GroupCoordinatorService: inactive -> COORDINATOR_NOT_AVAILABLE; then
  // throwIf*HeartbeatRequestIsInvalid (INVALID_REQUEST); only then the runtime's partition
  // (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS).
  async function codesOf(c: GroupCoordinator, groupId: string) {
    const consumer = await consumerBeat(c, groupId, 'm', 0, { rebalanceTimeoutMs: -1 }); // required when joining
    const streams = await c.streamsGroupHeartbeat(streamsJoinHeartbeat(groupId, 'm', { topology: null }), 'c', '/127.0.0.1'); // no topology when joining
    const share = await c.shareGroupHeartbeat({ groupId, memberId: 'm', memberEpoch: 0, rackId: null, subscribedTopicNames: [] }, 'c', '/127.0.0.1');
    return [consumer.errorCode, streams.errorCode, share.errorCode];
  }

  test('an invalid heartbeat (or JoinGroup session timeout) is refused on a broker that does not coordinate its group, or still loads it', async () => {
    const status: { code: number } = { code: ErrorCode.NOT_COORDINATOR };
    const { coordinator: c } = setup({ ...ALL_OWNED, status: () => status.code });
    const invalid = ErrorCode.INVALID_REQUEST;
    assert.deepEqual(await codesOf(c, 'g'), [invalid, invalid, invalid]);
    status.code = ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    assert.deepEqual(await codesOf(c, 'g'), [invalid, invalid, invalid]);
    assert.deepEqual(await codesOf(c, ''), [invalid, invalid, invalid]);
    // JoinGroup's session timeout is checked before the partition too.
    assert.equal((await c.join('g', classicJoinRequest('', { sessionTimeoutMs: 10 }))).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal((await c.join('g', classicJoinRequest(''))).errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    // A valid one meets the partition.
    const valid = await c.shareGroupHeartbeat({ groupId: 'g', memberId: 'm', memberEpoch: 0, rackId: null, subscribedTopicNames: ['t'] }, 'c', '/127.0.0.1');
    assert.equal(valid.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
  });

  test('once shut down, COORDINATOR_NOT_AVAILABLE comes first, even for an empty group id', async () => {
    const { coordinator: c } = setup();
    c.shutdown();
    const unavailable = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    assert.deepEqual(await codesOf(c, ''), [unavailable, unavailable, unavailable]);
    assert.deepEqual(await codesOf(c, 'g'), [unavailable, unavailable, unavailable]);
  });
});

describe("a failed write to the group's partition, as Kafka 4.4's coordinator runtime maps its error", () => {
  // CoordinatorOperationExceptionHelper.handleOperationException, and for the classic group's
  // join and sync GroupMetadataManager.appendGroupMetadataErrorToResponseError.
  const cases: [string, number, number][] = [
    ['NOT_LEADER_OR_FOLLOWER', ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NOT_COORDINATOR],
    ['KAFKA_STORAGE_ERROR', ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.NOT_COORDINATOR],
    ['NOT_ENOUGH_REPLICAS', ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.COORDINATOR_NOT_AVAILABLE],
    ['REQUEST_TIMED_OUT', ErrorCode.REQUEST_TIMED_OUT, ErrorCode.COORDINATOR_NOT_AVAILABLE],
    ['UNKNOWN_TOPIC_OR_PARTITION', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.COORDINATOR_NOT_AVAILABLE],
    ['RECORD_LIST_TOO_LARGE', ErrorCode.RECORD_LIST_TOO_LARGE, ErrorCode.UNKNOWN_SERVER_ERROR],
    ['MESSAGE_TOO_LARGE', ErrorCode.MESSAGE_TOO_LARGE, ErrorCode.UNKNOWN_SERVER_ERROR],
  ];
  const nameOf = (code: number) => Object.entries(ErrorCode).find(([, v]) => v === code)?.[0];
  for (const [name, written, answered] of cases) {
    test(`${name} is answered ${nameOf(answered)} by the commits, the classic join and sync, and the KIP-848 heartbeats`, async () => {
      const { coordinator: c, store } = setup();
      const { memberId, generation } = await stableClassic(c);
      store.failWith = new KafkaError(written, `the write failed with ${name}`);
      assert.deepEqual(codes(await commit(c, { groupId: 'g', memberId, generationId: generation })), [answered]);
      assert.deepEqual(codes(await commit(c, { groupId: 'simple' })), [answered]);
      assert.deepEqual(codes(await txnCommit(c, { groupId: 'g', memberId, generationId: generation })), [answered]);
      assert.equal((await joinConsumerGroup(c, 'cg')).errorCode, answered);
      const share = await c.shareGroupHeartbeat({ groupId: 'sg', memberId: 'm', memberEpoch: 0, rackId: null, subscribedTopicNames: ['t'] }, 'c', '/127.0.0.1');
      assert.equal(share.errorCode, answered);
      // A second member joins the Stable group: the rebalance completes with no write (Kafka's
      // completeClassicGroupJoin); the leader's SyncGroup writes the group and is told the error.
      const first = await c.join('g', classicJoinRequest(''));
      assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
      const [leader, newcomer] = await Promise.all([c.join('g', classicJoinRequest(memberId)), c.join('g', classicJoinRequest(first.memberId))]);
      assert.deepEqual([leader.errorCode, newcomer.errorCode], [ErrorCode.NONE, ErrorCode.NONE]);
      const sync = await c.sync('g', { memberId, groupInstanceId: null, generationId: leader.generationId, protocolType: 'consumer', protocolName: 'range', assignments: [] });
      assert.equal(sync.errorCode, answered);
      // A JoinGroup creating a group is told the error of the group's first write.
      const created = await c.join('new', classicJoinRequest('', { requireKnownMemberId: false }));
      assert.deepEqual([created.errorCode, created.memberId], [answered, '']);
    });
  }

  test('a transactional commit whose producer the log has fenced is PRODUCER_FENCED; a failure that is no Kafka error UNKNOWN_SERVER_ERROR', async () => {
    const { coordinator: c, store } = setup();
    store.failWith = new KafkaError(ErrorCode.INVALID_PRODUCER_EPOCH, 'fenced');
    assert.deepEqual(codes(await txnCommit(c, { groupId: 'g' })), [ErrorCode.PRODUCER_FENCED]);
    store.failWith = new Error('a bug');
    assert.deepEqual(codes(await commit(c, { groupId: 'g' })), [ErrorCode.UNKNOWN_SERVER_ERROR]);
  });

  test('a commit that made its group (no group management) leaves none when its write fails', async () => {
    const { coordinator: c, store } = setup();
    store.failWith = new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, 'the ISR shrank');
    assert.deepEqual(codes(await commit(c, { groupId: 'simple' })), [ErrorCode.COORDINATOR_NOT_AVAILABLE]);
    assert.deepEqual(codes(await txnCommit(c, { groupId: 'simple-txn' })), [ErrorCode.COORDINATOR_NOT_AVAILABLE]);
    assert.deepEqual(groupIds(c), []);
    // One that existed stays.
    store.failWith = null;
    assert.deepEqual(codes(await commit(c, { groupId: 'simple' })), [ErrorCode.NONE]);
    store.failWith = new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, 'the ISR shrank');
    assert.deepEqual(codes(await commit(c, { groupId: 'simple', topics: offsets('t', 1) })), [ErrorCode.COORDINATOR_NOT_AVAILABLE]);
    assert.deepEqual(groupIds(c), ['simple:classic']);
  });
});

describe("a KIP-848 heartbeat that cannot be written leaves no state behind (Kafka's runtime reverts a failed write)", () => {
  const heartbeat = consumerBeat;

  test('a member id too long for a record key: UNKNOWN_SERVER_ERROR, and no group appears', async () => {
    const { coordinator: c, store } = setup();
    const res = await heartbeat(c, 'cg', 'm'.repeat(40_000));
    assert.equal(res.errorCode, ErrorCode.UNKNOWN_SERVER_ERROR);
    assert.deepEqual(groupIds(c), []);
    assert.equal(c.consumer.groups.has('cg'), false);
    assert.equal(store.records.length, 0);
    // The group is made afresh by the next member, at epoch 1.
    assert.equal((await heartbeat(c, 'cg', 'ok')).memberEpoch, 1);
  });

  test('a failed write: a new group is forgotten; an existing one keeps its members and epoch', async () => {
    const { coordinator: c, store } = setup();
    store.failWith = new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, 'log directory failed');
    assert.equal((await heartbeat(c, 'cg', 'm1')).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.deepEqual(groupIds(c), []);
    store.failWith = null;
    const first = await heartbeat(c, 'cg', 'm1');
    assert.deepEqual([first.errorCode, first.memberEpoch], [ErrorCode.NONE, 1]);
    store.failWith = new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, 'the ISR shrank');
    assert.equal((await heartbeat(c, 'cg', 'm2')).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const group = c.consumer.groups.get('cg')!;
    assert.deepEqual([[...group.members.keys()], group.groupEpoch, group.assignmentEpoch, [...group.target.keys()]], [['m1'], 1, 1, ['m1']]);
    // The member that left in a failed write is still a member.
    assert.equal((await heartbeat(c, 'cg', 'm1', -1)).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.deepEqual([...group.members.keys()], ['m1']);
    store.failWith = null;
    const again = await heartbeat(c, 'cg', 'm1', 1);
    assert.deepEqual([again.errorCode, again.memberEpoch], [ErrorCode.NONE, 1]);
    assert.equal((await heartbeat(c, 'cg', 'm2')).memberEpoch, 2);
  });

  test('a streams group made by a heartbeat whose write fails is forgotten', async () => {
    const { coordinator: c, store } = setup();
    store.failWith = new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'moved');
    const res = await c.streamsGroupHeartbeat(streamsJoinHeartbeat('app', 'm', { topology: oneSourceTopology('t') }), 'c', '/127.0.0.1');
    assert.equal(res.errorCode, ErrorCode.NOT_COORDINATOR);
    assert.equal(c.streams.groups.has('app'), false);
    assert.deepEqual(groupIds(c), []);
  });
});

/** A group's whole state as text: maps and sets as lists, a member's timers as whether they run. */
const stateOf = (group: unknown) => JSON.stringify(group, (_k, v: unknown) => (v instanceof Map ? [...v] : v instanceof Set ? [...v] : typeof v === 'function' ? 'timer' : v));
const failingWrite = new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, 'the ISR shrank');

/** Makes each of `tries` with every write failing: the group's state must be as before each. */
async function failEach(store: MemoryStore, state: () => string, tries: [string, () => Promise<unknown>][]): Promise<void> {
  const before = state();
  for (const [what, attempt] of tries) {
    store.failWith = failingWrite;
    await attempt();
    assert.equal(state(), before, what);
  }
  store.failWith = null;
}

/**
 * A join whose write is held while a heartbeat is refused (undone at once) and every session
 * ends (`sessionMs`); then the write fails: all of it is undone, the group as before the join.
 */
async function failAfterAll(
  { clock, store }: { clock: ManualClock; store: MemoryStore },
  state: () => string,
  members: () => number,
  sessionMs: number,
  join: () => Promise<{ errorCode: number }>,
  refuse: () => Promise<{ errorCode: number }>,
): Promise<void> {
  const before = state();
  const writes: HeldAppend[] = [];
  store.held = writes;
  const joining = join();
  assert.equal((await refuse()).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  await clock.advance(sessionMs);
  assert.equal(members(), 0);
  for (const write of writes) write.fail(failingWrite);
  assert.equal((await joining).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
  assert.equal(state(), before);
}

describe('each kind of KIP-848 heartbeat whose write fails: every member, the membership and the target as they were', () => {
  // The undo saves only what a heartbeat changes (copy-on-write): each change must be saved.
  const hb = (c: GroupCoordinator, memberId: string, memberEpoch: number, over: Parameters<typeof consumerBeat>[4] = {}) => consumerBeat(c, 'cg', memberId, memberEpoch, over);
  /** The group's whole state, its members' timers as whether they run. */
  const state = (c: GroupCoordinator) => stateOf(c.consumer.groups.get('cg'));

  test('joins, leaves, a static leave and take-over, a subscription change, a rejoin and a revocation', async () => {
    const { coordinator: c, store } = setup();
    const m1 = await hb(c, 'm1', 0);
    const m2 = await hb(c, 'm2', 0, { instanceId: 'i2' });
    // m1 gives up what m2 now gets, and both settle.
    const owned = (r: typeof m1) => r.assignment?.topicPartitions ?? [];
    const m1b = await hb(c, 'm1', m1.memberEpoch, { topicPartitions: owned(m1) });
    await hb(c, 'm1', m1b.memberEpoch, { topicPartitions: owned(m1b) });
    await hb(c, 'm2', m2.memberEpoch, { topicPartitions: [] });
    await failEach(store, () => state(c), [
      ['a new member', () => hb(c, 'm3', 0)],
      ['a leave', () => hb(c, 'm1', -1)],
      ['a static leave', () => hb(c, 'm2', -2, { instanceId: 'i2' })],
      ['a subscription change', () => hb(c, 'm1', c.consumer.groups.get('cg')!.members.get('m1')!.memberEpoch, { subscribedTopicNames: ['t', 'other'] })],
      ['a rejoin from scratch', () => hb(c, 'm1', 0)],
    ]);
    // A member still revoking: its revocation, undone.
    await hb(c, 'm3', 0);
    const m1now = c.consumer.groups.get('cg')!.members.get('m1')!;
    await failEach(store, () => state(c), [['a revocation', () => hb(c, 'm1', m1now.memberEpoch, { topicPartitions: [] })]]);
    // A static member away (-2), taken over by a new member id with its instance id.
    await hb(c, 'm2', -2, { instanceId: 'i2' });
    await failEach(store, () => state(c), [['a static take-over', () => hb(c, 'm2b', 0, { instanceId: 'i2' })]]);
  });

  test('what changes while the write is under way (a refused heartbeat between, sessions ending) is undone with it', async () => {
    const t = setup();
    const c = t.coordinator;
    await hb(c, 'm1', 0);
    await hb(c, 'm2', 0);
    const members = () => c.consumer.groups.get('cg')!.members.size;
    await failAfterAll(
      t,
      () => state(c),
      members,
      10_000,
      () => hb(c, 'm3', 0),
      () => hb(c, 'nobody', 5),
    );
  });
});

describe('share group heartbeats: a missed answer, and a write that fails', () => {
  const share = (c: GroupCoordinator, memberId: string, memberEpoch: number) =>
    c.shareGroupHeartbeat({ groupId: 'sg', memberId, memberEpoch, rackId: null, subscribedTopicNames: memberEpoch === 0 ? ['t'] : null }, 'c', '/127.0.0.1');

  test("a member one answer behind (its previous epoch) is answered, as Kafka 4.4's epoch check allows; others are fenced", async () => {
    const { coordinator: c } = setup();
    assert.equal((await share(c, 'm1', 0)).memberEpoch, 1);
    assert.equal((await share(c, 'm2', 0)).memberEpoch, 2);
    // m1 moves to epoch 2, but misses the answer and comes back at 1.
    assert.equal((await share(c, 'm1', 1)).memberEpoch, 2);
    const retried = await share(c, 'm1', 1);
    assert.deepEqual([retried.errorCode, retried.memberEpoch], [ErrorCode.NONE, 2]);
    assert.deepEqual(retried.assignment?.topicPartitions, [{ topicId: TOPICS[0]!.id, partitions: [0, 2] }]);
    assert.equal((await share(c, 'm3', 0)).memberEpoch, 3);
    assert.equal((await share(c, 'm1', 2)).memberEpoch, 3);
    // Two epochs behind, or ahead: fenced.
    assert.equal((await share(c, 'm1', 1)).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    assert.equal((await share(c, 'm1', 4)).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    assert.equal((await share(c, 'm1', 3)).errorCode, ErrorCode.NONE);
  });

  test('a failed write: a new group is forgotten, a join or a leave undone', async () => {
    const { coordinator: c, store } = setup();
    store.failWith = new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, 'log directory failed');
    assert.equal((await share(c, 'm1', 0)).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.deepEqual(groupIds(c), []);
    store.failWith = null;
    assert.equal((await share(c, 'm1', 0)).memberEpoch, 1);
    store.failWith = new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'slow');
    assert.equal((await share(c, 'm2', 0)).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal((await share(c, 'm1', -1)).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const group = c.share.groups.get('sg')!;
    assert.deepEqual([[...group.members.keys()], group.groupEpoch, group.assignmentEpoch, [...group.target.keys()]], [['m1'], 1, 1, ['m1']]);
    store.failWith = null;
    const again = await share(c, 'm1', 1);
    assert.deepEqual([again.errorCode, again.memberEpoch], [ErrorCode.NONE, 1]);
    assert.equal((await share(c, 'm2', 0)).memberEpoch, 2);
  });

  test('each kind of failed heartbeat leaves every member, the membership and the target as they were, also what changed meanwhile', async () => {
    const t = setup();
    const c = t.coordinator;
    const state = () => stateOf(c.share.groups.get('sg'));
    await share(c, 'm1', 0);
    await share(c, 'm2', 0);
    const epochOf = (id: string) => c.share.groups.get('sg')!.members.get(id)!.memberEpoch;
    await failEach(t.store, state, [
      ['a new member', () => share(c, 'm3', 0)],
      ['a leave', () => share(c, 'm1', -1)],
      [
        'a subscription change',
        () => c.shareGroupHeartbeat({ groupId: 'sg', memberId: 'm1', memberEpoch: epochOf('m1'), rackId: null, subscribedTopicNames: ['t', 'other'] }, 'c', '/127.0.0.1'),
      ],
    ]);
    const members = () => c.share.groups.get('sg')!.members.size;
    await failAfterAll(
      t,
      state,
      members,
      60_000,
      () => share(c, 'm3', 0),
      () => share(c, 'nobody', 5),
    );
  });
});

describe('DeleteGroups whose tombstones cannot be written (Kafka: the runtime reverts the deletion)', () => {
  test('a classic, consumer or share group and its offsets are still there, and a retry deletes them', async () => {
    const { coordinator: c, store } = setup();
    assert.deepEqual(codes(await commit(c, { groupId: 'classic' })), [ErrorCode.NONE]);
    assert.equal((await joinConsumerGroup(c, 'cg')).errorCode, ErrorCode.NONE);
    assert.equal((await joinConsumerGroup(c, 'cg')).errorCode, ErrorCode.NONE);
    const left = await consumerBeat(c, 'cg', 'm', -1);
    assert.equal(left.errorCode, ErrorCode.NONE);
    assert.deepEqual(codes(await commit(c, { groupId: 'cg', apiVersion: 9 })), [ErrorCode.NONE]);
    const share = await c.shareGroupHeartbeat({ groupId: 'sg', memberId: 'm', memberEpoch: 0, rackId: null, subscribedTopicNames: ['t'] }, 'c', '/127.0.0.1');
    assert.equal(
      (await c.shareGroupHeartbeat({ groupId: 'sg', memberId: 'm', memberEpoch: -1, rackId: null, subscribedTopicNames: null }, 'c', '/127.0.0.1')).errorCode,
      ErrorCode.NONE,
    );
    assert.equal(share.errorCode, ErrorCode.NONE);
    const before = groupIds(c).sort();
    assert.deepEqual(before, ['cg:consumer', 'classic:classic', 'sg:share']);
    const committed = (groupId: string) => c.fetchOffsets(groupId, [{ name: 't', partitionIndexes: [0] }])[0]?.partitions[0]?.committedOffset;
    store.failWith = new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, 'log directory failed');
    const failed = await c.deleteGroups(['classic', 'cg', 'sg']);
    assert.deepEqual(
      failed.map((r) => r.errorCode),
      [ErrorCode.NOT_COORDINATOR, ErrorCode.NOT_COORDINATOR, ErrorCode.NOT_COORDINATOR],
    );
    assert.deepEqual(groupIds(c).sort(), before);
    assert.deepEqual([committed('classic'), committed('cg')], [42, 42]);
    store.failWith = null;
    const deleted = await c.deleteGroups(['classic', 'cg', 'sg']);
    assert.deepEqual(
      deleted.map((r) => r.errorCode),
      [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.NONE],
    );
    assert.deepEqual(groupIds(c), []);
  });
});

describe('an empty group giving way to another type, in a heartbeat that fails (Kafka: one write, reverted)', () => {
  test('the classic group is still there, with its offsets; once the write succeeds it is a consumer group', async () => {
    const { coordinator: c, store } = setup();
    assert.deepEqual(codes(await commit(c, { groupId: 'g' })), [ErrorCode.NONE]);
    store.failWith = new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'moved');
    assert.equal((await joinConsumerGroup(c, 'g')).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.deepEqual(groupIds(c), ['g:classic']);
    // A heartbeat refused outright gives nothing away either.
    store.failWith = null;
    const refused = await consumerBeat(c, 'g', 'x', 3);
    assert.equal(refused.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    assert.deepEqual(groupIds(c), ['g:classic']);
    assert.equal(store.records.length, 1);
    assert.equal((await joinConsumerGroup(c, 'g')).errorCode, ErrorCode.NONE);
    assert.deepEqual(groupIds(c), ['g:consumer']);
    assert.equal(c.fetchOffsets('g', [{ name: 't', partitionIndexes: [0] }])[0]?.partitions[0]?.committedOffset, 42);
  });
});
