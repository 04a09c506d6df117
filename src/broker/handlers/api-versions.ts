import { ApiKey, type ApiVersionsRequest, type ApiVersionsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { advertisedVersions, type ApiHandler } from '../api.js';
import { SUPPORTED_FEATURES, finalizedFeatures } from '../features.js';

export const apiVersionsHandler: ApiHandler<ApiVersionsRequest, ApiVersionsResponse> = {
  apiKey: ApiKey.ApiVersions,
  // v5 checks the client's expected cluster and node ids (KIP-1242), not handled yet.
  maxVersion: 4,
  handle(ctx, req) {
    // KIP-511's client software name and version: what client-metrics subscriptions match on.
    if (ctx.apiVersion >= 3) ctx.broker.telemetry.noteSoftware(ctx.conn, req.clientSoftwareName, req.clientSoftwareVersion);
    // Feature flags (KIP-584): the supported ranges, and the levels finalized by UpdateFeatures
    // (a feature at level 0 is not finalized and not listed, as Kafka does).
    const finalized = finalizedFeatures(ctx.broker.metadata);
    return {
      errorCode: ErrorCode.NONE,
      apiKeys: advertisedVersions(ctx.apis),
      throttleTimeMs: 0,
      supportedFeatures: [...SUPPORTED_FEATURES].map(([name, r]) => ({ name, minVersion: r.min, maxVersion: r.max })),
      finalizedFeaturesEpoch: finalized.epoch,
      finalizedFeatures: Object.entries(finalized.levels)
        .filter(([, level]) => level > 0)
        .map(([name, level]) => ({ name, maxVersionLevel: level, minVersionLevel: level })),
      zkMigrationReady: false,
    };
  },
};
