import { ApiKey, type ApiVersionsRequest, type ApiVersionsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { advertisedVersions, type ApiHandler } from '../api.js';

// No feature flags are advertised: clients then use the classic transaction and group protocols.
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
      supportedFeatures: [],
      finalizedFeaturesEpoch: -1,
      finalizedFeatures: [],
      zkMigrationReady: false,
    };
  },
};
