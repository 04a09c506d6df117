// Sparse time index of one segment: (max timestamp so far, offset relative to the segment base)
// pairs with strictly increasing timestamps. The offset is the base offset of the first batch
// that reached that timestamp, so every record before it has a smaller timestamp.

export interface TimestampOffset {
  timestamp: number;
  offset: number;
}

export const TIME_INDEX_ENTRY_SIZE = 12;
const INITIAL_CAPACITY = 64;
/** Shared by every index without entries; never written (maybeAppend grows them first). */
const EMPTY_TIMESTAMPS = new Float64Array(0);
const EMPTY_OFFSETS = new Int32Array(0);

export class TimeIndex {
  private timestamps: Float64Array;
  private offsets: Int32Array;
  private count = 0;
  readonly maxEntries: number;

  constructor(
    readonly baseOffset: number,
    maxIndexBytes: number,
  ) {
    this.maxEntries = Math.max(1, Math.floor(maxIndexBytes / TIME_INDEX_ENTRY_SIZE));
    // Allocated on the first entry: a broker holds thousands of empty segments (new partitions).
    this.timestamps = EMPTY_TIMESTAMPS;
    this.offsets = EMPTY_OFFSETS;
  }

  get size(): number {
    return this.count;
  }

  get isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  get lastEntry(): TimestampOffset | null {
    return this.count === 0 ? null : this.entry(this.count - 1);
  }

  entry(i: number): TimestampOffset {
    return { timestamp: this.timestamps[i]!, offset: this.baseOffset + this.offsets[i]! };
  }

  /**
   * Adds an entry if `timestamp` is larger than the last one. `force` ignores the capacity
   * (used for the final entry when a segment is sealed).
   */
  maybeAppend(timestamp: number, offset: number, force = false): void {
    if (this.count > 0 && timestamp <= this.timestamps[this.count - 1]!) return;
    if (this.isFull && !force) return;
    if (this.count === this.timestamps.length) {
      const capacity = Math.max(this.count + 1, Math.min(Math.max(this.count * 2, INITIAL_CAPACITY), this.maxEntries));
      const timestamps = new Float64Array(capacity);
      timestamps.set(this.timestamps);
      const offsets = new Int32Array(capacity);
      offsets.set(this.offsets);
      this.timestamps = timestamps;
      this.offsets = offsets;
    }
    this.timestamps[this.count] = timestamp;
    this.offsets[this.count] = offset - this.baseOffset;
    this.count++;
  }

  /** The last entry whose timestamp is ≤ `timestamp`, or null when there is none. */
  lookup(timestamp: number): TimestampOffset | null {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid]! <= timestamp) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? null : this.entry(found);
  }

  truncateToEntries(count: number): void {
    this.count = Math.min(this.count, Math.max(0, count));
  }

  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.count * TIME_INDEX_ENTRY_SIZE);
    for (let i = 0; i < this.count; i++) {
      const pos = i * TIME_INDEX_ENTRY_SIZE;
      out.writeBigInt64BE(BigInt(this.timestamps[i]!), pos);
      out.writeInt32BE(this.offsets[i]!, pos + 8);
    }
    return out;
  }

  /** Loads a persisted index, or null if it is torn or its entries do not increase. */
  static fromBuffer(baseOffset: number, maxIndexBytes: number, data: Buffer): TimeIndex | null {
    if (data.length % TIME_INDEX_ENTRY_SIZE !== 0) return null;
    const count = data.length / TIME_INDEX_ENTRY_SIZE;
    const index = new TimeIndex(baseOffset, Math.max(maxIndexBytes, data.length));
    let lastTimestamp = -Infinity;
    let lastRelative = -1;
    for (let i = 0; i < count; i++) {
      const timestamp = Number(data.readBigInt64BE(i * TIME_INDEX_ENTRY_SIZE));
      const relative = data.readInt32BE(i * TIME_INDEX_ENTRY_SIZE + 8);
      if (relative < 0 || relative < lastRelative || timestamp <= lastTimestamp) return null;
      index.maybeAppend(timestamp, baseOffset + relative);
      lastTimestamp = timestamp;
      lastRelative = relative;
    }
    return index;
  }
}
