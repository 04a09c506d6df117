// The local write pipeline of one partition log, and truncation of its files.
//
//   beginAppend() / placeBatch() / commitAppend()
//                   the façade places batches whose offsets it has fixed (stamped by a leader,
//                   kept by a follower): segments roll, indexes learn the batch, the bytes queue.
//   writePending()  runs once per event-loop turn (setImmediate) and writes every append of that
//                   turn with one writev per segment touched.
//   startSync()     when the flush policy asks for it, one fsync covers everything written so far.
//   drainAcks()     acknowledges appends in offset order and moves the durable end (the façade
//                   decides whether the high watermark follows).
// Any I/O failure on that path takes the log back to its durable end: files are truncated,
// producer state and indexes restored, and every unacknowledged append fails with
// KAFKA_STORAGE_ERROR. What was acknowledged stays readable.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { fsyncDir, writeFileAtomic } from '../common/atomic-file.js';
import { crashPoint } from '../common/crash-points.js';
import { offsetFilePath, SNAPSHOT_SUFFIX } from './file-names.js';
import { listSnapshotOffsets, rollTimestampOf } from './log-recovery.js';
import { LogSegment, SegmentMark } from './log-segment.js';
import { LogState, segmentIndexFor, storageError } from './log-state.js';
import type { ProducerUndo } from './producer-state.js';
import type { BatchHeader } from '../protocol/records/record-batch.js';
import { scanSegment } from './segment-scanner.js';

export interface IoStats {
  /** writev system calls made by the write path. */
  writevCalls: number;
  /** Group commits: turns of the event loop whose appends were written together. */
  groupCommits: number;
  fsyncs: number;
  /** Times the log went back to its durable end after an I/O failure. */
  rollbacks: number;
}

interface WriteChunk {
  segment: LogSegment;
  position: number;
  buffers: Buffer[];
  bytes: number;
}

/** One append call on its way to the disk. */
export interface PendingAppend {
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

/** What the write pipeline tells the façade. */
export interface WriterHooks {
  /** The durable end moved to `offset` (called before the appends below it resolve). */
  durable(offset: number): void;
  /** Unacknowledged appends were taken back: the log end is `offset` again. */
  undone(offset: number): void;
}

/**
 * Creations of new logs' files (LogWriter.createFiles) under way at once in the process; the rest
 * wait their turn, first come first served. A produce to 10,000 new partitions would otherwise
 * queue some 60,000 file operations at once: the thread pool that also serves every other
 * partition's fsyncs and reads would be behind them for seconds, and the temporary files of the
 * checkpoints, open all at once beside every segment's file, could run out of descriptors.
 */
export const CONCURRENT_CREATIONS = 64;
let creationsRunning = 0;

/** A creation waiting for a slot: `settle(true)` hands it one, `settle(false)` lets it leave. */
interface CreationTurn {
  settle: (gotSlot: boolean) => void;
  settled: boolean;
}
const creationTurns: CreationTurn[] = [];
let creationTurnsHead = 0;

/**
 * Waits for a creation slot: true once it holds one. `onQueued` receives a function that takes
 * the creation out of the queue (the log went away while it waited): the wait then ends with
 * false at once, without a slot, rather than behind every creation queued before it.
 */
function creationSlot(onQueued: (leave: () => void) => void): Promise<boolean> {
  if (creationsRunning < CONCURRENT_CREATIONS) {
    creationsRunning++;
    return Promise.resolve(true);
  }
  // The slot is handed over by releaseCreationSlot (creationsRunning stays the same).
  return new Promise<boolean>((resolve) => {
    const turn: CreationTurn = {
      settled: false,
      settle: (gotSlot) => {
        if (turn.settled) return;
        turn.settled = true;
        resolve(gotSlot);
      },
    };
    creationTurns.push(turn);
    onQueued(() => turn.settle(false));
  });
}

function releaseCreationSlot(): void {
  while (creationTurnsHead < creationTurns.length) {
    const next = creationTurns[creationTurnsHead]!;
    creationTurnsHead++;
    if (creationTurnsHead === creationTurns.length) {
      creationTurns.length = 0;
      creationTurnsHead = 0;
    }
    if (next.settled) continue; // it left the queue
    next.settle(true);
    return;
  }
  creationsRunning--;
}

/** Maximum number of iovecs handed to one writev. */
const MAX_IOVECS = 1024;
/** Producer snapshots kept on disk. */
const SNAPSHOTS_KEPT = 3;

export class LogWriter {
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
  /** Sealing of rolled segments, in order. */
  background: Promise<void> = Promise.resolve();
  needsDirSync = false;
  /** The creation of the log's files, while under way (see createFiles). */
  private creation: Promise<void> | null = null;
  /** The log is going away (abandonAll): a creation under way stops and removes what it made. */
  private creationCancelled = false;
  /** Takes the creation out of the queue of creations waiting for a slot, while it is in it. */
  private leaveCreationQueue: (() => void) | null = null;
  readonly stats: IoStats = { writevCalls: 0, groupCommits: 0, fsyncs: 0, rollbacks: 0 };

  constructor(
    private readonly state: LogState,
    private readonly hooks: WriterHooks,
  ) {
    this.lastSyncMs = state.clock.now();
  }

  /** Appends assigned but not yet acknowledged (written, or waiting to be). */
  get inFlight(): boolean {
    return this.pending.length > 0 || this.unacked.length > 0;
  }

  // --- placing batches ----------------------------------------------------------------------

  beginAppend(): PendingAppend {
    const s = this.state;
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // An append whose caller never awaits `done` must not crash the process on failure.
    done.catch(() => {});
    return {
      firstOffset: s.nextOffset,
      endOffset: s.nextOffset,
      chunks: [],
      messages: 0,
      start: { segment: s.activeSegment, mark: s.activeSegment.mark() },
      undo: [],
      writeSeq: 0,
      needsSync: false,
      resolve,
      reject,
      done,
    };
  }

  /**
   * Places one batch whose header already holds its final offsets: rolls the segment when it
   * is due, records the batch in the segment's indexes and queues its bytes. Returns the
   * segment it went to. The log end moves past the batch.
   */
  placeBatch(append: PendingAppend, bytes: Buffer, header: BatchHeader, now: number): LogSegment {
    const s = this.state;
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    let segment = s.activeSegment;
    if (segment.shouldRoll(bytes.length, lastOffset, now, s.config)) segment = this.roll(header.baseOffset);
    if (append.chunks.length === 0) append.start = { segment, mark: segment.mark() };
    const position = segment.recordBatch(header.baseOffset, lastOffset, header.maxTimestamp, bytes.length, now, bytes);
    const chunk = append.chunks.at(-1);
    if (chunk && chunk.segment === segment) {
      chunk.buffers.push(bytes);
      chunk.bytes += bytes.length;
    } else {
      append.chunks.push({ segment, position, buffers: [bytes], bytes: bytes.length });
    }
    append.messages += header.recordCount;
    s.nextOffset = lastOffset + 1;
    return segment;
  }

  /** Queues a placed append for the next group commit. */
  commitAppend(append: PendingAppend): void {
    append.endOffset = this.state.nextOffset;
    this.pending.push(append);
    this.scheduleWrite();
  }

  /** Takes back an append that failed while being placed (nothing of it was queued). */
  abandonAppend(append: PendingAppend): void {
    if (append.chunks.length > 0 || append.undo.length > 0) this.undoAppends([append]);
  }

  /**
   * Creates the directory, the segment files and the leader-epoch checkpoint of a log opened
   * before they existed (a new partition: see PartitionLog.open), off the event loop; one
   * creation at a time, which every caller shares. Appends placed meanwhile wait in `pending`
   * (writePending writes nothing while the files are pending) and are written, in order, once
   * it is done; if it fails they all fail with KAFKA_STORAGE_ERROR, as a failed write does, and
   * whatever it had created is removed again, so a later append (or the next open) starts from
   * nothing. The next fsync covers the directory. Rejects with the failure.
   */
  createFiles(): Promise<void> {
    if (!this.state.filesPending) return Promise.resolve();
    if (this.creation) return this.creation;
    const s = this.state;
    const creation = this.makeFiles();
    this.creation = creation;
    creation
      .then(
        () => {
          this.creation = null;
          this.writePending();
        },
        (err: unknown) => {
          this.creation = null;
          // Unless the log is going away (abandonAll failed them already), the appends that
          // waited fail as a failed write fails them.
          if (!this.creationCancelled && this.pending.length > 0) this.rollback(storageError(err, `write to ${s.dir} failed`));
        },
      )
      .catch((err: unknown) => s.logger.error({ err, dir: s.dir }, 'cannot finish the creation of a log'));
    return creation;
  }

  /** Settles once no creation of the files is under way (for close, delete and abandon). */
  async creationSettled(): Promise<void> {
    while (this.creation) await this.creation.catch(() => undefined);
  }

  private async makeFiles(): Promise<void> {
    const gotSlot = await creationSlot((leave) => (this.leaveCreationQueue = leave));
    this.leaveCreationQueue = null;
    if (!gotSlot) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.state.dir} was closed while its creation waited for its turn`);
    try {
      await this.makeFilesNow();
    } finally {
      releaseCreationSlot();
    }
  }

  private async makeFilesNow(): Promise<void> {
    const s = this.state;
    const check = () => {
      if (this.creationCancelled) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${s.dir} was closed while its files were created`);
    };
    check();
    // mkdir answers the first directory it created: undefined when s.dir was already there
    // (left by a creation whose clean-up failed, or by a crash), which is then not removed.
    const made = (await fsp.mkdir(s.dir, { recursive: true })) !== undefined;
    const attached: LogSegment[] = [];
    try {
      check();
      // A roll while the files are created adds a segment without a file: loop until none is left.
      for (;;) {
        const segment = s.segments.find((candidate) => !candidate.hasFile);
        if (!segment) break;
        const fd = await s.io.createSegmentFileAsync(segment.logPath);
        if (segment.isClosed || !s.segments.includes(segment)) {
          // Dropped meanwhile (a placing failure took back its roll): its file goes too.
          fs.close(fd, () => fs.unlink(segment.logPath, () => {}));
        } else {
          segment.attachFile(fd);
          attached.push(segment);
        }
        check();
      }
      await s.epochs.materialize(check);
      check();
    } catch (err) {
      for (const segment of attached) segment.detachFile();
      try {
        if (made) await fsp.rm(s.dir, { recursive: true, force: true });
        else await Promise.all(attached.map((segment) => fsp.rm(segment.logPath, { force: true })));
      } catch (cleanupErr) {
        // What is left is an empty directory or empty files: the next creation or open takes them as they are.
        s.logger.error({ err: cleanupErr, dir: s.dir }, 'cannot remove the files of a failed log creation');
      }
      throw err;
    }
    s.filesPending = false;
    this.needsDirSync = true;
  }

  /**
   * Before the first change to the files of a log opened untouched (LogState.untouched): the
   * active segment's index files, which would go stale, are removed (a crash from here on finds
   * them missing and rebuilds them), and closing the log writes them again.
   */
  touch(): void {
    const s = this.state;
    if (!s.untouched) return;
    s.activeSegment.removeIndexFilesSync();
    s.untouched = false;
  }

  /** Starts a new segment at `baseOffset`; the old one is sealed once all its data is acknowledged. */
  roll(baseOffset: number): LogSegment {
    const s = this.state;
    this.touch();
    const previous = s.activeSegment;
    // While the log's files are pending, the new segment's file is created with them (createFiles).
    const segment = s.filesPending ? LogSegment.createDeferred(s.dir, baseOffset, s.config) : LogSegment.create(s.dir, baseOffset, s.config, s.io);
    crashPoint('roll');
    previous.state = 'rolled';
    previous.dropNewestBatchCopy();
    previous.endSnapshot = { offset: baseOffset, data: s.producers.snapshot(baseOffset) };
    s.segments.push(segment);
    this.needsDirSync = true;
    s.logger.debug({ dir: s.dir, baseOffset, previousSize: previous.appendPosition }, 'rolled segment');
    return segment;
  }

  /** A promise for the durable end reaching `offset`. */
  waitForDurable(offset: number): Promise<void> {
    if (this.state.durableEnd >= offset) return Promise.resolve();
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
  writePending(): void {
    if (this.writeScheduled) {
      clearImmediate(this.writeScheduled);
      this.writeScheduled = null;
    }
    if (this.pending.length === 0) return;
    const s = this.state;
    if (s.filesPending) {
      // The first write of a new partition: its appends wait for the files, created off the
      // event loop, and are written by the creation's completion (or fail with it).
      void this.createFiles();
      return;
    }
    const appends = this.pending;
    this.pending = [];
    this.unacked.push(...appends); // from here on a failure rolls them back with the rest
    try {
      this.touch();
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
      this.rollback(storageError(err, `write to ${s.dir} failed`));
      return;
    }
    crashPoint('written');
    this.stats.groupCommits++;
    const seq = ++this.writeSeq;
    let messages = 0;
    for (const append of appends) messages += append.messages;
    this.messagesSinceSync += messages;
    const needsSync = this.messagesSinceSync >= s.config.flushIntervalMessages || s.clock.now() - this.lastSyncMs >= s.config.flushIntervalMs;
    for (const append of appends) {
      append.writeSeq = seq;
      append.needsSync = needsSync;
    }
    this.drainAcks();
  }

  private writeRun(run: WriteChunk): void {
    const io = this.state.io;
    let written = 0;
    let remaining = run.buffers;
    while (written < run.bytes) {
      const iovecs = remaining.length > MAX_IOVECS ? remaining.slice(0, MAX_IOVECS) : remaining;
      this.stats.writevCalls++;
      crashPoint('append', () => io.writev(run.segment.fd, [Buffer.concat(iovecs).subarray(0, (run.bytes - written) >> 1)], run.position + written));
      const n = io.writev(run.segment.fd, iovecs, run.position + written);
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
      this.state.durableEnd = head.endOffset;
      this.hooks.durable(head.endOffset);
      head.resolve();
    }
    this.sealRolledSegments();
  }

  /** fsyncs every segment written since the last fsync; the result says whether it worked. */
  private startSync(): Promise<boolean> {
    const s = this.state;
    const generation = this.generation;
    const target = this.writeSeq;
    const dirty = s.segments.filter((segment) => segment.dirty);
    for (const segment of dirty) segment.dirty = false;
    const syncDir = this.needsDirSync;
    this.needsDirSync = false;
    this.messagesSinceSync = 0;
    this.lastSyncMs = s.clock.now();
    const run = (async () => {
      await s.epochs.syncIfNeeded();
      for (const segment of dirty) {
        this.stats.fsyncs++;
        await segment.fsync(s.io);
      }
      if (syncDir) await fsyncDir(s.dir);
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
        this.rollback(storageError(err, `fsync of ${s.dir} failed`));
        return false;
      },
    );
    this.syncInFlight = promise;
    return promise;
  }

  /**
   * After an I/O failure: takes the log back to its durable end and fails every append above
   * it. Files are truncated, segments created since are deleted, producer state restored.
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
    this.state.logger.error(
      { err, dir: this.state.dir, highWatermark: this.state.highWatermark, durableEnd: this.state.durableEnd, failedAppends: victims.length },
      'log I/O failed; truncated back to the last acknowledged append',
    );
    for (const victim of victims) victim.reject(err);
    this.sealRolledSegments();
  }

  /** Takes back appends that are not acknowledged (oldest first in `appends`). */
  private undoAppends(appends: PendingAppend[]): void {
    const s = this.state;
    for (let i = appends.length - 1; i >= 0; i--) {
      const undo = appends[i]!.undo;
      for (let j = undo.length - 1; j >= 0; j--) s.producers.undo(undo[j]!);
    }
    const { segment, mark } = appends[0]!.start;
    const index = s.segments.indexOf(segment);
    if (index < 0) throw new Error(`segment ${segment.logPath} to restore is no longer part of the log`);
    for (const victim of s.segments.slice(index + 1)) {
      void victim.close();
      try {
        victim.deleteFilesSync();
      } catch (err) {
        s.logger.error({ err, segment: victim.logPath }, 'cannot delete segment');
      }
    }
    s.segments.length = index + 1;
    segment.resetTo(mark);
    segment.state = 'active';
    segment.endSnapshot = null;
    try {
      if (segment.hasFile) s.io.ftruncate(segment.fd, mark.appendPosition);
    } catch (err) {
      // The bytes past appendPosition are overwritten by the next write or cut by recovery.
      s.logger.error({ err, segment: segment.logPath }, 'cannot truncate segment after a failed write');
    }
    s.nextOffset = appends[0]!.firstOffset;
    this.hooks.undone(s.nextOffset);
  }

  /** Fails every append not yet acknowledged without touching the files (the log is going away). */
  abandonAll(err: KafkaError): void {
    this.generation++;
    this.creationCancelled = true;
    this.leaveCreationQueue?.();
    if (this.writeScheduled) clearImmediate(this.writeScheduled);
    this.writeScheduled = null;
    const victims = [...this.unacked, ...this.pending];
    this.unacked = [];
    this.pending = [];
    for (const victim of victims) victim.reject(err);
  }

  /** Queues the sealing of rolled segments whose data is all acknowledged. */
  sealRolledSegments(): void {
    const segments = this.state.segments;
    // Segments are sealed in order, so only the newest few can still be 'rolled'.
    let first = segments.length - 1;
    while (first > 0 && segments[first - 1]!.state === 'rolled') first--;
    for (let i = first; i < segments.length - 1; i++) {
      const segment = segments[i]!;
      if (this.state.durableEnd < segments[i + 1]!.baseOffset) break;
      segment.state = 'sealing';
      this.background = this.background.then(() => this.seal(segment));
    }
  }

  /** fsyncs a rolled segment, writes its index files and the producer snapshot taken at roll. */
  private async seal(segment: LogSegment): Promise<void> {
    const s = this.state;
    try {
      if (segment.isClosed) return;
      await s.epochs.syncIfNeeded();
      this.stats.fsyncs++;
      await segment.fsync(s.io);
      segment.finalizeTimeIndex();
      await segment.writeIndexFiles(s.io);
      crashPoint('seal');
      const snapshot = segment.endSnapshot;
      if (snapshot) {
        await writeFileAtomic(offsetFilePath(s.dir, snapshot.offset, SNAPSHOT_SUFFIX), snapshot.data, { syncDir: false });
        segment.endSnapshot = null;
      }
      await fsyncDir(s.dir);
      await this.deleteOldSnapshots();
    } catch (err) {
      // The data is in place; missing index files are rebuilt by the next recovery.
      if (!segment.isClosed) s.logger.error({ err, segment: segment.logPath }, 'cannot seal segment');
    } finally {
      segment.state = 'sealed';
    }
  }

  async deleteOldSnapshots(): Promise<void> {
    const offsets = (await listSnapshotOffsets(this.state.dir)).sort((a, b) => b - a);
    for (const offset of offsets.slice(SNAPSHOTS_KEPT)) {
      await fsp.rm(offsetFilePath(this.state.dir, offset, SNAPSHOT_SUFFIX), { force: true });
    }
  }

  // --- flushing -----------------------------------------------------------------------------

  /** Writes what is pending and fsyncs everything written so far. */
  async flush(): Promise<void> {
    this.writePending();
    // Appends waiting for the log's files are written when they exist (or failed if they cannot be).
    await this.creationSettled();
    const dir = this.state.dir;
    const generation = this.generation;
    const target = this.writeSeq;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (this.syncInFlight) {
        await this.syncInFlight;
        continue;
      }
      if (generation !== this.generation) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `flush of ${dir} failed`);
      if (this.syncedSeq >= target && !this.needsDirSync) return;
      if (!(await this.startSync())) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `flush of ${dir} failed`);
    }
  }

  /** For the periodic flusher: fsyncs if data is waiting and flush.ms has passed since the last fsync. */
  async flushIfDue(now: number): Promise<void> {
    const s = this.state;
    if (s.closed) return;
    const unsynced = this.messagesSinceSync > 0 || s.segments.some((segment) => segment.dirty);
    if (unsynced && now - this.lastSyncMs >= s.config.flushIntervalMs) await this.flush();
  }

  // --- truncation ---------------------------------------------------------------------------

  /**
   * Cuts the files at the first batch that contains an offset ≥ `targetOffset` (a batch
   * straddling it goes entirely): later segments are deleted, the last one is truncated and its
   * indexes rebuilt. Everything in flight must be written first (the caller flushes). Sets the
   * log end and durable end; the façade fixes the high watermark, epochs and producer state.
   */
  async truncateFiles(targetOffset: number): Promise<void> {
    const s = this.state;
    this.touch();
    await this.flush();
    await this.background;
    const index = segmentIndexFor(s.segments, Math.max(targetOffset, s.startOffset));
    for (const victim of s.segments.slice(index + 1)) {
      await victim.close();
      victim.deleteFilesSync();
    }
    s.segments.length = index + 1;
    const segment = s.segments[index]!;
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
    if (segment.hasFile) s.io.ftruncate(segment.fd, cut);
    segment.size = cut;
    // The aborted-transaction index keeps its entries below the cut (a marker is a batch of its
    // own, so every entry below `targetOffset` describes data that stays): as Kafka's segment
    // truncation, it is cut, not rebuilt, and reads meanwhile never find it empty (found 10).
    const txnIndex = segment.txnIndex;
    const txnIndexStale = segment.txnIndexStale;
    txnIndex.truncateTo(targetOffset);
    segment.resetEmpty(s.config);
    segment.txnIndex = txnIndex;
    segment.txnIndexStale = txnIndexStale;
    const now = s.clock.now();
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
    s.nextOffset = segment.nextOffset;
    s.durableEnd = Math.min(s.durableEnd, s.nextOffset);
  }
}
