// int64 fields as plain JS numbers. Offsets, timestamps and producer ids stay far below 2^53
// in practice, so the hot path avoids BigInt entirely.

const TWO_POW_32 = 4294967296;

/** Reads a big-endian signed int64 as a number (exact below 2^53 in magnitude). */
export function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_POW_32 + buf.readUInt32BE(pos + 4);
}

/** Writes a number as a big-endian signed int64 (two's complement, e.g. -1 → 0xff..ff). */
export function writeInt64(buf: Buffer, value: number, pos: number): void {
  const high = Math.floor(value / TWO_POW_32);
  const low = value - high * TWO_POW_32;
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(low, pos + 4);
}
