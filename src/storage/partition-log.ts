// The log of one partition: a directory of segments with a synchronous offset assigner in front
// of a group-committed write path.
//
// Append pipeline:
//   append()        validates the batches, checks producer sequences, assigns offsets and patches
//                   them into the caller's buffers — all synchronously, so call order is offset order.
//   writePending()  runs once per event-loop turn (setImmediate) and writes every append of that
//                   turn with one writev per segment touched.
//   startSync()     when the flush policy asks for it, one fsync covers everything written so far.
//   drainAcks()     acknowledges appends in offset order and moves the high watermark.
// Any I/O failure on that path takes the log back to its high watermark: files are truncated,
// producer state and indexes restored, and every unacknowledged append fails with
// KAFKA_STORAGE_ERROR. What was acknowledged stays readable.
import fsp from 'node:fs/promises';
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { fsyncDir, writeFileAtomic } from './atomic-file.js';
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
import type { LogConfig } from './log-config.js';
import { defaultLogIo, LogIo } from './log-io.js';
import { LogSegment, SegmentMark } from './log-segment.js';
import { CompletedTxn, OngoingTxn, ProducerStateManager, ProducerUndo } from './producer-state.js';
import { buildControlBatch } from './record-batch-builder.js';
import { parseTxnMarker } from './txn-marker.js';
import type { AbortedTxn } from './txn-index.js';
import {
  isControl,
  setBaseOffset,
  setPartitionLeaderEpoch,
  stampLogAppendTime,
  validateProduceRecords,
} from './record-batch.js';
import { findMaxTimestampOffset, findOffsetForTimestamp, readSegmentBatches, TimestampAndOffset } from './log-reads.js';
import { listSnapshotOffsets, loadProducerState, recoverSegments, rollTimestampOf } from './log-recovery.js';
import { scanSegment } from './segment-scanner.js';
import { finishInterruptedCleaning } from './log-cleaner.js';
import { crashPoint } from './crash-points.js';

export type { LogConfig } from './log-config.js';

export interface PartitionLogOptions {
  logger: Logger;
  /** False after a crash: the last segment (and any without valid indexes) is checked batch by batch. */
  hadCleanShutdown: boolean;
  /** File operations of the write path; tests inject failures here. */
  io?: LogIo;
  /** Wall clock, for LogAppendTime, segment.ms, flush.ms and retention.ms. */
  clock?: () => number;
  /** The log start offset last checkpointed for this partition (the log manager keeps them). */
  logStartOffsetCheckpoint?: number;
  /**
   * Persists a new log start offset; awaited before the start moves and before any segment
   * below it is deleted. Without it the start offset lives in memory only.
   */
  persistLogStartOffset?: (offset: number) => Promise<void>;
}

/** What one retention pass did to a log. */
export interface RetentionResult {
  deletedSegments: number;
  deletedBytes: number;
  logStartOffset: number;
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
   * Resolves once the batches are in the file (and fsynced when the flush policy requires it)
   * and the high watermark covers them; rejects with KafkaError(KAFKA_STORAGE_ERROR) otherwise.
   */
  done: Promise<void>;
}

/** A COMMIT or ABORT marker the transaction coordinator writes for one producer. */
export interface TxnMarkerRequest {
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  commit: boolean;
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

export type { TimestampAndOffset } from './log-reads.js';

export interface IoStats {
  /** writev system calls made by the write path. */
  writevCalls: number;
  /** Group commits: turns of the event loop whose appends were written together. */
  groupCommits: number;
  fsyncs: number;
  /** Times the log went back to its high watermark after an I/O failure. */
  rollbacks: number;
}

interface WriteChunk {
  segment: LogSegment;
  position: number;
  buffers: Buffer[];
  bytes: number;
}

/** One append call on its way to the disk. */
interface PendingAppend {
  firstOffset: number;
  /** lastOffset + 1 */
  endOffset: number;
  chunks: WriteChunk[];
  messages: number;
  /** The segment the append started in, as it was before the append. */
  start: { segment: LogSegment; mark: SegmentMark };
  undo: ProducerUndo[];
  writeSeq: number;
  needsSync: boolean;
  resolve: () => void;
  reject: (err: Error) => void;
  done: Promise<void>;
}

/** Maximum number of iovecs handed to one writev. */
const MAX_IOVECS = 1024;
/** Producer snapshots kept on disk. */
const SNAPSHOTS_KEPT = 3;

/** Index of the last segment whose base offset is ≤ `offset` (0 if none). */
function segmentIndexFor(segments: readonly LogSegment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

function storageError(err: unknown, what: string): KafkaError {
  if (err instanceof KafkaError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${what}: ${reason}`);
}

export class PartitionLog {
  private segments: LogSegment[] = [];
  private nextOffset = 0;
  private hw = 0;
  private startOffset = 0;
  private config: LogConfig;
  private readonly logger: Logger;
  private readonly io: LogIo;
  private readonly clock: () => number;
  private readonly persistStart: ((offset: number) => Promise<void>) | null;
  private readonly checkpointedStart: number;
  /** Serializes log start moves and segment deletions (retention, DeleteRecords). */
  private startChain: Promise<unknown> = Promise.resolve();
  private readonly producers = new ProducerStateManager();
  /**
   * Transactions whose marker is assigned but not yet below the high watermark: they still hold
   * the last stable offset back, so no reader sees their data as decided before the marker is.
   */
  private unreplicatedTxns: CompletedTxn[] = [];
  private epochs!: LeaderEpochCache;

  private pending: PendingAppend[] = [];
  private unacked: PendingAppend[] = [];
  private writeScheduled: NodeJS.Immediate | null = null;
  private writeSeq = 0;
  private syncedSeq = 0;
  private syncInFlight: Promise<boolean> | null = null;
  private messagesSinceSync = 0;
  private lastSyncMs: number;
  /** Bumped by every rollback; completions from before it are ignored. */
  private generation = 0;
  private background: Promise<void> = Promise.resolve();
  private closed = false;
  private truncating = false;
  private needsDirSync = false;
  private readonly stats: IoStats = { writevCalls: 0, groupCommits: 0, fsyncs: 0, rollbacks: 0 };
  /** Bumped whenever the cleaner swaps segments: a read that failed across a swap is retried. */
  private swaps = 0;

  private constructor(
    readonly dir: string,
    config: LogConfig,
    opts: PartitionLogOptions,
  ) {
    this.config = { ...config };
    this.logger = opts.logger;
    this.io = opts.io ?? defaultLogIo;
    this.clock = opts.clock ?? Date.now;
    this.lastSyncMs = this.clock();
    this.persistStart = opts.persistLogStartOffset ?? null;
    this.checkpointedStart = opts.logStartOffsetCheckpoint ?? 0;
  }

  // --- opening and recovery -----------------------------------------------------------------

  /** Opens (creating if needed) the log in `dir`, recovering it if the shutdown was not clean. */
  static async open(dir: string, config: LogConfig, opts: PartitionLogOptions): Promise<PartitionLog> {
    const log = new PartitionLog(dir, config, opts);
    try {
      await log.load(opts.hadCleanShutdown);
    } catch (err) {
      await Promise.all(log.segments.map((s) => s.close()));
      throw err;
    }
    return log;
  }

  private async load(hadCleanShutdown: boolean): Promise<void> {
    // mkdir answers the directory it created: a new log has nothing to list, recover or clean up,
    // which saves a dozen file-system calls per partition when a topic of thousands is created.
    const fresh = (await fsp.mkdir(this.dir, { recursive: true })) !== undefined;
    this.epochs = LeaderEpochCache.load(this.dir, this.logger, !fresh);
    // A cleaner swap interrupted by a crash is rolled forward (or its partial output dropped).
    if (!fresh) await finishInterruptedCleaning(this.dir, this.logger);
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
      this.logger.info({ dir: this.dir, logStartOffset: this.checkpointedStart, segments: below }, 'removed segments below the log start offset');
      bases = bases.slice(below);
    }
    for (const name of names) {
      const base =
        parseOffsetFileName(name, INDEX_SUFFIX) ?? parseOffsetFileName(name, TIME_INDEX_SUFFIX) ?? parseOffsetFileName(name, TXN_INDEX_SUFFIX);
      if (base !== null && !bases.includes(base)) await fsp.rm(`${this.dir}/${name}`, { force: true });
    }

    if (bases.length === 0) {
      this.segments = [LogSegment.create(this.dir, 0, this.config, this.io, !fresh)];
      this.needsDirSync = true;
    } else {
      for (const base of bases) this.segments.push(LogSegment.openExisting(this.dir, base, this.config));
      await recoverSegments(this.segments, hadCleanShutdown, {
        config: this.config,
        logger: this.logger,
        io: this.io,
        epochs: this.epochs,
        now: this.clock(),
      });
    }

    await this.applyCheckpointedStart();
    const active = this.activeSegment;
    this.nextOffset = active.nextOffset;
    this.hw = this.nextOffset;
    this.epochs.truncateFromEnd(this.nextOffset);
    this.epochs.truncateFromStart(this.startOffset);
    const staleTxnIndexes = this.segments.filter((s) => s.txnIndexStale && s.state === 'sealed');
    if (!fresh) await this.reloadProducerState();
    // Rebuilt aborted-transaction indexes of sealed segments are written now (the active
    // segment's with its other indexes, when it is sealed or closed).
    for (const segment of staleTxnIndexes) {
      if (segment !== this.activeSegment) await segment.writeTxnIndexFile(this.io);
    }

    // Index files of the active segment would go stale with the next append; a crash then finds
    // them missing and rebuilds them. They are written again when the segment is sealed or closed.
    if (!fresh) active.removeIndexFilesSync();
    active.state = 'active';
    for (const segment of this.segments.slice(0, -1)) {
      if (segment.state !== 'sealed') {
        segment.finalizeTimeIndex();
        await segment.writeIndexFiles(this.io);
        segment.state = 'sealed';
      }
    }
    this.logger.debug(
      { dir: this.dir, segments: this.segments.length, logStartOffset: this.startOffset, logEndOffset: this.nextOffset },
      'partition log loaded',
    );
  }

  /**
   * The log start is the checkpointed one or the first segment's base, whichever is larger.
   * Segments wholly below it (a crash between the checkpoint and their deletion) are deleted;
   * if recovery left the log end below it, the log restarts empty at the start offset, so
   * offsets that were deleted never come back.
   */
  private async applyCheckpointedStart(): Promise<void> {
    this.startOffset = Math.max(this.checkpointedStart, this.segments[0]!.baseOffset);
    const victims: LogSegment[] = [];
    while (this.segments.length > 1 && this.segments[1]!.baseOffset <= this.startOffset) victims.push(this.segments.shift()!);
    const last = this.activeSegment;
    if (last.nextOffset < this.startOffset) {
      this.logger.warn(
        { dir: this.dir, logStartOffset: this.startOffset, logEndOffset: last.nextOffset },
        'the log ends below its checkpointed start offset; it restarts empty there',
      );
      victims.push(last);
      this.segments = [LogSegment.create(this.dir, this.startOffset, this.config, this.io)];
      this.needsDirSync = true;
    }
    for (const victim of victims) await victim.deleteAsync();
    if (victims.length > 0) {
      this.logger.info({ dir: this.dir, logStartOffset: this.startOffset, segments: victims.length }, 'deleted segments below the log start offset');
    }
  }

  private reloadProducerState(): Promise<void> {
    // Replays every batch still on disk (even below the log start): more producer history
    // means better deduplication of retries.
    return loadProducerState(this.dir, this.segments, this.producers, this.segments[0]!.baseOffset, this.nextOffset, this.logger);
  }

  // --- accessors ----------------------------------------------------------------------------

  get logStartOffset(): number {
    return this.startOffset;
  }

  /** The next offset to assign. */
  get logEndOffset(): number {
    return this.nextOffset;
  }

  /** Offsets below it are in the file (fsynced too when the flush policy asked) and readable. */
  get highWatermark(): number {
    return this.hw;
  }

  /**
   * The last stable offset: below it every transaction is decided (committed or aborted, marker
   * written and acknowledged). The high watermark, or the first offset of the oldest transaction
   * still open (or whose marker is not yet acknowledged) when that is lower.
   */
  get lastStableOffset(): number {
    let lso = this.hw;
    const ongoing = this.producers.firstOngoingOffset();
    if (ongoing !== null && ongoing < lso) lso = ongoing;
    for (const txn of this.unreplicatedTxns) if (txn.firstOffset < lso) lso = txn.firstOffset;
    // An open transaction may have started below the log start (retention, DeleteRecords): as in
    // Kafka, the LSO is then the log start, never an offset that is gone.
    return Math.max(lso, Math.min(this.startOffset, this.hw));
  }

  /** The transactions open on this partition, oldest first (DescribeProducers, the coordinator). */
  ongoingTransactions(): OngoingTxn[] {
    return this.producers.ongoingTransactions();
  }

  /**
   * The aborted transactions a fetch of [fetchOffset, upperBoundOffset) must report: those whose
   * data overlaps that range (first offset below its end, ABORT marker at or after its start).
   */
  abortedTransactions(fetchOffset: number, upperBoundOffset: number): AbortedTransaction[] {
    return this.abortedTxnEntries(fetchOffset, upperBoundOffset).map((t) => ({ producerId: t.producerId, firstOffset: t.firstOffset }));
  }

  /** The aborted-transaction index entries overlapping [from, to), in marker order. */
  abortedTxnEntries(from: number, to: number, segments: readonly LogSegment[] = this.segments): AbortedTxn[] {
    const found: AbortedTxn[] = [];
    for (let i = segmentIndexFor(segments, from); i < segments.length; i++) {
      if (segments[i]!.txnIndex.collect(from, to, found)) break;
    }
    return found;
  }

  get latestEpoch(): number {
    return this.epochs.latestEpoch;
  }

  get leaderEpochCache(): LeaderEpochCache {
    return this.epochs;
  }

  get producerState(): ProducerStateManager {
    return this.producers;
  }

  /** Bytes written to the segment files. */
  get sizeInBytes(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** Base offsets of the segments, oldest first. */
  get segmentBaseOffsets(): number[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /** Counters of the write path (for tests and metrics). */
  get ioStats(): Readonly<IoStats> {
    return this.stats;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private get activeSegment(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  /** New settings apply from the next append (segment sizes) or the next segment (index sizes). */
  updateConfig(config: LogConfig): void {
    this.config = { ...config };
    this.activeSegment.indexIntervalBytes = config.indexIntervalBytes;
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
    if (this.closed) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is closed`);
    if (this.truncating) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.dir} is being truncated`);
    const batches = validateProduceRecords(records, { verifyCrc: !options.crcVerified });
    for (const { bytes } of batches) {
      if (bytes.length > this.config.segmentBytes) {
        throw new KafkaError(
          ErrorCode.RECORD_LIST_TOO_LARGE,
          `record batch of ${bytes.length} bytes exceeds segment.bytes ${this.config.segmentBytes}`,
        );
      }
    }
    const logAppendTimeTopic = this.config.messageTimestampType === 'LogAppendTime';
    const duplicate = this.producers.check(batches.map((b) => b.header));
    if (duplicate) {
      return {
        baseOffset: duplicate.firstOffset,
        lastOffset: duplicate.lastOffset,
        logAppendTime: logAppendTimeTopic ? duplicate.timestamp : -1,
        logStartOffset: this.startOffset,
        duplicate: true,
        done: this.waitForHighWatermark(duplicate.lastOffset + 1),
      };
    }
    if (leaderEpoch > this.epochs.latestEpoch) this.epochs.assign(leaderEpoch, this.nextOffset);

    const now = this.clock();
    const append = this.newPendingAppend();
    try {
      for (const { bytes, header } of batches) {
        const lastOffset = this.nextOffset + header.lastOffsetDelta;
        let segment = this.activeSegment;
        if (segment.shouldRoll(bytes.length, lastOffset, now, this.config)) segment = this.roll(this.nextOffset);
        if (append.chunks.length === 0) append.start = { segment, mark: segment.mark() };

        setBaseOffset(bytes, this.nextOffset);
        setPartitionLeaderEpoch(bytes, leaderEpoch);
        header.baseOffset = this.nextOffset;
        header.partitionLeaderEpoch = leaderEpoch;
        if (logAppendTimeTopic) {
          stampLogAppendTime(bytes, now);
          header.maxTimestamp = now;
        }
        const position = segment.recordBatch(header.baseOffset, lastOffset, header.maxTimestamp, bytes.length, now);
        const chunk = append.chunks.at(-1);
        if (chunk && chunk.segment === segment) {
          chunk.buffers.push(bytes);
          chunk.bytes += bytes.length;
        } else {
          append.chunks.push({ segment, position, buffers: [bytes], bytes: bytes.length });
        }
        const marker = isControl(header.attributes) ? parseTxnMarker(bytes) : null;
        const undo = this.producers.apply(header, marker);
        if (undo) append.undo.push(undo);
        if (undo?.completed) this.transactionCompleted(undo.completed, segment);
        append.messages += header.recordCount;
        this.nextOffset = lastOffset + 1;
      }
    } catch (err) {
      // Only a failed roll (creating the new segment file) can land here.
      if (append.chunks.length > 0) this.undoAppends([append]);
      throw storageError(err, `cannot append to ${this.dir}`);
    }
    append.endOffset = this.nextOffset;
    this.pending.push(append);
    this.scheduleWrite();
    return {
      baseOffset: append.firstOffset,
      lastOffset: append.endOffset - 1,
      logAppendTime: logAppendTimeTopic ? now : -1,
      logStartOffset: this.startOffset,
      done: append.done,
    };
  }

  /**
   * Writes a transaction marker (a COMMIT or ABORT control batch) for one producer through the
   * normal append path. Fencing: a producer epoch below the producer's current one is
   * INVALID_PRODUCER_EPOCH, a coordinator epoch below the last marker's is
   * TRANSACTION_COORDINATOR_FENCED. A marker for a producer without an open transaction is
   * written all the same (it ends nothing). Once `done` resolves the last stable offset has
   * moved past the transaction.
   */
  appendTxnMarker(marker: TxnMarkerRequest, leaderEpoch: number): AppendResult {
    if (this.closed) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is closed`);
    this.producers.checkMarker(marker.producerId, marker.producerEpoch, marker.coordinatorEpoch);
    const batch = buildControlBatch({
      type: marker.commit ? 'COMMIT' : 'ABORT',
      producerId: marker.producerId,
      producerEpoch: marker.producerEpoch,
      coordinatorEpoch: marker.coordinatorEpoch,
      timestamp: this.clock(),
    });
    return this.append(batch, leaderEpoch, { crcVerified: true });
  }

  /** Bookkeeping of a transaction that a marker just ended (offsets assigned, not yet written). */
  private transactionCompleted(txn: CompletedTxn, segment: LogSegment): void {
    this.unreplicatedTxns.push(txn);
    if (txn.aborted) {
      segment.txnIndex.append({
        producerId: txn.producerId,
        firstOffset: txn.firstOffset,
        lastOffset: txn.lastOffset,
        lastStableOffset: this.producers.firstOngoingOffset() ?? txn.lastOffset + 1,
      });
    }
  }

  private newPendingAppend(): PendingAppend {
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // An append whose caller never awaits `done` must not crash the process on failure.
    done.catch(() => {});
    return {
      firstOffset: this.nextOffset,
      endOffset: this.nextOffset,
      chunks: [],
      messages: 0,
      start: { segment: this.activeSegment, mark: this.activeSegment.mark() },
      undo: [],
      writeSeq: 0,
      needsSync: false,
      resolve,
      reject,
      done,
    };
  }

  /** Starts a new segment at `baseOffset`; the old one is sealed once all its data is acknowledged. */
  private roll(baseOffset: number): LogSegment {
    const previous = this.activeSegment;
    const segment = LogSegment.create(this.dir, baseOffset, this.config, this.io);
    crashPoint('roll');
    previous.state = 'rolled';
    previous.endSnapshot = { offset: baseOffset, data: this.producers.snapshot(baseOffset) };
    this.segments.push(segment);
    this.needsDirSync = true;
    this.logger.debug({ dir: this.dir, baseOffset, previousSize: previous.appendPosition }, 'rolled segment');
    return segment;
  }

  /** A promise for the high watermark reaching `offset`. */
  private waitForHighWatermark(offset: number): Promise<void> {
    if (this.hw >= offset) return Promise.resolve();
    const holder = [...this.unacked, ...this.pending].find((a) => a.endOffset >= offset);
    return holder ? holder.done : Promise.resolve();
  }

  // --- write path ---------------------------------------------------------------------------

  private scheduleWrite(): void {
    if (this.writeScheduled) return;
    this.writeScheduled = setImmediate(() => {
      this.writeScheduled = null;
      this.writePending();
    });
  }

  /** Writes every pending append: consecutive data for one segment goes in one writev. */
  private writePending(): void {
    if (this.writeScheduled) {
      clearImmediate(this.writeScheduled);
      this.writeScheduled = null;
    }
    if (this.pending.length === 0) return;
    const appends = this.pending;
    this.pending = [];
    this.unacked.push(...appends); // from here on a failure rolls them back with the rest
    try {
      let run: WriteChunk | null = null;
      for (const append of appends) {
        for (const chunk of append.chunks) {
          if (run && run.segment === chunk.segment && run.position + run.bytes === chunk.position) {
            run.buffers.push(...chunk.buffers);
            run.bytes += chunk.bytes;
          } else {
            if (run) this.writeRun(run);
            run = { segment: chunk.segment, position: chunk.position, buffers: [...chunk.buffers], bytes: chunk.bytes };
          }
        }
      }
      if (run) this.writeRun(run);
    } catch (err) {
      this.rollback(storageError(err, `write to ${this.dir} failed`));
      return;
    }
    crashPoint('written');
    this.stats.groupCommits++;
    const seq = ++this.writeSeq;
    let messages = 0;
    for (const append of appends) messages += append.messages;
    this.messagesSinceSync += messages;
    const needsSync =
      this.messagesSinceSync >= this.config.flushIntervalMessages ||
      this.clock() - this.lastSyncMs >= this.config.flushIntervalMs;
    for (const append of appends) {
      append.writeSeq = seq;
      append.needsSync = needsSync;
    }
    this.drainAcks();
  }

  private writeRun(run: WriteChunk): void {
    let written = 0;
    let remaining = run.buffers;
    while (written < run.bytes) {
      const iovecs = remaining.length > MAX_IOVECS ? remaining.slice(0, MAX_IOVECS) : remaining;
      this.stats.writevCalls++;
      crashPoint('append', () => this.io.writev(run.segment.fd, [Buffer.concat(iovecs).subarray(0, (run.bytes - written) >> 1)], run.position + written));
      const n = this.io.writev(run.segment.fd, iovecs, run.position + written);
      run.segment.dirty = true;
      if (n <= 0) throw new Error(`writev wrote ${n} bytes`);
      written += n;
      // Drop what was written, keeping the unwritten tail of a short write.
      let skip = n;
      let i = 0;
      while (i < remaining.length && skip >= remaining[i]!.length) skip -= remaining[i++]!.length;
      remaining = remaining.slice(i);
      if (skip > 0) remaining[0] = remaining[0]!.subarray(skip);
    }
    run.segment.size = Math.max(run.segment.size, run.position + run.bytes);
  }

  /** Acknowledges written appends in order, as far as the fsync policy allows. */
  private drainAcks(): void {
    while (this.unacked.length > 0) {
      const head = this.unacked[0]!;
      if (head.writeSeq === 0) break; // not written yet
      if (head.needsSync && head.writeSeq > this.syncedSeq) {
        if (!this.syncInFlight) void this.startSync();
        break;
      }
      this.unacked.shift();
      this.hw = head.endOffset;
      if (this.unreplicatedTxns.length > 0) this.unreplicatedTxns = this.unreplicatedTxns.filter((t) => t.lastOffset >= this.hw);
      head.resolve();
    }
    this.sealRolledSegments();
  }

  /** fsyncs every segment written since the last fsync; the result says whether it worked. */
  private startSync(): Promise<boolean> {
    const generation = this.generation;
    const target = this.writeSeq;
    const dirty = this.segments.filter((s) => s.dirty);
    for (const segment of dirty) segment.dirty = false;
    const syncDir = this.needsDirSync;
    this.needsDirSync = false;
    this.messagesSinceSync = 0;
    this.lastSyncMs = this.clock();
    const run = (async () => {
      for (const segment of dirty) {
        this.stats.fsyncs++;
        await segment.fsync(this.io);
      }
      if (syncDir) await fsyncDir(this.dir);
    })();
    const promise = run.then(
      () => {
        if (generation !== this.generation) return false;
        this.syncInFlight = null;
        this.syncedSeq = Math.max(this.syncedSeq, target);
        this.drainAcks();
        return true;
      },
      (err: unknown) => {
        if (generation !== this.generation) return false;
        this.syncInFlight = null;
        this.rollback(storageError(err, `fsync of ${this.dir} failed`));
        return false;
      },
    );
    this.syncInFlight = promise;
    return promise;
  }

  /**
   * After an I/O failure: takes the log back to its high watermark and fails every append
   * above it. Files are truncated, segments created since are deleted, producer state restored.
   */
  private rollback(err: KafkaError): void {
    this.generation++;
    this.syncInFlight = null;
    this.stats.rollbacks++;
    if (this.writeScheduled) {
      clearImmediate(this.writeScheduled);
      this.writeScheduled = null;
    }
    const victims = [...this.unacked, ...this.pending];
    this.unacked = [];
    this.pending = [];
    if (victims.length > 0) this.undoAppends(victims);
    this.logger.error(
      { err, dir: this.dir, highWatermark: this.hw, failedAppends: victims.length },
      'log I/O failed; truncated back to the high watermark',
    );
    for (const victim of victims) victim.reject(err);
    this.sealRolledSegments();
  }

  /** Takes back appends that are not acknowledged (oldest first in `appends`). */
  private undoAppends(appends: PendingAppend[]): void {
    for (let i = appends.length - 1; i >= 0; i--) {
      const undo = appends[i]!.undo;
      for (let j = undo.length - 1; j >= 0; j--) this.producers.undo(undo[j]!);
    }
    const { segment, mark } = appends[0]!.start;
    const index = this.segments.indexOf(segment);
    if (index < 0) throw new Error(`segment ${segment.logPath} to restore is no longer part of the log`);
    for (const victim of this.segments.slice(index + 1)) {
      void victim.close();
      try {
        victim.deleteFilesSync();
      } catch (err) {
        this.logger.error({ err, segment: victim.logPath }, 'cannot delete segment');
      }
    }
    this.segments.length = index + 1;
    segment.resetTo(mark);
    segment.state = 'active';
    segment.endSnapshot = null;
    try {
      this.io.ftruncate(segment.fd, mark.appendPosition);
    } catch (err) {
      // The bytes past appendPosition are overwritten by the next write or cut by recovery.
      this.logger.error({ err, segment: segment.logPath }, 'cannot truncate segment after a failed write');
    }
    this.nextOffset = appends[0]!.firstOffset;
    this.epochs.truncateFromEnd(this.nextOffset);
    this.unreplicatedTxns = this.unreplicatedTxns.filter((t) => t.lastOffset < this.nextOffset);
  }

  /** Queues the sealing of rolled segments whose data is all acknowledged. */
  private sealRolledSegments(): void {
    // Segments are sealed in order, so only the newest few can still be 'rolled'.
    let first = this.segments.length - 1;
    while (first > 0 && this.segments[first - 1]!.state === 'rolled') first--;
    for (let i = first; i < this.segments.length - 1; i++) {
      const segment = this.segments[i]!;
      if (this.hw < this.segments[i + 1]!.baseOffset) break;
      segment.state = 'sealing';
      this.background = this.background.then(() => this.seal(segment));
    }
  }

  /** fsyncs a rolled segment, writes its index files and the producer snapshot taken at roll. */
  private async seal(segment: LogSegment): Promise<void> {
    try {
      if (segment.isClosed) return;
      this.stats.fsyncs++;
      await segment.fsync(this.io);
      segment.finalizeTimeIndex();
      await segment.writeIndexFiles(this.io);
      crashPoint('seal');
      const snapshot = segment.endSnapshot;
      if (snapshot) {
        await writeFileAtomic(offsetFilePath(this.dir, snapshot.offset, SNAPSHOT_SUFFIX), snapshot.data, { syncDir: false });
        segment.endSnapshot = null;
      }
      await fsyncDir(this.dir);
      await this.deleteOldSnapshots();
    } catch (err) {
      // The data is in place; missing index files are rebuilt by the next recovery.
      if (!segment.isClosed) this.logger.error({ err, segment: segment.logPath }, 'cannot seal segment');
    } finally {
      segment.state = 'sealed';
    }
  }

  private async deleteOldSnapshots(): Promise<void> {
    const offsets = (await listSnapshotOffsets(this.dir)).sort((a, b) => b - a);
    for (const offset of offsets.slice(SNAPSHOTS_KEPT)) {
      await fsp.rm(offsetFilePath(this.dir, offset, SNAPSHOT_SUFFIX), { force: true });
    }
  }

  // --- flushing -----------------------------------------------------------------------------

  /** Writes what is pending and fsyncs everything written so far. */
  async flush(): Promise<void> {
    this.writePending();
    const generation = this.generation;
    const target = this.writeSeq;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (this.syncInFlight) {
        await this.syncInFlight;
        continue;
      }
      if (generation !== this.generation) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `flush of ${this.dir} failed`);
      if (this.syncedSeq >= target && !this.needsDirSync) return;
      if (!(await this.startSync())) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `flush of ${this.dir} failed`);
    }
  }

  /** For the periodic flusher: fsyncs if data is waiting and flush.ms has passed since the last fsync. */
  async flushIfDue(now = this.clock()): Promise<void> {
    if (this.closed) return;
    const unsynced = this.messagesSinceSync > 0 || this.segments.some((s) => s.dirty);
    if (unsynced && now - this.lastSyncMs >= this.config.flushIntervalMs) await this.flush();
  }

  // --- reads --------------------------------------------------------------------------------

  /**
   * Reads whole batches starting with the one containing `fetchOffset`, up to `maxBytes`, and
   * only batches whose base offset is below `maxOffset` (exclusive, capped at the high
   * watermark). With `minOneBatch`, a first batch larger than maxBytes is returned whole.
   * Throws OFFSET_OUT_OF_RANGE outside [logStartOffset, logEndOffset].
   */
  async read(fetchOffset: number, maxBytes: number, maxOffset: number = this.hw, minOneBatch = true): Promise<ReadResult> {
    if (this.closed) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is closed`);
    if (fetchOffset < this.startOffset || fetchOffset > this.nextOffset) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `offset ${fetchOffset} is outside [${this.startOffset}, ${this.nextOffset}] of ${this.dir}`,
      );
    }
    const result: ReadResult = {
      records: null,
      highWatermark: this.hw,
      logStartOffset: this.startOffset,
      logEndOffset: this.nextOffset,
    };
    const limit = Math.min(maxOffset, this.hw);
    if (fetchOffset >= limit) return result;
    for (let attempt = 0; ; attempt++) {
      // Retention and the cleaner may replace segments while this read waits for the disk: walk
      // a snapshot, and start over if the cleaner swapped segments under it.
      const segments = [...this.segments];
      const swaps = this.swaps;
      try {
        result.records = null;
        for (let i = segmentIndexFor(segments, fetchOffset); i < segments.length; i++) {
          const segment = segments[i]!;
          if (segment.baseOffset >= limit) break;
          const found = await readSegmentBatches(segment, fetchOffset, maxBytes, limit, minOneBatch, this.config.indexIntervalBytes);
          if (found === 'next') continue;
          result.records = found;
          break;
        }
        return result;
      } catch (err) {
        if (attempt < 3 && swaps !== this.swaps && !this.closed && fetchOffset >= this.startOffset) continue;
        this.readFailed(err, fetchOffset);
      }
    }
  }

  private readFailed(err: unknown, fetchOffset: number): never {
    if (fetchOffset < this.startOffset) {
      // The segment was deleted under the read: the offset is gone now.
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `offset ${fetchOffset} is below the log start offset ${this.startOffset} of ${this.dir}`);
    }
    throw storageError(err, `read from ${this.dir} failed`);
  }

  // --- timestamps ---------------------------------------------------------------------------

  /**
   * The first record (in offset order, below the high watermark) whose timestamp is ≥ `timestamp`,
   * or null when there is none.
   */
  offsetForTimestamp(timestamp: number): Promise<TimestampAndOffset | null> {
    return this.retryAfterDeletion(() => findOffsetForTimestamp([...this.segments], timestamp, this.startOffset, this.hw));
  }

  /** Kafka's MAX_TIMESTAMP: the first record with the largest timestamp; -1/-1 for an empty log. */
  maxTimestampOffset(): Promise<TimestampAndOffset> {
    this.writePending();
    return this.retryAfterDeletion(() => findMaxTimestampOffset([...this.segments], this.startOffset));
  }

  /** Runs a timestamp lookup again if retention deleted a segment under it (the start moved). */
  private async retryAfterDeletion<T>(lookup: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const start = this.startOffset;
      const swaps = this.swaps;
      try {
        return await lookup();
      } catch (err) {
        if (attempt < 3 && (this.startOffset !== start || this.swaps !== swaps) && !this.closed) continue;
        throw storageError(err, `timestamp lookup in ${this.dir} failed`);
      }
    }
  }

  // --- leader epochs ------------------------------------------------------------------------

  /** OffsetForLeaderEpoch for this log (see LeaderEpochCache.endOffsetFor). */
  endOffsetForEpoch(epoch: number): EpochEndOffset {
    return this.epochs.endOffsetFor(epoch, this.nextOffset);
  }

  /** The leader epoch in force at `offset`, or -1 when unknown. */
  epochForOffset(offset: number): number {
    return this.epochs.epochForOffset(offset);
  }

  /** Forgets idle producers (see ProducerStateManager.removeExpired); returns how many. */
  expireProducers(expirationMs: number, now: number = this.clock()): number {
    if (this.closed) return 0;
    return this.producers.removeExpired(now, expirationMs);
  }

  assignEpoch(epoch: number, startOffset: number): void {
    // The first epoch of an empty log (every new partition) is not worth two fsyncs: if a power
    // failure loses it, the next open assigns the leader epoch at the log end again, and any
    // data written meanwhile carries its epoch in its batches, which recovery reads back.
    const empty = this.nextOffset === this.startOffset && this.epochs.latestEpoch < 0;
    this.epochs.assign(epoch, startOffset, empty ? 'unsynced' : true);
  }

  // --- log start offset, retention, DeleteRecords -------------------------------------------

  /** Runs `task` after every earlier start move or deletion of this log. */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.startChain.then(task, task);
    this.startChain = run.catch(() => undefined);
    return run;
  }

  /** Persists a new log start offset, then makes it visible. Never moves it backwards. */
  private async advanceStartOffset(offset: number): Promise<void> {
    if (offset <= this.startOffset) return;
    try {
      if (this.persistStart) await this.persistStart(offset);
    } catch (err) {
      throw storageError(err, `cannot checkpoint the log start offset of ${this.dir}`);
    }
    if (offset <= this.startOffset) return;
    this.startOffset = offset;
    this.epochs.truncateFromStart(offset);
  }

  /** Whether a segment may go: sealed (fsynced, indexes written) and wholly below the high watermark. */
  private deletable(segment: LogSegment, next: LogSegment | undefined): boolean {
    if (next) return segment.state === 'sealed' && next.baseOffset <= this.hw;
    // The active segment, only when rolling it loses nothing in flight.
    return !segment.isEmpty && this.hw === this.nextOffset && this.pending.length === 0 && this.unacked.length === 0;
  }

  /**
   * How many segments, oldest first, are past retention: first by time (largest timestamp
   * older than retention.ms), then by size (while what remains is at least retention.bytes).
   * Both stop at the first segment that does not qualify, as Kafka's do.
   */
  private countExpired(now: number): number {
    const segments = this.segments;
    const { retentionMs, retentionBytes } = this.config;
    let count = 0;
    const ok = (i: number) => this.deletable(segments[i]!, segments[i + 1]);
    if (retentionMs >= 0) {
      while (count < segments.length && ok(count) && now - segments[count]!.largestTimestamp > retentionMs) count++;
    }
    if (retentionBytes >= 0) {
      let excess = -retentionBytes;
      for (let i = count; i < segments.length; i++) excess += segments[i]!.size;
      while (count < segments.length && ok(count) && excess - segments[count]!.size >= 0) {
        excess -= segments[count]!.size;
        count++;
      }
    }
    return count;
  }

  /**
   * One retention pass (the log manager runs it every log.retention.check.interval.ms): with
   * cleanup.policy `delete`, removes the segments past retention.ms / retention.bytes; for every
   * policy, removes segments wholly below the log start offset. When the whole log has expired
   * the active segment is rolled first, so the log empties out with start = end.
   */
  applyRetention(now: number = this.clock()): Promise<RetentionResult> {
    return this.serialized(async () => {
      const result: RetentionResult = { deletedSegments: 0, deletedBytes: 0, logStartOffset: this.startOffset };
      if (this.closed || this.truncating) return result;
      // Only sealed segments are deleted: let rolled ones finish sealing first.
      await this.background;
      if (this.closed) return result;
      if (this.config.cleanupPolicy.includes('delete')) {
        let count = this.countExpired(now);
        if (count === this.segments.length && count > 0) {
          this.roll(this.nextOffset);
          this.sealRolledSegments();
          await this.background;
          if (this.closed) return result;
          count = Math.min(this.countExpired(now), this.segments.length - 1);
        }
        if (count > 0) await this.advanceStartOffset(this.segments[count]!.baseOffset);
      }
      const deleted = await this.deleteSegmentsBelowStart();
      result.deletedSegments = deleted.segments;
      result.deletedBytes = deleted.bytes;
      result.logStartOffset = this.startOffset;
      if (deleted.segments > 0) {
        this.logger.info({ dir: this.dir, ...result }, 'retention deleted segments');
      }
      return result;
    });
  }

  /**
   * DeleteRecords: moves the log start offset to `offset` (-1 = the high watermark) and removes
   * the segments wholly below it. Returns the new log start offset (the low watermark).
   * OFFSET_OUT_OF_RANGE above the high watermark; POLICY_VIOLATION for compact-only topics.
   */
  deleteRecords(offset: number): Promise<number> {
    if (this.closed) return Promise.reject(new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is closed`));
    if (!this.config.cleanupPolicy.includes('delete')) {
      return Promise.reject(
        new KafkaError(ErrorCode.POLICY_VIOLATION, `Records of partition ${this.dir} can not be deleted due to the configured policy`),
      );
    }
    const target = offset === -1 ? this.hw : offset;
    if (target < 0 || target > this.hw) {
      return Promise.reject(
        new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `cannot delete below offset ${offset}: the high watermark of ${this.dir} is ${this.hw}`),
      );
    }
    return this.serialized(async () => {
      if (this.closed) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is closed`);
      await this.advanceStartOffset(target);
      await this.deleteSegmentsBelowStart();
      return this.startOffset;
    });
  }

  /** Deletes sealed segments whose successor starts at or below the log start offset. */
  private async deleteSegmentsBelowStart(): Promise<{ segments: number; bytes: number }> {
    // Segments rolled just now are sealed in the background; deleting waits for that.
    if (this.segments.length > 1 && this.segments[1]!.baseOffset <= this.startOffset) await this.background;
    const victims: LogSegment[] = [];
    for (let i = 0; i + 1 < this.segments.length; i++) {
      const segment = this.segments[i]!;
      if (this.segments[i + 1]!.baseOffset > this.startOffset || segment.state !== 'sealed') break;
      victims.push(segment);
    }
    if (victims.length === 0) return { segments: 0, bytes: 0 };
    crashPoint('retention');
    this.segments = this.segments.slice(victims.length);
    let bytes = 0;
    for (const victim of victims) bytes += victim.size;
    await Promise.all(
      victims.map((victim) =>
        victim.deleteAsync().catch((err: unknown) => {
          // Out of the log already; the next open removes what is left (it is below the start).
          this.logger.error({ err, segment: victim.logPath }, 'cannot delete segment files');
        }),
      ),
    );
    return { segments: victims.length, bytes };
  }

  // --- hooks of the log cleaner (log-cleaner.ts) -------------------------------------------

  /** A snapshot of the segments, oldest first. */
  get segmentList(): readonly LogSegment[] {
    return [...this.segments];
  }

  get currentConfig(): Readonly<LogConfig> {
    return this.config;
  }

  /** The log's wall clock. */
  now(): number {
    return this.clock();
  }

  /** Runs `task` serialized with retention, DeleteRecords and other swaps of this log. */
  runExclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.serialized(task);
  }

  /**
   * Replaces the adjacent segments `old` by `replacement` in one synchronous step; false (and
   * nothing changed) when they are no longer part of the log as given.
   */
  replaceSegments(old: readonly LogSegment[], replacement: LogSegment): boolean {
    if (this.closed || this.truncating || old.length === 0) return false;
    const index = this.segments.indexOf(old[0]!);
    if (index < 0 || index + old.length >= this.segments.length) return false; // never the active segment
    for (let i = 0; i < old.length; i++) if (this.segments[index + i] !== old[i]) return false;
    this.segments = [...this.segments.slice(0, index), replacement, ...this.segments.slice(index + old.length)];
    this.swaps++;
    return true;
  }

  // --- truncation ---------------------------------------------------------------------------

  /**
   * Removes every batch that contains an offset ≥ `targetOffset` (a batch straddling it goes
   * entirely), for replicas that diverged. Appends are refused while it runs.
   */
  async truncateTo(targetOffset: number): Promise<void> {
    if (targetOffset >= this.nextOffset) return;
    if (this.closed) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is closed`);
    if (this.truncating) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is already being truncated`);
    this.truncating = true;
    try {
      await this.flush();
      await this.background;
      const index = segmentIndexFor(this.segments, Math.max(targetOffset, this.startOffset));
      for (const victim of this.segments.slice(index + 1)) {
        await victim.close();
        victim.deleteFilesSync();
      }
      this.segments.length = index + 1;
      const segment = this.segments[index]!;
      // Find the first batch that reaches the target.
      let cut = segment.size;
      await scanSegment(segment, {
        from: segment.offsetIndex.lookup(targetOffset).position,
        minBaseOffset: 0,
        verifyCrc: false,
        onBatch: (header, position) => {
          if (cut === segment.size && header.baseOffset + header.lastOffsetDelta >= targetOffset) cut = position;
        },
      });
      this.io.ftruncate(segment.fd, cut);
      segment.size = cut;
      segment.resetEmpty(this.config);
      const now = this.clock();
      const rebuilt = await scanSegment(segment, {
        from: 0,
        minBaseOffset: segment.baseOffset,
        verifyCrc: false,
        onBatch: (header, _position, size) =>
          segment.recordBatch(header.baseOffset, header.baseOffset + header.lastOffsetDelta, header.maxTimestamp, size, rollTimestampOf(header, now)),
      });
      if (rebuilt.problem) throw new Error(rebuilt.problem);
      segment.removeIndexFilesSync();
      segment.state = 'active';
      segment.endSnapshot = null;
      this.nextOffset = segment.nextOffset;
      this.hw = Math.min(this.hw, this.nextOffset);
      if (this.startOffset > this.nextOffset) this.startOffset = this.nextOffset;
      this.epochs.truncateFromEnd(this.nextOffset);
      this.unreplicatedTxns = this.unreplicatedTxns.filter((t) => t.lastOffset < this.nextOffset && t.lastOffset >= this.hw);
      await this.reloadProducerState();
      this.logger.info({ dir: this.dir, targetOffset, logEndOffset: this.nextOffset }, 'truncated log');
    } catch (err) {
      throw storageError(err, `cannot truncate ${this.dir}`);
    } finally {
      this.truncating = false;
    }
  }

  // --- shutdown -----------------------------------------------------------------------------

  /**
   * Writes and fsyncs everything, seals the segments, writes the active segment's indexes and
   * a producer snapshot at the log end, and closes the files. Pending appends still complete.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flush();
      await this.background;
      // An exclusive task (a cleaner swap) may be writing segment files: close after it.
      await this.startChain;
      const active = this.activeSegment;
      active.finalizeTimeIndex();
      await active.writeIndexFiles(this.io);
      await writeFileAtomic(
        offsetFilePath(this.dir, this.nextOffset, SNAPSHOT_SUFFIX),
        this.producers.snapshot(this.nextOffset),
        { syncDir: false },
      );
      await this.deleteOldSnapshots();
      await fsyncDir(this.dir);
    } finally {
      await Promise.all(this.segments.map((s) => s.close()));
    }
    this.logger.debug({ dir: this.dir, logEndOffset: this.nextOffset }, 'partition log closed');
  }

  /** Closes the log without saving anything and removes its directory. */
  async delete(): Promise<void> {
    this.closed = true;
    this.generation++;
    if (this.writeScheduled) clearImmediate(this.writeScheduled);
    this.writeScheduled = null;
    const victims = [...this.unacked, ...this.pending];
    this.unacked = [];
    this.pending = [];
    const err = new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.dir} was deleted`);
    for (const victim of victims) victim.reject(err);
    await this.background.catch(() => {});
    // A cleaner swap or retention pass past its commit point still writes into the directory:
    // let it finish (the closed flag stops the next one) before the directory goes.
    await this.startChain;
    await Promise.all(this.segments.map((s) => s.close()));
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}
