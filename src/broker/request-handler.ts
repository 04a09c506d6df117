import { Reader, Writer } from '../protocol/primitives.js';
import { ApiKey, apiByKey, type ApiSpec } from '../protocol/generated/index.js';
import { decodeRequestHeader, responseHeaderVersion } from '../protocol/headers.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Connection, FrameHandler } from '../network/connection.js';
import type { Broker } from './broker.js';
import { apiHandlers, NO_RESPONSE, type ApiHandler, type RequestContext } from './handlers/index.js';

export interface SupportedApi {
  spec: ApiSpec;
  handler: ApiHandler;
  minVersion: number;
  maxVersion: number;
}

/** What this broker implements, per API key: exactly what ApiVersions advertises. */
export function supportedApis(): Map<number, SupportedApi> {
  const out = new Map<number, SupportedApi>();
  for (const handler of apiHandlers) {
    const spec = apiByKey.get(handler.apiKey);
    if (!spec) throw new Error(`No schema for API key ${handler.apiKey}`);
    const maxVersion = Math.min(handler.maxVersion ?? spec.maxVersion, spec.latestVersionUnstable ? spec.maxVersion - 1 : spec.maxVersion);
    out.set(handler.apiKey, { spec, handler, minVersion: handler.minVersion ?? spec.minVersion, maxVersion });
  }
  return out;
}

/** ApiVersions entries. Produce keeps advertising v0 because librdkafka needs it (KAFKA-18659). */
export function advertisedVersions(apis: Map<number, SupportedApi>): { apiKey: number; minVersion: number; maxVersion: number }[] {
  return [...apis.values()]
    .sort((a, b) => a.spec.apiKey - b.spec.apiKey)
    .map((a) => ({ apiKey: a.spec.apiKey, minVersion: a.spec.apiKey === ApiKey.Produce ? 0 : a.minVersion, maxVersion: a.maxVersion }));
}

function encodeFrame(apiKey: number, apiVersion: number, correlationId: number, spec: ApiSpec, body: unknown): Buffer {
  const w = new Writer();
  const sizePos = w.reserveInt32();
  w.int32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) >= 1) w.uvarint(0);
  spec.encodeResponse(w, apiVersion, body);
  w.patchInt32(sizePos, w.length - 4);
  return w.finish();
}

/** KIP-511: a client newer than us gets our version table in a v0 response, so it can retry lower. */
function unsupportedApiVersionsFrame(correlationId: number, apis: Map<number, SupportedApi>): Buffer {
  const spec = apiByKey.get(ApiKey.ApiVersions)!;
  return encodeFrame(ApiKey.ApiVersions, 0, correlationId, spec, {
    errorCode: ErrorCode.UNSUPPORTED_VERSION,
    apiKeys: advertisedVersions(apis),
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  });
}

/** Turns frames into typed requests, runs the API's handler, and frames its typed response. */
export function createRequestHandler(broker: Broker): FrameHandler {
  const apis = supportedApis();
  return (frame: Buffer, conn: Connection) => {
    const r = new Reader(frame);
    const header = decodeRequestHeader(r);
    conn.clientId = header.clientId;
    const api = apis.get(header.apiKey);
    if (!api) {
      conn.abort('unknown or unsupported API key', { apiKey: header.apiKey, apiVersion: header.apiVersion });
      return null;
    }
    if (header.apiVersion < api.minVersion || header.apiVersion > api.maxVersion) {
      if (header.apiKey === ApiKey.ApiVersions && header.apiVersion > api.maxVersion) {
        return unsupportedApiVersionsFrame(header.correlationId, apis);
      }
      conn.abort('unsupported API version', { apiKey: header.apiKey, apiVersion: header.apiVersion });
      return null;
    }
    const request = api.spec.decodeRequest(r, header.apiVersion);
    const ctx: RequestContext = {
      broker,
      conn,
      apiKey: header.apiKey,
      apiVersion: header.apiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
      apis,
    };
    const finish = (body: unknown): Buffer | null =>
      body === NO_RESPONSE ? null : encodeFrame(header.apiKey, header.apiVersion, header.correlationId, api.spec, body);
    const result = api.handler.handle(ctx, request);
    return result instanceof Promise ? result.then(finish) : finish(result);
  };
}
