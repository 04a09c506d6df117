// One classic consumer group: its state machine and every transition of it. The protocol
// handlers stay thin; they call join/sync/heartbeat/leave here and get typed results back.
//
//   Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance
//     ▲                  ▲        │ (no members left)                         │ leader's sync
//     │                  │        ▼                                           ▼
//     └──── last member leaves ◀──┴────── join / leave / expiry ◀───────── Stable
//   Dead: deleted (DeleteGroups, or offsets expired); the coordinator drops it from its map.
//
// Delayed answers are promises: a JoinGroup waits in `member.joinWaiter` until the join phase
// completes, a follower's SyncGroup in `member.syncWaiter` until the leader's assignment is
// stored. Timers exist only for deadlines: each member's session (or a new member's join
// timeout), each MEMBER_ID_REQUIRED member that has not come back, the rebalance timeout, the
// pending-sync timeout and the initial rebalance delay.
// The group's record is written (context.persist) when Kafka 4.4's GroupMetadataManager writes
// it: when the leader's assignment is stored (answered once written), when a join phase leaves the
// group Empty, and when a static member is replaced in a Stable group. A join phase that ends
// with members writes nothing: the joins are answered at once (Kafka's completeClassicGroupJoin),
// and a coordinator taking over mid-rebalance has the last settled generation, so the members'
// SyncGroup gets UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION and they rejoin.
import { ErrorCode } from '../protocol/errors.js';
import { EMPTY_BYTES } from '../protocol/primitives.js';
import type { GroupValue } from './records.js';
import { groupWriteErrorCode } from './write-errors.js';
import type { Clock } from '../common/clock.js';

/** Kafka's CLASSIC_GROUP_NEW_MEMBER_JOIN_TIMEOUT_MS: how long a new member may wait for its first join answer. */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface GroupContext {
  clock: Clock;
  initialRebalanceDelayMs: number;
  /** group.max.size: most members the group may have. */
  maxSize: number;
  /**
   * Snapshots the group synchronously (or writes `value`, the group as it is to be once the
   * write is done) and resolves once the snapshot is in the log.
   */
  persist(group: Group, value?: GroupValue): Promise<void>;
  /** A new member id starting with `prefix` (the client id, or a static member's instance id). */
  newMemberId(prefix: string): string;
  /** A write of the group failed (for the broker's log; the answers already say so). */
  onWriteFailed?(err: unknown, groupId: string, what: string): void;
  /** Rebalances and new generations, for the broker's log. */
  onEvent?(info: Record<string, unknown>, msg: string): void;
}

/** What a member declares when it joins, and what the group then remembers of it. */
export interface MemberProfile {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: Protocol[];
}

export interface JoinRequest extends MemberProfile {
  /** v4+: a first join gets MEMBER_ID_REQUIRED and a member id to come back with (KIP-394). */
  requireKnownMemberId: boolean;
  /** v9+: a static leader rejoining a stable group may skip the assignment (KIP-814). */
  supportsSkipAssignment: boolean;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  skipAssignment: boolean;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncRequest {
  memberId: string;
  groupInstanceId: string | null;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

/** A JoinGroup answer that carries only an error (and the member id to come back with). */
export function joinError(errorCode: number, memberId = ''): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  };
}

export interface Member extends MemberProfile {
  assignment: Buffer;
  joinWaiter: ((r: JoinResult) => void) | null;
  syncWaiter: ((r: SyncResult) => void) | null;
  cancelSession: (() => void) | null;
  /**
   * Added by the join phase still under way (Kafka's isNew): it has no answer yet, so only the
   * new-member join timeout, not its session, bounds its wait.
   */
  isNew: boolean;
}

export interface MemberIdentity {
  memberId: string;
  groupInstanceId: string | null;
}

function sameProtocols(a: Protocol[], b: Protocol[]): boolean {
  return a.length === b.length && a.every((p, i) => p.name === b[i]!.name && p.metadata.equals(b[i]!.metadata));
}

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** When the group last changed state (offset expiry of Empty groups counts from here). */
  stateTimestamp: number;
  readonly members = new Map<string, Member>();
  /** group.instance.id → member id of static members. */
  readonly instances = new Map<string, string>();
  /** Members told MEMBER_ID_REQUIRED that have not rejoined yet, with their expiry. */
  readonly pending = new Map<string, () => void>();
  /**
   * Members of this generation that have not sent SyncGroup yet (Kafka's pending-sync members):
   * every member when a join phase completes, each leaving the set with its SyncGroup (in
   * CompletingRebalance or Stable) or its removal. By member id, as Kafka keeps it: a static
   * member replaced since keeps its old id here, so the timer still rebalances the group.
   */
  readonly pendingSync = new Set<string>();
  private cancelSyncTimer: (() => void) | null = null;
  private cancelRebalanceTimer: (() => void) | null = null;
  private cancelInitialDelay: (() => void) | null = null;
  private delaying = false;
  private newMemberAdded = false;
  /** The latest write of the group made Empty by a join phase (what a LeaveGroup that caused it waits for). */
  private emptyWrite: Promise<void> | null = null;

  constructor(
    readonly groupId: string,
    private readonly ctx: GroupContext,
  ) {
    this.stateTimestamp = ctx.clock.now();
  }

  /**
   * A group rebuilt from its last snapshot (a restart, or a new coordinator after a move). As in
   * Kafka, a snapshot with members (written once the leader's SyncGroup was stored, or when a
   * static member was replaced) comes back Stable with them, each given a fresh session: they
   * carry on heartbeating and committing under the same generation, with no rebalance. That holds
   * also when the leader gave some members no assignment (they hold an empty one, as in Kafka).
   * One difference: a snapshot in which no member holds an assignment comes back Empty,
   * generation kept for fencing, and its members rejoin. Earlier versions wrote such a snapshot
   * for each new generation, before any member had synced; brought back Stable, its members
   * would be handed an empty assignment, which a consumer cannot read. Kafka writes one only if
   * a leader assigns nothing to anybody.
   */
  static restore(groupId: string, ctx: GroupContext, v: GroupValue): Group {
    const g = new Group(groupId, ctx);
    g.generationId = v.generation;
    g.protocolType = v.protocolType === '' ? null : v.protocolType;
    const settled = v.protocol !== null && v.leader !== null && v.members.some((m) => m.assignment.length > 0);
    if (!settled) {
      // A group that had members becomes Empty now; offset retention counts from here.
      g.stateTimestamp = v.members.length > 0 ? ctx.clock.now() : v.stateTimestamp;
      return g;
    }
    g.protocolName = v.protocol;
    g.leaderId = v.leader;
    g.state = 'Stable';
    g.stateTimestamp = ctx.clock.now();
    for (const mv of v.members) {
      const m: Member = {
        memberId: mv.memberId,
        groupInstanceId: mv.groupInstanceId,
        clientId: mv.clientId,
        clientHost: mv.clientHost,
        sessionTimeoutMs: mv.sessionTimeoutMs,
        rebalanceTimeoutMs: mv.rebalanceTimeoutMs,
        protocolType: v.protocolType,
        protocols: [{ name: v.protocol!, metadata: mv.subscription }],
        assignment: mv.assignment,
        joinWaiter: null,
        syncWaiter: null,
        cancelSession: null,
        isNew: false,
      };
      g.members.set(m.memberId, m);
      if (m.groupInstanceId !== null) g.instances.set(m.groupInstanceId, m.memberId);
      g.scheduleSession(m);
    }
    return g;
  }

  /** The group's record value; `assignments` replaces the members' own (the leader's, before it is stored). */
  snapshot(assignments?: Map<string, Buffer>): GroupValue {
    return {
      protocolType: this.protocolType ?? '',
      generation: this.generationId,
      protocol: this.protocolName,
      leader: this.leaderId,
      stateTimestamp: this.stateTimestamp,
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.sessionTimeoutMs,
        subscription: this.protocolName ? this.metadataFor(m, this.protocolName) : EMPTY_BYTES,
        assignment: assignments ? (assignments.get(m.memberId) ?? EMPTY_BYTES) : m.assignment,
      })),
    };
  }

  isEmpty(): boolean {
    return this.members.size === 0 && this.pending.size === 0;
  }

  private setState(state: GroupState): void {
    this.state = state;
    this.stateTimestamp = this.ctx.clock.now();
  }

  private metadataFor(m: Member, protocol: string): Buffer {
    return m.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BYTES;
  }

  /** The protocols every member (and the candidate, if any) supports. */
  private commonProtocols(extra?: Protocol[]): Set<string> {
    let common: Set<string> | null = extra ? new Set(extra.map((p) => p.name)) : null;
    for (const m of this.members.values()) {
      const names = new Set(m.protocols.map((p) => p.name));
      common = common === null ? names : new Set([...common].filter((n) => names.has(n)));
    }
    return common ?? new Set();
  }

  /**
   * Whether a join's protocols fit the group (Kafka's ClassicGroup.supportsProtocols): an Empty
   * group takes any protocol type and protocols but none at all; otherwise the protocol type must
   * be the group's, and one of the protocols must be listed by every member, the joining member's
   * own current entry (a rejoin, or a static member's restart) included.
   */
  private supportsProtocols(protocolType: string, protocols: Protocol[]): boolean {
    if (this.state === 'Empty') return protocolType !== '' && protocols.length > 0;
    if (protocolType !== this.protocolType) return false;
    return protocols.some((p) => [...this.members.values()].every((m) => m.protocols.some((q) => q.name === p.name)));
  }

  /** Kafka's choice: among protocols all members support, the one most members list first. */
  selectProtocol(): string | null {
    const candidates = this.commonProtocols();
    if (candidates.size === 0) return null;
    const votes = new Map<string, number>();
    const order: string[] = [];
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.has(p.name))!.name;
      if (!votes.has(choice)) order.push(choice);
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = order[0]!;
    for (const name of order) if (votes.get(name)! > votes.get(best)!) best = name;
    return best;
  }

  private currentJoinResult(member: Member, includeMembers: boolean, skipAssignment = false): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: this.leaderId ?? '',
      skipAssignment,
      memberId: member.memberId,
      members: includeMembers
        ? [...this.members.values()].map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            metadata: this.metadataFor(m, this.protocolName!),
          }))
        : [],
    };
  }

  /** The member currently holding `groupInstanceId` is not `memberId`. */
  private fenced(memberId: string, groupInstanceId: string | null): boolean {
    if (groupInstanceId === null) return false;
    const current = this.instances.get(groupInstanceId);
    return current !== undefined && current !== memberId;
  }

  /**
   * Kafka's ClassicGroup.validateMember for a member's JoinGroup, SyncGroup and Heartbeat: an
   * instance id must name a static member of the group (UNKNOWN_MEMBER_ID) with this member id
   * (FENCED_INSTANCE_ID), and the member must exist (UNKNOWN_MEMBER_ID).
   */
  private validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.instances.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  // --- JoinGroup ---------------------------------------------------------------------------

  join(req: JoinRequest): Promise<JoinResult> {
    if (this.state === 'Dead') return Promise.resolve(joinError(ErrorCode.COORDINATOR_NOT_AVAILABLE, req.memberId));
    if (!this.acceptsJoin(req.memberId)) {
      // As Kafka: the member is removed (a pending one, or one that has not rejoined this phase),
      // with no rebalance of its own and no member id in the answer.
      this.removeRefused(req.memberId);
      return Promise.resolve(joinError(ErrorCode.GROUP_MAX_SIZE_REACHED));
    }
    const known = this.members.get(req.memberId);
    if (!this.supportsProtocols(req.protocolType, req.protocols)) {
      return Promise.resolve(joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, req.memberId));
    }
    if (req.memberId === '') {
      if (req.groupInstanceId !== null) {
        const existing = this.instances.get(req.groupInstanceId);
        if (existing !== undefined) return this.replaceStaticMember(this.members.get(existing)!, req);
        // As Kafka: a static member's id starts with its group.instance.id, a dynamic one's with its client id.
        return this.addMemberAndRebalance(this.ctx.newMemberId(req.groupInstanceId), req);
      }
      const memberId = this.ctx.newMemberId(req.clientId);
      if (req.requireKnownMemberId) {
        this.pending.set(
          memberId,
          this.ctx.clock.schedule(req.sessionTimeoutMs, () => {
            this.pending.delete(memberId);
            this.tryCompleteJoin();
          }),
        );
        return Promise.resolve(joinError(ErrorCode.MEMBER_ID_REQUIRED, memberId));
      }
      return this.addMemberAndRebalance(memberId, req);
    }
    const pendingExpiry = this.pending.get(req.memberId);
    if (pendingExpiry) {
      pendingExpiry();
      this.pending.delete(req.memberId);
      if (this.fenced(req.memberId, req.groupInstanceId)) return Promise.resolve(joinError(ErrorCode.FENCED_INSTANCE_ID, req.memberId));
      return this.addMemberAndRebalance(req.memberId, req);
    }
    const invalid = this.validateMember(req.memberId, req.groupInstanceId);
    if (invalid !== ErrorCode.NONE || !known) return Promise.resolve(joinError(invalid || ErrorCode.UNKNOWN_MEMBER_ID, req.memberId));
    switch (this.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(known, req);
      case 'CompletingRebalance':
        // A repeated join with the same metadata just gets this generation's answer again.
        if (sameProtocols(known.protocols, req.protocols)) {
          this.scheduleSession(known);
          return Promise.resolve(this.currentJoinResult(known, known.memberId === this.leaderId));
        }
        return this.updateMemberAndRebalance(known, req);
      case 'Stable':
        // The leader rejoining asks for a new assignment (e.g. its metadata changed); so does
        // any member whose subscription changed. Everyone else gets the current generation.
        if (known.memberId === this.leaderId || !sameProtocols(known.protocols, req.protocols)) {
          return this.updateMemberAndRebalance(known, req);
        }
        this.scheduleSession(known);
        return Promise.resolve(this.currentJoinResult(known, false));
      default:
        return Promise.resolve(joinError(ErrorCode.UNKNOWN_MEMBER_ID, req.memberId));
    }
  }

  /**
   * Whether a join fits in group.max.size (Kafka's acceptJoiningMember). An Empty group takes
   * anyone. While a join phase runs, a member already waiting for its answer is in, and anyone
   * else only while fewer than the limit wait: the members are counted that have rejoined, not
   * the members, which may be more (the limit was lowered), so the last to rejoin are turned away.
   * Otherwise a member is in, and anyone else while there are fewer members than the limit.
   */
  private acceptsJoin(memberId: string): boolean {
    const max = this.ctx.maxSize;
    const known = this.members.get(memberId);
    switch (this.state) {
      case 'PreparingRebalance': {
        if (known?.joinWaiter || this.members.size < max) return true;
        let waiting = 0;
        for (const m of this.members.values()) if (m.joinWaiter) waiting++;
        return waiting < max;
      }
      case 'CompletingRebalance':
      case 'Stable':
        return known !== undefined || this.members.size < max;
      default:
        return true;
    }
  }

  /** A member whose join was turned away (group.max.size) leaves the group, pending or not. */
  private removeRefused(memberId: string): void {
    const pendingExpiry = this.pending.get(memberId);
    if (pendingExpiry) {
      pendingExpiry();
      this.pending.delete(memberId);
    }
    const m = this.members.get(memberId);
    if (!m) return;
    this.dropMember(m);
    if (this.leaderId === memberId) this.leaderId = this.members.keys().next().value ?? null;
  }

  /**
   * A known member's join: as Kafka's ClassicGroup.updateMember, only its protocols and timeouts
   * change. Its client id, host and protocol type stay those of its first join, also when a
   * restarted static member takes its place (Kafka copies them to the replacement).
   */
  private applyJoinRequest(m: Member, req: JoinRequest): void {
    m.sessionTimeoutMs = req.sessionTimeoutMs;
    m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    m.protocols = req.protocols;
  }

  private awaitJoin(m: Member): Promise<JoinResult> {
    // A member waiting for its join answer is alive: its session timer restarts with the answer.
    // A new member's join timeout keeps running (Kafka's rejoin leaves its timer alone).
    if (!m.isNew) this.cancelSession(m);
    if (m.joinWaiter) m.joinWaiter(joinError(ErrorCode.REBALANCE_IN_PROGRESS, m.memberId));
    return new Promise<JoinResult>((resolve) => {
      m.joinWaiter = resolve;
    });
  }

  private addMemberAndRebalance(memberId: string, req: JoinRequest): Promise<JoinResult> {
    const m: Member = {
      memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols,
      assignment: EMPTY_BYTES,
      joinWaiter: null,
      syncWaiter: null,
      cancelSession: null,
      isNew: true,
    };
    // The first member of an empty group sets its protocol type.
    if (this.members.size === 0) this.protocolType = req.protocolType;
    this.members.set(memberId, m);
    if (m.groupInstanceId !== null) this.instances.set(m.groupInstanceId, memberId);
    if (this.delaying) this.newMemberAdded = true;
    const answer = this.awaitJoin(m);
    // A client whose JoinGroup timed out may retry under a new id, leaving this one behind in a
    // long join phase; as in Kafka, a new member not answered within this timeout is removed.
    this.scheduleSession(m, NEW_MEMBER_JOIN_TIMEOUT_MS);
    if (this.state === 'PreparingRebalance') this.tryCompleteJoin();
    else this.prepareRebalance(`member ${memberId} joined`);
    return answer;
  }

  private updateMemberAndRebalance(m: Member, req: JoinRequest): Promise<JoinResult> {
    this.applyJoinRequest(m, req);
    const answer = this.awaitJoin(m);
    if (this.state === 'PreparingRebalance') this.tryCompleteJoin();
    else this.prepareRebalance(`member ${m.memberId} rejoined${m.memberId === this.leaderId ? ' (leader)' : ''}`);
    return answer;
  }

  /** KIP-345: a known group.instance.id joins again with no member id (a restarted static member). */
  private replaceStaticMember(old: Member, req: JoinRequest): Promise<JoinResult> {
    const newId = this.ctx.newMemberId(req.groupInstanceId!);
    this.cancelSession(old);
    old.joinWaiter?.(joinError(ErrorCode.FENCED_INSTANCE_ID, old.memberId));
    old.syncWaiter?.({ errorCode: ErrorCode.FENCED_INSTANCE_ID, protocolType: null, protocolName: null, assignment: EMPTY_BYTES });
    old.joinWaiter = null;
    old.syncWaiter = null;
    const oldId = old.memberId;
    const oldLeader = this.leaderId;
    this.renameMember(old, newId);
    old.isNew = false;
    this.instances.set(req.groupInstanceId!, newId);
    if (this.leaderId === oldId) this.leaderId = newId;
    const { sessionTimeoutMs, rebalanceTimeoutMs, protocols } = old;
    this.applyJoinRequest(old, req);

    // As Kafka's updateStaticMemberThenRebalanceOrCompleteJoin: in a Stable group only a change of
    // the protocol the group would select next makes it rebalance. Changed metadata under the same
    // protocol (a new subscription, say) is stored and reaches the leader only with the next
    // rebalance, or at once when the leader itself restarts and may skip the assignment.
    if (this.state === 'Stable' && this.selectProtocol() === this.protocolName) {
      // KIP-814: a leader that may skip the assignment is told it leads (with the members, to
      // keep its metadata current). An older client is named the leader it replaced, as Kafka's
      // answer does, so a restarted leader syncs as a follower and does not assign again.
      const isLeader = this.leaderId === newId;
      const result = req.supportsSkipAssignment ? this.currentJoinResult(old, isLeader, isLeader) : { ...this.currentJoinResult(old, false), leader: oldLeader ?? '' };
      return this.ctx.persist(this).then(
        () => {
          this.scheduleSession(old);
          return result;
        },
        (err: unknown) => {
          this.ctx.onWriteFailed?.(err, this.groupId, 'persisting a static member replacement failed');
          // As Kafka: the replacement is reverted (the member back under its old id, with what it
          // declared before), and the joiner is told the error with no member id.
          if (this.members.get(newId) === old && this.instances.get(req.groupInstanceId!) === newId) {
            Object.assign(old, { sessionTimeoutMs, rebalanceTimeoutMs, protocols });
            this.renameMember(old, oldId);
            this.instances.set(req.groupInstanceId!, oldId);
            if (this.leaderId === newId) this.leaderId = oldId;
            this.scheduleSession(old);
          }
          return {
            errorCode: groupWriteErrorCode(err),
            generationId: this.generationId,
            protocolType: this.protocolType,
            protocolName: this.protocolName,
            leader: oldLeader ?? '',
            skipAssignment: false,
            memberId: '',
            members: [],
          };
        },
      );
    }
    return this.updateMemberAndRebalance(old, req);
  }

  /** Gives a member another id, keeping its place among the members (and its assignment). */
  private renameMember(m: Member, newId: string): void {
    const oldId = m.memberId;
    const entries = [...this.members.entries()];
    this.members.clear();
    for (const [id, member] of entries) this.members.set(id === oldId ? newId : id, member);
    m.memberId = newId;
  }

  /** Makes a Stable group rebalance (a consumer group downgraded to this classic group). */
  startRebalance(reason: string): void {
    if (this.state === 'Stable') this.prepareRebalance(reason);
  }

  private prepareRebalance(reason: string): void {
    this.ctx.onEvent?.({ group: this.groupId, state: this.state, generation: this.generationId, reason }, 'preparing to rebalance group');
    if (this.state === 'CompletingRebalance') this.failSyncWaiters(ErrorCode.REBALANCE_IN_PROGRESS);
    const wasEmpty = this.state === 'Empty';
    this.setState('PreparingRebalance');
    this.clearRebalanceTimers();
    this.clearPendingSync();
    if (wasEmpty && this.ctx.initialRebalanceDelayMs > 0) {
      // Kafka's initial rebalance: wait a little for more members of a starting group, extending
      // while new ones arrive, up to the rebalance timeout; then the join phase ends with whoever
      // has joined (a member told MEMBER_ID_REQUIRED that has not come back yet joins the next).
      this.delaying = true;
      this.newMemberAdded = false;
      const step = this.ctx.initialRebalanceDelayMs;
      const wait = (delay: number, remaining: number) => {
        this.cancelInitialDelay = this.ctx.clock.schedule(delay, () => {
          this.cancelInitialDelay = null;
          if (this.newMemberAdded && remaining > 0) {
            this.newMemberAdded = false;
            wait(Math.min(step, remaining), Math.max(remaining - delay, 0));
            return;
          }
          this.delaying = false;
          if (this.state === 'PreparingRebalance') this.completeJoin();
        });
      };
      wait(step, Math.max(this.rebalanceTimeoutMs() - step, 0));
      return;
    }
    this.scheduleJoinTimeout();
    this.tryCompleteJoin();
  }

  private clearRebalanceTimers(): void {
    this.cancelRebalanceTimer?.();
    this.cancelRebalanceTimer = null;
    this.cancelInitialDelay?.();
    this.cancelInitialDelay = null;
    this.delaying = false;
  }

  private allMembersJoined(): boolean {
    if (this.pending.size > 0) return false;
    for (const m of this.members.values()) if (!m.joinWaiter) return false;
    return true;
  }

  private tryCompleteJoin(): void {
    if (this.state === 'PreparingRebalance' && !this.delaying && this.allMembersJoined()) this.completeJoin();
  }

  /**
   * Ends the join phase (Kafka's completeClassicGroupJoin). Dynamic members that did not rejoin
   * are dropped; static ones stay (KIP-345: a static member may be restarting, and its session
   * timeout, not the rebalance, decides when it is gone), listed to the leader with the metadata
   * they last joined with. The leader must have rejoined, else the first member that did leads;
   * if none did, the phase waits another rebalance timeout (the static members' sessions may
   * expire meanwhile). Then a new generation begins. With members left the group waits for the
   * leader's assignment, its joins answered at once, every member's session restarted, every
   * member pending sync (`pendingSync`), and nothing written (the record comes with the
   * assignment, completeSync). With none it is Empty and written; a failed write is only logged,
   * as Kafka's completeClassicGroupJoin does: the group stays Empty (its members are gone either
   * way), and the LeaveGroup that emptied it, if one did, answers the error (`leave`).
   */
  private completeJoin(): void {
    this.clearRebalanceTimers();
    for (const m of [...this.members.values()]) if (!m.joinWaiter && m.groupInstanceId === null) this.dropMember(m);
    if (this.members.size > 0) {
      const leader = this.leaderId === null ? undefined : this.members.get(this.leaderId);
      if (!leader?.joinWaiter) {
        const joined = [...this.members.values()].find((m) => m.joinWaiter);
        if (!joined) {
          this.scheduleJoinTimeout();
          return;
        }
        this.leaderId = joined.memberId;
      }
    }
    this.generationId++;
    this.clearPendingSync();
    if (this.members.size === 0) {
      this.protocolName = null;
      this.leaderId = null;
      this.setState('Empty');
      const written = this.ctx.persist(this);
      this.emptyWrite = written;
      written.catch((err: unknown) => this.ctx.onWriteFailed?.(err, this.groupId, 'persisting an empty group failed'));
      return;
    }
    this.protocolName = this.selectProtocol();
    this.ctx.onEvent?.(
      { group: this.groupId, generation: this.generationId, members: this.members.size, protocol: this.protocolName, leader: this.leaderId },
      'group joined: new generation',
    );
    for (const m of this.members.values()) m.assignment = EMPTY_BYTES;
    this.setState('CompletingRebalance');
    for (const m of this.members.values()) {
      const resolve = m.joinWaiter;
      m.joinWaiter = null;
      m.isNew = false;
      resolve?.(this.currentJoinResult(m, m.memberId === this.leaderId));
      this.scheduleSession(m);
      this.pendingSync.add(m.memberId);
    }
    // Kafka's pending-sync timeout: members that have not sent SyncGroup within the rebalance
    // timeout are removed and the rest rebalance, also once the leader's assignment made the
    // group Stable (a follower that got its JoinGroup answer but never synced).
    const generation = this.generationId;
    this.cancelSyncTimer = this.ctx.clock.schedule(this.rebalanceTimeoutMs(), () => {
      this.cancelSyncTimer = null;
      if (this.generationId !== generation || (this.state !== 'CompletingRebalance' && this.state !== 'Stable')) return;
      if (this.pendingSync.size === 0) return;
      const missing = [...this.pendingSync];
      for (const id of missing) {
        const m = this.members.get(id);
        if (m) this.dropMember(m);
      }
      this.prepareRebalance(`members ${missing.join(', ')} did not sync in time`);
    });
  }

  /** The group's rebalance timeout: the largest of its members'. */
  private rebalanceTimeoutMs(): number {
    return Math.max(0, ...[...this.members.values()].map((m) => m.rebalanceTimeoutMs));
  }

  /** Ends the join phase at the rebalance timeout, whoever has rejoined by then. */
  private scheduleJoinTimeout(): void {
    this.cancelRebalanceTimer = this.ctx.clock.schedule(this.rebalanceTimeoutMs(), () => {
      this.cancelRebalanceTimer = null;
      if (this.state === 'PreparingRebalance') this.completeJoin();
    });
  }

  private clearPendingSync(): void {
    this.pendingSync.clear();
    this.cancelSyncTimer?.();
    this.cancelSyncTimer = null;
  }

  /** A member sent SyncGroup: it is no longer pending; the timer stops once none is. */
  private synced(memberId: string): void {
    this.pendingSync.delete(memberId);
    if (this.pendingSync.size === 0) this.clearPendingSync();
  }

  // --- SyncGroup ---------------------------------------------------------------------------

  private errorSync(errorCode: number): SyncResult {
    return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
  }

  sync(req: SyncRequest): Promise<SyncResult> {
    if (this.state === 'Dead') return Promise.resolve(this.errorSync(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const invalid = this.validateMember(req.memberId, req.groupInstanceId);
    const m = this.members.get(req.memberId);
    if (invalid !== ErrorCode.NONE || !m) return Promise.resolve(this.errorSync(invalid || ErrorCode.UNKNOWN_MEMBER_ID));
    if (req.generationId !== this.generationId) return Promise.resolve(this.errorSync(ErrorCode.ILLEGAL_GENERATION));
    if ((req.protocolType !== null && req.protocolType !== this.protocolType) || (req.protocolName !== null && req.protocolName !== this.protocolName)) {
      return Promise.resolve(this.errorSync(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    }
    switch (this.state) {
      case 'PreparingRebalance':
        return Promise.resolve(this.errorSync(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'Stable':
        // Stable once the assignment is stored: the member's is the one in the log.
        this.synced(m.memberId);
        this.scheduleSession(m);
        return Promise.resolve(this.okSync(m.assignment));
      case 'CompletingRebalance': {
        this.synced(m.memberId);
        this.cancelSession(m);
        m.syncWaiter?.(this.errorSync(ErrorCode.REBALANCE_IN_PROGRESS));
        const answer = new Promise<SyncResult>((resolve) => {
          m.syncWaiter = resolve;
        });
        if (m.memberId === this.leaderId) this.completeSync(req.assignments);
        return answer;
      }
      default:
        return Promise.resolve(this.errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private okSync(assignment: Buffer): SyncResult {
    return { errorCode: ErrorCode.NONE, protocolType: this.protocolType, protocolName: this.protocolName, assignment };
  }

  /**
   * The leader's assignment: stored, then handed to every member that is waiting for it. As in
   * Kafka, the group stays CompletingRebalance (its members without an assignment) until the
   * write is done; only then does it become Stable with the assignment. A failed write leaves
   * it as it was: the members waiting are told the error, and the group rebalances again.
   */
  private completeSync(assignments: { memberId: string; assignment: Buffer }[]): void {
    const byMember = new Map<string, Buffer>();
    for (const a of assignments) if (this.members.has(a.memberId)) byMember.set(a.memberId, a.assignment);
    const generation = this.generationId;
    const current = () => this.state === 'CompletingRebalance' && this.generationId === generation;
    this.ctx.persist(this, this.snapshot(byMember)).then(
      () => {
        if (!current()) return;
        for (const m of this.members.values()) m.assignment = byMember.get(m.memberId) ?? EMPTY_BYTES;
        this.setState('Stable');
        for (const m of this.members.values()) {
          const resolve = m.syncWaiter;
          if (!resolve) continue;
          m.syncWaiter = null;
          resolve(this.okSync(m.assignment));
          this.scheduleSession(m);
        }
      },
      (err: unknown) => {
        this.ctx.onWriteFailed?.(err, this.groupId, 'persisting an assignment failed');
        if (!current()) return;
        for (const m of this.members.values()) m.assignment = EMPTY_BYTES;
        this.failSyncWaiters(groupWriteErrorCode(err));
        this.prepareRebalance('storing the assignment failed');
      },
    );
  }

  private failSyncWaiters(errorCode: number): void {
    for (const m of this.members.values()) {
      const resolve = m.syncWaiter;
      if (!resolve) continue;
      m.syncWaiter = null;
      resolve(this.errorSync(errorCode));
      this.scheduleSession(m);
    }
  }

  // --- Heartbeat, LeaveGroup, session expiry ------------------------------------------------

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const invalid = this.validateMember(memberId, groupInstanceId);
    const m = this.members.get(memberId);
    if (invalid !== ErrorCode.NONE || !m) return invalid || ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.scheduleSession(m);
    return this.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /**
   * Removes each member (by member id or instance id): one error code per identity, and the
   * write of the group when their leaving ended a join phase with no member left (Kafka writes it
   * in the LeaveGroup's own write, so the answer waits for it and a failed write is its error).
   */
  leave(identities: MemberIdentity[]): { codes: number[]; written: Promise<void> | null } {
    const before = this.emptyWrite;
    const codes = identities.map((id) => {
      if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      let memberId = id.memberId;
      if (id.groupInstanceId !== null) {
        const current = this.instances.get(id.groupInstanceId);
        if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
        if (memberId !== '' && memberId !== current) return ErrorCode.FENCED_INSTANCE_ID;
        memberId = current;
      }
      const expiry = this.pending.get(memberId);
      if (expiry) {
        expiry();
        this.pending.delete(memberId);
        this.tryCompleteJoin();
        return ErrorCode.NONE;
      }
      const m = this.members.get(memberId);
      if (!m) return ErrorCode.UNKNOWN_MEMBER_ID;
      this.removeMemberAndRebalance(m, `member ${m.memberId} left`);
      return ErrorCode.NONE;
    });
    return { codes, written: this.emptyWrite !== before ? this.emptyWrite : null };
  }

  private dropMember(m: Member): void {
    this.cancelSession(m);
    m.joinWaiter?.(joinError(ErrorCode.UNKNOWN_MEMBER_ID, m.memberId));
    m.syncWaiter?.(this.errorSync(ErrorCode.UNKNOWN_MEMBER_ID));
    m.joinWaiter = null;
    m.syncWaiter = null;
    this.members.delete(m.memberId);
    this.pendingSync.delete(m.memberId);
    if (m.groupInstanceId !== null && this.instances.get(m.groupInstanceId) === m.memberId) this.instances.delete(m.groupInstanceId);
  }

  private removeMemberAndRebalance(m: Member, reason: string): void {
    this.dropMember(m);
    if (this.state === 'Stable' || this.state === 'CompletingRebalance') this.prepareRebalance(reason);
    else if (this.state === 'PreparingRebalance') this.tryCompleteJoin();
  }

  private cancelSession(m: Member): void {
    m.cancelSession?.();
    m.cancelSession = null;
  }

  /** (Re)starts a member's session deadline; members waiting for an answer are kept alive. */
  private scheduleSession(m: Member, timeoutMs = m.sessionTimeoutMs): void {
    this.cancelSession(m);
    if ((m.joinWaiter && !m.isNew) || m.syncWaiter) return;
    m.cancelSession = this.ctx.clock.schedule(timeoutMs, () => {
      m.cancelSession = null;
      if (this.members.get(m.memberId) === m) this.removeMemberAndRebalance(m, `member ${m.memberId} session expired`);
    });
  }

  /**
   * Checks an OffsetCommit (or, `transactional`, a TxnOffsetCommit) as Kafka 4.4's classic group
   * does. A commit without group management (generation < 0, no member or instance id) goes to
   * an Empty group, or, transactional, to a group in any state. Anything else is a member's: its
   * instance id must name a static member (UNKNOWN_MEMBER_ID) with this member id
   * (FENCED_INSTANCE_ID), the member must exist and the generation must be the group's, also a
   * generation of -1 with a member id (ILLEGAL_GENERATION). Only a plain commit waits for the
   * assignment of a rebalance (REBALANCE_IN_PROGRESS); a member's commit that passes while the
   * group is Stable or PreparingRebalance keeps its session alive.
   */
  validateOffsetCommit(memberId: string, groupInstanceId: string | null, generationId: number, transactional: boolean): number {
    if (this.state === 'Dead') return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId < 0 && this.state === 'Empty') return ErrorCode.NONE;
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      if (groupInstanceId !== null) {
        const current = this.instances.get(groupInstanceId);
        if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
        if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID;
      }
      if (!this.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!transactional && this.state !== 'Empty') {
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (transactional) return ErrorCode.NONE;
    if (this.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    const m = this.members.get(memberId);
    if (m && !m.joinWaiter && !m.syncWaiter && (this.state === 'Stable' || this.state === 'PreparingRebalance')) this.scheduleSession(m);
    return ErrorCode.NONE;
  }

  /** Topics the members subscribe to, from consumer-protocol metadata (null if not parseable). */
  subscribedTopics(parse: (metadata: Buffer) => string[] | null): Set<string> | null {
    if (this.protocolType !== 'consumer' || this.protocolName === null) return null;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const t = parse(this.metadataFor(m, this.protocolName));
      if (t === null) return null;
      for (const name of t) topics.add(name);
    }
    return topics;
  }

  describeMembers(): { memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; metadata: Buffer; assignment: Buffer }[] {
    const stable = this.state === 'Stable';
    return [...this.members.values()].map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      metadata: stable && this.protocolName ? this.metadataFor(m, this.protocolName) : EMPTY_BYTES,
      assignment: stable ? m.assignment : EMPTY_BYTES,
    }));
  }

  /** Marks the group Dead (deleted); waiters are told to find the coordinator again. */
  markDead(): void {
    this.shutdown(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    this.setState('Dead');
  }

  /** Cancels every timer and answers every waiter (broker shutdown). */
  shutdown(errorCode: number = ErrorCode.NOT_COORDINATOR): void {
    this.clearRebalanceTimers();
    this.clearPendingSync();
    for (const cancel of this.pending.values()) cancel();
    for (const m of this.members.values()) {
      this.cancelSession(m);
      m.joinWaiter?.(joinError(errorCode, m.memberId));
      m.syncWaiter?.(this.errorSync(errorCode));
      m.joinWaiter = null;
      m.syncWaiter = null;
    }
  }
}
