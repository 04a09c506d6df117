// What a request handler is: the contract between the request path (request-handler.ts) and the
// per-API handlers (handlers/). Kept apart from both so that neither imports the other's module.
import { ApiKey, type ApiSpec } from '../protocol/generated/index.js';
import type { Connection, FrameHandler } from '../network/connection.js';
import type { Broker } from './broker.js';

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
