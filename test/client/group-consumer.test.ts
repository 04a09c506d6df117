import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { createTopic } from '../helpers/requests.js';
import { waitUntil } from '../helpers/wait.js';
import { classicJoin, classicLeave, classicSync, CUT_SHORT, NO_PARTITIONS, NO_TOPICS } from '../helpers/classic-member.js';
import { Admin } from '../../src/client/admin.js';
import { Cluster } from '../../src/client/cluster.js';
import { Producer } from '../../src/client/producer.js';
import { GroupConsumer, rangeAssign } from '../../src/client/group-consumer.js';
import type { ConsumerRecord } from '../../src/client/consumer.js';
import { ApiKey, encodeConsumerProtocolAssignment } from '../../src/protocol/generated/index.js';
import { Writer } from '../../src/protocol/primitives.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { KafkaClientError } from '../../src/client/errors.js';

const broker = suiteBroker({ config: { 'group.initial.rebalance.delay.ms': 0 } });
let cluster: Cluster;
let admin: Admin;
let groupApis = true;

before(async () => {
  await broker.ready;
  cluster = new Cluster({ bootstrap: broker.bootstrap });
  admin = new Admin(cluster);
  const conn = await cluster.anyConnection();
  groupApis = [ApiKey.FindCoordinator, ApiKey.JoinGroup, ApiKey.SyncGroup, ApiKey.Heartbeat, ApiKey.LeaveGroup, ApiKey.OffsetCommit, ApiKey.OffsetFetch].every((k) =>
    conn.supports(k),
  );
});
after(() => cluster.close());

test('range assignment: contiguous ranges, the first members get the extra partitions', () => {
  const a = rangeAssign(
    [
      { memberId: 'b', topics: ['t', 'u'] },
      { memberId: 'a', topics: ['t'] },
    ],
    new Map([
      ['t', 5],
      ['u', 2],
    ]),
  );
  assert.deepEqual([...a.get('a')!], [['t', [0, 1, 2]]]);
  assert.deepEqual(
    [...a.get('b')!],
    [
      ['t', [3, 4]],
      ['u', [0, 1]],
    ],
  );
});

test('a group member reads, commits what it handed out, and resumes there', async (t) => {
  if (!groupApis) return t.skip('broker does not advertise the group membership APIs');
  await createTopic(broker, 'gc1', 2);
  const producer = new Producer(cluster);
  await producer.send(
    'gc1',
    Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, partition: i % 2 })),
  );
  let c = new GroupConsumer(cluster, { groupId: 'gc1-g', sessionTimeoutMs: 6000 });
  c.subscribe(['gc1']);
  const first: ConsumerRecord[] = [];
  for await (const r of c.records({ maxMessages: 4 })) first.push(r);
  await c.close();
  assert.equal(first.length, 4);
  const committed = await admin.fetchOffsets('gc1-g');
  assert.equal(
    committed.reduce((n, x) => n + x.offset, 0),
    4,
    'commits cover exactly the records handed out',
  );

  await producer.send('gc1', [{ value: 'late', partition: 0 }]);
  c = new GroupConsumer(cluster, { groupId: 'gc1-g', sessionTimeoutMs: 6000 });
  c.subscribe(['gc1']);
  const rest: ConsumerRecord[] = [];
  for await (const r of c.records()) rest.push(r);
  await c.close();
  assert.deepEqual([...first, ...rest].map((r) => r.value!.toString()).sort(), [...Array.from({ length: 10 }, (_, i) => `v${i}`), 'late'].sort());
  assert.deepEqual(
    (await admin.fetchOffsets('gc1-g')).map((x) => x.offset),
    [6, 5],
  );
  await producer.close();
});

test('two members split the partitions and, together, read every record once', async (t) => {
  if (!groupApis) return t.skip('broker does not advertise the group membership APIs');
  await createTopic(broker, 'gc2', 4);
  const members = [0, 1].map(() => {
    const m = new GroupConsumer(new Cluster({ bootstrap: broker.bootstrap }), { groupId: 'gc2-g', sessionTimeoutMs: 6000, heartbeatIntervalMs: 300 });
    m.subscribe(['gc2']);
    return m;
  });
  const got: string[][] = [[], []];
  const stop = new AbortController();
  const runs = members.map(async (m, i) => {
    for await (const r of m.records({ follow: true, signal: stop.signal })) got[i]!.push(r.value!.toString());
  });
  // Wait until both members own two partitions each (the second join makes the first rebalance).
  await waitUntil(() => members.every((m) => m.assignment.flatMap((a) => a.partitions).length === 2), {
    timeout: 30_000,
    message: () => `a balanced assignment: ${JSON.stringify(members.map((m) => m.assignment))}`,
  });
  const owned = members.flatMap((m) => m.assignment.flatMap((a) => a.partitions)).sort();
  assert.deepEqual(owned, [0, 1, 2, 3]);
  const producer = new Producer(cluster);
  await producer.send(
    'gc2',
    Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })),
  );
  await producer.close();
  await waitUntil(() => got[0]!.length + got[1]!.length >= 40, { timeout: 30_000, message: () => `40 records (${got[0]!.length + got[1]!.length} arrived)` });
  stop.abort();
  await Promise.all(runs);
  await Promise.all(members.map((m) => m.close()));
  await Promise.all(members.map((m) => m.cluster.close()));
  assert.ok(got[0]!.length > 0 && got[1]!.length > 0, 'both members read');
  assert.deepEqual([...got[0]!, ...got[1]!].sort(), Array.from({ length: 40 }, (_, i) => `v${i}`).sort());
});

const memberCount = async (groupId: string) => (await admin.describeGroups([groupId]))[0]!.members.length;
/** ConsumerProtocolSubscription v0 of the topic "gcx". */
const SUBSCRIPTION = Buffer.from([0, 0, 0, 0, 0, 1, 0, 3, 0x67, 0x63, 0x78, 0xff, 0xff, 0xff, 0xff]);

let gcx: Promise<string> | undefined;

/**
 * A Stable group led by a hand-driven member (no partitions for itself), then a group consumer
 * (its own connections: a pending JoinGroup holds back later answers on a connection) asked for
 * records: the group rebalances. Its read is bounded, since a member that took malformed bytes for
 * no partitions would rejoin and read nothing forever.
 */
async function groupConsumerJoiningRawLeader(t: TestContext, group: string) {
  await (gcx ??= createTopic(broker, 'gcx', 1));
  const conn = await admin.coordinatorFor(group);
  const first = await classicJoin(conn, group, SUBSCRIPTION);
  assert.equal((await classicSync(conn, group, first, [{ memberId: first.memberId, assignment: NO_PARTITIONS }])).errorCode, ErrorCode.NONE);
  const c = new GroupConsumer({ bootstrap: broker.bootstrap }, { groupId: group, sessionTimeoutMs: 6000 });
  t.after(() => c.close({ commit: false }));
  c.subscribe(['gcx']);
  const read = c.records({ signal: AbortSignal.timeout(5000) }).next();
  read.catch(() => undefined); // asserted by the caller; not unhandled meanwhile
  await waitUntil(async () => (await memberCount(group)) === 2, { message: 'the group consumer joined' });
  return { conn, first, read };
}

const isMalformed = (e: unknown) => e instanceof KafkaClientError && e.type === 'INCONSISTENT_GROUP_PROTOCOL';

test('a member whose SyncGroup assignment does not decode fails, as the Java consumer does', async (t) => {
  if (!groupApis) return t.skip('broker does not advertise the group membership APIs');
  const group = 'gc-bad-assignment';
  const { conn, first, read } = await groupConsumerJoiningRawLeader(t, group);
  // The raw leader rejoins, stays leader, and hands the group consumer bytes that are no assignment.
  const again = await classicJoin(conn, group, SUBSCRIPTION, first.memberId);
  assert.equal(again.leader, first.memberId);
  const other = again.members.find((m) => m.memberId !== first.memberId)!.memberId;
  const assignments = [
    { memberId: first.memberId, assignment: NO_PARTITIONS },
    { memberId: other, assignment: CUT_SHORT },
  ];
  assert.equal((await classicSync(conn, group, again, assignments)).errorCode, ErrorCode.NONE);
  await assert.rejects(read, isMalformed);
  await classicLeave(conn, group, first.memberId);
});

test('a leader fails on a member subscription that does not decode, as the Java consumer does', async (t) => {
  if (!groupApis) return t.skip('broker does not advertise the group membership APIs');
  const group = 'gc-bad-subscription';
  const { conn, first, read } = await groupConsumerJoiningRawLeader(t, group);
  // A member whose subscription is bytes cut short joins (on connections of its own); the raw
  // leader leaves, so the group consumer, the first member left, leads and has to read it.
  const elsewhere = new Cluster({ bootstrap: broker.bootstrap });
  t.after(() => elsewhere.close());
  const bad = classicJoin(await new Admin(elsewhere).coordinatorFor(group), group, CUT_SHORT);
  await waitUntil(async () => (await memberCount(group)) === 3, { message: 'the malformed member joined' });
  await classicLeave(conn, group, first.memberId);
  await assert.rejects(read, isMalformed);
  const badMember = await bad;
  assert.equal(badMember.errorCode, ErrorCode.NONE);
  await classicLeave(conn, group, badMember.memberId);
});

// Admin.describeGroups on classic consumer groups: a member's assignment bytes read as Kafka's admin
// client reads them (here for the suite broker without an initial rebalance delay).
/** A classic consumer group of one member whose SyncGroup hands it `assignment`; returns how to leave it. */
async function classicGroupWithAssignment(groupId: string, assignment: Buffer): Promise<() => Promise<void>> {
  const conn = await admin.coordinatorFor(groupId);
  const joined = await classicJoin(conn, groupId, NO_TOPICS);
  assert.equal(joined.errorCode, ErrorCode.NONE);
  assert.equal((await classicSync(conn, groupId, joined, [{ memberId: joined.memberId, assignment }])).errorCode, ErrorCode.NONE);
  return () => classicLeave(conn, groupId, joined.memberId);
}

test('describeGroups: a classic member with no assignment bytes has no partitions', async () => {
  // The leader has not assigned it (yet): Kafka's admin client describes it with no partitions.
  const leave = await classicGroupWithAssignment('cg-empty-assignment', Buffer.alloc(0));
  const [desc] = await admin.describeGroups(['cg-empty-assignment']);
  assert.deepEqual(desc!.members[0]!.assignment, []);
  await leave();
});

test('describeGroups: a classic member whose assignment bytes do not decode fails the describe', async () => {
  // Kafka's admin client fails the group's describe on a malformed embedded assignment.
  const leave = await classicGroupWithAssignment('cg-bad-assignment', CUT_SHORT);
  await assert.rejects(admin.describeGroups(['cg-bad-assignment']), isMalformed);
  await leave();
});

test("describeGroups: a newer assignment version is read as the newest known; each topic's partitions come sorted", async () => {
  const w = new Writer(64);
  w.int16(9);
  encodeConsumerProtocolAssignment(w, 3, { assignedPartitions: [{ topic: 'x', partitions: [3, 1, 2] }], userData: null });
  w.int32(7); // a field version 9 appends
  const leave = await classicGroupWithAssignment('cg-newer-assignment', Buffer.from(w.finish()));
  const [desc] = await admin.describeGroups(['cg-newer-assignment']);
  assert.deepEqual(desc!.members[0]!.assignment, [{ topic: 'x', partitions: [1, 2, 3] }]);
  await leave();
});
