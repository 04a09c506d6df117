// Reusable large buffers for the fetch path.
//
// Why: each fetch read used to allocate a fresh buffer of up to max.partition.fetch.bytes. V8
// counts ArrayBuffers as external memory and runs a full mark-compact whenever about 64 MiB more
// of it is outstanding, so a consumer reading 100 MB from one partition cost several stop-the-world
// pauses of 10-160 ms on this machine, each delaying every other client of the broker. Reusing the
// same few blocks keeps external memory flat.
//
// Safety rests on one rule: a block goes back to the pool only when its single owner says its
// bytes will never be read again (the connection, once the response that carries them has been
// written to the socket). A block nobody gives back is collected as any buffer; giving back a
// buffer the pool never lent, or the same one twice, does nothing.

/** Blocks are size classes of a power of two or one and a half times it: at most a third is slack. */
function sizeClass(length: number): number {
  let size = 1;
  while (size < length) size *= 2;
  const threeQuarters = (size / 4) * 3;
  return threeQuarters >= length && Number.isInteger(threeQuarters) ? threeQuarters : size;
}

export interface BufferPoolStats {
  /** Blocks handed out, and how many of those came from the free lists. */
  acquired: number;
  reused: number;
  /** Bytes sitting in the free lists now. */
  retainedBytes: number;
}

export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private readonly lent = new WeakSet<ArrayBuffer>();
  private retained = 0;
  private acquired = 0;
  private reused = 0;

  constructor(
    /** Free blocks kept beyond this are dropped (left to the collector). */
    private readonly maxRetainedBytes: number,
    /** Smaller requests are plain allocations: Node's own slab and the young generation serve them well. */
    private readonly minBytes: number,
    /** Larger requests are plain allocations too: rare, and not worth keeping. */
    private readonly maxBytes: number,
  ) {}

  /** A buffer of exactly `length` bytes (uninitialized), lent from the pool when its size is pooled. */
  acquire(length: number): Buffer {
    if (length < this.minBytes || length > this.maxBytes) return Buffer.allocUnsafe(length);
    const size = sizeClass(length);
    const block = this.free.get(size)?.pop();
    this.acquired++;
    let ab: ArrayBuffer;
    if (block) {
      this.retained -= size;
      this.reused++;
      ab = block;
    } else {
      ab = new ArrayBuffer(size);
    }
    this.lent.add(ab);
    return Buffer.from(ab, 0, length);
  }

  /** Whether `buf` is a view of a block lent by this pool and not given back yet. */
  owns(buf: Buffer): boolean {
    return buf.buffer instanceof ArrayBuffer && this.lent.has(buf.buffer);
  }

  /** Gives back the block `buf` is a view of. The caller must hold the last use of every view of it. */
  release(buf: Buffer): void {
    const ab = buf.buffer;
    if (!(ab instanceof ArrayBuffer) || !this.lent.delete(ab)) return;
    if (this.retained + ab.byteLength > this.maxRetainedBytes) return;
    let list = this.free.get(ab.byteLength);
    if (!list) this.free.set(ab.byteLength, (list = []));
    list.push(ab);
    this.retained += ab.byteLength;
  }

  stats(): BufferPoolStats {
    return { acquired: this.acquired, reused: this.reused, retainedBytes: this.retained };
  }
}

/**
 * The process-wide pool for the large buffers of the data path, 64 KiB up to 16 MiB:
 * - fetch reads (consumers and followers): the connection gives a block back once the response
 *   holding it is written;
 * - Produce requests that arrive in several socket reads and are copied into one frame: the
 *   produce handler gives the block back once every append of the request has been written
 *   (or refused), the only point after which the log no longer reads the batches.
 */
export const dataBuffers = new BufferPool(48 * 1024 * 1024, 64 * 1024, 16 * 1024 * 1024);
