// One TCP connection to one Kafka broker, speaking the protocol through our generated codecs.
//
// - Framing: int32 size prefix; frames are cut from the socket stream without copying twice.
// - Pipelining: any number of requests may be in flight; answers are matched by correlation id
//   (Kafka answers in order on a connection, but matching by id costs nothing and catches bugs).
// - On connect, ApiVersions (v3, or lower per KIP-511 when the broker answers UNSUPPORTED_VERSION
//   with its own table) learns the broker's version range per API; each request then uses the
//   highest version both sides support, unless the caller pins one.
// - Failures are KafkaClientErrors carrying Kafka error names.
import { connect as netConnect, type Socket } from 'node:net';
import { ApiKey, apiByKey, type ApiVersionsResponse } from '../protocol/generated/index.js';
import { encodeRequestFrame, responseHeaderVersion } from '../protocol/headers.js';
import { Reader, Writer } from '../protocol/primitives.js';
import { errorName, ErrorCode } from '../protocol/errors.js';
import { KafkaClientError } from './errors.js';
import { saslClient, type ClientSecurity } from './sasl.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId?: string;
  /** Bound on TCP connect plus the ApiVersions exchange. */
  connectTimeoutMs?: number;
  /** Default bound on each request's answer (a Fetch adds its own maxWaitMs on top). */
  requestTimeoutMs?: number;
  /** TLS and SASL (security.protocol and its settings); unset: PLAINTEXT. */
  security?: ClientSecurity;
}

export interface RequestOptions {
  /** Use exactly this version (fails with UNSUPPORTED_VERSION if the broker lacks it). */
  version?: number;
  /** Never use a version above this one (for callers that only build bodies up to it). */
  maxVersion?: number;
  /** Overrides the connection's request timeout for this request. */
  timeoutMs?: number;
  /** acks=0 produce: the broker sends nothing back; resolves with undefined once written. */
  noResponse?: boolean;
}

export interface VersionRange {
  minVersion: number;
  maxVersion: number;
}

/**
 * Highest version this client speaks where the (Kafka 4.4) schemas go further: the newer versions
 * change the bodies it builds (topic ids instead of names, new semantics).
 */
const CLIENT_MAX_VERSION = new Map<number, number>([
  [ApiKey.Produce, 12],
  [ApiKey.Fetch, 17],
  [ApiKey.ListOffsets, 10],
  [ApiKey.OffsetCommit, 9],
  [ApiKey.OffsetFetch, 9],
  [ApiKey.TxnOffsetCommit, 5],
  [ApiKey.InitProducerId, 5],
  [ApiKey.WriteTxnMarkers, 2],
  [ApiKey.ListTransactions, 1],
]);

/** A request body, or a function building it for the version the connection negotiated. */
export type BodyFor<T> = T | ((version: number) => T);

interface Pending {
  apiKey: number;
  version: number;
  resolve(body: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

const CLIENT_SOFTWARE_NAME = 'tributary';
const CLIENT_SOFTWARE_VERSION = '0.1.0';

export class Connection {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  private readonly requestTimeoutMs: number;
  private readonly security: ClientSecurity | undefined;
  private socket: Socket | null = null;
  private nextCorrelationId = 1;
  private readonly pending = new Map<number, Pending>();
  private chunks: Buffer[] = [];
  private buffered = 0;
  private closedError: KafkaClientError | null = null;
  /** The broker's supported version range per API key, from ApiVersions. */
  readonly brokerVersions = new Map<number, VersionRange>();
  private readonly writer = new Writer(1024);

  private constructor(opts: ConnectionOptions) {
    this.host = opts.host;
    this.port = opts.port;
    this.clientId = opts.clientId ?? 'tributary-client';
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.security = opts.security;
  }

  /** Opens the connection and negotiates API versions. */
  static async connect(opts: ConnectionOptions): Promise<Connection> {
    const conn = new Connection(opts);
    const timeoutMs = opts.connectTimeoutMs ?? 10_000;
    await conn.open(timeoutMs);
    try {
      await conn.negotiateVersions(timeoutMs);
      const protocol = opts.security?.protocol ?? 'PLAINTEXT';
      if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') await conn.authenticate(timeoutMs);
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  private async open(timeoutMs: number): Promise<void> {
    const protocol = this.security?.protocol ?? 'PLAINTEXT';
    const secure = protocol === 'SSL' || protocol === 'SASL_SSL';
    // node:tls is loaded by TLS connections only: a broker's inter-broker client and the CLI over
    // PLAINTEXT never need its ~0.5 MiB.
    const tlsConnect = secure ? (await import('node:tls')).connect : null;
    return new Promise((resolve, reject) => {
      const socket: Socket = tlsConnect
        ? tlsConnect({ servername: /^[\d.:]+$/.test(this.host) ? undefined : this.host, ...this.security?.tls, host: this.host, port: this.port })
        : netConnect({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new KafkaClientError('NETWORK_EXCEPTION', `connection to ${this.address} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        this.socket = socket;
        socket.on('data', (chunk: Buffer) => this.onData(chunk));
        socket.on('close', () => this.fail(new KafkaClientError('NETWORK_EXCEPTION', `connection to ${this.address} closed`)));
        resolve();
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const e = new KafkaClientError('NETWORK_EXCEPTION', `cannot connect to ${this.address}: ${err.code ?? err.message}`);
        if (this.socket === null) reject(e);
        else this.fail(e);
      });
    });
  }

  /** ApiVersions v3 first; on UNSUPPORTED_VERSION retry with the highest version the broker listed (KIP-511). */
  private async negotiateVersions(timeoutMs: number): Promise<void> {
    const ours = apiByKey.get(ApiKey.ApiVersions)!;
    let version = Math.min(3, ours.maxVersion);
    for (let attempt = 0; attempt < 3; attempt++) {
      const body = { clientSoftwareName: CLIENT_SOFTWARE_NAME, clientSoftwareVersion: CLIENT_SOFTWARE_VERSION };
      const res = (await this.send(
        ApiKey.ApiVersions,
        version,
        version >= 3 ? body : { clientSoftwareName: '', clientSoftwareVersion: '' },
        timeoutMs,
      )) as ApiVersionsResponse;
      if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
        const theirs = res.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
        const next = theirs ? Math.min(theirs.maxVersion, version - 1) : 0;
        if (next < 0 || next >= version) break;
        version = next;
        continue;
      }
      if (res.errorCode !== 0) throw new KafkaClientError(errorName(res.errorCode), `ApiVersions failed on ${this.address}`, res.errorCode);
      for (const k of res.apiKeys) this.brokerVersions.set(k.apiKey, { minVersion: k.minVersion, maxVersion: k.maxVersion });
      return;
    }
    throw new KafkaClientError('UNSUPPORTED_VERSION', `${this.address} supports no ApiVersions version we can speak`);
  }

  /** SaslHandshake v1 then SaslAuthenticate rounds until the mechanism is satisfied (KIP-152). */
  private async authenticate(timeoutMs: number): Promise<void> {
    const creds = this.security?.sasl;
    if (!creds) throw new KafkaClientError('ILLEGAL_SASL_STATE', `${this.address}: SASL needs a mechanism and credentials`);
    const handshake = (await this.send(ApiKey.SaslHandshake, this.pickVersion(ApiKey.SaslHandshake, { maxVersion: 1 }), { mechanism: creds.mechanism }, timeoutMs)) as {
      errorCode: number;
      mechanisms: string[];
    };
    if (handshake.errorCode !== ErrorCode.NONE) {
      throw new KafkaClientError(
        errorName(handshake.errorCode),
        `${this.address} does not offer ${creds.mechanism} (offers ${handshake.mechanisms.join(', ')})`,
        handshake.errorCode,
      );
    }
    const client = saslClient(creds);
    let token: Buffer | null = client.initial();
    const version = this.pickVersion(ApiKey.SaslAuthenticate);
    while (token !== null) {
      const res = (await this.send(ApiKey.SaslAuthenticate, version, { authBytes: token }, timeoutMs)) as {
        errorCode: number;
        errorMessage: string | null;
        authBytes: Buffer;
      };
      if (res.errorCode !== ErrorCode.NONE) {
        throw new KafkaClientError(errorName(res.errorCode), `authentication to ${this.address} failed: ${res.errorMessage ?? errorName(res.errorCode)}`, res.errorCode);
      }
      try {
        token = client.respond(res.authBytes);
      } catch (err) {
        throw new KafkaClientError('SASL_AUTHENTICATION_FAILED', `authentication to ${this.address} failed: ${(err as Error).message}`);
      }
    }
  }

  /** Whether the broker advertises this API at all. */
  supports(apiKey: number): boolean {
    return this.brokerVersions.has(apiKey);
  }

  /** The version a request would use: the highest both sides support (capped by maxVersion), or the pinned one. */
  pickVersion(apiKey: number, opts: { version?: number; maxVersion?: number } = {}): number {
    const ours = apiByKey.get(apiKey);
    const name = ours?.name ?? `API ${apiKey}`;
    if (!ours) throw new KafkaClientError('UNSUPPORTED_VERSION', `unknown API key ${apiKey}`);
    const theirs = this.brokerVersions.get(apiKey);
    if (!theirs) throw new KafkaClientError('UNSUPPORTED_VERSION', `${this.address} does not support ${name}`);
    const lo = Math.max(ours.minVersion, theirs.minVersion);
    let hi = Math.min(ours.maxVersion, theirs.maxVersion, CLIENT_MAX_VERSION.get(apiKey) ?? Infinity);
    if (opts.maxVersion !== undefined) hi = Math.min(hi, opts.maxVersion);
    if (opts.version !== undefined) {
      if (opts.version < lo || opts.version > hi) {
        throw new KafkaClientError('UNSUPPORTED_VERSION', `${name} v${opts.version} is outside the usable range v${lo}-v${hi} of ${this.address}`);
      }
      return opts.version;
    }
    if (hi < lo) throw new KafkaClientError('UNSUPPORTED_VERSION', `no common ${name} version with ${this.address} (broker v${theirs.minVersion}-v${theirs.maxVersion})`);
    return hi;
  }

  /** Sends a request at the negotiated version and resolves with the decoded response body. */
  async request<Res = unknown, Req = unknown>(apiKey: number, body: BodyFor<Req>, opts: RequestOptions = {}): Promise<Res> {
    const version = this.pickVersion(apiKey, opts);
    const built = typeof body === 'function' ? (body as (v: number) => Req)(version) : body;
    return (await this.send(apiKey, version, built, opts.timeoutMs ?? this.requestTimeoutMs, opts.noResponse)) as Res;
  }

  /** Like request() but also returns the version used. */
  async requestWithVersion<Res = unknown, Req = unknown>(apiKey: number, body: BodyFor<Req>, opts: RequestOptions = {}): Promise<{ version: number; body: Res }> {
    const version = this.pickVersion(apiKey, opts);
    const built = typeof body === 'function' ? (body as (v: number) => Req)(version) : body;
    return { version, body: (await this.send(apiKey, version, built, opts.timeoutMs ?? this.requestTimeoutMs, opts.noResponse)) as Res };
  }

  private send(apiKey: number, version: number, body: unknown, timeoutMs: number, noResponse = false): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const socket = this.socket!;
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = (this.nextCorrelationId + 1) & 0x7fffffff;
    let frame: Buffer;
    try {
      this.writer.reset();
      // Copy: the writer's buffer is reused by the next request while the socket may still hold this one.
      frame = Buffer.from(encodeRequestFrame(apiKey, version, correlationId, this.clientId, body, this.writer));
    } catch (err) {
      return Promise.reject(new KafkaClientError('INVALID_REQUEST', `cannot encode ${apiByKey.get(apiKey)?.name} v${version}: ${(err as Error).message}`));
    }
    if (noResponse) {
      return new Promise((resolve, reject) => {
        socket.write(frame, (err) => (err ? reject(new KafkaClientError('NETWORK_EXCEPTION', err.message)) : resolve(undefined)));
      });
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new KafkaClientError('REQUEST_TIMED_OUT', `${apiByKey.get(apiKey)?.name} to ${this.address} got no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(correlationId, { apiKey, version, resolve, reject, timer });
      socket.write(frame);
    });
  }

  /**
   * Chunks are joined only once a whole frame is there: joining them on every read is quadratic
   * in the frame size (a follower's 1 MiB fetch response arrives in 16 reads or more, and was
   * copied 8 times over).
   */
  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
      const size = this.chunks[0]!.readInt32BE(0);
      if (size < 4) {
        this.fail(new KafkaClientError('CORRUPT_MESSAGE', `bad frame size ${size} from ${this.address}`));
        this.socket?.destroy();
        return;
      }
      if (this.buffered < 4 + size) return;
      if (this.chunks[0]!.length < 4 + size) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
      const buf = this.chunks[0]!;
      const frame = buf.subarray(4, 4 + size);
      const rest = buf.subarray(4 + size);
      if (rest.length > 0) this.chunks[0] = rest;
      else this.chunks.shift();
      this.buffered -= 4 + size;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const p = this.pending.get(correlationId);
    if (!p) return; // timed out earlier: drop the late answer
    this.pending.delete(correlationId);
    clearTimeout(p.timer);
    try {
      const r = new Reader(frame, 4);
      if (responseHeaderVersion(p.apiKey, p.version) >= 1) r.skipTaggedFields();
      const spec = apiByKey.get(p.apiKey)!;
      // KIP-511: a broker that does not know our ApiVersions version answers UNSUPPORTED_VERSION
      // with its table in the v0 layout (the error code comes first in every version).
      const version = p.apiKey === ApiKey.ApiVersions && frame.length >= r.offset + 2 && frame.readInt16BE(r.offset) === ErrorCode.UNSUPPORTED_VERSION ? 0 : p.version;
      p.resolve(spec.decodeResponse(r, version));
    } catch (err) {
      p.reject(new KafkaClientError('CORRUPT_MESSAGE', `cannot decode ${apiByKey.get(p.apiKey)?.name} v${p.version} response: ${(err as Error).message}`));
    }
  }

  private fail(err: KafkaClientError): void {
    if (!this.closedError) this.closedError = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }

  /** Closes the socket; requests in flight fail with NETWORK_EXCEPTION. */
  close(): void {
    this.fail(new KafkaClientError('NETWORK_EXCEPTION', `connection to ${this.address} closed by the client`));
    this.socket?.destroy();
  }
}
