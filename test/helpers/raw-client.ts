import { connect, type Socket } from 'node:net';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { apiByKey } from '../../src/protocol/generated/index.js';
import { requestHeaderVersion, responseHeaderVersion } from '../../src/protocol/headers.js';

/** A minimal Kafka connection built on our own codecs, for poking the broker with exact bytes. */
export class RawClient {
  private buffered = Buffer.alloc(0);
  private waiters: ((frame: Buffer) => void)[] = [];
  private closedFlag = false;
  private closeWaiters: (() => void)[] = [];
  private nextCorrelation = 1;
  /** The client id sent in request headers (quotas are keyed by it). */
  clientId = 'raw-test';

  private constructor(readonly socket: Socket) {
    // Chunks are joined only once a whole frame is there: joining on every chunk is quadratic in
    // the frame size (a 16 MiB fetch response arrives in hundreds of chunks).
    let chunks: Buffer[] = [];
    let chunkBytes = 0;
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      chunkBytes += d.length;
      const needed = this.buffered.length >= 4 ? 4 + this.buffered.readInt32BE(0) : 4;
      if (this.buffered.length + chunkBytes < needed) return;
      this.buffered = Buffer.concat([this.buffered, ...chunks]);
      chunks = [];
      chunkBytes = 0;
      while (this.buffered.length >= 4) {
        const size = this.buffered.readInt32BE(0);
        if (this.buffered.length < 4 + size) break;
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        this.waiters.shift()?.(frame);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closedFlag = true;
      for (const w of this.closeWaiters.splice(0)) w();
    });
  }

  /** Wraps an already connected socket (e.g. one bound to a chosen local address). */
  static wrap(socket: Socket): RawClient {
    return new RawClient(socket);
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Resolves true if the broker closes the connection within the time limit. */
  waitClosed(timeoutMs = 5000): Promise<boolean> {
    if (this.closedFlag) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  nextFrame(timeoutMs = 5000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no response frame')), timeoutMs);
      this.waiters.push((f) => {
        clearTimeout(t);
        resolve(f);
      });
    });
  }

  /** Encodes a request frame with our codecs (header chosen by the API's flexibility). */
  static frame(apiKey: number, version: number, correlationId: number, body: unknown, clientId = 'raw-test'): Buffer {
    const spec = apiByKey.get(apiKey)!;
    const w = new Writer();
    const pos = w.reserveInt32();
    w.int16(apiKey);
    w.int16(version);
    w.int32(correlationId);
    w.nullableString(clientId);
    if (requestHeaderVersion(apiKey, version) >= 2) w.uvarint(0);
    spec.encodeRequest(w, version, body);
    w.patchInt32(pos, w.length - 4);
    return Buffer.from(w.finish());
  }

  async request<T = any>(apiKey: number, version: number, body: unknown, timeoutMs = 5000): Promise<{ correlationId: number; body: T }> {
    const correlationId = this.nextCorrelation++;
    const pending = this.nextFrame(timeoutMs);
    this.writeRaw(RawClient.frame(apiKey, version, correlationId, body, this.clientId));
    const frame = await pending;
    const r = new Reader(frame);
    const cid = r.int32();
    if (responseHeaderVersion(apiKey, version) >= 1) r.skipTaggedFields();
    return { correlationId: cid, body: apiByKey.get(apiKey)!.decodeResponse(r, version) as T };
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Connects to a broker (anything with a port), runs `fn` with the connection and closes it however
 * `fn` ends: for the tests that send one request or a few to one broker and then let go.
 */
export async function withRawClient<T>(broker: { port: number }, fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await RawClient.connect(broker.port);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}
