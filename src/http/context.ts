// What every HTTP route module gets (kept apart from server.ts so route modules do not import it).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';

/** What the routes share: the broker once it has started (null before, and after stop). */
export interface HttpContext {
  readonly broker: Broker | null;
  readonly startedAt: number;
  readonly logger: Logger;
}

export type HttpRoutes = (app: FastifyInstance, ctx: HttpContext) => void | Promise<void>;

/** A node:http request listener: how the listener hands requests to the app. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
