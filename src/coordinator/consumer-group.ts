// KIP-848 consumer groups (`group.protocol=consumer`): the coordinator computes the assignment
// with a server-side assignor and hands it to each member through ConsumerGroupHeartbeat,
// incrementally. Kafka's model:
//
// - the group epoch moves whenever membership or subscriptions (or the subscribed topics'
//   partition counts) change; the target assignment is recomputed for that epoch (the
//   assignment epoch);
// - each member converges to its target one heartbeat at a time: partitions it must give up are
//   first revoked (state UNREVOKED_PARTITIONS, its epoch unchanged) and only when the member's
//   heartbeat no longer owns them does it move to the new epoch; a partition is handed to a
//   member only once no other member owns it or is still revoking it (UNRELEASED_PARTITIONS
//   until then), so no partition is ever owned twice;
// - a member's epoch fences stale requests (FENCED_MEMBER_EPOCH) and its offset commits
//   (STALE_MEMBER_EPOCH); a member that misses its session timeout, or does not revoke within
//   its rebalance timeout, is removed;
// - each partition remembers the member epoch at which it was assigned to its member (Kafka
//   4.4's assignment epochs, KIP-1251): a commit at an older member epoch than the member's is
//   still accepted for a partition the member has held since that epoch, so a commit racing
//   an epoch bump (the heartbeat answer still in flight) is not refused;
// - static members (instance id) leaving with epoch -2 keep their assignment until their
//   session expires, and a new member id with the same instance id takes it over.
//
// Every change is written to the group's __consumer_offsets partition (consumer-group-records.ts)
// before the heartbeat is answered, and replayed at load.
import { ErrorCode } from '../protocol/errors.js';
import type { Clock } from '../common/clock.js';
import { ASSIGNORS, type Assignment } from './consumer-group-assignors.js';
import {
  CG_CURRENT_MEMBER,
  CG_MEMBER_METADATA,
  CG_METADATA,
  CG_PARTITION_METADATA,
  CG_TARGET_MEMBER,
  CG_TARGET_METADATA,
  decodeConsumerGroupKey,
  decodeCurrentAssignmentValue,
  decodeEpochValue,
  decodeMemberMetadataValue,
  decodePartitionMetadataValue,
  decodeTargetMemberValue,
  encodeConsumerGroupKey,
  encodeCurrentAssignmentValue,
  encodeEpochValue,
  encodeMemberMetadataValue,
  encodePartitionMetadataValue,
  encodeTargetMemberValue,
  type CurrentAssignmentValue,
  type MemberMetadataValue,
  type PartitionEpochs,
  type TopicMetadata,
} from './consumer-group-records.js';
import type { CoordinatorRecord } from './records.js';
import { assignmentSize, sameAssignment, sameTopics, toWire } from './partition-assignment.js';
import { heartbeatFailure, type HeartbeatResponse } from './heartbeat-response.js';
import { Writer } from '../protocol/primitives.js';
import { encodeConsumerProtocolAssignment } from '../protocol/generated/consumer-protocol-assignment.js';
import { decodeConsumerAssignmentMessage, decodeConsumerSubscription } from '../protocol/consumer-protocol.js';
import type { ConsumerProtocolAssignment } from '../protocol/generated/consumer-protocol-assignment.js';
import { joinError, type JoinRequest, type JoinResult, type MemberIdentity, type MemberProfile, type SyncRequest, type SyncResult } from './group.js';
import type { CoordinatorLogger } from './ports.js';
import { EpochGroup, EpochGroups, HeartbeatError, LEAVE_GROUP_MEMBER_EPOCH, LEAVE_GROUP_STATIC_MEMBER_EPOCH } from './epoch-groups.js';
import { TIMER_RETRY_BACKOFF_MS } from './write-errors.js';

/** Kafka's MemberState values, as stored in ConsumerGroupCurrentMemberAssignment. */
export const MemberState = { STABLE: 0, UNREVOKED_PARTITIONS: 1, UNRELEASED_PARTITIONS: 2, UNKNOWN: 127 } as const;

/**
 * A member is what its two records hold (its metadata, written as it joins or changes its
 * subscription, and its current assignment), which replay assigns onto it, plus its timers.
 */
export interface ConsumerMember extends MemberMetadataValue, CurrentAssignmentValue {
  memberId: string;
  /** Cancels the session timeout. */
  sessionTimer: (() => void) | null;
  rebalanceTimer: (() => void) | null;
}

export class ConsumerGroup extends EpochGroup<ConsumerMember, Assignment> {
  /** The subscribed topics the target was computed from (name → metadata). */
  topics = new Map<string, TopicMetadata>();
  /**
   * How many members subscribe to each topic name and to each regex (Kafka's per-topic
   * subscriber counts), kept as members come, go and change their subscription, so a heartbeat
   * need not look at every member. Replaced on each change, never changed in place: the undo of a
   * heartbeat (which saves the group's fields) puts back the counts as they were. null: to be
   * counted again from the members (after a load).
   */
  subscriptions: Subscriptions | null = null;

  get state(): 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead' {
    if (this.members.size === 0) return 'Empty';
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning';
    for (const m of this.members.values()) if (m.memberEpoch !== this.assignmentEpoch || m.state !== MemberState.STABLE) return 'Reconciling';
    return 'Stable';
  }

  /** Whether another member than `memberId` holds the partition (assigned or still revoking). */
  ownedByOther(memberId: string, topicId: string, partition: number): boolean {
    for (const m of this.members.values()) {
      if (m.memberId === memberId) continue;
      if (m.assigned.get(topicId)?.has(partition) || m.pendingRevocation.get(topicId)?.has(partition)) return true;
    }
    return false;
  }
}

/** Members per subscribed topic name and per subscribed regex. */
export interface Subscriptions {
  readonly names: ReadonlyMap<string, number>;
  readonly regexes: ReadonlyMap<string, number>;
}

/** The counts with `m`'s subscription added (`sign` 1) or taken away (-1), as a new object. */
function countSubscription(s: Subscriptions, m: Pick<ConsumerMember, 'subscribedTopicNames' | 'subscribedTopicRegex'>, sign: 1 | -1): Subscriptions {
  const bump = (map: Map<string, number>, key: string) => {
    const n = (map.get(key) ?? 0) + sign;
    if (n > 0) map.set(key, n);
    else map.delete(key);
  };
  const names = m.subscribedTopicNames.length > 0 ? new Map(s.names) : (s.names as Map<string, number>);
  for (const n of m.subscribedTopicNames) bump(names, n);
  let regexes = s.regexes as Map<string, number>;
  if (m.subscribedTopicRegex !== null) bump((regexes = new Map(regexes)), m.subscribedTopicRegex);
  return { names, regexes };
}

export interface HeartbeatRequest {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  topicPartitions: { topicId: string; partitions: number[] }[] | null;
}

export interface TopicLookup {
  byName(name: string): TopicMetadata | undefined;
  byId(id: string): TopicMetadata | undefined;
  names(): Iterable<string>;
}

/** What a consumer group's configs decide. */
export interface ConsumerGroupConfig {
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
}

export interface ConsumerGroupsOptions {
  clock: Clock;
  append(groupId: string, records: CoordinatorRecord[]): Promise<void>;
  topics: TopicLookup;
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  /**
   * A group's own configs (consumer.session.timeout.ms, consumer.heartbeat.interval.ms set on
   * its GROUP config resource), each where set; the broker's values above otherwise.
   */
  groupConfig?(groupId: string): Partial<ConsumerGroupConfig>;
  /** group.consumer.assignors: the first is the default. */
  assignors: string[];
  maxSize: number;
  newMemberId(): string;
  logger?: CoordinatorLogger;
}

const clone = (a: Assignment): Assignment => new Map([...a].map(([t, p]) => [t, new Set(p)]));
function fromWire(tps: { topicId: string; partitions: number[] }[]): Assignment {
  return new Map(tps.map((t) => [t.topicId, new Set(t.partitions)]));
}
const cloneEpochs = (e: PartitionEpochs): PartitionEpochs => new Map([...e].map(([t, p]) => [t, new Map(p)]));
/** Every partition of `a` assigned at `epoch`. */
function epochsOf(a: Assignment, epoch: number): PartitionEpochs {
  return new Map([...a].map(([t, parts]) => [t, new Map([...parts].map((p) => [p, epoch]))]));
}

/** Whether every partition of `a` is in `b`. */
function subset(a: Assignment, b: Assignment): boolean {
  for (const [t, parts] of a) for (const p of parts) if (!b.get(t)?.has(p)) return false;
  return true;
}

/** The consumer groups of a group coordinator. */
export class ConsumerGroups extends EpochGroups<Assignment, ConsumerMember, ConsumerGroup> {
  /**
   * Set by the group coordinator (online downgrade): turns a consumer group whose members all
   * speak the classic protocol into a classic group, returning that group's record; null when
   * it does not (migration policy, no common protocol).
   */
  downgrade: ((group: ConsumerGroup) => CoordinatorRecord[] | null) | null = null;
  /**
   * Set by the group coordinator: the downgrade of `group` is undone (its write failed), the
   * classic group it became forgotten; false when that classic group is no longer there.
   */
  undoDowngrade: ((group: ConsumerGroup) => boolean) | null = null;

  constructor(override readonly opts: ConsumerGroupsOptions) {
    super(opts, 'consumer');
  }

  protected override readonly unrevokedState = MemberState.UNREVOKED_PARTITIONS;

  protected override newGroup(groupId: string): ConsumerGroup {
    return new ConsumerGroup(groupId);
  }

  protected override emptyAssignment(): Assignment {
    return new Map();
  }

  protected override sameAssignment(a: Assignment, b: Assignment): boolean {
    return sameAssignment(a, b);
  }

  /** The group's configs: set on the group, else the broker's. */
  configOf(groupId: string): ConsumerGroupConfig {
    const own = this.opts.groupConfig?.(groupId);
    return { heartbeatIntervalMs: own?.heartbeatIntervalMs ?? this.opts.heartbeatIntervalMs, sessionTimeoutMs: own?.sessionTimeoutMs ?? this.opts.sessionTimeoutMs };
  }

  protected override sessionTimeoutOf(group: ConsumerGroup, m: ConsumerMember): number {
    return m.classic?.sessionTimeoutMs ?? this.configOf(group.groupId).sessionTimeoutMs;
  }

  /** As in Kafka, the partitions a static member keeps while away count as assigned at epoch 0. */
  protected override staticMemberLeft(m: ConsumerMember): void {
    // As Kafka does: what it had yet to revoke goes to its new owners now, not at session end;
    // what it keeps waits for its return at epoch 0.
    m.pendingRevocation = new Map();
    m.assignmentEpochs = epochsOf(m.assigned, 0);
  }

  /** The group's subscriber counts, counted from its members when unknown. */
  private subscriptionsOf(group: ConsumerGroup): Subscriptions {
    if (!group.subscriptions) {
      let s: Subscriptions = { names: new Map(), regexes: new Map() };
      for (const m of group.members.values()) s = countSubscription(s, m, 1);
      group.subscriptions = s;
    }
    return group.subscriptions;
  }

  /** Counts a member's subscription in (1) or out (-1) of its group's (if they are known). */
  private count(group: ConsumerGroup, m: ConsumerMember, sign: 1 | -1): void {
    if (group.subscriptions) group.subscriptions = countSubscription(group.subscriptions, m, sign);
  }

  /** Sets a member's subscription, keeping the group's counts. */
  private subscribe(group: ConsumerGroup, m: ConsumerMember, names: string[], regex: string | null): void {
    const same = regex === m.subscribedTopicRegex && names.length === m.subscribedTopicNames.length && names.every((n, i) => n === m.subscribedTopicNames[i]);
    if (same) return;
    if (group.members.get(m.memberId) === m) this.count(group, m, -1);
    m.subscribedTopicNames = names;
    m.subscribedTopicRegex = regex;
    if (group.members.get(m.memberId) === m) this.count(group, m, 1);
  }

  protected override addMember(group: ConsumerGroup, m: ConsumerMember): void {
    super.addMember(group, m);
    this.count(group, m, 1);
  }

  protected override removeMember(group: ConsumerGroup, m: ConsumerMember, records: CoordinatorRecord[], why: string): void {
    this.count(group, m, -1);
    super.removeMember(group, m, records, why);
  }

  protected override replaceMember(group: ConsumerGroup, old: ConsumerMember, member: ConsumerMember, records: CoordinatorRecord[]): void {
    this.count(group, old, -1);
    super.replaceMember(group, old, member, records);
    this.count(group, member, 1);
  }

  /** A group downgraded in a write that failed is a consumer group again. */
  protected override reclaim(group: ConsumerGroup): boolean {
    if (this.groups.has(group.groupId) || !this.undoDowngrade?.(group)) return false;
    this.groups.set(group.groupId, group);
    return true;
  }

  protected override memberExpired(group: ConsumerGroup, m: ConsumerMember, records: CoordinatorRecord[]): void {
    if (!m.classic) this.maybeDowngrade(group, records);
  }

  private compileRegex(regex: string): RegExp {
    try {
      return new RegExp(`^(?:${regex})$`, 'u');
    } catch {
      throw new HeartbeatError(ErrorCode.INVALID_REGULAR_EXPRESSION, `SubscribedTopicRegex ${regex} is not a valid regular expression.`);
    }
  }

  /**
   * The checks of the request itself, which Kafka's group coordinator service makes before the
   * group's partition is looked at (INVALID_REQUEST, UNSUPPORTED_ASSIGNOR): throws HeartbeatError.
   * The subscribed regex is compiled later, by the group's partition (validate).
   */
  checkRequest(req: HeartbeatRequest, apiVersion: number): void {
    const bad = (msg: string) => new HeartbeatError(ErrorCode.INVALID_REQUEST, msg);
    if (req.groupId === '') throw bad("GroupId can't be empty.");
    if (req.instanceId === '') throw bad("InstanceId can't be empty.");
    if (req.rackId === '') throw bad("RackId can't be empty.");
    if (apiVersion >= 1 && req.memberId === '') throw bad("MemberId can't be empty.");
    if (req.memberEpoch > 0 || req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) {
      if (req.memberId === '') throw bad("MemberId can't be empty.");
    } else if (req.memberEpoch === 0) {
      if (req.rebalanceTimeoutMs === -1) throw bad('RebalanceTimeoutMs must be provided in first request.');
      if (req.topicPartitions === null || req.topicPartitions.length > 0) throw bad('TopicPartitions must be empty when (re-)joining.');
      if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) throw bad('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.');
    } else if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      if (req.instanceId === null) throw bad("InstanceId can't be null.");
    } else {
      throw bad(`MemberEpoch is invalid: ${req.memberEpoch}`);
    }
    if (req.serverAssignor !== null && !this.opts.assignors.includes(req.serverAssignor)) {
      throw new HeartbeatError(
        ErrorCode.UNSUPPORTED_ASSIGNOR,
        `ServerAssignor ${req.serverAssignor} is not supported. Supported assignors: ${this.opts.assignors.join(', ')}.`,
      );
    }
  }

  private validate(req: HeartbeatRequest, apiVersion: number): void {
    this.checkRequest(req, apiVersion);
    if (req.subscribedTopicRegex !== null) this.compileRegex(req.subscribedTopicRegex);
  }

  /** `replaced`: the tombstones of an empty group of another type this group takes the place of. */
  async heartbeat(req: HeartbeatRequest, apiVersion: number, clientId: string, clientHost: string, replaced: readonly CoordinatorRecord[] = []): Promise<HeartbeatResponse> {
    return this.runHeartbeat(
      req.groupId,
      heartbeatFailure,
      (records) => {
        this.validate(req, apiVersion);
        return req.memberEpoch < 0 ? this.leave(req, records) : this.join(req, clientId, clientHost, records);
      },
      replaced,
    );
  }

  private leave(req: HeartbeatRequest, records: CoordinatorRecord[]): HeartbeatResponse {
    // A static member leaving with -2 will come back: its partitions wait for it until its session ends.
    const { group, member, removed } = this.leaveMember(req, records);
    if (removed) this.maybeDowngrade(group, records);
    return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: member.memberId, memberEpoch: req.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
  }

  private join(req: HeartbeatRequest, clientId: string, clientHost: string, records: CoordinatorRecord[]): HeartbeatResponse {
    const group = this.joiningGroup(req);
    let member: ConsumerMember | undefined = req.memberId === '' ? undefined : group.members.get(req.memberId);
    let changed = false;
    if (req.memberEpoch === 0) {
      // A static member coming back under a new member id takes over its predecessor's state.
      ({ member, changed } = this.rejoinMember(
        group,
        req,
        member,
        (old) => ({
          ...old,
          memberId: req.memberId === '' ? this.opts.newMemberId() : req.memberId,
          memberEpoch: old.previousMemberEpoch,
          assignmentEpochs: cloneEpochs(old.assignmentEpochs),
          sessionTimer: null,
          rebalanceTimer: null,
        }),
        records,
      ));
      if (!member) {
        member = newMember(req.memberId === '' ? this.opts.newMemberId() : req.memberId, {
          instanceId: req.instanceId,
          rackId: req.rackId,
          clientId,
          clientHost,
          subscribedTopicNames: [],
          subscribedTopicRegex: null,
          rebalanceTimeoutMs: req.rebalanceTimeoutMs,
          serverAssignor: null,
          classic: null,
        });
        this.addMember(group, member);
        changed = true;
      }
    } else {
      if (!member) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${req.groupId}.`);
      if (req.memberEpoch !== member.memberEpoch) {
        const owned = req.topicPartitions === null ? null : fromWire(req.topicPartitions);
        // A member that missed our last answer retries with its previous epoch.
        if (!(req.memberEpoch === member.previousMemberEpoch && owned !== null && subset(owned, member.assigned))) {
          throw new HeartbeatError(
            ErrorCode.FENCED_MEMBER_EPOCH,
            `The consumer group member has a smaller member epoch (${req.memberEpoch}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
          );
        }
      }
    }
    this.saveMember(group, member);
    // Subscription changes (a null field means "unchanged").
    const before = JSON.stringify([
      member.subscribedTopicNames,
      member.subscribedTopicRegex,
      member.serverAssignor,
      member.instanceId,
      member.rackId,
      member.rebalanceTimeoutMs,
    ]);
    this.subscribe(
      group,
      member,
      req.subscribedTopicNames !== null ? [...req.subscribedTopicNames].sort() : member.subscribedTopicNames,
      req.subscribedTopicRegex !== null ? (req.subscribedTopicRegex === '' ? null : req.subscribedTopicRegex) : member.subscribedTopicRegex,
    );
    if (req.serverAssignor !== null) member.serverAssignor = req.serverAssignor;
    if (req.rackId !== null) member.rackId = req.rackId;
    if (req.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    const after = JSON.stringify([
      member.subscribedTopicNames,
      member.subscribedTopicRegex,
      member.serverAssignor,
      member.instanceId,
      member.rackId,
      member.rebalanceTimeoutMs,
    ]);
    if (changed || before !== after) {
      records.push(this.memberMetadataRecord(group, member));
      changed = true;
    }
    this.advanceEpoch(group, changed, records);
    // Reconcile this member towards its target.
    const owned = req.topicPartitions === null ? null : fromWire(req.topicPartitions);
    const prevAssigned = clone(member.assigned);
    const prevEpoch = member.memberEpoch;
    if (this.reconcile(group, member, owned)) records.push(this.currentRecord(group, member));
    this.armTimers(group, member);
    const sendAssignment =
      req.memberEpoch === 0 ||
      prevEpoch !== member.memberEpoch ||
      !sameAssignment(prevAssigned, member.assigned) ||
      (owned !== null && !sameAssignment(owned, member.assigned));
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: this.configOf(group.groupId).heartbeatIntervalMs,
      assignment: sendAssignment ? { topicPartitions: toWire(member.assigned) } : null,
    };
  }

  /**
   * A membership or subscription change, or a subscribed topic's partition count, moves the
   * group epoch; a group epoch ahead of the assignment epoch gets a new target assignment.
   */
  private advanceEpoch(group: ConsumerGroup, changed: boolean, records: CoordinatorRecord[]): void {
    const topics = this.subscribedTopics(group);
    const topicsChanged = !sameTopics(topics, group.topics);
    if (changed || topicsChanged) {
      group.groupEpoch++;
      records.push(this.epochRecord(group));
      if (topicsChanged) {
        group.topics = topics;
        records.push({ key: encodeConsumerGroupKey({ type: CG_PARTITION_METADATA, group: group.groupId }), value: encodePartitionMetadataValue([...topics.values()]) });
      }
    }
    if (group.groupEpoch > group.assignmentEpoch) this.computeTarget(group, records);
  }

  /** The topics the members subscribe to (names and regexes) that exist, by name. */
  private subscribedTopics(group: ConsumerGroup): Map<string, TopicMetadata> {
    const subscriptions = this.subscriptionsOf(group);
    const names = new Set(subscriptions.names.keys());
    const regexes = [...subscriptions.regexes.keys()].map((r) => this.compileRegex(r));
    if (regexes.length > 0) for (const n of this.opts.topics.names()) if (!n.startsWith('__') && regexes.some((r) => r.test(n))) names.add(n);
    const out = new Map<string, TopicMetadata>();
    for (const n of [...names].sort()) {
      const t = this.opts.topics.byName(n);
      if (t) out.set(n, t);
    }
    return out;
  }

  /**
   * Whether a member subscribes to the topic, by name (existing or not) or by a regex it matches
   * (OffsetDelete answers GROUP_SUBSCRIBED_TO_TOPIC for it).
   */
  isSubscribedToTopic(groupId: string, topic: string): boolean {
    const group = this.groups.get(groupId);
    if (!group) return false;
    if (this.subscriptionsOf(group).names.has(topic)) return true;
    return this.subscribedTopics(group).has(topic);
  }

  private memberTopicIds(group: ConsumerGroup, m: ConsumerMember): Set<string> {
    const ids = new Set<string>();
    for (const n of m.subscribedTopicNames) {
      const t = group.topics.get(n);
      if (t) ids.add(t.id);
    }
    if (m.subscribedTopicRegex !== null) {
      const r = this.compileRegex(m.subscribedTopicRegex);
      for (const [n, t] of group.topics) if (r.test(n)) ids.add(t.id);
    }
    return ids;
  }

  /** Runs the group's assignor for the current group epoch and writes the new targets. */
  private computeTarget(group: ConsumerGroup, records: CoordinatorRecord[]): void {
    const active = [...group.members.values()];
    // The assignor most members ask for, else the configured default (Kafka's rule).
    const votes = new Map<string, number>();
    for (const m of active) if (m.serverAssignor !== null) votes.set(m.serverAssignor, (votes.get(m.serverAssignor) ?? 0) + 1);
    let name = this.opts.assignors[0] ?? 'uniform';
    let best = 0;
    for (const [n, c] of votes) if (c > best) [name, best] = [n, c];
    const assignor = ASSIGNORS[name] ?? ASSIGNORS.uniform!;
    const partitions = new Map([...group.topics.values()].map((t) => [t.id, t.numPartitions]));
    const result = assignor({
      members: active.map((m) => ({ memberId: m.memberId, topics: this.memberTopicIds(group, m), current: group.target.get(m.memberId) })),
      partitions,
    });
    this.setTarget(group, result, records);
  }

  /**
   * Moves a member one step towards its target (Kafka's CurrentAssignmentBuilder). `owned` is
   * what its heartbeat says it owns (null: unchanged). Returns whether the member changed.
   */
  private reconcile(group: ConsumerGroup, m: ConsumerMember, owned: Assignment | null): boolean {
    if (m.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) return false;
    this.saveMember(group, m);
    const target = group.target.get(m.memberId) ?? new Map<string, Set<number>>();
    if (m.state === MemberState.UNREVOKED_PARTITIONS) {
      // Still owning a partition it must give up: wait (its rebalance timeout runs).
      if (owned === null || !subset(owned, m.assigned)) return false;
      m.pendingRevocation = new Map();
    } else if (m.state === MemberState.STABLE && m.memberEpoch === group.assignmentEpoch) {
      return false;
    }
    const keep: Assignment = new Map();
    const revoke: Assignment = new Map();
    for (const [t, parts] of m.assigned) {
      for (const p of parts) {
        const into = target.get(t)?.has(p) ? keep : revoke;
        if (!into.has(t)) into.set(t, new Set());
        into.get(t)!.add(p);
      }
    }
    if (assignmentSize(revoke) > 0) {
      m.assigned = keep;
      m.pendingRevocation = revoke;
      m.state = MemberState.UNREVOKED_PARTITIONS;
      return true;
    }
    let unreleased = false;
    const next = clone(keep);
    for (const [t, parts] of target) {
      for (const p of parts) {
        if (next.get(t)?.has(p)) continue;
        if (group.ownedByOther(m.memberId, t, p)) {
          unreleased = true;
          continue;
        }
        if (!next.has(t)) next.set(t, new Set());
        next.get(t)!.add(p);
      }
    }
    const state = unreleased ? MemberState.UNRELEASED_PARTITIONS : MemberState.STABLE;
    if (m.memberEpoch === group.assignmentEpoch && m.state === state && sameAssignment(next, m.assigned) && assignmentSize(m.pendingRevocation) === 0) return false;
    EpochGroups.toAssignmentEpoch(m, group.assignmentEpoch);
    // A partition kept keeps the epoch it was assigned at; one it receives is assigned at the new epoch.
    const assignedAt: PartitionEpochs = new Map();
    for (const [t, parts] of next) {
      const byPartition = new Map<number, number>();
      for (const p of parts) byPartition.set(p, (keep.get(t)?.has(p) ? m.assignmentEpochs.get(t)?.get(p) : undefined) ?? group.assignmentEpoch);
      assignedAt.set(t, byPartition);
    }
    m.assignmentEpochs = assignedAt;
    m.assigned = next;
    m.state = state;
    return true;
  }

  /**
   * Downgrade (KIP-848 online migration): once the last consumer-protocol member has left and
   * only classic members remain, the group becomes a classic group again (the coordinator's
   * `downgrade` builds it); this group's records are tombstoned in the same batch.
   */
  private maybeDowngrade(group: ConsumerGroup, records: CoordinatorRecord[]): void {
    if (!this.downgrade || group.members.size === 0) return;
    for (const m of group.members.values()) if (!m.classic) return;
    const classicRecords = this.downgrade(group);
    if (!classicRecords) return;
    this.saveDowngrade(group);
    for (const m of group.members.values()) {
      this.clearTimers(m);
      records.push(...this.memberTombstones(group.groupId, m.memberId));
    }
    this.groups.delete(group.groupId);
    records.push(...this.groupTombstones(group.groupId));
    records.push(...classicRecords);
    this.opts.logger?.info({ group: group.groupId, generation: group.groupEpoch, members: group.members.size }, 'consumer group downgraded to a classic group');
  }

  protected override epochRecord(group: ConsumerGroup): CoordinatorRecord {
    return { key: encodeConsumerGroupKey({ type: CG_METADATA, group: group.groupId }), value: encodeEpochValue(group.groupEpoch) };
  }

  protected override assignmentEpochRecord(group: ConsumerGroup): CoordinatorRecord {
    return { key: encodeConsumerGroupKey({ type: CG_TARGET_METADATA, group: group.groupId }), value: encodeEpochValue(group.assignmentEpoch) };
  }

  protected override groupTombstones(groupId: string): CoordinatorRecord[] {
    return ([CG_TARGET_METADATA, CG_PARTITION_METADATA, CG_METADATA] as const).map((type) => ({ key: encodeConsumerGroupKey({ type, group: groupId }), value: null }));
  }

  protected override targetRecord(group: ConsumerGroup, memberId: string, target: Assignment): CoordinatorRecord {
    return { key: encodeConsumerGroupKey({ type: CG_TARGET_MEMBER, group: group.groupId, memberId }), value: encodeTargetMemberValue(target) };
  }

  protected override memberTombstones(groupId: string, memberId: string): CoordinatorRecord[] {
    return ([CG_CURRENT_MEMBER, CG_TARGET_MEMBER, CG_MEMBER_METADATA] as const).map((type) => ({
      key: encodeConsumerGroupKey({ type, group: groupId, memberId }),
      value: null,
    }));
  }

  protected override memberMetadataRecord(group: ConsumerGroup, m: ConsumerMember): CoordinatorRecord {
    return { key: encodeConsumerGroupKey({ type: CG_MEMBER_METADATA, group: group.groupId, memberId: m.memberId }), value: encodeMemberMetadataValue(m) };
  }

  protected override currentRecord(group: ConsumerGroup, m: ConsumerMember): CoordinatorRecord {
    return { key: encodeConsumerGroupKey({ type: CG_CURRENT_MEMBER, group: group.groupId, memberId: m.memberId }), value: encodeCurrentAssignmentValue(m) };
  }

  // --- classic members (online migration, KIP-848) ---------------------------------------------
  //
  // A consumer group may hold members that speak the classic protocol: the members of a classic
  // group it was upgraded from, or classic consumers joining it later. Each is a member like the
  // others (same target assignment and epochs); its JoinGroup moves it to its target, its
  // SyncGroup hands it what it owns now as a ConsumerProtocol assignment, and its Heartbeat tells
  // it to rejoin (REBALANCE_IN_PROGRESS) while it is not at the assignment epoch or still has
  // partitions to give up or to receive. Its generation is its member epoch.

  /** Member ids handed out with MEMBER_ID_REQUIRED, waiting for their JoinGroup (group\0member). */
  private readonly pendingClassic = new Map<string, () => void>();

  /**
   * The join and sync timeouts of classic members (each cancels its timer), as Kafka arms them:
   * a member told to rejoin (REBALANCE_IN_PROGRESS to its Heartbeat or SyncGroup) must send
   * JoinGroup within its rebalance timeout, and one that joined must send SyncGroup within the
   * rebalance timeout of its JoinGroup; else it is removed from the group. Kept by member, not
   * on it: a heartbeat's undo puts a member's fields back, and these timers are not its state.
   */
  private readonly classicTimers = new WeakMap<ConsumerMember, { join?: () => void; sync?: () => void }>();

  /**
   * Arms a classic member's join or sync timeout. The join timeout is armed only if it is not
   * running yet (Kafka's scheduleIfAbsent): the member has its rebalance timeout from the first
   * time it is told to rejoin, however often it hears it again. The sync timeout restarts.
   */
  private armClassicTimer(group: ConsumerGroup, m: ConsumerMember, kind: 'join' | 'sync', delayMs: number): void {
    let timers = this.classicTimers.get(m);
    if (!timers) this.classicTimers.set(m, (timers = {}));
    if (kind === 'join' && timers.join) return;
    timers[kind]?.();
    const why = kind === 'join' ? 'the classic member failed to join within the rebalance timeout' : 'the classic member failed to sync within the rebalance timeout';
    timers[kind] = this.opts.clock.schedule(delayMs, () => {
      delete timers[kind];
      this.fence(group, m, why, () => this.armClassicTimer(group, m, kind, TIMER_RETRY_BACKOFF_MS));
    });
  }

  private cancelClassicTimer(m: ConsumerMember, kind: 'join' | 'sync'): void {
    const timers = this.classicTimers.get(m);
    timers?.[kind]?.();
    if (timers) delete timers[kind];
  }

  protected override clearTimers(m: ConsumerMember): void {
    super.clearTimers(m);
    this.cancelClassicTimer(m, 'join');
    this.cancelClassicTimer(m, 'sync');
  }

  /** Topic names → topic ids (unknown topics dropped). */
  private idsOf(tps: { topic: string; partitions: number[] }[]): Assignment {
    const a: Assignment = new Map();
    for (const tp of tps) {
      const t = this.opts.topics.byName(tp.topic);
      if (!t) continue;
      const parts = a.get(t.id) ?? new Set<number>();
      for (const p of tp.partitions) parts.add(p);
      a.set(t.id, parts);
    }
    return a;
  }

  /** A ConsumerProtocol assignment (version 0) of an assignment by topic id. */
  encodeClassicAssignment(a: Assignment): Buffer {
    const w = new Writer(64);
    w.int16(0);
    encodeConsumerProtocolAssignment(w, 0, {
      assignedPartitions: toWire(a)
        .map((t) => ({ topic: this.topicName(t.topicId), partitions: t.partitions }))
        .filter((t) => t.topic !== ''),
      userData: null,
    });
    return w.finish();
  }

  /** JoinGroup from a classic member of a consumer group. */
  async classicJoin(groupId: string, req: JoinRequest): Promise<JoinResult> {
    // As Kafka answers a failed write (GroupCoordinatorService's handleOperationException): the
    // mapped error and the request's member id; the group is left as it was.
    const result = await this.runHeartbeat(
      groupId,
      (code) => joinError(code, req.memberId),
      (records) => this.handleClassicJoin(groupId, req, records),
    );
    // Once its join is written (as Kafka, on the write's completion): it has joined, and must
    // now sync within the rebalance timeout it asked for. Not if the group became a classic
    // group in this join (it has the classic group's timers then).
    const group = this.groups.get(groupId);
    const member = result.errorCode === ErrorCode.NONE ? group?.members.get(result.memberId) : undefined;
    if (group && member) {
      this.cancelClassicTimer(member, 'join');
      this.armClassicTimer(group, member, 'sync', req.rebalanceTimeoutMs);
    }
    return result;
  }

  private handleClassicJoin(groupId: string, req: JoinRequest, records: CoordinatorRecord[]): JoinResult {
    const group = this.groups.get(groupId);
    if (!group) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    const chosen = req.protocols[0];
    if (req.protocolType !== 'consumer' || !chosen) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId);
    const sub = decodeConsumerSubscription(chosen.metadata);
    if (!sub) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId);
    let member = req.memberId === '' ? undefined : group.members.get(req.memberId);
    if (member && !member.classic) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
    let changed = false;
    if (req.groupInstanceId !== null) {
      const old = group.memberByInstance(req.groupInstanceId);
      if (old && old.memberId !== req.memberId) {
        // A static member is identified by its instance id: one coming back under another (or
        // no) member id replaces its predecessor, keeping its epoch and partitions.
        if (!old.classic || req.memberId !== '') return joinError(ErrorCode.FENCED_INSTANCE_ID, req.memberId);
        member = { ...old, memberId: this.opts.newMemberId(), assignmentEpochs: cloneEpochs(old.assignmentEpochs), sessionTimer: null, rebalanceTimer: null };
        this.replaceMember(group, old, member, records);
      }
    }
    if (!member) {
      let memberId = req.memberId;
      if (memberId === '') {
        memberId = this.opts.newMemberId();
        // Static members skip MEMBER_ID_REQUIRED (KIP-394 is for dynamic ones).
        if (req.requireKnownMemberId && req.groupInstanceId === null) {
          const key = `${groupId}\0${memberId}`;
          this.pendingClassic.set(
            key,
            this.opts.clock.schedule(req.sessionTimeoutMs, () => this.pendingClassic.delete(key)),
          );
          return joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId);
        }
      } else {
        const key = `${groupId}\0${memberId}`;
        const cancel = this.pendingClassic.get(key);
        if (!cancel) return joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId);
        cancel();
        this.pendingClassic.delete(key);
      }
      if (group.members.size >= this.opts.maxSize) return joinError(ErrorCode.GROUP_MAX_SIZE_REACHED, memberId);
      member = newMember(memberId, {
        instanceId: req.groupInstanceId,
        rackId: null,
        clientId: req.clientId,
        clientHost: req.clientHost,
        subscribedTopicNames: [],
        subscribedTopicRegex: null,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        serverAssignor: null,
        classic: null,
      });
      this.addMember(group, member);
      changed = true;
    }
    this.saveMember(group, member);
    const subBefore = JSON.stringify([member.subscribedTopicNames, member.rackId, member.rebalanceTimeoutMs]);
    const classicBefore = JSON.stringify([member.classic?.sessionTimeoutMs, member.classic?.protocols.map((p) => [p.name, p.metadata.toString('base64')])]);
    this.subscribe(group, member, [...new Set(sub.topics)].sort(), member.subscribedTopicRegex);
    // The rack a classic consumer declares in its subscription (v3+), as Kafka takes it at each
    // join; a subscription without one leaves the rack as it was.
    if (sub.rackId !== null) member.rackId = sub.rackId;
    member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    member.classic = { sessionTimeoutMs: req.sessionTimeoutMs, protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })) };
    // Only the subscription moves the group epoch (not the session timeout or protocol bytes).
    const subChanged = changed || subBefore !== JSON.stringify([member.subscribedTopicNames, member.rackId, member.rebalanceTimeoutMs]);
    const classicChanged = classicBefore !== JSON.stringify([member.classic.sessionTimeoutMs, member.classic.protocols.map((p) => [p.name, p.metadata.toString('base64')])]);
    if (subChanged || classicChanged) records.push(this.memberMetadataRecord(group, member));
    this.advanceEpoch(group, subChanged, records);
    // What it owns now: an eager member gave up everything before rejoining; a cooperative one
    // lists what it kept (ConsumerProtocolSubscription v1+).
    const owned = this.idsOf(sub.ownedPartitions);
    let moved = this.reconcile(group, member, owned);
    if (member.state === MemberState.UNREVOKED_PARTITIONS && subset(owned, member.assigned)) moved = this.reconcile(group, member, owned) || moved;
    if (moved) records.push(this.currentRecord(group, member));
    this.armTimers(group, member);
    return {
      errorCode: ErrorCode.NONE,
      generationId: member.memberEpoch,
      protocolType: 'consumer',
      protocolName: chosen.name,
      // No leader: the coordinator assigns, every classic member is a follower.
      leader: '',
      skipAssignment: false,
      memberId: member.memberId,
      members: [],
    };
  }

  /** SyncGroup from a classic member: its current partitions. */
  classicSync(groupId: string, req: SyncRequest): SyncResult {
    const fail = (errorCode: number): SyncResult => ({ errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) });
    const group = this.groups.get(groupId);
    if (!group) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    // As Kafka's validateConsumerGroupMember: a static member is found by its instance id, and
    // another member id than its own is fenced.
    const member = req.groupInstanceId === null ? group.members.get(req.memberId) : group.memberByInstance(req.groupInstanceId);
    if (member && member.memberId !== req.memberId) return fail(ErrorCode.FENCED_INSTANCE_ID);
    if (!member || !member.classic) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.generationId !== member.memberEpoch) return fail(ErrorCode.ILLEGAL_GENERATION);
    if (req.protocolType !== null && req.protocolType !== 'consumer') return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // The protocol its JoinGroup answered: the first it listed.
    if (req.protocolName !== null && req.protocolName !== member.classic.protocols[0]?.name) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // As Kafka 4.4: a newer assignment epoch than the member's means it must rejoin first (not
    // while it still has partitions to give up: its next join reconciles it anyway).
    if (group.assignmentEpoch > member.memberEpoch && member.state !== MemberState.UNREVOKED_PARTITIONS) {
      this.armClassicTimer(group, member, 'join', member.rebalanceTimeoutMs);
      return fail(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    this.cancelClassicTimer(member, 'sync');
    this.armTimers(group, member);
    return {
      errorCode: ErrorCode.NONE,
      protocolType: 'consumer',
      protocolName: req.protocolName ?? member.classic.protocols[0]?.name ?? null,
      assignment: this.encodeClassicAssignment(member.assigned),
    };
  }

  /** Heartbeat from a classic member: REBALANCE_IN_PROGRESS while it must rejoin. */
  classicHeartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    const group = this.groups.get(groupId);
    if (groupInstanceId !== null && group) {
      const holder = group.memberByInstance(groupInstanceId);
      if (holder && holder.memberId !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    const member = group?.members.get(memberId);
    if (!group || !member || !member.classic) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== member.memberEpoch) return ErrorCode.ILLEGAL_GENERATION;
    // The target, if the epoch moved; its write, should it fail, is undone as a heartbeat's.
    if (group.groupEpoch > group.assignmentEpoch)
      void this.runHeartbeat(
        groupId,
        () => undefined,
        (records) => this.computeTarget(group, records),
      );
    this.armTimers(group, member);
    if (member.memberEpoch === group.assignmentEpoch && member.state === MemberState.STABLE) return ErrorCode.NONE;
    this.armClassicTimer(group, member, 'join', member.rebalanceTimeoutMs);
    return ErrorCode.REBALANCE_IN_PROGRESS;
  }

  /**
   * LeaveGroup of classic members (by member id, or by instance id when the member id is empty):
   * each member's code; a failed write is the answer's error alone (Kafka's
   * handleOperationException), the members left in the group.
   */
  classicLeave(groupId: string, members: MemberIdentity[]): Promise<{ errorCode: number; members: number[] }> {
    return this.runHeartbeat<{ errorCode: number; members: number[] }>(
      groupId,
      (errorCode) => ({ errorCode, members: [] }),
      (records) => {
        const group = this.groups.get(groupId);
        const codes = members.map((id) => {
          const m = id.memberId !== '' ? group?.members.get(id.memberId) : id.groupInstanceId !== null ? group?.memberByInstance(id.groupInstanceId) : undefined;
          if (!group || !m) return ErrorCode.UNKNOWN_MEMBER_ID;
          if (id.groupInstanceId !== null && m.instanceId !== id.groupInstanceId) return ErrorCode.FENCED_INSTANCE_ID;
          this.removeMember(group, m, records, 'left (classic)');
          return ErrorCode.NONE;
        });
        return { errorCode: ErrorCode.NONE, members: codes };
      },
    );
  }

  /**
   * Upgrade (KIP-848 online migration): a Stable classic group of protocol type `consumer`
   * becomes a consumer group. Each classic member keeps its member id; its epoch is the
   * generation; its subscription and partitions come from its ConsumerProtocol metadata and
   * assignment, and its target is what it owns. Returns the records of the new group (the caller
   * writes them with the classic group's tombstone, in one batch), or an error message.
   */
  adoptClassic(
    groupId: string,
    generation: number,
    protocolName: string,
    members: readonly (MemberProfile & { assignment: Buffer })[],
  ): { records: CoordinatorRecord[] } | { error: string } {
    if (this.groups.has(groupId)) return { error: `Group ${groupId} is already a consumer group.` };
    if (members.length > this.opts.maxSize) return { error: `Cannot upgrade classic group ${groupId}: it has more members than group.consumer.max.size.` };
    const group = new ConsumerGroup(groupId);
    group.groupEpoch = generation;
    group.assignmentEpoch = generation;
    for (const cm of members) {
      const sub = decodeConsumerSubscription(cm.protocols.find((p) => p.name === protocolName)?.metadata ?? Buffer.alloc(0));
      const assignment = classicAssignment(cm.assignment);
      if (!sub || !assignment) return { error: `Cannot upgrade classic group ${groupId}: member ${cm.memberId} has an undecodable subscription or assignment.` };
      // As Kafka 4.4's ConsumerGroup.fromClassicGroup: a consumer group keeps partitions only, so
      // an assignment carrying user data (a custom client-side assignor's state) would be lost;
      // the upgrade is refused instead, and the group stays classic.
      if (assignment.userData !== null && assignment.userData.length > 0) {
        return {
          error: `Cannot upgrade classic group ${groupId} to consumer group: the assignment of member ${cm.memberId} carries user data of a custom assignor, which a consumer group cannot keep. Move the group to a built-in assignor first.`,
        };
      }
      const assigned = this.idsOf(assignment.assignedPartitions);
      group.members.set(cm.memberId, {
        memberId: cm.memberId,
        instanceId: cm.groupInstanceId,
        // The rack a classic consumer declares in its subscription (v3+), as Kafka takes it.
        rackId: sub.rackId,
        clientId: cm.clientId,
        clientHost: cm.clientHost,
        subscribedTopicNames: [...new Set(sub.topics)].sort(),
        subscribedTopicRegex: null,
        rebalanceTimeoutMs: cm.rebalanceTimeoutMs,
        serverAssignor: null,
        memberEpoch: generation,
        previousMemberEpoch: generation,
        state: MemberState.STABLE,
        assigned,
        pendingRevocation: new Map(),
        // Its partitions were assigned in the classic group's generation at the latest.
        assignmentEpochs: epochsOf(assigned, generation),
        classic: { sessionTimeoutMs: cm.sessionTimeoutMs, protocols: cm.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })) },
        sessionTimer: null,
        rebalanceTimer: null,
      });
      group.target.set(cm.memberId, clone(assigned));
    }
    group.topics = this.subscribedTopics(group);
    const key = (type: typeof CG_METADATA | typeof CG_PARTITION_METADATA | typeof CG_TARGET_METADATA) => encodeConsumerGroupKey({ type, group: groupId });
    const records: CoordinatorRecord[] = [];
    for (const m of group.members.values()) records.push(this.memberMetadataRecord(group, m));
    records.push({ key: key(CG_PARTITION_METADATA), value: encodePartitionMetadataValue([...group.topics.values()]) });
    records.push({ key: key(CG_METADATA), value: encodeEpochValue(group.groupEpoch) });
    for (const [memberId, a] of group.target) records.push(this.targetRecord(group, memberId, a));
    records.push({ key: key(CG_TARGET_METADATA), value: encodeEpochValue(group.assignmentEpoch) });
    for (const m of group.members.values()) records.push(this.currentRecord(group, m));
    this.groups.set(groupId, group);
    for (const m of group.members.values()) this.armTimers(group, m);
    this.opts.logger?.info({ group: groupId, epoch: generation, members: group.members.size }, 'classic group upgraded to a consumer group');
    return { records };
  }

  /** Undoes adoptClassic when its records could not be written. */
  forget(groupId: string): void {
    const g = this.groups.get(groupId);
    if (!g) return;
    for (const m of g.members.values()) this.clearTimers(m);
    this.groups.delete(groupId);
  }

  // --- offsets, admin ------------------------------------------------------------------------

  // Offset commits: EpochGroups.validateOffsetCommit, with these two answers for consumer groups.
  protected override isClassic(m: ConsumerMember): boolean {
    return m.classic !== null;
  }

  protected partitionHeldSince(_group: ConsumerGroup, m: ConsumerMember): (topic: string, partition: number) => number | undefined {
    return (topic, partition) => {
      const topicId = this.opts.topics.byName(topic)?.id;
      return topicId === undefined ? undefined : assignmentEpoch(m, topicId, partition);
    };
  }

  /**
   * Offset fetches of a consumer group (OffsetFetch v9+): by a member at its current epoch
   * exactly (Kafka 4.4 relaxes commits only), or by an admin (empty member id, negative epoch).
   */
  describe(groupId: string): ConsumerGroup | undefined {
    return this.groups.get(groupId);
  }

  topicName(topicId: string): string {
    return this.opts.topics.byId(topicId)?.name ?? '';
  }

  // --- load ------------------------------------------------------------------------------------

  /** Applies a consumer group record read back from __consumer_offsets; false if it is not one. */
  replay(key: Buffer, value: Buffer | null): boolean {
    const k = decodeConsumerGroupKey(key);
    if (!k) return false;
    if (k.type === CG_METADATA) {
      if (value === null) this.groups.delete(k.group);
      else this.loading(k.group).groupEpoch = decodeEpochValue(value);
      return true;
    }
    const g = value === null ? this.groups.get(k.group) : this.loading(k.group);
    if (!g) return true;
    switch (k.type) {
      case CG_PARTITION_METADATA:
        g.topics = new Map((value === null ? [] : decodePartitionMetadataValue(value)).map((t) => [t.name, t]));
        break;
      case CG_TARGET_METADATA:
        g.assignmentEpoch = value === null ? 0 : decodeEpochValue(value);
        break;
      case CG_TARGET_MEMBER:
        if (value === null) g.target.delete(k.memberId);
        else g.target.set(k.memberId, decodeTargetMemberValue(value));
        break;
      case CG_MEMBER_METADATA: {
        g.subscriptions = null;
        if (value === null) {
          g.members.delete(k.memberId);
          break;
        }
        const v = decodeMemberMetadataValue(value);
        const m = g.members.get(k.memberId);
        if (m) Object.assign(m, v);
        else g.members.set(k.memberId, newMember(k.memberId, v));
        break;
      }
      case CG_CURRENT_MEMBER: {
        const m = g.members.get(k.memberId);
        if (m && value !== null) Object.assign(m, decodeCurrentAssignmentValue(value));
        break;
      }
    }
    return true;
  }

  /** After replay (of the groups `mine` selects): members get a fresh session, as after a coordinator failover in Kafka. */
  finishLoading(mine: (groupId: string) => boolean = () => true): void {
    for (const g of this.groups.values()) if (mine(g.groupId)) for (const m of g.members.values()) this.armTimers(g, m);
  }
}

/**
 * A member as it first joins (or as replay first meets its metadata record): epoch 0, nothing
 * assigned, no timers armed yet.
 */
function newMember(memberId: string, metadata: MemberMetadataValue): ConsumerMember {
  return {
    memberId,
    ...metadata,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: MemberState.STABLE,
    assigned: new Map(),
    pendingRevocation: new Map(),
    assignmentEpochs: new Map(),
    sessionTimer: null,
    rebalanceTimer: null,
  };
}

/** The member epoch at which the member was assigned the partition (assigned or pending revocation), if it holds it. */
function assignmentEpoch(m: ConsumerMember, topicId: string, partition: number): number | undefined {
  if (!m.assigned.get(topicId)?.has(partition) && !m.pendingRevocation.get(topicId)?.has(partition)) return undefined;
  return m.assignmentEpochs.get(topicId)?.get(partition) ?? Math.max(m.memberEpoch, 0);
}

/**
 * A classic member's assignment, or null if its bytes are not one. As in Kafka's upgrade, no
 * bytes are no partitions (and no user data): the classic group stores none for a member its
 * leader left out.
 */
function classicAssignment(bytes: Buffer): ConsumerProtocolAssignment | null {
  return bytes.length === 0 ? { assignedPartitions: [], userData: null } : decodeConsumerAssignmentMessage(bytes);
}
