// Sparse offset index of one segment: (offset relative to the segment base, file position) pairs,
// one per index.interval.bytes of log. Kept in memory; persisted as 8-byte big-endian entries.

export interface OffsetPosition {
  offset: number;
  position: number;
}

export const OFFSET_INDEX_ENTRY_SIZE = 8;
const INITIAL_CAPACITY = 64;
/** Shared by every index without entries; never written (append grows it first). */
const EMPTY = new Int32Array(0);

export class OffsetIndex {
  /** Interleaved [relativeOffset, position] pairs. */
  private entries: Int32Array;
  private count = 0;
  readonly maxEntries: number;

  constructor(
    readonly baseOffset: number,
    maxIndexBytes: number,
  ) {
    this.maxEntries = Math.max(1, Math.floor(maxIndexBytes / OFFSET_INDEX_ENTRY_SIZE));
    // Allocated on the first entry: a broker holds thousands of empty segments (new partitions).
    this.entries = EMPTY;
  }

  get size(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  /** Adds an entry; offsets and positions must increase. Returns false if the index is full. */
  append(offset: number, position: number): boolean {
    if (this.isFull) return false;
    const relative = offset - this.baseOffset;
    if (this.count > 0 && (relative <= this.entries[2 * this.count - 2]! || position <= this.entries[2 * this.count - 1]!)) {
      throw new Error(`offset index entries must increase (offset ${offset}, position ${position})`);
    }
    if (2 * this.count === this.entries.length) {
      const grown = new Int32Array(Math.min(Math.max(this.entries.length * 2, 2 * INITIAL_CAPACITY), 2 * this.maxEntries));
      grown.set(this.entries);
      this.entries = grown;
    }
    this.entries[2 * this.count] = relative;
    this.entries[2 * this.count + 1] = position;
    this.count++;
    return true;
  }

  entry(i: number): OffsetPosition {
    return { offset: this.baseOffset + this.entries[2 * i]!, position: this.entries[2 * i + 1]! };
  }

  /** The last entry whose offset is ≤ `offset`, or (baseOffset, 0) when there is none. */
  lookup(offset: number): OffsetPosition {
    const relative = offset - this.baseOffset;
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[2 * mid]! <= relative) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? { offset: this.baseOffset, position: 0 } : this.entry(found);
  }

  /** Keeps only the first `count` entries. */
  truncateToEntries(count: number): void {
    this.count = Math.min(this.count, Math.max(0, count));
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.count * OFFSET_INDEX_ENTRY_SIZE);
    for (let i = 0; i < this.count; i++) {
      out.writeInt32BE(this.entries[2 * i]!, i * OFFSET_INDEX_ENTRY_SIZE);
      out.writeInt32BE(this.entries[2 * i + 1]!, i * OFFSET_INDEX_ENTRY_SIZE + 4);
    }
    return out;
  }

  /**
   * Loads a persisted index, or returns null if it is torn or inconsistent with a log file of
   * `logSize` bytes (entries not increasing, positions past the end).
   */
  static fromBuffer(baseOffset: number, maxIndexBytes: number, data: Buffer, logSize: number): OffsetIndex | null {
    if (data.length % OFFSET_INDEX_ENTRY_SIZE !== 0) return null;
    const count = data.length / OFFSET_INDEX_ENTRY_SIZE;
    const index = new OffsetIndex(baseOffset, Math.max(maxIndexBytes, data.length));
    for (let i = 0; i < count; i++) {
      const relative = data.readInt32BE(i * OFFSET_INDEX_ENTRY_SIZE);
      const position = data.readInt32BE(i * OFFSET_INDEX_ENTRY_SIZE + 4);
      if (relative < 0 || position < 0 || position >= logSize) return null;
      if (i > 0) {
        const previous = index.entry(i - 1);
        if (baseOffset + relative <= previous.offset || position <= previous.position) return null;
      }
      index.append(baseOffset + relative, position);
    }
    return index;
  }
}
