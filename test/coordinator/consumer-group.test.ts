// KIP-848 consumer groups in-process: ConsumerGroupHeartbeat through the group coordinator with a
// manual clock and an in-memory __consumer_offsets. Reconciliation, fencing, static members,
// timeouts, offset commits with member epochs, mixed protocols, and replay of the records.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { GroupCoordinator } from '../../src/coordinator/group-coordinator.js';
import type { ConsumerGroupConfig, HeartbeatRequest } from '../../src/coordinator/consumer-group.js';
import type { HeartbeatResponse } from '../../src/coordinator/heartbeat-response.js';
import { rangeAssignor, uniformAssignor } from '../../src/coordinator/consumer-group-assignors.js';
import type { ManualClock } from '../../src/common/clock.js';
import { CG_CURRENT_MEMBER, decodeConsumerGroupKey, decodeCurrentAssignmentValue, encodeCurrentAssignmentValue } from '../../src/coordinator/consumer-group-records.js';
import { Writer } from '../../src/protocol/primitives.js';
import { consumerHeartbeat } from '../helpers/requests.js';
import { coordinatorFixture, MemoryStore } from '../helpers/coordinator.js';

/** How many partitions an assignment (topic id -> partitions) holds. */
const size = (a: Map<string, Set<number>>): number => [...a.values()].reduce((n, p) => n + p.size, 0);

const T1 = '00000000-0000-0000-0000-000000000001';
const T2 = '00000000-0000-0000-0000-000000000002';

function setup(opts: { store?: MemoryStore; clock?: ManualClock; partitions?: number; groupConfigs?: Map<string, Partial<ConsumerGroupConfig>> } = {}) {
  const topics = [
    { id: T1, name: 't1', numPartitions: opts.partitions ?? 4 },
    { id: T2, name: 't2', numPartitions: 2 },
  ];
  const fixture = coordinatorFixture({
    store: opts.store,
    clock: opts.clock,
    topics,
    consumer: { groupConfig: (groupId) => opts.groupConfigs?.get(groupId) ?? {}, maxSize: 3 },
  });
  return { ...fixture, topics };
}

type Owned = { topicId: string; partitions: number[] }[];

function hb(memberId: string, memberEpoch: number, over: Partial<HeartbeatRequest> = {}): HeartbeatRequest {
  return consumerHeartbeat('g', memberId, memberEpoch, ['t1'], over);
}

/** A client that applies what it is told: owns what it was assigned last. */
class Member {
  epoch = 0;
  owned: Owned = [];
  constructor(
    readonly c: GroupCoordinator,
    readonly id: string,
    readonly over: Partial<HeartbeatRequest> = {},
  ) {}
  async beat(extra: Partial<HeartbeatRequest> = {}): Promise<HeartbeatResponse> {
    const r = await this.c.consumerGroupHeartbeat(
      hb(this.id, this.epoch, { ...this.over, ...(this.epoch === 0 ? {} : { topicPartitions: this.owned }), ...extra }),
      1,
      'client',
      '/127.0.0.1',
    );
    if (r.errorCode === ErrorCode.NONE) {
      this.epoch = r.memberEpoch;
      if (r.assignment) this.owned = r.assignment.topicPartitions;
    }
    return r;
  }
  count(): number {
    return this.owned.reduce((n, t) => n + t.partitions.length, 0);
  }
}

/** Every partition owned by at most one member. */
function assertNoDoubleOwnership(members: Member[]): void {
  const seen = new Set<string>();
  for (const m of members) {
    for (const t of m.owned) {
      for (const p of t.partitions) {
        const k = `${t.topicId}:${p}`;
        assert.ok(!seen.has(k), `partition ${k} owned twice`);
        seen.add(k);
      }
    }
  }
}

describe('KIP-848 consumer groups', () => {
  test('assignors: uniform is balanced and sticky, range gives contiguous ranges', () => {
    const members = ['a', 'b', 'c'].map((memberId) => ({ memberId, topics: new Set([T1]), current: undefined }));
    const u = uniformAssignor({ members, partitions: new Map([[T1, 7]]) });
    assert.deepStrictEqual([...u.values()].map((a) => a.get(T1)?.size ?? 0).sort(), [2, 2, 3]);
    // Sticky: a fourth member takes partitions without moving the others' remaining ones.
    const current = new Map([...u].map(([id, a]) => [id, a]));
    const u2 = uniformAssignor({
      members: [...members.map((m) => ({ ...m, current: current.get(m.memberId) })), { memberId: 'd', topics: new Set([T1]), current: undefined }],
      partitions: new Map([[T1, 7]]),
    });
    for (const id of ['a', 'b', 'c']) for (const p of u2.get(id)!.get(T1) ?? []) assert.ok(current.get(id)!.get(T1)!.has(p), `${id} keeps ${p}`);
    assert.deepStrictEqual([...u2.values()].map((a) => a.get(T1)?.size ?? 0).sort(), [1, 2, 2, 2]);
    const r = rangeAssignor({ members, partitions: new Map([[T1, 7]]) });
    assert.deepStrictEqual([...r.get('a')!.get(T1)!], [0, 1, 2]);
    assert.deepStrictEqual([...r.get('b')!.get(T1)!], [3, 4]);
    assert.deepStrictEqual([...r.get('c')!.get(T1)!], [5, 6]);
  });

  test('join, rebalance with revocation first: no partition is ever owned twice', async () => {
    const { coordinator } = setup();
    const a = new Member(coordinator, 'a');
    const r1 = await a.beat();
    assert.equal(r1.errorCode, ErrorCode.NONE);
    assert.equal(r1.memberEpoch, 1);
    assert.equal(a.count(), 4);
    const b = new Member(coordinator, 'b');
    const rb = await b.beat();
    // b joins at epoch 2 but gets nothing a still owns.
    assert.equal(rb.memberEpoch, 2);
    assert.equal(b.count(), 0);
    assertNoDoubleOwnership([a, b]);
    assert.equal(coordinator.consumer.groups.get('g')!.state, 'Reconciling');
    // a is told to revoke two partitions, keeping its epoch until it has.
    const ra = await a.beat();
    assert.equal(ra.memberEpoch, 1);
    assert.equal(a.count(), 2);
    assertNoDoubleOwnership([a, b]);
    // a acknowledges (its heartbeat owns only two): it moves to epoch 2.
    const ra2 = await a.beat();
    assert.equal(ra2.memberEpoch, 2);
    // Now b gets the released partitions.
    await b.beat();
    assert.equal(b.count(), 2);
    assertNoDoubleOwnership([a, b]);
    assert.equal(coordinator.consumer.groups.get('g')!.state, 'Stable');
    // A leave hands everything back to the other member.
    const left = await b.beat({ memberEpoch: -1 });
    assert.equal(left.memberEpoch, -1);
    await a.beat();
    assert.equal(a.count(), 4);
    assert.equal(a.epoch, 3);
  });

  test('fencing, validation and errors', async () => {
    const { coordinator } = setup();
    const a = new Member(coordinator, 'a');
    await a.beat();
    const stale = await coordinator.consumerGroupHeartbeat(hb('a', 7, { topicPartitions: [] }), 1, 'c', 'h');
    assert.equal(stale.errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    const unknown = await coordinator.consumerGroupHeartbeat(hb('zz', 1), 1, 'c', 'h');
    assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await coordinator.consumerGroupHeartbeat(hb('', 0), 1, 'c', 'h')).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await coordinator.consumerGroupHeartbeat(hb('x', 0, { rebalanceTimeoutMs: -1 }), 1, 'c', 'h')).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await coordinator.consumerGroupHeartbeat(hb('x', 0, { serverAssignor: 'sticky' }), 1, 'c', 'h')).errorCode, ErrorCode.UNSUPPORTED_ASSIGNOR);
    assert.equal((await coordinator.consumerGroupHeartbeat(hb('x', 0, { subscribedTopicRegex: 't[' }), 1, 'c', 'h')).errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
    // v0: the coordinator names the member.
    const v0 = await coordinator.consumerGroupHeartbeat(hb('', 0), 0, 'c', 'h');
    assert.equal(v0.errorCode, ErrorCode.NONE);
    assert.ok(v0.memberId);
    // group.consumer.max.size = 3
    assert.equal((await coordinator.consumerGroupHeartbeat(hb('m3', 0), 1, 'c', 'h')).errorCode, ErrorCode.NONE);
    assert.equal((await coordinator.consumerGroupHeartbeat(hb('m4', 0), 1, 'c', 'h')).errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
  });

  test('a lost answer: the member may retry with its previous epoch', async () => {
    const { coordinator } = setup();
    const a = new Member(coordinator, 'a');
    await a.beat();
    const b = new Member(coordinator, 'b');
    await b.beat();
    await a.beat(); // revoke
    const r = await a.beat(); // acknowledged: epoch 2, but say the client never saw this answer
    assert.equal(r.memberEpoch, 2);
    const retry = await coordinator.consumerGroupHeartbeat(hb('a', 1, { topicPartitions: a.owned }), 1, 'c', 'h');
    assert.equal(retry.errorCode, ErrorCode.NONE);
    assert.equal(retry.memberEpoch, 2);
  });

  test('session and rebalance timeouts remove members', async () => {
    const { coordinator, clock } = setup();
    const a = new Member(coordinator, 'a');
    await a.beat();
    const b = new Member(coordinator, 'b');
    await b.beat();
    await a.beat(); // a must revoke two partitions within its rebalance timeout (5 s)
    await clock.advance(4000);
    await b.beat();
    await clock.advance(1500);
    assert.ok(!coordinator.consumer.groups.get('g')!.members.has('a'), 'a missed its rebalance timeout');
    await b.beat();
    assert.equal(b.count(), 4);
    await clock.advance(10_001);
    assert.equal(coordinator.consumer.groups.get('g')!.members.size, 0, 'b missed its session');
    assert.equal(coordinator.consumer.groups.get('g')!.state, 'Empty');
  });

  test('consumer.heartbeat.interval.ms and consumer.session.timeout.ms set on the group override the broker', async () => {
    const { coordinator, clock } = setup({ groupConfigs: new Map([['g', { heartbeatIntervalMs: 700, sessionTimeoutMs: 3000 }]]) });
    const a = new Member(coordinator, 'a');
    assert.equal((await a.beat()).heartbeatIntervalMs, 700);
    const other = new Member(coordinator, 'o', { groupId: 'other' });
    assert.equal((await other.beat()).heartbeatIntervalMs, 1000);
    await clock.advance(3001);
    assert.equal(coordinator.consumer.groups.get('g')!.members.size, 0, "a missed the group's 3 s session");
    assert.equal(coordinator.consumer.groups.get('other')!.members.size, 1, "the broker's 10 s session still holds");
  });

  test('static membership: a member leaving with -2 keeps its partitions for its successor', async () => {
    const { coordinator } = setup();
    const a = new Member(coordinator, 'a1', { instanceId: 'i-a' });
    await a.beat();
    const b = new Member(coordinator, 'b', {});
    await b.beat();
    await a.beat();
    await a.beat();
    await b.beat();
    const before = JSON.stringify(a.owned);
    const epochBefore = coordinator.consumer.groups.get('g')!.groupEpoch;
    // The instance restarts: while it is still there, another member id for it is refused.
    assert.equal((await coordinator.consumerGroupHeartbeat(hb('a2', 0, { instanceId: 'i-a' }), 1, 'c', 'h')).errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
    assert.equal((await a.beat({ memberEpoch: -2 })).memberEpoch, -2);
    const a2 = new Member(coordinator, 'a2', { instanceId: 'i-a' });
    const r = await a2.beat();
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(JSON.stringify(a2.owned), before, 'same partitions, no rebalance');
    assert.equal(coordinator.consumer.groups.get('g')!.groupEpoch, epochBefore);
    assert.ok(!coordinator.consumer.groups.get('g')!.members.has('a1'));
  });

  test('static membership: partitions a member leaving with -2 had yet to revoke go to their new owner', async () => {
    const { coordinator } = setup();
    const a = new Member(coordinator, 'a1', { instanceId: 'i-a' });
    await a.beat();
    const all = a.count();
    const b = new Member(coordinator, 'b', {});
    await b.beat();
    // a is told to give some up; it leaves with -2 before it has.
    await a.beat();
    const group = coordinator.consumer.groups.get('g')!;
    assert.ok(size(group.members.get('a1')!.pendingRevocation) > 0, 'a has partitions to revoke');
    assert.equal(b.count(), 0, 'b waits for them');
    assert.equal((await a.beat({ memberEpoch: -2 })).memberEpoch, -2);
    // As in Kafka, the leave drops what it had to revoke: b gets it without waiting for a's session to end.
    assert.equal(size(group.members.get('a1')!.pendingRevocation), 0);
    await b.beat();
    await b.beat();
    assert.ok(b.count() > 0 && b.count() < all, `b owns ${b.count()} of ${all}`);
  });

  test('offset commits and fetches carry the member epoch', async () => {
    const { coordinator } = setup();
    const a = new Member(coordinator, 'a');
    await a.beat();
    const commit = (memberId: string, generationId: number, apiVersion = 9) =>
      coordinator.commitOffsets({
        groupId: 'g',
        memberId,
        generationId,
        groupInstanceId: null,
        apiVersion,
        topics: [{ name: 't1', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
    assert.equal((await commit('a', 1))[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    assert.equal((await commit('a', 0))[0]!.partitions[0]!.errorCode, ErrorCode.STALE_MEMBER_EPOCH);
    assert.equal((await commit('zz', 1))[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await commit('a', 1, 8))[0]!.partitions[0]!.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    // An admin commit (no member, epoch -1) needs a group without members, as in Kafka.
    assert.equal((await commit('', -1))[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'admin commit to an active group');
    assert.equal(coordinator.fetchOffsets('g', [{ name: 't1', partitionIndexes: [0] }])[0]!.partitions[0]!.committedOffset, 5);
    assert.equal(coordinator.validateOffsetFetch('g', 'a', 0), ErrorCode.STALE_MEMBER_EPOCH);
    await a.beat({ memberEpoch: -1 });
    assert.equal((await commit('', -1))[0]!.partitions[0]!.errorCode, ErrorCode.NONE, 'admin commit to an empty group');
  });

  test('offsets of an empty consumer group expire by commit time, then the group goes', async () => {
    const { coordinator, clock } = setup();
    const a = new Member(coordinator, 'a');
    await a.beat();
    const commit = await coordinator.commitOffsets({
      groupId: 'g',
      memberId: 'a',
      generationId: a.epoch,
      groupInstanceId: null,
      apiVersion: 9,
      topics: [{ name: 't1', partitions: [{ partitionIndex: 0, committedOffset: 3, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    assert.equal(commit[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    // Retention is 60 s: a live member keeps its subscribed topics' offsets however old.
    clock.set(clock.now() + 61_000);
    await a.beat();
    await coordinator.expireOffsets();
    assert.equal(coordinator.fetchOffsets('g', [{ name: 't1', partitionIndexes: [0] }])[0]!.partitions[0]!.committedOffset, 3);
    await a.beat({ memberEpoch: -1 });
    await coordinator.expireOffsets();
    assert.equal(coordinator.fetchOffsets('g', [{ name: 't1', partitionIndexes: [0] }])[0]!.partitions[0]!.committedOffset, -1);
    assert.equal(coordinator.consumer.groups.has('g'), false, 'the empty group without offsets is removed');
  });

  test('one protocol per group: classic and consumer refuse each other while in use', async () => {
    const { coordinator } = setup();
    const a = new Member(coordinator, 'a');
    await a.beat();
    const join = await coordinator.join('g', {
      memberId: '',
      groupInstanceId: null,
      clientId: 'c',
      clientHost: 'h',
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      requireKnownMemberId: false,
      supportsSkipAssignment: false,
    });
    assert.equal(join.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.deepStrictEqual(
      coordinator.listGroups().map((g) => [g.groupId, g.type]),
      [['g', 'consumer']],
    );
    assert.equal((await coordinator.deleteGroups(['g']))[0]!.errorCode, ErrorCode.NON_EMPTY_GROUP);
    await a.beat({ memberEpoch: -1 });
    assert.equal((await coordinator.deleteGroups(['g']))[0]!.errorCode, ErrorCode.NONE);
    assert.equal(coordinator.consumer.groups.size, 0);
  });

  test('the records replay into the same groups, members and assignments', async () => {
    const store = new MemoryStore();
    const { coordinator } = setup({ store });
    const a = new Member(coordinator, 'a', { instanceId: 'ia' });
    await a.beat();
    const b = new Member(coordinator, 'b', { subscribedTopicNames: null, subscribedTopicRegex: 't.*' });
    await b.beat({ subscribedTopicRegex: 't.*' });
    await a.beat(); // revoking
    const before = coordinator.consumer.groups.get('g')!;
    const snapshot = (g: typeof before) =>
      JSON.stringify({
        epoch: g.groupEpoch,
        assignmentEpoch: g.assignmentEpoch,
        members: [...g.members.values()].map((m) => [
          m.memberId,
          m.instanceId,
          m.memberEpoch,
          m.previousMemberEpoch,
          m.state,
          m.subscribedTopicNames,
          m.subscribedTopicRegex,
          [...m.assigned].map(([t, p]) => [t, [...p]]),
          [...m.pendingRevocation].map(([t, p]) => [t, [...p]]),
        ]),
        target: [...g.target].map(([id, a]) => [id, [...a].map(([t, p]) => [t, [...p]])]),
        topics: [...g.topics.keys()],
      });
    const expected = snapshot(before);
    coordinator.shutdown();
    const { coordinator: again } = setup();
    for (const r of store.records) again.replayRecord(r.key, r.value);
    again.finishLoading();
    assert.equal(snapshot(again.consumer.groups.get('g')!), expected);
    assert.equal(again.groups.has('g'), false, 'not a classic group');
    // The members continue where they were: a acknowledges its revocation.
    const a2 = new Member(again, 'a', { instanceId: 'ia' });
    a2.epoch = a.epoch;
    a2.owned = a.owned;
    assert.equal((await a2.beat()).errorCode, ErrorCode.NONE);
    again.shutdown();
  });

  // Kafka 4.4 (KIP-1251): each partition remembers the member epoch it was assigned at, and a
  // commit at an older member epoch is accepted for the partitions held since then.
  describe('assignment epochs', () => {
    /** a alone (epoch 1, t1 0-3), b joins (a keeps two at epoch 2), b leaves (a takes all four at epoch 3). */
    async function bumped(store = new MemoryStore()) {
      const s = setup({ store });
      const a = new Member(s.coordinator, 'a');
      await a.beat();
      assert.equal(a.epoch, 1);
      const b = new Member(s.coordinator, 'b');
      await b.beat();
      await a.beat(); // revoking two
      await a.beat(); // revoked: epoch 2
      assert.equal(a.epoch, 2);
      const kept = a.owned[0]!.partitions;
      assert.equal(kept.length, 2);
      await b.beat();
      await b.beat({ memberEpoch: -1 });
      await a.beat();
      assert.equal(a.epoch, 3);
      assert.equal(a.count(), 4);
      const gained = [0, 1, 2, 3].filter((p) => !kept.includes(p));
      return { ...s, a, kept, gained };
    }
    const offsets = (partitions: number[], topic = 't1') => [
      { name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, committedOffset: 9, committedLeaderEpoch: -1, committedMetadata: null })) },
    ];
    const codes = (r: { partitions: { errorCode: number }[] }[]) => r.flatMap((t) => t.partitions.map((p) => p.errorCode));
    const commit = (c: GroupCoordinator, generationId: number, partitions: number[], topic = 't1') =>
      c.commitOffsets({ groupId: 'g', memberId: 'a', generationId, groupInstanceId: null, apiVersion: 9, topics: offsets(partitions, topic) }).then(codes);

    test('an older epoch commits the partitions held since then; newer ones are stale', async () => {
      const { coordinator, a, kept, gained } = await bumped();
      const m = coordinator.consumer.groups.get('g')!.members.get('a')!;
      assert.deepStrictEqual(
        [0, 1, 2, 3].map((p) => m.assignmentEpochs.get(T1)!.get(p)),
        [0, 1, 2, 3].map((p) => (kept.includes(p) ? 1 : 3)),
      );
      assert.deepStrictEqual(await commit(coordinator, 3, [0, 1, 2, 3]), [0, 0, 0, 0], 'the current epoch');
      // The previous epoch (the answer moving a to 3 may still be on its way).
      assert.deepStrictEqual(await commit(coordinator, 2, kept), [ErrorCode.NONE, ErrorCode.NONE], 'kept across the bump');
      assert.deepStrictEqual(await commit(coordinator, 1, kept), [ErrorCode.NONE, ErrorCode.NONE], 'assigned at epoch 1');
      assert.deepStrictEqual(await commit(coordinator, 2, [gained[0]!]), [ErrorCode.STALE_MEMBER_EPOCH], 'assigned at the new epoch');
      // One stale partition fails the whole commit, and nothing of it is written.
      await commit(coordinator, 3, [kept[0]!]);
      const before = coordinator.fetchOffsets('g', [{ name: 't1', partitionIndexes: [kept[0]!] }])[0]!.partitions[0]!.committedOffset;
      assert.deepStrictEqual(await commit(coordinator, 2, [kept[0]!, gained[0]!]), [ErrorCode.STALE_MEMBER_EPOCH, ErrorCode.STALE_MEMBER_EPOCH]);
      assert.equal(coordinator.fetchOffsets('g', [{ name: 't1', partitionIndexes: [kept[0]!] }])[0]!.partitions[0]!.committedOffset, before);
      assert.deepStrictEqual(await commit(coordinator, 0, kept), [ErrorCode.STALE_MEMBER_EPOCH, ErrorCode.STALE_MEMBER_EPOCH], 'older than the assignment');
      assert.deepStrictEqual(await commit(coordinator, 2, [0], 't2'), [ErrorCode.STALE_MEMBER_EPOCH], 'a partition a does not hold');
      assert.deepStrictEqual(await commit(coordinator, 4, kept), [ErrorCode.STALE_MEMBER_EPOCH, ErrorCode.STALE_MEMBER_EPOCH], 'a newer epoch');
      // A partition the commit cannot write anyway answers for itself.
      assert.deepStrictEqual(await commit(coordinator, 2, [kept[0]!, 7]), [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
      // Fetches still need the current epoch (Kafka 4.4 relaxes commits only).
      assert.equal(coordinator.validateOffsetFetch('g', 'a', 2), ErrorCode.STALE_MEMBER_EPOCH);
      // In a transaction the same rule holds; a stale epoch there is an ILLEGAL_GENERATION.
      const txn = (generationId: number, partitions: number[]) =>
        coordinator
          .commitTxnOffsets({ groupId: 'g', memberId: 'a', generationId, groupInstanceId: null, producerId: 7, producerEpoch: 0, topics: offsets(partitions) })
          .then(codes);
      assert.deepStrictEqual(await txn(2, kept), [ErrorCode.NONE, ErrorCode.NONE]);
      assert.deepStrictEqual(await txn(2, [gained[0]!]), [ErrorCode.ILLEGAL_GENERATION]);
      assert.equal(a.epoch, 3);
      coordinator.shutdown();
    });

    test('a partition being revoked keeps its epoch until it is released', async () => {
      const { coordinator } = setup();
      const a = new Member(coordinator, 'a');
      await a.beat();
      const b = new Member(coordinator, 'b');
      await b.beat();
      const r = await a.beat(); // revoking two: a stays at epoch 1
      assert.equal(r.memberEpoch, 1);
      const m = coordinator.consumer.groups.get('g')!.members.get('a')!;
      const revoking = [...m.pendingRevocation.get(T1)!];
      assert.equal(revoking.length, 2);
      assert.deepStrictEqual(await commit(coordinator, 1, revoking), [ErrorCode.NONE, ErrorCode.NONE]);
      coordinator.shutdown();
    });

    test('the epochs are written with the assignment and replay (tagged field 0 of each topic)', async () => {
      const store = new MemoryStore();
      const { coordinator, kept, gained } = await bumped(store);
      const current = store.records.filter((r) => {
        const k = decodeConsumerGroupKey(r.key);
        return k?.type === CG_CURRENT_MEMBER && k.memberId === 'a' && r.value !== null;
      });
      const last = decodeCurrentAssignmentValue(current.at(-1)!.value!);
      assert.equal(last.memberEpoch, 3);
      assert.deepStrictEqual(
        [...last.assignmentEpochs.get(T1)!].sort((x, y) => x[0] - y[0]),
        [0, 1, 2, 3].map((p) => [p, kept.includes(p) ? 1 : 3]),
      );
      coordinator.shutdown();
      const { coordinator: again } = setup();
      for (const r of store.records) again.replayRecord(r.key, r.value);
      again.finishLoading();
      assert.deepStrictEqual(await commit(again, 2, kept), [ErrorCode.NONE, ErrorCode.NONE]);
      assert.deepStrictEqual(await commit(again, 2, [gained[0]!]), [ErrorCode.STALE_MEMBER_EPOCH]);
      again.shutdown();
    });

    test('a record without assignment epochs (an older version) loads at the member epoch', async () => {
      const store = new MemoryStore();
      const { coordinator, kept } = await bumped(store);
      coordinator.shutdown();
      // The same records, each current assignment re-encoded the way Tributary wrote it before.
      const old = (value: Buffer): Buffer => {
        const v = decodeCurrentAssignmentValue(value);
        const w = new Writer(64);
        w.int16(0);
        w.int32(v.memberEpoch);
        w.int32(v.previousMemberEpoch);
        w.int8(v.state);
        for (const a of [v.assigned, v.pendingRevocation]) {
          w.compactArrayLength(a.size);
          for (const [topicId, parts] of a) {
            w.uuid(topicId);
            w.compactArrayLength(parts.size);
            for (const p of parts) w.int32(p);
            w.uvarint(0);
          }
        }
        w.uvarint(0);
        return w.finish();
      };
      const { coordinator: again } = setup();
      for (const r of store.records) {
        const k = decodeConsumerGroupKey(r.key);
        again.replayRecord(r.key, k?.type === CG_CURRENT_MEMBER && r.value !== null ? old(r.value) : r.value);
      }
      again.finishLoading();
      const m = again.consumer.groups.get('g')!.members.get('a')!;
      assert.equal(m.memberEpoch, 3);
      assert.deepStrictEqual([...m.assignmentEpochs.get(T1)!.values()], [3, 3, 3, 3]);
      assert.deepStrictEqual(await commit(again, 3, [0, 1, 2, 3]), [0, 0, 0, 0]);
      assert.deepStrictEqual(await commit(again, 2, kept), [ErrorCode.STALE_MEMBER_EPOCH, ErrorCode.STALE_MEMBER_EPOCH]);
      // Written again, the record carries them.
      const reencoded = decodeCurrentAssignmentValue(encodeCurrentAssignmentValue(m));
      assert.deepStrictEqual([...reencoded.assignmentEpochs.get(T1)!.values()], [3, 3, 3, 3]);
      again.shutdown();
    });
  });
});
