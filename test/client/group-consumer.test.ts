import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { createTopic } from '../helpers/requests.js';
import { waitUntil } from '../helpers/wait.js';
import { Admin } from '../../src/client/admin.js';
import { Cluster } from '../../src/client/cluster.js';
import { Producer } from '../../src/client/producer.js';
import { GroupConsumer, rangeAssign } from '../../src/client/group-consumer.js';
import type { ConsumerRecord } from '../../src/client/consumer.js';
import { ApiKey } from '../../src/protocol/generated/index.js';

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
