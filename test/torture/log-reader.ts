// The torture's independent reader: raw ListOffsets and Fetch requests, and a record batch decoder
// written here from the Kafka v2 format description rather than taken from src/storage, so a bug in
// the broker's own batch code cannot hide itself from the check (it checks CRC32C itself too).
import { crc32c } from '@node-rs/crc32';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { RawClient } from '../helpers/raw-client.js';
import { fetchOne } from '../helpers/requests.js';

export interface ReadRecord {
  offset: number;
  key: string | null;
  value: string | null;
  /** Header key → value (the last one wins). */
  headers: Record<string, string | null>;
}

export interface PartitionContents {
  logStartOffset: number;
  highWatermark: number;
  records: ReadRecord[];
  /** Batches seen (empty ones included: the cleaner keeps a producer's last batch with no records). */
  batches: number;
}

export const API = { Produce: 0, Fetch: 1, ListOffsets: 2, OffsetCommit: 8, OffsetFetch: 9, CreateTopics: 19, InitProducerId: 22 } as const;

/** Unsigned varint from `buf` at `pos`; returns [value, next position]. */
function uvarint(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new Error('varint runs past the end');
    const b = buf[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, pos];
    shift += 7;
  }
  throw new Error('varint longer than 10 bytes');
}

/** Zig-zag varint (Kafka's record fields). */
function varint(buf: Buffer, pos: number): [number, number] {
  const [u, next] = uvarint(buf, pos);
  return [u % 2 === 0 ? u / 2 : -(u + 1) / 2, next];
}

function rawField(buf: Buffer, pos: number): [Buffer | null, number] {
  const [len, next] = varint(buf, pos);
  if (len < 0) return [null, next];
  if (next + len > buf.length) throw new Error('record field runs past the end');
  return [buf.subarray(next, next + len), next + len];
}

function bytesField(buf: Buffer, pos: number): [string | null, number] {
  const [raw, next] = rawField(buf, pos);
  return [raw === null ? null : raw.toString('utf8'), next];
}

/** One batch as the reader saw it (what a read_committed consumer needs to drop aborted data). */
export interface ReadBatch {
  baseOffset: number;
  /** lastOffset + 1 */
  nextOffset: number;
  producerId: number;
  transactional: boolean;
  /** For a control batch, its marker: 0 ABORT, 1 COMMIT. */
  controlType: number | null;
  records: ReadRecord[];
}

/**
 * Decodes whole, uncompressed magic-2 batches. A trailing partial batch is ignored (fetch may cut
 * one); anything else malformed — bad magic, bad CRC, compression, records past their batch — throws.
 */
export function decodeBatches(data: Buffer): { records: ReadRecord[]; nextOffset: number | null; batches: number; list: ReadBatch[] } {
  const records: ReadRecord[] = [];
  const list: ReadBatch[] = [];
  let pos = 0;
  let nextOffset: number | null = null;
  let batches = 0;
  while (pos + 12 <= data.length) {
    const baseOffset = Number(data.readBigInt64BE(pos));
    const length = data.readInt32BE(pos + 8);
    if (pos + 12 + length > data.length) break;
    const batch = data.subarray(pos, pos + 12 + length);
    if (batch[16] !== 2) throw new Error(`batch at ${baseOffset}: magic ${batch[16]}`);
    const crc = batch.readUInt32BE(17);
    if (crc32c(batch.subarray(21)) !== crc) throw new Error(`batch at ${baseOffset}: CRC mismatch`);
    const attributes = batch.readInt16BE(21);
    if ((attributes & 0x07) !== 0) throw new Error(`batch at ${baseOffset}: compressed (codec ${attributes & 7}); the torture produces none`);
    const lastOffsetDelta = batch.readInt32BE(23);
    const count = batch.readInt32BE(57);
    const control = (attributes & 0x20) !== 0;
    const info: ReadBatch = {
      baseOffset,
      nextOffset: baseOffset + lastOffsetDelta + 1,
      producerId: Number(batch.readBigInt64BE(43)),
      transactional: (attributes & 0x10) !== 0,
      controlType: null,
      records: [],
    };
    let p = 61;
    for (let i = 0; i < count; i++) {
      const [len, afterLen] = varint(batch, p);
      const end = afterLen + len;
      if (len < 0 || end > batch.length) throw new Error(`batch at ${baseOffset}: record ${i} runs past the batch`);
      p = afterLen + 1; // attributes
      [, p] = varint(batch, p); // timestamp delta
      let offsetDelta: number;
      [offsetDelta, p] = varint(batch, p);
      let keyBytes: Buffer | null;
      let value: string | null;
      [keyBytes, p] = rawField(batch, p);
      [value, p] = bytesField(batch, p);
      const key = keyBytes === null ? null : keyBytes.toString('utf8');
      if (control && i === 0 && keyBytes && keyBytes.length >= 4) info.controlType = keyBytes.readInt16BE(2);
      let headerCount: number;
      [headerCount, p] = varint(batch, p);
      const headers: Record<string, string | null> = {};
      for (let h = 0; h < headerCount; h++) {
        let name: string | null;
        let text: string | null;
        [name, p] = bytesField(batch, p);
        [text, p] = bytesField(batch, p);
        headers[name ?? ''] = text;
      }
      if (p !== end) throw new Error(`batch at ${baseOffset}: record ${i} length ${len} does not match its fields`);
      const record = { offset: baseOffset + offsetDelta, key, value, headers };
      info.records.push(record);
      // Control records (transaction markers) are not data.
      if (!control) records.push(record);
    }
    if (p !== batch.length) throw new Error(`batch at ${baseOffset}: ${batch.length - p} bytes after the records`);
    nextOffset = baseOffset + lastOffsetDelta + 1;
    list.push(info);
    batches++;
    pos += 12 + length;
  }
  return { records, nextOffset, batches, list };
}

export class KafkaRequestError extends Error {
  constructor(
    readonly code: number,
    what: string,
  ) {
    super(`${what}: ${errorName(code)}`);
  }
}

/**
 * ListOffsets for one partition: -2 earliest (log start), -1 latest (the high watermark, or with
 * isolation level 1, read_committed, the last stable offset).
 */
export async function listOffset(client: RawClient, topic: string, partition: number, timestamp: -1 | -2, isolationLevel = 0): Promise<number> {
  const res = await client.request(API.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel,
    timeoutMs: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
  });
  const p = res.body.topics[0].partitions[0];
  if (p.errorCode !== ErrorCode.NONE) throw new KafkaRequestError(p.errorCode, `ListOffsets ${topic}-${partition}`);
  return Number(p.offset);
}

/** Everything a partition holds from its log start to its high watermark, by raw Fetch v12. */
export async function readPartition(client: RawClient, topic: string, partition: number, maxFetches = 100_000): Promise<PartitionContents> {
  const logStartOffset = await listOffset(client, topic, partition, -2);
  const highWatermark = await listOffset(client, topic, partition, -1);
  const records: ReadRecord[] = [];
  let batches = 0;
  let offset = logStartOffset;
  for (let i = 0; offset < highWatermark; i++) {
    if (i >= maxFetches) throw new Error(`${topic}-${partition}: still below the high watermark after ${maxFetches} fetches`);
    const res = await client.request(API.Fetch, 12, fetchOne(topic, partition, offset, { maxBytes: 1024 * 1024 }));
    const p = res.body.responses[0].partitions[0];
    if (p.errorCode !== ErrorCode.NONE) throw new KafkaRequestError(p.errorCode, `Fetch ${topic}-${partition} at ${offset}`);
    const decoded = decodeBatches(p.records ?? Buffer.alloc(0));
    if (decoded.nextOffset === null || decoded.nextOffset <= offset) {
      throw new Error(`${topic}-${partition}: a fetch at ${offset} (high watermark ${highWatermark}) returned no batch`);
    }
    for (const r of decoded.records) if (r.offset >= offset && r.offset < highWatermark) records.push(r);
    batches += decoded.batches;
    offset = decoded.nextOffset;
  }
  return { logStartOffset, highWatermark, records, batches };
}
