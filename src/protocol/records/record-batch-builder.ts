// Builds v2 record batches. Used by tests and by the broker itself wherever it writes records of
// its own (coordinator state, transaction markers).
import { compressSync, CompressionTypeValue, compressionTypeFromName, CompressionName } from './compression.js';
import { writeInt64 } from './int64.js';
import {
  Attribute,
  BATCH_HEADER_SIZE,
  BATCH_LOG_OVERHEAD,
  BatchField,
  computeBatchCrc,
  CURRENT_MAGIC,
  NO_PARTITION_LEADER_EPOCH,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  NO_SEQUENCE,
} from './record-batch.js';
import { encodeRecord } from './records.js';

export type BytesInput = Buffer | string | null | undefined;

export interface RecordInput {
  key?: BytesInput;
  value?: BytesInput;
  headers?: Array<{ key: string; value?: BytesInput }>;
  /** Absolute CreateTime timestamp in ms; defaults to the batch's baseTimestamp option or now. */
  timestamp?: number;
  /** Defaults to the record's index in the batch. */
  offsetDelta?: number;
}

export interface BuildBatchOptions {
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  compression?: CompressionTypeValue | CompressionName;
  /** LogAppendTime batches get maxTimestamp = logAppendTime (or now). */
  timestampType?: 'CreateTime' | 'LogAppendTime';
  logAppendTime?: number;
  /** Default timestamp for records that have none. */
  baseTimestamp?: number;
  transactional?: boolean;
  control?: boolean;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
}

function toBytes(input: BytesInput): Buffer | null {
  if (input === null || input === undefined) return null;
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
}

export interface BuildBatchSpec extends BuildBatchOptions {
  records: RecordInput[];
}

/**
 * Builds one batch holding the records (at least one), with a valid CRC:
 * `buildRecordBatch({ records, ...options })` or `buildRecordBatch(records, options)`.
 */
export function buildRecordBatch(spec: BuildBatchSpec): Buffer;
export function buildRecordBatch(records: RecordInput[], options?: BuildBatchOptions): Buffer;
export function buildRecordBatch(first: BuildBatchSpec | RecordInput[], second: BuildBatchOptions = {}): Buffer {
  const [records, options] = Array.isArray(first) ? [first, second] : [first.records, first];
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const now = Date.now();
  const defaultTimestamp = options.baseTimestamp ?? now;
  const timestamps = records.map((r) => r.timestamp ?? defaultTimestamp);
  const baseTimestamp = timestamps[0]!;
  let maxTimestamp = Math.max(...timestamps);
  const offsetDeltas = records.map((r, i) => r.offsetDelta ?? i);
  const lastOffsetDelta = Math.max(...offsetDeltas);

  const encoded = records.map((record, i) =>
    encodeRecord({
      offsetDelta: offsetDeltas[i]!,
      timestampDelta: timestamps[i]! - baseTimestamp,
      key: toBytes(record.key),
      value: toBytes(record.value),
      headers: (record.headers ?? []).map((h) => ({ key: Buffer.from(h.key, 'utf8'), value: toBytes(h.value) })),
    }),
  );
  const compression = typeof options.compression === 'string' ? compressionTypeFromName(options.compression) : (options.compression ?? 0);
  const section = compressSync(compression, Buffer.concat(encoded));

  let attributes = compression;
  if (options.timestampType === 'LogAppendTime') {
    attributes |= Attribute.timestampTypeLogAppend;
    maxTimestamp = options.logAppendTime ?? now;
  }
  if (options.transactional) attributes |= Attribute.transactional;
  if (options.control) attributes |= Attribute.control;

  const batch = Buffer.allocUnsafe(BATCH_HEADER_SIZE + section.length);
  writeInt64(batch, options.baseOffset ?? 0, BatchField.baseOffset);
  batch.writeInt32BE(batch.length - BATCH_LOG_OVERHEAD, BatchField.batchLength);
  batch.writeInt32BE(options.partitionLeaderEpoch ?? NO_PARTITION_LEADER_EPOCH, BatchField.partitionLeaderEpoch);
  batch.writeInt8(CURRENT_MAGIC, BatchField.magic);
  batch.writeInt16BE(attributes, BatchField.attributes);
  batch.writeInt32BE(lastOffsetDelta, BatchField.lastOffsetDelta);
  writeInt64(batch, baseTimestamp, BatchField.baseTimestamp);
  writeInt64(batch, maxTimestamp, BatchField.maxTimestamp);
  writeInt64(batch, options.producerId ?? NO_PRODUCER_ID, BatchField.producerId);
  batch.writeInt16BE(options.producerEpoch ?? NO_PRODUCER_EPOCH, BatchField.producerEpoch);
  batch.writeInt32BE(options.baseSequence ?? NO_SEQUENCE, BatchField.baseSequence);
  batch.writeInt32BE(records.length, BatchField.recordCount);
  section.copy(batch, BATCH_HEADER_SIZE);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
  return batch;
}

export type ControlRecordType = 'ABORT' | 'COMMIT';

export interface ControlBatchOptions {
  type: ControlRecordType;
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  timestamp?: number;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
}

/** Builds a transaction marker: a transactional control batch with one control record. */
export function buildControlBatch(options: ControlBatchOptions): Buffer {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0); // control record key version
  key.writeInt16BE(options.type === 'COMMIT' ? 1 : 0, 2);
  const value = Buffer.alloc(6);
  value.writeInt16BE(0, 0); // end transaction marker version
  value.writeInt32BE(options.coordinatorEpoch, 2);
  return buildRecordBatch([{ key, value, timestamp: options.timestamp }], {
    baseOffset: options.baseOffset,
    partitionLeaderEpoch: options.partitionLeaderEpoch,
    transactional: true,
    control: true,
    producerId: options.producerId,
    producerEpoch: options.producerEpoch,
    baseSequence: NO_SEQUENCE,
  });
}
