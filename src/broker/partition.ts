// A partition replica on this broker: the façade handlers and coordinators use instead of the
// log. It carries the replica assignment (leader, leader epoch, replicas, ISR, partition epoch),
// appends with acks semantics, reads with an isolation level, and parks fetches until the high
// watermark moves (Kafka's fetch purgatory, keyed by partition).
//
// On a single node the assignment is leader = replicas = ISR = [this node], epoch 0, and the log's
// high watermark follows its durable end. A replication layer (issue 15) applies assignments with
// applyAssignment, holds the high watermark (holdHighWatermark / setHighWatermark) and fetches
// with read({ isolation: 'log_end' }) / appendAsFollower.
import type { BufferPool } from '../common/buffer-pool.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { readInt64 } from '../protocol/records/int64.js';
import { BATCH_LOG_OVERHEAD, BatchField } from '../protocol/records/record-batch.js';
import { toNumber, type ConfigEntry } from '../config/config.js';
import type { Clock } from '../common/clock.js';
import { FollowerProgress } from './replication/follower-progress.js';
import type { EpochEndOffset } from '../storage/leader-epoch-cache.js';
import type {
  AbortedTransaction,
  AppendOptions,
  AppendResult,
  FollowerAppendResult,
  LogConfig,
  PartitionLog,
  RetentionResult,
  TimestampAndOffset,
  TxnMarkerRequest,
} from '../storage/partition-log.js';
import type { OngoingTxn, ProducerEntry } from '../storage/producer-state.js';

/** A topic as the broker serves it: its id, effective configuration and partitions. */
export interface TopicState {
  name: string;
  id: string;
  internal: boolean;
  /** The topic's own overrides, as stored in metadata. */
  overrides: Record<string, string>;
  /** Effective values (overrides over broker defaults). */
  configs: Map<string, ConfigEntry>;
  partitions: Partition[];
}

/** Who serves a partition, as the controller decided (KRaft's PartitionRecord/PartitionChangeRecord). */
export interface ReplicaAssignment {
  /** Node id of the leader; -1 when the partition is offline. */
  leaderId: number;
  leaderEpoch: number;
  /** Every replica's node id, the preferred leader first. */
  replicas: number[];
  /** The in-sync replicas (the leader included). */
  isr: number[];
  /** Bumped by every change of replicas or ISR; guards AlterPartition-style writes. */
  partitionEpoch: number;
}

/** Kafka's acks: 0 (no answer), 1 (the leader's log), -1 (all: the high watermark passes the batch). */
export type Acks = 0 | 1 | -1;

/**
 * Where a read stops. `high_watermark` (read_uncommitted consumers), `read_committed` (the last
 * stable offset), `log_end` (a follower replica: the leader's durable end).
 */
export type ReadIsolation = 'high_watermark' | 'read_committed' | 'log_end';

export interface ReadParams {
  fetchOffset: number;
  maxBytes: number;
  isolation: ReadIsolation;
  /** A first batch larger than maxBytes is returned whole (default true). */
  minOneBatch?: boolean;
  /**
   * Lend the read buffers from this pool: only for a caller that gives them back once the
   * records are written out (a fetch response, see Connection), and keeps no view of them.
   */
  pool?: BufferPool;
}

export interface PartitionRead {
  /** Whole batches as stored; null when there is nothing to return. */
  records: Buffer | null;
  highWatermark: number;
  lastStableOffset: number;
  logStartOffset: number;
  logEndOffset: number;
  /** For read_committed: the aborted transactions overlapping the records returned (maybe empty); null otherwise. */
  abortedTransactions: AbortedTransaction[] | null;
}

export interface ReplicaAppendOptions extends AppendOptions {
  /** Default -1 (all). With 0 or 1, `done` resolves once the leader's log has the data. */
  acks?: Acks;
}

/**
 * Cluster mode: how a leader asks for a new ISR, as a write to the metadata guarded by the
 * partition epoch it read (Kafka's AlterPartition). Resolves false when the write lost its guard.
 */
export type IsrProposer = (partition: Partition, isr: number[]) => Promise<boolean>;

/** A leader's replication bookkeeping (cluster mode): its followers and an ISR change in flight. */
interface LeaderReplication {
  readonly propose: IsrProposer;
  readonly clock: Clock;
  readonly progress: FollowerProgress;
  /** An ISR proposed and not yet seen back in the metadata; the HW counts its members too. */
  pendingIsr: number[] | null;
  pendingSinceMs: number;
  /** The log end when this leader epoch started: a follower rejoins the ISR only past it. */
  epochStartOffset: number;
  onError: (err: unknown) => void;
}

/** An ISR proposal that saw no answer for this long is forgotten, so another can be made. */
const PENDING_ISR_EXPIRY_MS = 10_000;

export class Partition {
  private assignment: ReplicaAssignment;
  private replication: LeaderReplication | null = null;
  // The collections below are made on first use: a broker holds thousands of partitions that
  // are never fetched from or written to, and an empty Map or Set costs 200 bytes.
  private parked: Set<() => void> | null = null;
  /** Follower fetches parked until the durable end (not the high watermark) moves. */
  private replicasParked: Set<() => void> | null = null;
  /** KIP-890 verification guards by producer id (see verificationGuard). */
  private verifications: Map<number, object> | null = null;
  /** Appends waiting for the high watermark (acks=all), in offset order. */
  private hwWaiters: Array<{ offset: number; resolve: () => void; reject: (err: Error) => void }> = [];
  private notifyQueued = false;
  private replicaNotifyQueued = false;
  /** The local replica's log (replaced when the replica moves to another log directory). */
  private currentLog: PartitionLog;
  private unsubscribeLog: Array<() => void> = [];
  /** Set while the replica's log is being swapped for its copy in another log directory: writes are refused meanwhile. */
  private writesPaused: string | null = null;
  /** Reads under way, per log (a swapped-out log is closed once its reads are done). */
  private reads: Map<PartitionLog, number> | null = null;
  /** Bumped by every truncation, so a copy of the log in progress knows it must start again. */
  truncations = 0;
  /** Set when the log directory holding this replica failed (KIP-112): nothing is served from it any more. */
  offlineReason: string | null = null;
  /** Told of every KAFKA_STORAGE_ERROR of this replica's log (the broker then checks its log directory). */
  onStorageError: ((p: Partition) => void) | null = null;

  constructor(
    readonly topic: TopicState,
    readonly index: number,
    log: PartitionLog,
    /** This broker's node id. */
    readonly localNodeId: number,
    assignment?: ReplicaAssignment,
  ) {
    this.assignment = assignment ?? { leaderId: localNodeId, leaderEpoch: 0, replicas: [localNodeId], isr: [localNodeId], partitionEpoch: 0 };
    this.currentLog = log;
    this.subscribe(log);
    this.startLeaderEpoch();
  }

  /** The local replica's log. Storage and the replication layer only; handlers use the façade. */
  get log(): PartitionLog {
    return this.currentLog;
  }

  private subscribe(log: PartitionLog): void {
    this.unsubscribeLog = [log.onHighWatermark((hw) => this.highWatermarkMoved(hw)), log.onDurableEnd(() => this.durableEndMoved())];
  }

  // --- moving between log directories (AlterReplicaLogDirs) ---------------------------------

  /** Refuses appends and truncations (with a retriable error) until resumeWrites; the log swap's short window. */
  pauseWrites(reason: string): void {
    this.writesPaused = reason;
  }

  resumeWrites(): void {
    this.writesPaused = null;
  }

  /**
   * Serves from `log` from now on: the copy of this replica in another log directory, holding
   * the same batches at the same offsets. The caller paused writes and made sure of that. The
   * high watermark and its mode carry over.
   */
  swapLog(log: PartitionLog): void {
    const old = this.currentLog;
    if (old.highWatermarkHeld) {
      log.holdHighWatermark();
      log.setHighWatermark(old.highWatermark);
    } else log.releaseHighWatermark();
    for (const u of this.unsubscribeLog) u();
    this.currentLog = log;
    this.subscribe(log);
    this.startLeaderEpoch();
    this.notifyDataAvailable();
  }

  /** Reads of `log` still under way through this façade. */
  readsOn(log: PartitionLog): number {
    return this.reads?.get(log) ?? 0;
  }

  /** The log directory failed: every request for this replica answers KAFKA_STORAGE_ERROR from now on. */
  markOffline(reason: string): void {
    this.offlineReason = reason;
    this.failWaiters(new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, reason));
    this.notifyDataAvailable();
  }

  /** Reports storage errors of a write (thrown now, or rejecting its `done`) to onStorageError. */
  private watchStorage<T extends { done: Promise<void> }>(write: () => T): T {
    let result: T;
    try {
      result = write();
    } catch (err) {
      this.storageError(err);
      throw err;
    }
    result.done.catch((err: unknown) => this.storageError(err));
    return result;
  }

  private storageError(err: unknown): void {
    if (err instanceof KafkaError && err.code === ErrorCode.KAFKA_STORAGE_ERROR && this.offlineReason === null) this.onStorageError?.(this);
  }

  private checkWritable(): void {
    if (this.offlineReason !== null) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, this.offlineReason);
    if (this.writesPaused !== null) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, this.writesPaused);
  }

  get topicName(): string {
    return this.topic.name;
  }

  // --- replica assignment -------------------------------------------------------------------

  get leaderId(): number {
    return this.assignment.leaderId;
  }

  get leaderEpoch(): number {
    return this.assignment.leaderEpoch;
  }

  get replicas(): readonly number[] {
    return this.assignment.replicas;
  }

  get isr(): readonly number[] {
    return this.assignment.isr;
  }

  get partitionEpoch(): number {
    return this.assignment.partitionEpoch;
  }

  get isLeader(): boolean {
    return this.assignment.leaderId === this.localNodeId;
  }

  /** Replicas not in the ISR (Metadata's offline/under-replicated views start from it). */
  get outOfSyncReplicas(): number[] {
    return this.assignment.replicas.filter((r) => !this.assignment.isr.includes(r));
  }

  /**
   * Applies a new assignment from the metadata (a leader or ISR change). Becoming leader of a
   * newer epoch starts that epoch at the log end, as Kafka's makeLeader does. The high watermark
   * mode is the replication layer's business (see PartitionLog.holdHighWatermark).
   */
  applyAssignment(assignment: ReplicaAssignment): void {
    const prev = this.assignment;
    this.assignment = { ...assignment, replicas: [...assignment.replicas], isr: [...assignment.isr] };
    const r = this.replication;
    if (r) {
      if (assignment.partitionEpoch !== prev.partitionEpoch || assignment.leaderEpoch !== prev.leaderEpoch) r.pendingIsr = null;
      if (this.isLeader && (prev.leaderId !== this.localNodeId || prev.leaderEpoch !== assignment.leaderEpoch)) this.startLeading(r);
      else r.progress.retain(assignment.replicas, this.localNodeId);
    }
    // Appends waiting for the high watermark of a leadership this replica lost are not
    // acknowledged (Kafka answers NOT_LEADER_OR_FOLLOWER; the producer retries at the new leader).
    if (!this.isLeader) this.failWaiters(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.topicName}-${this.index} moved to node ${assignment.leaderId}`));
    this.startLeaderEpoch();
    // A smaller ISR may let the high watermark move.
    this.maybeIncrementHighWatermark();
    // Parked fetches re-check their leader epoch.
    this.notifyDataAvailable();
  }

  // --- replication (cluster mode) -----------------------------------------------------------

  /**
   * Cluster mode: the high watermark is no longer this log's durable end but the least log end
   * of the ISR (on a leader) or what the leader says (on a follower). Until then it is held at
   * the log start: a restarted replica does not know which of its records were committed.
   */
  enableReplication(propose: IsrProposer, clock: Clock, onError: (err: unknown) => void): void {
    if (this.replication) return;
    this.log.holdHighWatermark(this.log.logStartOffset);
    const r: LeaderReplication = { propose, clock, progress: new FollowerProgress(), pendingIsr: null, pendingSinceMs: 0, epochStartOffset: 0, onError };
    this.replication = r;
    if (this.isLeader) this.startLeading(r);
    this.maybeIncrementHighWatermark();
  }

  get replicated(): boolean {
    return this.replication !== null;
  }

  private startLeading(r: LeaderReplication): void {
    r.progress.reset(this.assignment.replicas, this.assignment.isr, this.localNodeId, r.clock.now());
    r.pendingIsr = null;
    r.epochStartOffset = this.log.logEndOffset;
  }

  /** The ISR the high watermark must wait for: the committed one and any proposed change. */
  private maximalIsr(r: LeaderReplication): number[] {
    const isr = this.assignment.isr;
    return r.pendingIsr ? [...new Set([...isr, ...r.pendingIsr])] : [...isr];
  }

  /**
   * A follower fetched from `fetchOffset` (so it has everything below it) while this leader's log
   * ended at `leaderLogEndOffset`: updates its progress, lets it rejoin the ISR once it has caught
   * up past the high watermark and this epoch's start, and moves the high watermark.
   */
  recordFollowerFetch(replicaId: number, fetchOffset: number, leaderLogEndOffset: number): void {
    const r = this.replication;
    if (!r || !this.isLeader) return;
    const f = r.progress.recordFetch(replicaId, fetchOffset, leaderLogEndOffset, r.clock.now());
    if (!f) return;
    if (!this.assignment.isr.includes(replicaId) && !r.pendingIsr && f.logEndOffset >= this.log.highWatermark && f.logEndOffset >= r.epochStartOffset) {
      this.proposeIsr(r, [...this.assignment.isr, replicaId]);
    }
    this.maybeIncrementHighWatermark();
  }

  /** Whether `replicaId` is a replica of this partition (a follower fetch from anyone else is refused). */
  hasReplica(replicaId: number): boolean {
    return this.assignment.replicas.includes(replicaId);
  }

  /** Leader: drops from the ISR the followers that have not caught up within `maxLagMs`. */
  maybeShrinkIsr(maxLagMs: number): void {
    const r = this.replication;
    if (!r || !this.isLeader) return;
    const now = r.clock.now();
    if (r.pendingIsr) {
      if (now - r.pendingSinceMs < PENDING_ISR_EXPIRY_MS) return;
      r.pendingIsr = null;
    }
    const laggards = r.progress.laggards(this.assignment.isr, this.localNodeId, now, maxLagMs);
    if (laggards.length === 0) return;
    this.proposeIsr(
      r,
      this.assignment.isr.filter((id) => !laggards.includes(id)),
    );
  }

  private proposeIsr(r: LeaderReplication, isr: number[]): void {
    r.pendingIsr = isr;
    r.pendingSinceMs = r.clock.now();
    r.propose(this, isr).then(
      (ok) => {
        // Refused: the metadata changed first. Forget the proposal; the next fetch or check retries.
        if (!ok && r.pendingIsr === isr) r.pendingIsr = null;
      },
      (err: unknown) => {
        if (r.pendingIsr === isr) r.pendingIsr = null;
        r.onError(err);
      },
    );
  }

  /** Leader: the high watermark becomes the least log end over the (maximal) ISR, if that is higher. */
  private maybeIncrementHighWatermark(): void {
    const r = this.replication;
    if (!r || !this.isLeader) return;
    let hw = this.log.durableEndOffset;
    for (const id of this.maximalIsr(r)) {
      if (id === this.localNodeId) continue;
      const leo = r.progress.get(id)?.logEndOffset ?? -1;
      if (leo < hw) hw = leo;
    }
    if (hw > this.log.highWatermark) this.log.setHighWatermark(hw);
  }

  /** The topic's min.insync.replicas. */
  private get minInsyncReplicas(): number {
    const v = this.topic.configs.get('min.insync.replicas')?.value;
    return v ? toNumber(v) : 1;
  }

  private startLeaderEpoch(): void {
    // So that OffsetForLeaderEpoch and ListOffsets know the epoch even before the first append.
    if (this.isLeader && this.log.latestEpoch < this.leaderEpoch) this.log.assignEpoch(this.leaderEpoch, this.log.logEndOffset);
  }

  /**
   * The error for a request naming `currentLeaderEpoch` (-1 = none): NOT_LEADER_OR_FOLLOWER
   * when this replica does not lead, FENCED_LEADER_EPOCH for an older epoch,
   * UNKNOWN_LEADER_EPOCH for a newer one, NONE otherwise. `allowFollower` for requests a
   * follower may serve (none yet; KIP-392 later).
   */
  checkLeaderEpoch(currentLeaderEpoch: number, allowFollower = false): number {
    if (!this.isLeader && !allowFollower) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (currentLeaderEpoch === -1 || currentLeaderEpoch === this.leaderEpoch) return ErrorCode.NONE;
    return currentLeaderEpoch > this.leaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
  }

  // --- offsets and state --------------------------------------------------------------------

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  get logEndOffset(): number {
    return this.log.logEndOffset;
  }

  /** Below it the records are in this replica's file: what followers may fetch from a leader. */
  get durableEndOffset(): number {
    return this.log.durableEndOffset;
  }

  get highWatermark(): number {
    return this.log.highWatermark;
  }

  get lastStableOffset(): number {
    return this.log.lastStableOffset;
  }

  get sizeInBytes(): number {
    return this.log.sizeInBytes;
  }

  get segmentCount(): number {
    return this.log.segmentCount;
  }

  /** Whether the producer has a transaction open here at this epoch (KIP-890: no need to verify again). */
  hasOngoingTransaction(producerId: number, producerEpoch: number): boolean {
    const entry = this.log.producerState.get(producerId);
    return entry !== undefined && entry.ongoingTxnFirstOffset >= 0 && entry.epoch === producerEpoch;
  }

  /**
   * KIP-890's verification guard: taken before the coordinator is asked (asynchronously) whether
   * the producer's data may open a transaction here; a transaction marker for the producer drops
   * it, so data verified for a transaction that ended meanwhile is refused.
   */
  verificationGuard(producerId: number): object {
    this.verifications ??= new Map();
    let guard = this.verifications.get(producerId);
    if (!guard) this.verifications.set(producerId, (guard = {}));
    return guard;
  }

  verificationHolds(producerId: number, guard: object): boolean {
    return this.verifications?.get(producerId) === guard;
  }

  producers(): IterableIterator<ProducerEntry> {
    return this.log.producerState.entries();
  }

  ongoingTransactions(): OngoingTxn[] {
    return this.log.ongoingTransactions();
  }

  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.log.endOffsetForEpoch(epoch);
  }

  epochForOffset(offset: number): number {
    return this.log.epochForOffset(offset);
  }

  offsetForTimestamp(timestamp: number): Promise<TimestampAndOffset | null> {
    return this.log.offsetForTimestamp(timestamp);
  }

  maxTimestampOffset(): Promise<TimestampAndOffset> {
    return this.log.maxTimestampOffset();
  }

  /** DeleteRecords (see PartitionLog.deleteRecords); NOT_LEADER_OR_FOLLOWER on a follower. */
  deleteRecords(offset: number): Promise<number> {
    if (!this.isLeader) return Promise.reject(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `not the leader of ${this.topicName}-${this.index}`));
    try {
      this.checkWritable();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.log.deleteRecords(offset);
  }

  applyRetention(now?: number): Promise<RetentionResult> {
    return this.log.applyRetention(now);
  }

  updateConfig(config: LogConfig): void {
    this.log.updateConfig(config);
  }

  // --- appends ------------------------------------------------------------------------------

  /**
   * Appends producer batches as the leader, at its leader epoch. `done` follows `acks`: with -1
   * it resolves once the high watermark passes the batches (the same moment as the local write
   * on a single node), with 0 or 1 once the leader's log has them. NOT_LEADER_OR_FOLLOWER on a
   * follower; the log's errors otherwise (see PartitionLog.append).
   */
  append(records: Buffer, options: ReplicaAppendOptions = {}): AppendResult {
    this.checkLeader();
    this.checkWritable();
    const acks = options.acks ?? -1;
    if (acks === -1) {
      const min = this.minInsyncReplicas;
      if (this.assignment.isr.length < min) {
        throw new KafkaError(
          ErrorCode.NOT_ENOUGH_REPLICAS,
          `The size of the current ISR [${this.assignment.isr.join(',')}] is insufficient to satisfy the min.isr requirement of ${min} for partition ${this.topicName}-${this.index}`,
        );
      }
    }
    const result = this.withAcks(
      this.watchStorage(() => this.log.append(records, this.leaderEpoch, options)),
      acks,
    );
    if (acks !== -1) return result;
    // Kafka's check once the high watermark has passed the batch: the ISR may have shrunk meanwhile.
    const done = result.done.then(() => {
      const min = this.minInsyncReplicas;
      if (this.assignment.isr.length < min) {
        throw new KafkaError(
          ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
          `The size of the current ISR [${this.assignment.isr.join(',')}] is insufficient to satisfy the min.isr requirement of ${min} for partition ${this.topicName}-${this.index}`,
        );
      }
    });
    done.catch(() => {});
    return { ...result, done };
  }

  /**
   * Writes a transaction marker (COMMIT or ABORT) for one producer at this partition's leader
   * epoch; `done` resolves once the high watermark passes it (the last stable offset moves then).
   * Throws INVALID_PRODUCER_EPOCH / TRANSACTION_COORDINATOR_FENCED synchronously; `done` rejects
   * with KAFKA_STORAGE_ERROR if the write fails.
   */
  writeTxnMarker(marker: TxnMarkerRequest): AppendResult {
    this.checkLeader();
    this.checkWritable();
    this.verifications?.delete(marker.producerId);
    return this.withAcks(
      this.watchStorage(() => this.log.appendTxnMarker(marker, this.leaderEpoch)),
      -1,
    );
  }

  /** A follower's append of batches fetched from the leader (see PartitionLog.appendAsFollower). */
  appendAsFollower(records: Buffer): FollowerAppendResult {
    if (this.isLeader) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `the leader of ${this.topicName}-${this.index} does not append as a follower`);
    this.checkWritable();
    return this.watchStorage(() => this.log.appendAsFollower(records));
  }

  /** Drops a divergent suffix: every batch with an offset ≥ `offset` (KIP-101/279; see PartitionLog.truncateTo). */
  truncateTo(offset: number): Promise<void> {
    try {
      this.checkWritable();
    } catch (err) {
      return Promise.reject(err);
    }
    this.truncations++;
    return this.log.truncateTo(offset);
  }

  /** Restarts the replica empty at the leader's log start (see PartitionLog.truncateFullyAndStartAt). */
  truncateFullyAndStartAt(offset: number): Promise<void> {
    try {
      this.checkWritable();
    } catch (err) {
      return Promise.reject(err);
    }
    this.truncations++;
    return this.log.truncateFullyAndStartAt(offset);
  }

  private checkLeader(): void {
    if (!this.isLeader) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `this broker does not lead ${this.topicName}-${this.index}`);
  }

  private withAcks(result: AppendResult, acks: Acks): AppendResult {
    if (acks !== -1) return result;
    const end = result.lastOffset + 1;
    const done = result.done.then(() => this.waitForHighWatermark(end));
    done.catch(() => {});
    return { ...result, done };
  }

  /** Resolves once the high watermark reaches `offset` (at once if it has). */
  private waitForHighWatermark(offset: number): Promise<void> {
    if (this.log.highWatermark >= offset) return Promise.resolve();
    if (!this.isLeader) return Promise.reject(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${this.topicName}-${this.index} moved to node ${this.leaderId}`));
    return new Promise((resolve, reject) => {
      // Kept in offset order, so a move releases a prefix.
      let i = this.hwWaiters.length;
      while (i > 0 && this.hwWaiters[i - 1]!.offset > offset) i--;
      this.hwWaiters.splice(i, 0, { offset, resolve, reject });
    });
  }

  /** Fails every append waiting for the high watermark (leadership lost, partition deleted). */
  failWaiters(err: Error): void {
    const waiters = this.hwWaiters;
    this.hwWaiters = [];
    for (const w of waiters) w.reject(err);
  }

  private highWatermarkMoved(hw: number): void {
    let released = 0;
    while (released < this.hwWaiters.length && this.hwWaiters[released]!.offset <= hw) this.hwWaiters[released++]!.resolve();
    if (released > 0) this.hwWaiters = this.hwWaiters.slice(released);
    // Wake parked fetches once the log's bookkeeping of this move is done.
    if (this.notifyQueued || !this.parked?.size) return;
    this.notifyQueued = true;
    queueMicrotask(() => {
      this.notifyQueued = false;
      this.notifyDataAvailable();
    });
  }

  private durableEndMoved(): void {
    // The leader's own log end counts for the high watermark (alone when the ISR is just it).
    this.maybeIncrementHighWatermark();
    if (this.replicaNotifyQueued || !this.replicasParked?.size) return;
    this.replicaNotifyQueued = true;
    queueMicrotask(() => {
      this.replicaNotifyQueued = false;
      for (const w of [...(this.replicasParked ?? [])]) w();
    });
  }

  // --- reads --------------------------------------------------------------------------------

  /**
   * Reads whole batches from `fetchOffset` up to the isolation's bound (high watermark, last
   * stable offset, or the durable end for a follower), with the offsets a fetch response
   * reports. Throws OFFSET_OUT_OF_RANGE outside [logStartOffset, logEndOffset].
   */
  async read(params: ReadParams): Promise<PartitionRead> {
    const { fetchOffset, maxBytes, isolation } = params;
    const minOneBatch = params.minOneBatch ?? true;
    if (this.offlineReason !== null) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, this.offlineReason);
    const log = this.log;
    const reads = (this.reads ??= new Map());
    reads.set(log, (reads.get(log) ?? 0) + 1);
    let result;
    try {
      result =
        isolation === 'log_end'
          ? await log.readForReplica(fetchOffset, maxBytes, minOneBatch, params.pool)
          : await log.read(fetchOffset, maxBytes, isolation === 'read_committed' ? log.lastStableOffset : log.highWatermark, minOneBatch, params.pool);
    } finally {
      const n = reads.get(log)! - 1;
      if (n === 0) reads.delete(log);
      else reads.set(log, n);
    }
    let abortedTransactions: AbortedTransaction[] | null = null;
    if (isolation === 'read_committed') {
      abortedTransactions = result.records ? log.abortedTransactions(fetchOffset, endOffsetOf(result.records)) : [];
    }
    return {
      records: result.records,
      highWatermark: log.highWatermark,
      lastStableOffset: log.lastStableOffset,
      logStartOffset: log.logStartOffset,
      logEndOffset: log.logEndOffset,
      abortedTransactions,
    };
  }

  /**
   * Calls `onData` once the next time new data becomes readable: for consumers when the high
   * watermark moves, for a follower (`'log_end'`) when the durable end does. Returns a cancel function.
   */
  watch(onData: () => void, isolation: ReadIsolation = 'high_watermark'): () => void {
    const set = isolation === 'log_end' ? (this.replicasParked ??= new Set()) : (this.parked ??= new Set());
    const once = () => {
      set.delete(once);
      onData();
    };
    set.add(once);
    return () => set.delete(once);
  }

  /** How many fetches are parked on this partition (tests wait for a long poll to park). */
  get parkedFetches(): number {
    return this.parked?.size ?? 0;
  }

  /** Wakes every parked fetch (the high watermark moved, or the assignment changed). */
  notifyDataAvailable(): void {
    // Called on every high watermark move (every produce): nothing allocated when nothing is parked.
    const parked = this.parked?.size ?? 0;
    const replicas = this.replicasParked?.size ?? 0;
    if (parked + replicas === 0) return;
    // A snapshot: each waiter takes itself out of its set when called.
    for (const w of [...(this.parked ?? []), ...(this.replicasParked ?? [])]) w();
  }
}

/** The offset after the last batch in `records` (whole batches, as the log returns them). */
function endOffsetOf(records: Buffer): number {
  let pos = 0;
  let end = 0;
  while (pos + BatchField.records <= records.length) {
    end = readInt64(records, pos + BatchField.baseOffset) + records.readInt32BE(pos + BatchField.lastOffsetDelta) + 1;
    pos += records.readInt32BE(pos + BatchField.batchLength) + BATCH_LOG_OVERHEAD;
  }
  return end;
}
