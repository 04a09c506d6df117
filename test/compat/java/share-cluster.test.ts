// KIP-932 share groups on a 3-broker Tributary cluster on etcd, with the Java KafkaShareConsumer
// (kafka-clients 4.4, ShareMember.java). The group is picked so that the share coordinator of its
// share-partition (the leader of the matching __share_group_state partition) is not the broker
// leading the topic partition: every acquisition and acknowledgement is persisted with
// WriteShareGroupState to another broker. Every record is consumed; then the partition leader is
// killed with kill -9 while a member holds records, and the next leader reads the state back
// (ReadShareGroupState): acknowledged records are not delivered again, held ones come back with
// delivery count 2. The admin's DescribeShareGroupOffsets reads the state with
// ReadShareGroupStateSummary from the share coordinator. Then Kafka's kafka-share-groups tool
// (ShareGroupCommand, kafka-tools 4.4) lists, describes (offsets, state, members), resets the
// offsets of and deletes a group on the cluster. A member that leaves at its group coordinator
// has what it holds on the partition leader (another broker) released at once, and a rejected
// record is dead-lettered through the leader of the dead-letter partition on another broker
// (both at the protocol level). Last, the share coordinator is killed with
// kill -9: the next one replays __share_group_state and nothing acknowledged is delivered again.
// Every process is killed at the end.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { EtcdProcess } from '../../../src/cluster/etcd-process.js';
import { ApiKey } from '../../../src/protocol/generated/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { partitionForGroup } from '../../../src/coordinator/records.js';
import { buildRecordBatch } from '../../../src/protocol/records/record-batch-builder.js';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { RawClient } from '../../helpers/raw-client.js';
import { fetchOne, produceRequest } from '../../helpers/requests.js';
import { splitBatches } from '../../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../../src/protocol/records/records.js';
import { etcdMissing, waitFor, withEtcd } from '../../helpers/etcd.js';
import { javaSetup, shareDeliveries, spawnJava, Tools, type JavaProcess, type ShareDelivery, type ToolResult } from './harness.js';

const setup = etcdMissing ? etcdMissing : javaSetup();
const skip = typeof setup === 'string' ? setup : false;

const TOPIC = 'shared-on-cluster';
const SHARE_GROUPS = 'org.apache.kafka.tools.consumer.group.ShareGroupCommand';
const STATE_TOPIC = '__share_group_state';
const STATE_PARTITIONS = 3;

/** Waits until what `p` received satisfies `done`, then for its acknowledgement of the last record, and closes it. */
async function readAndClose(p: JavaProcess, what: string, done: (got: ShareDelivery[]) => boolean): Promise<void> {
  await waitFor(what, () => done(shareDeliveries(p)), 60_000);
  const lastRecord = p
    .lines()
    .map((l) => l.startsWith('RECORD '))
    .lastIndexOf(true);
  await p.waitForLine(/^ACKED$/, 10_000, lastRecord);
  await p.ask('close', /^CLOSED$/, 30_000);
}

describe('share groups on a cluster: the share coordinator on another broker, kill -9 of the leader', { skip }, () => {
  let etcd: EtcdProcess;
  const brokers = new Map<number, BrokerProcess>();
  const members: JavaProcess[] = [];
  /** The group the first test used, for Kafka's share-group tool. */
  let group = '';
  let topicId = '';
  let tools: Tools | undefined;

  const live = () => [...brokers.entries()].filter(([, b]) => b.child.exitCode === null && b.child.signalCode === null);
  const bootstrap = () =>
    live()
      .map(([, b]) => b.bootstrap)
      .join(',');

  async function raw<T>(nodeId: number, fn: (c: RawClient) => Promise<T>): Promise<T> {
    const c = await RawClient.connect(brokers.get(nodeId)!.port);
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  }

  const any = () => live()[0]![0];
  /** Sets configs of a share group (a GROUP resource, IncrementalAlterConfigs SET), through broker `at`. */
  async function setGroupConfigs(groupId: string, configs: Record<string, string>, at = any()): Promise<void> {
    const r = await raw(at, (c) =>
      c.request(ApiKey.IncrementalAlterConfigs, 1, {
        resources: [{ resourceType: 32, resourceName: groupId, configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value })) }],
        validateOnly: false,
      }),
    );
    assert.equal(r.body.responses[0].errorCode, ErrorCode.NONE);
  }

  /** Leaders by partition of a topic, and its id, as a live broker's metadata has them. */
  async function metadata(topic: string): Promise<{ topicId: string; leaders: number[] }> {
    const r = await raw(any(), (c) =>
      c.request(ApiKey.Metadata, 12, {
        topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }],
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      }),
    );
    const t = r.body.topics[0] as { errorCode: number; topicId: string; partitions: { partitionIndex: number; leaderId: number }[] };
    if (t.errorCode !== ErrorCode.NONE) return { topicId: t.topicId, leaders: [] };
    const leaders: number[] = [];
    for (const p of t.partitions) leaders[p.partitionIndex] = p.leaderId;
    return { topicId: t.topicId, leaders };
  }

  function member(group: string, action: 'accept' | 'hold'): JavaProcess {
    if (typeof setup === 'string') throw new Error(setup);
    const p = spawnJava(`${setup.classes}:${setup.cp.k4}`, 'tributary.compat.ShareMember', [bootstrap(), group, TOPIC, action]);
    members.push(p);
    return p;
  }

  before(async () => {
    etcd = await withEtcd();
    for (const nodeId of [1, 2, 3]) {
      brokers.set(
        nodeId,
        await startBrokerProcess({
          overrides: {
            'node.id': String(nodeId),
            'etcd.endpoints': etcd.endpoint,
            'etcd.prefix': '/share-cluster',
            'broker.session.timeout.ms': '3000',
            'replica.lag.time.max.ms': '4000',
            'auto.leader.rebalance.enable': 'false',
            'offsets.topic.num.partitions': '3',
            'offsets.topic.replication.factor': '3',
            'share.coordinator.state.topic.num.partitions': String(STATE_PARTITIONS),
            'share.coordinator.state.topic.replication.factor': '3',
            'group.share.heartbeat.interval.ms': '500',
          },
        }),
      );
    }
  });

  after(async () => {
    if (process.env.SHARE_CLUSTER_DEBUG) {
      for (const m of members) process.stderr.write(`--- member stderr\n${m.stderr().slice(-4000)}\n`);
      for (const [id, b] of brokers)
        for (const l of b.logs.filter((x) => Number(x.level) >= 40).slice(-30)) process.stderr.write(`broker ${id}: ${JSON.stringify(l).slice(0, 600)}\n`);
    }
    for (const m of members) await m.kill();
    await tools?.close();
    for (const b of brokers.values()) {
      await b.kill();
      b.cleanup();
    }
    await etcd?.close();
  });

  test('every record consumed with state on another broker, and the state survives kill -9 of the leader', { timeout: 150_000 }, async (t) => {
    // The topic partition on 1, 2, 3 in that order: 1 leads, and 2 takes over when 1 dies.
    await waitFor('three live brokers', async () => {
      const r = await raw(1, (c) => c.request(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }));
      return r.body.brokers.length === 3;
    });
    const created = await raw(1, (c) =>
      c.request(ApiKey.CreateTopics, 7, {
        topics: [{ name: TOPIC, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2, 3] }], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      }),
    );
    assert.equal(created.body.topics[0].errorCode, ErrorCode.NONE, created.body.topics[0].errorMessage ?? undefined);
    await waitFor('broker 1 leads the topic', async () => (await metadata(TOPIC)).leaders[0] === 1, 20_000);
    topicId = (await metadata(TOPIC)).topicId;

    // A first ShareFetch on the leader creates __share_group_state (its share-partition asks the share coordinator).
    await raw(1, (c) =>
      c.request(ApiKey.ShareFetch, 1, {
        groupId: 'warm-up',
        memberId: 'warm-up-member',
        shareSessionEpoch: 0,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1024,
        maxRecords: 1,
        batchSize: 1,
        topics: [{ topicId, partitions: [{ partitionIndex: 0, partitionMaxBytes: 0, acknowledgementBatches: [] }] }],
        forgottenTopicsData: [],
      }),
    );
    let stateLeaders: number[] = [];
    await waitFor(
      `${STATE_TOPIC} created with a leader per partition`,
      async () => {
        stateLeaders = (await metadata(STATE_TOPIC)).leaders;
        return stateLeaders.length === STATE_PARTITIONS && stateLeaders.every((l) => l > 0);
      },
      30_000,
    );
    // A group whose share coordinator for (group, topic, 0) is broker 3: neither the leader nor the next one.
    for (let i = 0; i < 1000 && group === ''; i++) {
      const g = `sg-cluster-${i}`;
      if (stateLeaders[partitionForGroup(`${g}:${topicId}:0`, STATE_PARTITIONS)] === 3) group = g;
    }
    // Broker 3 leads none of the state partitions (the controller spread them otherwise): any broker but 1 will do.
    if (group === '') {
      for (let i = 0; i < 1000 && group === ''; i++) {
        const g = `sg-cluster-${i}`;
        if (stateLeaders[partitionForGroup(`${g}:${topicId}:0`, STATE_PARTITIONS)] !== 1) group = g;
      }
    }
    assert.notEqual(group, '', 'a group whose share coordinator is not the partition leader');
    const coordinatorNode = stateLeaders[partitionForGroup(`${group}:${topicId}:0`, STATE_PARTITIONS)]!;
    assert.notEqual(coordinatorNode, 1);
    // Every broker names the same share coordinator (FindCoordinator v6, key type SHARE).
    for (const [id] of live()) {
      const r = await raw(id, (c) => c.request(ApiKey.FindCoordinator, 6, { key: '', keyType: 2, coordinatorKeys: [`${group}:${topicId}:0`] }));
      assert.deepEqual([r.body.coordinators[0].errorCode, r.body.coordinators[0].nodeId], [ErrorCode.NONE, coordinatorNode], `broker ${id}`);
    }

    await setGroupConfigs(group, { 'share.auto.offset.reset': 'earliest' }, 1);
    const produce = async (values: string[]) => {
      const r = await raw(1, (c) => c.request(ApiKey.Produce, 9, produceRequest(TOPIC, 0, buildRecordBatch(values.map((value) => ({ value }))), -1)));
      assert.equal(r.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    };
    const first = Array.from({ length: 30 }, (_, i) => `r${i}`);
    await produce(first);

    // Every record consumed once, acknowledged through broker 1 into the state on the coordinator's broker.
    const a = member(group, 'accept');
    await readAndClose(a, 'thirty records delivered', (got) => new Set(got.map((d) => d.value)).size === first.length);
    assert.deepEqual(
      shareDeliveries(a).map((d) => [d.offset, d.deliveryCount]),
      first.map((_, i) => [i, 1]),
    );

    // The admin view comes from the share coordinator on another broker (ReadShareGroupStateSummary).
    const findCoordinator = async () => {
      const r = await raw(any(), (c) => c.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: [group] }));
      const found = r.body.coordinators[0] as { errorCode: number; nodeId: number };
      return found.errorCode === ErrorCode.NONE && live().some(([id]) => id === found.nodeId) ? found.nodeId : -1;
    };
    const groupCoordinator = await findCoordinator();
    const offsets = async () => {
      let coordinator = -1;
      await waitFor('a live group coordinator', async () => (coordinator = await findCoordinator()) > 0, 30_000);
      const r = await raw(coordinator, (c) => c.request(ApiKey.DescribeShareGroupOffsets, 1, { groups: [{ groupId: group, topics: null }] }));
      return (r.body.groups[0].topics as { topicName: string; partitions: { partitionIndex: number; startOffset: number }[] }[]).flatMap((t) =>
        t.partitions.map((p) => [t.topicName, p.partitionIndex, p.startOffset]),
      );
    };
    assert.deepEqual(await offsets(), [[TOPIC, 0, 30]]);

    // A member holds the next records; broker 1 (the leader) and the member die together.
    await produce(Array.from({ length: 10 }, (_, i) => `s${i}`));
    const holder = member(group, 'hold');
    await holder.waitForLine(/^HOLDING$/, 60_000);
    const held = shareDeliveries(holder);
    assert.ok(held.length > 0 && held.every((d) => d.offset >= 30 && d.deliveryCount === 1), JSON.stringify(held));
    await brokers.get(1)!.kill();
    await holder.kill();
    await waitFor('a new leader of the topic partition', async () => ((await metadata(TOPIC)).leaders[0] ?? -1) > 1, 30_000);
    const newLeader = (await metadata(TOPIC)).leaders[0]!;

    // The new leader reads the state back from the share coordinator: nothing acknowledged comes back.
    const b = member(group, 'accept');
    await readAndClose(b, 'the ten unacknowledged records after the kill', (got) => new Set(got.map((d) => d.offset)).size >= 10);
    const got = shareDeliveries(b);
    assert.deepEqual(
      got.map((d) => d.offset),
      [30, 31, 32, 33, 34, 35, 36, 37, 38, 39],
      'acknowledged records are not delivered again',
    );
    for (const d of got) assert.equal(d.deliveryCount, held.some((h) => h.offset === d.offset) ? 2 : 1, `delivery count of ${d.offset}`);
    assert.deepEqual(await offsets(), [[TOPIC, 0, 40]]);
    t.diagnostic(`share coordinator on broker ${coordinatorNode}, partition leader 1 then ${newLeader}, group coordinator ${groupCoordinator} before the kill`);
  });

  test("Kafka's kafka-share-groups tool: list, describe, reset offsets, delete", { timeout: 120_000 }, async () => {
    if (typeof setup === 'string' || group === '') return;
    // A group of its own that read all forty records and is empty now (the first one still
    // has the killed holder as a member until its session times out).
    const toolGroup = `${group}-tool`;
    await setGroupConfigs(toolGroup, { 'share.auto.offset.reset': 'earliest' });
    const reader = member(toolGroup, 'accept');
    await readAndClose(reader, 'forty records read', (got) => new Set(got.map((d) => d.offset)).size === 40);

    tools = await Tools.start(setup);
    const run = (args: string[]) => tools!.run(SHARE_GROUPS, ['--bootstrap-server', bootstrap(), ...args]);
    const ok = (r: ToolResult, what: string): string => {
      assert.equal(r.exit, 0, `${what} exited ${r.exit}\nstdout:\n${r.out}\nstderr:\n${r.err.slice(-3000)}`);
      return r.out;
    };
    /** The rows of a table the tool printed for the group: its whitespace-separated columns. */
    const rows = (out: string) =>
      out
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((cols) => cols[0] === toolGroup);

    const listed = ok(await run(['--list']), 'list')
      .split('\n')
      .map((l) => l.trim());
    assert.ok(listed.includes(toolGroup) && listed.includes(group), listed.join(','));
    // Offsets: the start offset past the forty acknowledged records, no lag.
    assert.deepEqual(
      rows(ok(await run(['--describe', '--group', toolGroup]), 'describe')).map((c) => c.slice(1)),
      [[TOPIC, '0', '40', '0']],
    );
    const state = rows(ok(await run(['--describe', '--group', toolGroup, '--state']), 'describe --state'));
    assert.equal(state.length, 1);
    assert.deepEqual(state[0]!.slice(-2), ['Empty', '0']);
    assert.deepEqual(rows(ok(await run(['--describe', '--group', toolGroup, '--members']), 'describe --members')), []);
    // The running group's members: the killed holder is still in it until its session ends, or
    // it left with the coordinator's failover; either way the tool describes it.
    ok(await run(['--describe', '--group', group, '--members']), 'describe --members of the first group');

    // Back to the start: a dry run changes nothing, --execute does (AlterShareGroupOffsets).
    const dry = rows(ok(await run(['--reset-offsets', '--group', toolGroup, '--topic', TOPIC, '--to-earliest', '--dry-run']), 'reset --dry-run'));
    assert.deepEqual(
      dry.map((c) => c.slice(1)),
      [[TOPIC, '0', '0']],
    );
    assert.deepEqual(
      rows(ok(await run(['--describe', '--group', toolGroup]), 'describe')).map((c) => c[3]),
      ['40'],
    );
    ok(await run(['--reset-offsets', '--group', toolGroup, '--topic', TOPIC, '--to-earliest', '--execute']), 'reset --execute');
    assert.deepEqual(
      rows(ok(await run(['--describe', '--group', toolGroup]), 'describe')).map((c) => c.slice(1)),
      [[TOPIC, '0', '0', '40']],
    );

    // Deleted: gone from the list, its state forgotten by the share coordinator.
    ok(await run(['--delete', '--group', toolGroup]), 'delete');
    const after = ok(await run(['--list']), 'list')
      .split('\n')
      .map((l) => l.trim());
    assert.ok(!after.includes(toolGroup) && after.includes(group), after.join(','));
    const stateLeader = (await metadata(STATE_TOPIC)).leaders[partitionForGroup(`${toolGroup}:${topicId}:0`, STATE_PARTITIONS)]!;
    await waitFor('the share coordinator forgets the deleted group', async () => {
      const r = await raw(stateLeader, (c) =>
        c.request(ApiKey.ReadShareGroupStateSummary, 1, { groupId: toolGroup, topics: [{ topicId, partitions: [{ partition: 0, leaderEpoch: -1 }] }] }),
      );
      const p = r.body.results[0].partitions[0] as { errorCode: number; startOffset: number };
      return p.errorCode === ErrorCode.NONE && p.startOffset === -1;
    });
  });

  test('a member leaving at its group coordinator releases at once what it holds on another broker', { timeout: 60_000 }, async () => {
    if (typeof setup === 'string' || group === '') return;
    const leader = (await metadata(TOPIC)).leaders[0]!;
    const groupLeaders = (await metadata('__consumer_offsets')).leaders;
    const liveIds = new Set(live().map(([id]) => id));
    // A group whose coordinator is a live broker other than the topic partition's leader.
    let g = '';
    for (let i = 0; i < 1000 && g === ''; i++) {
      const gc = groupLeaders[partitionForGroup(`${group}-leave-${i}`, groupLeaders.length)];
      if (gc !== undefined && gc !== leader && liveIds.has(gc)) g = `${group}-leave-${i}`;
    }
    assert.notEqual(g, '', 'a group coordinated away from the partition leader');
    const coordinator = groupLeaders[partitionForGroup(g, groupLeaders.length)]!;
    await setGroupConfigs(g, { 'share.auto.offset.reset': 'earliest', 'share.record.lock.duration.ms': '60000' });
    const heartbeat = (memberId: string, memberEpoch: number) =>
      raw(coordinator, (c) =>
        c.request(ApiKey.ShareGroupHeartbeat, 1, { groupId: g, memberId, memberEpoch, rackId: null, subscribedTopicNames: memberEpoch === 0 ? [TOPIC] : null }),
      );
    const fetch = (c: RawClient, memberId: string, shareSessionEpoch: number) =>
      c.request(ApiKey.ShareFetch, 1, {
        groupId: g,
        memberId,
        shareSessionEpoch,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        maxRecords: 500,
        batchSize: 500,
        topics: [{ topicId, partitions: [{ partitionIndex: 0, partitionMaxBytes: 0, acknowledgementBatches: [] }] }],
        forgottenTopicsData: [],
      });
    const acquired = (r: { body: { responses: { partitions: { acquiredRecords: { firstOffset: number; deliveryCount: number }[] }[] }[] } }) =>
      r.body.responses.flatMap((t) => t.partitions.flatMap((p) => p.acquiredRecords));
    const a = randomUUID();
    const b = randomUUID();
    assert.equal((await heartbeat(a, 0)).body.errorCode, ErrorCode.NONE);
    assert.equal((await heartbeat(b, 0)).body.errorCode, ErrorCode.NONE);
    // a's connection to the leader stays open: only its departure can release what it holds.
    const aConn = await RawClient.connect(brokers.get(leader)!.port);
    try {
      const held = acquired(await fetch(aConn, a, 0));
      assert.ok(held.length > 0 && held[0]!.firstOffset === 0 && held[0]!.deliveryCount === 1, JSON.stringify(held));
      assert.deepEqual(acquired(await raw(leader, (c) => fetch(c, b, 0))), [], 'held by a');
      const leftAt = Date.now();
      assert.equal((await heartbeat(a, -1)).body.errorCode, ErrorCode.NONE);
      let again: { firstOffset: number; deliveryCount: number }[] = [];
      await waitFor('what a held, for b', async () => (again = acquired(await raw(leader, (c) => fetch(c, b, 0)))).length > 0, 20_000);
      assert.ok(Date.now() - leftAt < 30_000, 'long before the 60 s lock expires');
      assert.deepEqual([again[0]!.firstOffset, again[0]!.deliveryCount], [0, 2]);
      // a's session on the leader ended with its departure, though its connection is still open.
      assert.equal((await fetch(aConn, a, 1)).body.errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND);
    } finally {
      aConn.close();
    }
  });

  test('a rejected record is dead-lettered through the leader of the dead-letter partition', { timeout: 60_000 }, async () => {
    if (typeof setup === 'string' || group === '') return;
    const leader = (await metadata(TOPIC)).leaders[0]!;
    const elsewhere = live().find(([id]) => id !== leader)![0];
    // The dead-letter topic has its only replica on another broker than the share-partition leader.
    const dlq = 'shared-on-cluster-dead';
    const created = await raw(any(), (c) =>
      c.request(ApiKey.CreateTopics, 7, {
        topics: [{ name: dlq, numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [elsewhere] }], configs: [] }],
        timeoutMs: 5000,
        validateOnly: false,
      }),
    );
    assert.equal(created.body.topics[0].errorCode, ErrorCode.NONE, created.body.topics[0].errorMessage ?? undefined);
    await waitFor(`broker ${elsewhere} leads ${dlq}`, async () => (await metadata(dlq)).leaders[0] === elsewhere, 20_000);
    const g = `${group}-dlq`;
    await setGroupConfigs(g, { 'share.auto.offset.reset': 'earliest', 'tributary.share.dlq.topic': dlq });
    const m = randomUUID();
    await raw(leader, async (c) => {
      const f = await c.request(ApiKey.ShareFetch, 1, {
        groupId: g,
        memberId: m,
        shareSessionEpoch: 0,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        maxRecords: 1,
        batchSize: 1,
        topics: [{ topicId, partitions: [{ partitionIndex: 0, partitionMaxBytes: 0, acknowledgementBatches: [] }] }],
        forgottenTopicsData: [],
      });
      const got = (f.body.responses as { partitions: { acquiredRecords: { firstOffset: number }[] }[] }[]).flatMap((t) => t.partitions.flatMap((p) => p.acquiredRecords));
      assert.equal(got[0]?.firstOffset, 0, JSON.stringify(f.body));
      const ack = await c.request(ApiKey.ShareAcknowledge, 1, {
        groupId: g,
        memberId: m,
        shareSessionEpoch: 1,
        topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 0, lastOffset: 0, acknowledgeTypes: [3] }] }] }],
      });
      assert.equal(ack.body.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    });
    let dead: { value: string; headers: Record<string, string> }[] = [];
    await waitFor(
      `the rejected record in ${dlq} on broker ${elsewhere}`,
      async () => {
        const r = await raw(elsewhere, (c) => c.request(ApiKey.Fetch, 12, fetchOne(dlq, 0, 0)));
        const records = r.body.responses[0].partitions[0].records as Buffer | null;
        dead = [];
        for (const batch of records ? splitBatches(records) : [])
          for (const rec of decodeBatchRecords(batch))
            dead.push({ value: rec.value?.toString() ?? '', headers: Object.fromEntries(rec.headers.map((h) => [h.key, h.value?.toString() ?? ''])) });
        return dead.length > 0;
      },
      20_000,
    );
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.value, 'r0');
    assert.deepEqual(
      [
        dead[0]!.headers['tributary.dlq.source.topic'],
        dead[0]!.headers['tributary.dlq.source.offset'],
        dead[0]!.headers['tributary.dlq.group'],
        dead[0]!.headers['tributary.dlq.reason'],
      ],
      [TOPIC, '0', g, 'rejected'],
    );
  });

  test('kill -9 of the share coordinator: the next one replays the state, nothing acknowledged comes back', { timeout: 120_000 }, async (t) => {
    if (typeof setup === 'string' || group === '') return;
    const stateIndex = partitionForGroup(`${group}:${topicId}:0`, STATE_PARTITIONS);
    const coordinator = (await metadata(STATE_TOPIC)).leaders[stateIndex]!;
    const leader = (await metadata(TOPIC)).leaders[0]!;
    assert.notEqual(coordinator, leader, 'the share coordinator and the partition leader are still apart');
    const produce = async (values: string[]) => {
      const to = (await metadata(TOPIC)).leaders[0]!;
      // acks=1: with two of three brokers gone the ISR shrinks only after replica.lag.time.max.ms.
      const r = await raw(to, (c) => c.request(ApiKey.Produce, 9, produceRequest(TOPIC, 0, buildRecordBatch(values.map((value) => ({ value }))), 1)));
      assert.equal(r.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    };
    await produce(Array.from({ length: 10 }, (_, i) => `u${i}`));
    const a = member(group, 'accept');
    await readAndClose(a, 'the ten new records', (got) => new Set(got.map((d) => d.offset)).size >= 10);
    assert.deepEqual(
      shareDeliveries(a).map((d) => d.offset),
      Array.from({ length: 10 }, (_, i) => 40 + i),
    );
    await brokers.get(coordinator)!.kill();
    await waitFor(
      `a new leader of ${STATE_TOPIC}-${stateIndex}`,
      async () => {
        const l = (await metadata(STATE_TOPIC)).leaders[stateIndex] ?? -1;
        return l > 0 && l !== coordinator;
      },
      30_000,
    );
    await produce(Array.from({ length: 5 }, (_, i) => `v${i}`));
    const b = member(group, 'accept');
    await readAndClose(b, 'the five records after the kill', (got) => new Set(got.map((d) => d.offset)).size >= 5);
    assert.deepEqual(
      shareDeliveries(b).map((d) => [d.offset, d.deliveryCount]),
      [50, 51, 52, 53, 54].map((o) => [o, 1]),
      'acknowledged records are not delivered again',
    );
    t.diagnostic(`share coordinator ${coordinator} killed; partition leader ${leader}`);
  });
});
