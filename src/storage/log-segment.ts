// One segment of a partition log: the .log file (an fd shared by the write path and reads) and
// its in-memory offset and time indexes, persisted when the segment is sealed or closed.
import type { BufferPool } from '../common/buffer-pool.js';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { DELETED_SUFFIX, INDEX_SUFFIX, LOG_SUFFIX, offsetFilePath, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX } from './file-names.js';
import type { LogConfig } from './log-config.js';
import { defaultLogIo, type LogIo } from './log-io.js';
import { OffsetIndex, type OffsetPosition } from './offset-index.js';
import { TimeIndex } from './time-index.js';
import { TxnIndex } from './txn-index.js';

const INT32_MAX = 2147483647;
/**
 * Reads of at most this many bytes, of data this process wrote near the segment's end, are made
 * at once on the event loop (see read); larger ones go to the thread pool.
 */
export const SYNC_READ_MAX_BYTES = 64 * 1024;
/** How near the segment's end such data must be to count as still in the page cache. */
export const HOT_TAIL_BYTES = 16 * 1024 * 1024;
/**
 * The newest batch appended to a segment, when at most this large, is also kept in memory (one
 * buffer per segment, reused): a consumer at the log end, woken by the append, reads it from
 * there instead of with a read system call. Small, because every active segment may hold one.
 */
export const NEWEST_BATCH_COPY_MAX_BYTES = 1024;

/** segment.ms, or max.compaction.lag.ms when smaller for a compacted topic (its data must become cleanable in time). */
function rollMs(config: LogConfig): number {
  return config.cleanupPolicy.includes('compact') ? Math.min(config.segmentMs, config.maxCompactionLagMs) : config.segmentMs;
}

/**
 * active: receives appends. rolled: a newer segment exists, index files not yet written.
 * sealed: data fsynced and index files written; never changes again (short of truncation).
 */
export type SegmentState = 'active' | 'rolled' | 'sealing' | 'sealed';

/** The mutable bookkeeping of a segment, captured so an aborted append can be taken back. */
export interface SegmentMark {
  appendPosition: number;
  nextOffset: number;
  indexEntries: number;
  timeIndexEntries: number;
  bytesSinceLastIndexEntry: number;
  maxTimestamp: number;
  offsetOfMaxTimestamp: number;
  rollingBaseTimestamp: number;
}

export class LogSegment {
  offsetIndex: OffsetIndex;
  timeIndex: TimeIndex;
  /** Aborted transactions whose ABORT marker is in this segment. */
  txnIndex = new TxnIndex();
  /** The txn index did not load from its file: recovery rebuilds it by replaying producer state. */
  txnIndexStale = true;
  /** Bytes known to be in the file (written); reads never go past this. */
  size: number;
  /** Bytes assigned to appends, written or not; where the next batch goes. */
  appendPosition: number;
  /** Offset after the last batch assigned to this segment. */
  nextOffset: number;
  bytesSinceLastIndexEntry = 0;
  /** Largest batch maxTimestamp in the segment and the base offset of the first batch with it. */
  maxTimestamp = -1;
  offsetOfMaxTimestamp = -1;
  /** What segment.ms is measured from: when the first batch arrived (-1 while empty). */
  rollingBaseTimestamp = -1;
  state: SegmentState = 'active';
  /** Written since the last fsync. */
  dirty = false;
  /** Producer state as of the next segment's base offset, taken at roll, written when sealed. */
  endSnapshot: { offset: number; data: Buffer } | null = null;
  indexIntervalBytes: number;

  private indexDamaged = false;
  /** The newest batch placed in this segment by this process (-1: none, or taken back). */
  private newestBatchOffset = -1;
  private newestBatchPosition = -1;
  /** A copy of the newest batch's first newestBatchLength bytes (0: no copy; see NEWEST_BATCH_COPY_MAX_BYTES). */
  private newestBatchCopy: Buffer | null = null;
  private newestBatchLength = 0;
  /** Where the bytes this process wrote start (the file's size when it was opened). */
  private readonly writtenFrom: number;
  private refs = 0;
  private closed = false;
  private closing: Promise<void> | null = null;
  private onIdle: (() => void) | null = null;

  private constructor(
    readonly dir: string,
    readonly baseOffset: number,
    /** -1 while the file does not exist yet (createDeferred). */
    public fd: number,
    fileSize: number,
    config: LogConfig,
  ) {
    this.offsetIndex = new OffsetIndex(baseOffset, config.segmentIndexBytes);
    this.timeIndex = new TimeIndex(baseOffset, config.segmentIndexBytes);
    this.size = fileSize;
    this.appendPosition = fileSize;
    this.writtenFrom = fileSize;
    this.nextOffset = baseOffset;
    this.indexIntervalBytes = config.indexIntervalBytes;
  }

  /** Creates a new, empty segment file (replacing any leftover of the same name). */
  /** `staleIndexesPossible: false` when the directory is known to hold no index files (just created). */
  static create(dir: string, baseOffset: number, config: LogConfig, io: LogIo = defaultLogIo, staleIndexesPossible = true): LogSegment {
    const fd = io.createSegmentFile(offsetFilePath(dir, baseOffset, LOG_SUFFIX));
    const segment = new LogSegment(dir, baseOffset, fd, 0, config);
    if (staleIndexesPossible) segment.removeIndexFilesSync();
    segment.txnIndexStale = false; // empty, and nothing in it yet
    return segment;
  }

  /**
   * An empty segment whose file is created only when it is needed (attachFile): the log of a new
   * partition, whose directory does not exist yet either (see PartitionLog.open), and a segment
   * rolled while that log's files are being created.
   */
  static createDeferred(dir: string, baseOffset: number, config: LogConfig): LogSegment {
    const segment = new LogSegment(dir, baseOffset, -1, 0, config);
    segment.txnIndexStale = false;
    return segment;
  }

  /** Whether the segment's .log file exists (false only for a createDeferred segment not yet written). */
  get hasFile(): boolean {
    return this.fd >= 0;
  }

  /** Gives a createDeferred segment the file just created for it (LogIo.createSegmentFileAsync). */
  attachFile(fd: number): void {
    if (this.fd >= 0) throw new Error(`segment ${this.logPath} already has a file`);
    if (this.closed) throw new Error(`segment ${this.logPath} is closed`);
    this.fd = fd;
  }

  /**
   * Takes back a file given by attachFile, before anything was written to it (its creation
   * failed half-way): closes it and makes the segment deferred again. The caller removes it.
   */
  detachFile(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    try {
      fs.closeSync(fd);
    } catch {
      // already closed or bad: nothing left to release
    }
  }

  /**
   * Creates an empty segment for `baseOffset` whose data lives in `file` until it is renamed to
   * the segment's own name (the log cleaner writes `.cleaned` files this way).
   */
  static createAt(dir: string, baseOffset: number, config: LogConfig, file: string): LogSegment {
    const { O_RDWR, O_CREAT, O_TRUNC } = fs.constants;
    const fd = fs.openSync(file, O_RDWR | O_CREAT | O_TRUNC, 0o644);
    const segment = new LogSegment(dir, baseOffset, fd, 0, config);
    segment.txnIndexStale = false;
    return segment;
  }

  /** Opens an existing segment file; its indexes start empty (see loadIndexFiles). */
  static openExisting(dir: string, baseOffset: number, config: LogConfig): LogSegment {
    const fd = fs.openSync(offsetFilePath(dir, baseOffset, LOG_SUFFIX), fs.constants.O_RDWR);
    return new LogSegment(dir, baseOffset, fd, fs.fstatSync(fd).size, config);
  }

  // File names are built when needed, not kept: a broker holds a segment per partition, and
  // four paths each were a kilobyte of strings per partition.
  get logPath(): string {
    return offsetFilePath(this.dir, this.baseOffset, LOG_SUFFIX);
  }

  get indexPath(): string {
    return offsetFilePath(this.dir, this.baseOffset, INDEX_SUFFIX);
  }

  get timeIndexPath(): string {
    return offsetFilePath(this.dir, this.baseOffset, TIME_INDEX_SUFFIX);
  }

  get txnIndexPath(): string {
    return offsetFilePath(this.dir, this.baseOffset, TXN_INDEX_SUFFIX);
  }

  /** The segment's index files, which go wherever its .log goes. */
  get indexFiles(): string[] {
    return [this.indexPath, this.timeIndexPath, this.txnIndexPath];
  }

  /**
   * Where a read or scan for `offset` starts: the offset index's entry, or the beginning of the
   * segment once a read found the index wrong (see markIndexDamaged).
   */
  indexLookup(offset: number): OffsetPosition {
    return this.indexDamaged ? { offset: this.baseOffset, position: 0 } : this.offsetIndex.lookup(offset);
  }

  /**
   * Where the newest batch placed by this process starts, when a scan for `offset` may start
   * there (the batch is written and its base offset is at most `offset`); otherwise null. A
   * consumer at the log end reads from there instead of from the index entry before it, up to
   * index.interval.bytes earlier. The caller checks the header found there.
   */
  newestBatch(offset: number): OffsetPosition | null {
    const position = this.newestBatchPosition;
    if (position < 0 || this.newestBatchOffset > offset || position >= this.size) return null;
    return { offset: this.newestBatchOffset, position };
  }

  get hasDamagedIndex(): boolean {
    return this.indexDamaged;
  }

  /**
   * A read found an index entry that does not point at the batch it names (a hand-edited or
   * rotten .index whose entries still look plausible: increasing, inside the file). Reads of this
   * segment start at its beginning from now on, and the index file goes so the next start
   * rebuilds it from the log.
   */
  markIndexDamaged(): void {
    if (this.indexDamaged) return;
    this.indexDamaged = true;
    fsp.rm(this.indexPath, { force: true }).catch(() => undefined);
  }

  get isEmpty(): boolean {
    return this.appendPosition === 0;
  }

  /**
   * What time retention compares: the largest batch timestamp, or for batches without
   * timestamps when the segment started receiving data; -1 for an empty segment.
   */
  get largestTimestamp(): number {
    return this.maxTimestamp >= 0 ? this.maxTimestamp : this.rollingBaseTimestamp;
  }

  /** Whether a batch of `batchSize` bytes ending at `lastOffset` must go to a new segment. */
  shouldRoll(batchSize: number, lastOffset: number, now: number, config: LogConfig): boolean {
    if (this.isEmpty) return false;
    return (
      this.appendPosition + batchSize > config.segmentBytes ||
      now - this.rollingBaseTimestamp > rollMs(config) ||
      this.offsetIndex.isFull ||
      this.timeIndex.isFull ||
      lastOffset - this.baseOffset > INT32_MAX
    );
  }

  /**
   * Accounts for a batch placed at appendPosition: sparse index entries, max timestamp, sizes.
   * Returns the batch's file position. `bytes`: the batch itself, in its final form, when it is
   * about to be written (an append, not a scan of the file); a small one is kept for reads.
   */
  recordBatch(baseOffset: number, lastOffset: number, maxTimestamp: number, batchSize: number, rollTimestamp: number, bytes?: Buffer): number {
    const position = this.appendPosition;
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = baseOffset;
    }
    if (this.bytesSinceLastIndexEntry > this.indexIntervalBytes) {
      this.offsetIndex.append(baseOffset, position);
      this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += batchSize;
    this.newestBatchOffset = baseOffset;
    this.newestBatchPosition = position;
    this.keepNewestBatch(bytes);
    this.appendPosition += batchSize;
    this.nextOffset = lastOffset + 1;
    if (this.rollingBaseTimestamp < 0) this.rollingBaseTimestamp = rollTimestamp;
    return position;
  }

  mark(): SegmentMark {
    return {
      appendPosition: this.appendPosition,
      nextOffset: this.nextOffset,
      indexEntries: this.offsetIndex.size,
      timeIndexEntries: this.timeIndex.size,
      bytesSinceLastIndexEntry: this.bytesSinceLastIndexEntry,
      maxTimestamp: this.maxTimestamp,
      offsetOfMaxTimestamp: this.offsetOfMaxTimestamp,
      rollingBaseTimestamp: this.rollingBaseTimestamp,
    };
  }

  /** Takes the bookkeeping back to a mark (the file is truncated separately). */
  resetTo(mark: SegmentMark): void {
    this.forgetNewestBatch();
    this.appendPosition = mark.appendPosition;
    this.size = Math.min(this.size, mark.appendPosition);
    this.nextOffset = mark.nextOffset;
    this.offsetIndex.truncateToEntries(mark.indexEntries);
    this.timeIndex.truncateToEntries(mark.timeIndexEntries);
    this.bytesSinceLastIndexEntry = mark.bytesSinceLastIndexEntry;
    this.maxTimestamp = mark.maxTimestamp;
    this.offsetOfMaxTimestamp = mark.offsetOfMaxTimestamp;
    this.rollingBaseTimestamp = mark.rollingBaseTimestamp;
    this.txnIndex.truncateTo(mark.nextOffset);
  }

  /** Forgets all bookkeeping, e.g. before rebuilding it from the file. */
  resetEmpty(config: LogConfig): void {
    this.forgetNewestBatch();
    this.offsetIndex = new OffsetIndex(this.baseOffset, config.segmentIndexBytes);
    this.timeIndex = new TimeIndex(this.baseOffset, config.segmentIndexBytes);
    this.appendPosition = 0;
    this.nextOffset = this.baseOffset;
    this.bytesSinceLastIndexEntry = 0;
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = -1;
    this.rollingBaseTimestamp = -1;
    this.txnIndex = new TxnIndex();
    this.txnIndexStale = true;
  }

  private forgetNewestBatch(): void {
    this.newestBatchOffset = -1;
    this.newestBatchPosition = -1;
    this.newestBatchLength = 0;
  }

  /**
   * A segment that stopped being the active one gives its copy back: consumers at the log end
   * read the new segment, and a log with many rolled segments must not hold a copy in each.
   */
  dropNewestBatchCopy(): void {
    this.newestBatchCopy = null;
    this.newestBatchLength = 0;
  }

  private keepNewestBatch(bytes: Buffer | undefined): void {
    if (bytes === undefined || bytes.length > NEWEST_BATCH_COPY_MAX_BYTES) {
      this.newestBatchLength = 0;
      return;
    }
    // Outside Node's shared allocation pool: a small view would keep a whole pool slab alive.
    if (this.newestBatchCopy === null || this.newestBatchCopy.length < bytes.length) this.newestBatchCopy = Buffer.allocUnsafeSlow(Math.max(bytes.length, 256));
    bytes.copy(this.newestBatchCopy, 0);
    this.newestBatchLength = bytes.length;
  }

  /** Adds the final time index entry so the persisted index knows the segment's max timestamp. */
  finalizeTimeIndex(): void {
    if (this.maxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp, true);
  }

  /**
   * Loads .index and .timeindex; false if either is missing, torn or inconsistent with the file.
   */
  async loadIndexFiles(config: LogConfig): Promise<boolean> {
    let indexData: Buffer;
    let timeData: Buffer;
    try {
      [indexData, timeData] = await Promise.all([fsp.readFile(this.indexPath), fsp.readFile(this.timeIndexPath)]);
    } catch {
      return false;
    }
    const offsetIndex = OffsetIndex.fromBuffer(this.baseOffset, config.segmentIndexBytes, indexData, this.size);
    const timeIndex = TimeIndex.fromBuffer(this.baseOffset, config.segmentIndexBytes, timeData);
    if (!offsetIndex || !timeIndex) return false;
    if (this.size > 0 && timeIndex.size === 0) return false; // a sealed non-empty segment has its final entry
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    const last = timeIndex.lastEntry;
    this.maxTimestamp = last?.timestamp ?? -1;
    this.offsetOfMaxTimestamp = last?.offset ?? -1;
    return true;
  }

  /** Loads .txnindex; false (and the index left empty and stale) if it is missing or does not check out. */
  async loadTxnIndexFile(): Promise<boolean> {
    const data = await fsp.readFile(this.txnIndexPath).catch(() => null);
    const index = data ? TxnIndex.fromBuffer(data) : null;
    // Markers of this segment only: an index from another incarnation of the file does not fit.
    const valid = index !== null && (index.size === 0 || (index.all[0]!.lastOffset >= this.baseOffset && index.all.at(-1)!.lastOffset < this.nextOffset));
    this.txnIndex = valid ? index : new TxnIndex();
    this.txnIndexStale = !valid;
    return valid;
  }

  async writeTxnIndexFile(io: LogIo = defaultLogIo): Promise<void> {
    await io.writeIndexFile(this.txnIndexPath, this.txnIndex.toBuffer());
  }

  async writeIndexFiles(io: LogIo = defaultLogIo): Promise<void> {
    await io.writeIndexFile(this.indexPath, this.offsetIndex.toBuffer());
    await io.writeIndexFile(this.timeIndexPath, this.timeIndex.toBuffer());
    await io.writeIndexFile(this.txnIndexPath, this.txnIndex.toBuffer());
  }

  /** Deletes the index files (they would go stale once the segment is appended to). */
  removeIndexFilesSync(): void {
    for (const file of this.indexFiles) {
      try {
        fs.unlinkSync(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }

  // --- fd lifetime: reads and fsyncs hold a reference so close never pulls the fd from under them.

  private acquire(): void {
    if (this.closed) throw new Error(`segment ${this.logPath} is closed`);
    this.refs++;
  }

  private release(): void {
    if (--this.refs === 0 && this.closed) this.finishClose();
  }

  /**
   * Reads up to `length` bytes at `position`; the result is shorter at the end of the file.
   * A small read of what this process wrote near the end (a consumer or follower at the log end,
   * woken by the append it waits for) is made at once: those pages were just written, so the
   * read is a copy from the page cache, cheaper than the thread pool's hand-off and the event
   * loop turn its completion costs. Older or larger reads may wait for the disk: thread pool. A
   * read of the newest batch, once written, is a copy of the one kept in memory (keepNewestBatch).
   */
  async read(position: number, length: number, pool?: BufferPool): Promise<Buffer> {
    if (this.fd < 0) return Buffer.alloc(0); // no file yet: nothing was ever written
    this.acquire();
    try {
      const buffer = pool ? pool.acquire(length) : Buffer.allocUnsafe(length);
      if (position === this.newestBatchPosition && length <= this.newestBatchLength && position + length <= this.size) {
        this.newestBatchCopy!.copy(buffer, 0, 0, length);
        return buffer;
      }
      const fromCache = length <= SYNC_READ_MAX_BYTES && position >= this.writtenFrom && position + HOT_TAIL_BYTES >= this.size;
      let filled = 0;
      while (filled < length) {
        const n = fromCache
          ? fs.readSync(this.fd, buffer, filled, length - filled, position + filled)
          : await new Promise<number>((resolve, reject) => {
              fs.read(this.fd, buffer, filled, length - filled, position + filled, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
            });
        if (n === 0) break;
        filled += n;
      }
      return filled === length ? buffer : buffer.subarray(0, filled);
    } finally {
      this.release();
    }
  }

  async fsync(io: LogIo): Promise<void> {
    if (this.fd < 0) return;
    this.acquire();
    try {
      await io.fsync(this.fd);
    } finally {
      this.release();
    }
  }

  /** Closes the fd once in-flight reads and fsyncs are done. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      if (this.refs === 0) {
        this.finishClose();
        this.closing = Promise.resolve();
      } else {
        this.closing = new Promise((resolve) => {
          this.onIdle = resolve;
        });
      }
    }
    return this.closing;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private finishClose(): void {
    try {
      if (this.fd >= 0) fs.closeSync(this.fd);
    } catch {
      // already closed or the fd is bad: nothing left to release
    }
    const onIdle = this.onIdle;
    this.onIdle = null;
    onIdle?.();
  }

  /**
   * Deletes the segment for retention or DeleteRecords: renames its files to `.deleted` (a
   * crash from here on leaves files that the next open removes), closes the fd once no read
   * uses it, then removes them. Nothing here blocks the event loop.
   */
  async deleteAsync(): Promise<void> {
    const renamed: string[] = [];
    for (const file of [this.logPath, ...this.indexFiles]) {
      try {
        await fsp.rename(file, file + DELETED_SUFFIX);
        renamed.push(file + DELETED_SUFFIX);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    await this.close();
    await Promise.all(renamed.map((file) => fsp.rm(file, { force: true })));
  }

  /** Removes the segment's files (the fd is closed when no read uses it any more). */
  deleteFilesSync(): void {
    for (const file of [this.logPath, ...this.indexFiles]) {
      try {
        fs.unlinkSync(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
}
