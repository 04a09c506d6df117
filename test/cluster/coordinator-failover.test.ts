// Three broker processes and one etcd on loopback, internal topics with replication factor 3:
// kill -9 of the broker that coordinates a group and a transaction moves both coordinators with
// the leadership of their internal partitions. The group keeps its committed offsets on the new
// coordinator (a consumer resumes after them), and the transaction begun before the kill is
// completed or aborted by the new coordinator, never left hanging. A streams group (KIP-1071) keeps
// its topology, member and tasks across the same kind of kill. Every process is killed at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { withRawClient } from '../helpers/raw-client.js';
import { metadataRequest } from '../helpers/requests.js';
import { etcdMissing, waitFor } from '../helpers/etcd.js';
import { suiteCluster } from '../helpers/process-cluster.js';

const { Kafka, logLevel } = kafkajs;

const cluster = suiteCluster({
  prefix: '/coordinator-failover',
  nodeIds: [1, 2, 3],
  config: () => ({
    'broker.session.timeout.ms': '3000',
    'group.initial.rebalance.delay.ms': '0',
    'offsets.topic.num.partitions': '6',
    'offsets.topic.replication.factor': '3',
    'transaction.state.log.num.partitions': '6',
    'transaction.state.log.replication.factor': '3',
    'transaction.abort.timed.out.transaction.cleanup.interval.ms': '500',
    'default.replication.factor': '3',
  }),
});
const { brokers } = cluster;
const GROUP = 0;
const TRANSACTION = 1;
const TOPIC = 'failover-data';

function kafka() {
  return new Kafka({ brokers: cluster.alive().map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 12, initialRetryTime: 100 } });
}

/** The coordinator a broker names for a key (-1 while there is none). */
async function coordinatorOf(b: BrokerProcess, key: string, keyType: number): Promise<number> {
  const r = await withRawClient(b, (c) => c.request(ApiKey.FindCoordinator, 3, { key, keyType, coordinatorKeys: [] }));
  return r.body.errorCode === ErrorCode.NONE ? (r.body.nodeId as number) : -1;
}

test('kill -9 of the coordinator: the group keeps its offsets and the open transaction ends on the new coordinator', { skip: etcdMissing, timeout: 120_000 }, async (t) => {
  const k = kafka();
  const admin = k.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }] });
  const producer = k.producer({ idempotent: true });
  await producer.connect();
  await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ value: `plain-${i}` })) });
  await producer.disconnect();

  // The group commits offset 5; a transactional id coordinated by the same broker opens a transaction.
  const groupId = 'failover-group';
  await admin.setOffsets({ groupId, topic: TOPIC, partitions: [{ partition: 0, offset: '5' }] });
  const [first] = cluster.alive();
  const victimId = await coordinatorOf(first!, groupId, GROUP);
  assert.ok(victimId > 0);
  // Two transactional ids coordinated by the same broker: one the producer commits after the
  // kill, one whose producer is gone (the new coordinator must abort it at its timeout).
  const ids: string[] = [];
  for (let i = 0; i < 200 && ids.length < 2; i++) if ((await coordinatorOf(first!, `failover-txn-${i}`, TRANSACTION)) === victimId) ids.push(`failover-txn-${i}`);
  assert.equal(ids.length, 2, `two transactional ids coordinated by broker ${victimId}`);
  const [transactionalId, abandonedId] = ids as [string, string];
  const txProducer = k.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 8000 });
  await txProducer.connect();
  const txn = await txProducer.transaction();
  await txn.send({ topic: TOPIC, acks: -1, messages: [0, 1, 2].map((i) => ({ value: `txn-${i}` })) });
  const abandonedProducer = k.producer({ transactionalId: abandonedId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 5000 });
  await abandonedProducer.connect();
  const abandoned = await abandonedProducer.transaction();
  await abandoned.send({ topic: TOPIC, acks: -1, messages: [0, 1].map((i) => ({ value: `abandoned-${i}` })) });
  await admin.disconnect();

  // Every internal partition's followers are in sync before the kill (the ISR lists all three).
  await waitFor(
    'the internal partitions replicated to all three brokers',
    async () => {
      const md = await withRawClient(first!, (c) => c.request(ApiKey.Metadata, 12, metadataRequest(['__consumer_offsets', '__transaction_state'])));
      return (md.body.topics as { partitions: { isrNodes: number[] }[] }[]).every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.isrNodes.length === 3));
    },
    30_000,
  );

  await brokers.get(victimId)!.kill();
  const survivor = cluster.alive()[0]!;

  // The group's coordinator moves to a surviving broker, which has its offsets.
  await waitFor(
    'a new group coordinator',
    async () => {
      const id = await coordinatorOf(survivor, groupId, GROUP).catch(() => -1);
      return id > 0 && id !== victimId;
    },
    20_000,
  );
  const after = kafka();
  const admin2 = after.admin();
  await admin2.connect();
  try {
    const offsets = await admin2.fetchOffsets({ groupId, topics: [TOPIC] });
    assert.deepEqual(
      offsets[0]!.partitions.map((p) => [p.partition, p.offset]),
      [[0, '5']],
    );
  } finally {
    await admin2.disconnect();
  }

  // The transaction: committed through the new coordinator, or aborted by it at its timeout.
  let committed = false;
  try {
    await txn.commit();
    committed = true;
  } catch {
    // The producer gave up (its coordinator vanished under it): the new one aborts at the timeout.
  }
  await txProducer.disconnect().catch(() => undefined);
  await abandonedProducer.disconnect().catch(() => undefined);
  /** The state a transaction ends in on its new coordinator. */
  const ended = async (id: string): Promise<string> => {
    let state = '';
    await waitFor(
      `transaction ${id} ended on the new coordinator`,
      async () => {
        const coordinator = await coordinatorOf(survivor, id, TRANSACTION).catch(() => -1);
        const b = brokers.get(coordinator);
        if (!b || coordinator === victimId) return false;
        const r = await withRawClient(b, (c) => c.request(ApiKey.DescribeTransactions, 0, { transactionalIds: [id] }));
        state = r.body.transactionStates[0].transactionState as string;
        return state === 'CompleteCommit' || state === 'CompleteAbort';
      },
      30_000,
    );
    return state;
  };
  const state = await ended(transactionalId);
  if (committed) assert.equal(state, 'CompleteCommit');
  assert.equal(await ended(abandonedId), 'CompleteAbort', 'the abandoned transaction is aborted at its timeout');
  t.diagnostic(`coordinator ${victimId} killed; the producer's commit ${committed ? 'went through' : 'failed'}; the transaction ended ${state}`);

  // A consumer of the group resumes at offset 5 and reads what the transactions' outcomes say
  // (read_committed: nothing past the abandoned transaction until its abort).
  const consumer = after.consumer({ groupId, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC });
  const seen: { offset: string; value: string }[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void seen.push({ offset: message.offset, value: message.value!.toString() }) });
  const expected = ['plain-5', 'plain-6', 'plain-7', 'plain-8', 'plain-9', ...(state === 'CompleteCommit' ? ['txn-0', 'txn-1', 'txn-2'] : [])];
  try {
    await waitFor('the consumer reads from the committed offset on', () => seen.length >= expected.length, 30_000);
  } finally {
    await consumer.disconnect();
  }
  assert.equal(seen[0]!.offset, '5');
  assert.deepEqual(
    seen.map((m) => m.value),
    expected,
  );
});

/** Every internal partition's ISR lists all three brokers. */
async function internalInSync(b: BrokerProcess): Promise<void> {
  await waitFor(
    'the internal partitions replicated to all three brokers',
    async () => {
      const md = await withRawClient(b, (c) => c.request(ApiKey.Metadata, 12, metadataRequest(['__consumer_offsets'])));
      return (md.body.topics as { partitions: { isrNodes: number[] }[] }[]).every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.isrNodes.length === 3));
    },
    30_000,
  );
}

test('kill -9 of a streams group coordinator: the group, its topology and tasks come back on the new one', { skip: etcdMissing, timeout: 120_000 }, async () => {
  // The broker the first test killed comes back, so that three run again.
  for (const [nodeId, b] of brokers) {
    if (b.child.exitCode === null && b.child.signalCode === null) continue;
    await cluster.startNode(nodeId, b.dataDir);
  }
  const [first] = cluster.alive();
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'sg-in', numPartitions: 3, replicationFactor: 3 }] });
  await admin.disconnect();
  const groupId = 'failover-streams';
  const topology = {
    epoch: 0,
    subtopologies: [
      {
        subtopologyId: '0',
        sourceTopics: ['sg-in'],
        sourceTopicRegex: [],
        stateChangelogTopics: [{ name: `${groupId}-store-changelog`, partitions: 0, replicationFactor: 0, topicConfigs: [] }],
        repartitionSinkTopics: [],
        repartitionSourceTopics: [],
        copartitionGroups: [],
      },
    ],
  };
  type Ids = { subtopologyId: string; partitions: number[] }[];
  const heartbeat = (b: BrokerProcess, epoch: number, active: Ids | null) =>
    withRawClient(b, (c) =>
      c.request(ApiKey.StreamsGroupHeartbeat, 0, {
        groupId,
        memberId: 'member-1',
        memberEpoch: epoch,
        endpointInformationEpoch: 0,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: epoch === 0 ? 30_000 : -1,
        topology: epoch === 0 ? topology : null,
        activeTasks: active,
        standbyTasks: active === null ? null : [],
        warmupTasks: active === null ? null : [],
        processId: epoch === 0 ? 'process-1' : null,
        userEndpoint: null,
        clientTags: epoch === 0 ? [] : null,
        taskOffsets: null,
        taskEndOffsets: null,
        shutdownApplication: false,
      }),
    );
  const coordinator = async (not?: BrokerProcess) => {
    let id = -1;
    await waitFor(
      not ? 'a new group coordinator' : 'a group coordinator',
      async () => {
        id = await coordinatorOf(cluster.alive()[0]!, groupId, GROUP).catch(() => -1);
        return id > 0 && brokers.get(id) !== not;
      },
      20_000,
    );
    return brokers.get(id)!;
  };
  // Join, then heartbeat until the changelog topic exists (created by the coordinator) and the 3 tasks are assigned.
  let b = await coordinator();
  let epoch = 0;
  let active: Ids = [];
  await waitFor(
    'the member owns the 3 tasks',
    async () => {
      const r = await heartbeat(b, epoch, epoch === 0 ? [] : active);
      assert.equal(r.body.errorCode, ErrorCode.NONE, r.body.errorMessage);
      epoch = r.body.memberEpoch;
      if (r.body.activeTasks !== null) active = r.body.activeTasks;
      return active.flatMap((t) => t.partitions).length === 3 && (r.body.status as unknown[]).length === 0;
    },
    30_000,
  );
  await internalInSync(first!);
  const victim = b;
  await victim.kill();
  b = await coordinator(victim);
  // The new coordinator knows the member at its epoch with its tasks: nothing to rejoin. Named
  // coordinator before it has loaded the group, it answers COORDINATOR_LOAD_IN_PROGRESS, which a
  // client retries.
  let r!: Awaited<ReturnType<typeof heartbeat>>;
  await waitFor(
    'the new coordinator loaded the group',
    async () => {
      r = await heartbeat(b, epoch, active);
      return r.body.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    },
    20_000,
  );
  assert.equal(r.body.errorCode, ErrorCode.NONE, r.body.errorMessage);
  assert.equal(r.body.memberEpoch, epoch);
  const d = await withRawClient(b, (c) =>
    c.request(ApiKey.StreamsGroupDescribe, 0, { groupIds: [groupId], includeAuthorizedOperations: false, includeTopologyDescription: false }),
  );
  const g = d.body.groups[0];
  assert.equal(g.errorCode, ErrorCode.NONE);
  assert.equal(g.groupState, 'Stable');
  assert.deepEqual(
    g.members.map((m: { memberId: string }) => m.memberId),
    ['member-1'],
  );
  assert.deepEqual(
    g.topology.subtopologies.map((s: { subtopologyId: string; stateChangelogTopics: { name: string }[] }) => [s.subtopologyId, s.stateChangelogTopics.map((t) => t.name)]),
    [['0', [`${groupId}-store-changelog`]]],
  );
  assert.equal(g.members[0].assignment.activeTasks[0].partitions.length, 3);
});
