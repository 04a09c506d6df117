// Buffered positional reads over a segment file, for scans and fetches: one read brings in a
// chunk, later requests inside it are served from memory.
import type { BufferPool } from '../common/buffer-pool.js';
import type { LogSegment } from './log-segment.js';

/** The buffer of a reader that has read nothing yet: shared, a reader is made per fetched partition. */
const NOTHING_READ = Buffer.alloc(0);

export class ChunkedReader {
  private buffer: Buffer = NOTHING_READ;
  private bufferStart = 0;
  /** Reads per instance, for tests and metrics. */
  reads = 0;

  constructor(
    private readonly segment: LogSegment,
    /** Exclusive end of the readable region. Lowered if the file turns out to be shorter. */
    public end: number,
    private readonly chunkSize: number,
    /** Where read buffers come from when the caller gives them back itself (fetch responses). */
    private readonly pool?: BufferPool,
  ) {}

  /**
   * What get would return, when that needs no read: the bytes from the chunk in memory, or null
   * when they are not all within the readable region; undefined when a read is needed. A scan
   * over many small batches then costs no promise per batch.
   */
  peek(position: number, length: number): Buffer | null | undefined {
    if (position + length > this.end) return null;
    const offsetInBuffer = position - this.bufferStart;
    if (offsetInBuffer >= 0 && offsetInBuffer + length <= this.buffer.length) {
      return this.buffer.subarray(offsetInBuffer, offsetInBuffer + length);
    }
    return undefined;
  }

  /**
   * Returns `length` bytes at `position` (a view that may share memory with later results),
   * or null when they are not all within the readable region.
   */
  async get(position: number, length: number): Promise<Buffer | null> {
    const buffered = this.peek(position, length);
    if (buffered !== undefined) return buffered;
    const toRead = Math.min(Math.max(length, this.chunkSize), this.end - position);
    this.reads++;
    this.buffer = await this.segment.read(position, toRead, this.pool);
    this.bufferStart = position;
    if (this.buffer.length < toRead) this.end = position + this.buffer.length; // file shorter than expected
    if (this.buffer.length < length) return null;
    return this.buffer.subarray(0, length);
  }
}
