import type { Socket } from 'node:net';
import type { Logger } from 'pino';

/**
 * Handles one request frame (without its size prefix). Returns the complete response frame
 * (with its size prefix), or null when no response is due (acks=0 produce).
 * It is called synchronously in arrival order, so anything order-sensitive (offset assignment)
 * must happen before its first await.
 */
export type FrameHandler = (frame: Buffer, conn: Connection) => Promise<Buffer | null> | Buffer | null;

export interface ConnectionLimits {
  maxRequestBytes: number;
  maxInFlight: number;
  /** Stop reading while this many response bytes wait in the socket. */
  maxPendingWriteBytes: number;
}

interface Slot {
  done: boolean;
  frame: Buffer | null;
}

let nextConnectionId = 1;

/**
 * One client connection: 4-byte size framing, requests handled concurrently but answered in
 * the order they arrived, and reads paused when the client is not keeping up.
 */
export class Connection {
  readonly id = nextConnectionId++;
  readonly remote: string;
  lastActive = Date.now();
  clientId: string | null = null;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly slots: Slot[] = [];
  private closed = false;
  private pausedForBackpressure = false;
  private processing = false;

  constructor(
    readonly socket: Socket,
    private readonly handler: FrameHandler,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    private readonly onClose: (conn: Connection) => void,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', (err) => {
      this.logger.debug({ conn: this.id, remote: this.remote, err: err.message }, 'connection error');
    });
    socket.on('close', () => {
      this.closed = true;
      this.chunks = [];
      this.onClose(this);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get inFlight(): number {
    return this.slots.length;
  }

  /** Closes the connection because the peer broke the protocol; one log line, as promised. */
  abort(reason: string, detail?: Record<string, unknown>): void {
    if (this.closed) return;
    this.logger.warn({ conn: this.id, remote: this.remote, clientId: this.clientId, ...detail }, `closing connection: ${reason}`);
    this.closed = true;
    this.chunks = [];
    this.socket.destroy();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastActive = Date.now();
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.processBuffered();
  }

  /**
   * Dispatches buffered frames while the limits allow; frames beyond them stay buffered (the
   * socket is paused) until responses complete or drain, so one client cannot make the broker
   * hold an unbounded number of requests or responses.
   */
  private processBuffered(): void {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.closed && this.buffered >= 4) {
        if (this.slots.length >= this.limits.maxInFlight || this.socket.writableLength > this.limits.maxPendingWriteBytes) {
          this.pause();
          return;
        }
        const size = this.peekSize();
        if (size < 0 || size > this.limits.maxRequestBytes) {
          this.abort('request size out of bounds', { size, max: this.limits.maxRequestBytes });
          return;
        }
        if (this.buffered < 4 + size) break;
        const frame = this.take(4 + size).subarray(4);
        this.dispatch(frame);
      }
      if (this.slots.length >= this.limits.maxInFlight) this.pause();
    } finally {
      this.processing = false;
    }
  }

  private peekSize(): number {
    // The size prefix rarely straddles chunks; when it does, merging what is buffered is cheap.
    if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0]!.readInt32BE(0);
  }

  /** Removes exactly n bytes from the front of the buffered data, copying only when they span chunks. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let copied = 0;
      while (copied < n) {
        const c = this.chunks[0]!;
        const want = n - copied;
        if (c.length <= want) {
          c.copy(out, copied);
          copied += c.length;
          this.chunks.shift();
        } else {
          c.copy(out, copied, 0, want);
          this.chunks[0] = c.subarray(want);
          copied += want;
        }
      }
    }
    this.buffered -= n;
    return out;
  }

  private dispatch(frame: Buffer): void {
    const slot: Slot = { done: false, frame: null };
    this.slots.push(slot);
    let result: Promise<Buffer | null> | Buffer | null;
    try {
      result = this.handler(frame, this);
    } catch (err) {
      this.onHandlerError(err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (buf) => this.complete(slot, buf),
        (err) => this.onHandlerError(err),
      );
    } else {
      this.complete(slot, result);
    }
  }

  private onHandlerError(err: unknown): void {
    const e = err as Error;
    this.abort(e?.message ?? String(err), { error: e?.name });
  }

  private complete(slot: Slot, frame: Buffer | null): void {
    if (this.closed) return;
    slot.done = true;
    slot.frame = frame;
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const s = this.slots.shift()!;
      if (s.frame) this.socket.write(s.frame);
    }
    this.lastActive = Date.now();
    this.maybeResume();
    if (this.socket.writableLength > this.limits.maxPendingWriteBytes) this.pause();
  }

  private pause(): void {
    if (this.pausedForBackpressure) return;
    this.pausedForBackpressure = true;
    this.socket.pause();
  }

  private maybeResume(): void {
    if (!this.pausedForBackpressure || this.closed) return;
    if (this.slots.length < this.limits.maxInFlight && this.socket.writableLength <= this.limits.maxPendingWriteBytes) {
      this.pausedForBackpressure = false;
      this.socket.resume();
      // Frames that arrived before the pause are already buffered: no 'data' event brings them.
      this.processBuffered();
    }
  }
}
