// KIP-932 share groups ("queues for Kafka"): membership and assignment, kept by the group
// coordinator next to classic and consumer groups (a group id is one of the three). Kafka's
// model, as the Java KafkaShareConsumer expects it:
//
// - members pick their own member id (a UUID) and join with epoch 0, naming the topics they
//   subscribe to; a heartbeat with epoch -1 leaves; a member not heard from within the session
//   timeout (share.session.timeout.ms) is removed;
// - the group epoch moves whenever membership, subscriptions or the subscribed topics' partition
//   counts change, and the assignment is recomputed for it by the simple assignor: partitions are
//   shared, so there is no revocation step; a member takes its new assignment (and the group
//   epoch) with its next heartbeat; one that missed that answer may come back with its previous
//   epoch, any other epoch is fenced;
// - the simple assignor spreads partitions over members; when there are more members than
//   partitions, each partition goes to several members (records are handed out per record by
//   the share-partition leader, so sharing a partition is safe).
//
// Only the group epoch is written to __consumer_offsets (record type 11, Kafka's
// ShareGroupMetadata key; the value is an int16 version then the epoch): members are kept in
// memory, and after a coordinator move or restart a member's next heartbeat gets
// UNKNOWN_MEMBER_ID and it rejoins with epoch 0 (the KafkaShareConsumer does so by itself).
import { ErrorCode } from '../protocol/errors.js';
import { Reader, Writer } from '../protocol/primitives.js';
import type { Clock } from '../common/clock.js';
import type { Assignment } from './consumer-group-assignors.js';
import type { TopicLookup } from './consumer-group.js';
import type { TopicMetadata } from './consumer-group-records.js';
import type { CoordinatorRecord } from './records.js';
import { sameAssignment, sameTopics, toWire } from './partition-assignment.js';
import { heartbeatFailure, type HeartbeatResponse } from './heartbeat-response.js';
import type { CoordinatorLogger } from './ports.js';
import { groupWriteErrorCode, logWriteFailure, TIMER_RETRY_BACKOFF_MS, timerRetries } from './write-errors.js';
import { GroupUndos, type GroupUndo } from './group-undo.js';

/** Kafka's ShareGroupMetadataKey record type. */
export const SG_METADATA = 11;

const LEAVE_GROUP_MEMBER_EPOCH = -1;

export interface ShareMember {
  memberId: string;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  memberEpoch: number;
  /** The epoch before the last one it was given: a member that missed that answer may still use it. */
  previousMemberEpoch: number;
  assigned: Assignment;
  sessionTimer: (() => void) | null;
}

export class ShareGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, ShareMember>();
  readonly target = new Map<string, Assignment>();
  /** The subscribed topics the target was computed from (name → metadata). */
  topics = new Map<string, TopicMetadata>();
  constructor(readonly groupId: string) {}

  /** Kafka's ShareGroup states: Empty, Stable (Dead once deleted). */
  get state(): 'Empty' | 'Stable' {
    return this.members.size === 0 ? 'Empty' : 'Stable';
  }

  /**
   * How many members subscribe to each topic (Kafka's per-topic subscriber counts), kept as
   * members come, go and change their subscription, so a heartbeat need not look at every
   * member. Replaced on each change, never changed in place: a heartbeat's undo puts back the
   * counts it saved with the group's fields.
   */
  subscriptions: ReadonlyMap<string, number> = new Map();

  subscribedTopics(): Set<string> {
    return new Set(this.subscriptions.keys());
  }

  /** Counts a member's topics in (1) or out (-1). */
  count(topics: readonly string[], sign: 1 | -1): void {
    if (topics.length === 0) return;
    const next = new Map(this.subscriptions);
    for (const t of topics) {
      const n = (next.get(t) ?? 0) + sign;
      if (n > 0) next.set(t, n);
      else next.delete(t);
    }
    this.subscriptions = next;
  }
}

export interface ShareHeartbeatRequest {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  rackId: string | null;
  subscribedTopicNames: string[] | null;
}

export interface ShareGroupConfig {
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
}

export interface ShareGroupsOptions {
  clock: Clock;
  append(groupId: string, records: CoordinatorRecord[]): Promise<void>;
  topics: TopicLookup;
  /** The group's heartbeat interval and session timeout (its group configs, else the broker's). */
  config(groupId: string): ShareGroupConfig;
  maxSize: number;
  logger?: CoordinatorLogger;
  /** A member left or was removed: the share-partition leaders may release what it holds. */
  onMemberRemoved?(groupId: string, memberId: string): void;
}

export function encodeShareGroupKey(groupId: string): Buffer {
  const w = new Writer(64);
  w.int16(SG_METADATA);
  w.string(groupId);
  return w.finish();
}

function encodeShareGroupValue(epoch: number): Buffer {
  const w = new Writer(16);
  w.int16(0);
  w.int32(epoch);
  return w.finish();
}

/**
 * The simple assignor (Kafka's SimpleAssignor for share groups, homogeneous or not): each
 * subscribed partition goes round-robin to the members subscribed to its topic; when a topic has
 * fewer partitions than subscribed members, its partitions are shared so every member of it gets
 * one.
 */
export function simpleAssign(members: ShareMember[], topics: Map<string, TopicMetadata>): Map<string, Assignment> {
  const out = new Map<string, Assignment>(members.map((m) => [m.memberId, new Map()]));
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  for (const [name, t] of [...topics].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const subs = sorted.filter((m) => m.subscribedTopicNames.includes(name));
    if (subs.length === 0 || t.numPartitions === 0) continue;
    const give = (m: ShareMember, p: number) => {
      const a = out.get(m.memberId)!;
      let s = a.get(t.id);
      if (!s) a.set(t.id, (s = new Set()));
      s.add(p);
    };
    if (subs.length <= t.numPartitions) {
      for (let p = 0; p < t.numPartitions; p++) give(subs[p % subs.length]!, p);
    } else {
      for (let i = 0; i < subs.length; i++) give(subs[i]!, i % t.numPartitions);
    }
  }
  return out;
}

/** The share groups of a group coordinator. */
export class ShareGroups {
  readonly groups = new Map<string, ShareGroup>();
  private stopped = false;
  /** Set by the broker: a member left or was removed (its share sessions end, what it holds is released). */
  onMemberRemoved: ((groupId: string, memberId: string) => void) | null = null;

  constructor(readonly opts: ShareGroupsOptions) {}

  describe(groupId: string): ShareGroup | undefined {
    return this.groups.get(groupId);
  }

  topicName(topicId: string): string {
    return this.opts.topics.byId(topicId)?.name ?? '';
  }

  /** The subscribed topics' metadata as the topics are now (missing topics left out). */
  private currentTopics(g: ShareGroup): Map<string, TopicMetadata> {
    const out = new Map<string, TopicMetadata>();
    for (const name of g.subscriptions.keys()) {
      const t = this.opts.topics.byName(name);
      if (t) out.set(name, t);
    }
    return out;
  }

  /**
   * Why the request itself is invalid (INVALID_REQUEST, with this message), which Kafka's group
   * coordinator service checks before the group's partition is looked at; null when it is not.
   */
  requestError(req: ShareHeartbeatRequest): string | null {
    if (req.groupId === '') return "GroupId can't be empty.";
    if (req.memberId === '') return "MemberId can't be empty.";
    if (req.rackId === '') return "RackId can't be empty.";
    if (req.memberEpoch < LEAVE_GROUP_MEMBER_EPOCH) return `MemberEpoch is invalid: ${req.memberEpoch}`;
    if (req.memberEpoch === 0 && (req.subscribedTopicNames === null || req.subscribedTopicNames.length === 0)) return 'SubscribedTopicNames must be set in first request.';
    return null;
  }

  async heartbeat(req: ShareHeartbeatRequest, clientId: string, clientHost: string): Promise<HeartbeatResponse> {
    if (this.stopped) return heartbeatFailure(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const invalid = this.requestError(req);
    if (invalid !== null) return heartbeatFailure(ErrorCode.INVALID_REQUEST, invalid);
    const cfg = this.opts.config(req.groupId);
    let group = this.groups.get(req.groupId);
    const startEpoch = group?.groupEpoch ?? -1;
    // A heartbeat whose write fails leaves the group as it found it, as Kafka's runtime reverts a
    // failed write (what the member held is released all the same when it leaves).
    const before = this.undo.start(req.groupId, group);
    /** Writes the heartbeat's epoch: null once written, else the answer to a failed write. */
    const written = async (changed: ShareGroup): Promise<HeartbeatResponse | null> => {
      this.undo.handled(before, changed);
      try {
        await this.persistEpoch(changed, startEpoch);
        this.undo.written(before);
        return null;
      } catch (err) {
        logWriteFailure(this.opts.logger, err, { group: req.groupId.slice(0, 256) }, 'writing the share group epoch failed');
        this.undoFailed(before, changed);
        return heartbeatFailure(groupWriteErrorCode(err));
      } finally {
        this.undo.done(before);
      }
    };
    const refused = (code: number, message: string): HeartbeatResponse => {
      this.undo.refused(before);
      return heartbeatFailure(code, message);
    };
    if (req.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) {
      const m = group?.members.get(req.memberId);
      if (!group || !m) return refused(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${req.groupId}.`);
      this.removeMember(group, m);
      const failed = await written(group);
      if (failed) return failed;
      return { errorCode: ErrorCode.NONE, errorMessage: null, memberId: req.memberId, memberEpoch: LEAVE_GROUP_MEMBER_EPOCH, heartbeatIntervalMs: 0, assignment: null };
    }
    let member = group?.members.get(req.memberId);
    // Kafka 4.4 (throwIfShareGroupMemberEpochIsInvalid): a member may be behind by one answer it
    // missed (its previous epoch); any other epoch but its own is fenced.
    const missedAnswer = member !== undefined && req.memberEpoch > 0 && req.memberEpoch < member.memberEpoch && req.memberEpoch === member.previousMemberEpoch;
    if (req.memberEpoch > 0) {
      if (!member) return refused(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${req.groupId}.`);
      if (req.memberEpoch > member.memberEpoch)
        return refused(
          ErrorCode.FENCED_MEMBER_EPOCH,
          `The share group member's epoch (${req.memberEpoch}) is ahead of the group coordinator's (${member.memberEpoch}); it must rejoin.`,
        );
      if (req.memberEpoch < member.memberEpoch && !missedAnswer)
        return refused(
          ErrorCode.FENCED_MEMBER_EPOCH,
          `The share group member's epoch (${req.memberEpoch}) is behind the group coordinator's (${member.memberEpoch}) and is not its previous one (${member.previousMemberEpoch}); it must rejoin.`,
        );
    }
    if (!group) {
      group = new ShareGroup(req.groupId);
      this.groups.set(req.groupId, group);
    }
    let bump = false;
    if (!member) {
      if (group.members.size >= this.opts.maxSize) {
        this.rollback(before, cfg.sessionTimeoutMs);
        return refused(ErrorCode.GROUP_MAX_SIZE_REACHED, `The share group has reached its maximum capacity of ${this.opts.maxSize} members.`);
      }
      member = {
        memberId: req.memberId,
        rackId: req.rackId,
        clientId,
        clientHost,
        subscribedTopicNames: [],
        memberEpoch: 0,
        previousMemberEpoch: 0,
        assigned: new Map(),
        sessionTimer: null,
      };
      this.undo.saveMembership(group);
      group.members.set(req.memberId, member);
      bump = true;
    }
    this.undo.saveMember(group, member);
    const rejoin = req.memberEpoch === 0;
    if (req.rackId !== null) member.rackId = req.rackId;
    if (req.subscribedTopicNames !== null) {
      const next = [...new Set(req.subscribedTopicNames)].sort();
      if (next.join('\u0000') !== [...member.subscribedTopicNames].sort().join('\u0000')) {
        group.count(member.subscribedTopicNames, -1);
        member.subscribedTopicNames = next;
        group.count(next, 1);
        bump = true;
      }
    }
    const topics = this.currentTopics(group);
    if (!sameTopics(topics, group.topics)) {
      group.topics = topics;
      bump = true;
    }
    if (bump) group.groupEpoch++;
    if (group.groupEpoch > group.assignmentEpoch) {
      this.assign(group);
    }
    this.armSession(group, member, cfg.sessionTimeoutMs);
    const target = group.target.get(member.memberId) ?? new Map<string, Set<number>>();
    let assignment: HeartbeatResponse['assignment'] = null;
    // A member that missed an answer is given its assignment again.
    if (rejoin || missedAnswer || member.memberEpoch !== group.assignmentEpoch || !sameAssignment(member.assigned, target)) {
      member.assigned = target;
      if (member.memberEpoch !== group.assignmentEpoch) {
        member.previousMemberEpoch = member.memberEpoch;
        member.memberEpoch = group.assignmentEpoch;
      }
      assignment = { topicPartitions: toWire(target) };
    }
    const failed = await written(group);
    if (failed) return failed;
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: cfg.heartbeatIntervalMs,
      assignment,
    };
  }

  /** The heartbeats' undos (group-undo.ts): each change of a member, the membership or the target saves first. */
  private readonly undo = new GroupUndos<ShareGroup, ShareMember, Assignment>();

  /** Puts a group back as the heartbeat found it: a group made since is forgotten. */
  private rollback(undo: GroupUndo<ShareGroup, ShareMember, Assignment>, sessionTimeoutMs: number): void {
    const group = this.groups.get(undo.groupId);
    if (!undo.group) {
      if (group) {
        for (const m of group.members.values()) m.sessionTimer?.();
        this.groups.delete(undo.groupId);
      }
      return;
    }
    if (group !== undo.group) return;
    const { groupEpoch, assignmentEpoch, topics, subscriptions } = undo.fields as Pick<ShareGroup, 'groupEpoch' | 'assignmentEpoch' | 'topics' | 'subscriptions'>;
    Object.assign(group, { groupEpoch, assignmentEpoch, topics, subscriptions });
    for (const member of this.undo.restore(undo, group, ['sessionTimer'], (m) => m.sessionTimer?.())) {
      if (member.sessionTimer === null) this.armSession(group, member, sessionTimeoutMs);
    }
  }

  /** The simple assignor's target for the group epoch. */
  private assign(group: ShareGroup): void {
    this.undo.saveTarget(group);
    const target = simpleAssign([...group.members.values()], group.topics);
    group.target.clear();
    for (const [id, a] of target) group.target.set(id, a);
    group.assignmentEpoch = group.groupEpoch;
  }

  private async persistEpoch(group: ShareGroup, before: number): Promise<void> {
    if (group.groupEpoch === before) return;
    await this.opts.append(group.groupId, [{ key: encodeShareGroupKey(group.groupId), value: encodeShareGroupValue(group.groupEpoch) }]);
  }

  /**
   * A write of the group failed: it is undone, with the earlier ones whose writes failed
   * meanwhile, unless a later change of the group is still to be written or was written.
   */
  private undoFailed(undo: GroupUndo<ShareGroup, ShareMember, Assignment>, group: ShareGroup): void {
    const chain = this.undo.failed(undo, group, () => !this.stopped && this.groups.get(group.groupId) === group);
    const { sessionTimeoutMs } = this.opts.config(group.groupId);
    for (const u of chain) this.rollback(u, sessionTimeoutMs);
    for (const u of chain) u.onUndone?.();
  }

  private armSession(group: ShareGroup, m: ShareMember, timeoutMs: number): void {
    m.sessionTimer?.();
    m.sessionTimer = this.opts.clock.schedule(timeoutMs, () => {
      m.sessionTimer = null;
      if (this.stopped || this.groups.get(group.groupId) !== group || group.members.get(m.memberId) !== m) return;
      this.opts.logger?.info({ group: group.groupId, member: m.memberId }, 'share group member session expired');
      // As Kafka's runtime: a failed write leaves the group as it was, and the session timeout
      // runs again 500 ms later (unless the group's partition left this broker).
      const undo = this.undo.start(group.groupId, group);
      const before = group.groupEpoch;
      this.removeMember(group, m);
      this.undo.handled(undo, group);
      this.persistEpoch(group, before).then(
        () => {
          this.undo.written(undo);
          this.undo.done(undo);
        },
        (err: unknown) => {
          logWriteFailure(this.opts.logger, err, { group: group.groupId }, 'writing the share group epoch failed');
          undo.onUndone = () => {
            if (!this.stopped && timerRetries(err) && group.members.get(m.memberId) === m) this.armSession(group, m, TIMER_RETRY_BACKOFF_MS);
          };
          this.undoFailed(undo, group);
          this.undo.done(undo);
        },
      );
    });
  }

  private removeMember(group: ShareGroup, m: ShareMember): void {
    this.undo.saveMember(group, m);
    this.undo.saveMembership(group);
    this.undo.saveTarget(group);
    m.sessionTimer?.();
    m.sessionTimer = null;
    group.members.delete(m.memberId);
    group.count(m.subscribedTopicNames, -1);
    group.target.delete(m.memberId);
    group.topics = this.currentTopics(group);
    group.groupEpoch++;
    this.assign(group);
    this.opts.onMemberRemoved?.(group.groupId, m.memberId);
    this.onMemberRemoved?.(group.groupId, m.memberId);
  }

  /** Removes an empty group; the tombstone to write, or null when it has members (or is unknown). */
  deleteEmpty(groupId: string): CoordinatorRecord[] | null {
    const g = this.groups.get(groupId);
    if (!g || g.members.size > 0) return null;
    this.groups.delete(groupId);
    return [{ key: encodeShareGroupKey(groupId), value: null }];
  }

  /** Applies one __consumer_offsets record if it is a share group's; false if it is not. */
  replay(key: Buffer, value: Buffer | null): boolean {
    const r = new Reader(key);
    if (r.int16() !== SG_METADATA) return false;
    const groupId = r.string();
    if (value === null) {
      this.groups.delete(groupId);
      return true;
    }
    const v = new Reader(value);
    v.int16();
    const epoch = v.int32();
    let g = this.groups.get(groupId);
    if (!g) this.groups.set(groupId, (g = new ShareGroup(groupId)));
    g.groupEpoch = epoch;
    g.assignmentEpoch = epoch;
    return true;
  }

  unload(mine: (groupId: string) => boolean): void {
    for (const g of [...this.groups.values()]) {
      if (!mine(g.groupId)) continue;
      for (const m of g.members.values()) m.sessionTimer?.();
      this.groups.delete(g.groupId);
    }
  }

  shutdown(): void {
    this.stopped = true;
    for (const g of this.groups.values()) for (const m of g.members.values()) m.sessionTimer?.();
  }
}
