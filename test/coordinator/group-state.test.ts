// The group state machine in-process, with a manual clock and an in-memory __consumer_offsets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { GroupCoordinator } from '../../src/coordinator/group-coordinator.js';
import type { JoinRequest, JoinResult } from '../../src/coordinator/group.js';
import { classicJoinRequest } from '../helpers/requests.js';
import { coordinatorFixture, countedMemberIds, MemoryStore } from '../helpers/coordinator.js';
import type { ManualClock } from '../../src/common/clock.js';
import { decodeKey, encodeGroupKey, encodeGroupValue, partitionForGroup } from '../../src/coordinator/records.js';

/** Lets pending promise callbacks (appends, answers) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

function setup(opts: { initialDelay?: number; store?: MemoryStore; clock?: ManualClock } = {}) {
  return coordinatorFixture({
    store: opts.store,
    clock: opts.clock,
    initialRebalanceDelayMs: opts.initialDelay ?? 0,
    topics: [{ id: '00000000-0000-0000-0000-000000000001', name: 't', numPartitions: 4 }],
    newMemberId: countedMemberIds(),
  });
}

const proto = (name: string, data = name) => ({ name, metadata: Buffer.from(data) });

type Coord = GroupCoordinator;

/** KIP-394 first join: MEMBER_ID_REQUIRED, then the real join (whose answer may be delayed). */
async function joinNew(c: Coord, group: string, over: Partial<JoinRequest> = {}): Promise<{ memberId: string; answer: Promise<JoinResult> }> {
  const first = await c.join(group, classicJoinRequest('', over));
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  assert.ok(first.memberId);
  return { memberId: first.memberId, answer: c.join(group, classicJoinRequest(first.memberId, over)) };
}

async function syncAll(c: Coord, group: string, generation: number, leader: string, members: string[]): Promise<void> {
  const followers = members
    .filter((m) => m !== leader)
    .map((m) => c.sync(group, { memberId: m, groupInstanceId: null, generationId: generation, protocolType: null, protocolName: null, assignments: [] }));
  const assignments = members.map((m) => ({ memberId: m, assignment: Buffer.from(`for-${m}`) }));
  const lead = await c.sync(group, { memberId: leader, groupInstanceId: null, generationId: generation, protocolType: 'consumer', protocolName: 'range', assignments });
  assert.equal(lead.errorCode, ErrorCode.NONE);
  assert.equal(lead.assignment.toString(), `for-${leader}`);
  for (const [i, f] of (await Promise.all(followers)).entries()) {
    assert.equal(f.errorCode, ErrorCode.NONE);
    assert.equal(f.assignment.toString(), `for-${members.filter((m) => m !== leader)[i]}`);
  }
}

describe('group state machine', () => {
  test('partitionFor follows Java String.hashCode', () => {
    // "hello".hashCode() = 99162322; "polygenelubricants".hashCode() = Integer.MIN_VALUE.
    assert.equal(partitionForGroup('hello', 50), 99162322 % 50);
    assert.equal(partitionForGroup('polygenelubricants', 50), 0);
    assert.equal(partitionForGroup('', 50), 0);
  });

  test('join, sync, heartbeat: a single member reaches Stable', async () => {
    const { coordinator: c } = setup();
    const a = await joinNew(c, 'g');
    const r = await a.answer;
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.generationId, 1);
    assert.equal(r.leader, a.memberId);
    assert.equal(r.protocolName, 'range');
    assert.deepEqual(
      r.members.map((m) => m.memberId),
      [a.memberId],
    );
    assert.equal(c.groups.get('g')!.state, 'CompletingRebalance');
    assert.equal(c.heartbeat('g', a.memberId, null, 1), ErrorCode.NONE);
    await syncAll(c, 'g', 1, a.memberId, [a.memberId]);
    assert.equal(c.groups.get('g')!.state, 'Stable');
    assert.equal(c.heartbeat('g', a.memberId, null, 1), ErrorCode.NONE);
    assert.equal(c.heartbeat('g', a.memberId, null, 0), ErrorCode.ILLEGAL_GENERATION);
    assert.equal(c.heartbeat('g', 'nobody', null, 1), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(c.heartbeat('other', a.memberId, null, 1), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('a second member triggers a rebalance; followers wait for the leader', async () => {
    const { coordinator: c } = setup();
    const a = await joinNew(c, 'g');
    await a.answer;
    await syncAll(c, 'g', 1, a.memberId, [a.memberId]);
    const b = await joinNew(c, 'g');
    await settle();
    assert.equal(c.groups.get('g')!.state, 'PreparingRebalance');
    assert.equal(c.heartbeat('g', a.memberId, null, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    // The old generation can still commit while the group prepares the rebalance.
    const commit = await c.commitOffsets({
      groupId: 'g',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    assert.equal(commit[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    const ra = await c.join('g', classicJoinRequest(a.memberId));
    const rb = await b.answer;
    assert.equal(ra.generationId, 2);
    assert.equal(rb.generationId, 2);
    assert.equal(ra.leader, a.memberId, 'the leader stays the leader');
    assert.equal(ra.members.length, 2, 'the leader gets every member');
    assert.equal(rb.members.length, 0, 'followers get no member list');
    // A follower's sync waits until the leader's assignment is stored.
    let followerDone = false;
    const follower = c.sync('g', { memberId: b.memberId, groupInstanceId: null, generationId: 2, protocolType: null, protocolName: null, assignments: [] }).then((r) => {
      followerDone = true;
      return r;
    });
    await settle();
    assert.equal(followerDone, false);
    assert.equal(c.heartbeat('g', b.memberId, null, 2), ErrorCode.NONE);
    const stale = await c.commitOffsets({
      groupId: 'g',
      generationId: 1,
      memberId: a.memberId,
      groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 6, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    assert.equal(stale[0]!.partitions[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
    const lead = await c.sync('g', {
      memberId: a.memberId,
      groupInstanceId: null,
      generationId: 2,
      protocolType: null,
      protocolName: null,
      assignments: [
        { memberId: a.memberId, assignment: Buffer.from('A') },
        { memberId: b.memberId, assignment: Buffer.from('B') },
      ],
    });
    assert.equal(lead.assignment.toString(), 'A');
    assert.equal((await follower).assignment.toString(), 'B');
    assert.equal(c.groups.get('g')!.state, 'Stable');
    assert.equal(
      c
        .describeGroup('g')
        .members.find((m) => m.memberId === b.memberId)!
        .assignment.toString(),
      'B',
    );
  });

  test('session expiry removes a silent member and rebalances the rest', async () => {
    const { coordinator: c, clock } = setup();
    const a = await joinNew(c, 'g');
    await a.answer;
    await syncAll(c, 'g', 1, a.memberId, [a.memberId]);
    const b = await joinNew(c, 'g');
    const ra = c.join('g', classicJoinRequest(a.memberId));
    const [ja, jb] = await Promise.all([ra, b.answer]);
    await syncAll(c, 'g', 2, ja.leader, [a.memberId, b.memberId]);
    assert.equal(jb.generationId, 2);
    // b keeps heartbeating, a goes silent.
    for (let i = 0; i < 4; i++) {
      await clock.advance(3000);
      const hb = c.heartbeat('g', b.memberId, null, c.groups.get('g')!.generationId);
      if (hb !== ErrorCode.NONE) {
        assert.equal(hb, ErrorCode.REBALANCE_IN_PROGRESS);
        break;
      }
    }
    assert.equal(c.groups.get('g')!.members.has(a.memberId), false, 'a expired');
    const rb = await c.join('g', classicJoinRequest(b.memberId));
    assert.equal(rb.generationId, 3);
    assert.equal(rb.leader, b.memberId, 'a new leader is elected');
  });

  test('members that do not rejoin within the rebalance timeout are removed', async () => {
    const { coordinator: c, clock } = setup();
    const a = await joinNew(c, 'g');
    await a.answer;
    await syncAll(c, 'g', 1, a.memberId, [a.memberId]);
    const b = await joinNew(c, 'g', { rebalanceTimeoutMs: 5000 });
    // a heartbeats (learning of the rebalance) but never rejoins.
    await clock.advance(2000);
    assert.equal(c.heartbeat('g', a.memberId, null, 1), ErrorCode.REBALANCE_IN_PROGRESS);
    await clock.advance(18_000);
    const rb = await b.answer;
    assert.equal(rb.errorCode, ErrorCode.NONE);
    assert.equal(rb.generationId, 2);
    assert.deepEqual(
      rb.members.map((m) => m.memberId),
      [b.memberId],
    );
    assert.equal(c.heartbeat('g', a.memberId, null, 1), ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('a leader that never sends its assignment is removed after the rebalance timeout', async () => {
    const { coordinator: c, clock } = setup();
    const a = await joinNew(c, 'g', { rebalanceTimeoutMs: 5000 });
    await a.answer;
    await syncAll(c, 'g', 1, a.memberId, [a.memberId]);
    const b = await joinNew(c, 'g', { rebalanceTimeoutMs: 5000 });
    const ra = await c.join('g', classicJoinRequest(a.memberId, { rebalanceTimeoutMs: 5000 }));
    const rb = await b.answer;
    assert.equal(ra.leader, a.memberId);
    // The follower syncs and waits; the leader only heartbeats.
    const follower = c.sync('g', { memberId: b.memberId, groupInstanceId: null, generationId: 2, protocolType: null, protocolName: null, assignments: [] });
    for (let i = 0; i < 3; i++) {
      await clock.advance(2000);
      c.heartbeat('g', a.memberId, null, 2);
    }
    assert.equal((await follower).errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.equal(c.groups.get('g')!.members.has(a.memberId), false);
    const again = await c.join('g', classicJoinRequest(rb.memberId));
    assert.equal(again.generationId, 3);
    assert.equal(again.leader, b.memberId);
  });

  test('the protocol all members support with the most votes wins', async () => {
    const { coordinator: c } = setup();
    const x = await c.join('g', classicJoinRequest('', { requireKnownMemberId: false, protocols: [proto('range'), proto('roundrobin'), proto('sticky')] }));
    assert.equal(x.protocolName, 'range');
    const y = c.join('g', classicJoinRequest('', { requireKnownMemberId: false, protocols: [proto('roundrobin'), proto('range')] }));
    const z = c.join('g', classicJoinRequest('', { requireKnownMemberId: false, protocols: [proto('roundrobin')] }));
    const again = c.join('g', classicJoinRequest(x.memberId, { protocols: [proto('range'), proto('roundrobin'), proto('sticky')] }));
    const results = await Promise.all([y, z, again]);
    for (const r of results) assert.equal(r.protocolName, 'roundrobin');
    const bad = await c.join('g', classicJoinRequest('', { requireKnownMemberId: false, protocols: [proto('sticky')] }));
    assert.equal(bad.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const badType = await c.join('g', classicJoinRequest('', { requireKnownMemberId: false, protocolType: 'connect' }));
    assert.equal(badType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });

  test("a rejoin's protocols must fit every member, its own current entry included (Kafka's supportsProtocols)", async () => {
    const { coordinator: c } = setup();
    // A single static member: its restart must keep its protocol type and share a protocol with
    // what it joined with, though no other member is there.
    const s = await c.join('s', classicJoinRequest('', { groupInstanceId: 'i', protocols: [proto('range')] }));
    await syncAll(c, 's', 1, s.memberId, [s.memberId]);
    const otherType = await c.join('s', classicJoinRequest('', { groupInstanceId: 'i', protocolType: 'connect', protocols: [proto('range')] }));
    assert.deepEqual([otherType.errorCode, otherType.memberId], [ErrorCode.INCONSISTENT_GROUP_PROTOCOL, '']);
    const otherProtocol = await c.join('s', classicJoinRequest('', { groupInstanceId: 'i', protocols: [proto('roundrobin')] }));
    assert.equal(otherProtocol.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(c.describeGroup('s').members[0]!.memberId, s.memberId, 'the member stays');
    assert.equal(c.groups.get('s')!.state, 'Stable');
    // A member rejoining with a protocol only the others list: its current entry does not.
    const a = await c.join('g', classicJoinRequest('', { requireKnownMemberId: false, protocols: [proto('range')] }));
    const b = c.join('g', classicJoinRequest('', { requireKnownMemberId: false, protocols: [proto('range'), proto('roundrobin')] }));
    const ra = c.join('g', classicJoinRequest(a.memberId, { protocols: [proto('range')] }));
    const [rb, ra2] = await Promise.all([b, ra]);
    await syncAll(c, 'g', ra2.generationId, ra2.leader, [ra2.memberId, rb.memberId]);
    const switched = await c.join('g', classicJoinRequest(a.memberId, { protocols: [proto('roundrobin')] }));
    assert.deepEqual([switched.errorCode, switched.memberId], [ErrorCode.INCONSISTENT_GROUP_PROTOCOL, a.memberId]);
    assert.equal(c.groups.get('g')!.state, 'Stable');
  });

  test('static members: a restart with unchanged metadata replaces the member id without a rebalance', async () => {
    const { coordinator: c } = setup();
    const a = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ia' }));
    assert.equal(a.errorCode, ErrorCode.NONE, 'static members need no MEMBER_ID_REQUIRED round');
    await syncAll(c, 'g', 1, a.memberId, [a.memberId]);
    const b = c.join('g', classicJoinRequest('', { groupInstanceId: 'ib' }));
    const ra = await c.join('g', classicJoinRequest(a.memberId, { groupInstanceId: 'ia' }));
    const rb = await b;
    await syncAll(c, 'g', 2, ra.leader, [ra.memberId, rb.memberId]);
    const before = c
      .describeGroup('g')
      .members.find((m) => m.groupInstanceId === 'ib')!
      .assignment.toString();

    // ib restarts: joins with no member id.
    const rb2 = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ib' }));
    assert.equal(rb2.errorCode, ErrorCode.NONE);
    assert.notEqual(rb2.memberId, rb.memberId);
    assert.equal(rb2.generationId, 2, 'no new generation');
    assert.equal(c.groups.get('g')!.state, 'Stable');
    assert.equal(c.heartbeat('g', a.memberId, 'ia', 2), ErrorCode.NONE, 'the other member sees no rebalance');
    const sync = await c.sync('g', { memberId: rb2.memberId, groupInstanceId: 'ib', generationId: 2, protocolType: null, protocolName: null, assignments: [] });
    assert.equal(sync.assignment.toString(), before, 'the restarted member keeps its assignment');
    // The old incarnation is fenced.
    assert.equal(c.heartbeat('g', rb.memberId, 'ib', 2), ErrorCode.FENCED_INSTANCE_ID);
    const commit = await c.commitOffsets({
      groupId: 'g',
      generationId: 2,
      memberId: rb.memberId,
      groupInstanceId: 'ib',
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    assert.equal(commit[0]!.partitions[0]!.errorCode, ErrorCode.FENCED_INSTANCE_ID);
  });

  test('a member keeps the client id and host of its first join; a static member id starts with its instance id', async () => {
    const { coordinator: c } = setup();
    const a = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ia', clientId: 'first', clientHost: '/10.0.0.1' }));
    assert.equal(a.errorCode, ErrorCode.NONE);
    assert.match(a.memberId, /^ia-/, 'as Kafka: group.instance.id, then a unique suffix');
    await syncAll(c, 'g', 1, a.memberId, [a.memberId]);
    const d = await joinNew(c, 'g', { clientId: 'dyn', clientHost: '/10.0.0.2' });
    assert.match(d.memberId, /^dyn-/);
    const ra = await c.join('g', classicJoinRequest(a.memberId, { groupInstanceId: 'ia', clientId: 'first', clientHost: '/10.0.0.1' }));
    const rd = await d.answer;
    await syncAll(c, 'g', 2, ra.leader, [ra.memberId, rd.memberId]);
    // A rejoin under another client id and host (Kafka's updateMember changes neither).
    const rd2 = c.join('g', classicJoinRequest(rd.memberId, { clientId: 'dyn-renamed', clientHost: '/10.0.0.3' }));
    // The static member restarts on another host with another client id: Kafka's replacement copies both.
    const ra2 = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ia', clientId: 'second', clientHost: '/10.0.0.9' }));
    assert.equal(ra2.errorCode, ErrorCode.NONE);
    assert.match(ra2.memberId, /^ia-/);
    await rd2;
    const members = new Map(c.describeGroup('g').members.map((m) => [m.memberId, m]));
    assert.deepEqual([members.get(ra2.memberId)?.clientId, members.get(ra2.memberId)?.clientHost], ['first', '/10.0.0.1']);
    assert.deepEqual([members.get(rd.memberId)?.clientId, members.get(rd.memberId)?.clientHost], ['dyn', '/10.0.0.2']);
  });

  test('static members: a restart rebalances a Stable group only when the protocol it would select changes', async () => {
    const { coordinator: c, store } = setup();
    const both = [proto('range'), proto('roundrobin')];
    const a = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ia', protocols: both }));
    await syncAll(c, 'g', 1, a.memberId, [a.memberId]);
    const b = c.join('g', classicJoinRequest('', { groupInstanceId: 'ib', protocols: both }));
    const ra = await c.join('g', classicJoinRequest(a.memberId, { groupInstanceId: 'ia', protocols: both }));
    const rb = await b;
    await syncAll(c, 'g', 2, ra.leader, [ra.memberId, rb.memberId]);
    assert.equal(ra.leader, a.memberId);

    // A follower restarts with new metadata under the same protocol (a changed subscription):
    // Kafka stores it and answers the current generation, naming the leader, with no rebalance.
    const written = store.batches.length;
    const follower = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ib', protocols: [proto('range', 'new-subscription'), proto('roundrobin')] }));
    assert.equal(follower.errorCode, ErrorCode.NONE);
    assert.equal(follower.generationId, 2);
    assert.equal(follower.leader, a.memberId);
    assert.equal(follower.skipAssignment, false);
    assert.deepEqual(follower.members, []);
    assert.equal(c.groups.get('g')!.state, 'Stable');
    assert.equal(store.batches.length, written + 1, 'the replacement is written');
    const ib = c.describeGroup('g').members.find((m) => m.groupInstanceId === 'ib')!;
    assert.equal(ib.memberId, follower.memberId);
    assert.equal(ib.metadata.toString(), 'new-subscription');
    assert.equal(ib.assignment.toString(), `for-${rb.memberId}`, 'it keeps its assignment');

    // The leader restarts with new metadata too: no rebalance either; one that may skip the
    // assignment leads, with every member's current metadata.
    const leader = await c.join(
      'g',
      classicJoinRequest('', { groupInstanceId: 'ia', protocols: [proto('range', 'leader-new'), proto('roundrobin')], supportsSkipAssignment: true }),
    );
    assert.equal(leader.errorCode, ErrorCode.NONE);
    assert.equal(leader.generationId, 2);
    assert.equal(leader.leader, leader.memberId);
    assert.equal(leader.skipAssignment, true);
    assert.deepEqual(
      leader.members.map((m) => [m.groupInstanceId, m.metadata.toString()]),
      [
        ['ia', 'leader-new'],
        ['ib', 'new-subscription'],
      ],
    );
    assert.equal(c.groups.get('g')!.state, 'Stable');

    // A restart that drops the selected protocol changes the one the group would select: rebalance.
    const changed = c.join('g', classicJoinRequest('', { groupInstanceId: 'ib', protocols: [proto('roundrobin')] }));
    await settle();
    assert.equal(c.groups.get('g')!.state, 'PreparingRebalance');
    await c.join('g', classicJoinRequest(leader.memberId, { groupInstanceId: 'ia', protocols: both }));
    const next = await changed;
    assert.equal(next.generationId, 3);
    assert.equal(next.protocolName, 'roundrobin');
  });

  test('a restarted static leader is named the leader it replaced, unless it may skip the assignment (KIP-814)', async () => {
    const { coordinator: c } = setup();
    const a = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ia' }));
    const b = c.join('g', classicJoinRequest('', { groupInstanceId: 'ib' }));
    await c.join('g', classicJoinRequest(a.memberId, { groupInstanceId: 'ia' }));
    const rb = await b;
    await syncAll(c, 'g', 2, a.memberId, [a.memberId, rb.memberId]);

    // An older client: told the old member id leads, so it syncs as a follower.
    const old = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ia' }));
    assert.equal(old.errorCode, ErrorCode.NONE);
    assert.notEqual(old.memberId, a.memberId);
    assert.equal(old.leader, a.memberId);
    assert.equal(old.skipAssignment, false);
    assert.deepEqual(old.members, []);
    // A client that may skip the assignment: it leads, with the members' metadata.
    const skip = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ia', supportsSkipAssignment: true }));
    assert.equal(skip.leader, skip.memberId);
    assert.equal(skip.skipAssignment, true);
    assert.deepEqual(
      skip.members.map((m) => m.groupInstanceId),
      ['ia', 'ib'],
    );
    assert.equal(skip.generationId, 2);
    assert.equal(c.groups.get('g')!.state, 'Stable');
  });

  test('an instance id that names no static member of the group is UNKNOWN_MEMBER_ID for JoinGroup, SyncGroup and Heartbeat', async () => {
    const { coordinator: c } = setup();
    const a = await joinNew(c, 'g');
    await a.answer;
    await syncAll(c, 'g', 1, a.memberId, [a.memberId]);
    assert.equal(c.heartbeat('g', a.memberId, 'nobody', 1), ErrorCode.UNKNOWN_MEMBER_ID);
    const sync = await c.sync('g', { memberId: a.memberId, groupInstanceId: 'nobody', generationId: 1, protocolType: null, protocolName: null, assignments: [] });
    assert.equal(sync.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const join = await c.join('g', classicJoinRequest(a.memberId, { groupInstanceId: 'nobody' }));
    assert.equal(join.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(c.heartbeat('g', a.memberId, null, 1), ErrorCode.NONE, 'the member itself is fine');
    assert.equal(c.groups.get('g')!.state, 'Stable');
  });

  test('LeaveGroup removes members by id or instance id, batched', async () => {
    const { coordinator: c } = setup();
    const a = await c.join('g', classicJoinRequest('', { groupInstanceId: 'ia' }));
    const b = c.join('g', classicJoinRequest('', { requireKnownMemberId: false }));
    await c.join('g', classicJoinRequest(a.memberId, { groupInstanceId: 'ia' }));
    const rb = await b;
    await syncAll(c, 'g', 2, a.memberId, [a.memberId, rb.memberId]);
    const { members: codes } = await c.leave('g', [
      { memberId: '', groupInstanceId: 'ia' },
      { memberId: rb.memberId, groupInstanceId: null },
      { memberId: 'ghost', groupInstanceId: null },
      { memberId: 'wrong', groupInstanceId: 'ib' },
    ]);
    assert.deepEqual(codes, [ErrorCode.NONE, ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID]);
    await settle();
    const g = c.groups.get('g')!;
    assert.equal(g.state, 'Empty');
    assert.equal(g.generationId, 3);
  });

  test('offset commits: simple commits, member checks, fetch and delete', async () => {
    const { coordinator: c } = setup();
    const part = (p: number, o: number, meta: string | null = null) => ({ partitionIndex: p, committedOffset: o, committedLeaderEpoch: 3, committedMetadata: meta });
    const simple = await c.commitOffsets({
      groupId: 'solo',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: 't', partitions: [part(0, 10, 'm'), part(9, 1), part(1, 2, 'x'.repeat(200))] }],
    });
    assert.deepEqual(
      simple[0]!.partitions.map((p) => p.errorCode),
      [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.OFFSET_METADATA_TOO_LARGE],
    );
    const unknownGen = await c.commitOffsets({ groupId: 'nobody', generationId: 4, memberId: 'm', groupInstanceId: null, topics: [{ name: 't', partitions: [part(0, 1)] }] });
    assert.equal(unknownGen[0]!.partitions[0]!.errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.deepEqual(c.fetchOffsets('solo', [{ name: 't', partitionIndexes: [0, 1] }]), [
      {
        name: 't',
        partitions: [
          { partitionIndex: 0, committedOffset: 10, committedLeaderEpoch: 3, metadata: 'm', errorCode: ErrorCode.NONE },
          { partitionIndex: 1, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE },
        ],
      },
    ]);
    assert.equal(c.fetchOffsets('solo', null)[0]!.partitions.length, 1);
    assert.deepEqual(c.listGroups(), [{ groupId: 'solo', protocolType: '', state: 'Empty', type: 'classic' }]);

    // A member of a live group that is subscribed to the topic cannot have its offsets deleted.
    const a = await joinNew(c, 'live', { protocols: [{ name: 'range', metadata: subscription(['t']) }] });
    await a.answer;
    const nonMember = await c.commitOffsets({ groupId: 'live', generationId: -1, memberId: '', groupInstanceId: null, topics: [{ name: 't', partitions: [part(0, 1)] }] });
    assert.equal(nonMember[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const during = await c.commitOffsets({ groupId: 'live', generationId: 1, memberId: a.memberId, groupInstanceId: null, topics: [{ name: 't', partitions: [part(0, 1)] }] });
    assert.equal(during[0]!.partitions[0]!.errorCode, ErrorCode.REBALANCE_IN_PROGRESS, 'no commits between join and sync');
    const del = await c.deleteOffsets('live', [{ name: 't', partitions: [0] }]);
    assert.equal(del.topics[0]!.partitions[0]!.errorCode, ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC);

    const d = await c.deleteOffsets('solo', [{ name: 't', partitions: [0] }]);
    assert.equal(d.errorCode, ErrorCode.NONE);
    assert.equal(c.fetchOffsets('solo', [{ name: 't', partitionIndexes: [0] }])[0]!.partitions[0]!.committedOffset, -1);
    assert.equal((await c.deleteOffsets('missing', [])).errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  });

  test('consumer lag: log end minus committed offset', async () => {
    const { coordinator: c } = setup();
    const part = (p: number, o: number) => ({ partitionIndex: p, committedOffset: o, committedLeaderEpoch: -1, committedMetadata: null });
    await c.commitOffsets({ groupId: 'g', generationId: -1, memberId: '', groupInstanceId: null, topics: [{ name: 't', partitions: [part(1, 4), part(0, 10), part(2, 7)] }] });
    const ends: Record<number, number> = { 0: 10, 1: 9 };
    assert.deepEqual(
      c.lag('g', (_t, p) => ends[p]),
      [
        { topic: 't', partition: 0, committed: 10, end: 10, lag: 0 },
        { topic: 't', partition: 1, committed: 4, end: 9, lag: 5 },
      ],
    );
    assert.deepEqual(
      c.lag('nobody', () => 0),
      [],
    );
  });

  test('DeleteGroups and offset expiry', async () => {
    const { coordinator: c, clock } = setup();
    await c.commitOffsets({
      groupId: 'solo',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    const a = await joinNew(c, 'busy');
    await a.answer;
    assert.deepEqual(await c.deleteGroups(['solo', 'busy', 'ghost']), [
      { groupId: 'solo', errorCode: ErrorCode.NONE },
      { groupId: 'busy', errorCode: ErrorCode.NON_EMPTY_GROUP },
      { groupId: 'ghost', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
    ]);
    assert.equal(c.groups.has('solo'), false);
    assert.equal(c.fetchOffsets('solo', null).length, 0);

    await c.commitOffsets({
      groupId: 'old',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    await clock.advance(30_000);
    await c.commitOffsets({
      groupId: 'old',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    await clock.advance(31_000);
    await c.expireOffsets();
    assert.deepEqual(
      c.fetchOffsets('old', null)[0]!.partitions.map((p) => p.partitionIndex),
      [1],
      'only the older commit expired',
    );
    await clock.advance(30_000);
    await c.expireOffsets();
    assert.equal(c.groups.has('old'), false, 'a group with no offsets left is removed');

    // Offsets of a deleted topic (here: partitions that do not exist) disappear at the next sweep,
    // even from a group with members.
    const live = await joinNew(c, 'live');
    await live.answer;
    await c.commitOffsets({
      groupId: 'solo2',
      generationId: -1,
      memberId: '',
      groupInstanceId: null,
      topics: [{ name: 't', partitions: [{ partitionIndex: 3, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    });
    const stale = { offset: 1, leaderEpoch: -1, metadata: '', commitTimestamp: clock.now() };
    c.offsets.get('solo2')!.get('t')!.set(7, stale);
    c.offsets.set('live', new Map([['gone-topic', new Map([[0, stale]])]]));
    await c.expireOffsets();
    assert.deepEqual(
      c.fetchOffsets('solo2', null)[0]!.partitions.map((p) => p.partitionIndex),
      [3],
    );
    assert.deepEqual(c.fetchOffsets('live', null), []);
    assert.equal(c.groups.get('live')!.members.size, 1);
  });

  test('the initial rebalance delay gathers members of a new group into one generation', async () => {
    const { coordinator: c, clock } = setup({ initialDelay: 3000 });
    const a = await joinNew(c, 'g');
    await clock.advance(1000);
    const b = await joinNew(c, 'g');
    await clock.advance(2500);
    const c3 = await joinNew(c, 'g');
    await clock.advance(10_000);
    const results = await Promise.all([a.answer, b.answer, c3.answer]);
    for (const r of results) assert.equal(r.generationId, 1);
    assert.equal(results.find((r) => r.members.length > 0)!.members.length, 3);
  });

  test("state is rebuilt from the records: offsets, generation, and a settled generation's members", async () => {
    const { coordinator: c, store } = setup();
    const a = await joinNew(c, 'g', { protocols: [{ name: 'range', metadata: subscription(['other']) }] });
    await a.answer;
    await syncAll(c, 'g', 1, a.memberId, [a.memberId]);
    const part = (p: number, o: number) => ({ partitionIndex: p, committedOffset: o, committedLeaderEpoch: 0, committedMetadata: `meta-${o}` });
    await c.commitOffsets({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null, topics: [{ name: 't', partitions: [part(0, 5), part(1, 7)] }] });
    await c.commitOffsets({ groupId: 'g', generationId: 1, memberId: a.memberId, groupInstanceId: null, topics: [{ name: 't', partitions: [part(0, 9)] }] });
    await c.commitOffsets({ groupId: 'gone', generationId: -1, memberId: '', groupInstanceId: null, topics: [{ name: 't', partitions: [part(0, 1)] }] });
    await c.deleteGroups(['gone']);
    await c.deleteOffsets('g', [{ name: 't', partitions: [1] }]);
    // Everything of group g went to g's partition.
    for (const [p, records] of store.partitions) {
      for (const r of records) {
        const k = decodeKey(r.key)!;
        assert.equal(p, partitionForGroup(k.group, 5));
      }
    }
    c.shutdown();

    const { coordinator: again } = setup({ store: new MemoryStore() });
    for (const records of store.partitions.values()) for (const r of records) again.replayRecord(r.key, r.value);
    again.finishLoading();
    const g = again.groups.get('g')!;
    // The last snapshot was of a settled generation (the sync stored the assignment): Kafka
    // brings the group back Stable with its members, who carry on without a rebalance.
    assert.equal(g.state, 'Stable');
    assert.deepEqual([...g.members.keys()], [a.memberId]);
    assert.equal(g.generationId, 1);
    assert.equal(g.protocolType, 'consumer');
    assert.equal(again.groups.has('gone'), false);
    assert.deepEqual(again.fetchOffsets('g', null), [
      { name: 't', partitions: [{ partitionIndex: 0, committedOffset: 9, committedLeaderEpoch: 0, metadata: 'meta-9', errorCode: ErrorCode.NONE }] },
    ]);
    assert.equal(again.heartbeat('g', a.memberId, null, 1), ErrorCode.NONE);
    assert.equal(again.heartbeat('g', a.memberId, null, 0), ErrorCode.ILLEGAL_GENERATION);
    again.shutdown();
  });

  test('a coordinator taking over mid-rebalance has the last settled generation: the SyncGroup of the new one is refused, and the members rejoin', async () => {
    // Kafka 4.4 writes nothing when a join phase ends with members (completeClassicGroupJoin):
    // the group's record is the one its leader's last SyncGroup stored.
    const { coordinator: c, store } = setup();
    const a = await joinNew(c, 'g');
    await a.answer;
    await syncAll(c, 'g', 1, a.memberId, [a.memberId]);
    const b = await joinNew(c, 'g');
    const [ra, rb] = await Promise.all([c.join('g', classicJoinRequest(a.memberId)), b.answer]);
    assert.deepEqual([ra.generationId, rb.generationId, c.groups.get('g')!.state], [2, 2, 'CompletingRebalance']);
    c.shutdown();
    const { coordinator: again } = setup({ store: new MemoryStore() });
    for (const records of store.partitions.values()) for (const r of records) again.replayRecord(r.key, r.value);
    again.finishLoading();
    const g = again.groups.get('g')!;
    assert.deepEqual([g.state, g.generationId, [...g.members.keys()]], ['Stable', 1, [a.memberId]]);
    const syncAt = (memberId: string) =>
      again.sync('g', { memberId, groupInstanceId: null, generationId: 2, protocolType: 'consumer', protocolName: 'range', assignments: [] });
    assert.equal((await syncAt(a.memberId)).errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await syncAt(b.memberId)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    // They rejoin (b as a new member): one generation past the settled one.
    const b2 = await joinNew(again, 'g');
    const [ra2, rb2] = await Promise.all([again.join('g', classicJoinRequest(a.memberId)), b2.answer]);
    assert.deepEqual([ra2.errorCode, rb2.errorCode, ra2.generationId, rb2.generationId], [ErrorCode.NONE, ErrorCode.NONE, 2, 2]);
    again.shutdown();
  });

  test('a snapshot in which the leader assigned some members nothing comes back Stable with every member, as in Kafka', async () => {
    const { coordinator: c } = setup();
    const member = (id: string, assignment: string) => ({
      memberId: id,
      groupInstanceId: null,
      clientId: 'm',
      clientHost: '/127.0.0.1',
      rebalanceTimeoutMs: 10_000,
      sessionTimeoutMs: 10_000,
      subscription: Buffer.from('s'),
      assignment: Buffer.from(assignment),
    });
    const value = { protocolType: 'consumer', generation: 4, protocol: 'range', leader: 'm-1', stateTimestamp: 1, members: [member('m-1', 'a'), member('m-2', '')] };
    c.replayRecord(encodeGroupKey('g'), encodeGroupValue(value));
    c.finishLoading();
    const g = c.groups.get('g')!;
    assert.deepEqual([g.state, g.generationId, [...g.members.keys()]], ['Stable', 4, ['m-1', 'm-2']]);
    assert.equal(c.heartbeat('g', 'm-2', null, 4), ErrorCode.NONE);
    const synced = await c.sync('g', { memberId: 'm-2', groupInstanceId: null, generationId: 4, protocolType: null, protocolName: null, assignments: [] });
    assert.deepEqual([synced.errorCode, synced.assignment.length], [ErrorCode.NONE, 0]);
    c.shutdown();
  });

  test('a snapshot with members but no assignments (earlier versions wrote one per new generation) comes back Empty: its members rejoin', async () => {
    const { coordinator: c } = setup();
    const member = { memberId: 'm-1', groupInstanceId: null, clientId: 'm', clientHost: '/127.0.0.1', rebalanceTimeoutMs: 10_000, sessionTimeoutMs: 10_000 };
    const value = {
      protocolType: 'consumer',
      generation: 1,
      protocol: 'range',
      leader: 'm-1',
      stateTimestamp: 1,
      members: [{ ...member, subscription: Buffer.from('s'), assignment: Buffer.alloc(0) }],
    };
    c.replayRecord(encodeGroupKey('g'), encodeGroupValue(value));
    c.finishLoading();
    const g = c.groups.get('g')!;
    assert.deepEqual([g.state, g.generationId, g.members.size], ['Empty', 1, 0]);
    assert.equal(c.heartbeat('g', 'm-1', null, 1), ErrorCode.UNKNOWN_MEMBER_ID);
    const b = await joinNew(c, 'g');
    assert.equal((await b.answer).generationId, 2);
    c.shutdown();
  });
});

/** A ConsumerProtocolSubscription v0 naming `topics`. */
function subscription(topics: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, 0])];
  const n = Buffer.alloc(4);
  n.writeInt32BE(topics.length);
  parts.push(n);
  for (const t of topics) {
    const len = Buffer.alloc(2);
    len.writeInt16BE(Buffer.byteLength(t));
    parts.push(len, Buffer.from(t));
  }
  const nullUserData = Buffer.alloc(4);
  nullUserData.writeInt32BE(-1);
  parts.push(nullUserData);
  return Buffer.concat(parts);
}
