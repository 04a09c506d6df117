import { ApiKey, type GetTelemetrySubscriptionsRequest, type GetTelemetrySubscriptionsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { CompressionType } from '../../protocol/records/compression.js';
import type { ApiHandler } from '../api.js';

/** Codecs a push may use, preferred first (Kafka's order). */
export const TELEMETRY_COMPRESSION = [CompressionType.ZSTD, CompressionType.LZ4, CompressionType.GZIP, CompressionType.SNAPPY];

/**
 * KIP-714: tells a client which of its metrics to push and how often, from the CLIENT_METRICS
 * subscriptions that match it; a client asking with the zero UUID gets its instance id here.
 */
export const getTelemetrySubscriptionsHandler: ApiHandler<GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse> = {
  apiKey: ApiKey.GetTelemetrySubscriptions,
  handle({ broker, conn, clientId }, req) {
    const instance = broker.telemetry.subscribe(req.clientInstanceId, clientId ?? '', conn);
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      clientInstanceId: instance.instanceId,
      subscriptionId: instance.subscriptionId,
      acceptedCompressionTypes: [...TELEMETRY_COMPRESSION],
      pushIntervalMs: instance.intervalMs,
      telemetryMaxBytes: broker.telemetry.maxBytes(),
      // Cumulative sums and histograms: /metrics exposes them as Prometheus counters as they come.
      deltaTemporality: false,
      requestedMetrics: instance.metrics,
    };
  },
};
