import { ApiKey, type ApiVersionsRequest, type ApiVersionsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { advertisedVersions, type ApiHandler } from '../api.js';
import { SUPPORTED_FEATURES, finalizedFeatures } from '../features.js';

export const apiVersionsHandler: ApiHandler<ApiVersionsRequest, ApiVersionsResponse> = {
  apiKey: ApiKey.ApiVersions,
  // v5 checks the cluster and node the client means to reach (KIP-1242).
  maxVersion: 5,
  handle(ctx, req) {
    if (ctx.apiVersion >= 5) {
      // Both ids, or neither, as Kafka requires; then a client whose bootstrap address now leads
      // to another cluster or another node (an address reused after a move) is told to
      // bootstrap again, with no versions to go on.
      const refused = (errorCode: number): ApiVersionsResponse => ({
        errorCode,
        apiKeys: [],
        throttleTimeMs: 0,
        supportedFeatures: [],
        finalizedFeaturesEpoch: -1,
        finalizedFeatures: [],
        zkMigrationReady: false,
      });
      if ((req.clusterId === null) !== (req.nodeId === -1)) return refused(ErrorCode.INVALID_REQUEST);
      if (req.clusterId !== null && (req.clusterId !== ctx.broker.clusterId || req.nodeId !== ctx.broker.nodeId)) return refused(ErrorCode.REBOOTSTRAP_REQUIRED);
    }
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
