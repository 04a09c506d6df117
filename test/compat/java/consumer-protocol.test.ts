// The Java client 4.x with group.protocol=consumer (KIP-848) against a Tributary broker process:
// GroupMember.java processes join and leave a group whose assignment the broker computes. What
// is checked: a partition is assigned to a member only after its previous owner revoked it (from
// the members' rebalance listeners, and from ConsumerGroupDescribe polled meanwhile), the
// partitions end up balanced, every record is consumed, commits land with member epochs, a
// leaving member's partitions move, and a static member that restarts gets its partitions back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBrokerProcess, tempDir, type BrokerProcess } from '../../helpers/broker-process.js';
import { RawClient } from '../../helpers/raw-client.js';
import { createTopic, produceRequest } from '../../helpers/requests.js';
import { waitUntil } from '../../helpers/wait.js';
import { cli } from '../../helpers/cli.js';
import { buildRecordBatch } from '../../../src/protocol/records/record-batch-builder.js';
import { ApiKey } from '../../../src/protocol/generated/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { javaSetup, spawnJava, type JavaProcess } from './harness.js';
import { GroupOwnership as Ownership } from '../../helpers/group-ownership.js';

const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;

const PARTITIONS = 6;
const PER_PARTITION = 10;

describe('Java client with group.protocol=consumer (KIP-848)', { skip }, () => {
  let broker: BrokerProcess;
  let raw: RawClient;
  const members: JavaProcess[] = [];
  before(async () => {
    broker = await startBrokerProcess({ overrides: { 'num.partitions': '1', 'group.consumer.heartbeat.interval.ms': '300' } });
    raw = await RawClient.connect(broker.port);
  });
  after(async () => {
    if (process.env.KIP848_DEBUG) (await import('node:fs')).writeFileSync('/tmp/kafka4x-broker-logs.json', JSON.stringify(broker?.logs ?? []));
    for (const m of members) await m.kill();
    raw?.close();
    await broker?.stop();
    broker?.cleanup();
  });

  function member(group: string, topic: string, instance = '-'): JavaProcess {
    if (typeof setup === 'string') throw new Error(setup);
    const p = spawnJava(`${setup.classes}:${setup.cp.k4}`, 'tributary.compat.GroupMember', [broker.bootstrap, group, topic, 'consumer', instance]);
    members.push(p);
    return p;
  }

  async function describeGroup(group: string) {
    const r = await raw.request(ApiKey.ConsumerGroupDescribe, 1, { groupIds: [group], includeAuthorizedOperations: false });
    return r.body.groups[0] as {
      errorCode: number;
      groupState: string;
      groupEpoch: number;
      members: { memberId: string; memberEpoch: number; assignment: { topicPartitions: { topicName: string; partitions: number[] }[] } }[];
    };
  }

  test('join, rebalance, consume, commit, leave: no partition owned twice', async () => {
    const topic = 'kip848';
    await createTopic(raw, topic, PARTITIONS);
    for (let p = 0; p < PARTITIONS; p++) {
      const batch = buildRecordBatch(Array.from({ length: PER_PARTITION }, (_, i) => ({ value: `p${p}-${i}` })));
      const r = await raw.request(ApiKey.Produce, 9, produceRequest(topic, p, batch));
      assert.equal(r.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    }
    const own = new Ownership();
    // The broker's view, polled while members come and go: assignments never overlap.
    const serverViolations: string[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const g = await describeGroup('g848').catch(() => null);
        const seen = new Map<string, string>();
        for (const m of g?.members ?? []) {
          for (const t of m.assignment.topicPartitions) {
            for (const p of t.partitions) {
              const k = `${t.topicName}-${p}`;
              if (seen.has(k)) serverViolations.push(`${k} assigned to ${seen.get(k)} and ${m.memberId}`);
              seen.set(k, m.memberId);
            }
          }
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const a = member('g848', topic);
    own.watch('a', a);
    await waitUntil(() => own.of('a').length === PARTITIONS, {
      timeout: 60_000,
      message: () => `a owns all partitions; a: ${a.stdout().slice(-500)} ${a.stderr().slice(-2000)}`,
    });
    const b = member('g848', topic);
    own.watch('b', b);
    await waitUntil(() => own.of('a').length === 3 && own.of('b').length === 3, {
      timeout: 60_000,
      message: () => `a and b own 3 each: a=${own.of('a').join(',')} b=${own.of('b').join(',')}`,
    });
    await waitUntil(() => own.records.size === PARTITIONS * PER_PARTITION, { timeout: 60_000, message: () => `all records consumed (${own.records.size})` });
    const described = await describeGroup('g848');
    assert.equal(described.errorCode, ErrorCode.NONE);
    assert.equal(described.members.length, 2);
    // The CLI lists and describes it as a consumer group, each partition with its member.
    const listed = await cli(['groups', 'list', '--state', '--bootstrap-server', broker.bootstrap]);
    assert.match(listed.stdout, /^g848\s+(Stable|Reconciling)\s+consumer\s+consumer\s*$/m, listed.stdout + listed.stderr);
    const desc = await cli(['groups', 'describe', 'g848', '--json', '--bootstrap-server', broker.bootstrap]);
    const [g] = JSON.parse(desc.stdout) as { type: string; members: unknown[]; partitions: { consumerId: string | null }[] }[];
    assert.equal(g!.type, 'consumer', desc.stdout + desc.stderr);
    assert.equal(g!.members.length, 2);
    assert.equal(g!.partitions.length, PARTITIONS);
    assert.ok(
      g!.partitions.every((p) => p.consumerId !== null),
      desc.stdout,
    );
    // Commits were made with member epochs: the group's offsets reach the end of every partition.
    await waitUntil(
      async () => {
        const r = await raw.request(ApiKey.OffsetFetch, 9, {
          groupId: '',
          topics: [],
          requireStable: false,
          groups: [{ groupId: 'g848', memberId: null, memberEpoch: -1, topics: null }],
        });
        const parts = r.body.groups[0].topics.flatMap((t: { partitions: { committedOffset: number }[] }) => t.partitions);
        return parts.length === PARTITIONS && parts.every((p: { committedOffset: number }) => p.committedOffset === PER_PARTITION);
      },
      { timeout: 30_000, message: 'committed offsets at the end of every partition' },
    );
    // a leaves: b takes everything.
    await a.ask('close', /^CLOSED/, 30_000);
    await waitUntil(() => own.of('b').length === PARTITIONS, { timeout: 60_000, message: () => `b owns all partitions: ${own.of('b').join(',')}` });
    await b.ask('close', /^CLOSED/, 30_000);
    await waitUntil(async () => (await describeGroup('g848')).groupState === 'Empty', { timeout: 20_000, message: 'the group is empty' });
    polling = false;
    await poller;
    assert.deepStrictEqual(own.violations, []);
    assert.deepStrictEqual(serverViolations, []);
  });

  test('kill -9 of the broker during a reconciliation: the group comes back from __consumer_offsets', async () => {
    // A broker of its own, killed and restarted on the same data and port.
    const dataDir = tempDir();
    let killable = await startBrokerProcess({ dataDir, overrides: { 'num.partitions': '1', 'group.consumer.heartbeat.interval.ms': '300' } });
    const port = killable.port;
    try {
      const topic = 'kip848-kill';
      await createTopic({ port }, topic, PARTITIONS);
      const own = new Ownership();
      const start = (name: string) => {
        if (typeof setup === 'string') throw new Error(setup);
        const p = spawnJava(`${setup.classes}:${setup.cp.k4}`, 'tributary.compat.GroupMember', [killable.bootstrap, 'g848k', topic, 'consumer', '-']);
        members.push(p);
        own.watch(name, p);
        return p;
      };
      const a = start('a');
      const b = start('b');
      await waitUntil(() => own.of('a').length === 3 && own.of('b').length === 3, {
        timeout: 60_000,
        message: () => `3 + 3: a=${own.of('a').join(',')} b=${own.of('b').join(',')}`,
      });
      const revokedBefore = [a, b].map((p) => p.lines().filter((l) => /^REVOKED \S/.test(l)).length);
      const c = start('c');
      // The moment a or b is told to give up partitions for c, the broker dies.
      await waitUntil(() => [a, b].some((p, i) => p.lines().filter((l) => /^REVOKED \S/.test(l)).length > revokedBefore[i]!), {
        timeout: 60_000,
        interval: 5,
        message: 'a revocation for the third member',
      });
      await killable.kill();
      killable = await startBrokerProcess({ dataDir, port, overrides: { 'num.partitions': '1', 'group.consumer.heartbeat.interval.ms': '300' } });
      const loaded = killable.logs.find((l) => l.msg === 'group coordinator loaded' || l.msg === 'coordinator partition loaded');
      await waitUntil(() => own.of('a').length === 2 && own.of('b').length === 2 && own.of('c').length === 2, {
        timeout: 90_000,
        message: () => `2 + 2 + 2 after the restart: a=${own.of('a').join(',')} b=${own.of('b').join(',')} c=${own.of('c').join(',')} ${JSON.stringify(loaded)}`,
      });
      // The members kept their membership across the crash: nobody lost its partitions.
      for (const p of [a, b, c])
        assert.deepStrictEqual(
          p.lines().filter((l) => l.startsWith('LOST')),
          [],
        );
      assert.deepStrictEqual(own.violations, []);
      for (const p of [a, b, c]) await p.ask('close', /^CLOSED/, 30_000);
    } finally {
      await killable.stop();
      killable.cleanup();
    }
  });

  test('a static member that restarts within its session gets its partitions back without a rebalance', async () => {
    const topic = 'kip848-static';
    await createTopic(raw, topic, 4);
    const own = new Ownership();
    const s1 = member('g848s', topic, 'instance-s');
    own.watch('s1', s1);
    const o = member('g848s', topic);
    own.watch('o', o);
    await waitUntil(() => own.of('s1').length === 2 && own.of('o').length === 2, {
      timeout: 60_000,
      message: () => `2 + 2: s1=${own.of('s1').join(',')} o=${own.of('o').join(',')}`,
    });
    const kept = own.of('s1').sort();
    const epoch = (await describeGroup('g848s')).groupEpoch;
    // Stop without leaving: the static member sends epoch -2 and keeps its partitions.
    await s1.ask('exit', /^CLOSED/, 30_000);
    own.owner.clear();
    const s2 = member('g848s', topic, 'instance-s');
    own.watch('s2', s2);
    await waitUntil(() => own.of('s2').length === 2, { timeout: 60_000, message: () => `s2 owns 2: ${own.of('s2').join(',')}` });
    assert.deepStrictEqual(own.of('s2').sort(), kept);
    assert.equal((await describeGroup('g848s')).groupEpoch, epoch, 'no new group epoch');
    await s2.ask('close', /^CLOSED/, 30_000);
    await o.ask('close', /^CLOSED/, 30_000);
  });

  test('the admin API (and so the web console) describes the group with its assignments', async () => {
    const topic = 'kip848-api';
    await createTopic(raw, topic, 2);
    const own = new Ownership();
    const m = member('g848-api', topic);
    own.watch('m', m);
    await waitUntil(() => own.of('m').length === 2, { timeout: 60_000, message: () => `m owns 2: ${own.of('m').join(',')}` });
    type Group = { state: string; protocolType: string; members: { clientId: string; assignment: { topic: string; partitions: number[] }[] }[] };
    const g = await waitUntil(
      async () => {
        const body = (await (await fetch(`${broker.httpUrl}/api/v1/groups/g848-api`)).json()) as Group;
        return body.state === 'Stable' ? body : null;
      },
      { message: 'a Stable group in the API' },
    );
    assert.equal(g.protocolType, 'consumer');
    assert.equal(g.members.length, 1);
    assert.deepEqual(g.members[0]!.assignment, [{ topic, partitions: [0, 1] }]);
    const list = (await (await fetch(`${broker.httpUrl}/api/v1/groups?search=g848-api`)).json()) as { groups: { groupId: string; protocolType: string; members: number }[] };
    assert.deepEqual(list.groups, [{ groupId: 'g848-api', state: 'Stable', protocolType: 'consumer', coordinator: 1, members: 1, totalLag: 0 }]);
    await m.ask('close', /^CLOSED/, 30_000);
  });
});
