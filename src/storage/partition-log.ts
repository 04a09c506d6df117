// The log of one partition, as the broker sees it. This façade owns the log's shared state
// (log-state.ts) and keeps what spans its parts: the high watermark and the last stable offset,
// producer state (idempotence, transactions), leader epochs, reads and the life cycle.
//
//   log-writer.ts     the local write pipeline (group commit, fsync policy, rollback) and the
//                     truncation of the files;
//   log-retention.ts  the log start offset: the checkpoint at open, retention, DeleteRecords;
//   cleanable-log.ts  what the log cleaner may see and do (implemented here);
//   log-recovery.ts   recovery at open; log-reads.ts: reads of the segment files.
//
// append() validates a producer's batches, checks sequences and assigns offsets synchronously,
// so call order is offset order; the writer puts them on disk once per event-loop turn.
import type { BufferPool } from '../common/buffer-pool.js';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { fsyncDir, writeFileAtomic } from '../common/atomic-file.js';
import type { CleanableLog } from './cleanable-log.js';
import {
  DELETED_SUFFIX,
  INDEX_SUFFIX,
  LOG_SUFFIX,
  offsetFilePath,
  parseOffsetFileName,
  SNAPSHOT_SUFFIX,
  TIME_INDEX_SUFFIX,
  TMP_SUFFIX,
  TXN_INDEX_SUFFIX,
} from './file-names.js';
import { EpochEndOffset, LeaderEpochCache } from './leader-epoch-cache.js';
import { finishInterruptedCleaning } from './cleaner-files.js';
import type { LogConfig } from './log-config.js';
import { defaultLogIo, LogIo } from './log-io.js';
import { findMaxTimestampOffset, findOffsetForTimestamp, readSegmentBatches, TimestampAndOffset } from './log-reads.js';
import { listSnapshotOffsets, loadProducerState, recoverSegments } from './log-recovery.js';
import { LogRetention, RetentionResult } from './log-retention.js';
import { LogSegment } from './log-segment.js';
import { LogState, segmentIndexFor, storageError } from './log-state.js';
import { IoStats, LogWriter, type PendingAppend } from './log-writer.js';
import { CompletedTxn, OngoingTxn, ProducerStateManager } from './producer-state.js';
import { buildControlBatch } from '../protocol/records/record-batch-builder.js';
import {
  BatchHeader,
  isControl,
  setBaseOffset,
  setPartitionLeaderEpoch,
  splitBatches,
  stampLogAppendTime,
  validateBatch,
  validateProduceRecords,
} from '../protocol/records/record-batch.js';
import type { AbortedTxn } from './txn-index.js';
import { parseTxnMarker } from './txn-marker.js';
import { systemClock, type Clock } from '../common/clock.js';

export type { LogConfig } from './log-config.js';
export type { RetentionResult } from './log-retention.js';
export type { IoStats } from './log-writer.js';
export type { TimestampAndOffset } from './log-reads.js';

export interface PartitionLogOptions {
  logger: Logger;
  /** False after a crash: the last segment (and any without valid indexes) is checked batch by batch. */
  hadCleanShutdown: boolean;
  /** File operations of the write path; tests inject failures here. */
  io?: LogIo;
  /** The clock for LogAppendTime, segment.ms, flush.ms and retention.ms (default: the system's). */
  clock?: Clock;
  /** The log start offset last checkpointed for this partition (the log manager keeps them). */
  logStartOffsetCheckpoint?: number;
  /**
   * Persists a new log start offset; awaited before the start moves and before any segment
   * below it is deleted. Without it the start offset lives in memory only.
   */
  persistLogStartOffset?: (offset: number) => Promise<void>;
  /**
   * When the directory does not exist, open the log in memory only and create the directory and
   * its files on the first write (a new partition: creating a topic of thousands of partitions
   * then costs no file-system work per partition, as Kafka creates its logs after answering).
   * A log that is never written leaves nothing on disk; reopening it finds no directory again
   * and starts it empty, the state it was in.
   */
  deferCreation?: boolean;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** The stamped LogAppendTime, or -1 for CreateTime topics. */
  logAppendTime: number;
  logStartOffset: number;
  /** The batch was already in the log: the offsets are the original ones and nothing was written. */
  duplicate?: boolean;
  /**
   * Resolves once the batches are in the file (and fsynced when the flush policy requires it);
   * rejects with KafkaError(KAFKA_STORAGE_ERROR) otherwise. Unless a replication layer holds the
   * high watermark, it covers them by then too.
   */
  done: Promise<void>;
}

/** What appendAsFollower appended. */
export interface FollowerAppendResult {
  /** Base offset of the first batch and last offset of the last; -1/-1 when nothing was given. */
  firstOffset: number;
  lastOffset: number;
  batches: number;
  /** Resolves once the batches are durable in this replica's file (see AppendResult.done). */
  done: Promise<void>;
}

/** A COMMIT or ABORT marker the transaction coordinator writes for one producer. */
export interface TxnMarkerRequest {
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  commit: boolean;
  /** 2 for a transactions V2 marker (its epoch must be above the data's); 0 or absent otherwise. */
  transactionVersion?: number;
}

/** An aborted transaction as a fetch reports it. */
export interface AbortedTransaction {
  producerId: number;
  firstOffset: number;
}

export interface AppendOptions {
  /**
   * The caller already ran validateBatch on every batch (CRC included): skip the CRC check.
   * Framing, magic and counts are still checked.
   */
  crcVerified?: boolean;
}

export interface ReadResult {
  /** Whole batches, as stored; null when there is nothing to return. */
  records: Buffer | null;
  highWatermark: number;
  logStartOffset: number;
  logEndOffset: number;
}

export class PartitionLog implements CleanableLog {
  private readonly state: LogState;
  private readonly writer: LogWriter;
  private readonly retention: LogRetention;
  private readonly checkpointedStart: number;
  /**
   * Transactions whose marker is assigned but not yet below the high watermark: they still hold
   * the last stable offset back, so no reader sees their data as decided before the marker is.
   */
  private unreplicatedTxns: CompletedTxn[] = [];
  /**
   * True (a single-node leader): the high watermark follows the durable end. False once a
   * replication layer holds it (holdHighWatermark): only setHighWatermark moves it.
   */
  private hwFollowsDurableEnd = true;
  private readonly hwListeners = new Set<(highWatermark: number) => void>();
  private readonly durableListeners = new Set<(durableEnd: number) => void>();

  private constructor(
    readonly dir: string,
    config: LogConfig,
    opts: PartitionLogOptions,
  ) {
    const s = new LogState(dir, config, opts.logger, opts.io ?? defaultLogIo, opts.clock ?? systemClock);
    this.state = s;
    this.writer = new LogWriter(s, {
      durable: (offset) => {
        if (this.hwFollowsDurableEnd) this.moveHighWatermark(offset);
        for (const listener of this.durableListeners) listener(offset);
      },
      undone: (offset) => {
        s.epochs.truncateFromEnd(offset);
        this.unreplicatedTxns = this.unreplicatedTxns.filter((t) => t.lastOffset < offset);
      },
    });
    this.retention = new LogRetention(s, this.writer, opts.persistLogStartOffset ?? null);
    this.checkpointedStart = opts.logStartOffsetCheckpoint ?? 0;
  }

  // --- opening and recovery -----------------------------------------------------------------

  /** Opens (creating if needed) the log in `dir`, recovering it if the shutdown was not clean. */
  static open(dir: string, config: LogConfig, opts: PartitionLogOptions): Promise<PartitionLog> {
    // A new partition (no directory, no start offset checkpointed): nothing to read, recover or
    // clean up, so the log is set up at once, without the dozen promises of a load.
    if (opts.deferCreation && (opts.logStartOffsetCheckpoint ?? 0) === 0) {
      try {
        if (!directoryExists(dir)) return Promise.resolve(PartitionLog.openNew(dir, config, opts));
      } catch (err) {
        return Promise.reject(storageError(err, `cannot open ${dir}`));
      }
    }
    return PartitionLog.openAndLoad(dir, config, opts);
  }

  /** What load() makes of a directory that does not exist, with deferCreation. */
  private static openNew(dir: string, config: LogConfig, opts: PartitionLogOptions): PartitionLog {
    const log = new PartitionLog(dir, config, opts);
    const s = log.state;
    s.epochs = LeaderEpochCache.load(dir, s.logger, false);
    s.epochs.defer();
    s.filesPending = true;
    s.segments = [LogSegment.createDeferred(dir, 0, s.config)];
    s.logger.debug({ dir, segments: 1, logStartOffset: 0, logEndOffset: 0, filesPending: true }, 'partition log loaded');
    return log;
  }

  private static async openAndLoad(dir: string, config: LogConfig, opts: PartitionLogOptions): Promise<PartitionLog> {
    const log = new PartitionLog(dir, config, opts);
    try {
      await log.load(opts.hadCleanShutdown, opts.deferCreation ?? false);
    } catch (err) {
      await Promise.all(log.state.segments.map((s) => s.close()));
      throw err;
    }
    return log;
  }

  private async load(hadCleanShutdown: boolean, deferCreation: boolean): Promise<void> {
    const s = this.state;
    // mkdir answers the directory it created: a new log has nothing to list, recover or clean up,
    // which saves a dozen file-system calls per partition when a topic of thousands is created.
    // With a start offset checkpointed (a log emptied by its start moving past it), the directory
    // is made now: the log restarts there on a segment file of its own.
    const deferred = deferCreation && this.checkpointedStart === 0 && !directoryExists(this.dir);
    const fresh = deferred || (await fsp.mkdir(this.dir, { recursive: true })) !== undefined;
    s.epochs = LeaderEpochCache.load(this.dir, s.logger, !fresh);
    if (deferred) {
      s.epochs.defer();
      s.filesPending = true;
    }
    // A cleaner swap interrupted by a crash is rolled forward (or its partial output dropped).
    if (!fresh) await finishInterruptedCleaning(this.dir, s.logger);
    const names = fresh ? [] : await fsp.readdir(this.dir);
    for (const name of names) {
      if (name.endsWith(TMP_SUFFIX) || name.endsWith(DELETED_SUFFIX)) await fsp.rm(`${this.dir}/${name}`, { force: true });
    }
    let bases = names
      .map((name) => parseOffsetFileName(name, LOG_SUFFIX))
      .filter((o): o is number => o !== null)
      .sort((a, b) => a - b);
    // Segments wholly below the checkpointed start (a crash interrupted their deletion) go
    // before recovery looks at them: a damaged one must not cut the log that follows it.
    let below = 0;
    while (below + 1 < bases.length && bases[below + 1]! <= this.checkpointedStart) below++;
    for (const base of bases.slice(0, below)) await fsp.rm(offsetFilePath(this.dir, base, LOG_SUFFIX), { force: true });
    if (below > 0) {
      s.logger.info({ dir: this.dir, logStartOffset: this.checkpointedStart, segments: below }, 'removed segments below the log start offset');
      bases = bases.slice(below);
    }
    for (const name of names) {
      const base = parseOffsetFileName(name, INDEX_SUFFIX) ?? parseOffsetFileName(name, TIME_INDEX_SUFFIX) ?? parseOffsetFileName(name, TXN_INDEX_SUFFIX);
      if (base !== null && !bases.includes(base)) await fsp.rm(`${this.dir}/${name}`, { force: true });
    }

    if (deferred) {
      s.segments = [LogSegment.createDeferred(this.dir, 0, s.config)];
    } else if (bases.length === 0) {
      s.segments = [LogSegment.create(this.dir, 0, s.config, s.io, !fresh)];
      this.writer.needsDirSync = true;
    } else {
      for (const base of bases) s.segments.push(LogSegment.openExisting(this.dir, base, s.config));
      await recoverSegments(s.segments, hadCleanShutdown, {
        config: s.config,
        logger: s.logger,
        io: s.io,
        epochs: s.epochs,
        now: s.clock.now(),
      });
    }

    await this.retention.applyCheckpointedStart(this.checkpointedStart);
    const active = s.activeSegment;
    s.nextOffset = active.nextOffset;
    s.durableEnd = s.nextOffset;
    s.highWatermark = s.nextOffset;
    // An epoch that starts at the log end holds no record (typically the one assigned when this
    // partition last became leader and nothing was appended since): dropped in memory only, as
    // every open drops it again from the file's contents, and the next checkpoint write (the new
    // leader epoch, moments later) leaves it out. Persisting it here cost two fsyncs per idle
    // partition on every restart.
    s.epochs.truncateFromEnd(s.nextOffset, false);
    s.epochs.truncateFromStart(s.startOffset);
    const staleTxnIndexes = s.segments.filter((segment) => segment.txnIndexStale && segment.state === 'sealed');
    if (!fresh) await this.reloadProducerState();
    // Rebuilt aborted-transaction indexes of sealed segments are written now (the active
    // segment's with its other indexes, when it is sealed or closed).
    for (const segment of staleTxnIndexes) {
      if (segment !== s.activeSegment) await segment.writeTxnIndexFile(s.io);
    }

    // Index files of the active segment would go stale with the next append; a crash then finds
    // them missing and rebuilds them. They are written again when the segment is sealed or closed.
    // After a clean shutdown they, and the producer snapshot at the log end, are left in place
    // until the first change (LogWriter.touch): a log that is not written before the next
    // shutdown then closes without writing anything (thousands of idle partitions: no fsyncs).
    s.untouched =
      !fresh &&
      hadCleanShutdown &&
      active.state === 'sealed' &&
      !active.txnIndexStale &&
      !active.hasDamagedIndex &&
      fs.statSync(offsetFilePath(this.dir, s.nextOffset, SNAPSHOT_SUFFIX), { throwIfNoEntry: false }) !== undefined;
    if (!fresh && !s.untouched) active.removeIndexFilesSync();
    active.state = 'active';
    for (const segment of s.segments.slice(0, -1)) {
      if (segment.state !== 'sealed') {
        segment.finalizeTimeIndex();
        await segment.writeIndexFiles(s.io);
        segment.state = 'sealed';
      }
    }
    s.logger.debug({ dir: this.dir, segments: s.segments.length, logStartOffset: s.startOffset, logEndOffset: s.nextOffset }, 'partition log loaded');
  }

  private reloadProducerState(): Promise<void> {
    const s = this.state;
    // Replays every batch still on disk (even below the log start): more producer history
    // means better deduplication of retries.
    return loadProducerState(this.dir, s.segments, s.producers, s.segments[0]!.baseOffset, s.nextOffset, s.logger);
  }

  // --- offsets ------------------------------------------------------------------------------

  get logStartOffset(): number {
    return this.state.startOffset;
  }

  /** The next offset to assign. */
  get logEndOffset(): number {
    return this.state.nextOffset;
  }

  /**
   * Readers (consumers, coordinators) see the log below it, never at or above. On a single node
   * it is the durable end; with replication, what the replication layer sets (the minimum of
   * the in-sync replicas' durable ends on a leader, the leader's on a follower).
   */
  get highWatermark(): number {
    return this.state.highWatermark;
  }

  /**
   * Below it the data is in this replica's file (fsynced when the flush policy asked): what a
   * follower reports as its log end, and what a leader's own replica counts for the HW.
   */
  get durableEndOffset(): number {
    return this.state.durableEnd;
  }

  /** Whether a replication layer holds the high watermark (see holdHighWatermark). */
  get highWatermarkHeld(): boolean {
    return !this.hwFollowsDurableEnd;
  }

  /**
   * Hands the high watermark to a replication layer: from now on it moves only by
   * setHighWatermark. `resetTo` lowers it at once (a replica whose HW is not known yet, e.g. after
   * a restart, holds it at its log start until the leader tells it: the conservative recovery).
   */
  holdHighWatermark(resetTo?: number): void {
    this.hwFollowsDurableEnd = false;
    if (resetTo !== undefined && resetTo < this.state.highWatermark) this.setHighWatermark(resetTo);
  }

  /** A single-node leader again: the high watermark follows the durable end, starting now. */
  releaseHighWatermark(): void {
    this.hwFollowsDurableEnd = true;
    this.moveHighWatermark(this.state.durableEnd);
  }

  /**
   * Sets the high watermark (a replication layer's call), clamped to [log start, durable end];
   * it may go down (a follower learning a lower leader HW after a truncation). Returns the value set.
   */
  setHighWatermark(offset: number): number {
    const s = this.state;
    const hw = Math.max(s.startOffset, Math.min(offset, s.durableEnd));
    this.moveHighWatermark(hw);
    return hw;
  }

  /** Calls `listener` after every move of the high watermark; returns a function that stops it. */
  onHighWatermark(listener: (highWatermark: number) => void): () => void {
    this.hwListeners.add(listener);
    return () => this.hwListeners.delete(listener);
  }

  /** Calls `listener` after every move of the durable end (what followers can fetch); returns a function that stops it. */
  onDurableEnd(listener: (durableEnd: number) => void): () => void {
    this.durableListeners.add(listener);
    return () => this.durableListeners.delete(listener);
  }

  /** Moves the high watermark, releases the transactions it now covers, tells the listeners. */
  private moveHighWatermark(offset: number): void {
    if (offset === this.state.highWatermark) return;
    this.state.highWatermark = offset;
    if (this.unreplicatedTxns.length > 0) this.unreplicatedTxns = this.unreplicatedTxns.filter((t) => t.lastOffset >= offset);
    for (const listener of this.hwListeners) listener(offset);
  }

  /**
   * The last stable offset: below it every transaction is decided (committed or aborted, marker
   * written and acknowledged). The high watermark, or the first offset of the oldest transaction
   * still open (or whose marker is not yet acknowledged) when that is lower.
   */
  get lastStableOffset(): number {
    const s = this.state;
    const hw = s.highWatermark;
    let lso = hw;
    const ongoing = s.producers.firstOngoingOffset();
    if (ongoing !== null && ongoing < lso) lso = ongoing;
    for (const txn of this.unreplicatedTxns) if (txn.firstOffset < lso) lso = txn.firstOffset;
    // An open transaction may have started below the log start (retention, DeleteRecords): as in
    // Kafka, the LSO is then the log start, never an offset that is gone.
    return Math.max(lso, Math.min(s.startOffset, hw));
  }

  // --- producer state and transactions ------------------------------------------------------

  /** The transactions open on this partition, oldest first (DescribeProducers, the coordinator). */
  ongoingTransactions(): OngoingTxn[] {
    return this.state.producers.ongoingTransactions();
  }

  /**
   * The aborted transactions a fetch of [fetchOffset, upperBoundOffset) must report: those whose
   * data overlaps that range (first offset below its end, ABORT marker at or after its start).
   */
  abortedTransactions(fetchOffset: number, upperBoundOffset: number): AbortedTransaction[] {
    return this.abortedTxnEntries(fetchOffset, upperBoundOffset).map((t) => ({ producerId: t.producerId, firstOffset: t.firstOffset }));
  }

  /** The aborted-transaction index entries overlapping [from, to), in marker order. */
  abortedTxnEntries(from: number, to: number, segments: readonly LogSegment[] = this.state.segments): AbortedTxn[] {
    const found: AbortedTxn[] = [];
    for (let i = segmentIndexFor(segments, from); i < segments.length; i++) {
      if (segments[i]!.txnIndex.collect(from, to, found)) break;
    }
    return found;
  }

  get producerState(): ProducerStateManager {
    return this.state.producers;
  }

  /** Forgets idle producers (see ProducerStateManager.removeExpired); returns how many. */
  expireProducers(expirationMs: number, now: number = this.state.clock.now()): number {
    if (this.state.closed) return 0;
    return this.state.producers.removeExpired(now, expirationMs);
  }

  // --- leader epochs ------------------------------------------------------------------------

  get latestEpoch(): number {
    return this.state.epochs.latestEpoch;
  }

  get leaderEpochCache(): LeaderEpochCache {
    return this.state.epochs;
  }

  /** OffsetForLeaderEpoch for this log (see LeaderEpochCache.endOffsetFor). */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.state.epochs.endOffsetFor(epoch, this.state.nextOffset);
  }

  /** The leader epoch in force at `offset`, or -1 when unknown. */
  epochForOffset(offset: number): number {
    return this.state.epochs.epochForOffset(offset);
  }

  /** Whether the log's directory and files exist yet (see PartitionLogOptions.deferCreation). */
  get filesCreated(): boolean {
    return !this.state.filesPending;
  }

  /** Creates the directory and files of a log opened with deferCreation now, if it has none yet. */
  async createFiles(): Promise<void> {
    try {
      await this.writer.createFiles();
    } catch (err) {
      throw storageError(err, `cannot create ${this.dir}`);
    }
  }

  assignEpoch(epoch: number, startOffset: number): void {
    const s = this.state;
    // Made durable with the log's next fsync (see LeaderEpochCache.syncIfNeeded).
    s.epochs.assign(epoch, startOffset, 'unsynced');
  }

  // --- size, config, counters ---------------------------------------------------------------

  /** Bytes written to the segment files. */
  get sizeInBytes(): number {
    return this.state.segments.reduce((sum, s) => sum + s.size, 0);
  }

  get segmentCount(): number {
    return this.state.segments.length;
  }

  /** Base offsets of the segments, oldest first. */
  get segmentBaseOffsets(): number[] {
    return this.state.segments.map((s) => s.baseOffset);
  }

  /** Counters of the write path (for tests and metrics). */
  get ioStats(): Readonly<IoStats> {
    return this.writer.stats;
  }

  get isClosed(): boolean {
    return this.state.closed;
  }

  /** New settings apply from the next append (segment sizes) or the next segment (index sizes). */
  updateConfig(config: LogConfig): void {
    this.state.config = { ...config };
    this.state.activeSegment.indexIntervalBytes = config.indexIntervalBytes;
  }

  // --- append -------------------------------------------------------------------------------

  /**
   * Appends a produce request's `records` (one or more v2 batches). Validation (framing, magic,
   * CRC32C, counts: CORRUPT_MESSAGE), producer checks (INVALID_PRODUCER_EPOCH,
   * OUT_OF_ORDER_SEQUENCE_NUMBER) and offset assignment happen synchronously, all or nothing;
   * the caller does not need to validate first.
   *
   * The batches are patched IN PLACE (base offset, partition leader epoch, LogAppendTime) and
   * the buffer is kept until written: the caller must not reuse or modify it afterwards.
   */
  append(records: Buffer, leaderEpoch: number, options: AppendOptions = {}): AppendResult {
    const s = this.state;
    s.checkOpen();
    if (s.truncating) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.dir} is being truncated`);
    const batches = validateProduceRecords(records, { verifyCrc: !options.crcVerified });
    for (const { bytes } of batches) this.checkFitsSegment(bytes);
    const logAppendTimeTopic = s.config.messageTimestampType === 'LogAppendTime';
    const duplicate = s.producers.check(batches.map((b) => b.header));
    if (duplicate) {
      return {
        baseOffset: duplicate.firstOffset,
        lastOffset: duplicate.lastOffset,
        logAppendTime: logAppendTimeTopic ? duplicate.timestamp : -1,
        logStartOffset: s.startOffset,
        duplicate: true,
        done: this.writer.waitForDurable(duplicate.lastOffset + 1),
      };
    }
    if (leaderEpoch > s.epochs.latestEpoch) s.epochs.assign(leaderEpoch, s.nextOffset, 'unsynced');

    const now = s.clock.now();
    const append = this.writer.beginAppend();
    try {
      for (const { bytes, header } of batches) {
        setBaseOffset(bytes, s.nextOffset);
        setPartitionLeaderEpoch(bytes, leaderEpoch);
        header.baseOffset = s.nextOffset;
        header.partitionLeaderEpoch = leaderEpoch;
        if (logAppendTimeTopic) {
          stampLogAppendTime(bytes, now);
          header.maxTimestamp = now;
        }
        this.placeBatch(append, bytes, header, now);
      }
    } catch (err) {
      // Only a failed roll (creating the new segment file) can land here.
      this.writer.abandonAppend(append);
      throw storageError(err, `cannot append to ${this.dir}`);
    }
    this.writer.commitAppend(append);
    return {
      baseOffset: append.firstOffset,
      lastOffset: append.endOffset - 1,
      logAppendTime: logAppendTimeTopic ? now : -1,
      logStartOffset: s.startOffset,
      done: append.done,
    };
  }

  /**
   * Writes a transaction marker (a COMMIT or ABORT control batch) for one producer through the
   * normal append path. Fencing: a producer epoch below the producer's current one is
   * INVALID_PRODUCER_EPOCH, a coordinator epoch below the last marker's is
   * TRANSACTION_COORDINATOR_FENCED; a transactions V2 marker must carry an epoch above the open
   * transaction's (Kafka's strict check). A marker for a producer without an open transaction is
   * written all the same (it ends nothing). Once `done` resolves the last stable offset has
   * moved past the transaction.
   */
  appendTxnMarker(marker: TxnMarkerRequest, leaderEpoch: number): AppendResult {
    this.state.checkOpen();
    this.state.producers.checkMarker(marker.producerId, marker.producerEpoch, marker.coordinatorEpoch, marker.transactionVersion ?? 0);
    const batch = buildControlBatch({
      type: marker.commit ? 'COMMIT' : 'ABORT',
      producerId: marker.producerId,
      producerEpoch: marker.producerEpoch,
      coordinatorEpoch: marker.coordinatorEpoch,
      timestamp: this.state.clock.now(),
    });
    return this.append(batch, leaderEpoch, { crcVerified: true });
  }

  /**
   * Appends batches fetched from the leader as they are: the leader's offsets, partition leader
   * epochs, timestamps and bytes are kept (nothing is re-stamped, so the replica stays
   * byte-identical). Every batch's framing and CRC32C is checked (CORRUPT_MESSAGE) and offsets
   * must not go back: the first batch starts at or after the log end, each next one after the
   * previous (OFFSET_OUT_OF_RANGE otherwise). Gaps are allowed: a compacted leader log has them.
   * A trailing partial batch (a fetch cut at its byte limit) is ignored. All or nothing.
   *
   * Producer state, the aborted-transaction index (so the LSO) and the leader-epoch cache are
   * rebuilt from the batches, as if the leader's appends had happened here. The buffer is kept
   * until written: the caller must not reuse it.
   */
  appendAsFollower(records: Buffer): FollowerAppendResult {
    const s = this.state;
    s.checkOpen();
    if (s.truncating) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.dir} is being truncated`);
    const batches: Array<{ bytes: Buffer; header: BatchHeader }> = [];
    let expected = s.nextOffset;
    for (const bytes of splitBatches(records, { rejectPartialTail: false })) {
      const header = validateBatch(bytes);
      if (header.baseOffset < expected) {
        throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `batch at offset ${header.baseOffset} goes back: ${this.dir} expects offsets from ${expected}`);
      }
      this.checkFitsSegment(bytes);
      batches.push({ bytes, header });
      expected = header.baseOffset + header.lastOffsetDelta + 1;
    }
    if (batches.length === 0) return { firstOffset: -1, lastOffset: -1, batches: 0, done: this.writer.waitForDurable(s.nextOffset) };
    const now = s.clock.now();
    const append = this.writer.beginAppend();
    try {
      for (const { bytes, header } of batches) {
        if (header.partitionLeaderEpoch > s.epochs.latestEpoch) s.epochs.assign(header.partitionLeaderEpoch, header.baseOffset, 'unsynced');
        this.placeBatch(append, bytes, header, now);
      }
    } catch (err) {
      this.writer.abandonAppend(append);
      throw storageError(err, `cannot append to ${this.dir}`);
    }
    this.writer.commitAppend(append);
    const last = batches[batches.length - 1]!.header;
    return {
      firstOffset: batches[0]!.header.baseOffset,
      lastOffset: last.baseOffset + last.lastOffsetDelta,
      batches: batches.length,
      done: append.done,
    };
  }

  /** A batch larger than a segment can never be written (RECORD_LIST_TOO_LARGE). */
  private checkFitsSegment(bytes: Buffer): void {
    const max = this.state.config.segmentBytes;
    if (bytes.length > max) throw new KafkaError(ErrorCode.RECORD_LIST_TOO_LARGE, `record batch of ${bytes.length} bytes exceeds segment.bytes ${max}`);
  }

  /**
   * Places one batch of an append (leader or follower) and applies it to the producer state; the
   * append keeps the producer state's undo, for when it is abandoned.
   */
  private placeBatch(append: PendingAppend, bytes: Buffer, header: BatchHeader, now: number): void {
    const segment = this.writer.placeBatch(append, bytes, header, now);
    const marker = isControl(header.attributes) ? parseTxnMarker(bytes) : null;
    const undo = this.state.producers.apply(header, marker);
    if (undo) append.undo.push(undo);
    if (undo?.completed) this.transactionCompleted(undo.completed, segment);
  }

  /** Bookkeeping of a transaction that a marker just ended (offsets assigned, not yet written). */
  private transactionCompleted(txn: CompletedTxn, segment: LogSegment): void {
    this.unreplicatedTxns.push(txn);
    if (txn.aborted) {
      segment.txnIndex.append({
        producerId: txn.producerId,
        firstOffset: txn.firstOffset,
        lastOffset: txn.lastOffset,
        lastStableOffset: this.state.producers.firstOngoingOffset() ?? txn.lastOffset + 1,
      });
    }
  }

  // --- flushing -----------------------------------------------------------------------------

  /** Writes what is pending and fsyncs everything written so far. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** For the periodic flusher: fsyncs if data is waiting and flush.ms has passed since the last fsync. */
  flushIfDue(now = this.state.clock.now()): Promise<void> {
    return this.writer.flushIfDue(now);
  }

  // --- reads --------------------------------------------------------------------------------

  /**
   * Reads whole batches starting with the one containing `fetchOffset`, up to `maxBytes`, and
   * only batches whose base offset is below `maxOffset` (exclusive, capped at the high
   * watermark). With `minOneBatch`, a first batch larger than maxBytes is returned whole.
   * Throws OFFSET_OUT_OF_RANGE outside [logStartOffset, logEndOffset].
   */
  read(fetchOffset: number, maxBytes: number, maxOffset: number = this.state.highWatermark, minOneBatch = true, pool?: BufferPool): Promise<ReadResult> {
    return this.readBelow(fetchOffset, maxBytes, Math.min(maxOffset, this.state.highWatermark), minOneBatch, pool);
  }

  /**
   * A follower's fetch from this (leader) replica: like read, but up to the durable end rather
   * than the high watermark (Kafka's FetchIsolation.LOG_END), so followers can catch up before
   * the high watermark covers the data.
   */
  readForReplica(fetchOffset: number, maxBytes: number, minOneBatch = true, pool?: BufferPool): Promise<ReadResult> {
    return this.readBelow(fetchOffset, maxBytes, this.state.durableEnd, minOneBatch, pool);
  }

  /** `pool`: read buffers are lent from it; the caller gives them back once it is done with the records. */
  private async readBelow(fetchOffset: number, maxBytes: number, limit: number, minOneBatch: boolean, pool?: BufferPool): Promise<ReadResult> {
    const s = this.state;
    s.checkOpen();
    if (fetchOffset < s.startOffset || fetchOffset > s.nextOffset) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${fetchOffset} is outside [${s.startOffset}, ${s.nextOffset}] of ${this.dir}`);
    }
    const result: ReadResult = {
      records: null,
      highWatermark: s.highWatermark,
      logStartOffset: s.startOffset,
      logEndOffset: s.nextOffset,
    };
    if (fetchOffset >= limit) return result;
    for (let attempt = 0; ; attempt++) {
      // Retention and the cleaner may replace segments while this read waits for the disk: walk
      // a snapshot, and start over if the cleaner swapped segments under it.
      const segments = [...s.segments];
      const swaps = s.swaps;
      try {
        result.records = null;
        for (let i = segmentIndexFor(segments, fetchOffset); i < segments.length; i++) {
          const segment = segments[i]!;
          if (segment.baseOffset >= limit) break;
          const found = await readSegmentBatches(segment, fetchOffset, maxBytes, limit, minOneBatch, s.config.indexIntervalBytes, pool);
          if (found === 'next') continue;
          result.records = found;
          break;
        }
        return result;
      } catch (err) {
        if (attempt < 3 && swaps !== s.swaps && !s.closed && fetchOffset >= s.startOffset) continue;
        this.readFailed(err, fetchOffset);
      }
    }
  }

  private readFailed(err: unknown, fetchOffset: number): never {
    const start = this.state.startOffset;
    if (fetchOffset < start) {
      // The segment was deleted under the read: the offset is gone now.
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${fetchOffset} is below the log start offset ${start} of ${this.dir}`);
    }
    throw storageError(err, `read from ${this.dir} failed`);
  }

  // --- timestamps ---------------------------------------------------------------------------

  /**
   * The first record (in offset order, below the high watermark) whose timestamp is ≥ `timestamp`,
   * or null when there is none.
   */
  offsetForTimestamp(timestamp: number): Promise<TimestampAndOffset | null> {
    const s = this.state;
    return this.retryAfterDeletion(() => findOffsetForTimestamp([...s.segments], timestamp, s.startOffset, s.highWatermark));
  }

  /** Kafka's MAX_TIMESTAMP: the first record with the largest timestamp; -1/-1 for an empty log. */
  maxTimestampOffset(): Promise<TimestampAndOffset> {
    this.writer.writePending();
    const s = this.state;
    return this.retryAfterDeletion(() => findMaxTimestampOffset([...s.segments], s.startOffset));
  }

  /** Runs a timestamp lookup again if retention deleted a segment under it (the start moved). */
  private async retryAfterDeletion<T>(lookup: () => Promise<T>): Promise<T> {
    const s = this.state;
    for (let attempt = 0; ; attempt++) {
      const start = s.startOffset;
      const swaps = s.swaps;
      try {
        return await lookup();
      } catch (err) {
        if (attempt < 3 && (s.startOffset !== start || s.swaps !== swaps) && !s.closed) continue;
        throw storageError(err, `timestamp lookup in ${this.dir} failed`);
      }
    }
  }

  // --- log start offset, retention, DeleteRecords (log-retention.ts) ------------------------

  /** One retention pass; see LogRetention.applyRetention. */
  applyRetention(now: number = this.state.clock.now()): Promise<RetentionResult> {
    return this.retention.applyRetention(now);
  }

  /**
   * DeleteRecords: moves the log start offset to `offset` (-1 = the high watermark) and removes
   * the segments wholly below it. Returns the new log start offset (the low watermark).
   * OFFSET_OUT_OF_RANGE above the high watermark; POLICY_VIOLATION for compact-only topics.
   */
  deleteRecords(offset: number): Promise<number> {
    return this.retention.deleteRecords(offset);
  }

  /** A follower follows its leader's log start (see LogRetention.followStartOffset). */
  followLeaderLogStart(offset: number): Promise<void> {
    return this.retention.followStartOffset(offset);
  }

  // --- the log cleaner's view (cleanable-log.ts) --------------------------------------------

  get segmentList(): readonly LogSegment[] {
    return [...this.state.segments];
  }

  get currentConfig(): Readonly<LogConfig> {
    return this.state.config;
  }

  now(): number {
    return this.state.clock.now();
  }

  runExclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.retention.serialized(task);
  }

  replaceSegments(old: readonly LogSegment[], replacement: LogSegment): boolean {
    const s = this.state;
    if (s.closed || s.truncating || old.length === 0) return false;
    const index = s.segments.indexOf(old[0]!);
    if (index < 0 || index + old.length >= s.segments.length) return false; // never the active segment
    for (let i = 0; i < old.length; i++) if (s.segments[index + i] !== old[i]) return false;
    s.segments = [...s.segments.slice(0, index), replacement, ...s.segments.slice(index + old.length)];
    s.swaps++;
    return true;
  }

  // --- truncation ---------------------------------------------------------------------------

  /**
   * Removes every batch that contains an offset ≥ `targetOffset` (a batch straddling it goes
   * entirely), for replicas that diverged. Appends are refused while it runs.
   */
  async truncateTo(targetOffset: number): Promise<void> {
    const s = this.state;
    if (targetOffset >= s.nextOffset) {
      // Nothing to cut, but an epoch may start at the log end with no batch in it: this replica
      // led that epoch and lost it before writing anything. Left there it would name this log's
      // last fetched epoch, one the new leader never had, and every fetch would diverge again
      // without anything to truncate (as Kafka's UnifiedLog.truncateTo, drop it always).
      s.epochs.truncateFromEnd(s.nextOffset);
      return;
    }
    s.checkOpen();
    if (s.truncating) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is already being truncated`);
    s.truncating = true;
    try {
      // Nothing at or above the cut is committed any more: reads stop below it from now on.
      if (targetOffset < s.highWatermark) this.moveHighWatermark(Math.max(targetOffset, s.startOffset));
      await this.writer.truncateFiles(targetOffset);
      if (s.startOffset > s.nextOffset) s.startOffset = s.nextOffset;
      s.epochs.truncateFromEnd(s.nextOffset);
      // Producer state is rebuilt from the snapshot at or below the new end and the batches
      // after it, and swapped in at once. Until then reads see the old state, whose last stable
      // offset is still safe below the cut, and the transactions whose markers were cut keep
      // holding it until the swap (found 10: a read_committed fetch served in between read
      // aborted data, the state being half-replayed and the index empty).
      await this.reloadProducerState();
      this.unreplicatedTxns = this.unreplicatedTxns.filter((t) => t.lastOffset < s.nextOffset);
      this.moveHighWatermark(Math.min(s.highWatermark, s.nextOffset));
      s.logger.info({ dir: this.dir, targetOffset, logEndOffset: s.nextOffset }, 'truncated log');
    } catch (err) {
      throw storageError(err, `cannot truncate ${this.dir}`);
    } finally {
      s.truncating = false;
    }
  }

  /**
   * For a follower whose log end is below the leader's log start (the leader no longer has what
   * it would fetch next): drops every segment and restarts empty at `offset`, which becomes the
   * log start, the log end and the high watermark. Producer state and its snapshots, the aborted
   * index and the leader-epoch cache go with the data they described (Kafka's
   * truncateFullyAndStartAt). OFFSET_OUT_OF_RANGE below the log start.
   */
  async truncateFullyAndStartAt(offset: number): Promise<void> {
    const s = this.state;
    s.checkOpen();
    if (offset < s.startOffset) {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `cannot restart ${this.dir} at ${offset}, below its log start ${s.startOffset}`);
    }
    if (s.truncating) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is already being truncated`);
    s.truncating = true;
    try {
      await this.writer.createFiles();
      this.writer.touch();
      await this.retention.serialized(async () => {
        await this.writer.flush();
        await this.writer.background;
        // The checkpoint first: a crash from here on reopens the log empty at `offset`.
        await this.retention.advanceStartOffset(offset);
        const victims = s.segments;
        for (const victim of victims) await victim.deleteAsync();
        s.segments = [LogSegment.create(this.dir, offset, s.config, s.io)];
        this.writer.needsDirSync = true;
        s.nextOffset = offset;
        s.durableEnd = offset;
        s.startOffset = offset;
        s.epochs.truncateFromEnd(Number.MIN_SAFE_INTEGER);
        s.producers.clear();
        for (const snapshot of await listSnapshotOffsets(this.dir)) {
          await fsp.rm(offsetFilePath(this.dir, snapshot, SNAPSHOT_SUFFIX), { force: true });
        }
        this.unreplicatedTxns = [];
        s.highWatermark = Math.min(s.highWatermark, offset);
        this.moveHighWatermark(offset);
      });
      s.logger.info({ dir: this.dir, logStartOffset: offset }, "truncated the whole log; it restarts at the leader's log start");
    } catch (err) {
      throw storageError(err, `cannot truncate ${this.dir}`);
    } finally {
      s.truncating = false;
    }
  }

  // --- shutdown -----------------------------------------------------------------------------

  /**
   * Writes and fsyncs everything, seals the segments, writes the active segment's indexes and
   * a producer snapshot at the log end, and closes the files. Pending appends still complete.
   */
  async close(): Promise<void> {
    const s = this.state;
    if (s.closed) return;
    s.closed = true;
    try {
      await this.writer.flush();
      await this.writer.background;
      // An exclusive task (a cleaner swap) may be writing segment files: close after it.
      await this.retention.idle;
      // Never written: nothing on disk, and nothing to save (the next open starts it empty).
      if (s.filesPending) return;
      // Unchanged since a clean open: its files are as the last close left them.
      if (s.untouched) {
        await s.epochs.syncIfNeeded();
        return;
      }
      const active = s.activeSegment;
      active.finalizeTimeIndex();
      await active.writeIndexFiles(s.io);
      await writeFileAtomic(offsetFilePath(this.dir, s.nextOffset, SNAPSHOT_SUFFIX), s.producers.snapshot(s.nextOffset), { syncDir: false });
      await this.writer.deleteOldSnapshots();
      await s.epochs.syncIfNeeded({ syncDir: false }); // the directory is fsynced next
      await fsyncDir(this.dir);
    } finally {
      await Promise.all(s.segments.map((segment) => segment.close()));
    }
    s.logger.debug({ dir: this.dir, logEndOffset: s.nextOffset }, 'partition log closed');
  }

  /**
   * Its directory failed (KIP-112): closes the files without writing anything more; appends
   * still waiting fail with KAFKA_STORAGE_ERROR. The next start recovers the log.
   */
  async abandon(): Promise<void> {
    const s = this.state;
    if (s.closed) return;
    s.closed = true;
    this.writer.abandonAll(new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `the log directory of ${this.dir} is offline`));
    // A creation of the files under way stops (removing what it made) before they are closed.
    await this.writer.creationSettled();
    await this.writer.background.catch(() => {});
    await Promise.all(s.segments.map((segment) => segment.close().catch(() => undefined)));
  }

  /** Closes the log without saving anything and removes its directory. */
  async delete(): Promise<void> {
    const s = this.state;
    s.closed = true;
    this.writer.abandonAll(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.dir} was deleted`));
    // A creation of the files under way must not make the directory again after it is removed:
    // it stops (removing what it made) before the directory goes.
    await this.writer.creationSettled();
    await this.writer.background.catch(() => {});
    // A cleaner swap or retention pass past its commit point still writes into the directory:
    // let it finish (the closed flag stops the next one) before the directory goes.
    await this.retention.idle;
    await Promise.all(s.segments.map((segment) => segment.close()));
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Whether `dir` exists. A synchronous stat that answers undefined for a missing path: no error
 * object to build (an async stat's ENOENT cost more than the rest of opening a new log), and a
 * lookup, unlike mkdir, writes nothing to the file system's journal.
 */
function directoryExists(dir: string): boolean {
  return fs.statSync(dir, { throwIfNoEntry: false }) !== undefined;
}
