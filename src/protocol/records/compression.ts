// Codecs for the compressed records section of a batch. Off the hot path: used by the batch
// builder, the record decoder (timestamp lookups, compaction) and tests.
import { createRequire } from 'node:module';
import type * as Zlib from 'node:zlib';
import type * as Lz4 from 'lz4-napi';
import type * as Snappy from 'snappy';
import type * as Zstd from 'zstd-napi';
import { ErrorCode, KafkaError } from '../errors.js';

// The codecs are loaded on first use: each native one maps 5-11 MiB of native code, and a broker
// whose clients do not compress (or use gzip) never needs them (idle RSS: about 5 MiB less); even
// node's zlib binding costs an idle broker ~0.3 MiB.
const require = createRequire(import.meta.url);
let zlibModule: typeof Zlib | undefined;
let lz4Module: typeof Lz4 | undefined;
let snappyModule: typeof Snappy | undefined;
let zstdModule: typeof Zstd | undefined;
const codecs = {
  get zlib(): typeof Zlib {
    return (zlibModule ??= require('node:zlib') as typeof Zlib);
  },
  get lz4(): typeof Lz4 {
    return (lz4Module ??= require('lz4-napi') as typeof Lz4);
  },
  get snappy(): typeof Snappy {
    return (snappyModule ??= require('snappy') as typeof Snappy);
  },
  get zstd(): typeof Zstd {
    return (zstdModule ??= require('zstd-napi') as typeof Zstd);
  },
};

export const CompressionType = {
  NONE: 0,
  GZIP: 1,
  SNAPPY: 2,
  LZ4: 3,
  ZSTD: 4,
} as const;
export type CompressionTypeValue = (typeof CompressionType)[keyof typeof CompressionType];

/** The same values under codec-style names (`Codec.Snappy`), as a value and a type. */
export const Codec = {
  None: CompressionType.NONE,
  Gzip: CompressionType.GZIP,
  Snappy: CompressionType.SNAPPY,
  Lz4: CompressionType.LZ4,
  Zstd: CompressionType.ZSTD,
} as const;
export type Codec = CompressionTypeValue;

const NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionName = (typeof NAMES)[number];

export function compressionName(type: number): string {
  return NAMES[type] ?? `unknown(${type})`;
}

/** Maps a `compression.type` name ('gzip', 'lz4', ...) to its attribute value. */
export function compressionTypeFromName(name: string): CompressionTypeValue {
  const index = (NAMES as readonly string[]).indexOf(name.toLowerCase());
  if (index < 0) throw new RangeError(`unknown compression type '${name}'`);
  return index as CompressionTypeValue;
}

// --- xerial-framed snappy -------------------------------------------------------------------
// Java clients wrap snappy in the framing of snappy-java's SnappyOutputStream: an 8-byte magic,
// two int32 version numbers, then blocks, each an int32 compressed length and raw snappy bytes.

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = XERIAL_MAGIC.length + 8;
const XERIAL_VERSION = 1;
const XERIAL_COMPATIBLE_VERSION = 1;
/** Uncompressed bytes per block, as snappy-java's default. */
const XERIAL_BLOCK_SIZE = 32 * 1024;

export function isXerialSnappy(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_SIZE && data.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);
}

function xerialBlocks(data: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    if (pos + 4 > data.length) throw new Error('truncated xerial snappy block length');
    const length = data.readInt32BE(pos);
    pos += 4;
    if (length < 0 || pos + length > data.length) throw new Error('truncated xerial snappy block');
    blocks.push(data.subarray(pos, pos + length));
    pos += length;
  }
  return blocks;
}

function snappyUncompressRawSync(block: Buffer): Buffer {
  return codecs.snappy.uncompressSync(block, { asBuffer: true }) as Buffer;
}

function snappyDecompressSync(data: Buffer): Buffer {
  if (!isXerialSnappy(data)) return snappyUncompressRawSync(data);
  return Buffer.concat(xerialBlocks(data).map(snappyUncompressRawSync));
}

async function snappyDecompress(data: Buffer): Promise<Buffer> {
  if (!isXerialSnappy(data)) return (await codecs.snappy.uncompress(data, { asBuffer: true })) as Buffer;
  const blocks = await Promise.all(xerialBlocks(data).map(async (block) => (await codecs.snappy.uncompress(block, { asBuffer: true })) as Buffer));
  return Buffer.concat(blocks);
}

function snappyCompressXerialSync(data: Buffer): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, XERIAL_MAGIC.length);
  header.writeInt32BE(XERIAL_COMPATIBLE_VERSION, XERIAL_MAGIC.length + 4);
  const parts: Buffer[] = [header];
  for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK_SIZE) {
    const block = codecs.snappy.compressSync(data.subarray(pos, Math.min(pos + XERIAL_BLOCK_SIZE, data.length)));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

// --- compression bombs ------------------------------------------------------------------------
// Produce stores batches without decompressing them, so a client can store a few KB that inflate
// to gigabytes. Readers that must look inside a batch (timestamp lookups, the cleaner, consumers)
// refuse a section whose decompressed size can exceed this, with CORRUPT_MESSAGE, before
// allocating it. Real batches are far smaller (producers cap batches at about a MB).

/** The largest decompressed records section a reader accepts. */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/**
 * An upper bound of what an LZ4 frame sequence decompresses to, from its block headers (each
 * block holds at most the frame's block maximum size), or -1 when it does not parse (the codec
 * then reports the error).
 */
function lz4DecompressedBound(data: Buffer): number {
  let pos = 0;
  let bound = 0;
  while (pos < data.length) {
    if (pos + 7 > data.length) return -1;
    const magic = data.readUInt32LE(pos);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // skippable frame
      if (pos + 8 > data.length) return -1;
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== 0x184d2204) return -1;
    const flg = data[pos + 4]!;
    const bd = data[pos + 5]!;
    const maxBlock = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024][(bd >> 4) & 7]!;
    if (maxBlock === 0) return -1;
    pos += 6 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0) + 1;
    for (;;) {
      if (pos + 4 > data.length) return -1;
      const word = data.readUInt32LE(pos);
      pos += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      bound += word & 0x80000000 ? size : maxBlock;
      pos += size + (flg & 0x10 ? 4 : 0);
    }
    pos += flg & 0x04 ? 4 : 0;
  }
  return bound;
}

/**
 * An upper bound of what a zstd frame sequence decompresses to, from its block headers (a
 * compressed block holds at most 128 KiB, raw and RLE blocks say their size), or -1 when it does
 * not parse.
 */
function zstdDecompressedBound(data: Buffer): number {
  let pos = 0;
  let bound = 0;
  while (pos < data.length) {
    if (pos + 4 > data.length) return -1;
    const magic = data.readUInt32LE(pos);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      if (pos + 8 > data.length) return -1;
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== 0xfd2fb528 || pos + 5 > data.length) return -1;
    const fhd = data[pos + 4]!;
    const singleSegment = (fhd >> 5) & 1;
    const fcsSize = [singleSegment ? 1 : 0, 2, 4, 8][fhd >> 6]!;
    const dictIdSize = [0, 1, 2, 4][fhd & 3]!;
    pos += 5 + (singleSegment ? 0 : 1) + dictIdSize + fcsSize;
    for (;;) {
      if (pos + 3 > data.length) return -1;
      const header = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
      pos += 3;
      const last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 0) {
        bound += size;
        pos += size;
      } else if (type === 1) {
        bound += size;
        pos += 1;
      } else if (type === 2) {
        bound += 128 * 1024;
        pos += size;
      } else return -1;
      if (last) break;
    }
    pos += fhd & 0x04 ? 4 : 0;
  }
  return bound;
}

/** A raw snappy block starts with its uncompressed length as a varint. */
function snappyRawLength(block: Buffer): number {
  let value = 0;
  for (let i = 0; i < 5 && i < block.length; i++) {
    value += (block[i]! & 0x7f) * 2 ** (7 * i);
    if ((block[i]! & 0x80) === 0) return value;
  }
  return -1;
}

function snappyDecompressedBound(data: Buffer): number {
  if (!isXerialSnappy(data)) return snappyRawLength(data);
  let bound = 0;
  for (const block of xerialBlocks(data)) bound += Math.max(0, snappyRawLength(block));
  return bound;
}

function tooLarge(type: number, bound: number, maxBytes: number): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, `${compressionName(type)} records decompress to ${bound} bytes or more, past the limit of ${maxBytes}`);
}

/** Refuses, before decompressing, a section whose decompressed size can exceed maxBytes (gzip is bounded while inflating). */
function checkBound(type: number, data: Buffer, maxBytes: number): void {
  let bound = -1;
  try {
    // gzip's trailer states the (last member's) size mod 2^32: an honest bomb is refused without
    // inflating it, a lying one is stopped by maxOutputLength.
    if (type === CompressionType.GZIP) bound = data.length >= 18 ? data.readUInt32LE(data.length - 4) : -1;
    else if (type === CompressionType.LZ4) bound = lz4DecompressedBound(data);
    else if (type === CompressionType.ZSTD) bound = zstdDecompressedBound(data);
    else if (type === CompressionType.SNAPPY) bound = snappyDecompressedBound(data);
  } catch {
    bound = -1; // malformed framing: the codec reports it
  }
  if (bound > maxBytes) throw tooLarge(type, bound, maxBytes);
}

function gzipLimitError(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ERR_BUFFER_TOO_LARGE';
}

// --- dispatch ---------------------------------------------------------------------------------

function decodeFailure(type: number, err: unknown): KafkaError {
  const reason = err instanceof Error ? err.message : String(err);
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, `cannot decompress ${compressionName(type)} records: ${reason}`);
}

function unknownType(type: number): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, `unknown compression type ${type}`);
}

/** Compresses a records section. Snappy output is xerial-framed, LZ4 is the LZ4 frame format. */
export function compressSync(type: number, data: Buffer): Buffer {
  switch (type) {
    case CompressionType.NONE:
      return data;
    case CompressionType.GZIP:
      return codecs.zlib.gzipSync(data);
    case CompressionType.SNAPPY:
      return snappyCompressXerialSync(data);
    case CompressionType.LZ4:
      return codecs.lz4.compressFrameSync(data);
    case CompressionType.ZSTD:
      return codecs.zstd.compress(data);
    default:
      throw new RangeError(`unknown compression type ${type}`);
  }
}

/** Decompresses a records section; throws KafkaError(CORRUPT_MESSAGE) on malformed input. */
export function decompressSync(type: number, data: Buffer, maxBytes = MAX_DECOMPRESSED_BYTES): Buffer {
  if (type === CompressionType.NONE) return data;
  if (type < 0 || type > CompressionType.ZSTD) throw unknownType(type);
  checkBound(type, data, maxBytes);
  try {
    switch (type) {
      case CompressionType.GZIP:
        return codecs.zlib.gunzipSync(data, { maxOutputLength: maxBytes });
      case CompressionType.SNAPPY:
        return snappyDecompressSync(data);
      case CompressionType.LZ4:
        return codecs.lz4.decompressFrameSync(data);
      default:
        return codecs.zstd.decompress(data);
    }
  } catch (err) {
    if (gzipLimitError(err)) throw tooLarge(type, maxBytes + 1, maxBytes);
    throw decodeFailure(type, err);
  }
}

function gzipAsync(data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => codecs.zlib.gzip(data, (err, out) => (err ? reject(err) : resolve(out))));
}

function gunzipAsync(data: Buffer, options: Zlib.ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => codecs.zlib.gunzip(data, options, (err, out) => (err ? reject(err) : resolve(out))));
}

/** Like compressSync, but off the event loop where the codec allows it. */
export async function compress(type: number, data: Buffer): Promise<Buffer> {
  switch (type) {
    case CompressionType.GZIP:
      return gzipAsync(data);
    case CompressionType.LZ4:
      return codecs.lz4.compressFrame(data);
    default:
      return compressSync(type, data);
  }
}

/** Like decompressSync, but off the event loop where the codec allows it (zstd stays synchronous). */
/**
 * Asynchronous decompressions run at most this many at a time: concurrent readers (timestamp
 * lookups on many connections, the cleaner) then hold at most this many sections of up to
 * MAX_DECOMPRESSED_BYTES, instead of one each.
 */
const MAX_CONCURRENT_DECOMPRESSIONS = 2;
let decompressing = 0;
const waitingForSlot: Array<() => void> = [];

async function withDecompressionSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (decompressing < MAX_CONCURRENT_DECOMPRESSIONS) decompressing++;
  else await new Promise<void>((resolve) => waitingForSlot.push(resolve)); // the slot is handed over
  try {
    return await fn();
  } finally {
    const next = waitingForSlot.shift();
    if (next) next();
    else decompressing--;
  }
}

export async function decompress(type: number, data: Buffer, maxBytes = MAX_DECOMPRESSED_BYTES): Promise<Buffer> {
  if (type === CompressionType.NONE) return data;
  if (type < 0 || type > CompressionType.ZSTD) throw unknownType(type);
  checkBound(type, data, maxBytes);
  return withDecompressionSlot(() => decompressBounded(type, data, maxBytes));
}

async function decompressBounded(type: number, data: Buffer, maxBytes: number): Promise<Buffer> {
  try {
    switch (type) {
      case CompressionType.GZIP:
        return await gunzipAsync(data, { maxOutputLength: maxBytes });
      case CompressionType.SNAPPY:
        return await snappyDecompress(data);
      case CompressionType.LZ4:
        return await codecs.lz4.decompressFrame(data);
      default:
        return codecs.zstd.decompress(data);
    }
  } catch (err) {
    if (gzipLimitError(err)) throw tooLarge(type, maxBytes + 1, maxBytes);
    throw decodeFailure(type, err);
  }
}
