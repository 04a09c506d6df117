import { ApiKey, type ApiVersionsRequest, type ApiVersionsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { advertisedVersions, type ApiHandler } from '../api.js';

// Feature flags (KIP-584): transaction.version is supported up to 2 and finalized at 2, so Kafka
// 4.x clients run transactions V2 (KIP-890 part 2) by themselves; older clients ignore it.
export const TRANSACTION_VERSION_FEATURE = 'transaction.version';
export const TRANSACTION_VERSION = 2;
/** The epoch of the finalized features: they never change on a Tributary cluster. */
const FINALIZED_FEATURES_EPOCH = 1;
export const apiVersionsHandler: ApiHandler<ApiVersionsRequest, ApiVersionsResponse> = {
  apiKey: ApiKey.ApiVersions,
  // v5 checks the client's expected cluster and node ids (KIP-1242), not handled yet.
  maxVersion: 4,
  handle(ctx, req) {
    // KIP-511's client software name and version: what client-metrics subscriptions match on.
    if (ctx.apiVersion >= 3) ctx.broker.telemetry.noteSoftware(ctx.conn, req.clientSoftwareName, req.clientSoftwareVersion);
    return {
      errorCode: ErrorCode.NONE,
      apiKeys: advertisedVersions(ctx.apis),
      throttleTimeMs: 0,
      supportedFeatures: [{ name: TRANSACTION_VERSION_FEATURE, minVersion: 0, maxVersion: TRANSACTION_VERSION }],
      finalizedFeaturesEpoch: FINALIZED_FEATURES_EPOCH,
      finalizedFeatures: [{ name: TRANSACTION_VERSION_FEATURE, maxVersionLevel: TRANSACTION_VERSION, minVersionLevel: TRANSACTION_VERSION }],
      zkMigrationReady: false,
    };
  },
};
