// Walks the batches of a segment file from a position, checking each one (length, magic, CRC,
// increasing offsets). Used by recovery and index rebuilds, which stop at the first bad batch.
import { ChunkedReader } from './chunked-reader.js';
import type { LogSegment } from './log-segment.js';
import {
  BATCH_LOG_OVERHEAD,
  BatchField,
  BatchHeader,
  computeBatchCrc,
  CURRENT_MAGIC,
  isControl,
  MIN_BATCH_LENGTH,
  readBatchHeader,
} from '../protocol/records/record-batch.js';

export const SCAN_CHUNK_BYTES = 1024 * 1024;

export interface ScanResult {
  /** Position just after the last good batch. */
  validEnd: number;
  /** Why the scan stopped before the end of the file, or null if every byte was good. */
  problem: string | null;
  batches: number;
}

export interface ScanOptions {
  from: number;
  /** The first batch must start at or above this offset. */
  minBaseOffset: number;
  /** Check CRCs (recovery) or only the framing (replaying known-good data). */
  verifyCrc: boolean;
  /** Read control batches whole (producer state replay needs their marker record). */
  readControlBatches?: boolean;
  /** `bytes` holds at least the header; the whole batch when verifyCrc or for a control batch with readControlBatches. */
  onBatch?: (header: BatchHeader, position: number, size: number, bytes: Buffer) => void;
}

export async function scanSegment(segment: LogSegment, options: ScanOptions): Promise<ScanResult> {
  const reader = new ChunkedReader(segment, segment.size, SCAN_CHUNK_BYTES);
  let position = options.from;
  let minBaseOffset = options.minBaseOffset;
  let batches = 0;
  const stop = (problem: string): ScanResult => ({ validEnd: position, problem, batches });
  while (position < reader.end) {
    const framing = await reader.get(position, BATCH_LOG_OVERHEAD);
    if (!framing) return stop(`torn batch header (${reader.end - position} bytes) at position ${position}`);
    const batchLength = framing.readInt32BE(BatchField.batchLength);
    if (batchLength < MIN_BATCH_LENGTH) return stop(`invalid batch length ${batchLength} at position ${position}`);
    const size = batchLength + BATCH_LOG_OVERHEAD;
    if (position + size > reader.end) {
      return stop(`torn batch at position ${position}: ${reader.end - position} of ${size} bytes present`);
    }
    let bytes = options.verifyCrc ? await reader.get(position, size) : await reader.get(position, BatchField.records);
    if (!bytes) return stop(`cannot read batch at position ${position}`);
    if (!options.verifyCrc && options.readControlBatches && isControl(bytes.readInt16BE(BatchField.attributes))) {
      bytes = await reader.get(position, size);
      if (!bytes) return stop(`cannot read batch at position ${position}`);
    }
    const header = readBatchHeader(bytes);
    if (header.magic !== CURRENT_MAGIC) return stop(`invalid magic ${header.magic} at position ${position}`);
    if (options.verifyCrc && computeBatchCrc(bytes) !== header.crc) return stop(`CRC mismatch at position ${position}`);
    if (header.lastOffsetDelta < 0) return stop(`invalid lastOffsetDelta at position ${position}`);
    if (header.baseOffset < minBaseOffset) {
      return stop(`batch offset ${header.baseOffset} at position ${position} is below the expected ${minBaseOffset}`);
    }
    options.onBatch?.(header, position, size, bytes);
    batches++;
    minBaseOffset = header.baseOffset + header.lastOffsetDelta + 1;
    position += size;
  }
  return { validEnd: position, problem: null, batches };
}
