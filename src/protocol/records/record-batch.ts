// Record batch (magic 2) header access. On the hot path a batch stays the bytes the producer
// sent: we read its 61-byte header, check it, and patch the few fields the broker owns.
import { crc32c } from '@node-rs/crc32';
import { ErrorCode, KafkaError } from '../errors.js';
import { readInt64, writeInt64 } from './int64.js';

/** Byte positions of the header fields. */
export const BatchField = {
  baseOffset: 0,
  batchLength: 8,
  partitionLeaderEpoch: 12,
  magic: 16,
  crc: 17,
  attributes: 21,
  lastOffsetDelta: 23,
  baseTimestamp: 27,
  maxTimestamp: 35,
  producerId: 43,
  producerEpoch: 51,
  baseSequence: 53,
  recordCount: 57,
  records: 61,
} as const;

export const BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the bytes not counted by batchLength. */
export const BATCH_LOG_OVERHEAD = 12;
/** Smallest legal batchLength (a header with no records). */
export const MIN_BATCH_LENGTH = BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD;
export const CURRENT_MAGIC = 2;
/** The CRC covers everything from the attributes to the end of the batch. */
export const CRC_START = BatchField.attributes;

export const NO_PRODUCER_ID = -1;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const NO_TIMESTAMP = -1;
export const NO_PARTITION_LEADER_EPOCH = -1;

export const Attribute = {
  compressionMask: 0x07,
  timestampTypeLogAppend: 0x08,
  transactional: 0x10,
  control: 0x20,
  deleteHorizon: 0x40,
} as const;

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** Reads the header of the batch starting at `pos` (the caller ensures 61 bytes are there). */
export function readBatchHeader(buf: Buffer, pos = 0): BatchHeader {
  return {
    baseOffset: readInt64(buf, pos + BatchField.baseOffset),
    batchLength: buf.readInt32BE(pos + BatchField.batchLength),
    partitionLeaderEpoch: buf.readInt32BE(pos + BatchField.partitionLeaderEpoch),
    magic: buf.readInt8(pos + BatchField.magic),
    crc: buf.readUInt32BE(pos + BatchField.crc),
    attributes: buf.readInt16BE(pos + BatchField.attributes),
    lastOffsetDelta: buf.readInt32BE(pos + BatchField.lastOffsetDelta),
    baseTimestamp: readInt64(buf, pos + BatchField.baseTimestamp),
    maxTimestamp: readInt64(buf, pos + BatchField.maxTimestamp),
    producerId: readInt64(buf, pos + BatchField.producerId),
    producerEpoch: buf.readInt16BE(pos + BatchField.producerEpoch),
    baseSequence: buf.readInt32BE(pos + BatchField.baseSequence),
    recordCount: buf.readInt32BE(pos + BatchField.recordCount),
  };
}

/** Total size in bytes of the batch whose header starts at `pos` (needs 12 bytes there). */
export function batchSizeAt(buf: Buffer, pos = 0): number {
  return buf.readInt32BE(pos + BatchField.batchLength) + BATCH_LOG_OVERHEAD;
}

export function lastOffsetOf(header: BatchHeader): number {
  return header.baseOffset + header.lastOffsetDelta;
}

export function compressionOf(attributes: number): number {
  return attributes & Attribute.compressionMask;
}

export function isTransactional(attributes: number): boolean {
  return (attributes & Attribute.transactional) !== 0;
}

export function isControl(attributes: number): boolean {
  return (attributes & Attribute.control) !== 0;
}

export function isLogAppendTime(attributes: number): boolean {
  return (attributes & Attribute.timestampTypeLogAppend) !== 0;
}

/** CRC32C over the CRC-covered range of the batch in `batch` (which holds exactly one batch). */
export function computeBatchCrc(batch: Buffer): number {
  return crc32c(batch.subarray(CRC_START)) >>> 0;
}

function corrupt(message: string): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, message);
}

export interface ValidateOptions {
  /**
   * Producer input must have lastOffsetDelta == recordCount - 1 and at least one record.
   * Batches read back from a log may have been compacted and are checked less strictly.
   */
  producerInput?: boolean;
  /** Check the CRC32C (default true); false when the caller has already done so. */
  verifyCrc?: boolean;
}

/**
 * Checks one batch held exactly by `buf`: size, batchLength, magic, CRC32C and counts.
 * Throws KafkaError(CORRUPT_MESSAGE) when it is not a well-formed v2 batch; returns its header.
 */
export function validateBatch(buf: Buffer, options: ValidateOptions = {}): BatchHeader {
  if (buf.length < BATCH_HEADER_SIZE) throw corrupt(`record batch of ${buf.length} bytes is smaller than its header`);
  const batchLength = buf.readInt32BE(BatchField.batchLength);
  if (batchLength + BATCH_LOG_OVERHEAD !== buf.length) {
    throw corrupt(`batchLength ${batchLength} does not match the ${buf.length} bytes of the batch`);
  }
  const magic = buf.readInt8(BatchField.magic);
  if (magic !== CURRENT_MAGIC) throw corrupt(`unsupported record batch magic ${magic}`);
  const header = readBatchHeader(buf);
  if (options.verifyCrc ?? true) {
    const actualCrc = computeBatchCrc(buf);
    if (actualCrc !== header.crc) {
      throw corrupt(`record batch CRC mismatch (stored ${header.crc}, computed ${actualCrc})`);
    }
  }
  if (header.lastOffsetDelta < 0) throw corrupt(`negative lastOffsetDelta ${header.lastOffsetDelta}`);
  if (header.recordCount < 0) throw corrupt(`negative record count ${header.recordCount}`);
  if (options.producerInput) {
    if (header.recordCount < 1) throw corrupt('record batch contains no records');
    if (header.lastOffsetDelta !== header.recordCount - 1) {
      throw corrupt(`lastOffsetDelta ${header.lastOffsetDelta} does not match record count ${header.recordCount}`);
    }
    if (compressionOf(header.attributes) > 4) {
      throw corrupt(`unknown compression type ${compressionOf(header.attributes)}`);
    }
  }
  return header;
}

export interface SplitOptions {
  /** When true (produce input), trailing bytes that do not form a whole batch are an error. */
  rejectPartialTail?: boolean;
}

/**
 * Iterates the concatenated batches in `buf` as zero-copy slices. Only the length framing is
 * checked here; call validateBatch on each slice. A trailing partial batch is CORRUPT_MESSAGE
 * when `rejectPartialTail` is set, and silently ignored otherwise (fetch responses may end in one).
 */
export function* splitBatches(buf: Buffer, options: SplitOptions = { rejectPartialTail: true }): Generator<Buffer> {
  let pos = 0;
  while (pos < buf.length) {
    const remaining = buf.length - pos;
    if (remaining < BATCH_LOG_OVERHEAD) {
      if (options.rejectPartialTail) throw corrupt(`${remaining} trailing bytes after the last record batch`);
      return;
    }
    const batchLength = buf.readInt32BE(pos + BatchField.batchLength);
    if (batchLength < MIN_BATCH_LENGTH) throw corrupt(`record batch length ${batchLength} is too small`);
    const size = batchLength + BATCH_LOG_OVERHEAD;
    if (size > remaining) {
      if (options.rejectPartialTail) throw corrupt(`record batch of ${size} bytes is truncated to ${remaining}`);
      return;
    }
    yield buf.subarray(pos, pos + size);
    pos += size;
  }
}

/** Splits and validates produce input; throws CORRUPT_MESSAGE on the first bad batch. */
export function validateProduceRecords(records: Buffer, options: { verifyCrc?: boolean } = {}): Array<{ bytes: Buffer; header: BatchHeader }> {
  const batches: Array<{ bytes: Buffer; header: BatchHeader }> = [];
  for (const bytes of splitBatches(records, { rejectPartialTail: true })) {
    batches.push({ bytes, header: validateBatch(bytes, { producerInput: true, verifyCrc: options.verifyCrc }) });
  }
  if (batches.length === 0) throw corrupt('produce request contains no record batch');
  return batches;
}

/** Writes the base offset (outside the CRC range, so the CRC stays valid). */
export function setBaseOffset(batch: Buffer, baseOffset: number): void {
  writeInt64(batch, baseOffset, BatchField.baseOffset);
}

/** Writes the partition leader epoch (outside the CRC range). */
export function setPartitionLeaderEpoch(batch: Buffer, epoch: number): void {
  batch.writeInt32BE(epoch, BatchField.partitionLeaderEpoch);
}

/**
 * Marks the batch as LogAppendTime with maxTimestamp = `timestamp` and recomputes the CRC.
 * Record timestamps are left alone: readers take maxTimestamp for every record of such a batch.
 */
export function stampLogAppendTime(batch: Buffer, timestamp: number): void {
  const attributes = batch.readInt16BE(BatchField.attributes);
  batch.writeInt16BE(attributes | Attribute.timestampTypeLogAppend, BatchField.attributes);
  writeInt64(batch, timestamp, BatchField.maxTimestamp);
  batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
}
