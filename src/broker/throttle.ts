import { ApiKey, type FetchResponse } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import { NO_RESPONSE, type RequestContext } from './api.js';

/**
 * KIP-219: from these versions on, a client pauses for throttle_time_ms by itself, so the broker
 * answers at once (and stops reading the connection for that time). Older versions are throttled
 * by answering late. APIs not listed arrived after KIP-219 and throttle themselves in every version.
 */
const CLIENT_THROTTLES_FROM: ReadonlyMap<number, number> = new Map([
  [ApiKey.Produce, 6],
  [ApiKey.Fetch, 8],
  [ApiKey.ListOffsets, 3],
  [ApiKey.Metadata, 6],
  [ApiKey.OffsetCommit, 4],
  [ApiKey.OffsetFetch, 4],
  [ApiKey.FindCoordinator, 2],
  [ApiKey.JoinGroup, 3],
  [ApiKey.Heartbeat, 2],
  [ApiKey.LeaveGroup, 2],
  [ApiKey.SyncGroup, 2],
  [ApiKey.DescribeGroups, 2],
  [ApiKey.ListGroups, 2],
  [ApiKey.ApiVersions, 2],
  [ApiKey.CreateTopics, 3],
  [ApiKey.DeleteTopics, 2],
  [ApiKey.DeleteRecords, 1],
  [ApiKey.InitProducerId, 1],
  [ApiKey.OffsetForLeaderEpoch, 3],
  [ApiKey.AddPartitionsToTxn, 1],
  [ApiKey.AddOffsetsToTxn, 1],
  [ApiKey.EndTxn, 1],
  [ApiKey.TxnOffsetCommit, 1],
  [ApiKey.DescribeConfigs, 2],
  [ApiKey.AlterConfigs, 1],
  [ApiKey.DescribeLogDirs, 1],
  [ApiKey.AlterReplicaLogDirs, 1],
  [ApiKey.CreatePartitions, 1],
  [ApiKey.DeleteGroups, 1],
]);

export function clientThrottles(apiKey: number, version: number): boolean {
  return version >= (CLIENT_THROTTLES_FROM.get(apiKey) ?? 0);
}

export interface QuotaOutcome {
  /** The response to send (a throttled fetch is answered without data). */
  body: unknown;
  throttleMs: number;
}

function fetchedBytes(res: FetchResponse): number {
  let n = 0;
  for (const t of res.responses) for (const p of t.partitions) n += p.records?.length ?? 0;
  return n;
}

/** The user quota entity of a principal: its name (`User:alice` → `alice`; unauthenticated: ANONYMOUS). */
export function quotaUser(principal: string): string {
  return principal.startsWith('User:') ? principal.slice(5) : principal;
}

/**
 * Records the request against the client's quotas and decides its throttle: produce bytes
 * (the request's size), fetch bytes (the records returned) and request time (the CPU time its
 * handling took on the event loop, as a percentage of one thread, like Kafka's request handler
 * threads). A throttled fetch is answered without records and its bytes are not counted, as Kafka does.
 */
export function enforceQuotas(ctx: RequestContext, requestBytes: number, cpuNanos: number, body: unknown): QuotaOutcome {
  const quotas = ctx.broker.quotas;
  const clientId = ctx.clientId ?? '';
  const user = quotaUser(ctx.conn.principal);
  const now = ctx.broker.clock.now();
  let throttleMs = 0;
  // ApiVersions comes before a client knows anything about the broker; Kafka does not hold it back either.
  if (ctx.apiKey !== ApiKey.ApiVersions) {
    throttleMs = quotas.record('request_percentage', clientId, cpuNanos / 1e7, now, quotas.maxRequestThrottleMs, user);
  }
  if (ctx.apiKey === ApiKey.Produce) {
    throttleMs = Math.max(throttleMs, quotas.record('producer_byte_rate', clientId, requestBytes, now, Infinity, user));
  } else if (ctx.apiKey === ApiKey.Fetch && body !== NO_RESPONSE) {
    const res = body as FetchResponse;
    const bytes = fetchedBytes(res);
    const fetchThrottle = quotas.record('consumer_byte_rate', clientId, bytes, now, Infinity, user);
    throttleMs = Math.max(throttleMs, fetchThrottle);
    if (throttleMs > 0) {
      quotas.unrecord('consumer_byte_rate', clientId, bytes, now, user);
      body = { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: res.sessionId, responses: [], nodeEndpoints: [] } satisfies FetchResponse;
    }
  }
  return { body, throttleMs };
}
