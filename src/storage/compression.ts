// Codecs for the compressed records section of a batch. Off the hot path: used by the batch
// builder, the record decoder (timestamp lookups, compaction) and tests.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import * as lz4 from 'lz4-napi';
import * as snappy from 'snappy';
import * as zstd from 'zstd-napi';
import { ErrorCode, KafkaError } from '../protocol/errors.js';

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
  return snappy.uncompressSync(block, { asBuffer: true }) as Buffer;
}

function snappyDecompressSync(data: Buffer): Buffer {
  if (!isXerialSnappy(data)) return snappyUncompressRawSync(data);
  return Buffer.concat(xerialBlocks(data).map(snappyUncompressRawSync));
}

async function snappyDecompress(data: Buffer): Promise<Buffer> {
  if (!isXerialSnappy(data)) return (await snappy.uncompress(data, { asBuffer: true })) as Buffer;
  const blocks = await Promise.all(
    xerialBlocks(data).map(async (block) => (await snappy.uncompress(block, { asBuffer: true })) as Buffer),
  );
  return Buffer.concat(blocks);
}

function snappyCompressXerialSync(data: Buffer): Buffer {
  const header = Buffer.alloc(XERIAL_HEADER_SIZE);
  XERIAL_MAGIC.copy(header, 0);
  header.writeInt32BE(XERIAL_VERSION, XERIAL_MAGIC.length);
  header.writeInt32BE(XERIAL_COMPATIBLE_VERSION, XERIAL_MAGIC.length + 4);
  const parts: Buffer[] = [header];
  for (let pos = 0; pos < data.length; pos += XERIAL_BLOCK_SIZE) {
    const block = snappy.compressSync(data.subarray(pos, Math.min(pos + XERIAL_BLOCK_SIZE, data.length)));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length, 0);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
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
      return zlib.gzipSync(data);
    case CompressionType.SNAPPY:
      return snappyCompressXerialSync(data);
    case CompressionType.LZ4:
      return lz4.compressFrameSync(data);
    case CompressionType.ZSTD:
      return zstd.compress(data);
    default:
      throw new RangeError(`unknown compression type ${type}`);
  }
}

/** Decompresses a records section; throws KafkaError(CORRUPT_MESSAGE) on malformed input. */
export function decompressSync(type: number, data: Buffer): Buffer {
  if (type === CompressionType.NONE) return data;
  if (type < 0 || type > CompressionType.ZSTD) throw unknownType(type);
  try {
    switch (type) {
      case CompressionType.GZIP:
        return zlib.gunzipSync(data);
      case CompressionType.SNAPPY:
        return snappyDecompressSync(data);
      case CompressionType.LZ4:
        return lz4.decompressFrameSync(data);
      default:
        return zstd.decompress(data);
    }
  } catch (err) {
    throw decodeFailure(type, err);
  }
}

const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

/** Like compressSync, but off the event loop where the codec allows it. */
export async function compress(type: number, data: Buffer): Promise<Buffer> {
  switch (type) {
    case CompressionType.GZIP:
      return gzipAsync(data);
    case CompressionType.LZ4:
      return lz4.compressFrame(data);
    default:
      return compressSync(type, data);
  }
}

/** Like decompressSync, but off the event loop where the codec allows it (zstd stays synchronous). */
export async function decompress(type: number, data: Buffer): Promise<Buffer> {
  if (type === CompressionType.NONE) return data;
  if (type < 0 || type > CompressionType.ZSTD) throw unknownType(type);
  try {
    switch (type) {
      case CompressionType.GZIP:
        return await gunzipAsync(data);
      case CompressionType.SNAPPY:
        return await snappyDecompress(data);
      case CompressionType.LZ4:
        return await lz4.decompressFrame(data);
      default:
        return zstd.decompress(data);
    }
  } catch (err) {
    throw decodeFailure(type, err);
  }
}
