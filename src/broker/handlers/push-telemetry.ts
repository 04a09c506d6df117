import { ApiKey, type PushTelemetryRequest, type PushTelemetryResponse } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { CompressionType, decompress } from '../../protocol/records/compression.js';
import type { ApiHandler } from '../api.js';
import { decodeOtlpMetrics } from '../otlp.js';
import { TELEMETRY_COMPRESSION } from './get-telemetry-subscriptions.js';

/** A decompressed payload may be at most this many times telemetry.max.bytes. */
const INFLATE_FACTOR = 16;

/**
 * KIP-714: a client's metrics (OTLP MetricsData, maybe compressed). Checked against its
 * subscription, decoded and kept for /metrics; errors are Kafka's (UNKNOWN_SUBSCRIPTION_ID,
 * TELEMETRY_TOO_LARGE, THROTTLING_QUOTA_EXCEEDED, UNSUPPORTED_COMPRESSION_TYPE, INVALID_RECORD).
 */
export const pushTelemetryHandler: ApiHandler<PushTelemetryRequest, PushTelemetryResponse> = {
  apiKey: ApiKey.PushTelemetry,
  async handle({ broker }, req) {
    const answer = (errorCode: number): PushTelemetryResponse => ({ throttleTimeMs: 0, errorCode });
    try {
      const telemetry = broker.telemetry;
      const instance = telemetry.admitPush(req.clientInstanceId, req.subscriptionId, req.metrics.length, req.terminating);
      if (req.compressionType !== CompressionType.NONE && !(TELEMETRY_COMPRESSION as number[]).includes(req.compressionType)) {
        return answer(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
      }
      let payload: Buffer;
      try {
        payload = req.compressionType === CompressionType.NONE ? req.metrics : await decompress(req.compressionType, req.metrics, telemetry.maxBytes() * INFLATE_FACTOR);
      } catch {
        return answer(ErrorCode.INVALID_RECORD);
      }
      let decoded;
      try {
        decoded = await decodeOtlpMetrics(payload);
      } catch {
        return answer(ErrorCode.INVALID_RECORD);
      }
      telemetry.accept(instance, decoded.samples, decoded.resource, req.terminating);
      return answer(ErrorCode.NONE);
    } catch (err) {
      if (err instanceof KafkaError) return answer(err.code);
      throw err;
    }
  },
};
