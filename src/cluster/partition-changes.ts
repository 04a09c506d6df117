// The controller's decisions about one partition beyond broker failures (see controller.ts's
// nextPartitionState for those): leader elections asked for by ElectLeaders or the periodic
// leader rebalance, and partition reassignments (KIP-455: replicas = union of old and target
// while the new replicas catch up, then the target). Pure functions of the partition state and
// the live brokers, so that the rules can be tested without etcd; the controller writes their
// results with its fenced, revision-guarded transactions.
import { ErrorCode } from '../protocol/errors.js';
import { NO_LEADER, reassigning, type PartitionState, type TopicRecord } from './metadata-port.js';

/** ElectLeaders' election types. */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

/** A decision: the new state (null: nothing to write) or Kafka's error for this partition. */
export type PartitionDecision = { state: PartitionState | null } | { error: number; message: string };

function error(code: number, message: string): PartitionDecision {
  return { error: code, message };
}

/** The state without reassignment fields (absent means none, as in records older than them). */
function withoutReassignment(s: PartitionState): PartitionState {
  const { addingReplicas: _a, removingReplicas: _r, ...rest } = s;
  return rest;
}

/**
 * ElectLeaders for one partition (KRaft's electLeader):
 * - PREFERRED moves leadership to the first replica when it is live and in the ISR;
 *   ELECTION_NOT_NEEDED when it leads already, PREFERRED_LEADER_NOT_AVAILABLE otherwise.
 * - UNCLEAN elects a leader only for a partition without a live one: a live ISR member if there
 *   is one, else the first live replica (acknowledged records it lacks are lost);
 *   ELECTION_NOT_NEEDED when a live leader exists, ELIGIBLE_LEADERS_NOT_AVAILABLE when no
 *   replica is live.
 */
export function electLeader(s: PartitionState, electionType: number, live: ReadonlySet<number>): PartitionDecision {
  if (electionType === ElectionType.PREFERRED) {
    const preferred = s.replicas[0];
    if (preferred === undefined) return error(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, 'The partition has no replicas.');
    if (s.leader === preferred) return error(ErrorCode.ELECTION_NOT_NEEDED, 'Leader election not needed for topic partition.');
    if (!live.has(preferred) || !s.isr.includes(preferred)) {
      return error(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, `Failed to elect leader: the preferred leader ${preferred} is not live or not in the ISR [${s.isr.join(',')}].`);
    }
    return { state: { ...s, leader: preferred, leaderEpoch: s.leaderEpoch + 1, partitionEpoch: s.partitionEpoch + 1 } };
  }
  if (electionType === ElectionType.UNCLEAN) {
    if (s.leader !== NO_LEADER && live.has(s.leader)) return error(ErrorCode.ELECTION_NOT_NEEDED, 'Leader election not needed for topic partition.');
    const clean = s.replicas.find((r) => live.has(r) && s.isr.includes(r));
    if (clean !== undefined) {
      const isr = s.isr.filter((r) => live.has(r));
      return { state: { ...s, leader: clean, leaderEpoch: s.leaderEpoch + 1, isr, partitionEpoch: s.partitionEpoch + 1 } };
    }
    const any = s.replicas.find((r) => live.has(r));
    if (any === undefined) return error(ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, `No replica of [${s.replicas.join(',')}] is live.`);
    return { state: { ...s, leader: any, leaderEpoch: s.leaderEpoch + 1, isr: [any], partitionEpoch: s.partitionEpoch + 1 } };
  }
  return error(ErrorCode.INVALID_REQUEST, `Unknown election type ${electionType}.`);
}

/** Whether a state elects an out-of-sync replica compared with the one before (data may be lost). */
export function isUncleanElection(before: PartitionState, after: PartitionState): boolean {
  return after.leader !== NO_LEADER && after.leader !== before.leader && !before.isr.includes(after.leader);
}

/**
 * What broker `nodeId`'s controlled shutdown changes in one partition (KRaft's
 * handleBrokerInControlledShutdown, written here by the broker itself): it leaves the ISR, and a
 * partition it leads moves to the first replica in the ISR that may lead, one in `eligible`:
 * registered and not shutting down itself (Kafka's isAcceptableLeader). Null: nothing to change.
 * 'stays': it leads and no other replica may (brokers stopping together, an ISR of one); it then
 * keeps the partition and its ISR place, and stops as the last replica standing, as in Kafka.
 */
export function controlledShutdownChange(s: PartitionState, nodeId: number, eligible: ReadonlySet<number>): PartitionState | 'stays' | null {
  if (s.leader !== nodeId && !s.isr.includes(nodeId)) return null;
  const isr = s.isr.filter((r) => r !== nodeId);
  const leader = s.leader === nodeId ? s.replicas.find((r) => r !== nodeId && isr.includes(r) && eligible.has(r)) : s.leader;
  if (leader === undefined || isr.length === 0) return s.leader === nodeId ? 'stays' : null;
  const moved = leader !== s.leader;
  return { ...s, leader, isr, leaderEpoch: s.leaderEpoch + (moved ? 1 : 0), partitionEpoch: s.partitionEpoch + 1 };
}

/** The replicas a partition had before its reassignment started (what a cancellation reverts to). */
export function originalReplicas(s: PartitionState): number[] {
  const adding = s.addingReplicas ?? [];
  return s.replicas.filter((r) => !adding.includes(r));
}

/** The replicas a reassignment in progress moves to. */
export function targetReplicas(s: PartitionState): number[] {
  const removing = s.removingReplicas ?? [];
  return s.replicas.filter((r) => !removing.includes(r));
}

/**
 * Keeps the leader if it is still a live replica in the ISR, else the first live ISR member in
 * replica order, else NO_LEADER; the leader epoch is bumped in every case (a reassignment step
 * changes the replica set: followers and the leader start a new epoch, removed replicas' fetches
 * are fenced).
 */
function reelect(prev: PartitionState, next: PartitionState, live: ReadonlySet<number>): PartitionState {
  let leader = next.leader;
  if (leader === NO_LEADER || !next.replicas.includes(leader) || !next.isr.includes(leader)) {
    leader = next.replicas.find((r) => live.has(r) && next.isr.includes(r)) ?? NO_LEADER;
  }
  return { ...next, leader, leaderEpoch: prev.leaderEpoch + 1, partitionEpoch: prev.partitionEpoch + 1 };
}

/**
 * AlterPartitionReassignments with a target (KIP-455): replicas become the target followed by
 * the current replicas not in it, adding = target minus current, removing = current minus
 * target. A reassignment already in progress is replaced (its adding replicas not in the new
 * target are dropped). A target equal to the replicas is a no-op; one that adds nobody completes
 * at once when the remaining replicas are in sync (see completeReassignment).
 */
export function startReassignment(s: PartitionState, target: number[], live: ReadonlySet<number>): PartitionDecision {
  const current = originalReplicas(s);
  const adding = target.filter((r) => !current.includes(r));
  const removing = current.filter((r) => !target.includes(r));
  if (!reassigning(s) && adding.length === 0 && removing.length === 0 && target.every((r, i) => s.replicas[i] === r)) return { state: null };
  const replicas = [...target, ...current.filter((r) => !target.includes(r))];
  const base: PartitionState = { ...withoutReassignment(s), replicas, isr: s.isr.filter((r) => replicas.includes(r)) };
  if (adding.length > 0) base.addingReplicas = adding;
  if (removing.length > 0) base.removingReplicas = removing;
  const next = base.isr.length === 0 ? { ...base, isr: s.isr } : base;
  // Only an abandoned adding replica leaving can cost the leader its place; otherwise keep it and its epoch.
  const stayed = next.leader !== NO_LEADER && next.replicas.includes(next.leader);
  const state = stayed ? { ...next, partitionEpoch: s.partitionEpoch + 1 } : reelect(s, next, live);
  return { state: completeReassignment(state, live) ?? state };
}

/**
 * The controller's check after every change (KRaft's completeReassignmentIfNeeded): once every
 * adding replica is in the ISR, replicas become the target, the removed ones leave the ISR, and a
 * removed leader hands over to the first live in-sync target replica. Null while it cannot
 * complete (an adding replica still catching up, or nobody left to lead).
 */
export function completeReassignment(s: PartitionState, live: ReadonlySet<number>): PartitionState | null {
  if (!reassigning(s)) return null;
  const removing = s.removingReplicas ?? [];
  const adding = s.addingReplicas ?? [];
  const isr = s.isr.filter((r) => !removing.includes(r));
  if (isr.length === 0 || !adding.every((r) => isr.includes(r))) return null;
  const next = reelect(s, { ...withoutReassignment(s), replicas: targetReplicas(s), isr }, live);
  return next.leader === NO_LEADER && s.leader !== NO_LEADER ? null : next;
}

/**
 * AlterPartitionReassignments with a null target: reverts to the original replicas; the adding
 * replicas leave the ISR (and the leadership, for the first live original in-sync replica).
 * NO_REASSIGNMENT_IN_PROGRESS when there is nothing to cancel.
 */
export function cancelReassignment(s: PartitionState, live: ReadonlySet<number>): PartitionDecision {
  if (!reassigning(s)) return error(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'No reassignment is in progress for this partition.');
  const replicas = originalReplicas(s);
  const isr = s.isr.filter((r) => replicas.includes(r));
  const next: PartitionState = { ...withoutReassignment(s), replicas, isr: isr.length > 0 ? isr : [replicas[0]!] };
  return { state: reelect(s, next, live) };
}

/**
 * The partitions the periodic leader rebalance moves back to their preferred leader
 * (auto.leader.rebalance.enable): for each broker, the share of the partitions it should lead
 * (it is their first replica) that another broker leads; above `percentage`, those of them whose
 * preferred leader is live and in sync are elected back. Partitions being reassigned are left alone.
 */
export function imbalancedPartitions(topics: TopicRecord[], live: ReadonlySet<number>, percentage: number): { topic: TopicRecord; index: number }[] {
  const preferredOf = new Map<number, { total: number; elsewhere: { topic: TopicRecord; index: number; eligible: boolean }[] }>();
  for (const t of topics) {
    (t.assignments ?? []).forEach((s, index) => {
      const preferred = s.replicas[0];
      if (preferred === undefined || reassigning(s)) return;
      const entry = preferredOf.get(preferred) ?? { total: 0, elsewhere: [] };
      entry.total++;
      if (s.leader !== preferred) entry.elsewhere.push({ topic: t, index, eligible: live.has(preferred) && s.isr.includes(preferred) });
      preferredOf.set(preferred, entry);
    });
  }
  const out: { topic: TopicRecord; index: number }[] = [];
  for (const { total, elsewhere } of preferredOf.values()) {
    if (elsewhere.length === 0 || (elsewhere.length * 100) / total <= percentage) continue;
    for (const e of elsewhere) if (e.eligible) out.push({ topic: e.topic, index: e.index });
  }
  return out;
}
