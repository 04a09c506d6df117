// KIP-848 online migration in-process (group.consumer.migration.policy): a Stable classic group
// becomes a consumer group when a consumer-protocol member joins (upgrade), its classic members
// carry on with JoinGroup/SyncGroup/Heartbeat inside it, and it becomes classic again when the
// last consumer-protocol member leaves (downgrade). Records replay into the same state.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import type { GroupCoordinator } from '../../src/coordinator/group-coordinator.js';
import type { HeartbeatRequest } from '../../src/coordinator/consumer-group.js';
import { ManualClock } from '../../src/common/clock.js';
import { classicJoinRequest } from '../helpers/requests.js';
import { coordinatorFixture, MemoryStore } from '../helpers/coordinator.js';
import { Writer } from '../../src/protocol/primitives.js';
import { encodeConsumerProtocolSubscription } from '../../src/protocol/generated/consumer-protocol-subscription.js';
import { encodeConsumerProtocolAssignment } from '../../src/protocol/generated/consumer-protocol-assignment.js';
import { decodeConsumerAssignment } from '../../src/protocol/consumer-protocol.js';

const T1 = '00000000-0000-0000-0000-000000000001';
const topics = [{ id: T1, name: 't1', numPartitions: 6 }];

function setup(migrationPolicy = 'bidirectional', store = new MemoryStore(), clock = new ManualClock(1_000_000)) {
  return coordinatorFixture({
    store,
    clock,
    topics,
    offsetsRetentionMs: 600_000,
    migrationPolicy,
    consumer: { sessionTimeoutMs: 30_000 },
  });
}

function subscription(owned: number[] = []): Buffer {
  const w = new Writer(64);
  w.int16(1);
  encodeConsumerProtocolSubscription(w, 1, {
    topics: ['t1'],
    userData: null,
    ownedPartitions: owned.length ? [{ topic: 't1', partitions: owned }] : [],
    generationId: -1,
    rackId: null,
  });
  return w.finish();
}

function assignment(parts: number[]): Buffer {
  const w = new Writer(64);
  w.int16(0);
  encodeConsumerProtocolAssignment(w, 0, { assignedPartitions: [{ topic: 't1', partitions: parts }], userData: null });
  return w.finish();
}

function partitionsOf(buf: Buffer): number[] {
  const assigned = decodeConsumerAssignment(buf);
  assert.ok(assigned, 'SyncGroup gives a consumer-protocol assignment');
  return assigned
    .filter((t) => t.topic === 't1')
    .flatMap((t) => t.partitions)
    .sort((a, b) => a - b);
}

/** A classic (eager) consumer: rejoins with nothing owned, applies what SyncGroup gives it. */
class Classic {
  id = '';
  generation = -1;
  owned: number[] = [];
  constructor(
    public c: GroupCoordinator,
    readonly sessionTimeoutMs = 10_000,
    readonly instanceId: string | null = null,
  ) {}
  joinRequest() {
    return classicJoinRequest(this.id, {
      groupInstanceId: this.instanceId,
      clientId: 'classic',
      sessionTimeoutMs: this.sessionTimeoutMs,
      protocols: [{ name: 'range', metadata: subscription() }],
    });
  }
  async join() {
    this.owned = [];
    let r = await this.c.join('g', this.joinRequest());
    if (r.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
      this.id = r.memberId;
      r = await this.c.join('g', this.joinRequest());
    }
    assert.equal(r.errorCode, ErrorCode.NONE, `join error ${r.errorCode}`);
    this.id = r.memberId;
    this.generation = r.generationId;
    return r;
  }
  async sync(assignments: { memberId: string; assignment: Buffer }[] = []) {
    const r = await this.c.sync('g', {
      memberId: this.id,
      groupInstanceId: this.instanceId,
      generationId: this.generation,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments,
    });
    assert.equal(r.errorCode, ErrorCode.NONE, `sync error ${r.errorCode}`);
    this.owned = partitionsOf(r.assignment);
    return r;
  }
  heartbeat(): number {
    return this.c.heartbeat('g', this.id, this.instanceId, this.generation);
  }
  /** Heartbeats and, when told to, rejoins and syncs (what the Java client does). */
  async poll(): Promise<void> {
    const code = this.heartbeat();
    if (code === ErrorCode.NONE) return;
    assert.ok(code === ErrorCode.REBALANCE_IN_PROGRESS || code === ErrorCode.ILLEGAL_GENERATION, `heartbeat ${code}`);
    await this.join();
    await this.sync();
  }
}

/** A consumer-protocol member applying each heartbeat's assignment. */
class Modern {
  id: string = crypto.randomUUID();
  epoch = 0;
  owned: number[] = [];
  constructor(public c: GroupCoordinator) {}
  async beat(over: Partial<HeartbeatRequest> = {}) {
    const r = await this.c.consumerGroupHeartbeat(
      {
        groupId: 'g',
        memberId: this.id,
        memberEpoch: this.epoch,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: this.epoch === 0 ? 20_000 : -1,
        subscribedTopicNames: this.epoch === 0 ? ['t1'] : null,
        subscribedTopicRegex: null,
        serverAssignor: null,
        topicPartitions: this.epoch === 0 ? [] : [{ topicId: T1, partitions: this.owned }],
        ...over,
      },
      1,
      'modern',
      '/127.0.0.1',
    );
    if (r.errorCode === ErrorCode.NONE) {
      if (r.memberId) this.id = r.memberId;
      this.epoch = r.memberEpoch;
      if (r.assignment) this.owned = r.assignment.topicPartitions.flatMap((t) => t.partitions).sort((a, b) => a - b);
    }
    return r;
  }
}

/** A Stable classic group of two members: a holds 0-2, b holds 3-5. */
async function classicGroup(c: GroupCoordinator): Promise<[Classic, Classic]> {
  const a = new Classic(c);
  const b = new Classic(c);
  await a.join();
  await a.sync([{ memberId: a.id, assignment: assignment([0, 1, 2, 3, 4, 5]) }]);
  // b joins: a learns of the rebalance from its heartbeat and rejoins.
  const jb = b.join();
  for (let i = 0; i < 100 && c.groups.get('g')?.state !== 'PreparingRebalance'; i++) await new Promise((r) => setImmediate(r));
  assert.equal(a.heartbeat(), ErrorCode.REBALANCE_IN_PROGRESS);
  const ja = await a.join();
  await jb;
  const leader = ja.leader === a.id ? a : b;
  const follower = leader === a ? b : a;
  await Promise.all([
    leader.sync([
      { memberId: a.id, assignment: assignment([0, 1, 2]) },
      { memberId: b.id, assignment: assignment([3, 4, 5]) },
    ]),
    follower.sync(),
  ]);
  assert.equal(c.groups.get('g')?.state, 'Stable');
  return [a, b];
}

function assertExactlyOnce(owners: { owned: number[] }[], n = 6): void {
  const all = owners.flatMap((o) => o.owned).sort((x, y) => x - y);
  assert.deepStrictEqual(all, [...Array(n).keys()], `every partition owned exactly once: ${JSON.stringify(owners.map((o) => o.owned))}`);
}

/** Rounds of heartbeats until every partition has exactly one owner (bounded). */
async function settle(classics: Classic[], moderns: Modern[]): Promise<void> {
  for (let round = 0; round < 10; round++) {
    for (const m of moderns) await m.beat();
    for (const k of classics) await k.poll();
    // No partition is ever owned twice, at any step.
    const all = [...classics, ...moderns].flatMap((o) => o.owned);
    assert.equal(new Set(all).size, all.length, `double ownership: ${JSON.stringify(all)}`);
    if (all.length === 6 && classics.every((k) => k.heartbeat() === ErrorCode.NONE)) return;
  }
  assert.fail('the group did not settle');
}

describe('KIP-848 online migration', () => {
  test('upgrade: a Stable classic group becomes a consumer group when a consumer-protocol member joins', async () => {
    const { coordinator, store } = setup();
    const [a, b] = await classicGroup(coordinator);
    const generation = a.generation;
    const batchesBefore = store.batches.length;
    const m = new Modern(coordinator);
    const r = await m.beat();
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(coordinator.groups.has('g'), false);
    const cg = coordinator.consumer.groups.get('g')!;
    const ma = cg.members.get(a.id)!;
    assert.equal(ma.classic?.sessionTimeoutMs, 10_000);
    assert.deepStrictEqual(ma.subscribedTopicNames, ['t1']);
    // The conversion is one batch: the classic group's tombstone and the consumer group's records.
    const conversion = store.batches[batchesBefore]!;
    assert.equal(conversion[0]!.value, null, 'classic group tombstone first');
    assert.ok(conversion.length > 6);
    // Before the new member's join, each classic member kept its epoch and partitions.
    const replayed = setup();
    for (const rec of conversion) replayed.coordinator.replayRecord(rec.key, rec.value);
    const r0 = replayed.coordinator.consumer.groups.get('g')!;
    assert.equal(r0.groupEpoch, generation);
    assert.equal(r0.members.get(a.id)!.memberEpoch, generation);
    assert.deepStrictEqual([...r0.members.get(a.id)!.assigned.get(T1)!].sort(), [0, 1, 2]);
    assert.deepStrictEqual([...r0.members.get(b.id)!.assigned.get(T1)!].sort(), [3, 4, 5]);
    replayed.coordinator.shutdown();
    // The new member gets nothing until the classic members have rejoined and given some up.
    assert.deepStrictEqual(m.owned, []);
    assert.equal(a.heartbeat(), ErrorCode.REBALANCE_IN_PROGRESS);
    await settle([a, b], [m]);
    assertExactlyOnce([a, b, m]);
    assert.ok(m.owned.length >= 1 && a.owned.length >= 1 && b.owned.length >= 1);
    // A classic commit validates with (member id, generation = member epoch).
    const commit = async (generationId: number, partitionIndex = a.owned[0]!) =>
      (
        await coordinator.commitOffsets({
          groupId: 'g',
          generationId,
          memberId: a.id,
          groupInstanceId: null,
          apiVersion: 8,
          topics: [{ name: 't1', partitions: [{ partitionIndex, committedOffset: 42, committedLeaderEpoch: -1, committedMetadata: null }] }],
        })
      )[0]!.partitions[0]!.errorCode;
    assert.equal(await commit(a.generation), ErrorCode.NONE);
    assert.ok(a.generation > generation);
    assert.equal(await commit(a.generation + 1), ErrorCode.ILLEGAL_GENERATION, 'a newer generation');
    // An older generation (Kafka 4.4, KIP-1251): for a partition a has held since then only.
    assert.ok([0, 1, 2].includes(a.owned[0]!), 'a kept a partition it had before the upgrade');
    assert.equal(await commit(generation), ErrorCode.NONE, 'held since the upgrade');
    assert.equal(await commit(generation - 1), ErrorCode.ILLEGAL_GENERATION, 'older than its assignment');
    const notA = [0, 1, 2, 3, 4, 5].find((p) => !a.owned.includes(p))!;
    assert.equal(await commit(generation, notA), ErrorCode.ILLEGAL_GENERATION, 'not assigned to a');
    // The classic member metadata survives a reload.
    const again = setup();
    for (const rec of store.records) again.coordinator.replayRecord(rec.key, rec.value);
    again.coordinator.finishLoading();
    const ra = again.coordinator.consumer.groups.get('g')!.members.get(a.id)!;
    assert.deepStrictEqual(ra.classic, cg.members.get(a.id)!.classic);
    assert.equal(ra.memberEpoch, a.generation);
    a.c = again.coordinator;
    assert.equal(a.heartbeat(), ErrorCode.NONE);
    a.c = coordinator;
    again.coordinator.shutdown();
    coordinator.shutdown();
  });

  test('classic members in a consumer group: session timeout and LeaveGroup remove them', async () => {
    const { coordinator, clock } = setup();
    const m = new Modern(coordinator);
    await m.beat();
    const short = new Classic(coordinator, 3000);
    await short.join();
    await short.sync();
    const other = new Classic(coordinator);
    await other.join();
    await other.sync();
    await settle([short, other], [m]);
    assertExactlyOnce([short, other, m]);
    const cg = coordinator.consumer.groups.get('g')!;
    assert.equal(cg.members.size, 3);
    // `other` keeps heartbeating; `short` stops and expires after its own 3 s session.
    await clock.advance(2000);
    assert.equal(other.heartbeat(), ErrorCode.NONE);
    await clock.advance(1500);
    assert.equal(cg.members.has(other.id), true, 'a heartbeating classic member stays');
    assert.equal(cg.members.has(short.id), false, 'expired after its classic session timeout');
    assert.equal(short.heartbeat(), ErrorCode.UNKNOWN_MEMBER_ID);
    short.owned = [];
    await settle([other], [m]);
    assertExactlyOnce([other, m]);
    assert.deepStrictEqual(await coordinator.leave('g', [{ memberId: other.id, groupInstanceId: null }]), { errorCode: ErrorCode.NONE, members: [ErrorCode.NONE] });
    assert.equal(cg.members.has(other.id), false);
    coordinator.shutdown();
  });

  test('rolling upgrade then downgrade keeps every partition owned once and the offsets', async () => {
    const { coordinator, store } = setup();
    const [a, b] = await classicGroup(coordinator);
    await coordinator.commitOffsets({
      groupId: 'g',
      generationId: a.generation,
      memberId: a.id,
      groupInstanceId: null,
      topics: [{ name: 't1', partitions: [{ partitionIndex: 0, committedOffset: 7, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    // Upgrade: a new consumer-protocol member, then a is replaced by another one.
    const m1 = new Modern(coordinator);
    await m1.beat();
    await settle([a, b], [m1]);
    assertExactlyOnce([a, b, m1]);
    assert.deepStrictEqual(await coordinator.leave('g', [{ memberId: a.id, groupInstanceId: null }]), { errorCode: ErrorCode.NONE, members: [ErrorCode.NONE] });
    a.owned = [];
    await settle([b], [m1]);
    assertExactlyOnce([b, m1]);
    // Downgrade: classic c joins, then m1 (the last consumer-protocol member) leaves.
    const c = new Classic(coordinator);
    await c.join();
    await c.sync();
    await settle([b, c], [m1]);
    assertExactlyOnce([b, c, m1]);
    const epoch = coordinator.consumer.groups.get('g')!.groupEpoch;
    assert.equal((await m1.beat({ memberEpoch: -1 })).errorCode, ErrorCode.NONE);
    m1.owned = [];
    assert.equal(coordinator.consumer.groups.has('g'), false, 'no consumer group any more');
    const classic = coordinator.groups.get('g')!;
    assert.ok(classic, 'a classic group again');
    assert.equal(classic.state, 'PreparingRebalance');
    assert.equal(classic.generationId, epoch + 1);
    // Its members rejoin (the heartbeat tells them) and the leader assigns.
    assert.notEqual(b.heartbeat(), ErrorCode.NONE);
    const joins = await Promise.all([b.join(), c.join()]);
    assert.equal(joins[0].generationId, joins[1].generationId);
    const leader = joins[0].leader === b.id ? b : c;
    const follower = leader === b ? c : b;
    await Promise.all([
      leader.sync([
        { memberId: b.id, assignment: assignment([0, 1, 2]) },
        { memberId: c.id, assignment: assignment([3, 4, 5]) },
      ]),
      follower.sync(),
    ]);
    assert.equal(classic.state, 'Stable');
    assertExactlyOnce([b, c]);
    assert.equal(coordinator.fetchOffsets('g', [{ name: 't1', partitionIndexes: [0] }])[0]!.partitions[0]!.committedOffset, 7);
    // A reload sees the classic group.
    const again = setup();
    for (const rec of store.records) again.coordinator.replayRecord(rec.key, rec.value);
    again.coordinator.finishLoading();
    assert.equal(again.coordinator.consumer.groups.has('g'), false);
    assert.equal(again.coordinator.groups.get('g')?.generationId, b.generation);
    assert.equal(again.coordinator.fetchOffsets('g', [{ name: 't1', partitionIndexes: [0] }])[0]!.partitions[0]!.committedOffset, 7);
    again.coordinator.shutdown();
    coordinator.shutdown();
  });

  test('policy: disabled refuses the upgrade; upgrade only does not downgrade', async () => {
    {
      const { coordinator } = setup('disabled');
      await classicGroup(coordinator);
      const r = await new Modern(coordinator).beat();
      assert.equal(r.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      assert.equal(coordinator.groups.get('g')?.state, 'Stable');
      coordinator.shutdown();
    }
    {
      const { coordinator } = setup('upgrade');
      const [a, b] = await classicGroup(coordinator);
      const m = new Modern(coordinator);
      assert.equal((await m.beat()).errorCode, ErrorCode.NONE);
      await settle([a, b], [m]);
      await m.beat({ memberEpoch: -1 });
      assert.ok(coordinator.consumer.groups.has('g'), 'stays a consumer group');
      assert.equal(coordinator.groups.has('g'), false);
      m.owned = [];
      await settle([a, b], []);
      assertExactlyOnce([a, b]);
      coordinator.shutdown();
    }
  });

  test('no downgrade into a classic group over group.max.size', async () => {
    // Kafka's validateOnlineDowngrade: the classic members left must fit in group.max.size.
    const { coordinator } = coordinatorFixture({ topics, classicMaxSize: 2, consumer: { sessionTimeoutMs: 30_000 } });
    const [a, b] = await classicGroup(coordinator);
    const m = new Modern(coordinator);
    assert.equal((await m.beat()).errorCode, ErrorCode.NONE);
    await settle([a, b], [m]);
    // A third classic member joins the consumer group (group.consumer.max.size applies there).
    const c = new Classic(coordinator);
    await c.join();
    await settle([a, b, c], [m]);
    await m.beat({ memberEpoch: -1 });
    assert.ok(coordinator.consumer.groups.has('g'), 'stays a consumer group');
    assert.equal(coordinator.groups.has('g'), false);
    m.owned = [];
    await settle([a, b, c], []);
    assertExactlyOnce([a, b, c]);
    coordinator.shutdown();
  });

  test('a static classic member restarting inside a consumer group gets its partitions back', async () => {
    const { coordinator } = setup();
    const m = new Modern(coordinator);
    await m.beat();
    const s1 = new Classic(coordinator, 10_000, 'static-1');
    await s1.join();
    await s1.sync();
    await settle([s1], [m]);
    assertExactlyOnce([s1, m]);
    const before = [...s1.owned];
    // The instance restarts: a new member id, no MEMBER_ID_REQUIRED, same partitions, same epoch.
    const s2 = new Classic(coordinator, 10_000, 'static-1');
    const j = await s2.join();
    assert.notEqual(j.memberId, s1.id);
    assert.equal(j.generationId, s1.generation);
    await s2.sync();
    assert.deepStrictEqual(s2.owned, before);
    assert.equal(s2.heartbeat(), ErrorCode.NONE);
    // The old incarnation is fenced.
    assert.equal(s1.heartbeat(), ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(coordinator.consumer.groups.get('g')!.members.size, 2);
    coordinator.shutdown();
  });

  test('upgrade: a classic member with no assignment bytes has no partitions; bytes that do not decode refuse it', async () => {
    // As Kafka's ConsumerGroup.fromClassicGroup: an empty assignment is none, a malformed one
    // leaves the group classic (GROUP_ID_NOT_FOUND to the joining member).
    for (const [bytes, upgrades] of [
      [Buffer.alloc(0), true],
      [Buffer.from([0, 0, 0, 0, 0, 1, 0, 1]), false], // a topic name cut short
    ] as const) {
      const { coordinator } = setup();
      const a = new Classic(coordinator);
      await a.join();
      const synced = await coordinator.sync('g', {
        memberId: a.id,
        groupInstanceId: null,
        generationId: a.generation,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [{ memberId: a.id, assignment: bytes }],
      });
      assert.equal(synced.errorCode, ErrorCode.NONE);
      assert.equal(coordinator.groups.get('g')?.state, 'Stable');
      const r = await new Modern(coordinator).beat();
      if (upgrades) {
        assert.equal(r.errorCode, ErrorCode.NONE);
        assert.equal(coordinator.consumer.groups.get('g')!.members.get(a.id)!.assigned.size, 0);
      } else {
        assert.equal(r.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
        assert.equal(coordinator.groups.get('g')?.state, 'Stable', 'still a classic group');
      }
      coordinator.shutdown();
    }
  });

  test("upgrade: an assignment carrying a custom assignor's user data refuses it; the rack of a v3 subscription is kept", async () => {
    // As Kafka 4.4's ConsumerGroup.fromClassicGroup: user data would be lost in a consumer group,
    // so the group stays classic; empty user data is no user data.
    for (const [userData, upgrades] of [
      [Buffer.from('sticky-state'), false],
      [Buffer.alloc(0), true],
      [null, true],
    ] as const) {
      const { coordinator } = setup();
      const a = new Classic(coordinator);
      const w = new Writer(64);
      w.int16(3);
      encodeConsumerProtocolSubscription(w, 3, { topics: ['t1'], userData: null, ownedPartitions: [], generationId: -1, rackId: 'rack-a' });
      const joined = await coordinator.join('g', { ...a.joinRequest(), protocols: [{ name: 'range', metadata: w.finish() }], requireKnownMemberId: false });
      assert.equal(joined.errorCode, ErrorCode.NONE);
      const bytes = new Writer(64);
      bytes.int16(1);
      encodeConsumerProtocolAssignment(bytes, 1, { assignedPartitions: [{ topic: 't1', partitions: [0, 1, 2, 3, 4, 5] }], userData });
      const synced = await coordinator.sync('g', {
        memberId: joined.memberId,
        groupInstanceId: null,
        generationId: joined.generationId,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [{ memberId: joined.memberId, assignment: bytes.finish() }],
      });
      assert.equal(synced.errorCode, ErrorCode.NONE);
      const r = await new Modern(coordinator).beat();
      if (upgrades) {
        assert.equal(r.errorCode, ErrorCode.NONE, String(r.errorMessage));
        const member = coordinator.consumer.groups.get('g')!.members.get(joined.memberId)!;
        assert.equal(member.assigned.get(T1)?.size, 6);
        assert.equal(member.rackId, 'rack-a');
      } else {
        assert.equal(r.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
        assert.match(String(r.errorMessage), /custom assignor/);
        assert.equal(coordinator.groups.get('g')?.state, 'Stable', 'still a classic group');
        assert.equal(coordinator.consumer.groups.has('g'), false);
      }
      coordinator.shutdown();
    }
  });

  test('a classic member joining a consumer group takes the rack of its v3 subscription', async () => {
    const { coordinator } = setup();
    await new Modern(coordinator).beat();
    const a = new Classic(coordinator);
    const withRack = (rackId: string | null) => {
      const w = new Writer(64);
      w.int16(3);
      encodeConsumerProtocolSubscription(w, 3, { topics: ['t1'], userData: null, ownedPartitions: [], generationId: -1, rackId });
      return { ...a.joinRequest(), protocols: [{ name: 'range', metadata: w.finish() }], requireKnownMemberId: false };
    };
    const joined = await coordinator.join('g', withRack('rack-b'));
    assert.equal(joined.errorCode, ErrorCode.NONE);
    const group = coordinator.consumer.groups.get('g')!;
    assert.equal(group.members.get(joined.memberId)!.rackId, 'rack-b');
    // A new rack is a new subscription: the group epoch moves, as for a consumer-protocol member.
    const epoch = group.groupEpoch;
    a.id = joined.memberId;
    const moved = await coordinator.join('g', { ...withRack('rack-c'), memberId: joined.memberId });
    assert.equal(moved.errorCode, ErrorCode.NONE);
    assert.equal(group.members.get(joined.memberId)!.rackId, 'rack-c');
    assert.equal(group.groupEpoch, epoch + 1);
    // No rack in the subscription leaves it as it was.
    assert.equal((await coordinator.join('g', { ...withRack(null), memberId: joined.memberId })).errorCode, ErrorCode.NONE);
    assert.equal(group.members.get(joined.memberId)!.rackId, 'rack-c');
    coordinator.shutdown();
  });

  test('a classic group that is not Stable or not of protocol type consumer is not upgraded', async () => {
    const { coordinator } = setup();
    const x = await coordinator.join('g', { ...new Classic(coordinator).joinRequest(), protocolType: 'connect', requireKnownMemberId: false });
    assert.equal(x.errorCode, ErrorCode.NONE);
    const r = await new Modern(coordinator).beat();
    assert.equal(r.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    coordinator.shutdown();
  });
});

// Kafka 4.4 arms two more timers for a classic member inside a consumer group, both of its
// rebalance timeout (20 s in these requests; sessions of 10 s, kept alive by heartbeats every 5 s):
// one started by JoinGroup until its SyncGroup, one started by the first REBALANCE_IN_PROGRESS
// (to a Heartbeat or a SyncGroup) until its next JoinGroup. Either removes the member.
describe('classic members of a consumer group: join and sync timeouts', () => {
  /**
   * Heartbeats of each member every 5 s for `ms` (the consumer-protocol ones keep their
   * session): the answers of the first, which must all be `expect` if given.
   */
  async function beatFor(clock: ManualClock, members: Classic[], ms: number, expect?: number, moderns: Modern[] = []): Promise<void> {
    for (let t = 0; t < ms;) {
      const step = Math.min(5000, ms - t);
      await clock.advance(step);
      t += step;
      const codes = members.map((k) => k.heartbeat());
      if (expect !== undefined) assert.equal(codes[0], expect, `heartbeat after ${t} ms`);
      for (const m of moderns) assert.equal((await m.beat()).errorCode, ErrorCode.NONE);
    }
  }

  test('a classic member that joins but never syncs is removed after the rebalance timeout of its join', async () => {
    const { coordinator, clock } = setup();
    await new Modern(coordinator).beat();
    const silent = new Classic(coordinator);
    await silent.join();
    const synced = new Classic(coordinator);
    await synced.join();
    await synced.sync();
    const group = coordinator.consumer.groups.get('g')!;
    const epoch = group.groupEpoch;
    // Its heartbeats keep its session but do not stand in for the SyncGroup.
    await beatFor(clock, [silent, synced], 19_999);
    assert.equal(group.members.has(silent.id), true, 'still there before its rebalance timeout');
    await clock.advance(1);
    assert.equal(group.members.has(silent.id), false, 'removed at its rebalance timeout');
    assert.equal(group.groupEpoch, epoch + 1, 'its removal moves the group epoch');
    assert.equal(silent.heartbeat(), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(group.members.has(synced.id), true, 'a member that synced is not timed out');
    coordinator.shutdown();
  });

  test("a timeout whose write fails leaves the member, and runs again 500 ms later (Kafka's runtime)", async () => {
    const store = new MemoryStore();
    const { coordinator, clock } = setup('bidirectional', store);
    const m = new Modern(coordinator);
    await m.beat();
    const silent = new Classic(coordinator);
    await silent.join();
    await beatFor(clock, [silent], 15_000, undefined, [m]);
    await clock.advance(4999);
    silent.heartbeat();
    store.failWith = new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, 'the ISR shrank');
    const appends = store.appends;
    const group = coordinator.consumer.groups.get('g')!;
    await clock.advance(1);
    assert.equal(store.appends, appends + 1, 'its removal was tried');
    assert.equal(group.members.has(silent.id), true, 'and undone');
    await clock.advance(500);
    assert.equal(store.appends, appends + 2, 'tried again 500 ms later');
    assert.equal(group.members.has(silent.id), true);
    store.failWith = null;
    await clock.advance(500);
    assert.equal(group.members.has(silent.id), false, 'removed once written');
    coordinator.shutdown();
  });

  test('a classic member told to rejoin by its heartbeat is removed if it does not rejoin within its rebalance timeout', async () => {
    const { coordinator, clock } = setup();
    const m = new Modern(coordinator);
    await m.beat();
    const lazy = new Classic(coordinator);
    const prompt = new Classic(coordinator);
    for (const k of [lazy, prompt]) {
      await k.join();
      await k.sync();
    }
    await settle([lazy, prompt], [m]);
    // A new member moves the group epoch: both classic members must rejoin.
    await new Modern(coordinator).beat();
    assert.equal(lazy.heartbeat(), ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(prompt.heartbeat(), ErrorCode.REBALANCE_IN_PROGRESS);
    const group = coordinator.consumer.groups.get('g')!;
    // Hearing it again does not push the deadline back; rejoining (and syncing) in time clears it.
    await beatFor(clock, [lazy, prompt], 15_000, ErrorCode.REBALANCE_IN_PROGRESS);
    await prompt.join();
    await prompt.sync();
    await beatFor(clock, [lazy, prompt], 4999, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(group.members.has(lazy.id), true, 'still there before its rebalance timeout');
    await clock.advance(1);
    assert.equal(group.members.has(lazy.id), false, 'removed at its rebalance timeout');
    assert.equal(lazy.heartbeat(), ErrorCode.UNKNOWN_MEMBER_ID);
    await beatFor(clock, [prompt], 30_000);
    assert.equal(group.members.has(prompt.id), true, 'the member that rejoined stays');
    coordinator.shutdown();
  });

  test('SyncGroup behind the assignment epoch answers REBALANCE_IN_PROGRESS; only a successful one ends the sync timeout', async () => {
    const { coordinator, clock } = setup();
    const m = new Modern(coordinator);
    await m.beat();
    const k = new Classic(coordinator);
    await k.join();
    // Another member joins between k's JoinGroup and its SyncGroup: k must rejoin first.
    const other = new Modern(coordinator);
    await other.beat();
    const group = coordinator.consumer.groups.get('g')!;
    assert.ok(group.assignmentEpoch > k.generation);
    const syncRequest = () => ({ memberId: k.id, groupInstanceId: null, generationId: k.generation, protocolType: 'consumer', protocolName: 'range', assignments: [] });
    assert.equal((await coordinator.sync('g', syncRequest())).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    // It rejoins and syncs in time: it stays, past both timeouts.
    await beatFor(clock, [k], 10_000, undefined, [m, other]);
    await k.join();
    await k.sync();
    await beatFor(clock, [k], 30_000, undefined, [m, other]);
    assert.equal(group.members.has(k.id), true);
    // Joined again, told by SyncGroup 10 s later to rejoin, it does not: a refused SyncGroup does
    // not end the sync timeout, which removes it 20 s after its join.
    await k.join();
    await beatFor(clock, [k], 10_000, undefined, [m, other]);
    const third = new Modern(coordinator);
    await third.beat();
    assert.equal((await coordinator.sync('g', syncRequest())).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    await beatFor(clock, [k], 9999, ErrorCode.REBALANCE_IN_PROGRESS, [m, other, third]);
    assert.equal(group.members.has(k.id), true, 'still there before its rebalance timeout');
    await clock.advance(1);
    assert.equal(group.members.has(k.id), false, 'removed at the rebalance timeout of its join');
    coordinator.shutdown();
  });
});

test("a classic member's SyncGroup in a consumer group: its instance id, then the protocol its join chose (Kafka 4.4)", async () => {
  const { coordinator } = setup();
  await new Modern(coordinator).beat();
  const k = new Classic(coordinator, 10_000, 'i1');
  const joined = await coordinator.join('g', {
    ...k.joinRequest(),
    protocols: [
      { name: 'range', metadata: subscription() },
      { name: 'roundrobin', metadata: subscription() },
    ],
  });
  assert.equal(joined.errorCode, ErrorCode.NONE);
  assert.equal(joined.protocolName, 'range');
  const sync = (over: { memberId?: string; groupInstanceId?: string | null; protocolName?: string | null }) =>
    coordinator.sync('g', {
      memberId: joined.memberId,
      groupInstanceId: 'i1',
      generationId: joined.generationId,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [],
      ...over,
    });
  assert.equal((await sync({ memberId: 'someone-else' })).errorCode, ErrorCode.FENCED_INSTANCE_ID, 'another member id with its instance id');
  assert.equal((await sync({ groupInstanceId: 'i2' })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID, 'an instance id the group does not know');
  assert.equal((await sync({ protocolName: 'roundrobin' })).errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL, 'a protocol it listed, but not the one chosen');
  assert.equal((await sync({ protocolName: null })).errorCode, ErrorCode.NONE);
  assert.equal((await sync({})).errorCode, ErrorCode.NONE);
  coordinator.shutdown();
});
