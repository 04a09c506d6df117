// Encoding and decoding of the individual records inside a v2 batch. Not used on the produce or
// fetch hot path: only where the broker must look inside a batch (timestamp lookups, compaction,
// coordinator state, tests).
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { decompress, decompressSync } from './compression.js';
import { BATCH_HEADER_SIZE, BatchHeader, compressionOf, isLogAppendTime, readBatchHeader } from './record-batch.js';
import { readVarint, readVarlong, sizeOfVarint, sizeOfVarlong, writeVarint, writeVarlong } from './varint.js';

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

function sizeOfBytesField(bytes: Buffer | null): number {
  return bytes === null ? sizeOfVarint(-1) : sizeOfVarint(bytes.length) + bytes.length;
}

/** Encodes one record, length prefix included. */
export function encodeRecord(record: RecordFields): Buffer {
  let bodySize =
    1 +
    sizeOfVarlong(record.timestampDelta) +
    sizeOfVarint(record.offsetDelta) +
    sizeOfBytesField(record.key) +
    sizeOfBytesField(record.value) +
    sizeOfVarint(record.headers.length);
  for (const header of record.headers) bodySize += sizeOfBytesField(header.key) + sizeOfBytesField(header.value);
  const out = Buffer.allocUnsafe(sizeOfVarint(bodySize) + bodySize);
  let pos = writeVarint(out, bodySize, 0);
  out.writeInt8(record.attributes ?? 0, pos++);
  pos = writeVarlong(out, record.timestampDelta, pos);
  pos = writeVarint(out, record.offsetDelta, pos);
  pos = writeBytesField(out, record.key, pos);
  pos = writeBytesField(out, record.value, pos);
  pos = writeVarint(out, record.headers.length, pos);
  for (const header of record.headers) {
    pos = writeBytesField(out, header.key, pos);
    pos = writeBytesField(out, header.value, pos);
  }
  return out;
}

function writeBytesField(out: Buffer, bytes: Buffer | null, pos: number): number {
  if (bytes === null) return writeVarint(out, -1, pos);
  pos = writeVarint(out, bytes.length, pos);
  bytes.copy(out, pos);
  return pos + bytes.length;
}

function corrupt(message: string): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, message);
}

function readBytesField(data: Buffer, pos: number, end: number): { bytes: Buffer | null; next: number } {
  const length = readVarint(data, pos);
  if (length.value < 0) return { bytes: null, next: length.next };
  const stop = length.next + length.value;
  if (stop > end) throw corrupt('record field runs past the end of its record');
  return { bytes: data.subarray(length.next, stop), next: stop };
}

/**
 * Decodes `count` records from an (already decompressed) records section, using the header for
 * offsets and timestamps. Key, value and header values are slices of `data`, not copies.
 */
export function decodeRecordsSection(data: Buffer, header: BatchHeader): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  const logAppendTime = isLogAppendTime(header.attributes);
  let pos = 0;
  try {
    for (let i = 0; i < header.recordCount; i++) {
      const length = readVarint(data, pos);
      const end = length.next + length.value;
      if (length.value < 1 || end > data.length) throw corrupt(`record ${i} of length ${length.value} is truncated`);
      pos = length.next;
      const attributes = data.readInt8(pos++);
      const timestampDelta = readVarlong(data, pos);
      const offsetDelta = readVarint(data, timestampDelta.next);
      const key = readBytesField(data, offsetDelta.next, end);
      const value = readBytesField(data, key.next, end);
      const headerCount = readVarint(data, value.next);
      if (headerCount.value < 0) throw corrupt(`negative header count in record ${i}`);
      pos = headerCount.next;
      const headers: RecordHeader[] = [];
      for (let h = 0; h < headerCount.value; h++) {
        const headerKey = readBytesField(data, pos, end);
        if (headerKey.bytes === null) throw corrupt(`null header key in record ${i}`);
        const headerValue = readBytesField(data, headerKey.next, end);
        headers.push({ key: headerKey.bytes.toString('utf8'), value: headerValue.bytes });
        pos = headerValue.next;
      }
      if (pos !== end) throw corrupt(`record ${i} has ${end - pos} unexpected trailing bytes`);
      records.push({
        offset: header.baseOffset + offsetDelta.value,
        timestamp: logAppendTime ? header.maxTimestamp : header.baseTimestamp + timestampDelta.value,
        attributes,
        offsetDelta: offsetDelta.value,
        timestampDelta: timestampDelta.value,
        key: key.bytes,
        value: value.bytes,
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
