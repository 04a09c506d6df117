// The aborted-transaction index of one segment (Kafka's `.txnindex`): one entry per transaction
// whose ABORT marker is in the segment. A read_committed fetch gets, with its data, the aborted
// transactions overlapping it, so the consumer can drop their records without looking ahead
// for markers.
//
// Like the offset and time indexes it lives in memory, is written (tmp + rename) when the segment
// is sealed and at clean close, and is rebuilt from the log (producer state replay) when the file
// is missing or does not check out. Unlike Kafka's, the file is always written, even empty, so
// "missing" means "rebuild" and never "no aborted transactions".
import { crc32c } from '@node-rs/crc32';
import { readInt64, writeInt64 } from '../protocol/records/int64.js';

export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  /** The offset of the ABORT marker. */
  lastOffset: number;
  /**
   * The last stable offset right after the transaction completed: every transaction that overlaps
   * offsets below it has completed by then, so a search for a range ending at or below it can
   * stop at this entry.
   */
  lastStableOffset: number;
}

// Layout (big-endian): "TRTX", version int16, crc32c uint32 of what follows, entry count int32,
// then per entry producerId, firstOffset, lastOffset, lastStableOffset as int64.
const MAGIC = Buffer.from('TRTX', 'latin1');
const VERSION = 1;
const HEADER_SIZE = 14;
const ENTRY_SIZE = 32;

export class TxnIndex {
  /** In marker (lastOffset) order. */
  private entries: AbortedTxn[] = [];

  get size(): number {
    return this.entries.length;
  }

  get all(): readonly AbortedTxn[] {
    return this.entries;
  }

  append(entry: AbortedTxn): void {
    this.entries.push(entry);
  }

  /** Drops the entries whose marker is at or above `offset` (a rolled-back or truncated append). */
  truncateTo(offset: number): void {
    let keep = this.entries.length;
    while (keep > 0 && this.entries[keep - 1]!.lastOffset >= offset) keep--;
    if (keep < this.entries.length) this.entries = this.entries.slice(0, keep);
  }

  clear(): void {
    this.entries = [];
  }

  /**
   * Adds to `out` the entries overlapping [fetchOffset, upperBoundOffset); true when the search
   * need not look at later segments (an entry completed with an LSO at or past the upper bound).
   */
  collect(fetchOffset: number, upperBoundOffset: number, out: AbortedTxn[]): boolean {
    for (const entry of this.entries) {
      if (entry.lastOffset >= fetchOffset && entry.firstOffset < upperBoundOffset) out.push(entry);
      if (entry.lastStableOffset >= upperBoundOffset) return true;
    }
    return false;
  }

  toBuffer(): Buffer {
    const out = Buffer.alloc(HEADER_SIZE + this.entries.length * ENTRY_SIZE);
    MAGIC.copy(out, 0);
    out.writeInt16BE(VERSION, 4);
    out.writeInt32BE(this.entries.length, 10);
    let pos = HEADER_SIZE;
    for (const e of this.entries) {
      writeInt64(out, e.producerId, pos);
      writeInt64(out, e.firstOffset, pos + 8);
      writeInt64(out, e.lastOffset, pos + 16);
      writeInt64(out, e.lastStableOffset, pos + 24);
      pos += ENTRY_SIZE;
    }
    out.writeUInt32BE(crc32c(out.subarray(10)) >>> 0, 6);
    return out;
  }

  /** Parses a file written by toBuffer; null when torn, corrupt or of another version. */
  static fromBuffer(data: Buffer): TxnIndex | null {
    if (data.length < HEADER_SIZE || !data.subarray(0, 4).equals(MAGIC)) return null;
    if (data.readInt16BE(4) !== VERSION) return null;
    if (data.readUInt32BE(6) !== crc32c(data.subarray(10)) >>> 0) return null;
    const count = data.readInt32BE(10);
    if (count < 0 || data.length !== HEADER_SIZE + count * ENTRY_SIZE) return null;
    const index = new TxnIndex();
    for (let i = 0, pos = HEADER_SIZE; i < count; i++, pos += ENTRY_SIZE) {
      index.entries.push({
        producerId: readInt64(data, pos),
        firstOffset: readInt64(data, pos + 8),
        lastOffset: readInt64(data, pos + 16),
        lastStableOffset: readInt64(data, pos + 24),
      });
    }
    return index;
  }
}
