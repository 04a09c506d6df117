// The timeouts of a classic group's rebalance as Kafka 4.4's GroupMetadataManager runs them: the
// end of a join phase (completeClassicGroupJoin: static members stay, dynamic ones that did not
// rejoin go), the pending-sync timeout (expirePendingSync: also once the group is Stable) and the
// end of the initial rebalance delay. A manual clock drives every timer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { GroupCoordinator } from '../../src/coordinator/group-coordinator.js';
import type { JoinRequest, JoinResult, SyncResult } from '../../src/coordinator/group.js';
import { classicJoinRequest } from '../helpers/requests.js';
import { coordinatorFixture, countedMemberIds } from '../helpers/coordinator.js';

function setup(initialRebalanceDelayMs = 0) {
  return coordinatorFixture({ initialRebalanceDelayMs, newMemberId: countedMemberIds() });
}

/** A dynamic member's first join (MEMBER_ID_REQUIRED), then its real join, whose answer may wait. */
async function joinDynamic(c: GroupCoordinator, over: Partial<JoinRequest> = {}): Promise<{ memberId: string; answer: Promise<JoinResult> }> {
  const first = await c.join('g', classicJoinRequest('', over));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  return { memberId: first.memberId, answer: c.join('g', classicJoinRequest(first.memberId, over)) };
}

function sync(
  c: GroupCoordinator,
  memberId: string,
  generationId: number,
  assignments: Record<string, string> = {},
  groupInstanceId: string | null = null,
): Promise<SyncResult> {
  return c.sync('g', {
    memberId,
    groupInstanceId,
    generationId,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments: Object.entries(assignments).map(([memberId, a]) => ({ memberId, assignment: Buffer.from(a) })),
  });
}

/** Moves the clock `ms` forward in steps of 5 s, each member in `alive` heartbeating after each. */
async function advanceHeartbeating(
  c: GroupCoordinator,
  clock: { advance(ms: number): Promise<void> },
  ms: number,
  alive: { memberId: string; instanceId: string | null }[],
): Promise<void> {
  for (let left = ms; left > 0; left -= 5000) {
    await clock.advance(Math.min(5000, left));
    const generation = c.groups.get('g')!.generationId;
    for (const m of alive) c.heartbeat('g', m.memberId, m.instanceId, generation);
  }
}

function memberIds(c: GroupCoordinator): string[] {
  return [...c.groups.get('g')!.members.keys()];
}

describe('classic group rebalance timeouts (Kafka 4.4)', () => {
  test('a join phase that times out drops the dynamic members that did not rejoin but keeps the static ones', async () => {
    const { coordinator: c, clock } = setup();
    const a = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ia' }));
    assert.equal((await sync(c, a.memberId, 1, { [a.memberId]: 'A1' }, 'ia')).errorCode, ErrorCode.NONE);
    const e = await joinDynamic(c);
    await c.join('g', classicJoinRequest(a.memberId, { groupInstanceId: 'ia' }));
    await e.answer;
    const followerSync = sync(c, e.memberId, 2);
    assert.equal((await sync(c, a.memberId, 2, { [a.memberId]: 'A2', [e.memberId]: 'E2' }, 'ia')).errorCode, ErrorCode.NONE);
    assert.equal((await followerSync).assignment.toString(), 'E2');

    // d joins; a (static, the leader) and e (dynamic) only heartbeat, they never rejoin.
    const d = await joinDynamic(c);
    await advanceHeartbeating(c, clock, 20_000, [
      { memberId: a.memberId, instanceId: 'ia' },
      { memberId: e.memberId, instanceId: null },
    ]);
    const rd = await d.answer;
    assert.equal(rd.errorCode, ErrorCode.NONE);
    assert.equal(rd.generationId, 3);
    assert.equal(rd.leader, d.memberId, 'the leader did not rejoin: the member that did leads');
    assert.deepEqual(
      rd.members.map((m) => [m.memberId, m.groupInstanceId, m.metadata.toString()]),
      [
        [a.memberId, 'ia', 'range'],
        [d.memberId, null, 'range'],
      ],
      'the static member stays, listed with the metadata it last joined with',
    );
    assert.equal(c.heartbeat('g', e.memberId, null, 2), ErrorCode.UNKNOWN_MEMBER_ID, 'the dynamic member is gone');
    assert.equal(c.heartbeat('g', a.memberId, 'ia', 2), ErrorCode.ILLEGAL_GENERATION);
    // a comes back with its member id: this generation's answer, no new rebalance.
    const ra = await c.join('g', classicJoinRequest(a.memberId, { groupInstanceId: 'ia' }));
    assert.equal(ra.errorCode, ErrorCode.NONE);
    assert.equal(ra.generationId, 3);
    assert.equal(ra.leader, d.memberId);
    assert.equal(c.groups.get('g')!.state, 'CompletingRebalance');
  });

  test('a join phase no member rejoined waits another rebalance timeout; a static member that stays silent leaves with its session', async () => {
    const { coordinator: c, clock, store } = setup();
    const a = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ia' }));
    const b = c.join('g', classicJoinRequest('', { groupInstanceId: 'ib' }));
    await settle();
    await c.join('g', classicJoinRequest(a.memberId, { groupInstanceId: 'ia' }));
    const rb = await b;
    const followerSync = sync(c, rb.memberId, 2, {}, 'ib');
    await sync(c, a.memberId, 2, { [a.memberId]: 'A', [rb.memberId]: 'B' }, 'ia');
    assert.equal((await followerSync).errorCode, ErrorCode.NONE);

    const left = await c.leave('g', [{ memberId: '', groupInstanceId: 'ib' }]);
    assert.deepEqual(left.members, [ErrorCode.NONE]);
    assert.equal(c.groups.get('g')!.state, 'PreparingRebalance');
    // a heartbeats through two rebalance timeouts without rejoining: the phase stays open.
    await advanceHeartbeating(c, clock, 40_000, [{ memberId: a.memberId, instanceId: 'ia' }]);
    const g = c.groups.get('g')!;
    assert.equal(g.state, 'PreparingRebalance');
    assert.equal(g.generationId, 2);
    assert.deepEqual(memberIds(c), [a.memberId]);
    // a goes silent: its session ends the phase, and the group is Empty.
    const writes = store.batches.length;
    await clock.advance(10_000);
    assert.equal(g.state, 'Empty');
    assert.equal(g.generationId, 3);
    assert.equal(store.batches.length, writes + 1, 'the empty group is written');
  });

  test('a static member that missed the join phase takes over its assignment when it restarts', async () => {
    const { coordinator: c, clock } = setup();
    const timeouts = { rebalanceTimeoutMs: 5000, sessionTimeoutMs: 30_000 };
    const a = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ia', ...timeouts }));
    const b = c.join('g', classicJoinRequest('', { groupInstanceId: 'ib', ...timeouts }));
    await settle();
    await c.join('g', classicJoinRequest(a.memberId, { groupInstanceId: 'ia', ...timeouts }));
    const rb = await b;
    const followerSync = sync(c, rb.memberId, 2, {}, 'ib');
    await sync(c, a.memberId, 2, { [a.memberId]: 'A2', [rb.memberId]: 'B2' }, 'ia');
    await followerSync;

    // The leader rejoins (a rebalance) while b restarts; the phase ends without b, which stays.
    const ra = c.join('g', classicJoinRequest(a.memberId, { groupInstanceId: 'ia', ...timeouts }));
    await clock.advance(5000);
    const joined = await ra;
    assert.equal(joined.generationId, 3);
    assert.deepEqual(
      joined.members.map((m) => m.memberId),
      [a.memberId, rb.memberId],
    );
    assert.equal((await sync(c, a.memberId, 3, { [a.memberId]: 'A3', [rb.memberId]: 'B3' }, 'ia')).errorCode, ErrorCode.NONE);
    assert.equal(c.groups.get('g')!.state, 'Stable');

    // b is back under a new member id with the same metadata: no rebalance, the assignment is its.
    await clock.advance(1000);
    const back = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ib', ...timeouts }));
    assert.equal(back.errorCode, ErrorCode.NONE);
    assert.equal(back.generationId, 3);
    assert.notEqual(back.memberId, rb.memberId);
    const own = await sync(c, back.memberId, 3, {}, 'ib');
    assert.equal(own.errorCode, ErrorCode.NONE);
    assert.equal(own.assignment.toString(), 'B3');
    assert.equal(c.groups.get('g')!.state, 'Stable');
    // Kafka keeps pending-sync members by member id and does not carry them over to the new id:
    // b's old id never synced, so the pending-sync timeout still rebalances the group.
    await clock.advance(4000);
    assert.equal(c.groups.get('g')!.state, 'PreparingRebalance');
    assert.deepEqual(memberIds(c), [a.memberId, back.memberId]);
  });

  test('the pending-sync timeout removes a member that never sent SyncGroup, also after the group went Stable', async () => {
    const { coordinator: c, clock } = setup();
    const a = await joinDynamic(c);
    await a.answer;
    await sync(c, a.memberId, 1, { [a.memberId]: 'A1' });
    const b = await joinDynamic(c);
    const x = await joinDynamic(c);
    const ra = await c.join('g', classicJoinRequest(a.memberId));
    await Promise.all([b.answer, x.answer]);
    assert.equal(ra.generationId, 2);
    assert.equal(ra.members.length, 3);

    // The leader's assignment makes the group Stable at once; b syncs 5 s later, x never does
    // (but heartbeats, which does not count).
    const assignments = { [a.memberId]: 'A', [b.memberId]: 'B', [x.memberId]: 'X' };
    assert.equal((await sync(c, a.memberId, 2, assignments)).errorCode, ErrorCode.NONE);
    assert.equal(c.groups.get('g')!.state, 'Stable');
    const alive = [a, b, x].map((m) => ({ memberId: m.memberId, instanceId: null }));
    await advanceHeartbeating(c, clock, 5000, alive);
    assert.equal((await sync(c, b.memberId, 2)).assignment.toString(), 'B');
    await advanceHeartbeating(c, clock, 10_000, alive);
    assert.equal(c.groups.get('g')!.state, 'Stable');
    assert.equal(c.heartbeat('g', x.memberId, null, 2), ErrorCode.NONE);
    // 20 s (the rebalance timeout) after the join phase ended: x is removed, the rest rebalance.
    await advanceHeartbeating(c, clock, 5000, alive.slice(0, 2));
    assert.equal(c.groups.get('g')!.state, 'PreparingRebalance');
    assert.deepEqual(memberIds(c), [a.memberId, b.memberId]);
    assert.equal(c.heartbeat('g', x.memberId, null, 2), ErrorCode.UNKNOWN_MEMBER_ID);
    const [ja, jb] = await Promise.all([c.join('g', classicJoinRequest(a.memberId)), c.join('g', classicJoinRequest(b.memberId))]);
    assert.equal(ja.generationId, 3);
    assert.equal(jb.generationId, 3);
    assert.equal(ja.members.length, 2);
  });

  test('a new member still waiting for its first join answer after five minutes is removed', async () => {
    const { coordinator: c, clock } = setup();
    const slow = { rebalanceTimeoutMs: 600_000 };
    const a = await joinDynamic(c, slow);
    await a.answer;
    await sync(c, a.memberId, 1, { [a.memberId]: 'A' });
    // b joins; a (whose rebalance timeout is ten minutes) heartbeats but does not rejoin.
    const b = await joinDynamic(c, slow);
    let answered: JoinResult | null = null;
    void b.answer.then((r) => (answered = r));
    await advanceHeartbeating(c, clock, 295_000, [{ memberId: a.memberId, instanceId: null }]);
    assert.equal(answered, null);
    await advanceHeartbeating(c, clock, 5000, [{ memberId: a.memberId, instanceId: null }]);
    assert.equal(answered!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.deepEqual(memberIds(c), [a.memberId]);
    assert.equal(c.groups.get('g')!.state, 'PreparingRebalance');
    const ra = await c.join('g', classicJoinRequest(a.memberId, slow));
    assert.equal(ra.generationId, 2);
    assert.equal(ra.members.length, 1);
  });

  test('the initial rebalance delay ends the join phase without a member that has not answered MEMBER_ID_REQUIRED', async () => {
    const { coordinator: c, clock } = setup(3000);
    let answered: JoinResult | null = null;
    const a = c.join('g', classicJoinRequest('', { requireKnownMemberId: false })).then((r) => (answered = r));
    const b = await c.join('g', classicJoinRequest(''));
    assert.equal(b.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    await clock.advance(2999);
    assert.equal(answered, null, 'the delay is not over');
    await clock.advance(1);
    const ra = await a;
    assert.equal(ra.generationId, 1);
    assert.equal(ra.members.length, 1);
    assert.equal(c.groups.get('g')!.state, 'CompletingRebalance');
    // b comes back with its member id: it joins the next generation.
    const rb = c.join('g', classicJoinRequest(b.memberId));
    await settle();
    assert.equal(c.groups.get('g')!.state, 'PreparingRebalance');
    await c.join('g', classicJoinRequest(ra.memberId));
    assert.equal((await rb).generationId, 2);
  });
});

/** Lets pending promise callbacks (appends, answers) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}
