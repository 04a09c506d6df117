// KIP-1071 streams groups (`group.protocol=streams` in Kafka Streams): the coordinator keeps the
// application's topology, creates the internal topics it declares, computes the task assignment
// with a server-side assignor (streams-group-assignor.ts) and hands each member its active,
// standby and warm-up tasks through StreamsGroupHeartbeat, incrementally. Kafka's model, as for
// KIP-848 consumer groups (consumer-group.ts):
//
// - the group epoch moves when membership, a member's metadata, the topology or the partition
//   counts of its topics change; the target assignment is then recomputed (assignment epoch);
// - a member converges to its target one heartbeat at a time: tasks it must give up are revoked
//   first (UNREVOKED_TASKS, its epoch unchanged) and only once its heartbeat no longer reports
//   them does it move to the new epoch; an active task is handed out only once no member holds
//   it any more, and no task goes to a process that still holds it in another role
//   (UNRELEASED_TASKS until then);
// - epochs fence stale members (FENCED_MEMBER_EPOCH) and their offset commits; a member not heard
//   of for its session timeout, or not revoking within its rebalance timeout, is removed;
// - each active task remembers the member epoch it was assigned at (Kafka 4.4, KIP-1251): a
//   commit at an older member epoch is accepted for the partitions of tasks held since then;
// - the topology is validated against the cluster: missing source topics, missing internal
//   topics (created here, asynchronously) and topics that are not copartitioned are reported as
//   heartbeat statuses, with no tasks assigned until they are resolved;
// - members with an application.server endpoint learn which partitions each endpoint serves
//   (interactive queries), whenever the endpoint information epoch moved.
//
// Every change is written to the group's __consumer_offsets partition (streams-group-records.ts)
// before the heartbeat is answered, and replayed at load.
import { ErrorCode } from '../protocol/errors.js';
import type { Clock } from '../common/clock.js';
import type { StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatRequestTopology } from '../protocol/generated/streams-group-heartbeat.js';
import type { CoordinatorRecord } from './records.js';
import type { CoordinatorLogger } from './ports.js';
import { EpochGroup, EpochGroups, HeartbeatError, LEAVE_GROUP_STATIC_MEMBER_EPOCH } from './epoch-groups.js';
import { TIMER_RETRY_BACKOFF_MS, timerRetries } from './write-errors.js';
import { assignTasks, emptyTasks, type TaskMap, type Tasks } from './streams-group-assignor.js';
import {
  SG_CURRENT_MEMBER,
  SG_MEMBER_METADATA,
  SG_METADATA,
  SG_TARGET_MEMBER,
  SG_TARGET_METADATA,
  SG_TOPOLOGY,
  decodeJsonValue,
  decodeStreamsGroupKey,
  encodeJsonValue,
  encodeStreamsGroupKey,
  tasksFromJson,
  tasksToJson,
  type WireTasks,
} from './streams-group-records.js';

/** Kafka's streams MemberState values. */
export const StreamsMemberState = { STABLE: 0, UNREVOKED_TASKS: 1, UNRELEASED_TASKS: 2, UNKNOWN: 127 } as const;

/** StreamsGroupHeartbeat status codes. */
export const StreamsStatus = {
  STALE_TOPOLOGY: 0,
  MISSING_SOURCE_TOPICS: 1,
  INCORRECTLY_PARTITIONED_TOPICS: 2,
  MISSING_INTERNAL_TOPICS: 3,
  SHUTDOWN_APPLICATION: 4,
  ASSIGNMENT_DELAYED: 5,
  MISSING_CLIENT_TAGS: 6,
} as const;

export type Topology = StreamsGroupHeartbeatRequestTopology;

export interface KeyValue {
  key: string;
  value: string;
}

/** A member is what its metadata record holds (which replay assigns onto it), its assignment and timers. */
export interface StreamsMember extends MemberMetadataJson {
  memberId: string;
  memberEpoch: number;
  previousMemberEpoch: number;
  state: number;
  assigned: Tasks;
  pendingRevocation: Tasks;
  /** The member epoch at which each active task (assigned or revoking) was assigned: subtopology → partition → epoch. */
  activeEpochs: TaskEpochs;
  /** Changelog offsets the member reported (subtopology, partition, offset); informational. */
  taskOffsets: { subtopologyId: string; partition: number; offset: number }[];
  taskEndOffsets: { subtopologyId: string; partition: number; offset: number }[];
  sessionTimer: (() => void) | null;
  rebalanceTimer: (() => void) | null;
}

/** Subtopology id → task partition → the member epoch it was assigned at. */
export type TaskEpochs = Map<string, Map<number, number>>;

const cloneEpochs = (e: TaskEpochs): TaskEpochs => new Map([...e].map(([s, p]) => [s, new Map(p)]));

/**
 * A member as it first joins (or as replay first meets its metadata record): epoch 0, no tasks,
 * no timers armed yet.
 */
function newMember(memberId: string, metadata: MemberMetadataJson): StreamsMember {
  return {
    memberId,
    ...metadata,
    memberEpoch: 0,
    previousMemberEpoch: 0,
    state: StreamsMemberState.STABLE,
    assigned: emptyTasks(),
    pendingRevocation: emptyTasks(),
    activeEpochs: new Map(),
    taskOffsets: [],
    taskEndOffsets: [],
    sessionTimer: null,
    rebalanceTimer: null,
  };
}

/** The member epoch at which the member was assigned the active task (assigned or revoking), if it holds it. */
function activeTaskEpoch(m: StreamsMember, subtopologyId: string, partition: number): number | undefined {
  if (!m.assigned.active.get(subtopologyId)?.has(partition) && !m.pendingRevocation.active.get(subtopologyId)?.has(partition)) return undefined;
  return m.activeEpochs.get(subtopologyId)?.get(partition) ?? Math.max(m.memberEpoch, 0);
}

export interface StreamsStatusEntry {
  statusCode: number;
  statusDetail: string;
}

/** The topology checked against the cluster's topics. */
export interface ConfiguredTopology {
  /** subtopology id → tasks, state, and the topics its tasks read (source and repartition source). */
  subtopologies: Map<string, { tasks: number; stateful: boolean; sourceTopics: string[] }>;
  statuses: StreamsStatusEntry[];
  /** Internal topics that do not exist yet. */
  missingInternal: { name: string; partitions: number; replicationFactor: number; configs: Record<string, string> }[];
  /** Whether tasks can be assigned (every topic present and well partitioned). */
  ready: boolean;
  /** Names, ids and partition counts of the topics involved: a change moves the group epoch. */
  signature: string;
}

export class StreamsGroup extends EpochGroup<StreamsMember, Tasks> {
  topology: Topology | null = null;
  /** The topics' signature the group epoch last moved for. */
  metadata = '';
  /** The assignment configs (standbys, rack tags) the group epoch last moved for. */
  assignmentConfigs = '';
  /** In memory: moves whenever an assignment or an endpoint changes (interactive queries). */
  endpointEpoch = 1 + Math.floor(Math.random() * 1_000_000);
  /** In memory: cancels the initial rebalance delay's timer while it runs. */
  initialDelay: (() => void) | null = null;
  /** A member asked the whole application to shut down (until the group empties). */
  shutdownRequested = false;
  configured: ConfiguredTopology | null = null;

  get state(): 'Empty' | 'NotReady' | 'Assigning' | 'Reconciling' | 'Stable' {
    if (this.members.size === 0) return 'Empty';
    if (this.topology === null || (this.configured !== null && !this.configured.ready)) return 'NotReady';
    if (this.groupEpoch > this.assignmentEpoch) return 'Assigning';
    for (const m of this.members.values()) if (m.memberEpoch !== this.assignmentEpoch || m.state !== StreamsMemberState.STABLE) return 'Reconciling';
    return 'Stable';
  }

  /** The process holding the task as active (assigned or revoking), if any. */
  activeProcess(s: string, p: number): string | undefined {
    for (const m of this.members.values()) if (m.assigned.active.get(s)?.has(p) || m.pendingRevocation.active.get(s)?.has(p)) return m.processId;
    return undefined;
  }

  /** Whether a process holds the task as a standby or warm-up (assigned or revoking). */
  processHoldsReplica(processId: string, s: string, p: number): boolean {
    for (const m of this.members.values()) {
      if (m.processId !== processId) continue;
      for (const t of [m.assigned, m.pendingRevocation]) if (t.standby.get(s)?.has(p) || t.warmup.get(s)?.has(p)) return true;
    }
    return false;
  }
}

export interface StreamsHeartbeatResult {
  errorCode: number;
  errorMessage: string | null;
  memberId: string;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  acceptableRecoveryLag: number;
  taskOffsetIntervalMs: number;
  status: StreamsStatusEntry[] | null;
  activeTasks: WireTaskIds[] | null;
  standbyTasks: WireTaskIds[] | null;
  warmupTasks: WireTaskIds[] | null;
  endpointInformationEpoch: number;
  partitionsByUserEndpoint: EndpointPartitions[] | null;
}

export interface WireTaskIds {
  subtopologyId: string;
  partitions: number[];
}

export interface EndpointPartitions {
  userEndpoint: { host: string; port: number };
  activePartitions: { topic: string; partitions: number[] }[];
  standbyPartitions: { topic: string; partitions: number[] }[];
}

export interface StreamsTopicLookup {
  /** Partition count and id of a topic, or undefined when it does not exist. */
  get(name: string): { id: string; numPartitions: number } | undefined;
  names(): Iterable<string>;
}

/** What a streams group's configs decide. */
export interface StreamsGroupConfig {
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  numStandbyReplicas: number;
  rackAwareAssignmentTags: string[];
  initialRebalanceDelayMs: number;
}

export interface StreamsGroupsOptions {
  clock: Clock;
  append(groupId: string, records: CoordinatorRecord[]): Promise<void>;
  topics: StreamsTopicLookup;
  /** Creates an internal topic (rejects when it cannot). */
  createTopic?(name: string, partitions: number, configs: Record<string, string>, replicationFactor: number | undefined): Promise<void>;
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  numStandbyReplicas: number;
  /** group.streams.initial.rebalance.delay.ms: how long a new group waits for its first assignment (0 when absent). */
  initialRebalanceDelayMs?: number;
  /** group.streams.rack.aware.assignment.tags: client tag keys standbys are spread over. */
  rackAwareAssignmentTags?: string[];
  /**
   * A group's own configs (streams.* set on its GROUP config resource), each where set; the
   * broker's values above otherwise.
   */
  groupConfig?(groupId: string): Partial<StreamsGroupConfig>;
  maxSize: number;
  acceptableRecoveryLag: number;
  taskOffsetIntervalMs: number;
  logger?: CoordinatorLogger;
}

const cloneMap = (m: TaskMap): TaskMap => new Map([...m].map(([s, p]) => [s, new Set(p)]));
const cloneTasks = (t: Tasks): Tasks => ({ active: cloneMap(t.active), standby: cloneMap(t.standby), warmup: cloneMap(t.warmup) });
const mapSize = (m: TaskMap) => [...m.values()].reduce((n, s) => n + s.size, 0);
const tasksSize = (t: Tasks) => mapSize(t.active) + mapSize(t.standby) + mapSize(t.warmup);
function sameMap(a: TaskMap, b: TaskMap): boolean {
  if (mapSize(a) !== mapSize(b)) return false;
  for (const [s, parts] of a) for (const p of parts) if (!b.get(s)?.has(p)) return false;
  return true;
}
const sameTasks = (a: Tasks, b: Tasks) => sameMap(a.active, b.active) && sameMap(a.standby, b.standby) && sameMap(a.warmup, b.warmup);
function mapSubset(a: TaskMap, b: TaskMap): boolean {
  for (const [s, parts] of a) for (const p of parts) if (!b.get(s)?.has(p)) return false;
  return true;
}
function mapIntersects(a: TaskMap, b: TaskMap): boolean {
  for (const [s, parts] of a) for (const p of parts) if (b.get(s)?.has(p)) return true;
  return false;
}
const tasksIntersect = (a: Tasks, b: Tasks) => mapIntersects(a.active, b.active) || mapIntersects(a.standby, b.standby) || mapIntersects(a.warmup, b.warmup);
function fromWire(ids: { subtopologyId: string; partitions: number[] }[]): TaskMap {
  const m: TaskMap = new Map();
  for (const t of ids) {
    const set = m.get(t.subtopologyId) ?? new Set<number>();
    for (const p of t.partitions) set.add(p);
    m.set(t.subtopologyId, set);
  }
  return m;
}
export function taskIdsToWire(m: TaskMap): WireTaskIds[] {
  return [...m]
    .filter(([, p]) => p.size > 0)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([subtopologyId, p]) => ({ subtopologyId, partitions: [...p].sort((x, y) => x - y) }));
}

/** Owned tasks from a heartbeat: null when none of the three lists was sent. */
function ownedFromRequest(req: StreamsGroupHeartbeatRequest): Tasks | null {
  if (req.activeTasks === null && req.standbyTasks === null && req.warmupTasks === null) return null;
  return { active: fromWire(req.activeTasks ?? []), standby: fromWire(req.standbyTasks ?? []), warmup: fromWire(req.warmupTasks ?? []) };
}

/**
 * Where a member runs, for spreading standbys: the values of its client tags named by
 * rack.aware.assignment.tags; without such tags, its rack id (when it sent one).
 */
function placementOf(m: StreamsMember, tags: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (tags.length > 0) {
    for (const t of m.clientTags) if (tags.includes(t.key)) out.set(t.key, t.value);
  } else if (m.rackId !== null) {
    out.set('rack', m.rackId);
  }
  return out;
}

/** The rack-aware assignment tags a member did not send (MISSING_CLIENT_TAGS). */
function missingTags(m: StreamsMember, tags: string[]): string[] {
  return tags.filter((t) => !m.clientTags.some((c) => c.key === t));
}

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

/** The streams groups of a group coordinator. */
export class StreamsGroups extends EpochGroups<Tasks, StreamsMember, StreamsGroup> {
  /** Internal topics being created (name → started), so each is asked for once at a time. */
  private readonly creating = new Map<string, Promise<void>>();
  private readonly createErrors = new Map<string, string>();

  constructor(override readonly opts: StreamsGroupsOptions) {
    super(opts, 'streams');
  }

  protected override readonly unrevokedState = StreamsMemberState.UNREVOKED_TASKS;

  protected override newGroup(groupId: string): StreamsGroup {
    return new StreamsGroup(groupId);
  }

  protected override emptyAssignment(): Tasks {
    return emptyTasks();
  }

  protected override sameAssignment(a: Tasks, b: Tasks): boolean {
    return sameTasks(a, b);
  }

  /** As in Kafka, the tasks a static member keeps while away count as assigned at epoch 0. */
  protected override staticMemberLeft(m: StreamsMember): void {
    // As Kafka does: tasks it had yet to revoke go to their new owners now.
    m.pendingRevocation = emptyTasks();
    m.activeEpochs = new Map([...m.assigned.active].map(([sub, parts]) => [sub, new Map([...parts].map((p) => [p, 0]))]));
  }

  /** The group's configs: set on the group, else the broker's. */
  configOf(groupId: string): StreamsGroupConfig {
    const own = this.opts.groupConfig?.(groupId);
    return {
      heartbeatIntervalMs: own?.heartbeatIntervalMs ?? this.opts.heartbeatIntervalMs,
      sessionTimeoutMs: own?.sessionTimeoutMs ?? this.opts.sessionTimeoutMs,
      numStandbyReplicas: own?.numStandbyReplicas ?? this.opts.numStandbyReplicas,
      rackAwareAssignmentTags: own?.rackAwareAssignmentTags ?? this.opts.rackAwareAssignmentTags ?? [],
      initialRebalanceDelayMs: own?.initialRebalanceDelayMs ?? this.opts.initialRebalanceDelayMs ?? 0,
    };
  }

  /** The initial rebalance delay is over: the group's first target assignment. */
  private delayedAssignment(group: StreamsGroup): void {
    group.initialDelay = null;
    if (this.stopped || this.groups.get(group.groupId) !== group || group.members.size === 0) return;
    // A new group epoch, whose target is the first real assignment. A failed write is undone, as
    // Kafka's runtime reverts it; there the next heartbeat then computes the target, here the
    // delay's end runs again 500 ms later (our heartbeats during the delay already took an
    // empty target at the group epoch).
    void this.runHeartbeat(
      group.groupId,
      () => undefined,
      (records) => {
        group.groupEpoch++;
        records.push(this.epochRecord(group));
        this.computeTarget(group, this.configure(group), records);
      },
      [],
      (err) => {
        if (this.stopped || !timerRetries(err) || this.groups.get(group.groupId) !== group || group.initialDelay !== null) return;
        group.initialDelay = this.opts.clock.schedule(TIMER_RETRY_BACKOFF_MS, () => this.delayedAssignment(group));
      },
    );
  }

  override unload(mine: (groupId: string) => boolean): void {
    for (const g of this.groups.values()) if (mine(g.groupId)) this.cancelInitialDelay(g);
    super.unload(mine);
  }

  override shutdown(): void {
    for (const g of this.groups.values()) this.cancelInitialDelay(g);
    super.shutdown();
  }

  protected override restoreFields(group: StreamsGroup, fields: Record<string, unknown>): void {
    // An initial rebalance delay the undone heartbeat started stops with it.
    if (group.initialDelay !== fields['initialDelay']) this.cancelInitialDelay(group);
    super.restoreFields(group, fields);
  }

  protected override discardTimers(group: StreamsGroup): void {
    this.cancelInitialDelay(group);
    super.discardTimers(group);
  }

  private cancelInitialDelay(g: StreamsGroup): void {
    g.initialDelay?.();
    g.initialDelay = null;
  }

  protected override sessionTimeoutOf(group: StreamsGroup): number {
    return this.configOf(group.groupId).sessionTimeoutMs;
  }

  protected override memberRemoved(group: StreamsGroup): void {
    group.endpointEpoch++;
    if (group.members.size === 0) group.shutdownRequested = false;
  }

  // --- validation -------------------------------------------------------------------------------

  /**
   * The checks of the request itself (INVALID_REQUEST, STREAMS_INVALID_TOPOLOGY), which Kafka's
   * group coordinator service makes before the group's partition is looked at: throws HeartbeatError.
   */
  checkRequest(req: StreamsGroupHeartbeatRequest): void {
    const bad = (msg: string) => new HeartbeatError(ErrorCode.INVALID_REQUEST, msg);
    if (req.groupId === '') throw bad("GroupId can't be empty.");
    if (req.memberId === '') throw bad("MemberId can't be empty.");
    if (req.instanceId === '') throw bad("InstanceId can't be empty.");
    if (req.rackId === '') throw bad("RackId can't be empty.");
    if (req.memberEpoch === 0) {
      if (req.rebalanceTimeoutMs === -1) throw bad('RebalanceTimeoutMs must be provided in first request.');
      if (req.topology === null) throw bad('Topology must be non-null when (re-)joining.');
      if (req.processId === null || req.processId === '') throw bad('ProcessId must be provided in first request.');
      for (const [name, list] of [
        ['ActiveTasks', req.activeTasks],
        ['StandbyTasks', req.standbyTasks],
        ['WarmupTasks', req.warmupTasks],
      ] as const) {
        if (list !== null && list.length > 0) throw bad(`${name} must be empty when (re-)joining.`);
      }
      this.validateTopology(req.topology);
    } else if (req.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      if (req.instanceId === null) throw bad("InstanceId can't be null.");
    } else if (req.memberEpoch < LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      throw bad(`MemberEpoch is invalid: ${req.memberEpoch}`);
    }
    if (req.processId === '') throw bad("ProcessId can't be empty.");
  }

  /** STREAMS_INVALID_TOPOLOGY for a topology that cannot be right whatever the cluster holds. */
  private validateTopology(t: Topology): void {
    const invalid = (msg: string) => new HeartbeatError(ErrorCode.STREAMS_INVALID_TOPOLOGY, msg);
    const ids = new Set<string>();
    const internal = new Set<string>();
    for (const s of t.subtopologies) {
      if (s.subtopologyId === '' || ids.has(s.subtopologyId)) throw invalid(`Subtopology id '${s.subtopologyId}' is empty or duplicated.`);
      ids.add(s.subtopologyId);
      for (const topic of [...s.stateChangelogTopics, ...s.repartitionSourceTopics]) {
        if (!LEGAL_TOPIC.test(topic.name) || topic.name === '.' || topic.name === '..') throw invalid(`Internal topic name '${topic.name}' is not a legal topic name.`);
        if (topic.partitions < 0) throw invalid(`Internal topic '${topic.name}' has a negative partition count.`);
      }
      for (const c of s.stateChangelogTopics) internal.add(c.name);
      for (const g of s.copartitionGroups) {
        if (g.sourceTopics.some((i) => i < 0 || i >= s.sourceTopics.length))
          throw invalid(`Copartition group of subtopology ${s.subtopologyId} names a source topic index out of range.`);
        if (g.repartitionSourceTopics.some((i) => i < 0 || i >= s.repartitionSourceTopics.length))
          throw invalid(`Copartition group of subtopology ${s.subtopologyId} names a repartition source topic index out of range.`);
        if (g.sourceTopicRegex.some((i) => i < 0 || i >= s.sourceTopicRegex.length))
          throw invalid(`Copartition group of subtopology ${s.subtopologyId} names a regex index out of range.`);
      }
      for (const r of s.sourceTopicRegex) {
        try {
          new RegExp(r, 'u');
        } catch {
          throw invalid(`Source topic regex '${r}' of subtopology ${s.subtopologyId} is invalid.`);
        }
      }
    }
    for (const s of t.subtopologies) {
      for (const src of s.sourceTopics) if (internal.has(src)) throw invalid(`Changelog topic ${src} is also a source topic.`);
    }
  }

  // --- heartbeat --------------------------------------------------------------------------------

  /** `replaced`: the tombstones of an empty group of another type this group takes the place of. */
  async heartbeat(req: StreamsGroupHeartbeatRequest, clientId: string, clientHost: string, replaced: readonly CoordinatorRecord[] = []): Promise<StreamsHeartbeatResult> {
    return this.runHeartbeat(
      req.groupId,
      (code, message) => this.fail(req, code, message),
      (records) => {
        this.checkRequest(req);
        return req.memberEpoch < 0 ? this.leave(req, records) : this.join(req, clientId, clientHost, records);
      },
      replaced,
    );
  }

  fail(req: { memberId: string }, code: number, message: string | null): StreamsHeartbeatResult {
    return {
      errorCode: code,
      errorMessage: message,
      memberId: req.memberId,
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
      acceptableRecoveryLag: this.opts.acceptableRecoveryLag,
      taskOffsetIntervalMs: this.opts.taskOffsetIntervalMs,
      status: null,
      activeTasks: null,
      standbyTasks: null,
      warmupTasks: null,
      endpointInformationEpoch: 0,
      partitionsByUserEndpoint: null,
    };
  }

  private leave(req: StreamsGroupHeartbeatRequest, records: CoordinatorRecord[]): StreamsHeartbeatResult {
    // A static member that will come back (epoch -2) keeps its tasks until its session ends.
    const { member } = this.leaveMember(req, records);
    return { ...this.fail(req, ErrorCode.NONE, null), memberId: member.memberId, memberEpoch: req.memberEpoch };
  }

  private join(req: StreamsGroupHeartbeatRequest, clientId: string, clientHost: string, records: CoordinatorRecord[]): StreamsHeartbeatResult {
    const group = this.joiningGroup(req);
    const config = this.configOf(group.groupId);
    const wasEmpty = group.members.size === 0;
    let member = group.members.get(req.memberId);
    let changed = false;
    const owned = ownedFromRequest(req);
    if (req.memberEpoch === 0) {
      // A static member back under a new member id takes over its predecessor's tasks.
      const takeOver = (old: StreamsMember): StreamsMember => ({
        ...old,
        memberId: req.memberId,
        memberEpoch: old.previousMemberEpoch,
        activeEpochs: cloneEpochs(old.activeEpochs),
        sessionTimer: null,
        rebalanceTimer: null,
      });
      ({ member, changed } = this.rejoinMember(group, req, member, takeOver, records));
      if (!member) {
        member = newMember(req.memberId, {
          instanceId: req.instanceId,
          rackId: req.rackId,
          clientId,
          clientHost,
          rebalanceTimeoutMs: req.rebalanceTimeoutMs,
          topologyEpoch: req.topology!.epoch,
          processId: req.processId!,
          userEndpoint: req.userEndpoint,
          clientTags: req.clientTags ?? [],
        });
        this.addMember(group, member);
        changed = true;
      }
      // The topology: set by the first member of an empty group (or one alone in it).
      const t = req.topology!;
      const others = [...group.members.values()].filter((m) => m !== member).length;
      if (group.topology === null || others === 0) {
        if (group.topology === null || JSON.stringify(group.topology) !== JSON.stringify(t)) {
          group.topology = t;
          group.configured = null;
          records.push({ key: encodeStreamsGroupKey(SG_TOPOLOGY, group.groupId), value: encodeJsonValue(t) });
          changed = true;
        }
      } else if (t.epoch > group.topology.epoch) {
        throw new HeartbeatError(
          ErrorCode.STREAMS_INVALID_TOPOLOGY_EPOCH,
          `Topology epoch ${t.epoch} is newer than the group's (${group.topology.epoch}): topology updates of a group with members are not supported.`,
        );
      }
    } else {
      if (!member) throw new HeartbeatError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${req.memberId} is not a member of group ${req.groupId}.`);
      if (req.memberEpoch !== member.memberEpoch) {
        // A member that missed our last answer retries with its previous epoch.
        const ok = req.memberEpoch === member.previousMemberEpoch && owned !== null && mapSubset(owned.active, member.assigned.active);
        if (!ok) {
          throw new HeartbeatError(
            ErrorCode.FENCED_MEMBER_EPOCH,
            `The streams group member has a smaller member epoch (${req.memberEpoch}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its tasks and rejoin.`,
          );
        }
      }
    }
    if (req.shutdownApplication && !group.shutdownRequested) {
      group.shutdownRequested = true;
      this.opts.logger?.info({ group: group.groupId, member: member.memberId }, 'streams group: a member requested the shutdown of the application');
    }
    this.saveMember(group, member);
    // Member metadata (a null field means "unchanged").
    const before = this.metadataJson(member);
    if (req.instanceId !== null) member.instanceId = req.instanceId;
    if (req.rackId !== null) member.rackId = req.rackId;
    if (req.rebalanceTimeoutMs !== -1) member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    if (req.topology !== null) member.topologyEpoch = req.topology.epoch;
    if (req.processId !== null) member.processId = req.processId;
    if (req.userEndpoint !== null) member.userEndpoint = req.userEndpoint;
    if (req.clientTags !== null) member.clientTags = req.clientTags;
    member.clientId = clientId;
    member.clientHost = clientHost;
    const endpointBefore = JSON.stringify(member.userEndpoint);
    if (req.taskOffsets !== null) member.taskOffsets = req.taskOffsets;
    if (req.taskEndOffsets !== null) member.taskEndOffsets = req.taskEndOffsets;
    if (changed || before !== this.metadataJson(member)) {
      records.push(this.memberMetadataRecord(group, member));
      changed = true;
    }
    // The topology against the topics: a change of their partition counts moves the epoch too.
    const configured = this.configure(group);
    const metadataChanged = configured.signature !== group.metadata;
    // A change of the group's assignment configs (GROUP config resource) moves the epoch too.
    const assignmentConfigs = JSON.stringify([config.numStandbyReplicas, config.rackAwareAssignmentTags]);
    if (changed || metadataChanged || assignmentConfigs !== group.assignmentConfigs) {
      group.groupEpoch++;
      group.metadata = configured.signature;
      group.assignmentConfigs = assignmentConfigs;
      records.push(this.epochRecord(group));
    }
    // The first member of an empty group: the first assignment waits for the initial rebalance
    // delay, so that the application's other members can join first (Kafka's
    // streams.initial.rebalance.delay.ms); heartbeats until then say ASSIGNMENT_DELAYED.
    if (wasEmpty && group.groupEpoch > group.assignmentEpoch && config.initialRebalanceDelayMs > 0 && group.initialDelay === null) {
      group.initialDelay = this.opts.clock.schedule(config.initialRebalanceDelayMs, () => this.delayedAssignment(group));
    }
    if (group.groupEpoch > group.assignmentEpoch) {
      // While delayed, the members get an empty target at the group epoch: they join with an
      // epoch (a member left at epoch 0 would have to join again) and no tasks.
      if (group.initialDelay === null) this.computeTarget(group, configured, records);
      else this.setTarget(group, new Map([...group.members.keys()].map((id) => [id, emptyTasks()])), records);
    }
    const prevAssigned = cloneTasks(member.assigned);
    const prevEpoch = member.memberEpoch;
    if (this.reconcile(group, member, owned)) records.push(this.currentRecord(group, member));
    const assignmentChanged = !sameTasks(prevAssigned, member.assigned);
    if (assignmentChanged || JSON.stringify(member.userEndpoint) !== endpointBefore || changed) group.endpointEpoch++;
    this.armTimers(group, member);
    const sendAssignment = req.memberEpoch === 0 || prevEpoch !== member.memberEpoch || assignmentChanged || (owned !== null && !sameTasks(owned, member.assigned));
    const status = [...configured.statuses];
    if (group.topology !== null && member.topologyEpoch < group.topology.epoch) {
      status.push({
        statusCode: StreamsStatus.STALE_TOPOLOGY,
        statusDetail: `The member's topology epoch ${member.topologyEpoch} is older than the group's ${group.topology.epoch}.`,
      });
    }
    if (group.shutdownRequested)
      status.push({ statusCode: StreamsStatus.SHUTDOWN_APPLICATION, statusDetail: 'A KafkaStreams instance requested the shutdown of the application.' });
    if (group.initialDelay !== null)
      status.push({ statusCode: StreamsStatus.ASSIGNMENT_DELAYED, statusDetail: 'Assignment delayed due to the configured initial rebalance delay.' });
    // Answered from StreamsGroupHeartbeat v1 on (version 0 clients do not know the code).
    const missing = missingTags(member, config.rackAwareAssignmentTags);
    if (missing.length > 0) {
      status.push({
        statusCode: StreamsStatus.MISSING_CLIENT_TAGS,
        statusDetail: `Missing required client tags for rack-aware standby assignment: [${missing.join(', ')}]. Configure them via 'client.tag.<tagKey>' in your Streams config.`,
      });
    }
    return {
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      memberId: member.memberId,
      memberEpoch: member.memberEpoch,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      acceptableRecoveryLag: this.opts.acceptableRecoveryLag,
      taskOffsetIntervalMs: this.opts.taskOffsetIntervalMs,
      status,
      activeTasks: sendAssignment ? taskIdsToWire(member.assigned.active) : null,
      standbyTasks: sendAssignment ? taskIdsToWire(member.assigned.standby) : null,
      warmupTasks: sendAssignment ? taskIdsToWire(member.assigned.warmup) : null,
      endpointInformationEpoch: group.endpointEpoch,
      partitionsByUserEndpoint: req.endpointInformationEpoch !== group.endpointEpoch ? this.endpoints(group) : null,
    };
  }

  private metadataJson(m: StreamsMember): string {
    return JSON.stringify([m.instanceId, m.rackId, m.rebalanceTimeoutMs, m.topologyEpoch, m.processId, m.userEndpoint, m.clientTags]);
  }

  /** Interactive queries: the partitions each member's endpoint serves. */
  private endpoints(group: StreamsGroup): EndpointPartitions[] {
    const sources: ReadonlyMap<string, { sourceTopics: string[] }> = group.configured?.subtopologies ?? new Map<string, { sourceTopics: string[] }>();
    const toPartitions = (maps: TaskMap[]) => {
      const byTopic = new Map<string, Set<number>>();
      for (const m of maps)
        for (const [s, parts] of m)
          for (const topic of sources.get(s)?.sourceTopics ?? []) {
            const set = byTopic.get(topic) ?? new Set<number>();
            for (const p of parts) set.add(p);
            byTopic.set(topic, set);
          }
      return [...byTopic].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([topic, p]) => ({ topic, partitions: [...p].sort((x, y) => x - y) }));
    };
    const out: EndpointPartitions[] = [];
    for (const m of [...group.members.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : 1))) {
      if (m.userEndpoint === null) continue;
      out.push({
        userEndpoint: m.userEndpoint,
        activePartitions: toPartitions([m.assigned.active]),
        standbyPartitions: toPartitions([m.assigned.standby, m.assigned.warmup]),
      });
    }
    return out;
  }

  // --- topology against the cluster -------------------------------------------------------------

  /** Checks the group's topology against the topics; starts creating missing internal topics. */
  configure(group: StreamsGroup): ConfiguredTopology {
    const result = this.configureTopology(group.topology);
    group.configured = result;
    for (const t of result.missingInternal) this.createInternal(t);
    return result;
  }

  private configureTopology(topology: Topology | null): ConfiguredTopology {
    const out: ConfiguredTopology = { subtopologies: new Map(), statuses: [], missingInternal: [], ready: false, signature: '' };
    if (topology === null) return out;
    const lookup = this.opts.topics;
    const involved = new Set<string>();
    const repartitionNames = new Set(topology.subtopologies.flatMap((s) => s.repartitionSourceTopics.map((t) => t.name)));
    // Source topics, with those the regexes match.
    const allNames = [...lookup.names()].filter((n) => !n.startsWith('__'));
    const sourcesOf = new Map<string, string[]>();
    const missing = new Set<string>();
    for (const s of topology.subtopologies) {
      const names = new Set(s.sourceTopics);
      for (const r of s.sourceTopicRegex) {
        let matched: string[] = [];
        try {
          const re = new RegExp(`^(?:${r})$`, 'u');
          matched = allNames.filter((n) => re.test(n));
        } catch {
          // Checked at join; a regex that cannot be compiled matches nothing.
        }
        if (matched.length === 0) missing.add(`regex ${r}`);
        for (const n of matched) names.add(n);
      }
      for (const n of names) {
        if (repartitionNames.has(n)) continue;
        involved.add(n);
        if (!lookup.get(n)) missing.add(n);
      }
      sourcesOf.set(
        s.subtopologyId,
        [...names].filter((n) => !repartitionNames.has(n)),
      );
    }
    const signature = () =>
      JSON.stringify(
        [...involved].sort().map((n) => {
          const t = lookup.get(n);
          return [n, t?.id ?? null, t?.numPartitions ?? -1];
        }),
      );
    if (missing.size > 0) {
      out.statuses.push({ statusCode: StreamsStatus.MISSING_SOURCE_TOPICS, statusDetail: `Source topics ${[...missing].sort().join(', ')} are missing.` });
      out.signature = signature();
      return out;
    }
    const count = (n: string) => lookup.get(n)?.numPartitions ?? 0;
    // Repartition topics: a fixed count, else the most partitions of the subtopologies writing them.
    const repartition = new Map<string, number>();
    const fixed = new Set<string>();
    for (const s of topology.subtopologies)
      for (const t of s.repartitionSourceTopics)
        if (t.partitions > 0) {
          repartition.set(t.name, t.partitions);
          fixed.add(t.name);
        }
    const maxInput = (s: (typeof topology.subtopologies)[number]): number => {
      let n = 0;
      for (const src of sourcesOf.get(s.subtopologyId) ?? []) n = Math.max(n, count(src));
      for (const r of s.repartitionSourceTopics) n = Math.max(n, repartition.get(r.name) ?? 0);
      return n;
    };
    for (let round = 0; round <= topology.subtopologies.length; round++) {
      let progress = false;
      for (const s of topology.subtopologies) {
        const n = maxInput(s);
        if (n === 0) continue;
        for (const sink of s.repartitionSinkTopics) {
          if (!repartitionNames.has(sink) || fixed.has(sink)) continue;
          if ((repartition.get(sink) ?? 0) < n) {
            repartition.set(sink, n);
            progress = true;
          }
        }
      }
      if (!progress) break;
    }
    // Copartitioned topics share one partition count.
    const incorrect: string[] = [];
    for (const s of topology.subtopologies) {
      for (const g of s.copartitionGroups) {
        const external = g.sourceTopics.map((i) => s.sourceTopics[i]!).filter((n) => !repartitionNames.has(n));
        const internal = g.repartitionSourceTopics.map((i) => s.repartitionSourceTopics[i]!.name);
        const counts = new Set(external.map(count));
        if (counts.size > 1) {
          incorrect.push(`Following topics do not have the same number of partitions: [${external.sort().join(', ')}]`);
          continue;
        }
        const fixedCounts = internal.filter((n) => fixed.has(n)).map((n) => repartition.get(n)!);
        const n = counts.size === 1 ? [...counts][0]! : fixedCounts.length > 0 ? Math.max(...fixedCounts) : Math.max(0, ...internal.map((x) => repartition.get(x) ?? 0));
        for (const name of internal) {
          if (fixed.has(name) && repartition.get(name) !== n)
            incorrect.push(`Repartition topic ${name} has ${repartition.get(name)} partitions, but must be copartitioned with ${n}.`);
          else repartition.set(name, n);
        }
      }
    }
    // Tasks per subtopology; changelogs have one partition per task.
    const internalTopics: { name: string; partitions: number; replicationFactor: number; configs: Record<string, string> }[] = [];
    for (const s of topology.subtopologies) {
      const tasks = maxInput(s);
      if (tasks === 0) {
        out.statuses.push({
          statusCode: StreamsStatus.MISSING_SOURCE_TOPICS,
          statusDetail: `The partition count of the source topics of subtopology ${s.subtopologyId} cannot be determined.`,
        });
        out.signature = signature();
        return out;
      }
      out.subtopologies.set(s.subtopologyId, {
        tasks,
        stateful: s.stateChangelogTopics.length > 0,
        sourceTopics: [...(sourcesOf.get(s.subtopologyId) ?? []), ...s.repartitionSourceTopics.map((t) => t.name)],
      });
      const cfg = (kv: { key: string; value: string }[]) => Object.fromEntries(kv.map((c) => [c.key, c.value]));
      for (const r of s.repartitionSourceTopics)
        internalTopics.push({ name: r.name, partitions: repartition.get(r.name) ?? tasks, replicationFactor: r.replicationFactor, configs: cfg(r.topicConfigs) });
      for (const c of s.stateChangelogTopics) internalTopics.push({ name: c.name, partitions: tasks, replicationFactor: c.replicationFactor, configs: cfg(c.topicConfigs) });
    }
    for (const t of internalTopics) {
      involved.add(t.name);
      const existing = lookup.get(t.name);
      if (!existing) out.missingInternal.push(t);
      else if (existing.numPartitions !== t.partitions) incorrect.push(`Internal topic ${t.name} has ${existing.numPartitions} partitions, expected ${t.partitions}.`);
    }
    if (incorrect.length > 0) out.statuses.push({ statusCode: StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS, statusDetail: incorrect.join(' ') });
    if (out.missingInternal.length > 0) {
      const errors = out.missingInternal.map((t) => this.createErrors.get(t.name)).filter((e) => e !== undefined);
      out.statuses.push({
        statusCode: StreamsStatus.MISSING_INTERNAL_TOPICS,
        statusDetail: `Internal topics are missing: [${out.missingInternal.map((t) => t.name).join(', ')}]${errors.length > 0 ? `; creating them failed: ${errors.join('; ')}` : ''}`,
      });
    }
    out.ready = incorrect.length === 0 && out.missingInternal.length === 0;
    out.signature = signature();
    return out;
  }

  private createInternal(t: { name: string; partitions: number; replicationFactor: number; configs: Record<string, string> }): void {
    if (this.creating.has(t.name) || !this.opts.createTopic) return;
    const p = this.opts
      .createTopic(t.name, t.partitions, t.configs, t.replicationFactor > 0 ? t.replicationFactor : undefined)
      .then(() => {
        this.createErrors.delete(t.name);
        this.opts.logger?.info({ topic: t.name, partitions: t.partitions }, 'streams group: internal topic created');
      })
      .catch((err: unknown) => {
        // Created meanwhile by someone else is fine; anything else shows in the status detail.
        if (this.opts.topics.get(t.name)) return;
        const msg = err instanceof Error ? err.message : String(err);
        this.createErrors.set(t.name, `${t.name}: ${msg}`);
        this.opts.logger?.warn({ topic: t.name, err: msg }, 'streams group: creating an internal topic failed');
      })
      .finally(() => this.creating.delete(t.name));
    this.creating.set(t.name, p);
  }

  // --- assignment -------------------------------------------------------------------------------

  private computeTarget(group: StreamsGroup, configured: ConfiguredTopology, records: CoordinatorRecord[]): void {
    const subtopologies = configured.ready
      ? new Map([...configured.subtopologies].map(([id, s]) => [id, { tasks: s.tasks, stateful: s.stateful }]))
      : new Map<string, { tasks: number; stateful: boolean }>();
    const config = this.configOf(group.groupId);
    const result = assignTasks({
      members: [...group.members.values()].map((m) => ({
        memberId: m.memberId,
        processId: m.processId,
        previous: group.target.get(m.memberId) ?? m.assigned,
        placement: placementOf(m, config.rackAwareAssignmentTags),
      })),
      subtopologies,
      numStandbyReplicas: config.numStandbyReplicas,
    });
    this.setTarget(group, result, records);
  }

  /**
   * Moves a member one step towards its target (Kafka's streams CurrentAssignmentBuilder).
   * `owned` is what its heartbeat reports (null: unchanged). Returns whether the member changed.
   */
  private reconcile(group: StreamsGroup, m: StreamsMember, owned: Tasks | null): boolean {
    if (m.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) return false;
    this.saveMember(group, m);
    const target = group.target.get(m.memberId) ?? emptyTasks();
    if (m.state === StreamsMemberState.UNREVOKED_TASKS) {
      if (owned === null || tasksIntersect(owned, m.pendingRevocation)) return false;
      m.pendingRevocation = emptyTasks();
    } else if (m.state === StreamsMemberState.STABLE && m.memberEpoch === group.assignmentEpoch) {
      return false;
    }
    const keep = emptyTasks();
    const revoke = emptyTasks();
    const pending = emptyTasks();
    let unreleased = false;
    for (const kind of ['active', 'standby', 'warmup'] as const) {
      for (const [s, parts] of m.assigned[kind])
        for (const p of parts) {
          const into = target[kind].get(s)?.has(p) ? keep : revoke;
          const set = into[kind].get(s) ?? new Set<number>();
          set.add(p);
          into[kind].set(s, set);
        }
      for (const [s, parts] of target[kind])
        for (const p of parts) {
          if (keep[kind].get(s)?.has(p)) continue;
          const held =
            kind === 'active'
              ? group.activeProcess(s, p) !== undefined || group.processHoldsReplica(m.processId, s, p)
              : group.activeProcess(s, p) === m.processId || group.processHoldsReplica(m.processId, s, p);
          if (held) {
            unreleased = true;
            continue;
          }
          const set = pending[kind].get(s) ?? new Set<number>();
          set.add(p);
          pending[kind].set(s, set);
        }
    }
    const mustRevoke = tasksSize(revoke) > 0 && (owned === null || tasksIntersect(owned, revoke));
    if (mustRevoke) {
      m.assigned = keep;
      m.pendingRevocation = revoke;
      m.state = StreamsMemberState.UNREVOKED_TASKS;
      return true;
    }
    const next = keep;
    for (const kind of ['active', 'standby', 'warmup'] as const)
      for (const [s, parts] of pending[kind]) {
        const set = next[kind].get(s) ?? new Set<number>();
        for (const p of parts) set.add(p);
        next[kind].set(s, set);
      }
    const state = unreleased ? StreamsMemberState.UNRELEASED_TASKS : StreamsMemberState.STABLE;
    if (m.memberEpoch === group.assignmentEpoch && m.state === state && sameTasks(next, m.assigned) && tasksSize(m.pendingRevocation) === 0) return false;
    EpochGroups.toAssignmentEpoch(m, group.assignmentEpoch);
    // An active task kept keeps the epoch it was assigned at; one it receives is assigned at the new epoch.
    const assignedAt: TaskEpochs = new Map();
    for (const [sub, parts] of next.active) {
      const byPartition = new Map<number, number>();
      for (const p of parts) byPartition.set(p, (m.assigned.active.get(sub)?.has(p) ? m.activeEpochs.get(sub)?.get(p) : undefined) ?? group.assignmentEpoch);
      assignedAt.set(sub, byPartition);
    }
    m.activeEpochs = assignedAt;
    m.assigned = next;
    m.pendingRevocation = emptyTasks();
    m.state = state;
    return true;
  }

  // --- records ----------------------------------------------------------------------------------

  protected override epochRecord(group: StreamsGroup): CoordinatorRecord {
    return {
      key: encodeStreamsGroupKey(SG_METADATA, group.groupId),
      value: encodeJsonValue({ epoch: group.groupEpoch, metadata: group.metadata, assignmentConfigs: group.assignmentConfigs }),
    };
  }

  protected override assignmentEpochRecord(group: StreamsGroup): CoordinatorRecord {
    return { key: encodeStreamsGroupKey(SG_TARGET_METADATA, group.groupId), value: encodeJsonValue({ epoch: group.assignmentEpoch }) };
  }

  protected override groupTombstones(groupId: string): CoordinatorRecord[] {
    return [SG_TARGET_METADATA, SG_TOPOLOGY, SG_METADATA].map((type) => ({ key: encodeStreamsGroupKey(type, groupId), value: null }));
  }

  protected override targetRecord(group: StreamsGroup, memberId: string, target: Tasks): CoordinatorRecord {
    return { key: encodeStreamsGroupKey(SG_TARGET_MEMBER, group.groupId, memberId), value: encodeJsonValue(tasksToJson(target)) };
  }

  protected override memberTombstones(groupId: string, memberId: string): CoordinatorRecord[] {
    return [SG_CURRENT_MEMBER, SG_TARGET_MEMBER, SG_MEMBER_METADATA].map((type) => ({ key: encodeStreamsGroupKey(type, groupId, memberId), value: null }));
  }

  protected override memberMetadataRecord(group: StreamsGroup, m: StreamsMember): CoordinatorRecord {
    const v: MemberMetadataJson = {
      instanceId: m.instanceId,
      rackId: m.rackId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      topologyEpoch: m.topologyEpoch,
      processId: m.processId,
      userEndpoint: m.userEndpoint,
      clientTags: m.clientTags,
    };
    return { key: encodeStreamsGroupKey(SG_MEMBER_METADATA, group.groupId, m.memberId), value: encodeJsonValue(v) };
  }

  protected override currentRecord(group: StreamsGroup, m: StreamsMember): CoordinatorRecord {
    const v: CurrentJson = {
      memberEpoch: m.memberEpoch,
      previousMemberEpoch: m.previousMemberEpoch,
      state: m.state,
      assigned: tasksToJson(m.assigned),
      pendingRevocation: tasksToJson(m.pendingRevocation),
      activeEpochs: [...m.activeEpochs].map(([subtopologyId, parts]) => ({ subtopologyId, partitions: [...parts.keys()], epochs: [...parts.values()] })),
    };
    return { key: encodeStreamsGroupKey(SG_CURRENT_MEMBER, group.groupId, m.memberId), value: encodeJsonValue(v) };
  }

  // --- offsets, admin ---------------------------------------------------------------------------

  /**
   * Offset commits (EpochGroups.validateOffsetCommit): a partition is held through the active
   * task reading it, i.e. the task of its subtopology with its partition number.
   */
  protected partitionHeldSince(group: StreamsGroup, m: StreamsMember): (topic: string, partition: number) => number | undefined {
    const configured = group.configured ?? this.configureTopology(group.topology);
    return (topic, partition) => {
      let sub: string | undefined;
      for (const [id, s] of configured.subtopologies) if (s.sourceTopics.includes(topic)) sub = id;
      return sub === undefined ? undefined : activeTaskEpoch(m, sub, partition);
    };
  }

  /** Offset fetches by a member at its current epoch exactly, or by an admin (empty member id, negative epoch). */
  /**
   * Whether the topology of a group with members reads the topic, as a source or a repartition
   * source topic (OffsetDelete answers GROUP_SUBSCRIBED_TO_TOPIC for it).
   */
  isSubscribedToTopic(groupId: string, topic: string): boolean {
    const group = this.groups.get(groupId);
    if (!group || group.members.size === 0 || group.topology === null) return false;
    return group.topology.subtopologies.some((s) => s.sourceTopics.includes(topic) || s.repartitionSourceTopics.some((r) => r.name === topic));
  }

  /** The topics a group reads (for offset expiry): its source and repartition topics. */
  subscribedTopics(groupId: string): Set<string> {
    const g = this.groups.get(groupId);
    const out = new Set<string>();
    for (const s of g?.configured?.subtopologies.values() ?? []) for (const t of s.sourceTopics) out.add(t);
    return out;
  }

  // --- load -------------------------------------------------------------------------------------

  /** Applies a streams group record read back from __consumer_offsets; false if it is not one. */
  replay(key: Buffer, value: Buffer | null): boolean {
    const k = decodeStreamsGroupKey(key);
    if (!k) return false;
    if (k.type === SG_METADATA) {
      if (value === null) this.groups.delete(k.group);
      else {
        const v = decodeJsonValue<{ epoch: number; metadata: string; assignmentConfigs?: string }>(value);
        const g = this.loading(k.group);
        g.groupEpoch = v.epoch;
        g.metadata = v.metadata;
        g.assignmentConfigs = v.assignmentConfigs ?? '';
      }
      return true;
    }
    const g = value === null ? this.groups.get(k.group) : this.loading(k.group);
    if (!g) return true;
    const memberId = k.memberId ?? '';
    switch (k.type) {
      case SG_TOPOLOGY:
        g.topology = value === null ? null : decodeJsonValue<Topology>(value);
        g.configured = null;
        break;
      case SG_TARGET_METADATA:
        g.assignmentEpoch = value === null ? 0 : decodeJsonValue<{ epoch: number }>(value).epoch;
        break;
      case SG_TARGET_MEMBER:
        if (value === null) g.target.delete(memberId);
        else g.target.set(memberId, tasksFromJson(decodeJsonValue<WireTasks>(value)));
        break;
      case SG_MEMBER_METADATA: {
        if (value === null) {
          g.members.delete(memberId);
          break;
        }
        const v = decodeJsonValue<MemberMetadataJson>(value);
        const m = g.members.get(memberId);
        if (m) Object.assign(m, v);
        else g.members.set(memberId, newMember(memberId, v));
        break;
      }
      case SG_CURRENT_MEMBER: {
        const m = g.members.get(memberId);
        if (m && value !== null) {
          const v = decodeJsonValue<CurrentJson>(value);
          m.memberEpoch = v.memberEpoch;
          m.previousMemberEpoch = v.previousMemberEpoch;
          m.state = v.state;
          m.assigned = tasksFromJson(v.assigned);
          m.pendingRevocation = tasksFromJson(v.pendingRevocation);
          // Records written before assignment epochs existed: every task counts as assigned at the member epoch.
          const fallback = Math.max(v.memberEpoch, 0);
          m.activeEpochs = new Map();
          for (const tasks of [m.assigned.active, m.pendingRevocation.active])
            for (const [sub, parts] of tasks) {
              const byPartition = m.activeEpochs.get(sub) ?? new Map<number, number>();
              for (const p of parts) byPartition.set(p, fallback);
              m.activeEpochs.set(sub, byPartition);
            }
          for (const e of v.activeEpochs ?? []) {
            const byPartition = m.activeEpochs.get(e.subtopologyId);
            for (let i = 0; byPartition && i < e.partitions.length; i++) {
              const [p, epoch] = [e.partitions[i]!, e.epochs[i]];
              if (byPartition.has(p) && epoch !== undefined) byPartition.set(p, epoch);
            }
          }
        }
        break;
      }
    }
    return true;
  }

  /** After replay (of the groups `mine` selects): members get a fresh session, as after a failover in Kafka. */
  finishLoading(mine: (groupId: string) => boolean = () => true): void {
    for (const g of this.groups.values()) {
      if (!mine(g.groupId)) continue;
      g.configured = this.configureTopology(g.topology);
      for (const m of g.members.values()) this.armTimers(g, m);
    }
  }
}

/** The value of a member's metadata record. */
export interface MemberMetadataJson {
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  topologyEpoch: number;
  processId: string;
  userEndpoint: { host: string; port: number } | null;
  clientTags: KeyValue[];
}

interface CurrentJson {
  memberEpoch: number;
  previousMemberEpoch: number;
  state: number;
  assigned: WireTasks;
  pendingRevocation: WireTasks;
  /** Absent in records of older versions. */
  activeEpochs?: { subtopologyId: string; partitions: number[]; epochs: number[] }[];
}
