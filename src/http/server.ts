// The broker's HTTP listener (`http.listeners`, Tributary only): health checks, Prometheus
// metrics, the JSON admin API and the web console (app.ts).
//
// The listener starts before the broker (the CLI opens it first), so that during log recovery
// /healthz already answers and /readyz says "starting"; `attach(broker)` then makes the broker's
// routes live. It binds a plain node:http server at once and loads the Fastify app on the first
// request: the app's modules are a third of the broker's start-up CPU, and a broker that no
// probe or scraper calls never needs them. It sits above broker/ in the layers: the broker never
// knows it exists.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { BrokerConfig } from '../config/config.js';
import type { HttpContext } from './context.js';
import type { HttpApp } from './app.js';
import { systemClock } from '../common/clock.js';

/** Parses `http://host:port` (the registry has checked the syntax). */
export function parseHttpListener(spec: string): { host: string; port: number } {
  const m = /^http:\/\/\[?([^\]/]*?)\]?:(\d+)\/?$/.exec(spec.trim());
  if (!m) throw new Error(`Invalid HTTP listener: ${spec}`);
  return { host: m[1] === '' ? '0.0.0.0' : m[1]!, port: Number(m[2]) };
}

export class HttpListener implements HttpContext {
  private attached: Broker | null = null;
  readonly startedAt = systemClock.now();
  private app: Promise<HttpApp> | null = null;
  private stopping = false;

  private constructor(
    private readonly server: Server,
    readonly logger: Logger,
    readonly url: string,
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.dispatch(req, res));
  }

  get broker(): Broker | null {
    return this.attached && !this.attached.isStopped ? this.attached : null;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /**
   * Listens on the configured `http.listeners` address, or returns null when it is empty.
   * The broker is attached later (attach), so this can run before the logs are opened.
   */
  static async start(config: BrokerConfig, logger: Logger): Promise<HttpListener | null> {
    const spec = config.list('http.listeners')[0];
    if (!spec) return null;
    const { host, port } = parseHttpListener(spec);
    const log = logger.child({ component: 'http' });
    const server = createServer();
    // What Fastify sets on the servers it creates itself: idle keep-alive connections outlive
    // the 60 s idle timeout of common load balancers, which would otherwise race it.
    server.keepAliveTimeout = 72_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    const listener = new HttpListener(server, log, `http://${shownHost}:${actualPort}`);
    log.info({ url: listener.url }, 'http listener started');
    return listener;
  }

  /** Makes the broker's routes live (until the broker stops). */
  attach(broker: Broker): void {
    this.attached = broker;
  }

  /** The Fastify app, built on first use; a failed build is tried again on the next request. */
  private loadApp(): Promise<HttpApp> {
    this.app ??= import('./app.js')
      .then((m) => m.buildHttpApp(this.server, this, this.logger))
      .catch((err: unknown) => {
        this.app = null;
        throw err;
      });
    return this.app;
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    if (this.stopping) {
      res.writeHead(503, { 'content-type': 'application/json', connection: 'close' }).end('{"error":"the HTTP listener is stopping"}');
      return;
    }
    this.loadApp().then(
      (app) => app.handle(req, res),
      (err: unknown) => {
        this.logger.error({ err }, 'HTTP app failed to load');
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"internal error"}');
      },
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const app = this.app ? await this.app.catch(() => null) : null;
    await app?.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
