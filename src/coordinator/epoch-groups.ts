// The membership machinery of the groups of KIP-848's protocol family: consumer groups
// (consumer-group.ts, KIP-848) and streams groups (streams-group.ts, KIP-1071). Both keep a group
// epoch, an assignment epoch and a target per member; each member has a member epoch (and the
// previous one, for a member that missed an answer), converges to its target by revoking first,
// and is removed when its session timeout or, while it has something to revoke, its rebalance
// timeout passes. What differs (what is assigned, how it is stored) is left to the subclass:
// `A` is the assignment type (partitions by topic id, or tasks), the records are the subclass's.
import { ErrorCode } from '../protocol/errors.js';
import type { Clock } from '../common/clock.js';
import type { CoordinatorRecord } from './records.js';
import type { CoordinatorLogger } from './ports.js';
import { groupWriteErrorCode, logWriteFailure, TIMER_RETRY_BACKOFF_MS, timerRetries } from './write-errors.js';
import { GroupUndos, type GroupUndo } from './group-undo.js';

/** A heartbeat's member epoch when the member leaves the group. */
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
/** A static member's epoch when it leaves for now and keeps its assignment until its session ends. */
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

/** The member state of a member that owns its whole assignment (STABLE in every group kind). */
const STABLE = 0;

/** A heartbeat refused with a Kafka error code and message. */
export class HeartbeatError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface EpochMember<A> {
  memberId: string;
  instanceId: string | null;
  rebalanceTimeoutMs: number;
  memberEpoch: number;
  previousMemberEpoch: number;
  state: number;
  assigned: A;
  pendingRevocation: A;
  /** Cancels the session timeout. */
  sessionTimer: (() => void) | null;
  rebalanceTimer: (() => void) | null;
}

/** A group's epochs, members and target assignment. */
export class EpochGroup<M extends EpochMember<A>, A> {
  groupEpoch = 0;
  assignmentEpoch = 0;
  readonly members = new Map<string, M>();
  readonly target = new Map<string, A>();
  constructor(readonly groupId: string) {}

  memberByInstance(instanceId: string): M | undefined {
    for (const m of this.members.values()) if (m.instanceId === instanceId) return m;
    return undefined;
  }
}

export interface EpochGroupsOptions {
  clock: Clock;
  append(groupId: string, records: CoordinatorRecord[]): Promise<void>;
  sessionTimeoutMs: number;
  /** The most members a group may have. */
  maxSize: number;
  logger?: CoordinatorLogger;
}

/** The identity fields of a heartbeat that leaves the group. */
export interface LeaveRequest {
  groupId: string;
  memberId: string;
  instanceId: string | null;
  memberEpoch: number;
}

/**
 * The per-partition half of an offset commit's validation (Kafka's CommitPartitionValidator):
 * the error code of a commit to the partition (by topic name), NONE if it may be committed.
 */
export type CommitPartitionValidator = (topic: string, partition: number) => number;

/** The groups of one kind of a group coordinator: timers, removal, static members, load/unload. */
export abstract class EpochGroups<A, M extends EpochMember<A>, G extends EpochGroup<M, A>> {
  readonly groups = new Map<string, G>();
  protected stopped = false;

  constructor(
    readonly opts: EpochGroupsOptions,
    /** "consumer" or "streams": in log lines. */
    private readonly kind: string,
  ) {}

  protected abstract newGroup(groupId: string): G;
  /** The epoch since which `m` holds a partition (by topic name); undefined if it does not. */
  protected abstract partitionHeldSince(group: G, m: M): (topic: string, partition: number) => number | undefined;
  /** Whether `m` speaks the classic protocol (a member of a group upgraded from classic). */
  protected isClassic(_m: M): boolean {
    return false;
  }
  /** An assignment of nothing. */
  protected abstract emptyAssignment(): A;
  /** The member state of one that still has something to revoke (its rebalance timeout runs). */
  protected abstract readonly unrevokedState: number;
  /** The group's epoch record, written whenever the group epoch moves. */
  protected abstract epochRecord(group: G): CoordinatorRecord;
  /** The tombstones of the group's own records (those not of a member). */
  protected abstract groupTombstones(groupId: string): CoordinatorRecord[];
  protected abstract memberTombstones(groupId: string, memberId: string): CoordinatorRecord[];
  protected abstract targetRecord(group: G, memberId: string, target: A): CoordinatorRecord;
  /** The record of the assignment epoch, written with a new target assignment. */
  protected abstract assignmentEpochRecord(group: G): CoordinatorRecord;
  protected abstract sameAssignment(a: A, b: A): boolean;

  /**
   * An offset commit (or, `transactional`, a TxnOffsetCommit) to a group of this kind, as Kafka
   * 4.4 checks it: an error code for the whole request, NONE, or a validator for each partition.
   * - a negative epoch commits to a group without members (an admin or a client without group
   *   management); a transactional one with epoch -1 and no member or instance id always;
   * - a member commits at its member epoch; at a newer one it is stale; at an older one (it has
   *   not seen its last heartbeat answer yet) each partition must have been held by it since that
   *   epoch or before (KIP-1251's assignment epochs), else the whole commit is stale;
   * - a member of this protocol must use OffsetCommit v9+; a classic member gets
   *   ILLEGAL_GENERATION where the others get STALE_MEMBER_EPOCH.
   */
  validateOffsetCommit(
    groupId: string,
    memberId: string,
    instanceId: string | null,
    memberEpoch: number,
    transactional: boolean,
    apiVersion: number,
  ): number | CommitPartitionValidator {
    const group = this.groups.get(groupId);
    if (!group) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (memberEpoch < 0 && group.members.size === 0) return ErrorCode.NONE;
    if (transactional && memberEpoch === LEAVE_GROUP_MEMBER_EPOCH && memberId === '' && instanceId === null) return ErrorCode.NONE;
    const m = group.members.get(memberId);
    if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
    const classic = this.isClassic(m);
    if (!transactional && !classic && apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION;
    if (memberEpoch === m.memberEpoch) return ErrorCode.NONE;
    const stale = classic ? ErrorCode.ILLEGAL_GENERATION : ErrorCode.STALE_MEMBER_EPOCH;
    if (memberEpoch > m.memberEpoch) return stale;
    const heldSince = this.partitionHeldSince(group, m);
    return (topic, partition) => {
      const since = heldSince(topic, partition);
      return since === undefined || memberEpoch < since ? stale : ErrorCode.NONE;
    };
  }
  /**
   * An OffsetFetch (v9+) of a group of this kind, as Kafka 4.4 checks it: a request without a
   * member id (null, as the admin client and classic consumers send) and a negative epoch reads
   * freely; any other must come from a member (UNKNOWN_MEMBER_ID, also for an empty member id) at
   * its current epoch (STALE_MEMBER_EPOCH; ILLEGAL_GENERATION for a classic member).
   */
  validateOffsetFetch(groupId: string, memberId: string | null, memberEpoch: number): number {
    const group = this.groups.get(groupId);
    if (!group) return ErrorCode.GROUP_ID_NOT_FOUND;
    if (memberId === null && memberEpoch < 0) return ErrorCode.NONE;
    const m = memberId === null ? undefined : group.members.get(memberId);
    if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (memberEpoch === m.memberEpoch) return ErrorCode.NONE;
    return this.isClassic(m) ? ErrorCode.ILLEGAL_GENERATION : ErrorCode.STALE_MEMBER_EPOCH;
  }
  protected abstract memberMetadataRecord(group: G, m: M): CoordinatorRecord;
  protected abstract currentRecord(group: G, m: M): CoordinatorRecord;
  /** After a member was removed (by a leave or a timeout) and the group epoch moved. */
  protected memberRemoved(_group: G): void {}
  /** A static member left with epoch -2 (keeping its assignment), before its record is written. */
  protected staticMemberLeft(_m: M): void {}
  /** After a member's timeout removed it, before the records are written. */
  protected memberExpired(_group: G, _m: M, _records: CoordinatorRecord[]): void {}
  /** A member's session timeout: its group's (a group config, else the broker's). */
  protected sessionTimeoutOf(_group: G, _m: M): number {
    return this.opts.sessionTimeoutMs;
  }

  /**
   * Runs a heartbeat: `handle` answers it (throwing HeartbeatError to refuse it) and gathers the
   * records, which are written before the answer goes out. A heartbeat that is refused, whose
   * records cannot be encoded (UNKNOWN_SERVER_ERROR, as Kafka's serializer failure answers), or
   * whose write fails leaves the group as it found it, as Kafka's coordinator runtime reverts
   * its state to before a failed write: no group made by it, no member added, no epoch moved.
   * `replaced` are the tombstones of an empty group of another type this one replaces, written
   * in the same batch (the caller puts that group back if the heartbeat fails).
   */
  protected async runHeartbeat<R>(
    groupId: string,
    fail: (code: number, message: string | null) => R,
    handle: (records: CoordinatorRecord[]) => R,
    replaced: readonly CoordinatorRecord[] = [],
    onUndone?: (err: unknown) => void,
  ): Promise<R> {
    if (this.stopped) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE, null);
    const records: CoordinatorRecord[] = [...replaced];
    const before = this.undo.start(groupId, this.groups.get(groupId));
    let result: R;
    try {
      result = handle(records);
    } catch (err) {
      this.rollback(before);
      this.undo.refused(before);
      if (err instanceof HeartbeatError) return fail(err.code, err.message);
      this.opts.logger?.error({ err, group: groupId.slice(0, 256) }, `a ${this.kind} group heartbeat failed`);
      return fail(ErrorCode.UNKNOWN_SERVER_ERROR, null);
    }
    // The group it found, though no longer in the map (downgraded to a classic group), or made.
    const group = before.group ?? this.groups.get(groupId);
    this.undo.handled(before, group);
    try {
      if (records.length > 0) await this.opts.append(groupId, records);
      this.undo.written(before);
    } catch (err) {
      logWriteFailure(this.opts.logger, err, { group: groupId.slice(0, 256) }, `writing ${this.kind} group records failed`);
      if (onUndone) before.onUndone = () => onUndone(err);
      // Undone while no later heartbeat has changed the group since, with the earlier ones whose
      // writes failed meanwhile (one that succeeded built on them). A group that became a
      // classic group in this write is one again, unless the classic group is gone.
      if (group) {
        const current = this.groups.get(groupId);
        const chain = this.undo.failed(before, group, () => !this.stopped && (current === group || (current === undefined && this.reclaim(group))));
        for (const u of chain) this.rollback(u);
        for (const u of chain) u.onUndone?.();
      }
      return fail(groupWriteErrorCode(err), null);
    } finally {
      this.undo.done(before);
    }
    return result;
  }

  /**
   * A group no longer in the map whose write failed: true when it is put back (a consumer group
   * whose downgrade to a classic group is undone).
   */
  protected reclaim(_group: G): boolean {
    return false;
  }

  /** The heartbeats' undos (group-undo.ts): each change of a member, the membership or the target saves first. */
  private readonly undo = new GroupUndos<G, M, A>();

  /** Saves a member's fields before a change to it (a no-op when no heartbeat of its group may be undone). */
  protected saveMember(group: G, m: M): void {
    this.undo.saveMember(group, m);
  }

  /** The group is about to become another type (its members' timers stop): an undo restarts them. */
  protected saveDowngrade(group: G): void {
    this.undo.saveDowngrade(group);
  }

  /** Adds a member to its group (what a heartbeat's undo takes away again). */
  protected addMember(group: G, m: M): void {
    this.undo.saveMembership(group);
    group.members.set(m.memberId, m);
  }

  /** Puts a group back as the heartbeat found it: a group made since is forgotten. */
  private rollback(undo: GroupUndo<G, M, A>): void {
    const group = this.groups.get(undo.groupId);
    if (!undo.group) {
      if (group) {
        this.discardTimers(group);
        this.groups.delete(undo.groupId);
      }
      return;
    }
    // Replaced or removed meanwhile (a downgrade to a classic group): not this heartbeat's to undo.
    if (group !== undo.group) return;
    this.restoreFields(group, undo.fields);
    for (const member of this.undo.restore(undo, group, ['sessionTimer', 'rebalanceTimer'], (m) => this.clearTimers(m))) {
      const needsRebalanceTimer = member.state === this.unrevokedState;
      if (member.sessionTimer === null || needsRebalanceTimer !== (member.rebalanceTimer !== null)) this.armTimers(group, member);
    }
    // A downgrade stopped every member's timers without saving the members.
    if (undo.downgraded) for (const m of group.members.values()) if (m.sessionTimer === null) this.armTimers(group, m);
  }

  /** Restores a group's own fields (not its members and target); a subclass cancels its group timers. */
  protected restoreFields(group: G, fields: Record<string, unknown>): void {
    const { members: _members, target: _target, ...own } = fields;
    Object.assign(group, own);
  }

  /** Stops the timers of a group that is forgotten. */
  protected discardTimers(group: G): void {
    for (const m of group.members.values()) this.clearTimers(m);
  }

  /**
   * A heartbeat with a negative epoch: a static member leaving with epoch -2 keeps its
   * assignment until its session ends; any other member is removed. `removed` says which.
   */
  protected leaveMember(req: LeaveRequest, records: CoordinatorRecord[]): { group: G; member: M; removed: boolean } {
    const group = this.groups.get(req.groupId);
    const member = group?.members.get(req.memberId) ?? (req.instanceId !== null ? group?.memberByInstance(req.instanceId) : undefined);
    if (!group || !member) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${req.groupId}.`);
    if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH && member.instanceId !== null) {
      this.saveMember(group, member);
      member.previousMemberEpoch = member.memberEpoch;
      member.memberEpoch = LEAVE_GROUP_STATIC_MEMBER_EPOCH;
      this.staticMemberLeft(member);
      records.push(this.currentRecord(group, member));
      return { group, member, removed: false };
    }
    this.removeMember(group, member, records, 'left');
    return { group, member, removed: true };
  }

  /**
   * A static member back under another member id: `member` (built from `old`) takes over its
   * predecessor's place and target; the old member's records are tombstoned.
   */
  protected replaceMember(group: G, old: M, member: M, records: CoordinatorRecord[]): void {
    this.saveMember(group, old);
    this.undo.saveMembership(group);
    this.undo.saveTarget(group);
    this.clearTimers(old);
    group.members.delete(old.memberId);
    const target = group.target.get(old.memberId);
    group.target.delete(old.memberId);
    records.push(...this.memberTombstones(group.groupId, old.memberId));
    group.members.set(member.memberId, member);
    if (target) {
      group.target.set(member.memberId, target);
      records.push(this.targetRecord(group, member.memberId, target));
    }
    records.push(this.memberMetadataRecord(group, member), this.currentRecord(group, member));
  }

  /** The group a heartbeat joins: made by a member's first heartbeat (epoch 0), else GROUP_ID_NOT_FOUND. */
  protected joiningGroup(req: { groupId: string; memberEpoch: number }): G {
    let group = this.groups.get(req.groupId);
    if (!group) {
      if (req.memberEpoch !== 0) throw new HeartbeatError(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} not found.`);
      group = this.newGroup(req.groupId);
      this.groups.set(req.groupId, group);
    }
    return group;
  }

  /**
   * A heartbeat with epoch 0 ((re-)joining), before a new member is made: a static member back
   * under another member id takes over its predecessor (which must have left with epoch -2) as
   * `member` of `takeOver`'s making; a member rejoining from scratch owns nothing any more.
   * Returns the member (undefined: a new one is to be made) and whether it changed.
   */
  protected rejoinMember(
    group: G,
    req: { memberId: string; instanceId: string | null },
    member: M | undefined,
    takeOver: (old: M) => M,
    records: CoordinatorRecord[],
  ): { member: M | undefined; changed: boolean } {
    if (req.instanceId !== null) {
      const old = group.memberByInstance(req.instanceId);
      if (old && old.memberId !== req.memberId) {
        if (old.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
          throw new HeartbeatError(ErrorCode.UNRELEASED_INSTANCE_ID, `Static member ${old.memberId} with instance id ${req.instanceId} is not released yet.`);
        }
        member = takeOver(old);
        this.replaceMember(group, old, member, records);
      }
    }
    if (member && member.memberEpoch !== 0 && !(req.instanceId !== null && member.instanceId === req.instanceId)) {
      this.saveMember(group, member);
      member.assigned = this.emptyAssignment();
      member.pendingRevocation = this.emptyAssignment();
      member.state = STABLE;
      return { member, changed: true };
    }
    if (!member && group.members.size >= this.opts.maxSize)
      throw new HeartbeatError(ErrorCode.GROUP_MAX_SIZE_REACHED, `The ${this.kind} group has reached its maximum capacity of ${this.opts.maxSize} members.`);
    return { member, changed: false };
  }

  /** Takes the assignor's result as the target of the group epoch; writes the members' that changed. */
  protected setTarget(group: G, result: Map<string, A>, records: CoordinatorRecord[]): void {
    for (const [memberId, a] of result) {
      const old = group.target.get(memberId);
      if (old && this.sameAssignment(old, a)) continue;
      this.undo.saveTarget(group);
      group.target.set(memberId, a);
      records.push(this.targetRecord(group, memberId, a));
    }
    group.assignmentEpoch = group.groupEpoch;
    records.push(this.assignmentEpochRecord(group));
  }

  /** Moves a member that reconciled to the group's assignment epoch. */
  protected static toAssignmentEpoch(m: EpochMember<unknown>, assignmentEpoch: number): void {
    if (m.memberEpoch !== assignmentEpoch) {
      m.previousMemberEpoch = m.memberEpoch;
      m.memberEpoch = assignmentEpoch;
    }
  }

  // --- timers -----------------------------------------------------------------------------------

  protected clearTimers(m: M): void {
    m.sessionTimer?.();
    m.rebalanceTimer?.();
    m.sessionTimer = null;
    m.rebalanceTimer = null;
  }

  /** Session timeout from now; a rebalance timeout while the member has something to revoke. */
  protected armTimers(group: G, m: M): void {
    m.sessionTimer?.();
    m.sessionTimer = this.opts.clock.schedule(this.sessionTimeoutOf(group, m), () => this.expire(group, m, 'sessionTimer'));
    if (m.state === this.unrevokedState) {
      m.rebalanceTimer ??= this.opts.clock.schedule(m.rebalanceTimeoutMs, () => this.expire(group, m, 'rebalanceTimer'));
    } else if (m.rebalanceTimer) {
      m.rebalanceTimer();
      m.rebalanceTimer = null;
    }
  }

  /**
   * A member's session or rebalance timeout: it is removed. As in Kafka's runtime, a failed write
   * leaves the group as it was and the timer runs again 500 ms later (unless the group's partition
   * left this broker).
   */
  private expire(group: G, m: M, timer: 'sessionTimer' | 'rebalanceTimer'): void {
    this.fence(group, m, timer === 'sessionTimer' ? 'session timeout' : 'rebalance timeout', () => {
      m[timer]?.();
      m[timer] = this.opts.clock.schedule(TIMER_RETRY_BACKOFF_MS, () => this.expire(group, m, timer));
    });
  }

  /**
   * Removes a member one of its timers gave up on (a no-op once it has left the group).
   * `retry` arms that timer again when the write fails with an error a timer retries.
   */
  protected fence(group: G, m: M, why: string, retry: () => void): void {
    if (this.stopped || this.groups.get(group.groupId) !== group || group.members.get(m.memberId) !== m) return;
    void this.runHeartbeat(
      group.groupId,
      () => undefined,
      (records) => {
        this.removeMember(group, m, records, why);
        this.memberExpired(group, m, records);
      },
      [],
      (err) => {
        if (this.stopped || !timerRetries(err) || group.members.get(m.memberId) !== m) return;
        retry();
      },
    );
  }

  protected removeMember(group: G, m: M, records: CoordinatorRecord[], why: string): void {
    this.saveMember(group, m);
    this.undo.saveMembership(group);
    this.undo.saveTarget(group);
    this.clearTimers(m);
    group.members.delete(m.memberId);
    group.target.delete(m.memberId);
    records.push(...this.memberTombstones(group.groupId, m.memberId));
    group.groupEpoch++;
    this.memberRemoved(group);
    records.push(this.epochRecord(group));
    this.opts.logger?.info({ group: group.groupId, member: m.memberId, epoch: group.groupEpoch }, `${this.kind} group member removed (${why})`);
  }

  // --- admin ------------------------------------------------------------------------------------

  /** Removes an empty group: the records to write (its tombstones). */
  deleteEmpty(groupId: string): CoordinatorRecord[] | null {
    const group = this.groups.get(groupId);
    if (!group || group.members.size > 0) return null;
    this.groups.delete(groupId);
    return this.groupTombstones(groupId);
  }

  // --- load -------------------------------------------------------------------------------------

  protected loading(groupId: string): G {
    let g = this.groups.get(groupId);
    if (!g) {
      g = this.newGroup(groupId);
      this.groups.set(groupId, g);
    }
    return g;
  }

  /** Forgets the groups `mine` selects (their partition left this broker). */
  unload(mine: (groupId: string) => boolean): void {
    for (const g of [...this.groups.values()]) {
      if (!mine(g.groupId)) continue;
      for (const m of g.members.values()) this.clearTimers(m);
      this.groups.delete(g.groupId);
    }
  }

  shutdown(): void {
    this.stopped = true;
    for (const g of this.groups.values()) for (const m of g.members.values()) this.clearTimers(m);
  }
}
