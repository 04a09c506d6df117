import { Reader, Writer } from '../protocol/primitives.js';
import { ApiKey, apiByKey, type ApiSpec, type FetchRequest } from '../protocol/generated/index.js';
import { decodeRequestHeader, responseHeaderVersion } from '../protocol/headers.js';
import { ErrorCode } from '../protocol/errors.js';
import type { Connection, FrameHandler, ResponseFrame } from '../network/connection.js';
import type { Broker } from './broker.js';
import { advertisedVersions, NO_RESPONSE, type RequestContext, type SupportedApi } from './api.js';
import { apiHandlers } from './handlers/index.js';
import { fetchReplicaId } from './handlers/fetch.js';
import { errorResponseBody } from './error-response.js';
import { clientThrottles, enforceQuotas } from './throttle.js';
import { saslRawToken } from './handlers/sasl.js';
import type { ApiMetrics } from './metrics.js';
import { requestRefusal } from './security/request-checks.js';
import { endRequestTimes, newRequestTimes, type RequestTimes } from '../network/request-times.js';

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

/** Record sections at least this large go to the socket as they are, not copied into the frame. */
const SPLICE_MIN_BYTES = 16 * 1024;

function encodeFrame(apiKey: number, apiVersion: number, correlationId: number, spec: ApiSpec, body: unknown): ResponseFrame {
  const w = new Writer(256, { spliceMinBytes: SPLICE_MIN_BYTES });
  const sizePos = w.reserveInt32();
  w.int32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) >= 1) w.uvarint(0);
  spec.encodeResponse(w, apiVersion, body);
  w.patchInt32(sizePos, w.length - 4);
  const chunks = w.finishChunks();
  return chunks.length === 1 ? chunks[0]! : chunks;
}

/** KIP-511: a client newer than us gets our version table in a v0 response, so it can retry lower. */
function unsupportedApiVersionsFrame(correlationId: number, apis: Map<number, SupportedApi>): ResponseFrame {
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

/**
 * Frames a response carrying a throttle time. Versions whose schema has no throttle_time_ms
 * (the generated encoder refuses a non-zero value there) are framed without it.
 */
function encodeThrottled(apiKey: number, apiVersion: number, correlationId: number, spec: ApiSpec, body: unknown, throttleMs: number): ResponseFrame {
  const b = body as { throttleTimeMs?: number };
  if (throttleMs <= 0 || typeof b.throttleTimeMs !== 'number') return encodeFrame(apiKey, apiVersion, correlationId, spec, body);
  const original = b.throttleTimeMs;
  b.throttleTimeMs = Math.max(original, throttleMs);
  try {
    return encodeFrame(apiKey, apiVersion, correlationId, spec, body);
  } catch {
    b.throttleTimeMs = original;
    return encodeFrame(apiKey, apiVersion, correlationId, spec, body);
  }
}

/**
 * Counts every non-zero `errorCode` in a response, top level and per topic, partition or group,
 * as Kafka's ErrorsPerSec does with a response's error counts. Record bytes are not entered.
 */
function countErrorCodes(value: unknown, m: ApiMetrics, depth: number): void {
  if (depth > 8 || value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return;
  if (Array.isArray(value)) {
    for (const v of value) if (v !== null && typeof v === 'object') countErrorCodes(v, m, depth + 1);
    return;
  }
  const o = value as Record<string, unknown>;
  for (const k in o) {
    const v = o[k];
    if (k === 'errorCode') {
      if (typeof v === 'number' && v !== 0) m.error(v);
    } else if (v !== null && typeof v === 'object') countErrorCodes(v, m, depth + 1);
  }
}

/** Turns frames into typed requests, runs the API's handler, and frames its typed response. */
export function createRequestHandler(broker: Broker): FrameHandler {
  const apis = supportedApis();
  // One metrics slot per API, created up front: the hot path only bumps numbers.
  const apiMetrics = new Map<number, ApiMetrics>();
  for (const [key, api] of apis) apiMetrics.set(key, broker.metrics.api(key, api.spec.name));
  const metrics = broker.metrics;
  const dispatch: FrameHandler = (frame: Buffer, conn: Connection, slotTimes?: RequestTimes) => {
    // The end of the request's queue time (RequestQueueTimeMs), and the start of the handling
    // time quotas charge (request_percentage).
    const startedAt = broker.clock.monotonicMs();
    const quotas = broker.quotas.enabled;
    // After a SaslHandshake v0 the client sends bare SASL tokens, not requests.
    if (broker.security.expectsRawToken(conn)) return saslRawToken(broker, conn, frame);
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
        // Kafka lets an ApiVersions of any version through its request channel (KIP-511), so
        // this answer is a request like others in its RequestMetrics: counted, timed, and its
        // UNSUPPORTED_VERSION in ErrorsPerSec. Any other unsupported version or unknown API
        // closes the connection there before a request exists, and is not counted here either.
        const out = unsupportedApiVersionsFrame(header.correlationId, apis);
        const m = apiMetrics.get(ApiKey.ApiVersions)!;
        m.error(ErrorCode.UNSUPPORTED_VERSION);
        const times = slotTimes ?? newRequestTimes(startedAt, frame.length);
        times.startedAt = startedAt;
        times.completedAt = broker.clock.monotonicMs();
        times.sink = m;
        if (slotTimes === undefined) endRequestTimes(times, times.completedAt);
        return out;
      }
      conn.abort('unsupported API version', { apiKey: header.apiKey, apiVersion: header.apiVersion });
      return null;
    }
    // Before SASL authentication only ApiVersions and the SASL requests are served (Kafka's rule).
    const refused = broker.security.admit(conn, header.apiKey);
    if (refused !== null) {
      conn.abort(refused, { apiKey: header.apiKey, apiVersion: header.apiVersion, listener: conn.listenerName });
      return null;
    }
    const m = apiMetrics.get(header.apiKey)!;
    const request: unknown = api.spec.decodeRequest(r, header.apiVersion);
    const fetchSplit = header.apiKey !== ApiKey.Fetch ? null : fetchReplicaId(request as FetchRequest, header.apiVersion) >= 0 ? metrics.fetchFollower : metrics.fetchConsumer;
    // A request without a socket (an Envelope's inner one, the HTTP API's) ends when answered.
    const detached = slotTimes === undefined;
    const times = slotTimes ?? newRequestTimes(startedAt, frame.length);
    times.startedAt = startedAt;
    // From here on the request is counted (and timed) once, when it ends: with its response
    // written, on the connection (or here, when detached).
    times.sink = fetchSplit ?? m;
    metrics.requestsInFlight++;
    let answered = false;
    /** The request leaves the request queue once, when it is answered (or fails). */
    const answer = () => {
      if (answered) return;
      answered = true;
      metrics.requestsInFlight--;
    };
    const ctx: RequestContext = {
      broker,
      conn,
      apiKey: header.apiKey,
      apiVersion: header.apiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
      apis,
      dispatch,
      times,
    };
    let result: unknown;
    let thrown: { err: unknown } | null = null;
    try {
      // A request refused whole for lack of permission gets the API's error response.
      const refusal = requestRefusal(broker.security, conn, header.apiKey, header.apiVersion, request);
      result = refusal === null ? api.handler.handle(ctx, request) : errorResponseBody(api.spec, header.apiVersion, request, refusal);
    } catch (err) {
      thrown = { err };
    }
    // Measured only when some quota exists: request_percentage needs the handling time.
    const cpuNanos = quotas ? Math.round((broker.clock.monotonicMs() - startedAt) * 1e6) : 0;
    const finish = (body: unknown): ResponseFrame | null | Promise<ResponseFrame | null> => {
      answer();
      if (body !== NO_RESPONSE) countErrorCodes(body, m, 0);
      let throttleMs = 0;
      if (quotas && broker.quotas.enabled) ({ body, throttleMs } = enforceQuotas(ctx, frame.length, cpuNanos, body));
      if (throttleMs > 0) conn.mute(throttleMs);
      const out = body === NO_RESPONSE ? null : encodeThrottled(header.apiKey, header.apiVersion, header.correlationId, api.spec, body, throttleMs);
      times.completedAt = broker.clock.monotonicMs();
      times.throttleMs = throttleMs;
      if (detached) endRequestTimes(times, times.completedAt);
      // Clients older than KIP-219 do not pause by themselves: the late answer is their throttle.
      if (throttleMs > 0 && out && !clientThrottles(header.apiKey, header.apiVersion)) {
        return new Promise((resolve) => setTimeout(() => resolve(out), throttleMs).unref());
      }
      return out;
    };
    // A handler that throws (or rejects) is a bug: logged in full, and answered as Kafka does, with
    // the API's own response carrying UNKNOWN_SERVER_ERROR; closing only when there is none.
    function failed(err: unknown): ResponseFrame | null | Promise<ResponseFrame | null> {
      answer(); // the error response's codes are counted by finish, or below when there is none
      const detail = {
        conn: conn.id,
        api: api!.spec.name,
        apiKey: header.apiKey,
        apiVersion: header.apiVersion,
        correlationId: header.correlationId,
        clientId: header.clientId,
        err: err instanceof Error ? err : new Error(String(err)),
      };
      broker.logger.error(detail, `${api!.spec.name} v${header.apiVersion} handler failed`);
      const body = errorResponseBody(api!.spec, header.apiVersion, request, ErrorCode.UNKNOWN_SERVER_ERROR);
      if (body === null) m.error(ErrorCode.UNKNOWN_SERVER_ERROR);
      else {
        try {
          return finish(body);
        } catch (encodeErr) {
          broker.logger.error({ ...detail, err: encodeErr }, `${api!.spec.name} v${header.apiVersion}: the error response cannot be encoded`);
        }
      }
      if (detached) endRequestTimes(times, broker.clock.monotonicMs());
      conn.abort('request handler failed', { apiKey: header.apiKey, apiVersion: header.apiVersion, correlationId: header.correlationId });
      return null;
    }
    if (thrown) return failed(thrown.err);
    return result instanceof Promise ? result.then(finish, failed) : finish(result);
  };
  return dispatch;
}
