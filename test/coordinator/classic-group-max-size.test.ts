// group.max.size for classic groups, as Kafka 4.4's acceptJoiningMember and onLoaded apply it: a
// JoinGroup beyond the limit gets GROUP_MAX_SIZE_REACHED with no member id (and the member, if it
// was one, is removed); a group loaded with more members than the limit rebalances, and the
// members that rejoin last are turned away.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { GroupCoordinator } from '../../src/coordinator/group-coordinator.js';
import type { JoinResult } from '../../src/coordinator/group.js';
import { classicJoinRequest } from '../helpers/requests.js';
import { coordinatorFixture, countedMemberIds, MemoryStore } from '../helpers/coordinator.js';
import { ManualClock } from '../../src/common/clock.js';

function setup(classicMaxSize: number, store = new MemoryStore(), clock = new ManualClock(1_000_000)) {
  return coordinatorFixture({ classicMaxSize, store, clock, newMemberId: countedMemberIds() });
}

/** Lets pending promise callbacks (appends, answers) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

const sync = (c: GroupCoordinator, memberId: string, generationId: number, assignments: string[] = []) =>
  c.sync('g', {
    memberId,
    groupInstanceId: null,
    generationId,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: assignments.map((id) => ({ memberId: id, assignment: Buffer.from(`for-${id}`) })),
  });

/** A Stable group of `n` dynamic members (joined together, one join phase). */
async function stableGroup(c: GroupCoordinator, n: number): Promise<JoinResult[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const first = await c.join('g', classicJoinRequest(''));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    ids.push(first.memberId);
  }
  const joined = await Promise.all(ids.map((id) => c.join('g', classicJoinRequest(id))));
  const leader = joined.find((j) => j.memberId === j.leader)!;
  await Promise.all(joined.map((j) => sync(c, j.memberId, j.generationId, j === leader ? ids : [])));
  assert.equal(c.groups.get('g')!.state, 'Stable');
  return joined;
}

describe('group.max.size (classic groups)', () => {
  test('a Stable group at the limit turns a new member away, with no member id, and stays as it is', async () => {
    const { coordinator: c } = setup(2);
    const [a, b] = await stableGroup(c, 2);
    const g = c.groups.get('g')!;
    const refused = await c.join('g', classicJoinRequest(''));
    assert.deepEqual([refused.errorCode, refused.memberId], [ErrorCode.GROUP_MAX_SIZE_REACHED, '']);
    // Before KIP-394's round trip too (JoinGroup v0-v3), and a static member.
    assert.equal((await c.join('g', classicJoinRequest('', { requireKnownMemberId: false }))).errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    assert.equal((await c.join('g', classicJoinRequest('', { groupInstanceId: 'i' }))).errorCode, ErrorCode.GROUP_MAX_SIZE_REACHED);
    assert.deepEqual([g.state, g.generationId, g.members.size, g.pending.size], ['Stable', a!.generationId, 2, 0]);
    // A member rejoins as ever.
    assert.equal((await c.join('g', classicJoinRequest(b!.memberId))).errorCode, ErrorCode.NONE);
    c.shutdown();
  });

  test('a member told MEMBER_ID_REQUIRED that comes back to a full group is turned away and forgotten', async () => {
    const { coordinator: c, clock } = setup(1);
    const a = await c.join('g', classicJoinRequest(''));
    const b = await c.join('g', classicJoinRequest(''));
    assert.deepEqual([a.errorCode, b.errorCode], [ErrorCode.MEMBER_ID_REQUIRED, ErrorCode.MEMBER_ID_REQUIRED]);
    let answered: JoinResult | null = null;
    void c.join('g', classicJoinRequest(a.memberId)).then((r) => (answered = r));
    const refused = await c.join('g', classicJoinRequest(b.memberId));
    assert.deepEqual([refused.errorCode, refused.memberId], [ErrorCode.GROUP_MAX_SIZE_REACHED, '']);
    const g = c.groups.get('g')!;
    assert.deepEqual([g.pending.size, [...g.members.keys()]], [0, [a.memberId]]);
    // As Kafka, turning a member away does not end the join phase: the rebalance timeout does.
    await settle();
    assert.equal(answered, null);
    await clock.advance(20_000);
    await settle();
    assert.deepEqual([answered!.errorCode, answered!.generationId, answered!.leader], [ErrorCode.NONE, 1, a.memberId]);
    c.shutdown();
  });

  test('a group loaded over the limit rebalances; the members that rejoin last are turned away and removed', async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(1_000_000);
    const before = setup(10, store, clock);
    const [a, b, m3] = await stableGroup(before.coordinator, 3);
    before.coordinator.shutdown();

    // The limit was lowered to 2: the group comes back Stable with its 3 members and rebalances.
    const { coordinator: c } = setup(2, store, clock);
    for (const r of store.records) c.replayRecord(r.key, r.value);
    c.finishLoading();
    const g = c.groups.get('g')!;
    assert.deepEqual([g.state, g.members.size], ['PreparingRebalance', 3]);
    assert.equal(c.heartbeat('g', a!.memberId, null, a!.generationId), ErrorCode.REBALANCE_IN_PROGRESS);
    const ja = c.join('g', classicJoinRequest(a!.memberId));
    const jb = c.join('g', classicJoinRequest(b!.memberId));
    const refused = await c.join('g', classicJoinRequest(m3!.memberId));
    assert.deepEqual([refused.errorCode, refused.memberId], [ErrorCode.GROUP_MAX_SIZE_REACHED, '']);
    assert.equal(g.members.has(m3!.memberId), false);
    assert.equal(c.heartbeat('g', m3!.memberId, null, m3!.generationId), ErrorCode.UNKNOWN_MEMBER_ID);
    await clock.advance(20_000);
    const [ra, rb] = await Promise.all([ja, jb]);
    assert.deepEqual([ra.errorCode, rb.errorCode, ra.generationId, g.members.size], [ErrorCode.NONE, ErrorCode.NONE, a!.generationId + 1, 2]);
    c.shutdown();
  });
});
