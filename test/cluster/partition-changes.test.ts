// The controller's election and reassignment rules, without etcd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '../../src/protocol/errors.js';
import { nextPartitionState } from '../../src/cluster/controller.js';
import { NO_LEADER, type PartitionState, type TopicRecord } from '../../src/cluster/metadata-port.js';
import {
  brokersOf,
  cancelReassignment,
  completeReassignment,
  controlledShutdownChange,
  electLeader,
  ElectionType,
  imbalancedPartitions,
  replicationFactor,
  startReassignment,
  type Brokers,
  type PartitionDecision,
} from '../../src/cluster/partition-changes.js';

/** Registered brokers `ids`, none shutting down. */
const live = (...ids: number[]): Brokers => brokersOf(ids.map((nodeId) => ({ nodeId })));
/** Registered brokers `ids`, of which `shutting` are in controlled shutdown. */
const stopping = (ids: number[], shutting: number[]): Brokers => brokersOf(ids.map((nodeId) => ({ nodeId, inControlledShutdown: shutting.includes(nodeId) })));
const ids = (...ids: number[]) => new Set(ids);
const state = (d: PartitionDecision): PartitionState | null => {
  assert.ok('state' in d, `expected a state, got ${JSON.stringify(d)}`);
  return d.state;
};
const errorOf = (d: PartitionDecision): number => ('error' in d ? d.error : ErrorCode.NONE);

const s0: PartitionState = { replicas: [1, 2, 3], leader: 2, leaderEpoch: 4, isr: [1, 2, 3], partitionEpoch: 9 };

test('preferred election moves leadership to the first replica when it is live and in sync', () => {
  assert.deepEqual(state(electLeader(s0, ElectionType.PREFERRED, live(1, 2, 3))), { ...s0, leader: 1, leaderEpoch: 5, partitionEpoch: 10 });
  assert.equal(errorOf(electLeader({ ...s0, leader: 1 }, ElectionType.PREFERRED, live(1, 2, 3))), ErrorCode.ELECTION_NOT_NEEDED);
  assert.equal(errorOf(electLeader(s0, ElectionType.PREFERRED, live(2, 3))), ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
  assert.equal(errorOf(electLeader({ ...s0, isr: [2, 3] }, ElectionType.PREFERRED, live(1, 2, 3))), ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
});

test('unclean election only for a partition without a live leader; in-sync replicas first', () => {
  assert.equal(errorOf(electLeader(s0, ElectionType.UNCLEAN, live(1, 2, 3))), ErrorCode.ELECTION_NOT_NEEDED);
  const offline: PartitionState = { ...s0, leader: -1, isr: [2] };
  assert.deepEqual(state(electLeader(offline, ElectionType.UNCLEAN, live(3))), { ...offline, leader: 3, isr: [3], leaderEpoch: 5, partitionEpoch: 10 });
  assert.equal(state(electLeader(offline, ElectionType.UNCLEAN, live(2, 3)))!.leader, 2);
  assert.equal(errorOf(electLeader(offline, ElectionType.UNCLEAN, live())), ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE);
  assert.equal(errorOf(electLeader(offline, 7, live(1))), ErrorCode.INVALID_REQUEST);
});

test('a reassignment adds the target replicas, completes once they are in sync, and moves a removed leader', () => {
  const s: PartitionState = { replicas: [1, 2], leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 3 };
  const started = state(startReassignment(s, [2, 3], live(1, 2, 3)))!;
  assert.deepEqual(started, { replicas: [2, 3, 1], leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 4, addingReplicas: [3], removingReplicas: [1] });
  assert.equal(completeReassignment(started, live(1, 2, 3)), null, 'broker 3 is not in sync yet');
  const caughtUp = { ...started, isr: [1, 2, 3], partitionEpoch: 5 };
  assert.deepEqual(completeReassignment(caughtUp, live(1, 2, 3)), { replicas: [2, 3], leader: 2, leaderEpoch: 1, isr: [2, 3], partitionEpoch: 6 });
  // Cancelled instead: back to brokers 1 and 2 (in the merged list's order, as KRaft), 3 out of the ISR.
  assert.deepEqual(state(cancelReassignment(caughtUp, live(1, 2, 3))), { replicas: [2, 1], leader: 1, leaderEpoch: 1, isr: [1, 2], partitionEpoch: 6 });
  assert.equal(errorOf(cancelReassignment(s, live(1, 2))), ErrorCode.NO_REASSIGNMENT_IN_PROGRESS);
  assert.equal(state(startReassignment(s, [1, 2], live(1, 2))), null, 'the same replicas: nothing to do');
  // Only removing (no new replica): completes at once, in the same change (one partition epoch, as KRaft's one record).
  assert.deepEqual(state(startReassignment(s, [2], live(1, 2))), { replicas: [2], leader: 2, leaderEpoch: 1, isr: [2], partitionEpoch: 4 });
});

test("a reassignment lists its removing and adding replicas in KRaft's order (ascending)", () => {
  const s: PartitionState = { replicas: [3, 2, 1], leader: 3, leaderEpoch: 0, isr: [3, 2, 1], partitionEpoch: 3 };
  assert.deepEqual(state(startReassignment(s, [6, 4, 5], live(1, 2, 3, 4, 5, 6))), {
    replicas: [6, 4, 5, 1, 2, 3],
    leader: 3,
    leaderEpoch: 0,
    isr: [3, 2, 1],
    partitionEpoch: 4,
    addingReplicas: [4, 5, 6],
    removingReplicas: [1, 2, 3],
  });
});

// KRaft computes a new reassignment from the current replicas, which during a reassignment are
// the merged list: what the abandoned one was adding is removed only once the new target is in
// sync, and a cancellation goes back to the merged list (ZooKeeper's controller went back to the
// replicas before the first reassignment and dropped the abandoned ones at once).
test('a reassignment replacing one in progress starts from the merged replicas, and cancels back to them (KRaft)', () => {
  const all = live(1, 2, 3, 4, 5);
  const s: PartitionState = { replicas: [3, 1, 2], leader: 3, leaderEpoch: 2, isr: [3, 1, 2], partitionEpoch: 6 };
  const first = state(startReassignment(s, [4, 1, 2], all))!;
  assert.deepEqual(first, { ...s, replicas: [4, 1, 2, 3], partitionEpoch: 7, addingReplicas: [4], removingReplicas: [3] });
  // 4 has not caught up; the move is redirected to 5: 4 becomes a removing replica, and stays one until 5 is in sync.
  const replaced = state(startReassignment(first, [5, 1, 2], all))!;
  assert.deepEqual(replaced, { ...s, replicas: [5, 1, 2, 3, 4], partitionEpoch: 8, addingReplicas: [5], removingReplicas: [3, 4] });
  assert.equal(completeReassignment({ ...replaced, isr: [3, 1, 2, 4] }, all), null, '4 in sync is not enough: 5 is the target');
  assert.deepEqual(completeReassignment({ ...replaced, isr: [3, 1, 2, 5], partitionEpoch: 9 }, all), {
    replicas: [5, 1, 2],
    leader: 5,
    leaderEpoch: 3,
    isr: [1, 2, 5],
    partitionEpoch: 10,
  });
  // Cancelled: back to the merged list minus the new adding replica, 4 included; 5 leaves (a replica removed: a new leader epoch).
  assert.deepEqual(state(cancelReassignment(replaced, all)), { replicas: [1, 2, 3, 4], leader: 3, leaderEpoch: 3, isr: [3, 1, 2], partitionEpoch: 9 });
  // Replaced by the original replicas, all in sync: the abandoned 4 is removed at once, under a new leader epoch.
  assert.deepEqual(state(startReassignment(first, [3, 1, 2], all)), { ...s, leaderEpoch: 3, partitionEpoch: 8 });
});

test("a reassignment in progress has its target's replication factor (KRaft's check when it may not change)", () => {
  const s: PartitionState = { replicas: [1, 2], leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 3 };
  assert.equal(replicationFactor(s), 2);
  // [1,2] to [3] (a change allowed by its request): a replacement that may not change the factor keeps 1.
  const moving = state(startReassignment(s, [3], live(1, 2, 3)))!;
  assert.deepEqual(moving.replicas, [3, 1, 2]);
  assert.equal(replicationFactor(moving), 1);
  assert.equal(replicationFactor({ ...s, replicas: [1, 2, 3], addingReplicas: [3] }), 3);
});

// KRaft (metadata version 3.6 and later) bumps the leader epoch only when the leader changes or a
// replica is removed (triggerLeaderEpochBumpForReplicaReassignmentIfNeeded); the partition epoch
// moves on every change.
test('a reassignment step bumps the leader epoch only for a new leader or a removed replica (KRaft)', () => {
  const all = live(1, 2, 3, 4);
  // Only adding: completion keeps the leader and its epoch.
  const growing: PartitionState = { replicas: [1, 2, 3], leader: 1, leaderEpoch: 4, isr: [1, 2, 3], partitionEpoch: 8, addingReplicas: [3] };
  assert.deepEqual(completeReassignment(growing, all), { replicas: [1, 2, 3], leader: 1, leaderEpoch: 4, isr: [1, 2, 3], partitionEpoch: 9 });
  // Only removing, cancelled while a kept replica is out of sync: the same replicas, the same leader epoch.
  const shrinking: PartitionState = { replicas: [2, 3, 1], leader: 1, leaderEpoch: 4, isr: [1, 3], partitionEpoch: 8, removingReplicas: [1] };
  assert.deepEqual(state(cancelReassignment(shrinking, all)), { replicas: [2, 3, 1], leader: 1, leaderEpoch: 4, isr: [1, 3], partitionEpoch: 9 });
  // Completed instead: leader 1 is removed, 2 leads under a new epoch.
  assert.deepEqual(completeReassignment({ ...shrinking, isr: [1, 3, 2] }, all), { replicas: [2, 3], leader: 2, leaderEpoch: 5, isr: [3, 2], partitionEpoch: 9 });
  // A replica removed while the leader stays: a new leader epoch all the same, which fences the removed replica's fetches.
  const dropping: PartitionState = { replicas: [1, 2, 4, 3], leader: 1, leaderEpoch: 4, isr: [1, 2, 4, 3], partitionEpoch: 8, addingReplicas: [4], removingReplicas: [3] };
  assert.deepEqual(completeReassignment(dropping, all), { replicas: [1, 2, 4], leader: 1, leaderEpoch: 5, isr: [1, 2, 4], partitionEpoch: 9 });
  assert.deepEqual(state(cancelReassignment(dropping, all)), { replicas: [1, 2, 3], leader: 1, leaderEpoch: 5, isr: [1, 2, 3], partitionEpoch: 9 });
  // The controller's pass: broker 3 (removing) is gone, the failover drops it from the ISR and the
  // completion follows in the same write: epochs move once from the state written last.
  const failover = nextPartitionState(dropping, live(1, 2, 4))!;
  assert.deepEqual(completeReassignment(failover, live(1, 2, 4), dropping), { replicas: [1, 2, 4], leader: 1, leaderEpoch: 5, isr: [1, 2, 4], partitionEpoch: 9 });
});

test('no preferred election makes a broker in controlled shutdown leader; a leader that may lead keeps the partition', () => {
  // Preferred replica 1 is shutting down, leader 2 may lead: nothing moves (KRaft answers PREFERRED_LEADER_NOT_AVAILABLE).
  assert.equal(errorOf(electLeader(s0, ElectionType.PREFERRED, stopping([1, 2, 3], [1]))), ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
  // The preferred replica leads already: not needed, even while it shuts down.
  assert.equal(errorOf(electLeader({ ...s0, leader: 1 }, ElectionType.PREFERRED, stopping([1, 2, 3], [1]))), ErrorCode.ELECTION_NOT_NEEDED);
  // Leader 2 may not lead either (shutting down, or gone): the next in-sync replica that may lead takes over.
  assert.deepEqual(state(electLeader(s0, ElectionType.PREFERRED, stopping([1, 2, 3], [1, 2]))), { ...s0, leader: 3, leaderEpoch: 5, partitionEpoch: 10 });
  assert.equal(state(electLeader(s0, ElectionType.PREFERRED, stopping([1, 3], [1])))!.leader, 3);
  assert.equal(errorOf(electLeader(s0, ElectionType.PREFERRED, stopping([1, 2, 3], [1, 2, 3]))), ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE);
  assert.equal(
    errorOf(electLeader({ ...s0, isr: [1, 2] }, ElectionType.PREFERRED, stopping([1, 2, 3], [1, 2]))),
    ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
    '3 is not in sync',
  );
});

test('no unclean election makes a broker in controlled shutdown leader; a live leader shutting down keeps the partition', () => {
  const offline: PartitionState = { ...s0, leader: NO_LEADER, isr: [2] };
  // In-sync 2 is shutting down: 3, out of sync, is elected (unclean) rather than it.
  assert.deepEqual(state(electLeader(offline, ElectionType.UNCLEAN, stopping([2, 3], [2]))), { ...offline, leader: 3, isr: [3], leaderEpoch: 5, partitionEpoch: 10 });
  // Replica 1 first in order but shutting down: 3.
  assert.equal(state(electLeader(offline, ElectionType.UNCLEAN, stopping([1, 3], [1])))!.leader, 3);
  assert.equal(errorOf(electLeader(offline, ElectionType.UNCLEAN, stopping([1, 2, 3], [1, 2, 3]))), ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE);
  assert.equal(errorOf(electLeader(s0, ElectionType.UNCLEAN, stopping([1, 2, 3], [2]))), ErrorCode.ELECTION_NOT_NEEDED);
});

test("the controller's failover elects no broker in controlled shutdown; a live leader shutting down keeps the partition", () => {
  const s: PartitionState = { replicas: [1, 2, 3], leader: 1, leaderEpoch: 2, isr: [1, 2, 3], partitionEpoch: 7 };
  // Leader 1 died; 2 is first in order but shutting down: 3 leads, 2 keeps its ISR place.
  assert.deepEqual(nextPartitionState(s, stopping([2, 3], [2])), { ...s, leader: 3, leaderEpoch: 3, isr: [2, 3], partitionEpoch: 8 });
  // The only other in-sync replica is shutting down: offline, the dead leader out of the ISR, until one may lead.
  const two: PartitionState = { ...s, isr: [1, 2] };
  const offline = nextPartitionState(two, stopping([2, 3], [2]))!;
  assert.deepEqual(offline, { ...two, leader: NO_LEADER, leaderEpoch: 3, isr: [2], partitionEpoch: 8 });
  assert.equal(nextPartitionState(offline, stopping([2, 3], [2])), null);
  assert.equal(nextPartitionState(offline, live(2, 3))!.leader, 2, 'back without the flag (restarted), it leads');
  // Unclean allowed: the first replica that may lead, not the in-sync one shutting down.
  assert.deepEqual(nextPartitionState(two, stopping([2, 3], [2]), true), { ...two, leader: 3, leaderEpoch: 3, isr: [3], partitionEpoch: 8 });
  // A live leader in controlled shutdown is not moved by the controller (it hands its partitions on itself).
  assert.equal(nextPartitionState(s, stopping([1, 2, 3], [1])), null);
});

test('a reassignment hands a removed leadership to no broker in controlled shutdown', () => {
  const s: PartitionState = { replicas: [2, 3, 1], leader: 1, leaderEpoch: 0, isr: [1, 2, 3], partitionEpoch: 5, addingReplicas: [3], removingReplicas: [1] };
  assert.deepEqual(completeReassignment(s, stopping([1, 2, 3], [2])), { replicas: [2, 3], leader: 3, leaderEpoch: 1, isr: [2, 3], partitionEpoch: 6 });
  // Nobody left who may lead: the reassignment waits rather than take the partition offline.
  assert.equal(completeReassignment(s, stopping([1, 2, 3], [2, 3])), null);
  const cancelled = state(cancelReassignment({ ...s, replicas: [3, 2, 1], addingReplicas: [3, 2], removingReplicas: [1], leader: 3 }, stopping([1, 2, 3], [1])))!;
  assert.equal(cancelled.leader, NO_LEADER, 'the original replica 1 is shutting down: no leader rather than it');
});

// A leader in controlled shutdown that stays a replica: KRaft's election on every partition change
// keeps a leader only while it is acceptable (isAcceptableLeader: not fenced, not shutting down).
test('starting a reassignment moves leadership off a leader in controlled shutdown that stays a replica', () => {
  const s: PartitionState = { replicas: [1, 2], leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 3 };
  // Start: leader 1 stays a replica but is shutting down: 2, in sync and eligible, leads under a new epoch.
  assert.deepEqual(state(startReassignment(s, [1, 2, 3], stopping([1, 2, 3], [1]))), {
    replicas: [1, 2, 3],
    leader: 2,
    leaderEpoch: 1,
    isr: [1, 2],
    partitionEpoch: 4,
    addingReplicas: [3],
  });
  // A leader that is gone (its registration not seen yet by a failover) does not stay either.
  assert.equal(state(startReassignment(s, [1, 2, 3], live(2, 3)))!.leader, 2);
  // Nobody else in sync may lead: the stopping leader keeps the partition (and its epoch) until it stops.
  assert.deepEqual(state(startReassignment({ ...s, isr: [1] }, [1, 2, 3], stopping([1, 2, 3], [1]))), {
    replicas: [1, 2, 3],
    leader: 1,
    leaderEpoch: 0,
    isr: [1],
    partitionEpoch: 4,
    addingReplicas: [3],
  });
  assert.equal(state(startReassignment({ ...s, isr: [1] }, [1, 2, 3], stopping([1, 2, 3], [1, 2])))!.leader, 1);
});

test('completing a reassignment moves leadership off a leader in controlled shutdown that stays in the target', () => {
  // Completion: leader 1 stays in the target but is shutting down: the first eligible in-sync target replica, 2.
  const caughtUp: PartitionState = { replicas: [1, 2, 3, 4], leader: 1, leaderEpoch: 0, isr: [1, 2, 3, 4], partitionEpoch: 5, addingReplicas: [3], removingReplicas: [4] };
  assert.deepEqual(completeReassignment(caughtUp, stopping([1, 2, 3, 4], [1])), { replicas: [1, 2, 3], leader: 2, leaderEpoch: 1, isr: [1, 2, 3], partitionEpoch: 6 });
  assert.equal(completeReassignment(caughtUp, stopping([1, 2, 3, 4], [1, 2]))!.leader, 3, '2 is shutting down too');
  assert.equal(completeReassignment(caughtUp, live(1, 2, 3, 4))!.leader, 1, 'a leader that may lead keeps the partition');
});

test('cancelling a reassignment moves leadership off a leader in controlled shutdown that is an original replica', () => {
  // Cancellation: leader 1 is an original replica but shutting down: 2.
  const moving: PartitionState = { replicas: [3, 1, 2], leader: 1, leaderEpoch: 2, isr: [1, 2, 3], partitionEpoch: 7, addingReplicas: [3] };
  assert.deepEqual(state(cancelReassignment(moving, stopping([1, 2, 3], [1]))), { replicas: [1, 2], leader: 2, leaderEpoch: 3, isr: [1, 2], partitionEpoch: 8 });
});

test('a reassignment completes only once every target replica is in sync, not only the adding ones (KRaft)', () => {
  // Moving [1,2] to [2,3]: 3 caught up, but 2 (kept) fell out of sync meanwhile: removing 1 now would leave one copy.
  const s: PartitionState = { replicas: [2, 3, 1], leader: 1, leaderEpoch: 0, isr: [1, 3], partitionEpoch: 5, addingReplicas: [3], removingReplicas: [1] };
  assert.equal(completeReassignment(s, live(1, 2, 3)), null);
  assert.equal(completeReassignment(s, live(1, 3)), null, 'nor while 2 is gone');
  assert.deepEqual(completeReassignment({ ...s, isr: [1, 3, 2] }, live(1, 2, 3)), { replicas: [2, 3], leader: 2, leaderEpoch: 1, isr: [3, 2], partitionEpoch: 6 });
  // Only removing, with a kept replica out of sync: the move waits for it too.
  const r: PartitionState = { replicas: [1, 2, 3], leader: 1, leaderEpoch: 0, isr: [1, 2], partitionEpoch: 3 };
  assert.deepEqual(state(startReassignment(r, [2, 3], live(1, 2, 3))), { ...r, replicas: [2, 3, 1], partitionEpoch: 4, removingReplicas: [1] });
});

test('a cancellation that would elect an out-of-sync original replica needs unclean election (KRaft)', () => {
  // Every in-sync replica is one being added: the originals 1 and 2 are out of sync.
  const s: PartitionState = { replicas: [3, 1, 2], leader: 3, leaderEpoch: 2, isr: [3], partitionEpoch: 7, addingReplicas: [3], removingReplicas: [1, 2] };
  assert.equal(errorOf(cancelReassignment(s, live(1, 2, 3))), ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  assert.deepEqual(state(cancelReassignment(s, live(1, 2, 3), true)), { replicas: [1, 2], leader: 1, leaderEpoch: 3, isr: [1], partitionEpoch: 8 });
  assert.deepEqual(state(cancelReassignment(s, stopping([1, 2, 3], [1]), true)), { replicas: [1, 2], leader: 2, leaderEpoch: 3, isr: [2], partitionEpoch: 8 });
  assert.deepEqual(state(cancelReassignment(s, live(3), true)), { replicas: [1, 2], leader: NO_LEADER, leaderEpoch: 3, isr: [1], partitionEpoch: 8 });
});

test('the rebalance picks partitions of brokers above the imbalance percentage', () => {
  const topic = (assignments: PartitionState[]): TopicRecord => ({ name: 't', id: 'x', partitions: assignments.length, configs: {}, assignments });
  const t = topic([
    { replicas: [1, 2], leader: 2, leaderEpoch: 1, isr: [1, 2], partitionEpoch: 1 },
    { replicas: [1, 2], leader: 1, leaderEpoch: 1, isr: [1, 2], partitionEpoch: 1 },
    { replicas: [2, 1], leader: 2, leaderEpoch: 1, isr: [1, 2], partitionEpoch: 1 },
  ]);
  assert.deepEqual(
    imbalancedPartitions([t], live(1, 2), 10).map((p) => p.index),
    [0],
  );
  assert.deepEqual(imbalancedPartitions([t], live(1, 2), 50), [], '50% is not above 50%');
  assert.deepEqual(imbalancedPartitions([t], live(2), 10), [], 'the preferred leader is down');
  assert.deepEqual(imbalancedPartitions([t], stopping([1, 2], [1]), 10), [], 'the preferred leader is shutting down');
});

test("a broker's controlled shutdown leaves the ISR and hands its leaderships to a broker that may lead", () => {
  // Leader 2 stops: leadership goes to the first in-sync replica that is eligible, 1.
  assert.deepEqual(controlledShutdownChange(s0, 2, ids(1, 3)), { ...s0, leader: 1, isr: [1, 3], leaderEpoch: 5, partitionEpoch: 10 });
  // A follower stops: it only leaves the ISR, under the same leader epoch.
  assert.deepEqual(controlledShutdownChange(s0, 3, ids(1, 2)), { ...s0, isr: [1, 2], partitionEpoch: 10 });
  // Not a replica in sync, not the leader: nothing to change.
  assert.equal(controlledShutdownChange({ ...s0, isr: [1, 2] }, 3, ids(1, 2)), null);
  // Replica 1 is shutting down too (not eligible): leadership goes to 3, not to 1.
  assert.equal((controlledShutdownChange(s0, 2, ids(3)) as PartitionState).leader, 3);
  // Every other in-sync replica is shutting down too, or there is none: the leader stays, in its ISR.
  assert.equal(controlledShutdownChange(s0, 2, ids()), 'stays');
  assert.equal(controlledShutdownChange({ ...s0, isr: [2] }, 2, ids(1, 3)), 'stays');
  // An out-of-sync eligible replica does not take over.
  assert.equal(controlledShutdownChange({ ...s0, isr: [2, 3] }, 2, ids(1)), 'stays');
});
