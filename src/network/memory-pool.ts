/**
 * The broker-wide budget for request bytes that were read but not yet answered
 * (`queued.max.request.bytes`). A connection reserves a frame's declared size when it reads the
 * size prefix, before buffering the frame, and gives it back when the response has been handed to
 * the socket (or the connection closes). A connection that cannot reserve stops reading its socket
 * and waits here, first come first served.
 *
 * Like Kafka's pool, a reservation is granted while any budget is left, even if the frame is
 * larger than what is left: otherwise a frame larger than the free space could wait forever
 * behind smaller ones. The pool can therefore overshoot its capacity by at most one frame
 * (`socket.request.max.bytes`).
 *
 * Small frames (heartbeats, metadata, commits, ApiVersions of a new client) may also use a
 * headroom of an eighth of the capacity once the capacity is used up, so a flood of large
 * produce requests does not make them queue behind every large frame (group members would miss
 * their session timeouts). Kafka has no such headroom; the bound grows by that eighth.
 */
export class MemoryPool {
  static readonly SMALL_FRAME_BYTES = 64 * 1024;
  private used = 0;
  private readonly waiters = new Set<() => void>();
  private waking = false;

  /** capacity <= 0 means unbounded (Kafka's -1). */
  constructor(readonly capacity: number) {}

  get usedBytes(): number {
    return this.used;
  }

  get waiting(): number {
    return this.waiters.size;
  }

  get exhausted(): boolean {
    return this.capacity > 0 && this.used >= this.capacity;
  }

  /** Where small frames stop being admitted. */
  get hardLimit(): number {
    return this.capacity + Math.floor(this.capacity / 8);
  }

  tryReserve(bytes: number): boolean {
    const small = bytes <= MemoryPool.SMALL_FRAME_BYTES && this.used + bytes <= this.hardLimit;
    if (this.exhausted && !small) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    if (bytes <= 0) return;
    this.used -= bytes;
    this.wake();
  }

  /**
   * Calls `ready` once budget is free again (it should then try to reserve). Returns a function
   * that withdraws the wait (for a connection that closes while waiting).
   */
  wait(ready: () => void): () => void {
    this.waiters.add(ready);
    return () => this.waiters.delete(ready);
  }

  private wake(): void {
    // A woken connection may answer synchronously and release, which would wake the next one
    // from inside this loop, and so on down the stack for every waiting connection: the outer
    // loop carries on instead.
    if (this.waking) return;
    this.waking = true;
    try {
      // Sets iterate in insertion order: the longest-waiting connection goes first. Each woken
      // connection reserves what it needs synchronously, so the loop stops when the budget is gone.
      for (const ready of this.waiters) {
        if (this.exhausted) return;
        this.waiters.delete(ready);
        ready();
      }
    } finally {
      this.waking = false;
    }
  }
}
