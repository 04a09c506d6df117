import { createServer, type Server, type Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import { Connection, type ConnectionLimits, type FrameHandler } from './connection.js';
import type { Clock } from '../common/clock.js';

/** Connection counts allowed (max.connections, max.connections.per.ip and its overrides). */
export interface ConnectionQuotas {
  maxConnections: number;
  maxPerIp: number;
  /** Per-IP exceptions to maxPerIp, keyed by normalized address. */
  perIpOverrides: ReadonlyMap<string, number>;
}

export interface ListenerOptions extends ConnectionLimits {
  /** The listener's name (listeners' NAME://) and security protocol, given to each connection. */
  name: string;
  securityProtocol: string;
  /** TLS settings (SSL and SASL_SSL listeners); unset, the listener is plain TCP. */
  tls?: TlsOptions;
  host: string;
  port: number;
  idleTimeoutMs: number;
  /** A request must arrive whole within this long after its first bytes (slowloris guard). */
  requestReadTimeoutMs: number;
  /** Read at every accept, so dynamic config changes apply to the next connection. */
  connectionQuotas: () => ConnectionQuotas;
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are the same client for per-IP counting. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** Parses max.connections.per.ip.overrides: `host:count,host:count` (IPv6 addresses may be bracketed). */
export function parsePerIpOverrides(spec: string | null): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (spec ?? '').split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const colon = item.lastIndexOf(':');
    const count = Number(item.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(count) || count < 0) throw new Error(`Invalid max.connections.per.ip.overrides entry: ${item}`);
    out.set(normalizeAddress(item.slice(0, colon).replace(/^\[|\]$/g, '')), count);
  }
  return out;
}

/** At most one line per second for a repeated event (a connection flood must not flood the log). */
class RateLimitedLog {
  private last = 0;
  private suppressed = 0;
  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}
  warn(detail: Record<string, unknown>, msg: string): void {
    const now = this.clock.now();
    if (now - this.last < 1000) {
      this.suppressed++;
      return;
    }
    this.last = now;
    this.logger.warn({ ...detail, suppressedSinceLast: this.suppressed }, msg);
    this.suppressed = 0;
  }
}

/** A TCP listener that admits connections within their limits, frames Kafka requests and tracks connections. */
export class KafkaListener {
  private server: Server | TlsServer | null = null;
  private readonly connections = new Set<Connection>();
  private readonly perIp = new Map<string, number>();
  private sweep: NodeJS.Timeout | null = null;
  private readonly rejections: RateLimitedLog;
  /** Connections closed right after accept because of a limit, since start. */
  rejectedConnections = 0;
  /** TLS handshakes that failed (plaintext clients on a TLS port, bad certificates), since start. */
  tlsFailures = 0;
  port = 0;

  constructor(
    private readonly options: ListenerOptions,
    private readonly handler: FrameHandler,
    private readonly logger: Logger,
  ) {
    this.rejections = new RateLimitedLog(logger, options.clock);
  }

  async start(): Promise<void> {
    const tlsOptions = this.options.tls;
    let server: Server | TlsServer;
    if (tlsOptions) {
      // Loaded only for a TLS listener: node's TLS stack costs a plaintext broker ~0.5 MiB idle.
      const { createServer: createTlsServer } = await import('node:tls');
      // The handshake must finish within the request read timeout (a slow TLS hello is a slowloris).
      // The connection is made in 'secureConnection', synchronously: no plaintext has come out
      // yet, so it can read into its own buffers too (user-buffer-reads.ts).
      const tlsServer = createTlsServer({ ...tlsOptions, handshakeTimeout: Math.min(this.options.requestReadTimeoutMs, 120_000) }, (socket) => this.accept(socket));
      // A plaintext client, a garbage hello, a refused client certificate: one (rate-limited) line, then the socket is gone.
      tlsServer.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
        this.tlsFailures++;
        this.rejections.warn(
          { listener: this.options.name, remote: `${normalizeAddress(socket.remoteAddress)}:${socket.remotePort}`, err: err.code ?? err.message },
          'TLS handshake failed; connection closed',
        );
        socket.destroy();
      });
      server = tlsServer;
    } else {
      // Accepted paused: the connection can then read into its own buffers (user-buffer-reads.ts).
      server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    }
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : this.options.port;
    // One sweep for all connections is cheaper than a timer per socket.
    const shortest = Math.min(this.options.idleTimeoutMs, this.options.requestReadTimeoutMs);
    const every = Math.max(10, Math.min(shortest / 4, 30_000));
    this.sweep = setInterval(() => this.closeStale(), every);
    this.sweep.unref();
  }

  get name(): string {
    return this.options.name;
  }

  get securityProtocol(): string {
    return this.options.securityProtocol;
  }

  /**
   * New TLS key material (certificate reload): connections accepted from now on use it, the
   * open ones keep theirs, as Kafka's dynamic keystore update does.
   */
  setSecureContext(options: TlsOptions): void {
    if (!this.options.tls || !this.server) throw new Error(`listener ${this.options.name} is not a TLS listener`);
    (this.server as TlsServer).setSecureContext(options);
    this.options.tls = { ...this.options.tls, ...options };
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: Socket): void {
    const ip = normalizeAddress(socket.remoteAddress);
    const quotas = this.options.connectionQuotas();
    const fromIp = this.perIp.get(ip) ?? 0;
    const ipLimit = quotas.perIpOverrides.get(ip) ?? quotas.maxPerIp;
    let refused: string | null = null;
    if (fromIp >= ipLimit) refused = `too many connections from ${ip} (max.connections.per.ip ${ipLimit})`;
    else if (this.connections.size >= quotas.maxConnections) refused = `too many connections (max.connections ${quotas.maxConnections})`;
    if (refused) {
      this.rejectedConnections++;
      this.rejections.warn({ remote: `${ip}:${socket.remotePort}`, connections: this.connections.size, fromIp }, `refusing connection: ${refused}`);
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    this.perIp.set(ip, fromIp + 1);
    const conn = new Connection(socket, this.handler, this.options, this.logger, (c) => {
      if (!this.connections.delete(c)) return;
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
    });
    conn.listenerName = this.options.name;
    conn.securityProtocol = this.options.securityProtocol;
    this.connections.add(conn);
    this.onConnection?.(conn);
  }

  /** Called for each admitted connection (the broker sets its principal and SASL state). */
  onConnection: ((conn: Connection) => void) | null = null;

  private closeStale(): void {
    const now = this.options.clock.now();
    const idleDeadline = now - this.options.idleTimeoutMs;
    const readDeadline = now - this.options.requestReadTimeoutMs;
    for (const conn of this.connections) {
      if (conn.partialSince !== null && conn.partialSince < readDeadline) {
        conn.abort('request not received in time', { requestReadTimeoutMs: this.options.requestReadTimeoutMs });
      } else if (conn.lastActive < idleDeadline && (conn.inFlight === 0 || conn.unsentBytes > 0)) {
        // Requests in flight keep a connection (a long poll may outlast the idle timeout), unless
        // answers are stuck in its socket: then the client has stopped reading.
        this.logger.debug({ conn: conn.id, remote: conn.remote }, 'closing idle connection');
        conn.close();
      }
    }
  }

  async stop(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    const server = this.server;
    this.server = null;
    for (const conn of this.connections) conn.close();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
