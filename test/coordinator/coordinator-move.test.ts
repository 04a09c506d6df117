// The coordinators follow the leadership of their internal partitions, against a fake host with
// real partitions (logs in a temp dir): a partition that leaves unloads its groups and
// transactional ids (requests answer NOT_COORDINATOR, waiting members too); one that arrives at
// a new leader epoch loads from its log (COORDINATOR_LOAD_IN_PROGRESS meanwhile) and carries on
// under that epoch as coordinator epoch: decided transactions are completed, ongoing ones time
// out, and markers of the previous epoch are fenced by the logs.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Partition, type TopicState } from '../../src/broker/partition.js';
import { systemClock } from '../../src/common/clock.js';
import { BrokerConfig } from '../../src/config/config.js';
import { startGroupCoordinator } from '../../src/coordinator/offsets-topic.js';
import { startTransactionCoordinator } from '../../src/coordinator/transaction-topic.js';
import type { CoordinatorHost, LeadershipChange, MarkerRoute } from '../../src/coordinator/ports.js';
import { partitionForGroup } from '../../src/coordinator/records.js';
import type { GroupCoordinator } from '../../src/coordinator/group-coordinator.js';
import type { TransactionCoordinator } from '../../src/coordinator/transaction-coordinator.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { config as logConfig, openLog, removeDir, silentLogger, tempDir } from '../storage/helpers.js';
import { waitUntil } from '../helpers/wait.js';

const NODE = 1;
const OTHER = 2;

/** A broker as the coordinators see it, whose leadership the test moves by hand. */
class FakeHost implements CoordinatorHost {
  readonly config = new BrokerConfig({
    overrides: {
      'offsets.topic.num.partitions': '3',
      'transaction.state.log.num.partitions': '2',
      'group.initial.rebalance.delay.ms': '0',
    },
  });
  readonly clock = systemClock;
  readonly logger = silentLogger;
  readonly topics = new Map<string, TopicState>();
  private readonly listeners = new Set<(change: LeadershipChange) => void>();
  private nextId = 1000;
  private readonly opened: Partition[] = [];

  constructor(private readonly dir: string) {}

  async createTopic(name: string, partitions: number): Promise<TopicState> {
    const t: TopicState = { name, id: 'AAAAAAAAAAAAAAAAAAAAAA', internal: name.startsWith('__'), overrides: {}, configs: new Map(), partitions: [] };
    for (let i = 0; i < partitions; i++) {
      const p = new Partition(t, i, await openLog(path.join(this.dir, `${name}-${i}`), logConfig()), NODE);
      t.partitions.push(p);
      this.opened.push(p);
    }
    this.topics.set(name, t);
    // As the broker does: partitions led when opened are announced a moment later.
    for (const p of t.partitions) queueMicrotask(() => this.emit(p));
    return t;
  }

  onLeadershipChange(listener: (change: LeadershipChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(p: Partition): void {
    for (const l of [...this.listeners]) l({ topic: p.topicName, partition: p.index, leader: p.isLeader, leaderEpoch: p.leaderEpoch });
  }

  /** The controller moves leadership: to this broker (at `epoch`) or away from it. */
  lead(topic: string, index: number, here: boolean, epoch: number): void {
    const p = this.partition(topic, index)!;
    p.applyAssignment({ leaderId: here ? NODE : OTHER, leaderEpoch: epoch, replicas: [NODE, OTHER], isr: [here ? NODE : OTHER], partitionEpoch: epoch });
    this.emit(p);
  }

  partition(topic: string, index: number): Partition | undefined {
    return this.topics.get(topic)?.partitions[index];
  }

  /** Cluster mode with this broker's etcd lease in doubt: it may not act as a leader. */
  fenced = false;

  leaderPartition(topic: string, index: number): Partition | number {
    const p = this.partition(topic, index);
    if (!p) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return p.isLeader && !this.fenced ? p : ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }

  nextProducerId(): Promise<number> {
    return Promise.resolve(this.nextId++);
  }

  partitionExists(topic: string, index: number): boolean {
    return this.partition(topic, index) !== undefined;
  }

  markerRoute(topic: string, index: number): MarkerRoute {
    const p = this.partition(topic, index);
    if (!p) return { kind: 'gone' };
    return p.isLeader ? { kind: 'local', partition: p } : { kind: 'unavailable', reason: 'led elsewhere' };
  }

  writeRemoteMarkers(): Promise<void> {
    return Promise.reject(new Error('single fake broker'));
  }

  async close(): Promise<void> {
    for (const p of this.opened) await p.log.close();
  }
}

/** Two ids of `prefix` whose partitions (of `partitions`) differ. */
function idsOnDifferentPartitions(prefix: string, partitions: number): [string, string] {
  const first = `${prefix}-0`;
  for (let i = 1; ; i++) {
    const id = `${prefix}-${i}`;
    if (partitionForGroup(id, partitions) !== partitionForGroup(first, partitions)) return [first, id];
  }
}

const OFFSETS = '__consumer_offsets';
const TXN = '__transaction_state';

function commit(groups: GroupCoordinator, groupId: string, offset: number) {
  return groups.commitOffsets({
    groupId,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    topics: [{ name: 'data', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null }] }],
  });
}

function committed(groups: GroupCoordinator, groupId: string): number | undefined {
  return groups.fetchOffsets(groupId, [{ name: 'data', partitionIndexes: [0] }])[0]?.partitions[0]?.committedOffset;
}

describe('coordinators follow the leadership of their internal partitions', () => {
  let root: string;
  let n = 0;
  before(() => {
    root = tempDir('tributary-coordinator-move-');
  });
  after(() => removeDir(root));

  async function setup(): Promise<{ host: FakeHost; groups: GroupCoordinator; txns: TransactionCoordinator; stop: () => Promise<void> }> {
    const host = new FakeHost(path.join(root, String(n++)));
    await host.createTopic('data', 1);
    const groups = await startGroupCoordinator(host);
    const txns = await startTransactionCoordinator(host, groups);
    return {
      host,
      groups,
      txns,
      stop: async () => {
        txns.shutdown();
        groups.shutdown();
        await txns.idle();
        await host.close();
      },
    };
  }

  test('a group partition that leaves is unloaded; back at a new epoch it loads from its log, answering LOAD_IN_PROGRESS meanwhile', async () => {
    const { host, groups, stop } = await setup();
    try {
      const [moving, staying] = idsOnDifferentPartitions('g', 3);
      // The first request creates __consumer_offsets; this broker leads all of it at epoch 0.
      await groups.ready(moving);
      assert.deepEqual((await commit(groups, moving, 42))[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      assert.deepEqual((await commit(groups, staying, 7))[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      const index = groups.partitionFor(moving);

      host.lead(OFFSETS, index, false, 1);
      assert.equal(groups.groupError(moving), ErrorCode.NOT_COORDINATOR);
      assert.equal(groups.groups.has(moving), false, 'its groups left memory');
      assert.equal(groups.offsets.has(moving), false, 'and their offsets');
      assert.equal((await commit(groups, moving, 43))[0]!.partitions[0]!.errorCode, ErrorCode.NOT_COORDINATOR);
      assert.equal(groups.heartbeat(moving, 'm', null, 1), ErrorCode.NOT_COORDINATOR);
      assert.equal(groups.describeGroup(moving).errorCode, ErrorCode.NOT_COORDINATOR);
      assert.deepEqual(
        groups.listGroups().map((g) => g.groupId),
        [staying],
      );
      // The other partition's group is untouched.
      assert.equal(groups.groupError(staying), ErrorCode.NONE);
      assert.equal(committed(groups, staying), 7);

      // Back here at epoch 2; the load waits on a gate, so its progress can be seen.
      const p = host.partition(OFFSETS, index)!;
      const read = p.read.bind(p);
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      p.read = async (params) => {
        await gate;
        return read(params);
      };
      host.lead(OFFSETS, index, true, 2);
      assert.equal(groups.groupError(moving), ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      assert.equal((await commit(groups, moving, 44))[0]!.partitions[0]!.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      open();
      await groups.ready(moving);
      assert.equal(groups.groupError(moving), ErrorCode.NONE);
      assert.equal(committed(groups, moving), 42, 'the committed offset is back');
      assert.equal((await commit(groups, moving, 45))[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      assert.equal(committed(groups, moving), 45);
    } finally {
      await stop();
    }
  });

  test('a member waiting in a join is answered NOT_COORDINATOR when its partition leaves', async () => {
    const { host, groups, stop } = await setup();
    try {
      const groupId = 'waiting-group';
      await groups.ready(groupId);
      const proto = { name: 'range', metadata: Buffer.from('x') };
      const join = (memberId: string) =>
        groups.join(groupId, {
          memberId,
          groupInstanceId: null,
          clientId: 'c',
          clientHost: '/127.0.0.1',
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 60_000,
          protocolType: 'consumer',
          protocols: [proto],
          requireKnownMemberId: false,
          supportsSkipAssignment: false,
        });
      const first = await join('');
      assert.equal(first.errorCode, ErrorCode.NONE);
      const leaderId = first.memberId;
      // A second member makes the group rebalance; the first has not rejoined, so the second waits.
      const waiting = join('');
      await waitUntil(() => groups.groups.get(groupId)?.state === 'PreparingRebalance');
      host.lead(OFFSETS, groups.partitionFor(groupId), false, 1);
      assert.equal((await waiting).errorCode, ErrorCode.NOT_COORDINATOR);
      assert.equal(groups.heartbeat(groupId, leaderId, null, first.generationId), ErrorCode.NOT_COORDINATOR);
    } finally {
      await stop();
    }
  });

  test('a stable group comes back with its members and generation: they carry on without a rebalance; a silent one expires', async () => {
    const { host, groups, stop } = await setup();
    try {
      const groupId = 'stable-group';
      await groups.ready(groupId);
      const join = (memberId: string, sessionTimeoutMs: number) =>
        groups.join(groupId, {
          memberId,
          groupInstanceId: null,
          clientId: 'c',
          clientHost: '/127.0.0.1',
          sessionTimeoutMs,
          rebalanceTimeoutMs: 60_000,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.from('subscription') }],
          requireKnownMemberId: false,
          supportsSkipAssignment: false,
        });
      const joined = await join('', 10_000);
      assert.equal(joined.errorCode, ErrorCode.NONE);
      const sync = await groups.sync(groupId, {
        memberId: joined.memberId,
        groupInstanceId: null,
        generationId: joined.generationId,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [{ memberId: joined.memberId, assignment: Buffer.from('assignment') }],
      });
      assert.equal(sync.errorCode, ErrorCode.NONE);
      const index = groups.partitionFor(groupId);

      host.lead(OFFSETS, index, false, 1);
      host.lead(OFFSETS, index, true, 2);
      await groups.ready(groupId);
      const g = groups.groups.get(groupId)!;
      assert.equal(g.state, 'Stable');
      assert.equal(g.generationId, joined.generationId, 'no new generation');
      assert.equal(groups.heartbeat(groupId, joined.memberId, null, joined.generationId), ErrorCode.NONE);
      assert.equal(groups.heartbeat(groupId, joined.memberId, null, joined.generationId - 1), ErrorCode.ILLEGAL_GENERATION);
      assert.equal(groups.heartbeat(groupId, 'stranger', null, joined.generationId), ErrorCode.UNKNOWN_MEMBER_ID);
      const commitAs = (generationId: number) =>
        groups.commitOffsets({
          groupId,
          generationId,
          memberId: joined.memberId,
          groupInstanceId: null,
          topics: [{ name: 'data', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }],
        });
      assert.equal((await commitAs(joined.generationId))[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      assert.equal(committed(groups, groupId), 5);
      // The stored assignment is what a SyncGroup of the same generation gets back.
      const again = await groups.sync(groupId, {
        memberId: joined.memberId,
        groupInstanceId: null,
        generationId: joined.generationId,
        protocolType: 'consumer',
        protocolName: 'range',
        assignments: [],
      });
      assert.deepEqual([again.errorCode, again.assignment.toString()], [ErrorCode.NONE, 'assignment']);

      // Moved again; this time the member never comes back: its restored session runs out.
      host.lead(OFFSETS, index, false, 3);
      host.lead(OFFSETS, index, true, 4);
      await groups.ready(groupId);
      const restored = groups.groups.get(groupId)!;
      assert.equal(restored.members.size, 1);
      restored.members.get(joined.memberId)!.sessionTimeoutMs = 50;
      assert.equal(groups.heartbeat(groupId, joined.memberId, null, joined.generationId), ErrorCode.NONE, 'restarts the session at 50 ms');
      await waitUntil(() => restored.state === 'Empty', { timeout: 5000 });
      assert.equal(restored.members.size, 0);
    } finally {
      await stop();
    }
  });

  test('a decided transaction is completed by the next coordinator under its epoch; markers of the old epoch are fenced', async () => {
    const { host, txns, stop } = await setup();
    try {
      const init = await txns.initProducerId('tx-decided', 60_000);
      assert.equal(init.errorCode, ErrorCode.NONE);
      const { producerId } = init;
      const added = await txns.addPartitions('tx-decided', producerId, 0, [{ name: 'data', partitions: [0] }]);
      assert.equal(added[0]!.results[0]!.errorCode, ErrorCode.NONE);
      const data = host.partition('data', 0)!;
      await data.append(buildRecordBatch([{ key: 'k', value: 'v' }], { transactional: true, producerId, producerEpoch: 0 })).done;

      // The data partition refuses markers for now: the transaction stays decided, not complete.
      const write = data.writeTxnMarker.bind(data);
      let refuse = true;
      let attempts = 0;
      data.writeTxnMarker = (marker) => {
        attempts++;
        if (refuse) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, 'not yet');
        return write(marker);
      };
      const end = txns.endTransaction('tx-decided', producerId, 0, true);
      await waitUntil(() => attempts > 0 && txns.describe('tx-decided').state === 'PrepareCommit');

      const index = txns.partitionFor('tx-decided');
      host.lead(TXN, index, false, 1);
      assert.equal(txns.describe('tx-decided').errorCode, ErrorCode.NOT_COORDINATOR);
      assert.equal(txns.transactions.has('tx-decided'), false);
      // The decision is durable: EndTxn succeeds, and the completion stops here.
      assert.equal(await end, ErrorCode.NONE);
      const before = attempts;

      refuse = false;
      host.lead(TXN, index, true, 3);
      await txns.ready('tx-decided');
      await waitUntil(() => txns.describe('tx-decided').state === 'CompleteCommit', { message: 'the new coordinator completes the commit' });
      assert.ok(attempts > before);
      assert.equal(data.lastStableOffset, data.logEndOffset, 'the commit marker ended the transaction');
      const producer = [...data.producers()].find((e) => e.producerId === producerId);
      assert.equal(producer?.coordinatorEpoch, 3, 'the marker carries the new coordinator epoch');
      // A marker from the coordinator of an older epoch (a zombie) is fenced by the log.
      assert.throws(
        () => write({ producerId, producerEpoch: 0, coordinatorEpoch: 0, commit: false }),
        (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.TRANSACTION_COORDINATOR_FENCED,
      );
    } finally {
      await stop();
    }
  });

  test('an ongoing transaction reloaded by a new coordinator is aborted at its timeout, under the new epoch', async () => {
    const { host, txns, stop } = await setup();
    try {
      const { producerId, errorCode } = await txns.initProducerId('tx-open', 5_000);
      assert.equal(errorCode, ErrorCode.NONE);
      await txns.addPartitions('tx-open', producerId, 0, [{ name: 'data', partitions: [0] }]);
      const data = host.partition('data', 0)!;
      await data.append(buildRecordBatch([{ key: 'k', value: 'v' }], { transactional: true, producerId, producerEpoch: 0 })).done;
      const index = txns.partitionFor('tx-open');
      host.lead(TXN, index, false, 1);
      host.lead(TXN, index, true, 2);
      await txns.ready('tx-open');
      const reloaded = txns.describe('tx-open');
      assert.equal(reloaded.state, 'Ongoing');
      // Not yet timed out: left alone.
      txns.abortTimedOut(reloaded.startTimestamp + 1_000);
      await txns.idle();
      assert.equal(txns.describe('tx-open').state, 'Ongoing');
      txns.abortTimedOut(reloaded.startTimestamp + 6_000);
      await txns.idle();
      const aborted = txns.describe('tx-open');
      assert.equal(aborted.state, 'CompleteAbort');
      assert.equal(aborted.producerEpoch, 1, 'the abort fenced the producer');
      assert.equal(data.lastStableOffset, data.logEndOffset);
      assert.equal([...data.producers()].find((e) => e.producerId === producerId)?.coordinatorEpoch, 2);
    } finally {
      await stop();
    }
  });

  test('requests for ids of a partition led elsewhere answer NOT_COORDINATOR; a write racing the move or from a fenced broker is not applied', async () => {
    const { host, txns, groups, stop } = await setup();
    try {
      const [id] = idsOnDifferentPartitions('tx', 2);
      await txns.ready(id);
      const index = txns.partitionFor(id);
      host.lead(TXN, index, false, 1);
      assert.deepEqual(await txns.initProducerId(id, 60_000), { errorCode: ErrorCode.NOT_COORDINATOR, producerId: -1, producerEpoch: -1 });
      assert.equal(await txns.endTransaction(id, 1, 0, true), ErrorCode.NOT_COORDINATOR);
      assert.equal(txns.verifyPartition(id, 1, 0, 'data', 0), ErrorCode.NOT_COORDINATOR);
      assert.deepEqual(
        txns.list([], []).map((t) => t.transactionalId),
        [],
      );

      // A commit whose write completes after the partition moved away is not applied here.
      const groupId = 'racing-group';
      await groups.ready(groupId);
      const p = host.partition(OFFSETS, groups.partitionFor(groupId))!;
      const append = p.append.bind(p);
      p.append = (batch, options) => {
        const result = append(batch, options);
        host.lead(OFFSETS, p.index, false, 1);
        return result;
      };
      assert.equal((await commit(groups, groupId, 5))[0]!.partitions[0]!.errorCode, ErrorCode.NOT_COORDINATOR);
      assert.equal(groups.offsets.has(groupId), false);

      // A broker that may no longer act as leader (its lease in doubt) writes nothing as coordinator.
      const other = 'fenced-group';
      await groups.ready(other);
      host.fenced = true;
      assert.equal((await commit(groups, other, 6))[0]!.partitions[0]!.errorCode, ErrorCode.NOT_COORDINATOR);
      assert.equal(groups.offsets.has(other), false);
      host.fenced = false;
      assert.equal((await commit(groups, other, 6))[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    } finally {
      await stop();
    }
  });
});
