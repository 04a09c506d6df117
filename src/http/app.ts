// The Fastify app behind the HTTP listener: health checks, Prometheus metrics, the JSON admin API
// and the web console, each a Fastify plugin mounted under its own prefix (see ROUTES): a new one
// is a file exporting `(app, ctx) => void` and one line in that table. server.ts loads this
// module on the first HTTP request, so a broker nobody scrapes never loads Fastify and
// prom-client (a third of its start-up CPU and about 8 MiB).
import type { Server } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import type { HttpContext, HttpRoutes, RequestHandler } from './context.js';
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

function noSchemaCompiler(): never {
  throw new Error('HTTP routes here declare no JSON schemas: no schema compiler is loaded');
}

export interface HttpApp {
  handle: RequestHandler;
  close(): Promise<void>;
}

/** Builds the routes on `server`, which already listens (the listener owns and closes it). */
export async function buildHttpApp(server: Server, ctx: HttpContext, log: Logger): Promise<HttpApp> {
  let handle: RequestHandler | undefined;
  const fastifyLog: FastifyBaseLogger = log;
  const app = Fastify({
    // Fastify neither creates nor listens on the server: it only hands its request handler over.
    serverFactory: (handler) => {
      handle = handler;
      return server;
    },
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
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) log.error({ err }, 'HTTP handler failed');
    void reply.status(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });
  app.setNotFoundHandler((req, reply) => void reply.status(404).send({ error: `no route for ${req.method} ${req.url.split('?')[0]}` }));
  for (const { prefix, routes } of ROUTES) {
    await app.register(
      async (scope) => {
        await routes(scope, ctx);
      },
      { prefix },
    );
  }
  await app.ready();
  if (!handle) throw new Error('Fastify did not hand over its request handler');
  return { handle, close: () => app.close() };
}
