// Log compaction: rewrites the closed segments of a compacted partition keeping, per key, only the
// record with the latest offset.
//
// One cleaning of a log:
//   1. The cleanable range: from the log start to the first segment that is active, not sealed,
//      not wholly below the high watermark, or younger than min.compaction.lag.ms.
//   2. The offset map: key → latest offset over the dirty part of that range (from the cleaner
//      checkpoint on), bounded to `maxMapEntries` keys; when it fills, the clean stops where the
//      map got to (`mapEnd`) and the next clean continues from there.
//   3. The segments below mapEnd, grouped (adjacent, at most segment.bytes together), are
//      rewritten one group at a time into `<base>.log.cleaned`: a record goes when the map holds
//      a later offset for its key; tombstones go once their batch's delete horizon has passed;
//      records without a key and records at or above mapEnd stay; records of aborted
//      transactions go, and so do markers whose transaction left nothing (keepMarker). Batches keep
//      their base offset, last offset delta, producer fields and leader epoch, so offsets (and
//      their gaps) and producer state are exactly as before; compressed batches are decompressed,
//      filtered and recompressed with the same codec.
//   4. The swap (serialized with retention): `.cleaned` → `<base>.log.<end>.swap` (the commit
//      point), the segment list changes in one synchronous step, the old files become `.deleted`,
//      the swap file becomes `<base>.log`, the index files are written; old fds close once no
//      read holds them. On open, `.cleaned` files are deleted and `.swap` files completed.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { fsyncDir } from '../common/atomic-file.js';
import { AbortedBatchTracker } from './aborted-batches.js';
import { ChunkedReader } from './chunked-reader.js';
import { compress, decompress } from '../protocol/records/compression.js';
import { writeInt64 } from '../protocol/records/int64.js';
import { DELETED_SUFFIX, LOG_SUFFIX, offsetFilePath } from './file-names.js';
import { defaultLogIo } from './log-io.js';
import { LogSegment } from './log-segment.js';
import type { CleanableLog } from './cleanable-log.js';
import {
  Attribute,
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BatchField,
  BatchHeader,
  compressionOf,
  computeBatchCrc,
  isControl,
  isLogAppendTime,
  isTransactional,
  MIN_BATCH_LENGTH,
  readBatchHeader,
} from '../protocol/records/record-batch.js';
import { DecodedRecord, decodeRecordsSection, encodeRecord } from '../protocol/records/records.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { crashPoint } from '../common/crash-points.js';
import { CLEANED_SUFFIX, swapFileName } from './cleaner-files.js';

export { CLEANED_SUFFIX, SWAP_SUFFIX, finishInterruptedCleaning } from './cleaner-files.js';

/** In the log directory: `topic partition offset` lines, how far each compacted log is cleaned. */
export const CLEANER_OFFSET_CHECKPOINT = 'cleaner-offset-checkpoint';
/**
 * Heap bytes one offset map entry costs (a JS Map with a string key of at most 17 characters and
 * a number, measured); Kafka's packed table needs 24, but the budget should bound real memory.
 */
export const OFFSET_MAP_ENTRY_BYTES = 96;
/** Share of the dedupe buffer the map may fill (Kafka's log.cleaner.io.buffer.load.factor). */
const MAP_LOAD_FACTOR = 0.9;
const READ_CHUNK = 1024 * 1024;
const WRITE_CHUNK = 1024 * 1024;
/** Batches, or bytes, processed between two yields to the event loop. */
const BATCHES_PER_YIELD = 64;
const BYTES_PER_YIELD = 1024 * 1024;
const INT32_MAX = 2147483647;

const writev = promisify(fs.writev);

/** Keys a dedupe buffer of `bytes` may hold. */
export function offsetMapCapacity(bytes: number): number {
  return Math.max(1, Math.floor((bytes * MAP_LOAD_FACTOR) / OFFSET_MAP_ENTRY_BYTES));
}

/** Map key of a record key: short keys as they are, longer ones by their MD5 (fixed size, as Kafka). */
function mapKey(key: Buffer): string {
  if (key.length <= 16) return 'r' + key.toString('latin1');
  return 'h' + createHash('md5').update(key).digest().toString('latin1');
}

/** Where a log stands for the cleaner. */
export interface CleanableState {
  /** First offset not yet cleaned (the checkpoint, at least the log start). */
  firstDirty: number;
  /** Exclusive end of what may be cleaned now. */
  cleanableEnd: number;
  /** Number of leading segments that may be rewritten. */
  cleanableSegments: number;
  cleanBytes: number;
  dirtyBytes: number;
  /** dirtyBytes / (cleanBytes + dirtyBytes), 0 when there is nothing. */
  dirtyRatio: number;
  /** The oldest dirty data is older than max.compaction.lag.ms. */
  overdue: boolean;
}

/** How much of a compacted log is dirty and cleanable, given the cleaner checkpoint. */
export function cleanableState(log: CleanableLog, checkpoint: number, now: number): CleanableState {
  const segments = log.segmentList;
  const config = log.currentConfig;
  // Only decided data is cleaned (Kafka's first unstable offset): a transaction still open may
  // yet be aborted, and its records must not have removed older values of their keys.
  const stable = log.lastStableOffset;
  let count = 0;
  for (let i = 0; i + 1 < segments.length; i++) {
    const segment = segments[i]!;
    if (segment.state !== 'sealed' || segments[i + 1]!.baseOffset > stable) break;
    if (config.minCompactionLagMs > 0 && segment.largestTimestamp > now - config.minCompactionLagMs) break;
    count = i + 1;
  }
  const cleanableEnd = segments[count]!.baseOffset;
  // A checkpoint past the log end is stale (the log was truncated below it): start over.
  const from = checkpoint > log.logEndOffset ? log.logStartOffset : Math.max(checkpoint, log.logStartOffset);
  const firstDirty = Math.min(from, Math.max(cleanableEnd, log.logStartOffset));
  let cleanBytes = 0;
  let dirtyBytes = 0;
  let overdue = false;
  for (let i = 0; i < count; i++) {
    const segment = segments[i]!;
    if (segments[i + 1]!.baseOffset <= firstDirty) {
      cleanBytes += segment.size;
      continue;
    }
    if (dirtyBytes === 0 && segment.size > 0) {
      const first = segment.rollingBaseTimestamp >= 0 ? segment.rollingBaseTimestamp : segment.largestTimestamp;
      if (first >= 0 && now - first > config.maxCompactionLagMs) overdue = true;
    }
    dirtyBytes += segment.size;
  }
  const total = cleanBytes + dirtyBytes;
  return {
    firstDirty,
    cleanableEnd,
    cleanableSegments: count,
    cleanBytes,
    dirtyBytes,
    dirtyRatio: total > 0 ? dirtyBytes / total : 0,
    overdue,
  };
}

export interface CleanOptions {
  /** The cleaner checkpoint of this log (offsets below it were cleaned before). */
  checkpoint: number;
  /** Keys the offset map may hold. */
  maxMapEntries: number;
  logger: Logger;
  /** Checked between batches: true aborts the clean (the log or the manager is closing). */
  shouldStop?: () => boolean;
}

export interface CleanResult {
  /** The new cleaner checkpoint: everything below it is clean. */
  cleanedTo: number;
  /** Segments replaced, and the segments written in their place. */
  segmentsBefore: number;
  segmentsAfter: number;
  bytesBefore: number;
  bytesAfter: number;
  recordsRemoved: number;
  /** Earliest delete horizon of the tombstones kept, or -1 when none was kept. */
  earliestTombstoneHorizon: number;
  aborted: boolean;
}

class CleanAborted extends Error {}

interface FilterContext {
  map: Map<string, number>;
  mapEnd: number;
  now: number;
  deleteRetentionMs: number;
  log: CleanableLog;
  removed: number;
  earliestHorizon: number;
  /** Walked by filterBatch over every batch of the rewrite, in offset order. */
  aborted: AbortedBatchTracker;
  /**
   * producerId → whether the rewrite kept any batch of that producer's transaction since its
   * last marker (the walk starts at the log start, so a transaction's data precedes its marker).
   */
  txnRetained: Map<number, boolean>;
  /** Offsets of the markers this rewrite removed (their aborted-index entries go with them). */
  removedMarkers: Set<number>;
}

/** Iterates the whole batches of a segment (bytes are a view valid until the next iteration). */
async function* segmentBatches(segment: LogSegment): AsyncGenerator<{ bytes: Buffer; header: BatchHeader }> {
  const chunks = new ChunkedReader(segment, segment.size, READ_CHUNK);
  // Retention, DeleteRecords or a topic deletion can remove (and close) the segment mid-clean:
  // that aborts this clean, the next round starts over from the new segment list.
  const reader = {
    async get(position: number, length: number): Promise<Buffer | null> {
      try {
        return await chunks.get(position, length);
      } catch (err) {
        if (segment.isClosed) throw new CleanAborted();
        throw err;
      }
    },
  };
  let position = 0;
  for (;;) {
    const framing = await reader.get(position, BATCH_LOG_OVERHEAD);
    if (!framing) return;
    const batchLength = framing.readInt32BE(BatchField.batchLength);
    if (batchLength < MIN_BATCH_LENGTH) throw new Error(`invalid batch length ${batchLength} in ${segment.logPath} at ${position}`);
    const size = batchLength + BATCH_LOG_OVERHEAD;
    const bytes = await reader.get(position, size);
    if (!bytes) throw new Error(`torn batch in ${segment.logPath} at ${position}`);
    yield { bytes, header: readBatchHeader(bytes) };
    position += size;
  }
}

async function decodeRecords(bytes: Buffer, header: BatchHeader): Promise<DecodedRecord[]> {
  const section = await decompress(compressionOf(header.attributes), bytes.subarray(BATCH_HEADER_SIZE));
  return decodeRecordsSection(section, header);
}

/**
 * The batch's records, or null when they cannot be decoded (produce checks the CRC but does not
 * decompress, so a client can store a batch whose records section is garbage). Such a batch is
 * kept as it is and contributes no keys: one bad batch must not stop the log's compaction.
 */
async function decodeRecordsOrNull(bytes: Buffer, header: BatchHeader): Promise<DecodedRecord[] | null> {
  try {
    return await decodeRecords(bytes, header);
  } catch (err) {
    if (err instanceof KafkaError && err.code === ErrorCode.CORRUPT_MESSAGE) return null;
    throw err;
  }
}

/** Lets produce and fetch run between pieces of the cleaner's synchronous work. */
class Yielder {
  private batches = 0;
  private bytes = 0;

  async after(batchBytes: number): Promise<void> {
    this.bytes += batchBytes;
    if (++this.batches < BATCHES_PER_YIELD && this.bytes < BYTES_PER_YIELD) return;
    this.batches = 0;
    this.bytes = 0;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/**
 * Builds the offset map over [firstDirty, cleanableEnd) and returns where it stops: at
 * cleanableEnd, or after the last batch that fitted when the map filled up.
 */
async function buildOffsetMap(
  segments: readonly LogSegment[],
  state: CleanableState,
  maxEntries: number,
  shouldStop: () => boolean,
  aborted: AbortedBatchTracker,
): Promise<{ map: Map<string, number>; mapEnd: number }> {
  const map = new Map<string, number>();
  let mapEnd = state.firstDirty;
  const yielder = new Yielder();
  for (let i = 0; i < state.cleanableSegments; i++) {
    const segment = segments[i]!;
    const segmentEnd = segments[i + 1]!.baseOffset;
    if (segmentEnd <= state.firstDirty) continue;
    for await (const { bytes, header } of segmentBatches(segment)) {
      const lastOffset = header.baseOffset + header.lastOffsetDelta;
      if (lastOffset < state.firstDirty) continue;
      await yielder.after(bytes.length);
      if (shouldStop()) throw new CleanAborted();
      const skip = aborted.isAborted(header) || isControl(header.attributes);
      const records = skip ? null : await decodeRecordsOrNull(bytes, header);
      if (records) {
        const keys: Array<[string, number]> = [];
        let fresh = 0;
        for (const record of records) {
          if (record.key === null || record.offset < state.firstDirty) continue;
          const key = mapKey(record.key);
          if (!map.has(key)) fresh++;
          keys.push([key, record.offset]);
        }
        // Full: stop before this batch (but always take at least one batch, to make progress).
        if (map.size + fresh > maxEntries && mapEnd > state.firstDirty) return { map, mapEnd };
        for (const [key, offset] of keys) map.set(key, offset);
      }
      mapEnd = lastOffset + 1;
    }
    mapEnd = Math.max(mapEnd, segmentEnd);
  }
  return { map, mapEnd };
}

/**
 * The batch as it should be after cleaning: the same bytes, a rewritten batch, or null when it
 * goes entirely. Header fields that identify the batch (base offset, last offset delta, producer
 * id/epoch, base sequence, leader epoch, max timestamp) are kept.
 */
async function filterBatch(bytes: Buffer, header: BatchHeader, ctx: FilterContext): Promise<Buffer | null> {
  const out = await filterBatchContent(bytes, header, ctx);
  if (out && header.producerId >= 0 && isTransactional(header.attributes) && !isControl(header.attributes)) ctx.txnRetained.set(header.producerId, true);
  return out;
}

/**
 * A transaction marker goes, as in Kafka, once nothing of its transaction is left (all its data
 * compacted away, or aborted and removed), it is older than delete.retention.ms (consumers in
 * the middle of the transaction have had that long to pass it), and it is not its producer's
 * latest batch (that one carries the producer's epoch for a replay of the log). Otherwise a
 * compacted topic written by transactions (__consumer_offsets with exactly-once consumers) would
 * grow by one marker per transaction forever.
 */
function keepMarker(header: BatchHeader, ctx: FilterContext): boolean {
  const retained = ctx.txnRetained.get(header.producerId) ?? false;
  ctx.txnRetained.delete(header.producerId);
  if (retained || header.baseOffset >= ctx.mapEnd) return true;
  if (header.maxTimestamp < 0 || header.maxTimestamp + ctx.deleteRetentionMs > ctx.now) return true;
  const producer = ctx.log.producerState.get(header.producerId);
  const latestData = producer?.batches.at(-1)?.lastOffset ?? -1;
  if (producer && latestData < header.baseOffset) return true;
  ctx.removedMarkers.add(header.baseOffset);
  ctx.removed += header.recordCount;
  return false;
}

async function filterBatchContent(bytes: Buffer, header: BatchHeader, ctx: FilterContext): Promise<Buffer | null> {
  // Records of aborted transactions go, and markers whose transaction left nothing behind.
  const abortedData = ctx.aborted.isAborted(header) && header.baseOffset < ctx.mapEnd;
  if (isControl(header.attributes)) return isTransactional(header.attributes) && !keepMarker(header, ctx) ? null : bytes;
  if (abortedData) {
    ctx.removed += header.recordCount;
    return emptiedBatch(bytes, header, ctx);
  }
  const records = await decodeRecordsOrNull(bytes, header);
  if (!records) return bytes;
  const hasHorizon = (header.attributes & Attribute.deleteHorizon) !== 0;
  const horizon = hasHorizon ? header.baseTimestamp : -1;
  const kept: DecodedRecord[] = [];
  let tombstones = 0;
  for (const record of records) {
    if (record.offset < ctx.mapEnd && record.key !== null) {
      const latest = ctx.map.get(mapKey(record.key));
      if (latest !== undefined && latest > record.offset) continue;
      if (record.value === null && hasHorizon && horizon <= ctx.now) continue;
    }
    if (record.value === null && record.key !== null) tombstones++;
    kept.push(record);
  }
  ctx.removed += records.length - kept.length;
  // Tombstones kept in the cleaned part get their delete horizon (Kafka's KIP-534 layout: the
  // horizon takes the base timestamp's place and the deleteHorizon attribute is set).
  const setHorizon = tombstones > 0 && !hasHorizon && header.baseOffset < ctx.mapEnd;
  if (tombstones > 0) {
    const h = setHorizon ? ctx.now + ctx.deleteRetentionMs : horizon;
    if (h >= 0 && (ctx.earliestHorizon < 0 || h < ctx.earliestHorizon)) ctx.earliestHorizon = h;
  }
  if (kept.length === records.length && !setHorizon) return bytes;
  if (kept.length === 0) return emptiedBatch(bytes, header, ctx);
  let attributes = header.attributes;
  let baseTimestamp = header.baseTimestamp;
  if (setHorizon) {
    attributes |= Attribute.deleteHorizon;
    baseTimestamp = ctx.now + ctx.deleteRetentionMs;
  } else if (hasHorizon && tombstones === 0) {
    // No tombstone left: the base timestamp goes back to the first record's.
    attributes &= ~Attribute.deleteHorizon;
    baseTimestamp = isLogAppendTime(attributes) ? header.baseTimestamp : kept[0]!.timestamp;
  }
  const logAppendTime = isLogAppendTime(attributes);
  const encoded = kept.map((r) =>
    encodeRecord({
      attributes: r.attributes,
      offsetDelta: r.offsetDelta,
      timestampDelta: logAppendTime ? r.timestampDelta : r.timestamp - baseTimestamp,
      key: r.key,
      value: r.value,
      headers: r.headers.map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: h.value })),
    }),
  );
  return encodeBatch(bytes, encoded, attributes, baseTimestamp);
}

/** A batch whose records all go: nothing, or its producer's last batch kept empty so its sequence state survives a replay. */
function emptiedBatch(bytes: Buffer, header: BatchHeader, ctx: FilterContext): Promise<Buffer> | null {
  const producer = header.producerId >= 0 ? ctx.log.producerState.get(header.producerId) : undefined;
  const last = producer?.batches.at(-1);
  if (!last || last.lastOffset !== header.baseOffset + header.lastOffsetDelta) return null;
  return encodeBatch(bytes, [], header.attributes & ~Attribute.compressionMask & ~Attribute.deleteHorizon, header.baseTimestamp);
}

/** A batch with the original's header fields, the given records, attributes and base timestamp. */
async function encodeBatch(original: Buffer, records: Buffer[], attributes: number, baseTimestamp: number): Promise<Buffer> {
  const section = records.length === 0 ? Buffer.alloc(0) : await compress(compressionOf(attributes), Buffer.concat(records));
  const batch = Buffer.allocUnsafe(BATCH_HEADER_SIZE + section.length);
  original.copy(batch, 0, 0, BATCH_HEADER_SIZE);
  batch.writeInt32BE(batch.length - BATCH_LOG_OVERHEAD, BatchField.batchLength);
  batch.writeInt16BE(attributes, BatchField.attributes);
  writeInt64(batch, baseTimestamp, BatchField.baseTimestamp);
  batch.writeInt32BE(records.length, BatchField.recordCount);
  section.copy(batch, BATCH_HEADER_SIZE);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

/** Adjacent segments below `count`, merged while they fit in segment.bytes, their indexes and int32 offsets. */
function groupSegments(segments: readonly LogSegment[], count: number, segmentBytes: number): LogSegment[][] {
  const groups: LogSegment[][] = [];
  let i = 0;
  while (i < count) {
    const first = segments[i]!;
    const group = [first];
    let size = first.size;
    let indexEntries = first.offsetIndex.size;
    let timeEntries = first.timeIndex.size;
    i++;
    while (
      i < count &&
      size + segments[i]!.size <= segmentBytes &&
      indexEntries + segments[i]!.offsetIndex.size < first.offsetIndex.maxEntries &&
      timeEntries + segments[i]!.timeIndex.size < first.timeIndex.maxEntries &&
      segments[i + 1]!.baseOffset - 1 - first.baseOffset <= INT32_MAX
    ) {
      size += segments[i]!.size;
      indexEntries += segments[i]!.offsetIndex.size;
      timeEntries += segments[i]!.timeIndex.size;
      group.push(segments[i]!);
      i++;
    }
    groups.push(group);
  }
  return groups;
}

/**
 * Cleans one log once (see the top of this file). Safe to run while the log is produced to and
 * read; aborted (output dropped, nothing changed) when `shouldStop` says so.
 */
export async function cleanLog(log: CleanableLog, options: CleanOptions): Promise<CleanResult> {
  const now = log.now();
  const config = log.currentConfig;
  const shouldStop = () => log.isClosed || (options.shouldStop?.() ?? false);
  const segments = log.segmentList;
  const state = cleanableState(log, options.checkpoint, now);
  const result: CleanResult = {
    cleanedTo: state.firstDirty,
    segmentsBefore: 0,
    segmentsAfter: 0,
    bytesBefore: 0,
    bytesAfter: 0,
    recordsRemoved: 0,
    earliestTombstoneHorizon: -1,
    aborted: false,
  };
  try {
    const cleanableEnd = segments[state.cleanableSegments]!.baseOffset;
    const { map, mapEnd } = await buildOffsetMap(
      segments,
      state,
      options.maxMapEntries,
      shouldStop,
      new AbortedBatchTracker(log.abortedTxnEntries(state.firstDirty, cleanableEnd, segments)),
    );
    let count = 0;
    while (count < state.cleanableSegments && segments[count]!.baseOffset < mapEnd) count++;
    const ctx: FilterContext = {
      map,
      mapEnd,
      now,
      deleteRetentionMs: config.deleteRetentionMs,
      log,
      removed: 0,
      earliestHorizon: -1,
      aborted: new AbortedBatchTracker(log.abortedTxnEntries(segments[0]!.baseOffset, mapEnd, segments)),
      txnRetained: new Map(),
      removedMarkers: new Set(),
    };
    for (const group of groupSegments(segments, count, config.segmentBytes)) {
      const end = segments[segments.indexOf(group.at(-1)!) + 1]!.baseOffset;
      const cleaned = await cleanGroup(log, group, end, ctx, shouldStop, options.logger);
      if (!cleaned) {
        result.aborted = true;
        break;
      }
      result.segmentsBefore += group.length;
      result.segmentsAfter += 1;
      result.bytesBefore += group.reduce((sum, s) => sum + s.size, 0);
      result.bytesAfter += cleaned.size;
    }
    result.recordsRemoved = ctx.removed;
    result.earliestTombstoneHorizon = ctx.earliestHorizon;
    if (!result.aborted) result.cleanedTo = mapEnd;
  } catch (err) {
    if (err instanceof CleanAborted) {
      result.aborted = true;
      return result;
    }
    throw err;
  }
  if (!result.aborted && result.segmentsBefore > 0) {
    options.logger.info({ dir: log.dir, ...result, dirtyRatio: Number(state.dirtyRatio.toFixed(3)) }, 'log cleaner compacted segments');
  }
  return result;
}

/** Writes the cleaned version of one group and swaps it in; null when aborted. */
async function cleanGroup(log: CleanableLog, group: LogSegment[], end: number, ctx: FilterContext, shouldStop: () => boolean, logger: Logger): Promise<LogSegment | null> {
  const base = group[0]!.baseOffset;
  const config = log.currentConfig;
  const cleanedPath = offsetFilePath(log.dir, base, LOG_SUFFIX + CLEANED_SUFFIX);
  const cleaned = LogSegment.createAt(log.dir, base, config, cleanedPath);
  const fallbackRollTime = group[0]!.rollingBaseTimestamp >= 0 ? group[0]!.rollingBaseTimestamp : ctx.now;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let written = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    let done = 0;
    while (done < pendingBytes) {
      const { bytesWritten: n } = await writev(cleaned.fd, done === 0 ? pending : [Buffer.concat(pending).subarray(done)], written + done);
      if (n <= 0) throw new Error(`writev wrote ${n} bytes to ${cleanedPath}`);
      done += n;
    }
    written += pendingBytes;
    cleaned.size = written;
    pending = [];
    pendingBytes = 0;
  };
  let swapped = false;
  try {
    const yielder = new Yielder();
    for (const segment of group) {
      for await (const { bytes, header } of segmentBatches(segment)) {
        await yielder.after(bytes.length);
        if (shouldStop()) return null;
        const out = await filterBatch(bytes, header, ctx);
        if (!out) continue;
        // `bytes` is a view into the reader's buffer: copy what is kept as is.
        const copy = out === bytes ? Buffer.from(bytes) : out;
        const rollTime = header.maxTimestamp >= 0 ? Math.min(header.maxTimestamp, ctx.now) : fallbackRollTime;
        cleaned.recordBatch(header.baseOffset, header.baseOffset + header.lastOffsetDelta, header.maxTimestamp, copy.length, rollTime);
        pending.push(copy);
        pendingBytes += copy.length;
        if (pendingBytes >= WRITE_CHUNK) await flush();
      }
    }
    await flush();
    await cleaned.fsync(defaultLogIo);
    cleaned.finalizeTimeIndex();
    // The index entries of kept ABORT markers stay (fetches of what is left still need them to
    // skip aborted records below the clean part, e.g. when cleaning is partial).
    for (const old of group) for (const entry of old.txnIndex.all) if (!ctx.removedMarkers.has(entry.lastOffset)) cleaned.txnIndex.append(entry);
    cleaned.state = 'sealed';
    const ok = await log.runExclusive(async () => {
      if (shouldStop()) return false;
      const current = log.segmentList;
      const index = current.indexOf(group[0]!);
      if (index < 0 || group.some((s, i) => current[index + i] !== s)) return false; // retention got there first
      const swapPath = path.join(log.dir, swapFileName(base, end));
      await fsp.rename(cleanedPath, swapPath);
      await fsyncDir(log.dir);
      crashPoint('clean');
      // Committed: from here a crash completes the swap on the next open.
      if (!log.replaceSegments(group, cleaned)) {
        // Cannot happen under runExclusive short of a close; undo the commit.
        await fsp.rename(swapPath, cleanedPath);
        return false;
      }
      swapped = true;
      for (const old of group) {
        for (const file of [old.logPath, ...old.indexFiles]) {
          await fsp.rename(file, file + DELETED_SUFFIX).catch((err: NodeJS.ErrnoException) => {
            if (err.code !== 'ENOENT') throw err;
          });
        }
      }
      await fsp.rename(swapPath, cleaned.logPath);
      await fsyncDir(log.dir);
      await cleaned.writeIndexFiles();
      return true;
    });
    if (!ok) return null;
    // Old segments: their fds close once the reads holding them finish, then the files go.
    for (const old of group) {
      void old
        .close()
        .then(() => Promise.all([old.logPath, ...old.indexFiles].map((f) => fsp.rm(f + DELETED_SUFFIX, { force: true }))))
        .catch((err: unknown) => logger.error({ err, segment: old.logPath }, 'cannot remove a cleaned-away segment'));
    }
    return cleaned;
  } finally {
    if (!swapped) {
      await cleaned.close();
      await fsp.rm(cleanedPath, { force: true });
    }
  }
}
