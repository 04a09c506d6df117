// Encoding and decoding of the individual records inside a v2 batch. Not used on the produce or
// fetch hot path: only where the broker must look inside a batch (timestamp lookups, compaction,
// coordinator state, tests).
import { ErrorCode, KafkaError } from '../errors.js';
import { decompress, decompressSync } from './compression.js';
import { BATCH_HEADER_SIZE, BatchHeader, compressionOf, isLogAppendTime, readBatchHeader } from './record-batch.js';
import { Reader, Writer } from '../primitives.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface DecodedRecord {
  /** Absolute offset: batch base offset + offsetDelta. */
  offset: number;
  /** Effective timestamp: the batch maxTimestamp for LogAppendTime batches, else base + delta. */
  timestamp: number;
  attributes: number;
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** The fields a record carries on the wire (everything but the length prefix). */
export interface RecordFields {
  attributes?: number;
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: Buffer; value: Buffer | null }>;
}

/** Encodes one record, length prefix included. */
export function encodeRecord(record: RecordFields): Buffer {
  const w = new Writer(64 + (record.key?.length ?? 0) + (record.value?.length ?? 0));
  w.int8(record.attributes ?? 0);
  w.varlong(record.timestampDelta);
  w.varint(record.offsetDelta);
  writeBytesField(w, record.key);
  writeBytesField(w, record.value);
  w.varint(record.headers.length);
  for (const header of record.headers) {
    writeBytesField(w, header.key);
    writeBytesField(w, header.value);
  }
  const body = w.finish();
  const out = new Writer(body.length + 5);
  out.varint(body.length);
  out.raw(body);
  return out.finish();
}

function writeBytesField(w: Writer, bytes: Buffer | null): void {
  if (bytes === null) {
    w.varint(-1);
    return;
  }
  w.varint(bytes.length);
  w.raw(bytes);
}

function corrupt(message: string): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, message);
}

/** A varint-length byte field inside a record; -1 is null. Slices, never copies. */
function readBytesField(r: Reader): Buffer | null {
  const length = r.varint();
  return length < 0 ? null : r.raw(length);
}

/**
 * Decodes `count` records from an (already decompressed) records section, using the header for
 * offsets and timestamps. Key, value and header values are slices of `data`, not copies.
 */
export function decodeRecordsSection(data: Buffer, header: BatchHeader): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  const logAppendTime = isLogAppendTime(header.attributes);
  const r = new Reader(data);
  try {
    for (let i = 0; i < header.recordCount; i++) {
      const length = r.varint();
      if (length < 1 || length > r.remaining) throw corrupt(`record ${i} of length ${length} is truncated`);
      // Bound every field read to this record's own bytes.
      const outer = r.limit(length);
      const attributes = r.int8();
      const timestampDelta = r.varlong();
      const offsetDelta = r.varint();
      const key = readBytesField(r);
      const value = readBytesField(r);
      const headerCount = r.varint();
      if (headerCount < 0) throw corrupt(`negative header count in record ${i}`);
      const headers: RecordHeader[] = [];
      for (let h = 0; h < headerCount; h++) {
        const headerKey = readBytesField(r);
        if (headerKey === null) throw corrupt(`null header key in record ${i}`);
        headers.push({ key: headerKey.toString('utf8'), value: readBytesField(r) });
      }
      if (r.remaining !== 0) throw corrupt(`record ${i} has ${r.remaining} unexpected trailing bytes`);
      r.unlimit(outer);
      records.push({
        offset: header.baseOffset + offsetDelta,
        timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta,
        attributes,
        offsetDelta,
        timestampDelta,
        key,
        value,
        headers,
      });
    }
  } catch (err) {
    if (err instanceof KafkaError) throw err;
    throw corrupt(`malformed record: ${(err as Error).message}`);
  }
  return records;
}

/** Decodes every record of the single batch in `batch`, decompressing synchronously if needed. */
export function decodeBatchRecords(batch: Buffer): DecodedRecord[] {
  const header = readBatchHeader(batch);
  const section = decompressSync(compressionOf(header.attributes), batch.subarray(BATCH_HEADER_SIZE));
  return decodeRecordsSection(section, header);
}

/** Like decodeBatchRecords, decompressing off the event loop where the codec allows it. */
export async function decodeBatchRecordsAsync(batch: Buffer): Promise<DecodedRecord[]> {
  const header = readBatchHeader(batch);
  const section = await decompress(compressionOf(header.attributes), batch.subarray(BATCH_HEADER_SIZE));
  return decodeRecordsSection(section, header);
}
