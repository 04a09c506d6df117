// Finding batches in segment files: fetch reads, and timestamp lookups that use the time index,
// then batch max timestamps, then the records of the winning batch.
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ChunkedReader } from './chunked-reader.js';
import type { BufferPool } from '../common/buffer-pool.js';
import { readInt64 } from '../protocol/records/int64.js';
import type { LogSegment } from './log-segment.js';
import { BATCH_HEADER_SIZE, BATCH_LOG_OVERHEAD, BatchField, BatchHeader, isLogAppendTime, MIN_BATCH_LENGTH, readBatchHeader } from '../protocol/records/record-batch.js';
import { decodeBatchRecordsAsync } from '../protocol/records/records.js';

export interface TimestampAndOffset {
  offset: number;
  timestamp: number;
}

const TIMESTAMP_SCAN_CHUNK = 64 * 1024;

/** Whole batches from one segment, null if none may be returned, 'next' if the offset is past it. */
export async function readSegmentBatches(
  segment: LogSegment,
  fetchOffset: number,
  maxBytes: number,
  limit: number,
  minOneBatch: boolean,
  indexIntervalBytes: number,
  pool?: BufferPool,
): Promise<Buffer | null | 'next'> {
  const end = segment.size;
  const reader = new ChunkedReader(segment, end, Math.max(maxBytes, 0) + indexIntervalBytes + BATCH_HEADER_SIZE, pool);
  let position = await startPosition(segment, reader, fetchOffset);
  // Skip the batches that end before the fetch offset.
  let batchSize = 0;
  let baseOffset = 0;
  for (;;) {
    // In memory after the first read: no await (a microtask and a promise per batch skipped).
    let header = reader.peek(position, BatchField.records);
    if (header === undefined) header = await reader.get(position, BatchField.records);
    if (!header) return 'next';
    batchSize = checkedBatchSize(header, segment, position);
    baseOffset = readInt64(header, BatchField.baseOffset);
    if (baseOffset + header.readInt32BE(BatchField.lastOffsetDelta) >= fetchOffset) break;
    position += batchSize;
  }
  if (baseOffset >= limit) return null;
  if (batchSize > maxBytes) {
    if (!minOneBatch) return null;
    return reader.get(position, batchSize);
  }
  // Take whole batches while they fit in maxBytes and start below the limit.
  const start = position;
  let stop = position;
  for (;;) {
    stop += batchSize;
    let header = reader.peek(stop, BatchField.records);
    if (header === undefined) header = await reader.get(stop, BatchField.records);
    if (!header) break;
    batchSize = checkedBatchSize(header, segment, stop);
    if (readInt64(header, BatchField.baseOffset) >= limit || stop + batchSize - start > maxBytes) break;
  }
  const records = reader.peek(start, stop - start);
  return records === undefined ? reader.get(start, stop - start) : records;
}

/**
 * Where a scan for `offset` starts in a segment: its offset index entry, checked against the
 * batch header found there (the chunk read serves the scan that follows, so this costs no I/O).
 * An entry that does not point at a batch starting at its offset means a damaged index: the scan
 * starts at the segment's beginning instead, never in the middle of a batch.
 */
export async function startPosition(segment: LogSegment, reader: ChunkedReader, offset: number): Promise<number> {
  // At the log end the newest batch is the place to start; a batch that is not there (the file
  // changed under the hint) only means the index is asked instead.
  const newest = segment.newestBatch(offset);
  if (newest) {
    const header = newest.position < reader.end ? await reader.get(newest.position, BATCH_HEADER_SIZE) : null;
    if (header && header.readInt8(BatchField.magic) === 2 && readInt64(header, BatchField.baseOffset) === newest.offset) return newest.position;
  }
  const entry = segment.indexLookup(offset);
  if (entry.position === 0) return 0;
  const header = entry.position < reader.end ? await reader.get(entry.position, BATCH_HEADER_SIZE) : null;
  if (header && header.readInt8(BatchField.magic) === 2 && readInt64(header, BatchField.baseOffset) === entry.offset) return entry.position;
  segment.markIndexDamaged();
  return 0;
}

function checkedBatchSize(header: Buffer, segment: LogSegment, position: number): number {
  const batchLength = header.readInt32BE(BatchField.batchLength);
  if (batchLength < MIN_BATCH_LENGTH) {
    throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `invalid batch length ${batchLength} in ${segment.logPath} at ${position}`);
  }
  return batchLength + BATCH_LOG_OVERHEAD;
}

/**
 * The first record (in offset order, from `startOffset` and below `limit`) whose timestamp is
 * ≥ `timestamp`, or null when there is none.
 */
export async function findOffsetForTimestamp(segments: readonly LogSegment[], timestamp: number, startOffset: number, limit: number): Promise<TimestampAndOffset | null> {
  for (const segment of segments) {
    if (segment.baseOffset >= limit) break;
    if (segment.maxTimestamp < timestamp) continue;
    const entry = segment.timeIndex.lookup(timestamp);
    const scanFrom = Math.max(entry?.offset ?? segment.baseOffset, startOffset);
    const reader = new ChunkedReader(segment, segment.size, TIMESTAMP_SCAN_CHUNK);
    let position = await startPosition(segment, reader, scanFrom);
    for (;;) {
      const header = await reader.get(position, BATCH_HEADER_SIZE);
      if (!header) break;
      const size = checkedBatchSize(header, segment, position);
      const batch = readBatchHeader(header);
      if (batch.baseOffset >= limit) return null;
      if (batch.maxTimestamp >= timestamp && batch.baseOffset + batch.lastOffsetDelta >= startOffset) {
        const found = await findRecord(startOffset, reader, position, size, batch, (t) => t >= timestamp);
        if (found) return found;
      }
      position += size;
    }
  }
  return null;
}

/** Kafka's MAX_TIMESTAMP: the first record with the largest timestamp; -1/-1 for an empty log. */
export async function findMaxTimestampOffset(segments: readonly LogSegment[], startOffset: number): Promise<TimestampAndOffset> {
  const none = { offset: -1, timestamp: -1 };
  let best: LogSegment | null = null;
  for (const segment of segments) {
    if (segment.size > 0 && (!best || segment.maxTimestamp > best.maxTimestamp)) best = segment;
  }
  if (!best || best.maxTimestamp < 0) return none;
  const segment = best;
  const reader = new ChunkedReader(segment, segment.size, TIMESTAMP_SCAN_CHUNK);
  let position = await startPosition(segment, reader, segment.offsetOfMaxTimestamp);
  for (;;) {
    const header = await reader.get(position, BATCH_HEADER_SIZE);
    if (!header) return none;
    const size = checkedBatchSize(header, segment, position);
    const batch = readBatchHeader(header);
    if (batch.maxTimestamp === segment.maxTimestamp) {
      const found = await findRecord(startOffset, reader, position, size, batch, (t) => t === segment.maxTimestamp);
      if (found) return found;
    }
    position += size;
  }
}

/** The first record of a batch whose timestamp satisfies `wanted`, decoding it if needed. */
async function findRecord(
  startOffset: number,
  reader: ChunkedReader,
  position: number,
  size: number,
  header: BatchHeader,
  wanted: (timestamp: number) => boolean,
): Promise<TimestampAndOffset | null> {
  if (isLogAppendTime(header.attributes)) {
    return wanted(header.maxTimestamp) ? { offset: Math.max(header.baseOffset, startOffset), timestamp: header.maxTimestamp } : null;
  }
  const bytes = await reader.get(position, size);
  if (!bytes) return null;
  for (const record of await decodeBatchRecordsAsync(bytes)) {
    if (record.offset >= startOffset && wanted(record.timestamp)) return { offset: record.offset, timestamp: record.timestamp };
  }
  return null;
}
