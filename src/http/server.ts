// The broker's HTTP listener (`http.listeners`, Tributary only): one Fastify instance serving
// health checks, Prometheus metrics and the JSON admin API, and later the REST proxy and the
// schema registry. Each feature is a Fastify plugin mounted under its own prefix (see ROUTES):
// a new one is a file exporting `(app, ctx) => void` and one line in that table.
//
// The listener starts before the broker (the CLI opens it first), so that during log recovery
// /healthz already answers and /readyz says "starting"; `attach(broker)` then makes the broker's
// routes live. It sits above broker/ in the layers: the broker never knows it exists.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { BrokerConfig } from '../config/config.js';
import type { HttpContext, HttpRoutes } from './context.js';
import { systemClock } from '../common/clock.js';
import { healthRoutes } from './health.js';
import { metricsRoutes } from './metrics.js';
import { adminApiRoutes } from './admin-api.js';
import { consoleRoutes } from './console.js';

/**
 * Mount points. Prefixes are disjoint so later APIs slot in without clashing: the REST proxy
 * (Confluent's is /v3/clusters/...) and the schema registry (/subjects, /schemas, /config) get
 * their own rows; the web console takes `/`.
 */
const ROUTES: { prefix: string; routes: HttpRoutes }[] = [
  { prefix: '', routes: healthRoutes }, // /healthz, /readyz
  { prefix: '', routes: metricsRoutes }, // /metrics
  { prefix: '/api/v1', routes: adminApiRoutes }, // the admin API: cluster, topics, messages, groups, lag (JSON)
  { prefix: '', routes: consoleRoutes }, // the web console: / and /assets/*
];

/** Parses `http://host:port` (the registry has checked the syntax). */
export function parseHttpListener(spec: string): { host: string; port: number } {
  const m = /^http:\/\/\[?([^\]/]*?)\]?:(\d+)\/?$/.exec(spec.trim());
  if (!m) throw new Error(`Invalid HTTP listener: ${spec}`);
  return { host: m[1] === '' ? '0.0.0.0' : m[1]!, port: Number(m[2]) };
}

function noSchemaCompiler(): never {
  throw new Error('HTTP routes here declare no JSON schemas: no schema compiler is loaded');
}

export class HttpListener implements HttpContext {
  private attached: Broker | null = null;
  readonly startedAt = systemClock.now();

  private constructor(
    private readonly app: FastifyInstance,
    readonly logger: Logger,
    readonly url: string,
  ) {}

  get broker(): Broker | null {
    return this.attached && !this.attached.isStopped ? this.attached : null;
  }

  get port(): number {
    const address = this.app.server.address();
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
    const fastifyLog: FastifyBaseLogger = log;
    const app = Fastify({
      loggerInstance: fastifyLog,
      // Scrapes and probes every few seconds would drown the broker's log.
      logController: new LogController({ disableRequestLogging: true }),
      // Telemetry pushes and the console's produce form are the largest bodies so far.
      bodyLimit: 8 * 1024 * 1024,
      return503OnClosing: true,
      // No route declares a JSON schema. Left to itself Fastify builds Ajv and fast-json-stringify
      // compilers anyway, loading three copies of Ajv: about a third of the broker's start-up CPU.
      schemaController: { compilersFactory: { buildValidator: noSchemaCompiler, buildSerializer: noSchemaCompiler } },
    });
    // eslint-disable-next-line prefer-const -- assigned once the app listens; the routes read it later
    let listener: HttpListener;
    app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
      if (status >= 500) log.error({ err }, 'HTTP handler failed');
      void reply.status(status).send({ error: status >= 500 ? 'internal error' : err.message });
    });
    app.setNotFoundHandler((req, reply) => void reply.status(404).send({ error: `no route for ${req.method} ${req.url.split('?')[0]}` }));
    const ctx: HttpContext = {
      get broker() {
        return listener.broker;
      },
      get startedAt() {
        return listener.startedAt;
      },
      logger: log,
    };
    for (const { prefix, routes } of ROUTES) {
      await app.register(
        async (scope) => {
          await routes(scope, ctx);
        },
        { prefix },
      );
    }
    await app.listen({ host, port });
    const address = app.server.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    const shownHost = host.includes(':') ? `[${host}]` : host;
    listener = new HttpListener(app, log, `http://${shownHost}:${actualPort}`);
    log.info({ url: listener.url }, 'http listener started');
    return listener;
  }

  /** Makes the broker's routes live (until the broker stops). */
  attach(broker: Broker): void {
    this.attached = broker;
  }

  async stop(): Promise<void> {
    await this.app.close();
  }
}
