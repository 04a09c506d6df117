// The controller's decisions about one partition beyond broker failures (see controller.ts's
// nextPartitionState for those): leader elections asked for by ElectLeaders or the periodic
// leader rebalance, and partition reassignments (KIP-455: replicas = union of old and target
// while the new replicas catch up, then the target). Pure functions of the partition state and
// the brokers (live, and eligible to lead: see Brokers), so that the rules can be tested without
// etcd; the controller writes their results with its fenced, revision-guarded transactions.
import { ErrorCode } from '../protocol/errors.js';
import { NO_LEADER, reassigning, type BrokerRegistration, type PartitionState, type TopicRecord } from './metadata-port.js';

/**
 * The brokers a decision about a partition looks at. `live`: registered (Kafka: not fenced); a
 * live replica keeps its ISR place and a live leader its leadership. `eligible`: live and not in
 * controlled shutdown (Kafka's ClusterControlManager.isActive): the only brokers any election
 * (failover, preferred, unclean, reassignment) may make leader, and the only ones a leader may add
 * to an ISR. A stopping broker given a leadership would only hand it on again, or take it away
 * with it; added to an ISR, acks=all writes would wait for it until its registration is gone.
 */
export interface Brokers {
  readonly live: ReadonlySet<number>;
  readonly eligible: ReadonlySet<number>;
}

/** The one way to tell live and eligible brokers from their registrations (the controller's and the leaders'). */
export function brokersOf(registered: readonly Pick<BrokerRegistration, 'nodeId' | 'inControlledShutdown'>[]): Brokers {
  return {
    live: new Set(registered.map((b) => b.nodeId)),
    eligible: new Set(registered.flatMap((b) => (b.inControlledShutdown ? [] : [b.nodeId]))),
  };
}

/** `b` with `ids` taken out of both sets (replicas in a failed log directory are dead for their partition). */
export function without(b: Brokers, ids: readonly number[]): Brokers {
  return { live: new Set([...b.live].filter((id) => !ids.includes(id))), eligible: new Set([...b.eligible].filter((id) => !ids.includes(id))) };
}

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
 * ElectLeaders for one partition (KRaft's electLeader). A leader is only ever an eligible broker
 * (see Brokers); a clean one is also in the ISR.
 * - PREFERRED moves leadership to the first replica when it is eligible and in the ISR;
 *   ELECTION_NOT_NEEDED when it leads already. Otherwise a leader that may lead keeps the
 *   partition (PREFERRED_LEADER_NOT_AVAILABLE), as does KRaft's preferred election; only a
 *   partition whose leader may not lead (gone, or in controlled shutdown) moves to the next clean
 *   candidate in replica order, PREFERRED_LEADER_NOT_AVAILABLE when there is none.
 * - UNCLEAN elects a leader only for a partition without a live one: an eligible ISR member if
 *   there is one, else the first eligible replica (acknowledged records it lacks are lost);
 *   ELECTION_NOT_NEEDED when a live leader exists, ELIGIBLE_LEADERS_NOT_AVAILABLE when no
 *   replica is eligible.
 */
export function electLeader(s: PartitionState, electionType: number, brokers: Brokers): PartitionDecision {
  const { live, eligible } = brokers;
  const clean = (r: number): boolean => eligible.has(r) && s.isr.includes(r);
  const elect = (leader: number, isr = s.isr): PartitionDecision => ({ state: { ...s, leader, leaderEpoch: s.leaderEpoch + 1, isr, partitionEpoch: s.partitionEpoch + 1 } });
  if (electionType === ElectionType.PREFERRED) {
    const preferred = s.replicas[0];
    if (preferred === undefined) return error(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, 'The partition has no replicas.');
    if (s.leader === preferred) return error(ErrorCode.ELECTION_NOT_NEEDED, 'Leader election not needed for topic partition.');
    if (clean(preferred)) return elect(preferred);
    const next = s.leader !== NO_LEADER && clean(s.leader) ? undefined : s.replicas.slice(1).find(clean);
    if (next === undefined) {
      return error(
        ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
        `Failed to elect leader: the preferred leader ${preferred} is not live, is shutting down or is not in the ISR [${s.isr.join(',')}].`,
      );
    }
    return elect(next);
  }
  if (electionType === ElectionType.UNCLEAN) {
    if (s.leader !== NO_LEADER && live.has(s.leader)) return error(ErrorCode.ELECTION_NOT_NEEDED, 'Leader election not needed for topic partition.');
    const inSync = s.replicas.find(clean);
    const liveIsr = s.isr.filter((r) => live.has(r));
    if (inSync !== undefined) return elect(inSync, liveIsr);
    const any = s.replicas.find((r) => eligible.has(r));
    if (any === undefined) return error(ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, `No replica of [${s.replicas.join(',')}] is live and not shutting down.`);
    return elect(any, [any]);
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
 * partition it leads moves to the first replica in the ISR that may lead, one in `eligible`
 * (Brokers.eligible: registered and not shutting down itself). Null: nothing to change.
 * 'stays': it leads and no other replica may (brokers stopping together, an ISR of one); it then
 * keeps the partition and its ISR place, and stops as the last replica standing. (KRaft's
 * controller keeps the ISR place too but sets no leader at once; serving until the broker is gone
 * loses nothing, since the failover then takes the partition offline just the same.)
 */
export function controlledShutdownChange(s: PartitionState, nodeId: number, eligible: ReadonlySet<number>): PartitionState | 'stays' | null {
  if (s.leader !== nodeId && !s.isr.includes(nodeId)) return null;
  const isr = s.isr.filter((r) => r !== nodeId);
  const leader = s.leader === nodeId ? s.replicas.find((r) => r !== nodeId && isr.includes(r) && eligible.has(r)) : s.leader;
  if (leader === undefined || isr.length === 0) return s.leader === nodeId ? 'stays' : null;
  const moved = leader !== s.leader;
  return { ...s, leader, isr, leaderEpoch: s.leaderEpoch + (moved ? 1 : 0), partitionEpoch: s.partitionEpoch + 1 };
}

/**
 * The replicas a cancellation reverts to: the replicas minus the adding ones (KRaft's
 * originalReplicas). After a reassignment replaced another, that is the merged list the new one
 * started from, not the replicas before the first one (see startReassignment).
 */
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
 * The replication factor a new reassignment target is compared with when changing it is not
 * allowed (KIP-860): during a reassignment, its target's (KRaft's
 * validatePartitionReplicationFactorUnchanged counts the replicas plus adding minus removing), so
 * a replacement may keep the factor an allowed change already set.
 */
export function replicationFactor(s: PartitionState): number {
  return targetReplicas(s).length;
}

/**
 * The leader a reassignment step leaves `s` with (KRaft runs its ONLINE election on every
 * partition change, isAcceptableLeader being ClusterControlManager.isActive): the current leader
 * if it is an in-sync replica that may lead (Brokers.eligible), else the first eligible in-sync
 * replica in replica order. A leader in controlled shutdown therefore hands over to such a replica
 * when there is one. When there is none, KRaft would leave the partition without a leader; we keep
 * a live in-sync leader instead, as controlledShutdownChange does ('stays'): it leads until it
 * stops, and the controller's failover takes it from there. Otherwise NO_LEADER.
 */
function reassignmentLeader(s: PartitionState, brokers: Brokers): number {
  const inSync = (r: number): boolean => s.replicas.includes(r) && s.isr.includes(r);
  if (inSync(s.leader) && brokers.eligible.has(s.leader)) return s.leader;
  const other = s.replicas.find((r) => inSync(r) && brokers.eligible.has(r));
  if (other !== undefined) return other;
  return inSync(s.leader) && brokers.live.has(s.leader) ? s.leader : NO_LEADER;
}

/**
 * `next` (replicas, ISR and reassignment fields of one change from `before`) with its leader
 * chosen by reassignmentLeader and its epochs as one KRaft PartitionChangeRecord sets them (newest
 * metadata version): the partition epoch always moves; the leader epoch only when the leader
 * changes or a replica of `before` is no longer a replica (KRaft's
 * triggerLeaderEpochBumpForReplicaReassignmentIfNeeded: the removed replicas' fetches are fenced
 * by the new epoch). Since 3.6 an ISR shrink alone bumps nothing, and replicas that only join keep
 * the epoch: the leader and its followers go on in it (the broker applies any partition epoch
 * change: a new replica opens its log and fetches, the leader tracks it).
 */
function reelect(before: PartitionState, next: PartitionState, brokers: Brokers): PartitionState {
  const leader = reassignmentLeader(next, brokers);
  const bump = leader !== before.leader || before.replicas.some((r) => !next.replicas.includes(r));
  return { ...next, leader, leaderEpoch: before.leaderEpoch + (bump ? 1 : 0), partitionEpoch: before.partitionEpoch + 1 };
}

/** Ascending, as KRaft lists adding and removing replicas (PartitionReassignmentReplicas' sorted sets). */
function ascending(ids: number[]): number[] {
  return [...ids].sort((a, b) => a - b);
}

/**
 * AlterPartitionReassignments with a target (KIP-455, as KRaft's changePartitionReassignment):
 * from the current replicas, adding = target minus current, removing = current minus target (both
 * ascending), replicas = the target followed by the removing ones. A reassignment in progress is
 * replaced the same way: its current replicas are the merged list, so the replicas it was adding
 * that the new target drops become removing replicas (they leave once the new target is in sync),
 * and a later cancellation goes back to that merged list minus the new adding replicas. The
 * replicas therefore only grow here and the ISR stays. A target equal to the replicas is a no-op;
 * one that adds nobody completes at once when the target replicas are all in sync (see
 * completeReassignment), in the same change: one partition epoch.
 */
export function startReassignment(s: PartitionState, target: number[], brokers: Brokers): PartitionDecision {
  const adding = ascending(target.filter((r) => !s.replicas.includes(r)));
  const removing = ascending(s.replicas.filter((r) => !target.includes(r)));
  const replicas = [...target, ...removing];
  const same = adding.length === 0 && removing.length === 0 && replicas.every((r, i) => s.replicas[i] === r);
  if (!reassigning(s) && same) return { state: null };
  const next: PartitionState = { ...withoutReassignment(s), replicas };
  if (adding.length > 0) next.addingReplicas = adding;
  if (removing.length > 0) next.removingReplicas = removing;
  return { state: completeReassignment(next, brokers, s) ?? reelect(s, next, brokers) };
}

/**
 * The controller's check after every change (KRaft's completeReassignmentIfNeeded): once every
 * target replica is in the ISR (the adding ones caught up, and none of the kept ones fallen out of
 * sync meanwhile: removing in-sync replicas then would leave fewer copies than the target asks
 * for, so KRaft waits too), replicas become the target, the removed ones leave the ISR, and a
 * removed leader, or one in controlled shutdown, hands over to the first eligible in-sync target
 * replica (see reassignmentLeader). Epochs move from `before` (the state last written, when `s`
 * is a change not written yet), as reelect says: the leader epoch only when the leader changes or
 * replicas are removed. Null while it cannot complete (an adding replica still catching up, or
 * nobody left to lead).
 */
export function completeReassignment(s: PartitionState, brokers: Brokers, before: PartitionState = s): PartitionState | null {
  if (!reassigning(s)) return null;
  const removing = s.removingReplicas ?? [];
  const target = targetReplicas(s);
  const isr = s.isr.filter((r) => !removing.includes(r));
  if (isr.length === 0 || !target.every((r) => isr.includes(r))) return null;
  const next = reelect(before, { ...withoutReassignment(s), replicas: target, isr }, brokers);
  return next.leader === NO_LEADER && s.leader !== NO_LEADER ? null : next;
}

/**
 * AlterPartitionReassignments with a null target: reverts to originalReplicas (the replicas minus
 * the adding ones); the adding replicas leave the ISR (and the leadership, for the first eligible
 * original in-sync replica); epochs as reelect says (a cancellation that adds nobody keeps the
 * leader epoch). NO_REASSIGNMENT_IN_PROGRESS when there is nothing to cancel. When every in-sync
 * replica is one being added, going back elects an original replica that is not in sync: as KRaft,
 * only with `unclean` (the topic's unclean.leader.election.enable; ISR = [the new leader], a new
 * leader epoch since the adding replicas are removed), else INVALID_REPLICA_ASSIGNMENT and the
 * reassignment goes on.
 */
export function cancelReassignment(s: PartitionState, brokers: Brokers, unclean = false): PartitionDecision {
  if (!reassigning(s)) return error(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'No reassignment is in progress for this partition.');
  const replicas = originalReplicas(s);
  const isr = s.isr.filter((r) => replicas.includes(r));
  if (isr.length > 0) return { state: reelect(s, { ...withoutReassignment(s), replicas, isr }, brokers) };
  if (!unclean) {
    return error(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `Unable to revert the reassignment: no original replica of [${replicas.join(',')}] is in sync, so it would need an unclean leader election.`,
    );
  }
  const leader = replicas.find((r) => brokers.eligible.has(r)) ?? NO_LEADER;
  const lone = leader === NO_LEADER ? replicas[0]! : leader;
  return { state: { ...withoutReassignment(s), replicas, isr: [lone], leader, leaderEpoch: s.leaderEpoch + 1, partitionEpoch: s.partitionEpoch + 1 } };
}

/**
 * The partitions the periodic leader rebalance moves back to their preferred leader
 * (auto.leader.rebalance.enable): for each broker, the share of the partitions it should lead
 * (it is their first replica) that another broker leads; above `percentage`, those of them whose
 * preferred leader is eligible and in sync are elected back (a broker in controlled shutdown is
 * not: it would only hand them on again). Partitions being reassigned are left alone.
 */
export function imbalancedPartitions(topics: TopicRecord[], brokers: Brokers, percentage: number): { topic: TopicRecord; index: number }[] {
  const preferredOf = new Map<number, { total: number; elsewhere: { topic: TopicRecord; index: number; eligible: boolean }[] }>();
  for (const t of topics) {
    (t.assignments ?? []).forEach((s, index) => {
      const preferred = s.replicas[0];
      if (preferred === undefined || reassigning(s)) return;
      const entry = preferredOf.get(preferred) ?? { total: 0, elsewhere: [] };
      entry.total++;
      if (s.leader !== preferred) entry.elsewhere.push({ topic: t, index, eligible: brokers.eligible.has(preferred) && s.isr.includes(preferred) });
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
