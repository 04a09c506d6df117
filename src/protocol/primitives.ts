// Wire primitives of the Kafka protocol: a growable Writer and a bounds-checked Reader.
// The generated codecs in ./generated call these methods directly, so they are kept small
// and monomorphic. Every Reader method throws ProtocolError on malformed input; nothing is
// allocated for a length before that length has been checked against the remaining bytes.

import { randomUUID } from 'node:crypto';

/** Malformed or unrepresentable protocol data (truncation, bad lengths, bad varints, ...). */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** The shared default for absent bytes fields (zero length, so it cannot be modified). */
export const EMPTY_BYTES: Buffer = Buffer.alloc(0);

export function randomUuid(): string {
  return randomUUID();
}

/** Thrown by generated encoders when a field is null in a version where it is not nullable. */
export function nonNull<T>(value: T | null, field: string): T {
  if (value === null) throw new ProtocolError(`${field} is null but not nullable in this version`);
  return value;
}

export function unsupportedVersion(message: string, version: number): ProtocolError {
  return new ProtocolError(`${message} does not support version ${version}`);
}

export function unrepresentable(field: string, version: number): ProtocolError {
  return new ProtocolError(`${field} is set to a non-default value but cannot be represented in version ${version}`);
}

const TWO_32 = 4294967296;
const TWO_52 = 4503599627370496;
const INT64_MAX_AS_NUMBER = 2 ** 63; // INT64_MAX rounded to the nearest double
const INT64_MIN_AS_NUMBER = -(2 ** 63);

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'));

/** Offsets of the 16 hex pairs in `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
const UUID_HEX_AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return -1;
}

/**
 * What the generated code tells the request path about a message struct, so that an error
 * response can mirror the request's items (the Kafka `getErrorResponse` idea, done once for all
 * APIs): its error-code fields, the fields that identify an item, and its arrays.
 */
export interface StructShape {
  /** The struct with every field at its default (response structs only). */
  make?: () => object;
  fields: FieldShape[];
}

export interface FieldShape {
  name: string;
  /** Versions [lo, hi] in which the field is present. */
  versions: [number, number];
  /** An int16 field named ErrorCode. */
  errorCode?: boolean;
  /** Identity of a scalar (its entityType, 'partition', 'topicId', ...), or of a scalar array's items. */
  key?: string;
  /** An array of scalars: `key` is the identity of its items. */
  items?: boolean;
  /** An array of structs: the element's shape. */
  elem?: () => StructShape;
}

export interface WriterOptions {
  /**
   * raw() of at least this many bytes keeps a reference to the caller's buffer instead of copying
   * it (record batches read from a segment, on their way to a socket): finishChunks() then gives
   * the message as a list of buffers for one vectored write. The caller must not change a buffer
   * it passed until the chunks are written. Off by default.
   */
  spliceMinBytes?: number;
}

/** A buffer referenced, not copied, at a point of the message (see WriterOptions). */
interface Splice {
  /** Position in `buf` before which the data goes. */
  at: number;
  /** Position in the whole message. */
  logicalAt: number;
  data: Buffer;
}

export class Writer {
  private buf: Buffer;
  /** Bytes written into `buf`; the message also holds every splice's data. */
  private pos = 0;
  private readonly spliceMinBytes: number;
  private splices: Splice[] = [];
  private splicedBytes = 0;

  constructor(initialSize = 256, options: WriterOptions = {}) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
    this.spliceMinBytes = options.spliceMinBytes ?? Infinity;
  }

  /** Length of the message so far; positions taken from it are what patchInt32/insertSizeAt expect. */
  get length(): number {
    return this.pos + this.splicedBytes;
  }

  /** The bytes written so far (a view, not a copy, unless buffers were spliced in). */
  finish(): Buffer {
    return this.splices.length === 0 ? this.buf.subarray(0, this.pos) : Buffer.concat(this.finishChunks());
  }

  /** The message as buffers to write in order: views of the writer's buffer and the spliced ones. */
  finishChunks(): Buffer[] {
    const out: Buffer[] = [];
    let from = 0;
    for (const s of this.splices) {
      if (s.at > from) out.push(this.buf.subarray(from, s.at));
      out.push(s.data);
      from = s.at;
    }
    if (this.pos > from || out.length === 0) out.push(this.buf.subarray(from, this.pos));
    return out;
  }

  /** Forget what was written, keeping the buffer for reuse. Earlier finish() views become invalid. */
  reset(): void {
    this.pos = 0;
    this.splices = [];
    this.splicedBytes = 0;
  }

  /** The position in `buf` of a position in the message (splices before it do not live in `buf`). */
  private internal(logical: number): number {
    let p = logical;
    for (const s of this.splices) {
      if (s.logicalAt >= logical) break;
      p -= s.data.length;
    }
    return p;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(n: number): void {
    this.ensure(1);
    this.buf[this.pos++] = n & 0xff;
  }

  bool(b: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = b ? 1 : 0;
  }

  int16(n: number): void {
    this.ensure(2);
    const b = this.buf;
    let p = this.pos;
    b[p++] = (n >>> 8) & 0xff;
    b[p++] = n & 0xff;
    this.pos = p;
  }

  uint16(n: number): void {
    this.int16(n);
  }

  int32(n: number): void {
    this.ensure(4);
    const b = this.buf;
    let p = this.pos;
    b[p++] = (n >>> 24) & 0xff;
    b[p++] = (n >>> 16) & 0xff;
    b[p++] = (n >>> 8) & 0xff;
    b[p++] = n & 0xff;
    this.pos = p;
  }

  uint32(n: number): void {
    this.int32(n);
  }

  /** A 64-bit integer from a JS number; values beyond ±2^63 are clamped. */
  int64(n: number): void {
    this.ensure(8);
    const b = this.buf;
    const p = this.pos;
    if (n >= INT64_MAX_AS_NUMBER) {
      b.writeUInt32BE(0x7fffffff, p);
      b.writeUInt32BE(0xffffffff, p + 4);
    } else if (n <= INT64_MIN_AS_NUMBER) {
      b.writeUInt32BE(0x80000000, p);
      b.writeUInt32BE(0, p + 4);
    } else {
      const hi = Math.floor(n / TWO_32);
      const lo = n - hi * TWO_32;
      b.writeInt32BE(hi, p);
      b.writeUInt32BE(lo >>> 0, p + 4);
    }
    this.pos = p + 8;
  }

  float64(n: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(n, this.pos);
    this.pos += 8;
  }

  /** Unsigned varint of a 32-bit value. */
  uvarint(n: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    n >>>= 0;
    while (n > 0x7f) {
      b[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    b[p++] = n;
    this.pos = p;
  }

  /** Zig-zag varint of a signed 32-bit value. */
  varint(n: number): void {
    this.uvarint((n << 1) ^ (n >> 31));
  }

  /** Zig-zag varlong of a signed 64-bit value held in a number (clamped to the int64 range). */
  varlong(n: number): void {
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    if (n > -TWO_52 && n < TWO_52) {
      let z = n >= 0 ? n * 2 : -n * 2 - 1;
      while (z >= 0x80) {
        b[p++] = (z % 0x80) | 0x80;
        z = Math.floor(z / 0x80);
      }
      b[p++] = z;
    } else {
      const v = n >= INT64_MAX_AS_NUMBER ? 0x7fffffffffffffffn : n <= INT64_MIN_AS_NUMBER ? -0x8000000000000000n : BigInt(Math.trunc(n));
      let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
      while (z >= 0x80n) {
        b[p++] = Number(z & 0x7fn) | 0x80;
        z >>= 7n;
      }
      b[p++] = Number(z);
    }
    this.pos = p;
  }

  uuid(s: string): void {
    if (s.length !== 36 || s.charCodeAt(8) !== 45 || s.charCodeAt(13) !== 45 || s.charCodeAt(18) !== 45 || s.charCodeAt(23) !== 45) {
      throw new ProtocolError(`invalid UUID ${JSON.stringify(s)}`);
    }
    this.ensure(16);
    const b = this.buf;
    let p = this.pos;
    for (let k = 0; k < 16; k++) {
      const i = UUID_HEX_AT[k]!;
      const h = hexNibble(s.charCodeAt(i));
      const l = hexNibble(s.charCodeAt(i + 1));
      if (h < 0 || l < 0) throw new ProtocolError(`invalid UUID ${JSON.stringify(s)}`);
      b[p++] = (h << 4) | l;
    }
    this.pos = p;
  }

  string(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    if (len > 0x7fff) throw new ProtocolError(`string of ${len} bytes is too long`);
    this.int16(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  nullableString(s: string | null): void {
    if (s === null) this.int16(-1);
    else this.string(s);
  }

  compactString(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.uvarint(len + 1);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  compactNullableString(s: string | null): void {
    if (s === null) this.uvarint(0);
    else this.compactString(s);
  }

  /** Bytes as written, without a length prefix. */
  raw(b: Buffer): void {
    const len = b.length;
    if (len >= this.spliceMinBytes) {
      this.splices.push({ at: this.pos, logicalAt: this.length, data: b });
      this.splicedBytes += len;
      return;
    }
    this.ensure(len);
    b.copy(this.buf, this.pos, 0, len);
    this.pos += len;
  }

  bytes(b: Buffer): void {
    this.int32(b.length);
    this.raw(b);
  }

  nullableBytes(b: Buffer | null): void {
    if (b === null) this.int32(-1);
    else this.bytes(b);
  }

  compactBytes(b: Buffer): void {
    this.uvarint(b.length + 1);
    this.raw(b);
  }

  compactNullableBytes(b: Buffer | null): void {
    if (b === null) this.uvarint(0);
    else this.compactBytes(b);
  }

  /** An int32 array length; -1 means a null array. */
  arrayLength(n: number): void {
    this.int32(n);
  }

  /** A compact (uvarint N+1) array length; -1 means a null array. */
  compactArrayLength(n: number): void {
    this.uvarint(n + 1);
  }

  /** Reserve 4 bytes (e.g. a frame size) to be filled in later with patchInt32. */
  reserveInt32(): number {
    this.ensure(4);
    const at = this.length;
    this.pos += 4;
    return at;
  }

  patchInt32(pos: number, value: number): void {
    const at = this.internal(pos);
    if (at < 0 || at + 4 > this.pos) throw new RangeError(`patch position ${pos} out of range`);
    this.buf.writeInt32BE(value, at);
  }

  /**
   * Insert, at `start`, the uvarint length of everything written since `start`, shifting those
   * bytes right. Used for tagged-field payloads, whose size precedes them on the wire.
   */
  insertSizeAt(start: number): void {
    const size = this.length - start;
    let width = 1;
    for (let v = size >>> 7; v > 0; v >>>= 7) width++;
    this.ensure(width);
    const at = this.internal(start);
    const b = this.buf;
    b.copyWithin(at + width, at, this.pos);
    // Splices inside the payload move right with it.
    for (const s of this.splices) {
      if (s.logicalAt >= start) {
        s.at += width;
        s.logicalAt += width;
      }
    }
    let p = at;
    let n = size;
    while (n > 0x7f) {
      b[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    b[p] = n;
    this.pos += width;
  }
}

export class Reader {
  readonly buf: Buffer;
  offset: number;
  end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new RangeError(`invalid reader bounds ${offset}..${end} of ${buf.length}`);
    }
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private truncated(n: number): ProtocolError {
    return new ProtocolError(`truncated input: need ${n} bytes at offset ${this.offset}, ${this.end - this.offset} remain`);
  }

  skip(n: number): void {
    if (n < 0 || n > this.end - this.offset) throw this.truncated(n);
    this.offset += n;
  }

  int8(): number {
    if (this.offset >= this.end) throw this.truncated(1);
    const v = this.buf[this.offset++]!;
    return (v << 24) >> 24;
  }

  bool(): boolean {
    if (this.offset >= this.end) throw this.truncated(1);
    return this.buf[this.offset++] !== 0;
  }

  int16(): number {
    const o = this.offset;
    if (o + 2 > this.end) throw this.truncated(2);
    const b = this.buf;
    this.offset = o + 2;
    return ((b[o]! << 24) | (b[o + 1]! << 16)) >> 16;
  }

  uint16(): number {
    const o = this.offset;
    if (o + 2 > this.end) throw this.truncated(2);
    const b = this.buf;
    this.offset = o + 2;
    return (b[o]! << 8) | b[o + 1]!;
  }

  int32(): number {
    const o = this.offset;
    if (o + 4 > this.end) throw this.truncated(4);
    const b = this.buf;
    this.offset = o + 4;
    return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  }

  uint32(): number {
    return this.int32() >>> 0;
  }

  /** A 64-bit integer as a number (exact up to 2^53, rounded beyond). */
  int64(): number {
    const o = this.offset;
    if (o + 8 > this.end) throw this.truncated(8);
    const b = this.buf;
    this.offset = o + 8;
    const hi = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
    const lo = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0;
    return hi * TWO_32 + lo;
  }

  float64(): number {
    const o = this.offset;
    if (o + 8 > this.end) throw this.truncated(8);
    this.offset = o + 8;
    return this.buf.readDoubleBE(o);
  }

  /** Unsigned varint of at most 5 bytes (a 32-bit value). */
  uvarint(): number {
    const b = this.buf;
    const end = this.end;
    let o = this.offset;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (o >= end) throw this.truncated(1);
      const byte = b[o++]!;
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        this.offset = o;
        return result >>> 0;
      }
    }
    throw new ProtocolError(`varint longer than 5 bytes at offset ${this.offset}`);
  }

  /** Zig-zag varint (signed 32-bit). */
  varint(): number {
    const z = this.uvarint();
    return (z >>> 1) ^ -(z & 1);
  }

  /** Zig-zag varlong (signed 64-bit) as a number (exact up to 2^53); at most 10 bytes. */
  varlong(): number {
    const b = this.buf;
    const end = this.end;
    let o = this.offset;
    let z = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (o >= end) throw this.truncated(1);
      const byte = b[o++]!;
      z += (byte & 0x7f) * mul;
      if ((byte & 0x80) === 0) {
        this.offset = o;
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      mul *= 128;
    }
    return this.varlongSlow();
  }

  private varlongSlow(): number {
    const b = this.buf;
    let o = this.offset;
    let z = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (o >= this.end) throw this.truncated(1);
      const byte = b[o++]!;
      z |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        this.offset = o;
        z = BigInt.asUintN(64, z);
        return Number((z >> 1n) ^ -(z & 1n));
      }
    }
    throw new ProtocolError(`varlong longer than 10 bytes at offset ${this.offset}`);
  }

  uuid(): string {
    const o = this.offset;
    if (o + 16 > this.end) throw this.truncated(16);
    const b = this.buf;
    this.offset = o + 16;
    return (
      HEX[b[o]!]! +
      HEX[b[o + 1]!]! +
      HEX[b[o + 2]!]! +
      HEX[b[o + 3]!]! +
      '-' +
      HEX[b[o + 4]!]! +
      HEX[b[o + 5]!]! +
      '-' +
      HEX[b[o + 6]!]! +
      HEX[b[o + 7]!]! +
      '-' +
      HEX[b[o + 8]!]! +
      HEX[b[o + 9]!]! +
      '-' +
      HEX[b[o + 10]!]! +
      HEX[b[o + 11]!]! +
      HEX[b[o + 12]!]! +
      HEX[b[o + 13]!]! +
      HEX[b[o + 14]!]! +
      HEX[b[o + 15]!]!
    );
  }

  private text(len: number): string {
    const o = this.offset;
    if (len > this.end - o) throw this.truncated(len);
    this.offset = o + len;
    return this.buf.toString('utf8', o, o + len);
  }

  private view(len: number): Buffer {
    const o = this.offset;
    if (len > this.end - o) throw this.truncated(len);
    this.offset = o + len;
    return this.buf.subarray(o, o + len);
  }

  string(): string {
    const len = this.int16();
    if (len < 0) throw new ProtocolError(`invalid string length ${len}`);
    return this.text(len);
  }

  nullableString(): string | null {
    const len = this.int16();
    if (len === -1) return null;
    if (len < 0) throw new ProtocolError(`invalid nullable string length ${len}`);
    return this.text(len);
  }

  compactString(): string {
    const len = this.uvarint() - 1;
    if (len < 0) throw new ProtocolError('null compact string where a string is required');
    return this.text(len);
  }

  compactNullableString(): string | null {
    const len = this.uvarint() - 1;
    return len < 0 ? null : this.text(len);
  }

  /** Bytes are returned as views into the input buffer (no copy). */
  bytes(): Buffer {
    const len = this.int32();
    if (len < 0) throw new ProtocolError(`invalid bytes length ${len}`);
    return this.view(len);
  }

  nullableBytes(): Buffer | null {
    const len = this.int32();
    if (len === -1) return null;
    if (len < 0) throw new ProtocolError(`invalid nullable bytes length ${len}`);
    return this.view(len);
  }

  compactBytes(): Buffer {
    const len = this.uvarint() - 1;
    if (len < 0) throw new ProtocolError('null compact bytes where bytes are required');
    return this.view(len);
  }

  compactNullableBytes(): Buffer | null {
    const len = this.uvarint() - 1;
    return len < 0 ? null : this.view(len);
  }

  /** `n` raw bytes as a view. */
  raw(n: number): Buffer {
    if (n < 0) throw new ProtocolError(`invalid length ${n}`);
    return this.view(n);
  }

  private checkCount(n: number): number {
    // Every element takes at least one byte, so a count beyond the remaining bytes is bogus.
    if (n > this.end - this.offset) {
      throw new ProtocolError(`array of ${n} elements but only ${this.end - this.offset} bytes remain`);
    }
    return n;
  }

  arrayLength(): number {
    const n = this.int32();
    if (n < 0) throw new ProtocolError(`invalid array length ${n}`);
    return this.checkCount(n);
  }

  /** Returns -1 for a null array. */
  nullableArrayLength(): number {
    const n = this.int32();
    if (n === -1) return -1;
    if (n < 0) throw new ProtocolError(`invalid array length ${n}`);
    return this.checkCount(n);
  }

  compactArrayLength(): number {
    const n = this.uvarint() - 1;
    if (n < 0) throw new ProtocolError('null compact array where an array is required');
    return this.checkCount(n);
  }

  /** Returns -1 for a null array. */
  compactNullableArrayLength(): number {
    const n = this.uvarint() - 1;
    return n < 0 ? -1 : this.checkCount(n);
  }

  /** Restrict reading to the next `size` bytes; returns the previous end for unlimit(). */
  limit(size: number): number {
    if (size > this.end - this.offset) throw this.truncated(size);
    const previous = this.end;
    this.end = this.offset + size;
    return previous;
  }

  /** Skip whatever is left of the limited region and restore the previous end. */
  unlimit(previousEnd: number): void {
    this.offset = this.end;
    this.end = previousEnd;
  }

  /** Skip a whole tagged-field section (used where a struct has no known tagged fields). */
  skipTaggedFields(): void {
    for (let n = this.uvarint(); n > 0; n--) {
      this.uvarint();
      this.skip(this.uvarint());
    }
  }
}
