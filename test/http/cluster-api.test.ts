// The admin API on a three-broker cluster (real etcd), with SASL and ACLs: broker 1's API
// produces to and browses a partition led by another broker, describes and resets a group whose
// coordinator is another broker, and a principal the ACLs deny is still denied once its request
// is forwarded (the other broker checks the forwarded principal, not the brokers' own). The
// Envelope that carries it is refused to anyone but a broker on the inter-broker listener.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { startCluster, type RunningCluster } from '../../src/index.js';
import { Connection } from '../../src/client/connection.js';
import {
  ApiKey,
  apiByKey,
  type CreateAclsResponse,
  type DescribeProducersResponse,
  type EnvelopeResponse,
  type FindCoordinatorResponse,
} from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { encodeRequestFrame } from '../../src/protocol/headers.js';
import { addressBytes, serializePrincipal } from '../../src/broker/forwarded-principal.js';
import { etcdMissing } from '../helpers/etcd.js';
import { saslClusterConfig } from '../helpers/sasl-plain-acls.js';
import { waitUntil } from '../helpers/wait.js';
import { parseExposition } from '../helpers/prometheus.js';

const { Kafka, logLevel } = kafkajs;

describe('the admin API on a cluster routes to leaders and coordinators', { skip: etcdMissing }, () => {
  let cluster: RunningCluster;
  before(async () => {
    cluster = await startCluster({
      brokers: 3,
      config: {
        ...saslClusterConfig('SASL_PLAINTEXT'),
        'http.listeners': 'http://127.0.0.1:0',
        'group.initial.rebalance.delay.ms': 0,
        'offsets.topic.num.partitions': 6,
      },
    });
  });
  after(async () => cluster?.stop());

  const node = (id: number) => cluster.brokers.find((b) => b.broker.nodeId === id)!;
  const A = () => cluster.brokers[0]!;
  const call = async <T = Record<string, unknown>>(user: string, path: string, method = 'GET', body?: unknown, at = A()) => {
    const res = await fetch(`${at.httpUrl}/api/v1/${path}`, {
      method,
      headers: {
        authorization: `Basic ${Buffer.from(`${user}:${user}-pw`).toString('base64')}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  const connect = (nodeId: number, listener: 'CLIENT' | 'INTERNAL', user: string) =>
    Connection.connect({
      host: '127.0.0.1',
      port: node(nodeId).broker.listenerPort(listener),
      security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: user, password: `${user}-pw` } },
    });
  const leaderOf = (topic: string, partition: number) => {
    const b = A().broker;
    return b.partitionStates(b.topics.get(topic)!)[partition]!.leader;
  };

  let remote = -1; // a partition of `routed` led by another broker than A
  let group = ''; // a group coordinated by another broker than A
  let coordinator = -1;

  test('produce to and browse a partition led by another broker', async () => {
    const created = await call('admin', 'topics', 'POST', { name: 'routed', partitions: 3, replicationFactor: 1 });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await waitUntil(() => cluster.brokers.every((b) => b.broker.topics.get('routed')?.partitions.length === 3 && leaderOf('routed', 0) >= 0), {
      timeout: 10_000,
      message: 'every broker to know the topic',
    });
    const a = A().broker.nodeId;
    remote = [0, 1, 2].find((p) => leaderOf('routed', p) !== a)!;
    assert.notEqual(remote, undefined, 'round robin places a partition on another broker');
    const leader = node(leaderOf('routed', remote));

    const sent = await call<{ offset: number }>('admin', 'topics/routed/messages', 'POST', { partition: remote, key: 'k', value: 'from broker A' });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    assert.equal(sent.body.offset, 0);
    // The record is in the leader's log: broker A has no replica of the partition.
    assert.equal(leader.broker.partition('routed', remote)?.logEndOffset, 1);
    assert.equal(A().broker.partition('routed', remote), undefined);

    // The topic page shows the partition's offsets, asked of its leader.
    const topic = await call<{ partitions: { partition: number; logStartOffset: number | null; highWatermark: number | null; sizeBytes: number | null }[] }>(
      'admin',
      'topics/routed',
    );
    assert.deepEqual(topic.body.partitions[remote], { ...topic.body.partitions[remote], logStartOffset: 0, highWatermark: 1, sizeBytes: null });

    const read = await call<{ latestOffset: number; messages: { offset: number; value: string }[] }>('admin', `topics/routed/messages?partition=${remote}&offset=earliest`);
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.equal(read.body.latestOffset, 1);
    assert.deepEqual(
      read.body.messages.map((m) => [m.offset, Buffer.from(m.value, 'base64').toString()]),
      [[0, 'from broker A']],
    );
  });

  test('describe, lag and reset of a group coordinated by another broker', async () => {
    // The first FindCoordinator creates __consumer_offsets; then pick a group it places elsewhere.
    const admin = await connect(A().broker.nodeId, 'CLIENT', 'admin');
    try {
      await admin.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, { key: '', keyType: 0, coordinatorKeys: ['any'] });
    } finally {
      admin.close();
    }
    const b = A().broker;
    await waitUntil(
      () => {
        const t = b.topics.get('__consumer_offsets');
        return !!t && b.partitionStates(t).every((s) => s.leader >= 0);
      },
      { timeout: 10_000, message: '__consumer_offsets to have leaders' },
    );
    const states = b.partitionStates(b.topics.get('__consumer_offsets')!);
    group = Array.from({ length: 200 }, (_, i) => `console-group-${i}`).find((g) => states[b.groupCoordinator.partitionFor(g)]!.leader !== b.nodeId)!;
    coordinator = states[b.groupCoordinator.partitionFor(group)]!.leader;

    // A real client (kafkajs, classic protocol) consumes the record and commits, on its coordinator.
    const kafka = new Kafka({
      brokers: [`127.0.0.1:${b.listenerPort('CLIENT')}`],
      sasl: { mechanism: 'plain', username: 'admin', password: 'admin-pw' },
      logLevel: logLevel.NOTHING,
    });
    const consumer = kafka.consumer({ groupId: group, sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'routed', fromBeginning: true });
    let seen = 0;
    await consumer.run({ autoCommitInterval: 100, eachMessage: async () => void seen++ });
    try {
      await waitUntil(
        async () => {
          const lag = await call<{ partitions: { partition: number; committedOffset: number }[] }>('admin', `groups/${group}/lag`);
          return lag.status === 200 && lag.body.partitions.some((p) => p.partition === remote && p.committedOffset === 1);
        },
        { timeout: 20_000, message: 'the consumer to commit offset 1' },
      );
      assert.equal(seen, 1);
      const described = await call<{ coordinator: number; state: string; protocolType: string; members: { assignment: { topic: string; partitions: number[] }[] }[] }>(
        'admin',
        `groups/${group}`,
      );
      assert.equal(described.status, 200, JSON.stringify(described.body));
      assert.equal(described.body.coordinator, coordinator);
      assert.deepEqual([described.body.state, described.body.protocolType, described.body.members.length], ['Stable', 'consumer', 1]);
      assert.deepEqual(described.body.members[0]!.assignment, [{ topic: 'routed', partitions: [0, 1, 2] }]);
    } finally {
      await consumer.disconnect();
    }

    // One more record: lag 1 on that partition, computed from the coordinator's and the leader's numbers.
    assert.equal((await call('admin', 'topics/routed/messages', 'POST', { partition: remote, value: 'second' })).status, 201);
    const lag = await call<{ totalLag: number; partitions: { partition: number; committedOffset: number; endOffset: number; lag: number }[] }>('admin', `groups/${group}/lag`);
    assert.deepEqual(
      lag.body.partitions.find((p) => p.partition === remote),
      { topic: 'routed', partition: remote, committedOffset: 1, endOffset: 2, lag: 1 },
    );
    assert.equal(lag.body.totalLag, 1);

    // Reset to the earliest offsets: OffsetCommit on the coordinator, ListOffsets on the leaders.
    const reset = await call<{ offsets: { partition: number; offset: number }[] }>('admin', `groups/${group}/offsets/reset`, 'POST', { topic: 'routed', to: 'earliest' });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    const after = await call<{ partitions: { partition: number; committedOffset: number; lag: number }[] }>('admin', `groups/${group}`);
    assert.deepEqual(
      after.body.partitions.find((p) => p.partition === remote),
      { topic: 'routed', partition: remote, committedOffset: 0, endOffset: 2, lag: 2 },
    );
    // Seen from the coordinator's own API, the same.
    const there = await call<{ partitions: { partition: number; committedOffset: number }[] }>('admin', `groups/${group}/lag`, 'GET', undefined, node(coordinator));
    assert.equal(there.body.partitions.find((p) => p.partition === remote)?.committedOffset, 0);

    // Listed from every broker (ListGroups on each), with its coordinator and lag.
    for (const at of cluster.brokers) {
      const listed = await call<{ unreachableBrokers: number[]; groups: { groupId: string; coordinator: number; totalLag: number }[] }>(
        'admin',
        'groups',
        'GET',
        undefined,
        at,
      );
      assert.deepEqual(listed.body.unreachableBrokers, []);
      assert.deepEqual(
        listed.body.groups.map((g) => [g.groupId, g.coordinator, g.totalLag]),
        [[group, coordinator, 2]],
        `the list on broker ${at.broker.nodeId}`,
      );
    }

    // /metrics: the group's lag is exported by its coordinator alone (so scraping every broker
    // counts it once), with the high watermarks of partitions led elsewhere asked of their leaders.
    const elsewhere = [0, 1, 2].find((p) => p !== remote && leaderOf('routed', p) !== coordinator);
    assert.notEqual(elsewhere, undefined, 'a partition led by neither the coordinator nor the leader of `remote`');
    assert.equal((await call('admin', 'topics/routed/messages', 'POST', { partition: elsewhere, value: 'lag' })).status, 201);
    const scrapes = await Promise.all(
      cluster.brokers.map(async (at) => ({ node: at.broker.nodeId, m: parseExposition(await (await fetch(`${at.httpUrl}/metrics`)).text()) })),
    );
    // Followers' fetches are reported apart from consumers' (RequestMetrics request=FetchFollower).
    const followerFetches = scrapes.reduce((n, { m }) => n + (m.value('kafka_network_requestmetrics_totaltimems_count', { request: 'FetchFollower' }) ?? 0), 0);
    assert.ok(followerFetches > 0, 'follower fetches counted as FetchFollower');
    const lagSeries = scrapes.flatMap(({ node: n, m }) => m.find('kafka_consumergroup_lag', { consumergroup: group }).map((s) => ({ n, ...s })));
    assert.deepEqual(
      lagSeries.map((s) => [s.n, s.labels.topic, Number(s.labels.partition), s.value]).sort((x, y) => Number(x[2]) - Number(y[2])),
      [0, 1, 2].map((p) => [coordinator, 'routed', p, p === remote ? 2 : p === elsewhere ? 1 : 0]),
      'one lag series per partition, from the coordinator, with the leaders’ high watermarks',
    );
    const sums = scrapes.flatMap(({ m }) => m.find('kafka_consumergroup_lag_sum', { consumergroup: group }).map((s) => s.value));
    assert.deepEqual(sums, [3]);
    // A scrape right after another reuses the leaders' answers (cached a few seconds) instead of
    // asking them again.
    const listOffsetsServed = () =>
      cluster.brokers
        .filter((x) => x.broker.nodeId !== coordinator)
        .reduce((n, x) => n + ([...x.broker.metrics.requestMetrics()].find((a) => a.name === apiByKey.get(ApiKey.ListOffsets)!.name)?.requests.value ?? 0), 0);
    const served = listOffsetsServed();
    const again = parseExposition(await (await fetch(`${node(coordinator).httpUrl}/metrics`)).text());
    assert.equal(again.value('kafka_consumergroup_lag_sum', { consumergroup: group, topic: 'routed' }), 3);
    assert.equal(listOffsetsServed(), served, 'no new ListOffsets for a scrape within the cache time');

    // Another broker's configs (static ones too) come from that broker.
    const other = cluster.brokers.find((x) => x.broker.nodeId !== A().broker.nodeId)!.broker.nodeId;
    const configs = await call<{ resourceName: string; configs: { name: string; value: string }[] }>('admin', `configs/broker/${other}?search=node.id`);
    assert.equal(configs.status, 200, JSON.stringify(configs.body));
    assert.equal(configs.body.configs.find((c) => c.name === 'node.id')?.value, String(other));
  });

  test('a principal the ACLs deny is denied on the broker the request is forwarded to', async () => {
    assert.ok(remote >= 0 && group !== '', 'the earlier tests ran');
    // alice may see the topic and the group, not read or write the topic, nor describe the group's offsets' topic reads.
    const admin = await connect(A().broker.nodeId, 'CLIENT', 'admin');
    try {
      const acl = (resourceType: number, resourceName: string, operation: number) => ({
        resourceType,
        resourceName,
        resourcePatternType: 3,
        principal: 'User:alice',
        host: '*',
        operation,
        permissionType: 3,
      });
      const res = await admin.request<CreateAclsResponse>(ApiKey.CreateAcls, { creations: [acl(2, 'routed', 8)] });
      assert.equal(res.results[0]!.errorCode, ErrorCode.NONE);
    } finally {
      admin.close();
    }
    await waitUntil(async () => (await call('alice', 'topics/routed')).status === 200, { timeout: 10_000, message: 'the ACL to reach broker A' });

    const produce = await call('alice', 'topics/routed/messages', 'POST', { partition: remote, value: 'denied' });
    assert.deepEqual([produce.status, produce.body.errorCode], [403, 'TOPIC_AUTHORIZATION_FAILED']);
    const browse = await call('alice', `topics/routed/messages?partition=${remote}&offset=earliest`);
    assert.deepEqual([browse.status, browse.body.errorCode], [403, 'TOPIC_AUTHORIZATION_FAILED']);
    const describeGroup = await call('alice', `groups/${group}`);
    assert.deepEqual([describeGroup.status, describeGroup.body.errorCode], [403, 'GROUP_AUTHORIZATION_FAILED']);
    const resetGroup = await call('alice', `groups/${group}/offsets/reset`, 'POST', { topic: 'routed', to: 'latest' });
    assert.equal(resetGroup.status, 403, JSON.stringify(resetGroup.body));
    assert.equal(node(leaderOf('routed', remote)).broker.partition('routed', remote)?.logEndOffset, 2, 'nothing was written for alice');

    // Given WRITE, alice's forwarded produce goes through: the leader saw alice, not the brokers' principal.
    const grant = await connect(A().broker.nodeId, 'CLIENT', 'admin');
    try {
      await grant.request<CreateAclsResponse>(ApiKey.CreateAcls, {
        creations: [{ resourceType: 2, resourceName: 'routed', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 4, permissionType: 3 }],
      });
    } finally {
      grant.close();
    }
    await waitUntil(async () => (await call('alice', 'topics/routed/messages', 'POST', { partition: remote, value: 'allowed' })).status === 201, {
      timeout: 10_000,
      message: 'the WRITE ACL to reach the leader',
    });
  });

  test('an open transaction is listed and described from every broker', async () => {
    const kafka = new Kafka({
      brokers: [`127.0.0.1:${A().broker.listenerPort('CLIENT')}`],
      sasl: { mechanism: 'plain', username: 'admin', password: 'admin-pw' },
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ transactionalId: 'console-tx', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const txn = await producer.transaction();
    try {
      await txn.send({ topic: 'routed', messages: [{ partition: 0, value: 'pending' }] });
      const views = await Promise.all(
        cluster.brokers.map((at) =>
          call<{ transactions: { transactionalId: string; coordinator: number; state: string; partitions: unknown[] }[] }>('admin', 'transactions', 'GET', undefined, at),
        ),
      );
      const seen = views.map((v) => v.body.transactions.map((t) => [t.transactionalId, t.state, t.partitions]));
      for (const v of seen) assert.deepEqual(v, [['console-tx', 'Ongoing', [{ topic: 'routed', partition: 0 }]]]);
      const coordinators = new Set(views.map((v) => v.body.transactions[0]!.coordinator));
      assert.equal(coordinators.size, 1, 'every broker names the same coordinator');
      // The partitions' side, from every broker: the leader's producer state (DescribeProducers)
      // and the coordinator's transaction, wherever they are.
      type Open = {
        unreachableBrokers: number[];
        hanging: number;
        partitions: { topic: string; partition: number; leader: number; transactionalId: string | null; hanging: boolean }[];
      };
      for (const at of cluster.brokers) {
        const open = await call<Open>('admin', 'transactions/partitions', 'GET', undefined, at);
        assert.equal(open.status, 200, JSON.stringify(open.body));
        assert.deepEqual(
          [open.body.unreachableBrokers, open.body.hanging, open.body.partitions.map((o) => [o.topic, o.partition, o.leader, o.transactionalId, o.hanging])],
          [[], 0, [['routed', 0, leaderOf('routed', 0), 'console-tx', false]]],
          `the open partitions seen from broker ${at.broker.nodeId}`,
        );
      }
      // Only the leader describes a partition's producers; a follower sends the caller there.
      const follower = cluster.brokers.map((b) => b.broker.nodeId).find((id) => id !== leaderOf('routed', 0))!;
      const conn = await connect(follower, 'CLIENT', 'admin');
      try {
        const r = await conn.request<DescribeProducersResponse>(ApiKey.DescribeProducers, { topics: [{ name: 'routed', partitionIndexes: [0] }] });
        assert.equal(r.topics[0]!.partitions[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      } finally {
        conn.close();
      }
    } finally {
      await txn.abort();
      await producer.disconnect();
    }
  });

  test('only a broker on the inter-broker listener may send an Envelope', async () => {
    const target = leaderOf('routed', Math.max(0, remote));
    const inner = encodeRequestFrame(ApiKey.FindCoordinator, 4, 1, 'x', { key: '', keyType: 0, coordinatorKeys: ['g'] }).subarray(4);
    const envelope = { requestData: inner, requestPrincipal: serializePrincipal('User:admin'), clientHostAddress: addressBytes('127.0.0.1') };
    const send = async (listener: 'CLIENT' | 'INTERNAL', user: string, body = envelope) => {
      const c = await connect(target, listener, user);
      try {
        return (await c.request<EnvelopeResponse>(ApiKey.Envelope, body, { version: 0 })).errorCode;
      } finally {
        c.close();
      }
    };
    assert.equal(await send('INTERNAL', 'alice'), ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'alice lacks CLUSTER_ACTION');
    assert.equal(await send('CLIENT', 'admin'), ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'not the inter-broker listener');
    assert.equal(await send('INTERNAL', 'broker'), ErrorCode.INVALID_REQUEST, 'FindCoordinator is not forwarded');
    assert.equal(await send('INTERNAL', 'broker', { ...envelope, requestPrincipal: Buffer.from([0, 9]) }), ErrorCode.PRINCIPAL_DESERIALIZATION_FAILURE);
  });
});
