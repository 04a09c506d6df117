// What a request handler is: the contract between the request path (request-handler.ts) and the
// per-API handlers (handlers/). Kept apart from both so that neither imports the other's module.
import { ApiKey, type ApiSpec } from '../protocol/generated/index.js';
import type { Connection, FrameHandler } from '../network/connection.js';
import type { Broker } from './broker.js';
import type { RequestTimes } from '../network/request-times.js';

export interface RequestContext {
  broker: Broker;
  conn: Connection;
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  apis: Map<number, SupportedApi>;
  /** The request path itself: an Envelope's inner request goes through it again. */
  dispatch: FrameHandler;
  /** The request's stamps for RequestMetrics; a handler marks its parks (requestParked). */
  times: RequestTimes;
}

/**
 * The handler parks the request, waiting on others (Kafka's purgatory: a fetch for data, an
 * acks=all produce for the ISR, a JoinGroup for the rebalance): RemoteTimeMs runs from here until
 * requestResumed. Nested or repeated calls keep the first start.
 */
export function requestParked(ctx: RequestContext): void {
  const t = ctx.times;
  if (t.parkedAt < 0) t.parkedAt = ctx.broker.clock.monotonicMs();
}

/** The parked request goes on: the time since requestParked counts as remote, not local. */
export function requestResumed(ctx: RequestContext): void {
  const t = ctx.times;
  if (t.parkedAt < 0) return;
  t.remoteMs += Math.max(0, ctx.broker.clock.monotonicMs() - t.parkedAt);
  t.parkedAt = -1;
}

/** Returned by a handler when the request gets no response at all (acks=0 produce). */
export const NO_RESPONSE: unique symbol = Symbol('no response');

export interface ApiHandler<Req = unknown, Res = unknown> {
  apiKey: number;
  /** Narrower than the schema when a version is not implemented correctly yet. */
  minVersion?: number;
  maxVersion?: number;
  handle(ctx: RequestContext, request: Req): Res | typeof NO_RESPONSE | Promise<Res | typeof NO_RESPONSE>;
}

export interface SupportedApi {
  spec: ApiSpec;
  handler: ApiHandler;
  minVersion: number;
  maxVersion: number;
}

/** ApiVersions entries. Produce keeps advertising v0 because librdkafka needs it (KAFKA-18659). */
export function advertisedVersions(apis: Map<number, SupportedApi>): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return [...apis.values()]
    .sort((a, b) => a.spec.apiKey - b.spec.apiKey)
    .map((a) => ({ apiKey: a.spec.apiKey, minVersion: a.spec.apiKey === ApiKey.Produce ? 0 : a.minVersion, maxVersion: a.maxVersion }));
}
