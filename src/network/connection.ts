import type { Socket } from 'node:net';
import { dataBuffers } from '../common/buffer-pool.js';
import { readIntoUserBuffers } from './user-buffer-reads.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { Logger } from 'pino';
import type { MemoryPool } from './memory-pool.js';
import type { Clock } from '../common/clock.js';
import { endRequestTimes, type RequestTimes } from './request-times.js';

/**
 * A complete response frame (with its size prefix): one buffer, or several written in order as
 * one vectored write (record batches are passed through by reference, not copied into it).
 */
export type ResponseFrame = Buffer | Buffer[];

/**
 * Handles one request frame (without its size prefix). Returns the complete response frame, or
 * null when no response is due (acks=0 produce).
 * It is called synchronously in arrival order, so anything order-sensitive (offset assignment)
 * must happen before its first await. `times`: the request's stamps (see request-times.ts), which
 * the connection ends once the response is written; absent for a request that has no socket
 * (an Envelope's inner request, the HTTP API's local requests).
 */
export type FrameHandler = (frame: Buffer, conn: Connection, times?: RequestTimes) => Promise<ResponseFrame | null> | ResponseFrame | null;

export interface ConnectionLimits {
  maxRequestBytes: number;
  maxInFlight: number;
  /** Stop reading while this many response bytes wait in the socket. */
  maxPendingWriteBytes: number;
  /** Broker-wide budget of request bytes read but not yet answered (queued.max.request.bytes). */
  pool: MemoryPool;
  /** The broker's clock: idle time, partial-request age and throttle ends. */
  clock: Clock;
}

/** A request in flight; its times are the slot's own fields (no object of their own per request). */
interface Slot extends RequestTimes {
  done: boolean;
  frame: ResponseFrame | null;
  /** Bytes of the memory pool held by this request until its response is written. */
  reserved: number;
  /** Response bytes this request announced it may produce (see reserveResponseBytes). */
  responseBudget: number;
}

interface BudgetWaiter {
  slot: Slot;
  bytes: number;
  grant: () => void;
}

/** Why reads are paused; reading resumes when no reason is left. */
const BACKPRESSURE = 1;
const MEMORY = 2;
const THROTTLE = 4;

let nextConnectionId = 1;

/**
 * A request at least this large, once its size is known, is read straight into its own buffer
 * (pooled for Produce) rather than through the shared scratch buffer (see user-buffer-reads.ts).
 */
const DIRECT_READ_MIN_FRAME_BYTES = 64 * 1024;
/** Direct reads stop when less than this is missing: the scratch buffer then takes the rest and what follows in one read. */
const DIRECT_READ_MIN_REMAINING = 8 * 1024;
const SCRATCH_BYTES = 64 * 1024;
/**
 * The one buffer every connection's other reads go into. Safe to share: a read is handed to its
 * connection synchronously, which copies the bytes out before the event loop reads anything else.
 */
let scratch: Buffer | null = null;

/** A large request being read into its own buffer. */
interface Assembly {
  frame: Buffer;
  filled: number;
  /** Pool bytes reserved for it. */
  reserved: number;
}

/**
 * One client connection: 4-byte size framing, requests handled concurrently but answered in
 * the order they arrived, and reads paused when the client is not keeping up.
 */
export class Connection {
  readonly id = nextConnectionId++;
  readonly remote: string;
  lastActive: number;
  clientId: string | null = null;
  /** The listener this connection came in on and its security protocol (SSL, SASL_PLAINTEXT, ...). */
  listenerName = '';
  securityProtocol = 'PLAINTEXT';
  /** Who the client is (Kafka's principal, `User:name`): ANONYMOUS until TLS or SASL says otherwise. */
  principal = 'User:ANONYMOUS';
  /** The broker's per-connection security state (the SASL exchange); this layer never looks inside. */
  security: unknown = null;
  /** A lower frame size limit than the listener's (before SASL authentication), or null. */
  maxFrameBytes: number | null = null;
  /** Set by endAfterResponses: no more frames are read, the socket ends once the answers are out. */
  private ending = false;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly slots: Slot[] = [];
  private closed = false;
  private pauseReasons = 0;
  private processing = false;
  /** Pool bytes reserved for the frame whose size prefix has been read but not all its bytes. */
  private reservedForNext = 0;
  /** The large request being read into its own buffer, or null. */
  private assembly: Assembly | null = null;
  /** The region of `assembly.frame` the socket reads into next (user buffer reads), or null. */
  private directTarget: Buffer | null = null;
  /** Request bytes the socket read straight into their frame's buffer (no copy, no allocation). */
  directReadBytes = 0;
  private cancelMemoryWait: (() => void) | null = null;
  private throttleTimer: NodeJS.Timeout | null = null;
  private mutedUntil = 0;
  /** Response bytes announced by requests in flight and not yet written. */
  private responseBudgetUsed = 0;
  private readonly budgetWaiters: BudgetWaiter[] = [];
  /** Monotonic time of the latest socket read: a frame that read completed was received then. */
  private readAt = 0;
  /** Responses handed to the socket whose write callback is due, in write order (callbacks come in that order). */
  private sending: Slot[] = [];
  /**
   * Since when a request has been partly received while the broker was reading (null when no
   * partial request or reads are paused): a client that starts a request and never finishes it
   * (slowloris) is closed after the request read timeout.
   */
  partialSince: number | null = null;

  constructor(
    readonly socket: Socket,
    private readonly handler: FrameHandler,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    private readonly onClose: (conn: Connection) => void,
  ) {
    this.lastActive = limits.clock.now();
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    // A socket that has handed out no byte yet can read into our buffers instead: a plain one
    // accepted paused, or a TLS one in its 'secureConnection' event (user-buffer-reads.ts).
    const fresh = socket.readableFlowing === false || (socket as { encrypted?: boolean }).encrypted === true;
    if (!(fresh && readIntoUserBuffers(socket, { next: () => this.nextReadBuffer(), onRead: (n, buf) => this.onRead(n, buf) }))) {
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
    }
    socket.resume();
    socket.on('drain', () => {
      // A client that reads is active even if it sends nothing.
      this.lastActive = this.limits.clock.now();
      this.grantBudgets();
      this.maybeResume();
    });
    socket.on('error', (err) => {
      this.logger.debug({ conn: this.id, remote: this.remote, err: err.message }, 'connection error');
    });
    socket.on('close', () => {
      this.closed = true;
      this.dropBuffered();
      this.releaseAll();
      this.endUnsent();
      this.onClose(this);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get inFlight(): number {
    return this.slots.length;
  }

  get paused(): boolean {
    return this.pauseReasons !== 0;
  }

  /** Response bytes waiting in the socket for the client to read them. */
  get unsentBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Announces that the request being handled may answer with up to `bytes` bytes (a fetch), and
   * resolves when the connection can take them: while earlier responses of this connection are
   * unsent or announced beyond `maxPendingWriteBytes`, the request waits. So a client that
   * pipelines large fetches and never reads makes the broker hold about that bound, not one
   * response per request in flight. A request alone is never held back. Must be called
   * synchronously by the handler (before its first await), which is when its slot is the newest.
   * Returns undefined when the bytes are granted at once (the usual case: nothing waits before
   * this request), so that the handler goes on without a promise and a microtask.
   */
  reserveResponseBytes(bytes: number): Promise<void> | undefined {
    const slot = this.slots[this.slots.length - 1];
    if (!slot || this.closed) return undefined;
    if (this.budgetWaiters.length === 0 && this.budgetFits(bytes)) {
      this.grantBudget(slot, bytes);
      return undefined;
    }
    return new Promise((grant) => {
      this.budgetWaiters.push({ slot, bytes, grant });
      this.grantBudgets();
    });
  }

  /** Whether `bytes` more may be announced now: they fit, or nothing is pending at all. */
  private budgetFits(bytes: number): boolean {
    const pending = this.responseBudgetUsed + this.socket.writableLength;
    return this.closed || pending <= 0 || pending + bytes <= this.limits.maxPendingWriteBytes;
  }

  private grantBudget(slot: Slot, bytes: number): void {
    slot.responseBudget += bytes;
    this.responseBudgetUsed += bytes;
  }

  private grantBudgets(): void {
    while (this.budgetWaiters.length > 0) {
      const w = this.budgetWaiters[0]!;
      if (!this.budgetFits(w.bytes)) return;
      this.budgetWaiters.shift();
      this.grantBudget(w.slot, w.bytes);
      w.grant();
    }
  }

  /**
   * Stops reading from this client for `ms` (a quota violation, KIP-219): requests already
   * buffered wait too. Overlapping throttles end with the one that ends last.
   */
  mute(ms: number): void {
    if (this.closed || ms <= 0) return;
    const until = this.limits.clock.now() + ms;
    if (until <= this.mutedUntil) return;
    this.mutedUntil = until;
    if (this.throttleTimer) clearTimeout(this.throttleTimer);
    this.setPaused(THROTTLE, true);
    this.throttleTimer = setTimeout(() => {
      this.throttleTimer = null;
      this.setPaused(THROTTLE, false);
    }, ms);
    this.throttleTimer.unref();
  }

  /** Gives every pool byte this connection holds back; the requests are gone with the socket. */
  private releaseAll(): void {
    let bytes = this.reservedForNext;
    this.reservedForNext = 0;
    for (const s of this.slots) {
      bytes += s.reserved;
      s.reserved = 0;
    }
    this.cancelMemoryWait?.();
    this.cancelMemoryWait = null;
    // Waiting handlers go on and find the connection closed; their answers are dropped.
    this.grantBudgets();
    if (this.throttleTimer) clearTimeout(this.throttleTimer);
    this.partialSince = null;
    this.limits.pool.release(bytes);
  }

  /** Closes the connection because the peer broke the protocol; one log line, as promised. */
  abort(reason: string, detail?: Record<string, unknown>): void {
    if (this.closed) return;
    this.logger.warn({ conn: this.id, remote: this.remote, clientId: this.clientId, ...detail }, `closing connection: ${reason}`);
    this.closed = true;
    this.dropBuffered();
    this.releaseAll();
    this.socket.destroy();
  }

  /**
   * Stops reading requests and closes the connection once every answer already due has been
   * written (a failed SASL authentication: the client gets its error, then the close).
   */
  endAfterResponses(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    // Reads go on, their bytes dropped, so that the client's close is seen: a socket that does
    // not read (with user buffer reads, a paused one) would not notice it.
    this.dropBuffered();
    if (this.slots.length === 0) this.finishEnding();
  }

  private finishEnding(): void {
    this.closed = true;
    this.releaseAll();
    this.socket.end();
    // A client that does not read its last answer must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  /** Closes the connection now, also one that was ending after its last answers. */
  close(): void {
    if (!this.closed) {
      this.closed = true;
      this.dropBuffered();
      this.releaseAll();
    }
    this.socket.destroy();
  }

  /**
   * Forgets read bytes not yet handed to a handler. A half-read large request is dropped, not
   * given back to the buffer pool: its block is no one else's to reuse while the socket might
   * still read into it.
   */
  private dropBuffered(): void {
    this.releaseAssembly();
    this.chunks = [];
    this.buffered = 0;
    this.assembly = null;
    this.directTarget = null;
  }

  /** Gives back the pool bytes of a half-read large request. */
  private releaseAssembly(): void {
    if (!this.assembly) return;
    this.limits.pool.release(this.assembly.reserved);
    this.assembly.reserved = 0;
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.ending) return;
    this.lastActive = this.limits.clock.now();
    this.readAt = this.limits.clock.monotonicMs();
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.processBuffered();
  }

  /** Where the next socket read goes: the rest of a large request, or the shared scratch buffer. */
  private nextReadBuffer(): Buffer {
    const a = this.assembly;
    if (a && !this.closed && a.frame.length - a.filled >= DIRECT_READ_MIN_REMAINING) {
      this.directTarget = a.frame.subarray(a.filled);
      return this.directTarget;
    }
    this.directTarget = null;
    return (scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES));
  }

  private onRead(n: number, buf: Buffer): void {
    if (buf === this.directTarget && this.assembly) {
      if (this.closed || this.ending) return;
      this.lastActive = this.limits.clock.now();
      this.readAt = this.limits.clock.monotonicMs();
      this.assembly.filled += n;
      this.directReadBytes += n;
      this.processBuffered();
      return;
    }
    // The scratch buffer is read again next: what arrived there is copied out now.
    this.onData(Buffer.from(buf.subarray(0, n)));
  }

  /**
   * Dispatches buffered frames while the limits allow; frames beyond them stay buffered (the
   * socket is paused) until responses complete or drain, so one client cannot make the broker
   * hold an unbounded number of requests or responses. A frame's bytes are reserved in the
   * broker-wide pool as soon as its size is known, before they are buffered; without budget the
   * socket is paused until another request is answered.
   */
  private processBuffered(): void {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.closed && !this.ending) {
        if (this.assembly) {
          // The large request being read: the bytes it still lacks come first.
          const a = this.assembly;
          if (this.buffered > 0 && a.filled < a.frame.length) a.filled += this.drainInto(a.frame, a.filled);
          if (a.filled < a.frame.length) break;
          if ((this.pauseReasons & (MEMORY | THROTTLE)) !== 0) return;
          this.assembly = null;
          this.dispatch(a.frame, a.reserved);
          continue;
        }
        if (this.buffered < 4) break;
        if ((this.pauseReasons & (MEMORY | THROTTLE)) !== 0) return;
        if (this.slots.length >= this.limits.maxInFlight || this.socket.writableLength > this.limits.maxPendingWriteBytes) {
          this.setPaused(BACKPRESSURE, true);
          return;
        }
        const size = this.peekSize();
        const max = this.maxFrameBytes ?? this.limits.maxRequestBytes;
        if (size < 0 || size > max) {
          this.abort('request size out of bounds', { size, max });
          return;
        }
        if (this.reservedForNext === 0 && size > 0) {
          if (!this.limits.pool.tryReserve(size)) {
            this.waitForMemory();
            return;
          }
          this.reservedForNext = size;
        }
        if (this.buffered < 4 + size) {
          if (size >= DIRECT_READ_MIN_FRAME_BYTES && this.buffered >= 6) this.startAssembly(size);
          break;
        }
        const frame = this.take(4 + size, this.isProduceFrame()).subarray(4);
        const reserved = this.reservedForNext;
        this.reservedForNext = 0;
        this.dispatch(frame, reserved);
      }
      if (this.slots.length >= this.limits.maxInFlight) this.setPaused(BACKPRESSURE, true);
    } finally {
      this.processing = false;
      this.trackPartial();
    }
  }

  /**
   * Moves the large request whose size prefix is buffered into a buffer of its own, where the
   * rest of it is then read (directly, with user buffer reads).
   */
  private startAssembly(size: number): void {
    const produce = this.isProduceFrame();
    this.skip(4);
    const frame = produce ? dataBuffers.acquire(size) : Buffer.allocUnsafe(size);
    const filled = this.drainInto(frame, 0);
    this.assembly = { frame, filled, reserved: this.reservedForNext };
    this.reservedForNext = 0;
  }

  private trackPartial(): void {
    if (this.closed || (this.buffered === 0 && !this.assembly) || this.pauseReasons !== 0) this.partialSince = null;
    else this.partialSince ??= this.limits.clock.now();
  }

  private waitForMemory(): void {
    this.setPaused(MEMORY, true);
    this.cancelMemoryWait = this.limits.pool.wait(() => {
      this.cancelMemoryWait = null;
      this.setPaused(MEMORY, false);
    });
  }

  private peekSize(): number {
    return this.head(4).readInt32BE(0);
  }

  /** Whether the buffered frame is a Produce request (its API key follows the size). */
  private isProduceFrame(): boolean {
    return this.buffered >= 6 && this.head(6).readInt16BE(4) === ApiKey.Produce;
  }

  /**
   * The first buffered chunk, holding at least `n` bytes (n <= buffered). A frame's first bytes
   * rarely straddle chunks; when they do, merging what is buffered is cheap.
   */
  private head(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0]!;
  }

  /** Drops n buffered bytes (n <= buffered). */
  private skip(n: number): void {
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        left -= c.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.buffered -= n;
  }

  /** Copies buffered bytes into `target` from `offset`, as many as fit; returns how many. */
  private drainInto(target: Buffer, offset: number): number {
    let copied = 0;
    const want = target.length - offset;
    while (copied < want && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      const n = Math.min(c.length, want - copied);
      c.copy(target, offset + copied, 0, n);
      copied += n;
      if (n === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(n);
    }
    this.buffered -= copied;
    return copied;
  }

  /**
   * Removes exactly n bytes from the front of the buffered data, copying only when they span
   * chunks. `pooled`: a copy is lent from the data buffer pool (only for a request whose handler
   * gives it back once its bytes are no longer read: Produce).
   */
  private take(n: number, pooled = false): Buffer {
    const first = this.chunks[0]!;
    if (first.length < n) {
      const out = pooled ? dataBuffers.acquire(n) : Buffer.allocUnsafe(n);
      this.drainInto(out, 0);
      return out;
    }
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return first.subarray(0, n);
  }

  private dispatch(frame: Buffer, reserved: number): void {
    const slot: Slot = {
      done: false,
      frame: null,
      reserved,
      responseBudget: 0,
      receivedAt: this.readAt,
      startedAt: this.readAt,
      remoteMs: 0,
      parkedAt: -1,
      completedAt: -1,
      sendStartedAt: -1,
      throttleMs: 0,
      requestBytes: frame.length,
      sink: null,
    };
    this.slots.push(slot);
    let result: Promise<ResponseFrame | null> | ResponseFrame | null;
    try {
      result = this.handler(frame, this, slot);
    } catch (err) {
      this.onHandlerError(err, slot);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (buf) => this.complete(slot, buf),
        (err) => this.onHandlerError(err, slot),
      );
    } else {
      this.complete(slot, result);
    }
  }

  /**
   * A response has left the socket's buffer. 'drain' only follows a write that filled the buffer:
   * a small response still queued (a TLS socket queues every write until it is encrypted) would
   * otherwise hold back the budget of the requests behind it (a consumer's session-closing fetch
   * behind a long-polling one) until the client gave up.
   */
  private readonly onWritten = (): void => {
    // The oldest response handed to the socket is the one written: its request ends now.
    const sent = this.sending.shift();
    if (sent !== undefined && sent.sink !== null) endRequestTimes(sent, this.limits.clock.monotonicMs());
    if (this.closed || this.budgetWaiters.length === 0) return;
    this.grantBudgets();
    this.maybeResume();
  };

  private writtenAndReturn(lent: Buffer[]): void {
    for (const piece of lent) dataBuffers.release(piece);
    this.onWritten();
  }

  private onHandlerError(err: unknown, slot: Slot): void {
    if (slot.sink !== null) endRequestTimes(slot, this.limits.clock.monotonicMs());
    const e = err as Error;
    this.abort(e?.message ?? String(err), { error: e?.name });
  }

  private complete(slot: Slot, frame: ResponseFrame | null): void {
    if (this.closed) {
      // Answered after the connection closed: the request ends with nothing written.
      if (slot.sink !== null) endRequestTimes(slot, this.limits.clock.monotonicMs());
      return;
    }
    slot.done = true;
    slot.frame = frame;
    this.flushCompleted();
  }

  /**
   * Requests whose answer the socket will not write any more (it closed): answered ones waiting
   * behind an unanswered one, and responses whose write callback has not come. They end now.
   */
  private endUnsent(): void {
    const now = this.limits.clock.monotonicMs();
    for (const s of this.slots) if (s.done) endRequestTimes(s, now);
    for (const s of this.sending) endRequestTimes(s, now);
    this.sending = [];
  }

  private flushCompleted(): void {
    let released = 0;
    /** Read once for all the responses this call writes. */
    let now = -1;
    while (this.slots.length > 0 && this.slots[0]!.done) {
      const head = this.slots.shift()!;
      if (now < 0) now = this.limits.clock.monotonicMs();
      // Every write below has exactly one callback (on its last piece), in write order.
      if (head.frame) {
        head.sendStartedAt = now;
        this.sending.push(head);
      } else endRequestTimes(head, now); // no response (acks=0): the request ends when handled, as in Kafka
      if (Buffer.isBuffer(head.frame)) this.socket.write(head.frame, this.onWritten);
      else if (head.frame) {
        // Corked, the pieces leave in one writev. Record sections lent by the fetch buffer pool
        // go back to it once the whole frame is written: nothing reads them after that.
        const lent = head.frame.filter((piece) => dataBuffers.owns(piece));
        const last = lent.length === 0 ? this.onWritten : () => this.writtenAndReturn(lent);
        // Never an empty write: a TLS socket answers one by decrypting and handing out what it
        // has read, at once, and when that happens inside a read's handler the socket still
        // holds the buffer of that read (a request's own, maybe the one being handled).
        const pieces = head.frame.filter((piece) => piece.length > 0);
        this.socket.cork();
        pieces.forEach((piece, i, all) => this.socket.write(piece, i === all.length - 1 ? last : undefined));
        this.socket.uncork();
      }
      // Written at once (the kernel took every byte: the usual case), the request ends now. Its
      // write callback would say the same later: Node defers it to the tick queue, which runs only
      // after every promise continuation this turn has queued (a produce's wakes the fetches
      // parked on its partition, and they are answered first).
      if (head.frame && this.socket.writableLength === 0) endRequestTimes(head, this.limits.clock.monotonicMs());
      head.frame = null; // the socket holds the bytes now; the slot stays in `sending` for its times only
      released += head.reserved;
      head.reserved = 0;
      this.responseBudgetUsed -= head.responseBudget;
    }
    this.lastActive = this.limits.clock.now();
    if (this.ending) {
      this.limits.pool.release(released);
      if (this.slots.length === 0) this.finishEnding();
      return;
    }
    this.grantBudgets();
    this.maybeResume();
    if (this.socket.writableLength > this.limits.maxPendingWriteBytes) this.setPaused(BACKPRESSURE, true);
    // Released last: the pool may wake other connections, better once this one is settled.
    this.limits.pool.release(released);
  }

  private setPaused(reason: number, on: boolean): void {
    if (this.closed) return;
    const before = this.pauseReasons;
    this.pauseReasons = on ? before | reason : before & ~reason;
    if (before === 0 && this.pauseReasons !== 0) {
      this.socket.pause();
      this.partialSince = null;
    } else if (before !== 0 && this.pauseReasons === 0) {
      this.socket.resume();
      // Frames that arrived before the pause are already buffered: no 'data' event brings them.
      this.processBuffered();
    }
  }

  private maybeResume(): void {
    if ((this.pauseReasons & BACKPRESSURE) === 0 || this.closed) return;
    if (this.slots.length < this.limits.maxInFlight && this.socket.writableLength <= this.limits.maxPendingWriteBytes) {
      this.setPaused(BACKPRESSURE, false);
    }
  }
}
