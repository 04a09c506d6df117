// What a failed write to __consumer_offsets leaves behind, beyond the heartbeats and commits of
// offset-commit-edges.test.ts: the classic group's SyncGroup and static member replacement (Kafka
// 4.4's GroupMetadataManager reverts them in their append futures), the writes run from timers
// (KIP-848 and share session and rebalance timeouts: the runtime reverts the state and retries
// the timer 500 ms later), an online downgrade, and a deletion's offsets pending in a transaction.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import type { GroupCoordinator } from '../../src/coordinator/group-coordinator.js';
import { logWriteFailure } from '../../src/coordinator/write-errors.js';
import { classicJoinRequest, consumerHeartbeat } from '../helpers/requests.js';
import { coordinatorFixture, countedMemberIds, joinClassic, type MemoryStore } from '../helpers/coordinator.js';
import { decodeGroupValue, decodeKey, type GroupValue } from '../../src/coordinator/records.js';
import { Writer } from '../../src/protocol/primitives.js';
import { encodeConsumerProtocolSubscription } from '../../src/protocol/generated/consumer-protocol-subscription.js';
import { encodeConsumerProtocolAssignment } from '../../src/protocol/generated/consumer-protocol-assignment.js';

/** A coordinator logger that keeps `level: message` of each warning and error. */
function levelRecordingLogger() {
  const logged: string[] = [];
  const logger = {
    info: () => {},
    warn: (_: object, msg: string) => logged.push(`warn: ${msg}`),
    error: (_: object, msg: string) => logged.push(`error: ${msg}`),
  };
  return { logged, logger };
}

const TOPICS = [
  { id: '00000000-0000-0000-0000-000000000001', name: 't', numPartitions: 4 },
  { id: '00000000-0000-0000-0000-000000000002', name: 'other', numPartitions: 2 },
];

function setup() {
  return coordinatorFixture({
    topics: TOPICS,
    newMemberId: countedMemberIds(),
    consumer: {},
    share: { config: () => ({ heartbeatIntervalMs: 1000, sessionTimeoutMs: 10_000 }), maxSize: 10 },
  });
}

const failingWrite = new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, 'the ISR shrank');

/** A classic group's state as text (timers and waiters as whether they are set). */
const classicState = (c: GroupCoordinator, groupId = 'g') =>
  JSON.stringify(c.groups.get(groupId), (k, v: unknown) => (k === 'ctx' ? undefined : v instanceof Map ? [...v] : typeof v === 'function' ? 'set' : v));

const syncOf = (c: GroupCoordinator, memberId: string, generationId: number, instanceId: string | null = null, assignment = 'a') =>
  c.sync('g', {
    memberId,
    groupInstanceId: instanceId,
    generationId,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: [{ memberId, assignment: Buffer.from(assignment) }],
  });

describe("the classic group's writes (Kafka 4.4: GroupMetadataManager's append futures)", () => {
  test("a leader's SyncGroup: CompletingRebalance until stored; a failed write answers the error, clears the assignment, rebalances", async () => {
    const { coordinator: c, store } = setup();
    const joined = await joinClassic(c);
    const g = c.groups.get('g')!;
    store.held = [];
    const syncing = syncOf(c, joined.memberId, joined.generationId);
    // While the assignment is written, the group is still completing its rebalance: a plain commit
    // waits for it, and the member holds no assignment yet.
    assert.equal(g.state, 'CompletingRebalance');
    assert.equal(g.members.get(joined.memberId)!.assignment.length, 0);
    const commit = await c.commitOffsets({
      groupId: 'g',
      generationId: joined.generationId,
      memberId: joined.memberId,
      groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    assert.equal(commit[0]!.partitions[0]!.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    store.held[0]!.fail(failingWrite);
    const answer = await syncing;
    assert.equal(answer.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(g.state, 'PreparingRebalance');
    assert.equal(g.generationId, joined.generationId);
    assert.equal(g.members.get(joined.memberId)!.assignment.length, 0);
    // The member rejoins and syncs: a new generation, stored, Stable with the assignment.
    store.held = null;
    const again = await c.join('g', classicJoinRequest(joined.memberId));
    assert.equal(again.generationId, joined.generationId + 1);
    assert.equal((await syncOf(c, joined.memberId, again.generationId)).errorCode, ErrorCode.NONE);
    assert.equal(g.state, 'Stable');
    assert.equal(g.members.get(joined.memberId)!.assignment.toString(), 'a');
  });

  test('a follower syncing while the assignment is written gets it once stored', async () => {
    const { coordinator: c, store } = setup();
    const first = await c.join('g', classicJoinRequest(''));
    const second = await c.join('g', classicJoinRequest(''));
    const [a, b] = await Promise.all([c.join('g', classicJoinRequest(first.memberId)), c.join('g', classicJoinRequest(second.memberId))]);
    const leader = a.leader === a.memberId ? a : b;
    const follower = leader === a ? b : a;
    store.held = [];
    const leaderSync = c.sync('g', {
      memberId: leader.memberId,
      groupInstanceId: null,
      generationId: leader.generationId,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [
        { memberId: leader.memberId, assignment: Buffer.from('L') },
        { memberId: follower.memberId, assignment: Buffer.from('F') },
      ],
    });
    const followerSync = syncOf(c, follower.memberId, follower.generationId, null, 'ignored');
    store.held[0]!.release();
    const [l, f] = await Promise.all([leaderSync, followerSync]);
    assert.deepEqual([l.errorCode, l.assignment.toString(), f.errorCode, f.assignment.toString()], [ErrorCode.NONE, 'L', ErrorCode.NONE, 'F']);
    assert.equal(c.groups.get('g')!.state, 'Stable');
  });

  test('a static member replaced in a Stable group: a failed write puts the old member id back and answers with no member id', async () => {
    const { coordinator: c, store } = setup();
    const joined = await joinClassic(c, 'i1');
    assert.equal((await syncOf(c, joined.memberId, joined.generationId, 'i1')).errorCode, ErrorCode.NONE);
    const before = classicState(c);
    store.failWith = failingWrite;
    const replaced = await c.join('g', classicJoinRequest('', { groupInstanceId: 'i1', clientId: 'restarted', sessionTimeoutMs: 20_000 }));
    assert.deepEqual(
      [replaced.errorCode, replaced.memberId, replaced.generationId, replaced.protocolName, replaced.leader],
      [ErrorCode.COORDINATOR_NOT_AVAILABLE, '', joined.generationId, 'range', joined.memberId],
    );
    assert.equal(classicState(c), before);
    // The old member carries on; a retry that is written replaces it.
    store.failWith = null;
    assert.equal(c.heartbeat('g', joined.memberId, 'i1', joined.generationId), ErrorCode.NONE);
    const retried = await c.join('g', classicJoinRequest('', { groupInstanceId: 'i1' }));
    assert.equal(retried.errorCode, ErrorCode.NONE);
    assert.notEqual(retried.memberId, joined.memberId);
    assert.equal(c.heartbeat('g', joined.memberId, 'i1', joined.generationId), ErrorCode.FENCED_INSTANCE_ID);
  });
});

/** A group's whole state as text: maps and sets as lists, timers as whether they run. */
const stateOf = (group: unknown) => JSON.stringify(group, (_k, v: unknown) => (v instanceof Map ? [...v] : v instanceof Set ? [...v] : typeof v === 'function' ? 'timer' : v));

const consumerBeat = (c: GroupCoordinator, memberId: string, memberEpoch: number, over: Parameters<typeof consumerHeartbeat>[4] = {}) =>
  c.consumerGroupHeartbeat(consumerHeartbeat('cg', memberId, memberEpoch, ['t'], over), 1, 'c', '/127.0.0.1');

const shareBeat = (c: GroupCoordinator, memberId: string, memberEpoch: number) =>
  c.shareGroupHeartbeat({ groupId: 'sg', memberId, memberEpoch, rackId: null, subscribedTopicNames: memberEpoch === 0 ? ['t'] : null }, 'c', '/127.0.0.1');

/** The group records of `groupId` in the store, decoded (null: a tombstone). */
const groupRecords = (store: MemoryStore, groupId = 'g') =>
  store.records.filter((r) => decodeKey(r.key)?.kind === 'group' && decodeKey(r.key)!.group === groupId).map((r) => (r.value ? decodeGroupValue(r.value) : null));

/** A record's members as [member id, assignment] pairs. */
const assignmentsOf = (v: GroupValue | null) => v!.members.map((m) => [m.memberId, m.assignment.toString()]);

describe("when the classic group is written (Kafka 4.4's GroupMetadataManager)", () => {
  test("a join phase that ends with members writes nothing and answers at once; the leader's SyncGroup writes the group with the assignment", async () => {
    const { coordinator: c, store } = setup();
    const a = await joinClassic(c);
    assert.equal((await syncOf(c, a.memberId, a.generationId)).errorCode, ErrorCode.NONE);
    const appends = store.appends;
    const records = store.records.length;
    // Any write from here on is held: the joins must not need one.
    store.held = [];
    const first = await c.join('g', classicJoinRequest(''));
    const [leader, follower] = await Promise.all([c.join('g', classicJoinRequest(a.memberId)), c.join('g', classicJoinRequest(first.memberId))]);
    assert.deepEqual([leader.errorCode, follower.errorCode, leader.generationId, follower.generationId], [ErrorCode.NONE, ErrorCode.NONE, 2, 2]);
    assert.equal(c.groups.get('g')!.state, 'CompletingRebalance');
    assert.deepEqual([store.appends, store.held.length], [appends, 0]);
    // The leader's SyncGroup: one write, the whole group with each member's assignment.
    const followerSync = syncOf(c, follower.memberId, 2, null, 'ignored');
    const leaderSync = c.sync('g', {
      memberId: a.memberId,
      groupInstanceId: null,
      generationId: 2,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [
        { memberId: a.memberId, assignment: Buffer.from('A') },
        { memberId: follower.memberId, assignment: Buffer.from('B') },
      ],
    });
    assert.deepEqual([store.appends, store.held.length], [appends + 1, 1]);
    store.held[0]!.release();
    assert.deepEqual([(await leaderSync).assignment.toString(), (await followerSync).assignment.toString()], ['A', 'B']);
    assert.equal(store.records.length, records + 1);
    const stored = groupRecords(store).at(-1)!;
    assert.deepEqual([stored.generation, stored.protocolType, stored.protocol, stored.leader], [2, 'consumer', 'range', a.memberId]);
    assert.deepEqual(assignmentsOf(stored), [
      [a.memberId, 'A'],
      [follower.memberId, 'B'],
    ]);
  });

  test('a join phase that ends with no member writes the group Empty; the LeaveGroup that ended it waits for the write and answers its error', async () => {
    const { coordinator: c, store } = setup();
    const a = await joinClassic(c);
    assert.equal((await syncOf(c, a.memberId, a.generationId)).errorCode, ErrorCode.NONE);
    const appends = store.appends;
    store.held = [];
    let answered = false;
    const leaving = c.leave('g', [{ memberId: a.memberId, groupInstanceId: null }]).then((r) => {
      answered = true;
      return r;
    });
    await new Promise<void>((r) => setImmediate(r));
    assert.deepEqual([answered, store.appends, c.groups.get('g')!.state], [false, appends + 1, 'Empty']);
    store.held[0]!.release();
    assert.deepEqual(await leaving, { errorCode: ErrorCode.NONE, members: [ErrorCode.NONE] });
    const stored = groupRecords(store).at(-1)!;
    assert.deepEqual([stored.generation, stored.protocolType, stored.protocol, stored.leader, stored.members.length], [a.generationId + 1, 'consumer', null, null, 0]);
    // A failed write is the whole answer's error; the group is Empty all the same (Kafka keeps
    // the classic group's state, which is not reverted, and only logs the failure).
    store.held = null;
    const b = await joinClassic(c);
    assert.equal((await syncOf(c, b.memberId, b.generationId)).errorCode, ErrorCode.NONE);
    store.failWith = failingWrite;
    assert.deepEqual(await c.leave('g', [{ memberId: b.memberId, groupInstanceId: null }]), { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] });
    const g = c.groups.get('g')!;
    assert.deepEqual([g.state, g.generationId, g.members.size], ['Empty', b.generationId + 1, 0]);
  });

  test('a failed classic group write is logged as a warning when the partition moved or is short of replicas, else as an error', async () => {
    // Kafka 4.4 logs these at warn: a coordinator failover in cluster mode fails the writes under
    // way with NOT_LEADER_OR_FOLLOWER, and is no error of the broker's.
    const { logged, logger } = levelRecordingLogger();
    const { coordinator: c, store } = coordinatorFixture({ newMemberId: countedMemberIds(), logger });
    const cases: [Error, string][] = [
      [new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'no longer the leader'), 'warn'],
      [new KafkaError(ErrorCode.NOT_COORDINATOR, 'the partition moved'), 'warn'],
      [failingWrite, 'warn'],
      [new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'the ISR did not answer'), 'warn'],
      [new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, 'too large'), 'error'],
      [new Error('a bug'), 'error'],
    ];
    for (const [i, [err, level]] of cases.entries()) {
      store.failWith = null;
      const a = await joinClassic(c);
      assert.equal((await syncOf(c, a.memberId, a.generationId)).errorCode, ErrorCode.NONE);
      logged.length = 0;
      store.failWith = err;
      // The last member leaves: the join phase ends with no member, and the Empty group's write fails.
      assert.notEqual((await c.leave('g', [{ memberId: a.memberId, groupInstanceId: null }])).errorCode, ErrorCode.NONE);
      // A new group's write fails.
      assert.equal((await c.join(`new-${i}`, classicJoinRequest(''))).errorCode, ErrorCode.MEMBER_ID_REQUIRED);
      await new Promise<void>((r) => setImmediate(r));
      assert.deepEqual(logged, [`${level}: persisting an empty group failed`, `${level}: writing a new group failed`], err.message);
    }
  });

  test("a stopped coordinator's lookups are COORDINATOR_NOT_AVAILABLE, logged as a warning", async () => {
    // A broker shutting down (a rolling restart) answers lookups under way so; nothing failed.
    const { logged, logger } = levelRecordingLogger();
    const { coordinator: c } = coordinatorFixture({ logger });
    await c.ready('g');
    c.shutdown();
    const err: unknown = await c.ready('g').then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof KafkaError && err.code === ErrorCode.COORDINATOR_NOT_AVAILABLE, String(err));
    logWriteFailure(logger, err, {}, 'cannot prepare the coordinator');
    assert.deepEqual(logged, ['warn: cannot prepare the coordinator']);
  });

  test('the same for the other group writes: consumer and share heartbeats, offset commits, deletions', async () => {
    const { logged, logger } = levelRecordingLogger();
    const { coordinator: c, store } = coordinatorFixture({
      topics: TOPICS,
      newMemberId: countedMemberIds(),
      consumer: {},
      share: { config: () => ({ heartbeatIntervalMs: 1000, sessionTimeoutMs: 10_000 }), maxSize: 10 },
      logger,
    });
    const commit = () =>
      c.commitOffsets({
        groupId: 'o',
        generationId: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: '' }] }],
      });
    await commit();
    for (const [err, level, code] of [
      [new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'no longer the leader'), 'warn', ErrorCode.NOT_COORDINATOR],
      [new Error('a bug'), 'error', ErrorCode.UNKNOWN_SERVER_ERROR],
    ] as const) {
      logged.length = 0;
      store.failWith = err;
      assert.notEqual((await consumerBeat(c, 'm', 0)).errorCode, ErrorCode.NONE);
      assert.notEqual((await shareBeat(c, 's', 0)).errorCode, ErrorCode.NONE);
      assert.deepEqual(await c.deleteGroups(['o']), [{ groupId: 'o', errorCode: code }]);
      await commit();
      const expected = ['writing consumer group records failed', 'writing the share group epoch failed', 'writing group tombstones failed'].map((m) => `${level}: ${m}`);
      // A commit failing because the partition moved is not logged at all (one per consumer).
      if (level === 'error') expected.push('error: storing offsets failed');
      assert.deepEqual(logged, expected, err.message);
    }
  });

  test('a new group: its JoinGroup writes it empty (generation 0, no protocol type), a failed write takes it away again', async () => {
    const { coordinator: c, store } = setup();
    const first = await c.join('g', classicJoinRequest(''));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.deepEqual([store.appends, store.records.length], [1, 1]);
    assert.deepEqual(groupRecords(store), [{ protocolType: '', generation: 0, protocol: null, leader: null, stateTimestamp: 1_000_000, members: [] }]);
    // The group exists now: the next joins write nothing until the leader's SyncGroup.
    const joined = await c.join('g', classicJoinRequest(first.memberId));
    assert.deepEqual([joined.errorCode, store.appends], [ErrorCode.NONE, 1]);
    // A join Kafka refuses at once still makes (and writes) the group.
    assert.equal((await c.join('bad', classicJoinRequest('', { protocols: [] }))).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.deepEqual([groupRecords(store, 'bad').length, c.groups.get('bad')?.state], [1, 'Empty']);

    // The write fails: MEMBER_ID_REQUIRED was answered (Kafka answers it before the write), the
    // group is gone, and the member id it handed out names no group.
    store.failWith = failingWrite;
    const lost = await c.join('h', classicJoinRequest(''));
    assert.equal(lost.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal(c.groups.has('h'), false);
    assert.equal((await c.join('h', classicJoinRequest(lost.memberId))).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    // A member added by its first join waits for the write and is told its error, with no member id.
    store.failWith = null;
    store.held = [];
    const added = c.join('h', classicJoinRequest('', { requireKnownMemberId: false }));
    assert.equal(store.held.length, 1);
    store.held[0]!.fail(failingWrite);
    assert.deepEqual([(await added).errorCode, (await added).memberId], [ErrorCode.COORDINATOR_NOT_AVAILABLE, '']);
    assert.equal(c.groups.has('h'), false);
    assert.equal(groupRecords(store, 'h').length, 0);
  });

  test('an Empty group without offsets is tombstoned by the next expiry pass, however recently it emptied', async () => {
    // Kafka's cleanupGroupMetadata: cleanupExpiredOffsets counts a group with no offsets as all
    // expired, and maybeDeleteGroup then deletes an Empty classic group.
    const { coordinator: c, store } = setup();
    const a = await joinClassic(c);
    assert.equal((await syncOf(c, a.memberId, a.generationId)).errorCode, ErrorCode.NONE);
    assert.equal((await c.leave('g', [{ memberId: a.memberId, groupInstanceId: null }])).errorCode, ErrorCode.NONE);
    const records = store.records.length;
    await c.expireOffsets();
    assert.equal(c.groups.has('g'), false);
    assert.deepEqual([store.records.length, groupRecords(store).at(-1)], [records + 1, null]);
  });

  test("an empty consumer group giving way: its tombstones and the new classic group's record in one write", async () => {
    const { coordinator: c, store } = setup();
    assert.equal((await consumerBeat(c, 'm', 0)).errorCode, ErrorCode.NONE);
    assert.equal((await consumerBeat(c, 'm', -1)).errorCode, ErrorCode.NONE);
    const batches = store.batches.length;
    const first = await c.join('cg', classicJoinRequest(''));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal(store.batches.length, batches + 1);
    const batch = store.batches.at(-1)!;
    const last = batch.at(-1)!;
    assert.ok(
      batch.slice(0, -1).every((r) => r.value === null && decodeKey(r.key) === null),
      'the consumer group tombstones first',
    );
    assert.deepEqual([decodeKey(last.key), decodeGroupValue(last.value!)!.generation], [{ kind: 'group', group: 'cg' }, 0]);
    assert.deepEqual([c.consumer.groups.has('cg'), c.groups.get('cg')?.state], [false, 'Empty']);
  });
});

describe("timers whose write fails (Kafka's runtime: the state reverted, the timer run again 500 ms later)", () => {
  test("a KIP-848 member's session timeout", async () => {
    const { coordinator: c, store, clock } = setup();
    await consumerBeat(c, 'm1', 0);
    const m2 = await consumerBeat(c, 'm2', 0);
    await clock.advance(5000);
    assert.equal((await consumerBeat(c, 'm2', m2.memberEpoch)).errorCode, ErrorCode.NONE);
    const state = () => stateOf(c.consumer.groups.get('cg'));
    const before = state();
    store.failWith = failingWrite;
    const appends = store.appends;
    await clock.advance(5000);
    assert.equal(store.appends, appends + 1, "m1's session ended: its removal was written");
    assert.equal(state(), before);
    await clock.advance(499);
    assert.equal(store.appends, appends + 1);
    await clock.advance(1);
    assert.equal(store.appends, appends + 2, 'tried again 500 ms later');
    assert.equal(state(), before);
    store.failWith = null;
    await clock.advance(500);
    const group = c.consumer.groups.get('cg')!;
    assert.deepEqual([...group.members.keys()], ['m2']);
    assert.equal(group.groupEpoch, 3);
  });

  test("a KIP-848 member's rebalance timeout (it does not revoke in time)", async () => {
    const { coordinator: c, store, clock } = setup();
    const m1 = await consumerBeat(c, 'm1', 0, { rebalanceTimeoutMs: 3000 });
    const all = m1.assignment?.topicPartitions ?? [];
    assert.equal(all[0]?.partitions.length, 4);
    const settled = await consumerBeat(c, 'm1', m1.memberEpoch, { topicPartitions: all });
    const m2 = await consumerBeat(c, 'm2', 0);
    // m1 is told to give up half its partitions, and keeps them.
    const told = await consumerBeat(c, 'm1', settled.memberEpoch, { topicPartitions: all });
    assert.equal(c.consumer.groups.get('cg')!.members.get('m1')!.rebalanceTimer !== null, true);
    await clock.advance(2000);
    await consumerBeat(c, 'm1', told.memberEpoch, { topicPartitions: all });
    await consumerBeat(c, 'm2', m2.memberEpoch, { topicPartitions: [] });
    const state = () => stateOf(c.consumer.groups.get('cg'));
    const before = state();
    store.failWith = failingWrite;
    const appends = store.appends;
    await clock.advance(1000);
    assert.equal(store.appends, appends + 1);
    assert.equal(state(), before);
    store.failWith = null;
    await clock.advance(500);
    assert.deepEqual([...c.consumer.groups.get('cg')!.members.keys()], ['m2']);
  });

  test("a share group member's session timeout", async () => {
    const { coordinator: c, store, clock } = setup();
    await shareBeat(c, 'm1', 0);
    const m2 = await shareBeat(c, 'm2', 0);
    await clock.advance(5000);
    assert.equal((await shareBeat(c, 'm2', m2.memberEpoch)).errorCode, ErrorCode.NONE);
    const state = () => stateOf(c.share.groups.get('sg'));
    const before = state();
    store.failWith = failingWrite;
    const appends = store.appends;
    await clock.advance(5000);
    assert.equal(store.appends, appends + 1);
    assert.equal(state(), before);
    await clock.advance(500);
    assert.equal(store.appends, appends + 2, 'tried again 500 ms later');
    assert.equal(state(), before);
    store.failWith = null;
    await clock.advance(500);
    assert.deepEqual([...c.share.groups.get('sg')!.members.keys()], ['m2']);
    assert.equal(c.share.groups.get('sg')!.groupEpoch, 3);
  });

  test('a session ending while a join is written: both fail, both are undone (the later first)', async () => {
    const { coordinator: c, store, clock } = setup();
    await consumerBeat(c, 'm1', 0);
    const state = () => stateOf(c.consumer.groups.get('cg'));
    const before = state();
    store.held = [];
    const joining = consumerBeat(c, 'm2', 0);
    await clock.advance(10_000);
    assert.equal(c.consumer.groups.get('cg')!.members.size, 0);
    assert.equal(store.held.length, 3);
    for (const w of store.held) w.fail(failingWrite);
    assert.equal((await joining).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(state(), before);
  });
});

/** A consumer-protocol subscription of topic 't' (what a classic consumer sends in JoinGroup). */
function subscription(): Buffer {
  const w = new Writer(64);
  w.int16(1);
  encodeConsumerProtocolSubscription(w, 1, { topics: ['t'], userData: null, ownedPartitions: [], generationId: -1, rackId: null });
  return w.finish();
}

/** Consumer group 'cg' with KIP-848 member 'm' and a classic member: the classic member's id and generation. */
async function mixedGroup(c: GroupCoordinator) {
  assert.equal((await consumerBeat(c, 'm', 0)).errorCode, ErrorCode.NONE);
  const req = classicJoinRequest('', { protocols: [{ name: 'range', metadata: subscription() }], requireKnownMemberId: false });
  const joined = await c.join('cg', req);
  assert.equal(joined.errorCode, ErrorCode.NONE);
  return joined;
}

describe("a consumer group's classic members and its downgrade, with a write that fails", () => {
  test("a classic JoinGroup and LeaveGroup: the error (the whole LeaveGroup answer's), the group as it was", async () => {
    const { coordinator: c, store } = setup();
    const classic = await mixedGroup(c);
    const state = () => stateOf(c.consumer.groups.get('cg'));
    const before = state();
    store.failWith = failingWrite;
    const req = classicJoinRequest('', { protocols: [{ name: 'range', metadata: subscription() }], requireKnownMemberId: false });
    const joined = await c.join('cg', req);
    assert.deepEqual([joined.errorCode, joined.memberId], [ErrorCode.COORDINATOR_NOT_AVAILABLE, '']);
    assert.equal(state(), before);
    assert.deepEqual(await c.leave('cg', [{ memberId: classic.memberId, groupInstanceId: null }]), { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] });
    assert.equal(state(), before);
    store.failWith = null;
    assert.deepEqual(await c.leave('cg', [{ memberId: classic.memberId, groupInstanceId: null }]), { errorCode: ErrorCode.NONE, members: [ErrorCode.NONE] });
  });

  test('the last KIP-848 member leaves: a failed downgrade leaves the consumer group, no classic group', async () => {
    const { coordinator: c, store } = setup();
    const classic = await mixedGroup(c);
    const state = () => stateOf(c.consumer.groups.get('cg'));
    const before = state();
    const epoch = c.consumer.groups.get('cg')!.members.get('m')!.memberEpoch;
    store.failWith = failingWrite;
    assert.equal((await consumerBeat(c, 'm', -1)).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(c.groups.has('cg'), false);
    assert.equal(state(), before);
    assert.notEqual(c.heartbeat('cg', classic.memberId, null, classic.generationId), ErrorCode.UNKNOWN_MEMBER_ID);
    store.failWith = null;
    assert.equal((await consumerBeat(c, 'm', epoch)).errorCode, ErrorCode.NONE);
    assert.equal((await consumerBeat(c, 'm', -1)).errorCode, ErrorCode.NONE);
    assert.equal(c.consumer.groups.has('cg'), false);
    assert.equal(c.groups.get('cg')?.state, 'PreparingRebalance');
  });

  test("the last KIP-848 member's session ends: the downgrade is undone and tried again", async () => {
    const { coordinator: c, store, clock } = setup();
    const classic = await mixedGroup(c);
    const beatClassic = () =>
      assert.notEqual(c.heartbeat('cg', classic.memberId, null, c.consumer.groups.get('cg')?.members.get(classic.memberId)?.memberEpoch ?? -9), ErrorCode.UNKNOWN_MEMBER_ID);
    await clock.advance(5000);
    beatClassic();
    const state = () => stateOf(c.consumer.groups.get('cg'));
    const before = state();
    store.failWith = failingWrite;
    await clock.advance(5000);
    assert.equal(c.groups.has('cg'), false);
    assert.equal(state(), before);
    store.failWith = null;
    await clock.advance(500);
    assert.equal(c.consumer.groups.has('cg'), false);
    assert.ok(c.groups.get('cg'), 'a classic group once written');
  });
});

describe('an empty consumer group giving way to a classic JoinGroup whose write fails (Kafka: one write, reverted)', () => {
  test('the join is told the error and the consumer group stays; once written, the group is classic', async () => {
    const { coordinator: c, store } = setup();
    assert.equal((await consumerBeat(c, 'm', 0)).errorCode, ErrorCode.NONE);
    assert.equal((await consumerBeat(c, 'm', -1)).errorCode, ErrorCode.NONE);
    const req = classicJoinRequest('', { requireKnownMemberId: false });
    store.failWith = new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'moved');
    assert.equal((await c.join('cg', req)).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.deepEqual([c.consumer.groups.has('cg'), c.groups.has('cg')], [true, false]);
    store.failWith = null;
    assert.equal((await c.join('cg', req)).errorCode, ErrorCode.NONE);
    assert.deepEqual([c.consumer.groups.has('cg'), c.groups.has('cg')], [false, true]);
  });
});

describe('an online upgrade whose write fails (Kafka: the classic group as it was)', () => {
  test('a Stable classic group a KIP-848 member joins: the error, the classic group unchanged, no consumer group', async () => {
    const { coordinator: c, store } = setup();
    const req = classicJoinRequest('', { protocols: [{ name: 'range', metadata: subscription() }], requireKnownMemberId: false });
    const joined = await c.join('cg', req);
    const w = new Writer(64);
    w.int16(0);
    encodeConsumerProtocolAssignment(w, 0, { assignedPartitions: [{ topic: 't', partitions: [0, 1, 2, 3] }], userData: null });
    const synced = await c.sync('cg', {
      memberId: joined.memberId,
      groupInstanceId: null,
      generationId: joined.generationId,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [{ memberId: joined.memberId, assignment: w.finish() }],
    });
    assert.equal(synced.errorCode, ErrorCode.NONE);
    const before = classicState(c, 'cg');
    store.failWith = failingWrite;
    assert.equal((await consumerBeat(c, 'm', 0)).errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.equal(c.consumer.groups.has('cg'), false);
    assert.equal(classicState(c, 'cg'), before);
    assert.equal(c.heartbeat('cg', joined.memberId, null, joined.generationId), ErrorCode.NONE);
    store.failWith = null;
    assert.equal((await consumerBeat(c, 'm', 0)).errorCode, ErrorCode.NONE);
    assert.equal(c.groups.has('cg'), false);
    assert.deepEqual([...c.consumer.groups.get('cg')!.members.keys()].sort(), [joined.memberId, 'm'].sort());
  });
});

describe('a deletion whose tombstones fail puts back the offsets pending in open transactions', () => {
  const txnCommit = (c: GroupCoordinator, groupId: string, producerId: number, partition: number, offset: number) =>
    c.commitTxnOffsets({
      groupId,
      memberId: '',
      generationId: -1,
      groupInstanceId: null,
      producerId,
      producerEpoch: 0,
      apiVersion: 5,
      topics: [{ name: 't', partitions: [{ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: '' }] }],
    });
  const committed = (c: GroupCoordinator, groupId: string, partition: number) =>
    c.fetchOffsets(groupId, [{ name: 't', partitionIndexes: [partition] }])[0]!.partitions[0]!.committedOffset;

  test('DeleteGroups of a classic group: its committed and pending offsets are back; the COMMIT marker commits them', async () => {
    const { coordinator: c, store } = setup();
    await c.commitOffsets({
      groupId: 'g',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: '' }] }],
    });
    await txnCommit(c, 'g', 7, 1, 11);
    await txnCommit(c, 'g', 8, 2, 12);
    store.failWith = failingWrite;
    assert.deepEqual(await c.deleteGroups(['g']), [{ groupId: 'g', errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE }]);
    assert.equal(c.hasPendingTxnOffset('g', 't', 1), true);
    assert.equal(c.hasPendingTxnOffset('g', 't', 2), true);
    store.failWith = null;
    c.completeTransaction(7, true, c.partitionFor('g'));
    c.completeTransaction(8, false, c.partitionFor('g'));
    assert.deepEqual([committed(c, 'g', 0), committed(c, 'g', 1), committed(c, 'g', 2)], [5, 11, -1]);
  });

  test('DeleteGroups of a consumer group; a transaction that ends during the write gets nothing back', async () => {
    const { coordinator: c, store } = setup();
    assert.equal((await consumerBeat(c, 'm', 0)).errorCode, ErrorCode.NONE);
    assert.equal((await consumerBeat(c, 'm', -1)).errorCode, ErrorCode.NONE);
    await txnCommit(c, 'cg', 7, 1, 11);
    await txnCommit(c, 'cg', 8, 2, 12);
    store.held = [];
    const deleting = c.deleteGroups(['cg']);
    // Producer 8's transaction commits while the tombstones are written: they were its offset's end.
    c.completeTransaction(8, true, c.partitionFor('cg'));
    store.held[0]!.fail(failingWrite);
    assert.deepEqual(await deleting, [{ groupId: 'cg', errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE }]);
    assert.equal(c.consumer.groups.has('cg'), true);
    assert.deepEqual([c.hasPendingTxnOffset('cg', 't', 1), c.hasPendingTxnOffset('cg', 't', 2)], [true, false]);
    c.completeTransaction(7, true, c.partitionFor('cg'));
    assert.deepEqual([committed(c, 'cg', 1), committed(c, 'cg', 2)], [11, -1]);
  });
});

describe('offset expiry and a deleted topic whose tombstones fail (Kafka: reverted, tried again later)', () => {
  const commitAt = (c: GroupCoordinator, groupId: string, partition: number, apiVersion = 8) =>
    c.commitOffsets({
      groupId,
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      apiVersion,
      topics: [{ name: 't', partitions: [{ partitionIndex: partition, committedOffset: 40 + partition, committedLeaderEpoch: -1, committedMetadata: '' }] }],
    });
  const committed = (c: GroupCoordinator, groupId: string) => c.fetchOffsets(groupId, [{ name: 't', partitionIndexes: [0, 1] }])[0]!.partitions.map((p) => p.committedOffset);

  test("a classic group's expired offset, a consumer group with its offsets, a deleted topic's offsets: all still there", async () => {
    const { coordinator: c, store, clock } = setup();
    await commitAt(c, 'g', 0);
    assert.equal((await consumerBeat(c, 'm', 0)).errorCode, ErrorCode.NONE);
    assert.equal((await consumerBeat(c, 'm', -1)).errorCode, ErrorCode.NONE);
    await commitAt(c, 'cg', 0, 9);
    await clock.advance(30_000);
    await commitAt(c, 'g', 1);
    await clock.advance(30_000);
    store.failWith = failingWrite;
    await c.expireOffsets();
    assert.deepEqual(committed(c, 'g'), [40, 41]);
    assert.deepEqual(committed(c, 'cg'), [40, -1]);
    assert.equal(c.consumer.groups.has('cg'), true);
    await c.deleteTopicOffsets('t');
    assert.deepEqual(committed(c, 'g'), [40, 41]);
    store.failWith = null;
    await c.expireOffsets();
    assert.deepEqual(committed(c, 'g'), [-1, 41]);
    assert.equal(c.consumer.groups.has('cg'), false);
    await c.deleteTopicOffsets('t');
    assert.deepEqual(committed(c, 'g'), [-1, -1]);
  });
});

describe("the groups' per-topic subscriber counts (kept as members change, not counted per heartbeat)", () => {
  /** The counts as the members say: topic → members subscribing. */
  const recount = (members: Iterable<{ subscribedTopicNames: string[] }>) => {
    const out = new Map<string, number>();
    for (const m of members) for (const t of m.subscribedTopicNames) out.set(t, (out.get(t) ?? 0) + 1);
    return [...out].sort();
  };
  const sorted = (m: ReadonlyMap<string, number> | undefined) => [...(m ?? new Map<string, number>())].sort();

  test('a consumer group: joins, subscription changes, leaves, a static take-over, failed writes and a session end', async () => {
    const { coordinator: c, store, clock } = setup();
    const check = (what: string) => {
      const g = c.consumer.groups.get('cg')!;
      // A subscribedTopics lookup counts them if they are unknown.
      c.consumer.isSubscribedToTopic('cg', 'none');
      assert.deepEqual(sorted(g.subscriptions?.names), recount(g.members.values()), what);
    };
    const epoch = (id: string) => c.consumer.groups.get('cg')!.members.get(id)!.memberEpoch;
    await consumerBeat(c, 'm1', 0);
    await consumerBeat(c, 'm2', 0, { subscribedTopicNames: ['t', 'other'] });
    await consumerBeat(c, 'm3', 0, { instanceId: 'i3', subscribedTopicNames: ['other'] });
    check('joins');
    await consumerBeat(c, 'm1', epoch('m1'), { subscribedTopicNames: ['other'] });
    check('a subscription change');
    store.failWith = failingWrite;
    await consumerBeat(c, 'm2', epoch('m2'), { subscribedTopicNames: ['t'] });
    await consumerBeat(c, 'm4', 0);
    await consumerBeat(c, 'm1', -1);
    check('failed writes');
    store.failWith = null;
    await consumerBeat(c, 'm3', -2, { instanceId: 'i3' });
    await consumerBeat(c, 'm3b', 0, { instanceId: 'i3', subscribedTopicNames: ['t'] });
    check('a static take-over');
    await consumerBeat(c, 'm2', -1);
    check('a leave');
    assert.equal(c.consumer.isSubscribedToTopic('cg', 'other'), true);
    await clock.advance(10_000);
    check('sessions ended');
    assert.equal(c.consumer.isSubscribedToTopic('cg', 'other'), false);
  });

  test('a share group: joins, a subscription change, a failed write, a leave', async () => {
    const { coordinator: c, store } = setup();
    const group = () => c.share.groups.get('sg')!;
    const check = (what: string) => assert.deepEqual(sorted(group().subscriptions), recount(group().members.values()), what);
    const beat = (memberId: string, memberEpoch: number, topics: string[] | null) =>
      c.shareGroupHeartbeat({ groupId: 'sg', memberId, memberEpoch, rackId: null, subscribedTopicNames: topics }, 'c', '/127.0.0.1');
    await beat('m1', 0, ['t']);
    await beat('m2', 0, ['t', 'other']);
    check('joins');
    await beat('m1', group().members.get('m1')!.memberEpoch, ['other']);
    check('a subscription change');
    store.failWith = failingWrite;
    await beat('m2', group().members.get('m2')!.memberEpoch, ['t']);
    await beat('m3', 0, ['t']);
    check('failed writes');
    store.failWith = null;
    await beat('m2', -1, null);
    check('a leave');
    assert.deepEqual([...group().subscribedTopics()], ['other']);
  });
});
