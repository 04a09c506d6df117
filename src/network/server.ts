import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Connection, type ConnectionLimits, type FrameHandler } from './connection.js';

export interface ListenerOptions extends ConnectionLimits {
  host: string;
  port: number;
  idleTimeoutMs: number;
}

/** A TCP listener that frames Kafka requests and tracks its connections. */
export class KafkaListener {
  private server: Server | null = null;
  private readonly connections = new Set<Connection>();
  private idleSweep: NodeJS.Timeout | null = null;
  port = 0;

  constructor(
    private readonly options: ListenerOptions,
    private readonly handler: FrameHandler,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
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
    const every = Math.max(10, Math.min(this.options.idleTimeoutMs / 4, 30_000));
    this.idleSweep = setInterval(() => this.closeIdle(), every);
    this.idleSweep.unref();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: Socket): void {
    const conn = new Connection(socket, this.handler, this.options, this.logger, (c) => this.connections.delete(c));
    this.connections.add(conn);
  }

  private closeIdle(): void {
    const deadline = Date.now() - this.options.idleTimeoutMs;
    for (const conn of this.connections) {
      if (conn.lastActive < deadline && conn.inFlight === 0) {
        this.logger.debug({ conn: conn.id, remote: conn.remote }, 'closing idle connection');
        conn.close();
      }
    }
  }

  async stop(): Promise<void> {
    if (this.idleSweep) clearInterval(this.idleSweep);
    const server = this.server;
    this.server = null;
    for (const conn of this.connections) conn.close();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
