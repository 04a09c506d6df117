// Apache Kafka's MirrorMaker 2 (connect-mirror 4.3.1, dedicated mode: what connect-mirror-maker.sh
// runs) between two Tributary broker processes, source cluster "a" and target cluster "b", at least
// once and exactly once: records of `orders` arrive in `a.orders` as written, the topic's
// partitions, configs and ACLs follow, a consumer group's offsets are translated through the
// checkpoints and synced onto b, and MirrorMaker's client library (RemoteClusterUtils, mirror/src/)
// reads them. mirror/setup.ts resolves and compiles (into ~/.m2 and ~/.cache/tributary/compat-mirror);
// without Java, Maven or Maven Central the test is skipped with the reason.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { mirrorSetup } from './mirror/setup.js';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { elapse, waitUntil } from '../../helpers/wait.js';
import { Admin } from '../../../src/client/admin.js';
import type { ConsumerRecord } from '../../../src/client/consumer.js';
import { GroupConsumer } from '../../../src/client/group-consumer.js';
import { Producer, type ProducerRecord } from '../../../src/client/producer.js';
import { Connection } from '../../../src/client/connection.js';
import { ApiKey, type CreateAclsResponse, type DescribeAclsResponse } from '../../../src/protocol/generated/index.js';
import { runJava, spawnJava, type JavaProcess } from './harness.js';
import { readWholeTopic } from '../../helpers/topic-reader.js';

const { Kafka, logLevel } = kafkajs;

const cp = mirrorSetup();
const skip = cp.startsWith('SKIP: ') ? `mirror-maker: ${cp.slice(6)}` : false;
if (skip) console.log(`# SKIP ${skip}`);

const PARTITIONS = 3;
const FIRST = 20; // records per partition before the group commits on a
const SECOND = 10; // records per partition after it
const GROUP = 'billing';
const BASE_TS = Date.UTC(2026, 0, 1);

/** Record i of partition p: keys (one null), values, repeated and null-valued headers, set timestamps. */
function order(p: number, i: number): ProducerRecord {
  return {
    partition: p,
    key: i === 5 ? null : `customer-${p}-${i % 7}`,
    value: JSON.stringify({ order: `${p}-${i}`, amount: i * 3 }),
    headers: [
      { key: 'origin', value: 'shop' },
      { key: 'seq', value: String(i) },
      { key: 'seq', value: `again-${i}` },
      { key: 'trace', value: null },
    ],
    timestamp: BASE_TS + p * 1000 + i,
  };
}

/** What a record looks like on either cluster, without its topic. */
interface Shape {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<[string, string | null]>;
}

function shape(r: ConsumerRecord): Shape {
  return {
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key?.toString() ?? null,
    value: r.value?.toString() ?? null,
    headers: r.headers.map((h): [string, string | null] => [h.key, h.value?.toString() ?? null]),
  };
}

/** A checkpoint record of `<source>.checkpoints.internal`: MirrorMaker's Checkpoint schema (v0). */
function decodeCheckpoint(r: ConsumerRecord): { group: string; topic: string; partition: number; upstream: bigint; downstream: bigint } {
  const k = r.key!;
  const groupLen = k.readInt16BE(0);
  const group = k.toString('utf8', 2, 2 + groupLen);
  const topicLen = k.readInt16BE(2 + groupLen);
  const topic = k.toString('utf8', 4 + groupLen, 4 + groupLen + topicLen);
  const partition = k.readInt32BE(4 + groupLen + topicLen);
  const v = r.value!;
  return { group, topic, partition, upstream: v.readBigInt64BE(2), downstream: v.readBigInt64BE(10) };
}

// Kafka's ACL enums (AclOperation, AclPermissionType, ResourceType, PatternType).
const TOPIC = 2;
const LITERAL = 3;
const ANY = 1;
const OPS: Record<number, string> = { 2: 'ALL', 3: 'READ', 4: 'WRITE', 8: 'DESCRIBE' };
const PERMS: Record<number, string> = { 2: 'DENY', 3: 'ALLOW' };

async function withConnection<T>(bootstrap: string, f: (c: Connection) => Promise<T>): Promise<T> {
  const [host, port] = bootstrap.split(':');
  const c = await Connection.connect({ host: host!, port: Number(port) });
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

/** The ACLs of a topic, as `principal OPERATION PERMISSION` sorted. */
function topicAcls(bootstrap: string, topic: string): Promise<string[]> {
  return withConnection(bootstrap, async (c) => {
    const res = await c.request<DescribeAclsResponse>(ApiKey.DescribeAcls, {
      resourceTypeFilter: TOPIC,
      resourceNameFilter: topic,
      patternTypeFilter: ANY,
      principalFilter: null,
      hostFilter: null,
      operation: ANY,
      permissionType: ANY,
    });
    assert.equal(res.errorCode, 0, res.errorMessage ?? '');
    return res.resources.flatMap((r) => r.acls.map((a) => `${a.principal} ${OPS[a.operation] ?? a.operation} ${PERMS[a.permissionType] ?? a.permissionType}`)).sort();
  });
}

/**
 * The suite, once per delivery mode: at least once (MirrorMaker's default), and exactly once
 * (KIP-618 `exactly.once.source.support`: the workers' transactional producers, zombie fencing,
 * transaction markers in `a.orders` on b so that its offsets run ahead of a's).
 */
function mirrorSuite(exactlyOnce: boolean): void {
  const mode = exactlyOnce ? 'exactly once' : 'at least once';
  describe(`MirrorMaker 2 (connect-mirror 4.3.1) from cluster a to cluster b, ${mode}`, { skip }, () => {
    let a: BrokerProcess;
    let b: BrokerProcess;
    let adminA: Admin;
    let adminB: Admin;
    let producer: Producer;
    let mm2: JavaProcess | undefined;
    let tmp: string;
    let config: string;
    /** What a reader of `orders` on a sees, per partition: what b must hold. */
    const written = new Map<number, Shape[]>();
    const mm2Log = () => (mm2 ? `\nMirrorMaker log tail:\n${mm2.stderr().slice(-4000)}` : '');
    const waitFor = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined) =>
      waitUntil(probe, { timeout: timeoutMs, interval: 250, message: () => `${what}${mm2Log()}` });

    const produce = async (from: number, count: number) => {
      for (let p = 0; p < PARTITIONS; p++) {
        const meta = await producer.send(
          'orders',
          Array.from({ length: count }, (_, i) => order(p, from + i)),
        );
        assert.deepEqual(
          meta.map((m) => m.offset),
          Array.from({ length: count }, (_, i) => from + i),
        );
      }
      written.clear();
      for (const r of await readWholeTopic(a.bootstrap, 'orders')) written.set(r.partition, [...(written.get(r.partition) ?? []), shape(r)]);
    };
    /** a.orders on b per partition, once it holds `count` records in each. */
    const mirrored = (count: number) =>
      waitFor(`a.orders on b holding ${count} records per partition`, 90_000, async () => {
        const records = await readWholeTopic(b.bootstrap, 'a.orders').catch(() => []); // not created yet
        const byPartition = Array.from({ length: PARTITIONS }, (_, p) => records.filter((r) => r.partition === p).map(shape));
        return byPartition.every((rs) => rs.length >= count) ? byPartition : undefined;
      });
    /** Where b's copy differs from a's: the offsets, when transaction markers take some. */
    const sameRecords = (onB: Shape[], onA: Shape[], message: string) => {
      if (!exactlyOnce) return assert.deepEqual(onB, onA, message);
      assert.deepEqual(
        onB.map((r) => ({ ...r, offset: 0 })),
        onA.map((r) => ({ ...r, offset: 0 })),
        message,
      );
      onB.forEach((r, i) => i === 0 || assert.ok(r.offset > onB[i - 1]!.offset, `${message}: offsets increase`));
    };

    before(async () => {
      const overrides = {
        'group.initial.rebalance.delay.ms': '0',
        // ACLs on both clusters, so that MirrorMaker syncs the topic's; every client here connects
        // as ANONYMOUS on the PLAINTEXT listener, the super user.
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'super.users': 'User:ANONYMOUS',
      };
      [a, b] = await Promise.all([startBrokerProcess({ overrides }), startBrokerProcess({ overrides })]);
      adminA = new Admin({ bootstrap: a.bootstrap });
      adminB = new Admin({ bootstrap: b.bootstrap });
      producer = new Producer({ bootstrap: a.bootstrap });
      tmp = mkdtempSync(join(tmpdir(), 'tributary-mm2-'));
      await adminA.createTopics([{ name: 'orders', partitions: PARTITIONS, replicationFactor: 1, configs: { 'retention.ms': '259200000', 'max.message.bytes': '524288' } }]);
      config = join(tmp, 'mm2.properties');
      const settings: Record<string, string | number> = {
        clusters: 'a, b',
        'a.bootstrap.servers': a.bootstrap,
        'b.bootstrap.servers': b.bootstrap,
        'a->b.enabled': 'true',
        // Single-broker clusters: every topic MirrorMaker creates has one replica.
        'replication.factor': 1,
        'checkpoints.topic.replication.factor': 1,
        'heartbeats.topic.replication.factor': 1,
        'offset-syncs.topic.replication.factor': 1,
        'offset.storage.replication.factor': 1,
        'status.storage.replication.factor': 1,
        'config.storage.replication.factor': 1,
        // Seconds instead of minutes, so that the test does not wait for MirrorMaker's timers.
        'refresh.topics.interval.seconds': 1,
        'refresh.groups.interval.seconds': 1,
        'sync.topic.configs.interval.seconds': 1,
        'sync.topic.acls.interval.seconds': 1,
        'emit.heartbeats.interval.seconds': 1,
        'emit.checkpoints.interval.seconds': 1,
        'sync.group.offsets.enabled': 'true',
        'sync.group.offsets.interval.seconds': 1,
        // Worker settings go per target cluster. The source task emits its delayed offset syncs
        // when the worker commits its offsets (and, exactly once, commits its transaction).
        'a.offset.flush.interval.ms': 500,
        'b.offset.flush.interval.ms': 500,
      };
      if (exactlyOnce) {
        settings['a.exactly.once.source.support'] = 'enabled';
        settings['b.exactly.once.source.support'] = 'enabled';
      }
      writeFileSync(
        config,
        Object.entries(settings)
          .map(([k, v]) => `${k} = ${v}`)
          .join('\n') + '\n',
      );
      mm2 = spawnJava(cp, 'org.apache.kafka.connect.mirror.MirrorMaker', [config], { jvmOpts: ['-Xmx512m'] });
      await produce(0, FIRST);
    });
    after(async () => {
      await mm2?.stop(20_000);
      await producer?.close();
      await adminA?.close();
      await adminB?.close();
      for (const broker of [a, b]) {
        await broker?.stop();
        broker?.cleanup();
      }
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    test('records of orders arrive in a.orders on b: same partitions, keys, values, headers, timestamps, once each in order', async () => {
      const onB = await mirrored(FIRST);
      for (let p = 0; p < PARTITIONS; p++) sameRecords(onB[p]!, written.get(p)!, `partition ${p}: every record once, in order`);
      if (exactlyOnce) {
        // Transactions wrote them: their commit markers take offsets on b (once committed: the
        // records may be read before), and MirrorMaker's transactional ids are known to b's
        // transaction coordinator.
        await waitFor('commit markers after the records on b', 30_000, async () =>
          (await adminB.listOffsets('a.orders', 'latest')).every((o) => o.offset > FIRST) ? true : undefined,
        );
        const txns = await adminB.listTransactions();
        assert.ok(
          txns.some((t) => t.transactionalId.includes('MirrorSourceConnector')),
          JSON.stringify(txns),
        );
      }
    });

    test("a consumer group's offsets on a are translated onto b (checkpoints, synced group offsets, RemoteClusterUtils)", async () => {
      // The group reads everything there is on a and commits: FIRST on each partition.
      const member = new GroupConsumer({ bootstrap: a.bootstrap }, { groupId: GROUP, autoCommitIntervalMs: 0 });
      member.subscribe(['orders']);
      let consumed = 0;
      for await (const _ of member.records({ maxMessages: PARTITIONS * FIRST })) consumed++;
      await member.close();
      assert.equal(consumed, PARTITIONS * FIRST);
      assert.deepEqual(
        (await adminA.fetchOffsets(GROUP)).map((o) => [o.topic, o.partition, o.offset]).sort(),
        Array.from({ length: PARTITIONS }, (_, p) => ['orders', p, FIRST]),
      );

      // MirrorMaker promises a translated offset at or before the group's position, never past it
      // (a consumer on b may read some records again but skips none): it goes from the latest
      // offset sync at or before that position. Here the source task's last sync is of the last
      // record replicated (emitted when its worker commits), one before the group's position, so
      // the translation lands just past that record's copy on b.
      const onB = await mirrored(FIRST);
      const target = onB.map((rs) => rs[FIRST - 1]!.offset + 1);
      const synced = await waitFor(`group ${GROUP} on b at offsets ${target.join(' ')} of a.orders`, 60_000, async () => {
        const offsets = (await adminB.fetchOffsets(GROUP).catch(() => [])).filter((o) => o.topic === 'a.orders').sort((x, y) => x.partition - y.partition);
        return offsets.length === PARTITIONS && offsets.every((o) => o.offset === target[o.partition]) ? offsets : undefined;
      });
      assert.deepEqual(
        synced.map((o) => o.partition),
        [0, 1, 2],
      );

      const checkpoints = (await readWholeTopic(b.bootstrap, 'a.checkpoints.internal')).map(decodeCheckpoint);
      assert.ok(checkpoints.length >= PARTITIONS, 'checkpoints in a.checkpoints.internal');
      for (const c of checkpoints) {
        assert.equal(c.group, GROUP);
        assert.equal(c.topic, 'a.orders', 'checkpoints name the remote topic');
        assert.equal(c.upstream, BigInt(FIRST));
        assert.ok(c.downstream <= BigInt(target[c.partition]!), `checkpoint ${c.partition}: ${c.downstream} past the group's position`);
      }
      assert.deepEqual(new Set(checkpoints.filter((c) => c.downstream === BigInt(target[c.partition]!)).map((c) => c.partition)), new Set([0, 1, 2]));

      // MirrorMaker's client library, as an application on b would ask it.
      const asked = await runJava(cp, 'tributary.compat.MirrorOffsets', [b.bootstrap, 'a', GROUP], 60_000);
      assert.equal(asked.code, 0, asked.stderr.slice(-3000));
      const lines = asked.stdout.trim().split('\n');
      assert.ok(lines.includes('UPSTREAM a'), asked.stdout);
      assert.ok(lines.includes('HOPS 1'), asked.stdout);
      assert.deepEqual(
        lines.filter((l) => l.startsWith('OFFSET ')),
        target.map((offset, p) => `OFFSET a.orders ${p} ${offset}`),
      );

      // More orders on a; a consumer of the group on b goes on where the group was on a.
      await produce(FIRST, SECOND);
      await mirrored(FIRST + SECOND);
      const consumerOnB = new GroupConsumer({ bootstrap: b.bootstrap }, { groupId: GROUP, autoCommitIntervalMs: 0, resetTo: 'earliest' });
      consumerOnB.subscribe(['a.orders']);
      const resumed: ConsumerRecord[] = [];
      for await (const r of consumerOnB.records({ maxMessages: PARTITIONS * SECOND + 1 })) resumed.push(r);
      await consumerOnB.close();
      for (let p = 0; p < PARTITIONS; p++) {
        sameRecords(resumed.filter((r) => r.partition === p).map(shape), written.get(p)!.slice(FIRST), `partition ${p}: only the records the group had not consumed on a`);
      }
      assert.equal(resumed.length, PARTITIONS * SECOND);
    });

    test('the topic follows: partitions and configs on creation and when they change on a', async () => {
      const describe = async () => (await adminB.describeTopics(['a.orders']))[0]!;
      const config = async (name: string) => (await adminB.describeConfigs({ type: 'topic', name: 'a.orders' }, [name]))[0]?.value;
      assert.equal((await describe()).partitions.length, PARTITIONS);
      assert.equal(await config('retention.ms'), '259200000');
      assert.equal(await config('max.message.bytes'), '524288');

      await adminA.alterConfigs({ type: 'topic', name: 'orders' }, { set: { 'retention.ms': '86400000', 'cleanup.policy': 'compact,delete' } });
      await waitFor('the changed configs on b', 30_000, async () =>
        (await config('retention.ms')) === '86400000' && (await config('cleanup.policy')) === 'compact,delete' ? true : undefined,
      );
      await adminA.createPartitions('orders', PARTITIONS + 1);
      await waitFor(`a.orders on b with ${PARTITIONS + 1} partitions`, 30_000, async () => ((await describe()).partitions.length === PARTITIONS + 1 ? true : undefined));
      // A new producer: the other one's metadata predates the new partition.
      const late = new Producer({ bootstrap: a.bootstrap });
      const added = await late.send('orders', [order(PARTITIONS, 0)]).finally(() => late.close());
      assert.equal(added[0]!.partition, PARTITIONS);
      const copy = await waitFor('the record of the new partition on b', 30_000, async () => {
        const rs = (await readWholeTopic(b.bootstrap, 'a.orders')).filter((r) => r.partition === PARTITIONS);
        return rs.length > 0 ? rs : undefined;
      });
      assert.deepEqual(
        copy.map((r) => r.value?.toString()),
        [order(PARTITIONS, 0).value],
      );
    });

    test("the topic's ACLs follow, as MirrorMaker maps them: no WRITE, ALL read as READ", async () => {
      const acl = (principal: string, operation: number, permissionType: number) => ({
        resourceType: TOPIC,
        resourceName: 'orders',
        resourcePatternType: LITERAL,
        principal,
        host: '*',
        operation,
        permissionType,
      });
      await withConnection(a.bootstrap, async (c) => {
        const res = await c.request<CreateAclsResponse>(ApiKey.CreateAcls, {
          creations: [acl('User:alice', 3, 3), acl('User:bob', 2, 3), acl('User:carol', 4, 3), acl('User:mallory', 3, 2)],
        });
        for (const r of res.results) assert.equal(r.errorCode, 0, r.errorMessage ?? '');
      });
      // MirrorMaker leaves out ALLOW WRITE (only it writes to a remote topic) and grants ALLOW ALL
      // as ALLOW READ.
      const expected = ['User:alice READ ALLOW', 'User:bob READ ALLOW', 'User:mallory READ DENY'];
      await waitFor('the ACLs of a.orders on b', 30_000, async () => {
        const acls = await topicAcls(b.bootstrap, 'a.orders');
        return acls.length >= expected.length ? acls : undefined;
      });
      assert.deepEqual(await topicAcls(b.bootstrap, 'a.orders'), expected);
    });

    test(`MirrorMaker killed (SIGKILL) mid-stream and restarted: nothing lost${exactlyOnce ? ', nothing committed twice' : ''}`, async () => {
      const before = FIRST + SECOND;
      const LIVE = 40; // written while MirrorMaker runs; it is killed as they reach b
      const DOWN = 20; // written while it is down
      const endsOnB = async () => (await adminB.listOffsets('a.orders', 'latest')).reduce((sum, o) => sum + o.offset, 0);
      const endsBefore = await endsOnB();
      await produce(before, LIVE);
      // Killed once the first of them are written to b: exactly once, often inside the transaction
      // of one poll's records (then aborted when the restarted task's producer starts); at least
      // once, before the worker commits their source offsets (every 500 ms), so they come again.
      await waitUntil(async () => (await endsOnB()) > endsBefore, { timeout: 30_000, interval: 5, message: () => `the first records on b${mm2Log()}` });
      await mm2!.kill();
      await produce(before + LIVE, DOWN);
      mm2 = spawnJava(cp, 'org.apache.kafka.connect.mirror.MirrorMaker', [config], { jvmOpts: ['-Xmx512m'] });
      const total = before + LIVE + DOWN;
      const seq = (r: Shape) => Number(r.headers.find(([k]) => k === 'seq')![1]);
      if (exactlyOnce) {
        // read_committed (kafkajs): the killed worker's open transaction is aborted or fenced, so
        // each record shows up once, in order.
        const kafka = new Kafka({ clientId: 'mm2-verify', brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
        const consumer = kafka.consumer({ groupId: 'mm2-verify', readUncommitted: false, maxWaitTimeInMs: 100 });
        const seen = new Map<number, Shape[]>();
        await consumer.connect();
        try {
          await consumer.subscribe({ topic: 'a.orders', fromBeginning: true });
          await consumer.run({
            eachMessage: async ({ partition, message }) =>
              void seen.set(partition, [
                ...(seen.get(partition) ?? []),
                {
                  partition,
                  offset: Number(message.offset),
                  timestamp: Number(message.timestamp),
                  key: message.key?.toString() ?? null,
                  value: message.value?.toString() ?? null,
                  headers: Object.entries(message.headers ?? {}).flatMap(([k, v]): Array<[string, string | null]> =>
                    (Array.isArray(v) ? v : [v]).map((x) => [k, x === undefined || x === null ? null : x.toString()]),
                  ),
                },
              ]),
          });
          await waitFor(`${total} committed records per partition on b`, 90_000, () =>
            Array.from({ length: PARTITIONS }, (_, p) => seen.get(p)?.length ?? 0).every((n) => n >= total) ? true : undefined,
          );
          // Time in which a record committed twice would show up.
          await elapse(1500);
        } finally {
          await consumer.disconnect();
        }
        for (let p = 0; p < PARTITIONS; p++) {
          assert.deepEqual(seen.get(p)!.map(seq), written.get(p)!.map(seq), `partition ${p}: every record once, in order`);
        }
      } else {
        // At least once: a record replicated after the worker's last offset commit is replicated
        // again after the restart, so b may hold a stretch twice; none is missing, and each
        // partition is the source's order with at most such replays.
        const onB = await waitFor(`${total} distinct records per partition on b`, 90_000, async () => {
          const records = await readWholeTopic(b.bootstrap, 'a.orders');
          const byPartition = Array.from({ length: PARTITIONS }, (_, p) => records.filter((r) => r.partition === p).map(shape));
          return byPartition.every((rs) => new Set(rs.map(seq)).size >= total) ? byPartition : undefined;
        });
        for (let p = 0; p < PARTITIONS; p++) {
          const seqs = onB[p]!.map(seq);
          assert.deepEqual([...new Set(seqs)], written.get(p)!.map(seq), `partition ${p}: nothing lost, first copies in order`);
          seqs.forEach((n, i) => i === 0 || n === seqs[i - 1]! + 1 || assert.ok(n <= seqs[i - 1]!, `partition ${p}: a replay restarts further back, at ${i}`));
        }
      }
    });

    test("MirrorMaker's own topics: heartbeats, offset syncs, checkpoints, its Connect groups", async () => {
      const topicsB = await adminB.listTopics();
      for (const t of ['heartbeats', 'a.heartbeats', 'a.checkpoints.internal', 'mm2-configs.a.internal', 'mm2-offsets.a.internal', 'mm2-status.a.internal']) {
        assert.ok(topicsB.includes(t), `${t} on b: ${topicsB.join(' ')}`);
      }
      // The offset syncs live on the source cluster by default (offset-syncs.topic.location=source).
      const topicsA = await adminA.listTopics();
      assert.ok(topicsA.includes('mm2-offset-syncs.b.internal'), topicsA.join(' '));
      assert.ok((await readWholeTopic(a.bootstrap, 'mm2-offset-syncs.b.internal')).length >= PARTITIONS);
      assert.ok((await readWholeTopic(b.bootstrap, 'heartbeats')).length >= 1, 'heartbeats on b');
      // The b->a flow only emits heartbeats, onto a; a->b mirrors them back as a.heartbeats.
      assert.ok((await readWholeTopic(b.bootstrap, 'a.heartbeats')).length >= 1, 'a.heartbeats on b');
      const groups = await adminB.listGroups();
      assert.ok(
        groups.some((g) => g.groupId === 'a-mm2' && g.protocolType === 'connect'),
        JSON.stringify(groups),
      );
      // MirrorMaker's internal topics are compacted, as Connect's are.
      for (const t of ['mm2-configs.a.internal', 'mm2-offsets.a.internal', 'mm2-status.a.internal']) {
        assert.equal((await adminB.describeConfigs({ type: 'topic', name: t }, ['cleanup.policy']))[0]?.value, 'compact', t);
      }
    });
  });
}

mirrorSuite(false);
mirrorSuite(true);
