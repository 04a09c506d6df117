// The classic group coordinator: the groups and committed offsets of every __consumer_offsets
// partition this broker leads (all of them, on a single node). Group state transitions live in
// group.ts; this file routes requests to groups, keeps committed offsets, writes every change
// to the group's __consumer_offsets partition before answering, rebuilds a partition's groups
// from those records when its leadership arrives here, and forgets them when it leaves.
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { decodeSubscribedTopics } from '../protocol/consumer-protocol.js';
import { Group, joinError, type GroupContext, type JoinRequest, type JoinResult, type MemberIdentity, type SyncRequest, type SyncResult } from './group.js';
import type { Clock } from '../common/clock.js';
import {
  decodeGroupValue,
  decodeKey,
  decodeOffsetValue,
  encodeGroupKey,
  encodeGroupValue,
  encodeOffsetKey,
  encodeOffsetValue,
  partitionForGroup,
  type CoordinatorRecord,
  type GroupValue,
  type OffsetValue,
} from './records.js';
import { EMPTY_BYTES } from '../protocol/primitives.js';
import { crashPoint } from '../common/crash-points.js';
import type { TxnProducer } from './internal-topic.js';
import type { CoordinatorLogger } from './ports.js';
import { ConsumerGroups, type ConsumerGroup, type ConsumerGroupsOptions, type HeartbeatRequest } from './consumer-group.js';
import { heartbeatFailure, type HeartbeatResponse } from './heartbeat-response.js';
import { ALL_OWNED, type PartitionOwnership } from './coordinator-partitions.js';
import { StreamsGroups, type StreamsGroupsOptions, type StreamsHeartbeatResult } from './streams-group.js';
import { HeartbeatError, type CommitPartitionValidator } from './epoch-groups.js';
import type { StreamsGroupHeartbeatRequest } from '../protocol/generated/streams-group-heartbeat.js';
import { groupWriteErrorCode, logWriteFailure } from './write-errors.js';
import { ShareGroups, type ShareGroupsOptions, type ShareHeartbeatRequest } from './share-group.js';

export interface CoordinatorStore {
  /**
   * Appends records to one __consumer_offsets partition. The order of calls is the order in
   * the log; the promise resolves once the records are in the log (rejects otherwise).
   */
  append(partition: number, records: CoordinatorRecord[], producer?: TxnProducer): Promise<void>;
}

export type { CoordinatorLogger } from './ports.js';

export interface GroupCoordinatorOptions {
  /** Partitions of __consumer_offsets: a number, or read from the topic once it exists. */
  numPartitions: number | (() => number);
  clock: Clock;
  store: CoordinatorStore;
  initialRebalanceDelayMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** group.max.size: most members a classic group may have (Kafka's default, no limit, when absent). */
  classicMaxSize?: number;
  offsetsRetentionMs: number;
  offsetMetadataMaxBytes: number;
  /** Whether a topic partition exists (commits to unknown partitions are refused). */
  partitionExists(topic: string, partition: number): boolean;
  newMemberId?: (clientId: string) => string;
  /**
   * Makes the coordinator's storage ready (creates __consumer_offsets), and when `partition` is
   * given and led here, waits for its load; FindCoordinator awaits it.
   */
  ensureReady?(partition?: number): Promise<void>;
  /** Which __consumer_offsets partitions this broker coordinates; all of them when absent. */
  ownership?: PartitionOwnership;
  /** Whether __consumer_offsets exists yet (until it does, no group has state anywhere). */
  storageExists?(): boolean;
  logger?: CoordinatorLogger;
  /**
   * group.consumer.migration.policy: which online conversions between a classic and a consumer
   * group happen (disabled, upgrade, downgrade, bidirectional; Kafka's default bidirectional).
   */
  migrationPolicy?: string;
  /** KIP-848 consumer groups (consumer-group.ts); without it they see no topics. */
  consumer?: Pick<ConsumerGroupsOptions, 'topics' | 'heartbeatIntervalMs' | 'sessionTimeoutMs' | 'groupConfig' | 'assignors' | 'maxSize'>;
  /** KIP-1071 streams groups (streams-group.ts); without it they see no topics. */
  streams?: Partial<Omit<StreamsGroupsOptions, 'clock' | 'append' | 'logger'>>;
  /** KIP-932 share groups (share-group.ts); their topics are the consumer groups' lookup. */
  share?: Pick<ShareGroupsOptions, 'config' | 'maxSize' | 'onMemberRemoved'>;
}

export interface CommitRequest {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  /** What a commit with generation >= 0 to an unknown group gets (GROUP_ID_NOT_FOUND from v9). */
  unknownGroupError?: number;
  /** The OffsetCommit version: consumer groups take commits from v9 on (member epochs). */
  apiVersion?: number;
  topics: { name: string; partitions: { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }[] }[];
}

export interface TxnCommitRequest extends CommitRequest {
  producerId: number;
  producerEpoch: number;
  /**
   * The transactional checks (KIP-890: the transaction coordinator verifies, or with V2 adds,
   * the group's partition, and the producer's id and epoch): an error code, NONE to go on.
   * Run once this broker is known to lead the group's partition, before the load and group checks.
   */
  verifyTransaction?: () => Promise<number>;
}

export interface TopicPartitionCodes {
  name: string;
  partitions: { partitionIndex: number; errorCode: number }[];
}

export interface FetchedOffset {
  partitionIndex: number;
  committedOffset: number;
  committedLeaderEpoch: number;
  metadata: string | null;
  errorCode: number;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  committed: number;
  end: number;
  lag: number;
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: string;
  type: 'classic' | 'consumer' | 'share' | 'streams';
}

export interface GroupDescription {
  errorCode: number;
  /** False for a group the coordinator does not know (described as Dead). */
  exists: boolean;
  /** Why a group that is not described does not exist, for DescribeGroups v6+ (GROUP_ID_NOT_FOUND). */
  notFound?: string;
  groupId: string;
  state: string;
  protocolType: string;
  protocolData: string;
  members: { memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; metadata: Buffer; assignment: Buffer }[];
}

/** What checkOwner answers while the internal topic does not exist yet. */
const UNBORN = -1;

/**
 * Whether a group id fits the int16-length strings of __consumer_offsets keys. A longer one
 * (a flexible request version allows it) cannot be written: Kafka's serializer throws, and its
 * write fails with UNKNOWN_SERVER_ERROR.
 */
function storableGroupId(groupId: string): boolean {
  return Buffer.byteLength(groupId, 'utf8') <= 0x7fff;
}

/** The same error code for every partition of a commit. */
function everyPartition(req: CommitRequest, code: number): TopicPartitionCodes[] {
  return req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) }));
}

export class GroupCoordinator {
  readonly groups = new Map<string, Group>();
  /** group → topic → partition → committed offset */
  readonly offsets = new Map<string, Map<string, Map<number, OffsetValue>>>();
  /**
   * Offsets committed inside transactions not yet ended: producer id → group → topic →
   * partition → offset. They become committed offsets when the COMMIT marker reaches the
   * group's __consumer_offsets partition, and vanish on ABORT.
   */
  private readonly pendingTxnOffsets = new Map<number, Map<string, Map<string, Map<number, OffsetValue>>>>();
  /**
   * The order in __consumer_offsets of each offset record, committed or pending (Kafka's
   * OffsetAndMetadata.recordOffset): numbered as the records are handed to the log, in the
   * order of their appends, or as they are replayed.
   */
  private readonly logOrder = new WeakMap<OffsetValue, number>();
  private lastLogOrder = 0;
  private readonly groupContext: GroupContext;
  private readonly ownership: PartitionOwnership;
  /** The KIP-848 consumer groups; a group id is either a classic group or one of these. */
  readonly consumer: ConsumerGroups;
  /** The KIP-1071 streams groups; a group id belongs to one group type only. */
  readonly streams: StreamsGroups;
  /** The KIP-932 share groups. */
  readonly share: ShareGroups;
  private stopped = false;
  /** Set by the broker: a share group was deleted (its share-partition state goes too). */
  onShareGroupDeleted: ((groupId: string) => void) | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;

  constructor(readonly opts: GroupCoordinatorOptions) {
    this.ownership = opts.ownership ?? ALL_OWNED;
    this.groupContext = {
      clock: opts.clock,
      initialRebalanceDelayMs: opts.initialRebalanceDelayMs,
      maxSize: opts.classicMaxSize ?? 2 ** 31 - 1,
      persist: (group, value) => this.persistGroup(group, value),
      newMemberId: opts.newMemberId ?? ((clientId) => `${clientId}-${crypto.randomUUID()}`),
      onWriteFailed: (err, groupId, what) => logWriteFailure(opts.logger, err, { group: groupId.slice(0, 256) }, what),
      onEvent: (info, msg) => opts.logger?.info(info, msg),
    };
    this.consumer = new ConsumerGroups({
      clock: opts.clock,
      append: (groupId, records) => {
        const partition = this.partitionFor(groupId);
        // A group whose partition left this broker writes nothing more.
        if (this.ownership.status(partition) !== ErrorCode.NONE) return Promise.reject(new KafkaError(ErrorCode.NOT_COORDINATOR, `not the coordinator of ${groupId}`));
        return opts.store.append(partition, records);
      },
      topics: { byName: () => undefined, byId: () => undefined, names: () => [] },
      heartbeatIntervalMs: 5000,
      sessionTimeoutMs: 45_000,
      assignors: ['uniform', 'range'],
      maxSize: 2 ** 31 - 1,
      newMemberId: () => crypto.randomUUID(),
      logger: opts.logger,
      ...opts.consumer,
    });
    this.consumer.downgrade = (group) => this.downgradeToClassic(group);
    this.consumer.undoDowngrade = (group) => this.undoDowngrade(group);
    this.streams = new StreamsGroups({
      clock: opts.clock,
      append: (groupId, records) => {
        const partition = this.partitionFor(groupId);
        if (this.ownership.status(partition) !== ErrorCode.NONE) return Promise.reject(new KafkaError(ErrorCode.NOT_COORDINATOR, `not the coordinator of ${groupId}`));
        return opts.store.append(partition, records);
      },
      topics: { get: () => undefined, names: () => [] },
      heartbeatIntervalMs: 5000,
      sessionTimeoutMs: 45_000,
      numStandbyReplicas: 0,
      maxSize: 2 ** 31 - 1,
      acceptableRecoveryLag: 10_000,
      taskOffsetIntervalMs: 60_000,
      logger: opts.logger,
      ...opts.streams,
    });
    this.share = new ShareGroups({
      clock: opts.clock,
      append: (groupId, records) => {
        const partition = this.partitionFor(groupId);
        if (this.ownership.status(partition) !== ErrorCode.NONE) return Promise.reject(new KafkaError(ErrorCode.NOT_COORDINATOR, `not the coordinator of ${groupId}`));
        return opts.store.append(partition, records);
      },
      topics: this.consumer.opts.topics,
      config: () => ({ heartbeatIntervalMs: 5000, sessionTimeoutMs: 45_000 }),
      maxSize: 200,
      logger: opts.logger,
      ...opts.share,
    });
  }

  /** ShareGroupHeartbeat (KIP-932). A classic, consumer or streams group of that id answers GROUP_ID_NOT_FOUND. */
  async shareGroupHeartbeat(req: ShareHeartbeatRequest, clientId: string, clientHost: string): Promise<HeartbeatResponse> {
    // Kafka's order: a coordinator shut down, the request's own checks, then the group's partition.
    if (this.stopped) return heartbeatFailure(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const invalid = this.share.requestError(req);
    if (invalid !== null) return heartbeatFailure(ErrorCode.INVALID_REQUEST, invalid);
    let owner = this.awaitOwner(req.groupId);
    if (typeof owner !== 'number') owner = await owner;
    if (owner !== ErrorCode.NONE) return heartbeatFailure(owner);
    const classic = this.groups.get(req.groupId);
    if ((classic && classic.state !== 'Dead') || this.consumer.groups.has(req.groupId) || this.streams.groups.has(req.groupId)) {
      return heartbeatFailure(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a share group.`);
    }
    return this.share.heartbeat(req, clientId, clientHost);
  }

  /**
   * StreamsGroupHeartbeat. A group id of another type with members is not a streams group
   * (GROUP_ID_NOT_FOUND, as Kafka answers); an empty classic or consumer group gives way to it,
   * keeping its offsets.
   */
  async streamsGroupHeartbeat(req: StreamsGroupHeartbeatRequest, clientId: string, clientHost: string): Promise<StreamsHeartbeatResult> {
    // Kafka's order: a coordinator shut down, the request's own checks, then the group's partition.
    if (this.stopped) return this.streams.fail(req, ErrorCode.COORDINATOR_NOT_AVAILABLE, null);
    try {
      this.streams.checkRequest(req);
    } catch (err) {
      if (err instanceof HeartbeatError) return this.streams.fail(req, err.code, err.message);
      throw err;
    }
    let owner = this.awaitOwner(req.groupId);
    if (typeof owner !== 'number') owner = await owner;
    if (owner !== ErrorCode.NONE) return this.streams.fail(req, owner, null);
    const notStreams = () => this.streams.fail(req, ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a streams group.`);
    if (this.share.groups.has(req.groupId)) return notStreams();
    // An empty group of another type gives way: its tombstones go in the heartbeat's own write,
    // and it is back if the heartbeat fails (Kafka: one write, reverted as a whole).
    const replaced: CoordinatorRecord[] = [];
    let putBack: (() => void) | null = null;
    const classic = this.groups.get(req.groupId);
    if (classic) {
      if (classic.state !== 'Empty' || !classic.isEmpty()) return notStreams();
      putBack = this.replaceEmptyClassic(classic, replaced);
    }
    const consumer = this.consumer.groups.get(req.groupId);
    if (consumer) {
      const tombstones = this.consumer.deleteEmpty(req.groupId);
      if (!tombstones) return notStreams();
      replaced.push(...tombstones);
      putBack = () => this.consumer.groups.set(req.groupId, consumer);
    }
    const res = await this.streams.heartbeat(req, clientId, clientHost, replaced);
    if (res.errorCode !== ErrorCode.NONE && putBack && !this.hasAnyGroup(req.groupId)) putBack();
    return res;
  }

  /** Removes an empty classic group another type replaces: its tombstone, and what puts it back. */
  private replaceEmptyClassic(classic: Group, replaced: CoordinatorRecord[]): () => void {
    const before = classic.snapshot();
    classic.markDead();
    this.groups.delete(classic.groupId);
    replaced.push({ key: encodeGroupKey(classic.groupId), value: null });
    return () => this.groups.set(classic.groupId, Group.restore(classic.groupId, this.groupContext, before));
  }

  /**
   * ConsumerGroupHeartbeat. An empty classic group becomes a consumer group, keeping its offsets;
   * a Stable one of protocol type `consumer` is upgraded online when the migration policy allows
   * (its members carry on inside the consumer group); any other gets GROUP_ID_NOT_FOUND.
   */
  async consumerGroupHeartbeat(req: HeartbeatRequest, apiVersion: number, clientId: string, clientHost: string): Promise<HeartbeatResponse> {
    // Kafka's order: a coordinator shut down, the request's own checks, then the group's partition.
    if (this.stopped) return heartbeatFailure(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    try {
      this.consumer.checkRequest(req, apiVersion);
    } catch (err) {
      if (err instanceof HeartbeatError) return heartbeatFailure(err.code, err.message);
      throw err;
    }
    let owner = this.awaitOwner(req.groupId);
    if (typeof owner !== 'number') owner = await owner;
    if (owner !== ErrorCode.NONE) return heartbeatFailure(owner);
    if (this.share.groups.has(req.groupId)) return heartbeatFailure(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a consumer group.`);
    // An empty group of another type gives way: its tombstones go in the heartbeat's own write,
    // and it is back if the heartbeat fails (Kafka: one write, reverted as a whole).
    const replaced: CoordinatorRecord[] = [];
    let putBack: (() => void) | null = null;
    const streams = this.streams.groups.get(req.groupId);
    if (streams) {
      const tombstones = this.streams.deleteEmpty(req.groupId);
      if (!tombstones) return heartbeatFailure(ErrorCode.GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a consumer group.`);
      replaced.push(...tombstones);
      putBack = () => this.streams.groups.set(req.groupId, streams);
    }
    const classic = this.groups.get(req.groupId);
    if (classic && !(classic.state === 'Empty' && classic.isEmpty())) {
      const why = this.upgradeRefusal(classic);
      if (why !== null) return heartbeatFailure(ErrorCode.GROUP_ID_NOT_FOUND, why);
      // Online upgrade: the classic group and its members become a consumer group, written as
      // one batch (the classic group's tombstone and the consumer group's records).
      const before = classic.snapshot();
      const adopted = this.consumer.adoptClassic(req.groupId, classic.generationId, classic.protocolName!, [...classic.members.values()]);
      if ('error' in adopted) return heartbeatFailure(ErrorCode.GROUP_ID_NOT_FOUND, adopted.error);
      classic.markDead();
      this.groups.delete(req.groupId);
      const epoch = this.epochOf(req.groupId);
      try {
        await this.opts.store.append(this.partitionFor(req.groupId), [{ key: encodeGroupKey(req.groupId), value: null }, ...adopted.records]);
      } catch (err) {
        logWriteFailure(this.opts.logger, err, { group: req.groupId }, 'upgrading a classic group failed');
        if (this.stillOwner(req.groupId, epoch) && this.consumer.groups.has(req.groupId) && !this.groups.has(req.groupId)) {
          this.consumer.forget(req.groupId);
          this.groups.set(req.groupId, Group.restore(req.groupId, this.groupContext, before));
        }
        return heartbeatFailure(groupWriteErrorCode(err));
      }
    } else if (classic) {
      putBack = this.replaceEmptyClassic(classic, replaced);
    }
    const res = await this.consumer.heartbeat(req, apiVersion, clientId, clientHost, replaced);
    if (res.errorCode !== ErrorCode.NONE && putBack && !this.hasAnyGroup(req.groupId)) putBack();
    return res;
  }

  private policyAllows(direction: 'upgrade' | 'downgrade'): boolean {
    const policy = (this.opts.migrationPolicy ?? 'bidirectional').toLowerCase();
    return policy === 'bidirectional' || policy === direction;
  }

  /** Why a non-empty classic group cannot be upgraded now (Kafka's conditions), or null. */
  private upgradeRefusal(classic: Group): string | null {
    const id = classic.groupId;
    if (!this.policyAllows('upgrade')) return `Cannot upgrade classic group ${id} to consumer group because the online upgrade is disabled.`;
    if (classic.protocolType !== 'consumer')
      return `Cannot upgrade classic group ${id} to consumer group because it is not a consumer group (protocol type ${classic.protocolType}).`;
    if (classic.state !== 'Stable' || classic.protocolName === null) return `Cannot upgrade classic group ${id} to consumer group because its state is ${classic.state}.`;
    return null;
  }

  /**
   * Online downgrade: a consumer group whose members all speak the classic protocol becomes a
   * classic group again, generation = group epoch, members holding what they own, and
   * rebalances. Returns its record, or null when it stays a consumer group.
   */
  private downgradeToClassic(group: ConsumerGroup): CoordinatorRecord[] | null {
    if (!this.policyAllows('downgrade') || this.stopped) return null;
    const members = [...group.members.values()];
    // As Kafka: not into a classic group over group.max.size.
    if (members.length > this.groupContext.maxSize) return null;
    const first = members[0];
    if (!first?.classic) return null;
    // The protocol every member supports, in the first member's order of preference.
    const protocol = first.classic.protocols.find((p) => members.every((m) => m.classic?.protocols.some((q) => q.name === p.name)))?.name;
    if (protocol === undefined) return null;
    const value: GroupValue = {
      protocolType: 'consumer',
      generation: group.groupEpoch,
      protocol,
      leader: first.memberId,
      stateTimestamp: this.opts.clock.now(),
      members: members.map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        rebalanceTimeoutMs: m.rebalanceTimeoutMs,
        sessionTimeoutMs: m.classic!.sessionTimeoutMs,
        subscription: m.classic!.protocols.find((p) => p.name === protocol)!.metadata,
        assignment: this.consumer.encodeClassicAssignment(m.assigned),
      })),
    };
    // Encoded first: a group that cannot be stored stays a consumer group.
    const record = { key: encodeGroupKey(group.groupId), value: encodeGroupValue(value) };
    const classic = Group.restore(group.groupId, this.groupContext, value);
    this.groups.set(group.groupId, classic);
    this.downgraded.set(group, classic);
    classic.startRebalance('downgraded from a consumer group');
    return [record];
  }

  /** The classic group each consumer group was downgraded to (until the write is known). */
  private readonly downgraded = new WeakMap<ConsumerGroup, Group>();

  /**
   * A downgrade whose write failed: the classic group goes (its members waiting for a join or
   * sync answer are told to find the coordinator again), as Kafka's runtime reverts the write
   * that made it; the consumer group is then put back. False when the classic group is gone.
   */
  private undoDowngrade(group: ConsumerGroup): boolean {
    const classic = this.downgraded.get(group);
    this.downgraded.delete(group);
    if (!classic || this.groups.get(group.groupId) !== classic || this.streams.groups.has(group.groupId) || this.share.groups.has(group.groupId)) return false;
    classic.shutdown(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    this.groups.delete(group.groupId);
    return true;
  }

  partitionFor(groupId: string): number {
    const n = this.opts.numPartitions;
    return partitionForGroup(groupId, typeof n === 'number' ? n : n());
  }

  /** Writes the group's record (`value`, else its snapshot; a tombstone once Dead) after `before`. */
  private persistGroup(group: Group, value?: GroupValue, before: CoordinatorRecord[] = []): Promise<void> {
    const partition = this.partitionFor(group.groupId);
    // A group whose partition left this broker (its timers were stopped then) writes nothing more.
    if (this.ownership.status(partition) !== ErrorCode.NONE) return Promise.reject(new KafkaError(ErrorCode.NOT_COORDINATOR, `not the coordinator of ${group.groupId}`));
    // A group that cannot be encoded fails like a failed write (never a throw: this also runs
    // from timers, where a throw would take the broker down).
    let record: CoordinatorRecord;
    try {
      record = { key: encodeGroupKey(group.groupId), value: group.state === 'Dead' ? null : encodeGroupValue(value ?? group.snapshot()) };
    } catch (err) {
      return Promise.reject(new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `group ${group.groupId.slice(0, 64)}… cannot be stored: ${String(err)}`));
    }
    return this.opts.store.append(partition, [...before, record]);
  }

  // --- ownership -------------------------------------------------------------------------------

  /**
   * NONE when this broker coordinates the group's partition; NOT_COORDINATOR or
   * COORDINATOR_LOAD_IN_PROGRESS otherwise; UNBORN while __consumer_offsets does not exist.
   * Once shut down, COORDINATOR_NOT_AVAILABLE, as Kafka's group coordinator service answers
   * every group API while it is inactive.
   */
  private checkOwner(groupId: string): number {
    if (this.stopped) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const code = this.ownership.status(this.partitionFor(groupId));
    if (code === ErrorCode.NOT_COORDINATOR && this.opts.storageExists?.() === false) return UNBORN;
    return code;
  }

  /**
   * checkOwner for a request that may create state: creates __consumer_offsets first if needed.
   * Synchronous (no await) when the topic exists, so requests keep their order into the log.
   */
  private awaitOwner(groupId: string): number | Promise<number> {
    const code = this.checkOwner(groupId);
    if (code !== UNBORN) return code;
    return this.createStorage(groupId);
  }

  private async createStorage(groupId: string): Promise<number> {
    try {
      await this.opts.ensureReady?.(this.partitionFor(groupId));
    } catch (err) {
      this.opts.logger?.error({ err }, 'cannot prepare __consumer_offsets');
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    const again = this.checkOwner(groupId);
    return again === UNBORN ? ErrorCode.COORDINATOR_NOT_AVAILABLE : again;
  }

  /**
   * The error for a request about a group whose state this broker cannot answer for now (NONE
   * when it can). Before __consumer_offsets exists there is no state anywhere: NONE.
   */
  groupError(groupId: string): number {
    const code = this.checkOwner(groupId);
    return code === UNBORN ? ErrorCode.NONE : code;
  }

  /**
   * The error of a request that Kafka's group coordinator service refuses for the group as a
   * whole (NONE to go on), in its order: a coordinator that was shut down
   * (COORDINATOR_NOT_AVAILABLE), an empty group id (INVALID_GROUP_ID), then the group's
   * partition (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS). For SyncGroup, Heartbeat,
   * LeaveGroup and the describes of consumer, streams and share groups; JoinGroup, OffsetDelete
   * and TxnOffsetCommit check the same way; OffsetCommit, OffsetFetch, DescribeGroups and
   * DeleteGroups take an empty id like any other, as Kafka's (only a null one is refused there).
   */
  groupLevelError(groupId: string): number {
    if (this.stopped) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID;
    return this.groupError(groupId);
  }

  /**
   * Why ListGroups cannot be answered now (NONE when it can), as Kafka: a coordinator that was
   * shut down is COORDINATOR_NOT_AVAILABLE; one still loading some partition answers
   * COORDINATOR_LOAD_IN_PROGRESS for the whole list (a partition whose load failed is skipped).
   */
  listGroupsError(): number {
    if (this.stopped) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return this.ownership.loading() ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE;
  }

  /** Whether the group's partition is still coordinated here at the epoch it had before an await. */
  private stillOwner(groupId: string, epoch: number): boolean {
    return !this.stopped && this.ownership.isCurrent(this.partitionFor(groupId), epoch);
  }

  private epochOf(groupId: string): number {
    return this.ownership.epoch(this.partitionFor(groupId));
  }

  private getOrCreate(groupId: string): Group {
    let g = this.groups.get(groupId);
    if (!g) {
      g = new Group(groupId, this.groupContext);
      this.groups.set(groupId, g);
    }
    return g;
  }

  /** Forgets a group that was created for a request that then failed and holds nothing. */
  private dropIfUnused(group: Group): void {
    if (group.state === 'Empty' && group.generationId === 0 && group.isEmpty() && !this.offsets.has(group.groupId) && this.groups.get(group.groupId) === group) {
      this.groups.delete(group.groupId);
    }
  }

  // --- membership ----------------------------------------------------------------------------

  async join(groupId: string, req: JoinRequest): Promise<JoinResult> {
    const fail = (errorCode: number): JoinResult => joinError(errorCode, req.memberId);
    if (this.stopped) return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    // Checked before the group's partition, as Kafka's group coordinator service does.
    if (req.sessionTimeoutMs < this.opts.minSessionTimeoutMs || req.sessionTimeoutMs > this.opts.maxSessionTimeoutMs) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    let owner = this.awaitOwner(groupId);
    if (typeof owner !== 'number') owner = await owner;
    if (owner !== ErrorCode.NONE) return fail(owner);
    if (this.share.groups.has(groupId)) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // An empty consumer or streams group gives way to the classic group: its tombstones go in the
    // join's write, and it is back if that write fails (Kafka: one write, reverted as a whole).
    const replaced: CoordinatorRecord[] = [];
    let putBack: (() => void) | null = null;
    const consumerGroup = this.consumer.groups.get(groupId);
    if (consumerGroup) {
      // A classic member of a consumer group (online migration); an empty one goes back to classic.
      const tombstones = this.consumer.deleteEmpty(groupId);
      if (!tombstones) return this.consumer.classicJoin(groupId, req);
      replaced.push(...tombstones);
      putBack = () => this.consumer.groups.set(groupId, consumerGroup);
    }
    const streamsGroup = this.streams.groups.get(groupId);
    if (streamsGroup) {
      const tombstones = this.streams.deleteEmpty(groupId);
      if (!tombstones) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      replaced.push(...tombstones);
      putBack = () => this.streams.groups.set(groupId, streamsGroup);
    }
    const group = this.groups.get(groupId);
    if (group) return group.join(req);
    if (req.memberId === '') return this.joinNewGroup(groupId, req, replaced, putBack);
    // A member id for a group that does not exist. (Kafka forgets the replaced group here without
    // writing its tombstones; we write them, so that the log agrees with memory.)
    if (replaced.length > 0) {
      const epoch = this.epochOf(groupId);
      try {
        await this.opts.store.append(this.partitionFor(groupId), replaced);
      } catch (err) {
        logWriteFailure(this.opts.logger, err, { group: groupId.slice(0, 256) }, 'writing group tombstones failed');
        this.putBackReplaced(groupId, epoch, putBack);
        return fail(groupWriteErrorCode(err));
      }
    }
    return fail(ErrorCode.UNKNOWN_MEMBER_ID);
  }

  /**
   * A JoinGroup with no member id creates its group, and, as Kafka 4.4's
   * classicGroupJoinToClassicGroup does for a new group whose join wrote nothing else (always, a
   * new group's first rebalance waiting for its initial delay), writes the group's empty record
   * (generation 0, no protocol type, no members), after the tombstones of a group it replaces, in
   * one write. A group whose join failed (INCONSISTENT_GROUP_PROTOCOL) is written and kept all
   * the same. A failed write takes the group away again (waiters told the error) and puts the
   * replaced one back, as Kafka's runtime reverts the write. An answer the join gives at once
   * (MEMBER_ID_REQUIRED, an error) is sent at once, as Kafka completes it before the write; a
   * member added waits for its join phase, which Kafka runs after the write, and is told the
   * write's error (mapped as for every group write) with no member id if it fails.
   */
  private async joinNewGroup(groupId: string, req: JoinRequest, replaced: CoordinatorRecord[], putBack: (() => void) | null): Promise<JoinResult> {
    const group = new Group(groupId, this.groupContext);
    this.groups.set(groupId, group);
    const answer = group.join(req);
    const epoch = this.epochOf(groupId);
    const empty: GroupValue = { protocolType: '', generation: 0, protocol: null, leader: null, stateTimestamp: group.stateTimestamp, members: [] };
    const written = this.persistGroup(group, empty, replaced).then(
      () => ErrorCode.NONE,
      (err: unknown) => {
        const code = groupWriteErrorCode(err);
        logWriteFailure(this.opts.logger, err, { group: groupId.slice(0, 256) }, 'writing a new group failed');
        if (this.groups.get(groupId) === group) {
          group.shutdown(code);
          this.groups.delete(groupId);
        }
        this.putBackReplaced(groupId, epoch, putBack);
        return code;
      },
    );
    if (group.members.size === 0) return answer;
    const code = await written;
    return code === ErrorCode.NONE ? answer : joinError(code);
  }

  /**
   * After a classic join's write failed, puts back the empty consumer or streams group it replaced
   * (Kafka's runtime reverts the write as a whole), unless the group's partition moved since the
   * write began (`epoch`, its ownership epoch then) or another group has taken the id meanwhile.
   */
  private putBackReplaced(groupId: string, epoch: number, putBack: (() => void) | null): void {
    if (putBack && this.stillOwner(groupId, epoch) && !this.hasAnyGroup(groupId)) putBack();
  }

  async sync(groupId: string, req: SyncRequest): Promise<SyncResult> {
    const group = this.groups.get(groupId);
    const owner = this.groupLevelError(groupId);
    if (owner !== ErrorCode.NONE) return { errorCode: owner, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
    if (!group && this.consumer.groups.has(groupId)) return this.consumer.classicSync(groupId, req);
    if (!group) return { errorCode: ErrorCode.UNKNOWN_MEMBER_ID, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
    return group.sync(req);
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    const owner = this.groupLevelError(groupId);
    if (owner !== ErrorCode.NONE) return owner;
    const group = this.groups.get(groupId);
    if (!group && this.consumer.groups.has(groupId)) return this.consumer.classicHeartbeat(groupId, memberId, groupInstanceId, generationId);
    if (!group) return ErrorCode.UNKNOWN_MEMBER_ID;
    return group.heartbeat(memberId, groupInstanceId, generationId);
  }

  /**
   * LeaveGroup: each member's code, or the error of the whole answer (a failed write of a
   * consumer group's classic members, which stay members).
   */
  async leave(groupId: string, members: MemberIdentity[]): Promise<{ errorCode: number; members: number[] }> {
    const owner = this.groupLevelError(groupId);
    if (owner !== ErrorCode.NONE) return { errorCode: ErrorCode.NONE, members: members.map(() => owner) };
    const group = this.groups.get(groupId);
    if (!group && this.consumer.groups.has(groupId)) return this.consumer.classicLeave(groupId, members);
    if (!group) return { errorCode: ErrorCode.NONE, members: members.map(() => ErrorCode.UNKNOWN_MEMBER_ID) };
    const { codes, written } = group.leave(members);
    if (written) {
      // The last members left: the group's Empty record is this LeaveGroup's write (Kafka's
      // classicGroupLeave), its failure the whole answer's error.
      try {
        await written;
      } catch (err) {
        return { errorCode: groupWriteErrorCode(err), members: [] };
      }
    }
    return { errorCode: ErrorCode.NONE, members: codes };
  }

  // --- offsets ---------------------------------------------------------------------------------

  async commitOffsets(req: CommitRequest): Promise<TopicPartitionCodes[]> {
    if (this.stopped) return everyPartition(req, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    // An empty group id is a group like any other here (only TxnOffsetCommit and OffsetDelete
    // refuse it), as in Kafka since the simple consumers of old committed under "".
    let owner = this.awaitOwner(req.groupId);
    if (typeof owner !== 'number') owner = await owner;
    if (owner !== ErrorCode.NONE) return everyPartition(req, owner);
    // A share group keeps no committed offsets: GROUP_ID_NOT_FOUND, whatever the version.
    if (this.share.groups.has(req.groupId)) return everyPartition(req, ErrorCode.GROUP_ID_NOT_FOUND);
    if (this.consumer.groups.has(req.groupId)) {
      const verdict = this.consumer.validateOffsetCommit(req.groupId, req.memberId, req.groupInstanceId, req.generationId, false, req.apiVersion ?? 9);
      return this.storeOffsets(req, null, verdict, undefined, (topic, partition, value) => this.setOffset(req.groupId, topic, partition, value));
    }
    if (this.streams.groups.has(req.groupId)) {
      const verdict = this.streams.validateOffsetCommit(req.groupId, req.memberId, req.groupInstanceId, req.generationId, false, req.apiVersion ?? 9);
      return this.storeOffsets(req, null, verdict, undefined, (topic, partition, value) => this.setOffset(req.groupId, topic, partition, value));
    }
    let group = this.groups.get(req.groupId);
    if (!group) {
      // Only a client that does not use group management (generation -1) may create a group by committing.
      if (req.generationId >= 0) return everyPartition(req, req.unknownGroupError ?? ErrorCode.ILLEGAL_GENERATION);
      group = this.getOrCreate(req.groupId);
    }
    const code = group.validateOffsetCommit(req.memberId, req.groupInstanceId, req.generationId, false);
    return this.storeOffsets(req, group, code, undefined, (topic, partition, value) => this.setOffset(req.groupId, topic, partition, value));
  }

  /**
   * TxnOffsetCommit: writes the offsets as a transactional batch of the producer, held pending
   * until the transaction ends. The transaction coordinator has already checked that the
   * group's partition was added to the transaction.
   */
  async commitTxnOffsets(req: TxnCommitRequest): Promise<TopicPartitionCodes[]> {
    if (this.stopped) return everyPartition(req, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (req.groupId === '') return everyPartition(req, ErrorCode.INVALID_GROUP_ID);
    // Kafka's order (CoordinatorRuntime.scheduleTransactionalWriteOperation): a broker that does
    // not lead the group's partition answers NOT_COORDINATOR before the transaction is verified
    // (nor is the partition added to it); the transaction is verified next; only then does the
    // partition's state answer: COORDINATOR_LOAD_IN_PROGRESS while it loads, NOT_COORDINATOR if
    // its load failed (led here all the same), then the group and member checks.
    if (this.checkOwner(req.groupId) === ErrorCode.NOT_COORDINATOR && !this.ownership.leads(this.partitionFor(req.groupId)))
      return everyPartition(req, ErrorCode.NOT_COORDINATOR);
    if (req.verifyTransaction) {
      const verified = await req.verifyTransaction();
      if (verified !== ErrorCode.NONE) return everyPartition(req, verified);
    }
    let owner = this.awaitOwner(req.groupId);
    if (typeof owner !== 'number') owner = await owner;
    if (owner !== ErrorCode.NONE) return everyPartition(req, owner);
    if (this.share.groups.has(req.groupId)) return everyPartition(req, ErrorCode.GROUP_ID_NOT_FOUND);
    const producer = { producerId: req.producerId, producerEpoch: req.producerEpoch };
    const modern = this.consumer.groups.has(req.groupId) ? this.consumer : this.streams.groups.has(req.groupId) ? this.streams : null;
    if (modern) {
      // A stale member epoch in a transaction is an ILLEGAL_GENERATION, as in Kafka before TxnOffsetCommit v6.
      const staleIsIllegal = (code: number) => (code === ErrorCode.STALE_MEMBER_EPOCH && (req.apiVersion ?? 0) < 6 ? ErrorCode.ILLEGAL_GENERATION : code);
      const verdict = modern.validateOffsetCommit(req.groupId, req.memberId, req.groupInstanceId, req.generationId, true, 0);
      const checked = typeof verdict === 'number' ? staleIsIllegal(verdict) : (topic: string, partition: number) => staleIsIllegal(verdict(topic, partition));
      return this.storeOffsets(req, null, checked, producer, (topic, partition, value) => this.setPendingTxnOffset(req.producerId, req.groupId, topic, partition, value));
    }
    // Only a commit without group management (generation < 0) creates a group, as with
    // OffsetCommit; a member (generation >= 0) of a group that does not exist is told
    // ILLEGAL_GENERATION, and from v6 GROUP_ID_NOT_FOUND (KIP-1319).
    let group = this.groups.get(req.groupId);
    if (!group) {
      if (req.generationId >= 0) return everyPartition(req, (req.apiVersion ?? 0) >= 6 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION);
      group = this.getOrCreate(req.groupId);
    }
    const code = group.validateOffsetCommit(req.memberId, req.groupInstanceId, req.generationId, true);
    return this.storeOffsets(req, group, code, producer, (topic, partition, value) => this.setPendingTxnOffset(req.producerId, req.groupId, topic, partition, value));
  }

  /**
   * The common part of both commits: checks each partition, writes the accepted offsets to the
   * group's partition (as a transactional batch of `producer` when given), then hands each to
   * `accept`. `verdict` is the group-level check's: an error code, or a check of each partition
   * (a consumer group member committing at an older epoch), whose first failure fails the
   * whole commit as in Kafka.
   */
  private async storeOffsets(
    req: CommitRequest,
    group: Group | null,
    verdict: number | CommitPartitionValidator,
    producer: TxnProducer | undefined,
    accept: (topic: string, partition: number, value: OffsetValue) => void,
  ): Promise<TopicPartitionCodes[]> {
    // offset.metadata.max.bytes counts the string's UTF-16 code units, as Kafka's String.length().
    const tooLarge = (metadata: string) => metadata.length > this.opts.offsetMetadataMaxBytes;
    let groupCode = typeof verdict === 'number' ? verdict : ErrorCode.NONE;
    if (typeof verdict === 'function') {
      for (const t of req.topics) {
        for (const p of t.partitions) {
          // Kafka checks the partitions it would write: of existing topics, with valid metadata.
          if (!this.opts.partitionExists(t.name, p.partitionIndex) || tooLarge(p.committedMetadata ?? '')) continue;
          const code = verdict(t.name, p.partitionIndex);
          if (code !== ErrorCode.NONE) {
            groupCode = code;
            break;
          }
        }
        if (groupCode !== ErrorCode.NONE) break;
      }
    }
    if (groupCode !== ErrorCode.NONE) {
      if (group) this.dropIfUnused(group);
      return everyPartition(req, groupCode);
    }
    if (!storableGroupId(req.groupId)) {
      if (group) this.dropIfUnused(group);
      return everyPartition(req, ErrorCode.UNKNOWN_SERVER_ERROR);
    }
    const now = this.opts.clock.now();
    const records: CoordinatorRecord[] = [];
    const accepted: { topic: string; partition: number; value: OffsetValue }[] = [];
    const results: TopicPartitionCodes[] = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        let errorCode: number = ErrorCode.NONE;
        const metadata = p.committedMetadata ?? '';
        if (!this.opts.partitionExists(t.name, p.partitionIndex)) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else if (tooLarge(metadata)) errorCode = ErrorCode.OFFSET_METADATA_TOO_LARGE;
        else {
          const value: OffsetValue = { offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata, commitTimestamp: now };
          records.push({ key: encodeOffsetKey(req.groupId, t.name, p.partitionIndex), value: encodeOffsetValue(value) });
          accepted.push({ topic: t.name, partition: p.partitionIndex, value });
          this.logOrder.set(value, ++this.lastLogOrder);
        }
        return { partitionIndex: p.partitionIndex, errorCode };
      }),
    }));
    if (records.length === 0) {
      if (group) this.dropIfUnused(group);
      return results;
    }
    const epoch = this.epochOf(req.groupId);
    const failAll = (code: number) => {
      for (const t of results) for (const p of t.partitions) if (p.errorCode === ErrorCode.NONE) p.errorCode = code;
      return results;
    };
    try {
      await this.opts.store.append(this.partitionFor(req.groupId), records, producer);
      crashPoint('offset-commit');
    } catch (err) {
      // A transactional commit of a producer the log has seen under a newer epoch is fenced.
      const fenced = producer !== undefined && err instanceof KafkaError && err.code === ErrorCode.INVALID_PRODUCER_EPOCH;
      const code = fenced ? ErrorCode.PRODUCER_FENCED : groupWriteErrorCode(err);
      // A move of the partition fails every commit under way: not worth a line each.
      if (!fenced && code !== ErrorCode.NOT_COORDINATOR) logWriteFailure(this.opts.logger, err, { group: req.groupId.slice(0, 256) }, 'storing offsets failed');
      // A group this commit made goes with it, as Kafka's runtime reverts a failed write.
      if (group && this.pendingTxnPartitions(req.groupId).length === 0) this.dropIfUnused(group);
      return failAll(code);
    }
    // The partition moved while the write was under way: its new coordinator answers for it.
    if (!this.stillOwner(req.groupId, epoch)) return failAll(ErrorCode.NOT_COORDINATOR);
    for (const a of accepted) accept(a.topic, a.partition, a.value);
    return results;
  }

  private setPendingTxnOffset(producerId: number, groupId: string, topic: string, partition: number, value: OffsetValue): void {
    let byGroup = this.pendingTxnOffsets.get(producerId);
    if (!byGroup) {
      byGroup = new Map();
      this.pendingTxnOffsets.set(producerId, byGroup);
    }
    let byTopic = byGroup.get(groupId);
    if (!byTopic) {
      byTopic = new Map();
      byGroup.set(groupId, byTopic);
    }
    let parts = byTopic.get(topic);
    if (!parts) {
      parts = new Map();
      byTopic.set(topic, parts);
    }
    parts.set(partition, value);
  }

  /**
   * A transaction marker of `producerId` reached __consumer_offsets partition `offsetsPartition`:
   * the offsets that producer committed there for its groups become committed (or are dropped).
   */
  completeTransaction(producerId: number, commit: boolean, offsetsPartition: number): void {
    for (const ended of this.txnEndWatchers) ended.add(producerId);
    const byGroup = this.pendingTxnOffsets.get(producerId);
    if (!byGroup) return;
    for (const [groupId, byTopic] of byGroup) {
      if (this.partitionFor(groupId) !== offsetsPartition) continue;
      if (commit) {
        if (!this.groups.has(groupId) && !this.consumer.groups.has(groupId) && !this.streams.groups.has(groupId))
          this.groups.set(groupId, new Group(groupId, this.groupContext));
        for (const [topic, parts] of byTopic) {
          for (const [partition, value] of parts) {
            // An offset committed outside the transaction after this one was written stays (Kafka's
            // replayEndTransactionMarker compares their record offsets).
            const current = this.offsets.get(groupId)?.get(topic)?.get(partition);
            const currentOrder = current && this.logOrder.get(current);
            const order = this.logOrder.get(value);
            if (currentOrder !== undefined && order !== undefined && currentOrder > order) continue;
            this.setOffset(groupId, topic, partition, value);
          }
        }
      }
      byGroup.delete(groupId);
    }
    if (byGroup.size === 0) this.pendingTxnOffsets.delete(producerId);
  }

  /** Whether an open transaction holds an offset for the partition (OffsetFetch require_stable). */
  hasPendingTxnOffset(groupId: string, topic: string, partition: number): boolean {
    for (const byGroup of this.pendingTxnOffsets.values()) if (byGroup.get(groupId)?.get(topic)?.has(partition)) return true;
    return false;
  }

  /** The partitions of `topic` (every topic when absent) for which an open transaction holds an offset of the group. */
  private pendingTxnPartitions(groupId: string, topic?: string): { topic: string; partition: number }[] {
    const seen = new Set<string>();
    const out: { topic: string; partition: number }[] = [];
    for (const byGroup of this.pendingTxnOffsets.values()) {
      for (const [t, parts] of byGroup.get(groupId) ?? []) {
        if (topic !== undefined && t !== topic) continue;
        for (const p of parts.keys()) {
          const key = `${t}\0${p}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({ topic: t, partition: p });
        }
      }
    }
    return out;
  }

  /**
   * An offset tombstone of the partition took effect (written or replayed): the committed offset
   * goes, and so does every open transaction's pending offset of it, as Kafka's
   * OffsetMetadataManager.replay does; a transaction that commits later brings none back.
   */
  private removeOffset(groupId: string, topic: string, partition: number): void {
    this.setOffset(groupId, topic, partition, null);
    for (const [producerId, byGroup] of [...this.pendingTxnOffsets]) {
      const byTopic = byGroup.get(groupId);
      const parts = byTopic?.get(topic);
      if (!byTopic || !parts?.delete(partition)) continue;
      if (parts.size === 0) byTopic.delete(topic);
      if (byTopic.size === 0) byGroup.delete(groupId);
      if (byGroup.size === 0) this.pendingTxnOffsets.delete(producerId);
    }
  }

  /** Every partition of the group with a committed offset or one pending in an open transaction. */
  private offsetPartitions(groupId: string): { topic: string; partition: number }[] {
    const out: { topic: string; partition: number }[] = [];
    for (const [topic, parts] of this.offsets.get(groupId) ?? []) for (const partition of parts.keys()) out.push({ topic, partition });
    for (const e of this.pendingTxnPartitions(groupId)) if (!this.offsets.get(groupId)?.get(e.topic)?.has(e.partition)) out.push(e);
    return out;
  }

  private setOffset(groupId: string, topic: string, partition: number, value: OffsetValue | null): void {
    let byTopic = this.offsets.get(groupId);
    if (value === null) {
      const parts = byTopic?.get(topic);
      parts?.delete(partition);
      if (parts && parts.size === 0) byTopic!.delete(topic);
      if (byTopic && byTopic.size === 0) this.offsets.delete(groupId);
      return;
    }
    if (!byTopic) {
      byTopic = new Map();
      this.offsets.set(groupId, byTopic);
    }
    let parts = byTopic.get(topic);
    if (!parts) {
      parts = new Map();
      byTopic.set(topic, parts);
    }
    parts.set(partition, value);
  }

  /**
   * A deleted topic's committed offsets leave every group at once, as Kafka removes them when the
   * topic goes: an OffsetFetch of all of a group's topics no longer lists it, and a topic created
   * again under the same name starts without the old topic's positions.
   */
  async deleteTopicOffsets(topic: string): Promise<void> {
    if (this.stopped) return;
    const work: Promise<unknown>[] = [];
    // The groups with an offset of the topic, committed or pending in a transaction (Kafka's
    // onTopicsDeleted tombstones both).
    const groupIds = new Set([...this.offsets].filter(([, byTopic]) => byTopic.has(topic)).map(([groupId]) => groupId));
    for (const byGroup of this.pendingTxnOffsets.values()) for (const [groupId, byTopic] of byGroup) if (byTopic.has(topic)) groupIds.add(groupId);
    for (const groupId of groupIds) {
      if (this.groupError(groupId) !== ErrorCode.NONE) continue;
      const parts = new Set([...(this.offsets.get(groupId)?.get(topic)?.keys() ?? []), ...this.pendingTxnPartitions(groupId, topic).map((e) => e.partition)]);
      const records = [...parts].map((p) => ({ key: encodeOffsetKey(groupId, topic, p), value: null }));
      const taken = this.takeOffsets(
        groupId,
        [...parts].map((partition) => ({ topic, partition })),
      );
      work.push(
        this.opts.store.append(this.partitionFor(groupId), records).then(
          () => taken.release(),
          (err: unknown) => {
            logWriteFailure(this.opts.logger, err, { group: groupId, topic }, "removing a deleted topic's offsets failed");
            taken.putBack();
          },
        ),
      );
    }
    await Promise.all(work);
  }

  /**
   * Committed offsets of a group: the requested partitions, or, when topics is null, every
   * committed partition that exists (a deleted topic's offsets never show, even before
   * deleteTopicOffsets or the expiry pass wrote their tombstones).
   */
  fetchOffsets(groupId: string, topics: { name: string; partitionIndexes: number[] }[] | null): { name: string; partitions: FetchedOffset[] }[] {
    const byTopic = this.offsets.get(groupId);
    const entry = (partitionIndex: number, v: OffsetValue | undefined): FetchedOffset =>
      v
        ? { partitionIndex, committedOffset: v.offset, committedLeaderEpoch: v.leaderEpoch, metadata: v.metadata, errorCode: ErrorCode.NONE }
        : { partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE };
    if (topics === null) {
      if (!byTopic) return [];
      const out: { name: string; partitions: FetchedOffset[] }[] = [];
      for (const [name, parts] of byTopic) {
        const live = [...parts.entries()].filter(([p]) => this.opts.partitionExists(name, p)).sort((a, b) => a[0] - b[0]);
        if (live.length > 0) out.push({ name, partitions: live.map(([p, v]) => entry(p, v)) });
      }
      return out;
    }
    return topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => entry(p, byTopic?.get(t.name)?.get(p))) }));
  }

  /**
   * OffsetFetch's group-level check (v9+ names a member): a consumer or streams group checks the
   * member and its epoch; a classic group, a share group (whose fetch finds no offsets) or none
   * reads freely, as in Kafka.
   */
  validateOffsetFetch(groupId: string, memberId: string | null, memberEpoch: number): number {
    if (this.consumer.groups.has(groupId)) return this.consumer.validateOffsetFetch(groupId, memberId, memberEpoch);
    if (this.streams.groups.has(groupId)) return this.streams.validateOffsetFetch(groupId, memberId, memberEpoch);
    return ErrorCode.NONE;
  }

  /** OffsetDelete: the group's top-level error and per-partition codes. */
  async deleteOffsets(groupId: string, topics: { name: string; partitions: number[] }[]): Promise<{ errorCode: number; topics: TopicPartitionCodes[] }> {
    const none = { errorCode: ErrorCode.NONE, topics: [] as TopicPartitionCodes[] };
    const owner = this.groupLevelError(groupId);
    if (owner !== ErrorCode.NONE) return { ...none, errorCode: owner };
    // A consumer or streams group takes the deletion of the offsets of the topics it does not
    // read; a classic one only when empty or of the consumer protocol; a share group has none.
    let isSubscribed: (topic: string) => boolean;
    if (this.consumer.groups.has(groupId)) isSubscribed = (topic) => this.consumer.isSubscribedToTopic(groupId, topic);
    else if (this.streams.groups.has(groupId)) isSubscribed = (topic) => this.streams.isSubscribedToTopic(groupId, topic);
    else {
      const group = this.groups.get(groupId);
      if (!group || group.state === 'Dead') return { ...none, errorCode: ErrorCode.GROUP_ID_NOT_FOUND };
      // A classic group with members must speak the consumer protocol; when its members'
      // subscriptions cannot be read (or no protocol is chosen yet), every topic counts as
      // subscribed, as in Kafka.
      if (group.state !== 'Empty' && group.protocolType !== 'consumer') return { ...none, errorCode: ErrorCode.NON_EMPTY_GROUP };
      const subscribed = group.state === 'Empty' ? new Set<string>() : group.subscribedTopics(decodeSubscribedTopics);
      isSubscribed = (topic) => subscribed === null || subscribed.has(topic);
    }
    const seen = new Map<string, boolean>();
    const subscribedTo = (topic: string) => {
      let v = seen.get(topic);
      if (v === undefined) seen.set(topic, (v = isSubscribed(topic)));
      return v;
    };
    const records: CoordinatorRecord[] = [];
    const removed: { topic: string; partition: number }[] = [];
    const results = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (subscribedTo(t.name)) return { partitionIndex: p, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC };
        // An offset pending in an open transaction is tombstoned too (Kafka's deleteOffsets): the
        // transaction's commit then leaves the partition without an offset.
        if (this.offsets.get(groupId)?.get(t.name)?.has(p) || this.hasPendingTxnOffset(groupId, t.name, p)) {
          records.push({ key: encodeOffsetKey(groupId, t.name, p), value: null });
          removed.push({ topic: t.name, partition: p });
        }
        return { partitionIndex: p, errorCode: ErrorCode.NONE };
      }),
    }));
    if (records.length > 0) {
      const epoch = this.epochOf(groupId);
      try {
        await this.opts.store.append(this.partitionFor(groupId), records);
      } catch (err) {
        logWriteFailure(this.opts.logger, err, { group: groupId }, 'deleting offsets failed');
        return { ...none, errorCode: groupWriteErrorCode(err) };
      }
      if (!this.stillOwner(groupId, epoch)) return { ...none, errorCode: ErrorCode.NOT_COORDINATOR };
      for (const r of removed) this.removeOffset(groupId, r.topic, r.partition);
    }
    return { errorCode: ErrorCode.NONE, topics: results };
  }

  // --- admin -----------------------------------------------------------------------------------

  /**
   * Consumer lag of a group: for each committed partition, the log end (`endOffset`, the high
   * watermark) minus the committed offset. Partitions that no longer exist are left out.
   */
  lag(groupId: string, endOffset: (topic: string, partition: number) => number | undefined): PartitionLag[] {
    const out: PartitionLag[] = [];
    for (const [topic, parts] of this.offsets.get(groupId) ?? []) {
      for (const [partition, v] of [...parts.entries()].sort((a, b) => a[0] - b[0])) {
        const end = endOffset(topic, partition);
        if (end === undefined) continue;
        out.push({ topic, partition, committed: v.offset, end, lag: Math.max(0, end - v.offset) });
      }
    }
    return out;
  }

  listGroups(): GroupListing[] {
    const out: GroupListing[] = [];
    for (const g of this.groups.values()) {
      if (g.state === 'Dead' || this.groupError(g.groupId) !== ErrorCode.NONE) continue;
      out.push({ groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state, type: 'classic' });
    }
    for (const g of this.consumer.groups.values()) {
      if (this.groupError(g.groupId) === ErrorCode.NONE) out.push({ groupId: g.groupId, protocolType: 'consumer', state: g.state, type: 'consumer' });
    }
    for (const g of this.streams.groups.values()) {
      if (this.groupError(g.groupId) === ErrorCode.NONE) out.push({ groupId: g.groupId, protocolType: 'streams', state: g.state, type: 'streams' });
    }
    for (const g of this.share.groups.values()) {
      if (this.groupError(g.groupId) === ErrorCode.NONE) out.push({ groupId: g.groupId, protocolType: 'share', state: g.state, type: 'share' });
    }
    return out;
  }

  describeGroup(groupId: string): GroupDescription {
    const g = this.groups.get(groupId);
    const owner = this.groupError(groupId);
    if (owner !== ErrorCode.NONE) return { errorCode: owner, exists: false, groupId, state: '', protocolType: '', protocolData: '', members: [] };
    if (!g) {
      // As Kafka 4.4: DescribeGroups describes classic groups only; a group of another type is
      // not found (Dead before v6), whatever an older admin client expects of it.
      const notFound = this.hasAnyGroup(groupId) ? `Group ${groupId} is not a classic group.` : `Group ${groupId} not found.`;
      return { errorCode: ErrorCode.NONE, exists: false, notFound, groupId, state: 'Dead', protocolType: '', protocolData: '', members: [] };
    }
    const describing = g.state === 'Stable' || g.state === 'CompletingRebalance';
    return {
      errorCode: ErrorCode.NONE,
      exists: true,
      groupId,
      state: g.state,
      protocolType: g.protocolType ?? '',
      protocolData: describing ? (g.protocolName ?? '') : '',
      members: g.describeMembers(),
    };
  }

  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    return Promise.all(groupIds.map(async (groupId) => ({ groupId, errorCode: await this.deleteGroup(groupId) })));
  }

  private async deleteGroup(groupId: string): Promise<number> {
    const owner = this.groupError(groupId);
    if (owner !== ErrorCode.NONE) return owner;
    const shareGroup = this.share.groups.get(groupId);
    if (shareGroup) {
      const tombstones = this.share.deleteEmpty(groupId);
      if (!tombstones) return ErrorCode.NON_EMPTY_GROUP;
      try {
        await this.opts.store.append(this.partitionFor(groupId), tombstones);
      } catch (err) {
        logWriteFailure(this.opts.logger, err, { group: groupId }, 'writing group tombstones failed');
        if (!this.hasAnyGroup(groupId)) this.share.groups.set(groupId, shareGroup);
        return groupWriteErrorCode(err);
      }
      this.onShareGroupDeleted?.(groupId);
      return ErrorCode.NONE;
    }
    const consumerGroup = this.consumer.groups.get(groupId);
    const streamsGroup = this.streams.groups.get(groupId);
    if (consumerGroup || streamsGroup) {
      const tombstones = consumerGroup ? this.consumer.deleteEmpty(groupId) : this.streams.deleteEmpty(groupId);
      if (!tombstones) return ErrorCode.NON_EMPTY_GROUP;
      for (const { topic, partition } of this.offsetPartitions(groupId).reverse()) tombstones.unshift({ key: encodeOffsetKey(groupId, topic, partition), value: null });
      const taken = this.takeOffsets(groupId);
      try {
        await this.opts.store.append(this.partitionFor(groupId), tombstones);
      } catch (err) {
        logWriteFailure(this.opts.logger, err, { group: groupId }, 'writing group tombstones failed');
        if (!this.hasAnyGroup(groupId)) {
          if (consumerGroup) this.consumer.groups.set(groupId, consumerGroup);
          else if (streamsGroup) this.streams.groups.set(groupId, streamsGroup);
          taken.putBack();
        }
        return groupWriteErrorCode(err);
      } finally {
        taken.release();
      }
      return ErrorCode.NONE;
    }
    const g = this.groups.get(groupId);
    if (!g || g.state === 'Dead') return ErrorCode.GROUP_ID_NOT_FOUND;
    if (g.state !== 'Empty' || !g.isEmpty()) return ErrorCode.NON_EMPTY_GROUP;
    return this.removeGroup(g, 'deleted');
  }

  /**
   * Forgets a group's offsets of `partitions` (all of them when absent), committed and pending
   * in open transactions, for tombstones about to be written, and returns what puts them back
   * should the write fail, as Kafka's runtime reverts a failed write (`release` once the write is
   * done either way). A committed offset comes back unless the partition was committed again
   * meanwhile; a pending one unless its transaction ended meanwhile (its marker found it gone)
   * or the producer has a newer pending offset of the partition.
   */
  private takeOffsets(groupId: string, partitions = this.offsetPartitions(groupId)): { putBack(): void; release(): void } {
    const committed: [string, number, OffsetValue][] = [];
    const pending: [number, string, number, OffsetValue][] = [];
    for (const { topic, partition } of partitions) {
      const value = this.offsets.get(groupId)?.get(topic)?.get(partition);
      if (value) committed.push([topic, partition, value]);
      for (const [producerId, byGroup] of this.pendingTxnOffsets) {
        const v = byGroup.get(groupId)?.get(topic)?.get(partition);
        if (v) pending.push([producerId, topic, partition, v]);
      }
      this.removeOffset(groupId, topic, partition);
    }
    const ended = new Set<number>();
    if (pending.length > 0) this.txnEndWatchers.add(ended);
    const release = () => this.txnEndWatchers.delete(ended);
    const putBack = () => {
      release();
      for (const [topic, partition, value] of committed) if (!this.offsets.get(groupId)?.get(topic)?.has(partition)) this.setOffset(groupId, topic, partition, value);
      for (const [producerId, topic, partition, value] of pending) {
        if (ended.has(producerId) || this.pendingTxnOffsets.get(producerId)?.get(groupId)?.get(topic)?.has(partition)) continue;
        this.setPendingTxnOffset(producerId, groupId, topic, partition, value);
      }
    };
    return { putBack, release };
  }

  /** The producers whose transactions end while a deletion's tombstones are written (one set per deletion). */
  private readonly txnEndWatchers = new Set<Set<number>>();

  /** Whether a group of any type has the id in memory. */
  private hasAnyGroup(groupId: string): boolean {
    return this.groups.has(groupId) || this.consumer.groups.has(groupId) || this.streams.groups.has(groupId) || this.share.groups.has(groupId);
  }

  /** Tombstones a group's offsets and the group itself, then forgets it. */
  private async removeGroup(g: Group, why: string): Promise<number> {
    // Kafka's deleteAllOffsets: the committed offsets and those pending in open transactions.
    const records: CoordinatorRecord[] = this.offsetPartitions(g.groupId).map((e) => ({ key: encodeOffsetKey(g.groupId, e.topic, e.partition), value: null }));
    records.push({ key: encodeGroupKey(g.groupId), value: null });
    const before = g.snapshot();
    g.markDead();
    this.groups.delete(g.groupId);
    const taken = this.takeOffsets(g.groupId);
    try {
      await this.opts.store.append(this.partitionFor(g.groupId), records);
    } catch (err) {
      logWriteFailure(this.opts.logger, err, { group: g.groupId.slice(0, 256) }, 'writing group tombstones failed');
      // Kafka's runtime reverts a failed write: the (empty) group and its offsets are back. One
      // whose id no record can hold exists nowhere but here: it goes all the same.
      if (storableGroupId(g.groupId) && !this.hasAnyGroup(g.groupId)) {
        this.groups.set(g.groupId, Group.restore(g.groupId, this.groupContext, before));
        taken.putBack();
      }
      return groupWriteErrorCode(err);
    } finally {
      taken.release();
    }
    this.opts.logger?.info({ group: g.groupId }, `group ${why}`);
    return ErrorCode.NONE;
  }

  /**
   * offsets.retention.minutes: an Empty group that had members loses its offsets once it has
   * been empty that long; a group only used for manual commits loses each offset that long
   * after its commit. An idle group with no offsets left (or none ever) is removed. Offsets of
   * partitions that no longer exist (deleted topics) are removed from every group.
   */
  async expireOffsets(now = this.opts.clock.now()): Promise<void> {
    const retention = this.opts.offsetsRetentionMs;
    const work: Promise<unknown>[] = [];
    for (const g of [...this.groups.values()]) {
      // Only the groups of partitions loaded here (one being loaded is not complete yet).
      if (this.groupError(g.groupId) !== ErrorCode.NONE) continue;
      const byTopic = this.offsets.get(g.groupId);
      const expired: { topic: string; partition: number }[] = [];
      const idle = g.state === 'Empty' && g.isEmpty();
      for (const [topic, parts] of byTopic ?? []) {
        for (const [p, v] of parts) {
          // Offsets of deleted topics go in every group; others only in idle groups.
          if (!this.opts.partitionExists(topic, p)) {
            expired.push({ topic, partition: p });
            continue;
          }
          // An offset that an open transaction may still replace does not expire (Kafka's
          // cleanupExpiredOffsets), nor does its group go.
          if (this.hasPendingTxnOffset(g.groupId, topic, p)) continue;
          const since = g.protocolType !== null ? Math.max(g.stateTimestamp, v.commitTimestamp) : v.commitTimestamp;
          if (idle && now - since >= retention) expired.push({ topic, partition: p });
        }
      }
      const total = [...(byTopic?.values() ?? [])].reduce((n, parts) => n + parts.size, 0);
      const pending = this.pendingTxnPartitions(g.groupId).length > 0;
      // An idle group left with no offsets goes at once, one that never had any too: Kafka's
      // cleanupGroupMetadata deletes every Empty classic group whose offsets all expired, and
      // OffsetMetadataManager.cleanupExpiredOffsets counts a group with none as all expired.
      if (idle && !pending && total === expired.length) {
        work.push(this.removeGroup(g, 'expired'));
        continue;
      }
      if (expired.length === 0) continue;
      const records = expired.map((e) => ({ key: encodeOffsetKey(g.groupId, e.topic, e.partition), value: null }));
      // A failed write puts them back (Kafka's runtime reverts it; the next pass tries again).
      const taken = this.takeOffsets(g.groupId, expired);
      work.push(
        this.opts.store.append(this.partitionFor(g.groupId), records).then(
          () => taken.release(),
          (err: unknown) => {
            logWriteFailure(this.opts.logger, err, { group: g.groupId }, 'expiring offsets failed');
            taken.putBack();
          },
        ),
      );
    }
    for (const groupId of [...this.consumer.groups.keys(), ...this.streams.groups.keys()]) work.push(this.expireConsumerGroupOffsets(groupId, now, retention));
    await Promise.all(work);
  }

  /**
   * A KIP-848 group's offsets expire by their commit time (Kafka's rule for consumer groups):
   * while the group is empty, or for topics no member subscribes to any more. An empty group left
   * without offsets is removed.
   */
  private async expireConsumerGroupOffsets(groupId: string, now: number, retention: number): Promise<void> {
    if (this.groupError(groupId) !== ErrorCode.NONE) return;
    const streams = this.streams.groups.get(groupId);
    const g = streams ?? this.consumer.groups.get(groupId);
    if (!g) return;
    const subscribed = streams ? this.streams.subscribedTopics(groupId) : new Set(this.consumer.groups.get(groupId)!.topics.keys());
    const records: CoordinatorRecord[] = [];
    const expired: { topic: string; partition: number }[] = [];
    let left = 0;
    for (const [topic, parts] of this.offsets.get(groupId) ?? []) {
      for (const [p, v] of parts) {
        const gone = !this.opts.partitionExists(topic, p);
        const pending = this.hasPendingTxnOffset(groupId, topic, p);
        if (gone || (!pending && (g.members.size === 0 || !subscribed.has(topic)) && now - v.commitTimestamp >= retention)) {
          records.push({ key: encodeOffsetKey(groupId, topic, p), value: null });
          expired.push({ topic, partition: p });
        } else left++;
      }
    }
    const taken = this.takeOffsets(groupId, expired);
    let removed = false;
    if (left === 0 && g.members.size === 0 && this.pendingTxnPartitions(groupId).length === 0) {
      const tombstones = streams ? this.streams.deleteEmpty(groupId) : this.consumer.deleteEmpty(groupId);
      if (tombstones) {
        records.push(...tombstones);
        removed = true;
      }
    }
    if (records.length === 0) return;
    try {
      await this.opts.store.append(this.partitionFor(groupId), records);
      taken.release();
    } catch (err) {
      logWriteFailure(this.opts.logger, err, { group: groupId }, 'expiring offsets failed');
      // Kafka's runtime reverts the failed write: the offsets and the group are back.
      if (removed && !this.hasAnyGroup(groupId)) {
        if (streams) this.streams.groups.set(groupId, streams);
        else this.consumer.groups.set(groupId, g as ConsumerGroup);
      }
      taken.putBack();
    }
  }

  // --- load ------------------------------------------------------------------------------------

  /** Group snapshots seen during replay; null = tombstoned. */
  private loadedGroups = new Map<string, GroupValue | null>();

  /**
   * Applies one record read back from __consumer_offsets (in log order). `txnProducerId` is set
   * for records written inside a transaction: they stay pending until its marker is replayed.
   */
  replayRecord(key: Buffer | null, value: Buffer | null, txnProducerId?: number): void {
    if (!key) return;
    const k = decodeKey(key);
    if (!k) {
      if (!this.share.replay(key, value) && !this.consumer.replay(key, value)) this.streams.replay(key, value);
      return;
    }
    if (k.kind === 'offset') {
      // A tombstone, inside a transaction or not, removes the committed offset and the pending ones.
      if (value === null) {
        this.removeOffset(k.group, k.topic, k.partition);
        return;
      }
      const offset = decodeOffsetValue(value);
      if (offset) this.logOrder.set(offset, ++this.lastLogOrder);
      if (txnProducerId === undefined) this.setOffset(k.group, k.topic, k.partition, offset);
      else if (offset) this.setPendingTxnOffset(txnProducerId, k.group, k.topic, k.partition, offset);
      return;
    }
    if (value === null) {
      // A group tombstone leaves the offsets alone (as in Kafka): deleting a group tombstones
      // them one by one, and a group converted to another type keeps them.
      this.loadedGroups.set(k.group, null);
      return;
    }
    const v = decodeGroupValue(value);
    if (v) this.loadedGroups.set(k.group, v);
  }

  /**
   * After replay of one partition (`partition`; every partition when absent): every group of it
   * with a snapshot or offsets exists again, Empty, members gone.
   */
  finishLoading(partition?: number): void {
    const mine = (groupId: string) => partition === undefined || this.partitionFor(groupId) === partition;
    for (const [groupId, v] of this.loadedGroups) {
      if (!mine(groupId)) continue;
      if (v) {
        const g = Group.restore(groupId, this.groupContext, v);
        this.groups.set(groupId, g);
        // As Kafka: a group loaded with more members than group.max.size (lowered since)
        // rebalances; the members beyond it are turned away as they rejoin.
        if (g.members.size > this.groupContext.maxSize) g.startRebalance(`loaded with ${g.members.size} members, over group.max.size`);
      }
      this.loadedGroups.delete(groupId);
    }
    // Offsets committed after a group was deleted (or by a group never managed) bring it back.
    for (const groupId of this.offsets.keys()) {
      if (mine(groupId) && !this.groups.has(groupId) && !this.consumer.groups.has(groupId) && !this.streams.groups.has(groupId))
        this.groups.set(groupId, new Group(groupId, this.groupContext));
    }
    this.consumer.finishLoading(mine);
    this.streams.finishLoading(mine);
  }

  /**
   * Leadership of `partition` left this broker: its groups leave memory. Members waiting in a
   * join or sync are answered NOT_COORDINATOR and find the new coordinator.
   */
  unloadPartition(partition: number): void {
    const mine = (groupId: string) => this.partitionFor(groupId) === partition;
    for (const [groupId, g] of [...this.groups]) {
      if (!mine(groupId)) continue;
      g.shutdown(ErrorCode.NOT_COORDINATOR);
      this.groups.delete(groupId);
    }
    for (const groupId of [...this.offsets.keys()]) if (mine(groupId)) this.offsets.delete(groupId);
    for (const groupId of [...this.loadedGroups.keys()]) if (mine(groupId)) this.loadedGroups.delete(groupId);
    this.consumer.unload(mine);
    this.streams.unload(mine);
    this.share.unload(mine);
    for (const [producerId, byGroup] of [...this.pendingTxnOffsets]) {
      for (const groupId of [...byGroup.keys()]) if (mine(groupId)) byGroup.delete(groupId);
      if (byGroup.size === 0) this.pendingTxnOffsets.delete(producerId);
    }
  }

  /**
   * Resolves once the coordinator can take requests: its internal topic exists, and when
   * `groupId` is given and its partition is led here, that partition is loaded.
   */
  async ready(groupId?: string): Promise<void> {
    // A broker shutting down: the client looks again (Kafka answers COORDINATOR_NOT_AVAILABLE).
    if (this.stopped) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'group coordinator is stopped');
    await this.opts.ensureReady?.(groupId === undefined ? undefined : this.partitionFor(groupId));
  }

  /** Runs expireOffsets every intervalMs until shutdown. */
  startExpiry(intervalMs: number): void {
    this.expiryTimer = setInterval(() => {
      this.expireOffsets().catch((err: unknown) => this.opts.logger?.error({ err }, 'offset expiry failed'));
    }, intervalMs);
    this.expiryTimer.unref();
  }

  shutdown(): void {
    this.stopped = true;
    this.ownership.close();
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    for (const g of this.groups.values()) g.shutdown();
    this.consumer.shutdown();
    this.streams.shutdown();
    this.share.shutdown();
  }
}
