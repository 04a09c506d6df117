// Opening a partition log: which segments to trust, which to check batch by batch and where to
// cut a damaged log, and how producer state is rebuilt (snapshot + replay of batch headers).
import fsp from 'node:fs/promises';
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { offsetFilePath, parseOffsetFileName, SNAPSHOT_SUFFIX } from './file-names.js';
import type { LeaderEpochCache } from './leader-epoch-cache.js';
import type { LogConfig } from './log-config.js';
import type { LogIo } from './log-io.js';
import type { LogSegment } from './log-segment.js';
import { ProducerStateManager } from './producer-state.js';
import { TxnIndex } from './txn-index.js';
import { BATCH_HEADER_SIZE, BatchHeader, isControl, readBatchHeader } from '../protocol/records/record-batch.js';
import { parseTxnMarker } from './txn-marker.js';
import { scanSegment } from './segment-scanner.js';
import { ChunkedReader } from './chunked-reader.js';
import { startPosition } from './log-reads.js';
import { crashPoint } from '../common/crash-points.js';

export interface RecoveryContext {
  config: LogConfig;
  logger: Logger;
  io: LogIo;
  epochs: LeaderEpochCache;
  now: number;
}

/** segment.ms counts from the first batch's timestamp, but never from the future. */
export function rollTimestampOf(header: BatchHeader, now: number): number {
  return header.maxTimestamp >= 0 ? Math.min(header.maxTimestamp, now) : now;
}

export async function listSnapshotOffsets(dir: string): Promise<number[]> {
  const names = await fsp.readdir(dir);
  return names.map((n) => parseOffsetFileName(n, SNAPSHOT_SUFFIX)).filter((o): o is number => o !== null);
}

/**
 * Loads each segment's indexes, and checks batch by batch the segments that may be damaged:
 * those without usable index files, and the last one after an unclean shutdown. The log is
 * cut at the first bad batch; later segments are dropped.
 */
export async function recoverSegments(segments: LogSegment[], hadCleanShutdown: boolean, ctx: RecoveryContext): Promise<void> {
  const now = ctx.now;
  let epochsChanged = false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const isLast = i === segments.length - 1;
    const minBaseOffset = Math.max(segment.baseOffset, i > 0 ? segments[i - 1]!.nextOffset : 0);
    let trusted = (hadCleanShutdown || !isLast) && (await segment.loadIndexFiles(ctx.config));
    if (trusted) trusted = await loadSegmentTail(segment, isLast ? null : segments[i + 1]!.baseOffset, now);
    if (trusted) {
      segment.state = 'sealed';
      // A missing or bad .txnindex alone does not mean the data is damaged: loadProducerState
      // rebuilds it.
      await segment.loadTxnIndexFile();
      continue;
    }
    segment.resetEmpty(ctx.config);
    segment.state = 'rolled';
    const result = await scanSegment(segment, {
      from: 0,
      minBaseOffset,
      verifyCrc: true,
      onBatch: (header, _position, size) => {
        const lastOffset = header.baseOffset + header.lastOffsetDelta;
        segment.recordBatch(header.baseOffset, lastOffset, header.maxTimestamp, size, rollTimestampOf(header, now));
        if (ctx.epochs.assign(header.partitionLeaderEpoch, header.baseOffset, false)) epochsChanged = true;
      },
    });
    crashPoint('recovery');
    if (result.problem === null && (isLast || segment.nextOffset <= segments[i + 1]!.baseOffset)) {
      if (!isLast || !hadCleanShutdown) {
        ctx.logger.info({ segment: segment.logPath, batches: result.batches }, 'rebuilt segment indexes');
      }
      continue;
    }
    const dropped = segments.slice(i + 1);
    ctx.logger.warn(
      {
        segment: segment.logPath,
        problem: result.problem ?? 'overlaps the next segment',
        truncatedAtPosition: result.validEnd,
        bytesDropped: segment.size - result.validEnd,
        logEndOffset: segment.nextOffset,
        segmentsDropped: dropped.map((s) => s.logPath),
      },
      'log recovery truncated a damaged segment',
    );
    ctx.io.ftruncate(segment.fd, result.validEnd);
    segment.size = result.validEnd;
    crashPoint('recovery');
    for (const victim of dropped) {
      await victim.close();
      victim.deleteFilesSync();
    }
    segments.length = i + 1;
    break;
  }
  // A roll creates the new segment file when the offset is assigned, before the previous
  // segment's last batches are written. A crash in between leaves empty segments that start
  // beyond the real end of the data: they must go, or the log end would skip offsets.
  while (segments.length > 1) {
    const last = segments[segments.length - 1]!;
    const previous = segments[segments.length - 2]!;
    if (last.size > 0 || last.baseOffset <= previous.nextOffset) break;
    ctx.logger.warn({ segment: last.logPath, logEndOffset: previous.nextOffset }, 'log recovery removed an empty segment beyond the end of the data');
    await last.close();
    last.deleteFilesSync();
    segments.pop();
  }
  if (epochsChanged) ctx.epochs.persist();
}

/**
 * For a segment whose indexes loaded: walks the batches after the last index entry to find
 * the segment's end, and checks everything is consistent. False means "rebuild it".
 */
async function loadSegmentTail(segment: LogSegment, nextBase: number | null, now: number): Promise<boolean> {
  const lastEntry = segment.offsetIndex.size > 0 ? segment.offsetIndex.entry(segment.offsetIndex.size - 1) : null;
  const from = lastEntry?.position ?? 0;
  let nextOffset = lastEntry?.offset ?? segment.baseOffset;
  let firstHeader: BatchHeader | null = null;
  const result = await scanSegment(segment, {
    from,
    minBaseOffset: nextOffset,
    verifyCrc: true,
    onBatch: (header, position) => {
      if (position === from && lastEntry && header.baseOffset !== lastEntry.offset) throw new Error('index mismatch');
      if (position === 0) firstHeader = header;
      nextOffset = header.baseOffset + header.lastOffsetDelta + 1;
    },
  }).catch(() => null);
  if (!result || result.problem !== null) return false;
  if (nextBase !== null && nextOffset > nextBase) return false;
  const lastTime = segment.timeIndex.lastEntry;
  if (lastTime && lastTime.offset >= nextOffset) return false;
  segment.appendPosition = result.validEnd;
  segment.nextOffset = nextOffset;
  segment.bytesSinceLastIndexEntry = result.validEnd - from;
  if (segment.size > 0) {
    if (!firstHeader) {
      const head = await segment.read(0, BATCH_HEADER_SIZE);
      if (head.length < BATCH_HEADER_SIZE) return false;
      firstHeader = readBatchHeader(head);
    }
    segment.rollingBaseTimestamp = rollTimestampOf(firstHeader, now);
  }
  return true;
}

/**
 * Loads the newest usable producer snapshot at or below the log end, then replays the rest.
 * Segments whose aborted-transaction index is stale (missing file, or the segment was rescanned)
 * get it rebuilt on the way: the replay then starts from a snapshot at or below the first such
 * segment (or from the first segment), since a transaction's first offset can only be known by
 * replaying from before it.
 */
export async function loadProducerState(
  dir: string,
  segments: readonly LogSegment[],
  into: ProducerStateManager,
  startOffset: number,
  endOffset: number,
  logger: Logger,
): Promise<void> {
  // The replay goes into a fresh manager and fresh indexes, swapped in at the end in one step:
  // a truncation reloads while reads go on, and they must see the old state or the new one,
  // never a half-replayed one (found 10).
  const producers = new ProducerStateManager();
  const rebuilt = new Map<LogSegment, TxnIndex>();
  let rebuildFrom = Infinity;
  for (const segment of segments) {
    if (!segment.txnIndexStale) continue;
    rebuilt.set(segment, new TxnIndex());
    if (segment.size > 0 && segment.nextOffset > segment.baseOffset) rebuildFrom = Math.min(rebuildFrom, segment.baseOffset);
  }
  const snapshots = await listSnapshotOffsets(dir);
  let replayFrom = startOffset;
  for (const offset of snapshots.sort((a, b) => b - a)) {
    const file = offsetFilePath(dir, offset, SNAPSHOT_SUFFIX);
    if (offset > endOffset) {
      await fsp.rm(file, { force: true });
      continue;
    }
    if (offset > rebuildFrom) continue;
    const data = await fsp.readFile(file).catch(() => null);
    const loaded = data ? producers.loadSnapshot(data) : null;
    if (loaded === offset) {
      replayFrom = Math.max(offset, startOffset);
      break;
    }
    logger.warn({ file }, 'ignoring unreadable producer state snapshot');
    producers.clear();
    await fsp.rm(file, { force: true });
  }
  let replayed = 0;
  let indexed = 0;
  for (const segment of segments) {
    if (segment.nextOffset <= replayFrom || segment.size === 0) continue;
    const from = segment.baseOffset <= replayFrom ? await startPosition(segment, new ChunkedReader(segment, segment.size, BATCH_HEADER_SIZE), replayFrom) : 0;
    const rebuild = rebuilt.get(segment);
    const result = await scanSegment(segment, {
      from,
      minBaseOffset: 0,
      verifyCrc: false,
      readControlBatches: true,
      onBatch: (header, _position, _size, bytes) => {
        if (header.baseOffset + header.lastOffsetDelta < replayFrom) return;
        const marker = isControl(header.attributes) ? parseTxnMarker(bytes) : null;
        const applied = producers.apply(header, marker);
        replayed++;
        const completed = applied?.completed;
        if (rebuild && completed?.aborted) {
          rebuild.append({
            producerId: completed.producerId,
            firstOffset: completed.firstOffset,
            lastOffset: completed.lastOffset,
            lastStableOffset: producers.firstOngoingOffset() ?? completed.lastOffset + 1,
          });
          indexed++;
        }
      },
    });
    if (result.problem) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `cannot replay ${segment.logPath}: ${result.problem}`);
  }
  // From here to the end nothing awaits: the swap is atomic for readers.
  into.replaceWith(producers);
  for (const [segment, index] of rebuilt) segment.txnIndex = index;
  for (const segment of segments) segment.txnIndexStale = false;
  if (replayed > 0) logger.debug({ dir: dir, replayFrom, batches: replayed, abortedTxnsIndexed: indexed }, 'replayed producer state');
}
