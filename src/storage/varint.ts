// Zigzag varints as used inside v2 records (protobuf encoding). Values are JS numbers;
// varlongs beyond 2^53 lose precision, which only matters for nonsensical timestamps.

export interface VarintRead {
  value: number;
  /** Position just after the varint. */
  next: number;
}

/** Reads an unsigned base-128 varint of at most `maxBytes` bytes. */
function readUnsigned(buf: Buffer, pos: number, maxBytes: number): VarintRead {
  let result = 0;
  let multiplier = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (pos + i >= buf.length) throw new RangeError('varint runs past the end of the buffer');
    const byte = buf[pos + i]!;
    result += (byte & 0x7f) * multiplier;
    if ((byte & 0x80) === 0) return { value: result, next: pos + i + 1 };
    multiplier *= 128;
  }
  throw new RangeError(`varint longer than ${maxBytes} bytes`);
}

function unzigzag(raw: number): number {
  // raw may exceed 2^31, so avoid bitwise operators.
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
}

/** Zigzag varint (int32 range). */
export function readVarint(buf: Buffer, pos: number): VarintRead {
  const r = readUnsigned(buf, pos, 5);
  r.value = unzigzag(r.value);
  return r;
}

/** Zigzag varlong (int64 range, as a number). */
export function readVarlong(buf: Buffer, pos: number): VarintRead {
  const r = readUnsigned(buf, pos, 10);
  r.value = unzigzag(r.value);
  return r;
}

/** Number of bytes the zigzag encoding of `value` takes. */
export function sizeOfVarlong(value: number): number {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1;
  let size = 1;
  while (raw >= 128) {
    raw = Math.floor(raw / 128);
    size++;
  }
  return size;
}

export const sizeOfVarint = sizeOfVarlong;

/** Writes the zigzag encoding of `value` at `pos`; returns the position after it. */
export function writeVarlong(buf: Buffer, value: number, pos: number): number {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1;
  while (raw >= 128) {
    buf[pos++] = (raw % 128) | 0x80;
    raw = Math.floor(raw / 128);
  }
  buf[pos++] = raw;
  return pos;
}

export const writeVarint = writeVarlong;
