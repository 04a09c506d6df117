// UpdateFeatures (KIP-584, KIP-778): finalizes feature levels cluster-wide, as kafka-features.sh
// upgrade/downgrade/disable do. The request is all or nothing, as Kafka's controller decides it:
// the first invalid update fails every update, with one top-level error (v0-1 repeat it per
// feature). Cluster mode: the active controller writes; another broker forwards to it.
import { ApiKey, type UpdateFeaturesRequest, type UpdateFeaturesResponse } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../security/authorizer.js';
import { forwardToController } from '../controller-forwarding.js';
import { SUPPORTED_FEATURES, finalizedFeatures } from '../features.js';
import type { ApiHandler } from '../api.js';

/** KIP-778's upgrade types. */
const UPGRADE = 1;
const SAFE_DOWNGRADE = 2;
const UNSAFE_DOWNGRADE = 3;

export const updateFeaturesHandler: ApiHandler<UpdateFeaturesRequest, UpdateFeaturesResponse> = {
  apiKey: ApiKey.UpdateFeatures,
  async handle(ctx, req) {
    const { broker, conn, apiVersion } = ctx;
    const answer = (errorCode: number, errorMessage: string | null): UpdateFeaturesResponse => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      results: apiVersion < 2 ? req.featureUpdates.map((u) => ({ feature: u.feature, errorCode, errorMessage })) : [],
    });
    if (!broker.security.allowed(conn, AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return answer(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, 'The client is not authorized to alter the cluster.');
    }
    const controller = broker.cluster?.controller;
    if (controller && !controller.active) {
      try {
        // Forwarded with upgrade types (v1+), whatever version the client spoke.
        const featureUpdates = req.featureUpdates.map((u) => ({
          feature: u.feature,
          maxVersionLevel: u.maxVersionLevel,
          allowDowngrade: false,
          upgradeType: apiVersion === 0 ? (u.allowDowngrade ? SAFE_DOWNGRADE : UPGRADE) : u.upgradeType,
        }));
        const res = await forwardToController<UpdateFeaturesResponse>(ctx, ApiKey.UpdateFeatures, { ...req, featureUpdates });
        return answer(res.errorCode, res.errorMessage);
      } catch (err) {
        if (err instanceof KafkaError) return answer(err.code, err.message);
        throw err;
      }
    }
    const current = finalizedFeatures(broker.metadata);
    const next = { ...current.levels };
    const seen = new Set<string>();
    for (const u of req.featureUpdates) {
      const fail = (code: number, why: string) => answer(code, `Invalid update version ${u.maxVersionLevel} for feature ${u.feature}. ${why}`);
      if (u.feature.trim() === '') return answer(ErrorCode.INVALID_REQUEST, 'The feature name must not be empty.');
      if (seen.has(u.feature)) return answer(ErrorCode.INVALID_REQUEST, `The feature ${u.feature} is named twice in the request.`);
      seen.add(u.feature);
      // v0 has no upgrade type: allowDowngrade asks for a (safe) downgrade.
      const type = apiVersion === 0 ? (u.allowDowngrade ? SAFE_DOWNGRADE : UPGRADE) : u.upgradeType;
      if (type !== UPGRADE && type !== SAFE_DOWNGRADE && type !== UNSAFE_DOWNGRADE) {
        return answer(ErrorCode.INVALID_REQUEST, `Unknown upgrade type ${type} for feature ${u.feature}.`);
      }
      const supported = SUPPORTED_FEATURES.get(u.feature);
      if (!supported) return fail(ErrorCode.INVALID_UPDATE_VERSION, `Broker ${broker.nodeId} does not support this feature.`);
      if (u.maxVersionLevel < 0) return fail(ErrorCode.INVALID_UPDATE_VERSION, 'The upper value for the new range cannot be less than 0.');
      if (u.maxVersionLevel < supported.min || u.maxVersionLevel > supported.max) {
        return fail(ErrorCode.INVALID_UPDATE_VERSION, `Broker ${broker.nodeId} only supports versions ${supported.min}-${supported.max}.`);
      }
      const level = current.levels[u.feature] ?? 0;
      if (u.maxVersionLevel < level && type === UPGRADE) {
        return fail(ErrorCode.INVALID_UPDATE_VERSION, "Can't downgrade the version of this feature without setting the upgrade type to either safe or unsafe downgrade.");
      }
      if (u.maxVersionLevel === 0) delete next[u.feature];
      else next[u.feature] = u.maxVersionLevel;
    }
    const changed = Object.keys({ ...next, ...current.levels }).some((f) => (next[f] ?? 0) !== (current.levels[f] ?? 0));
    if (req.validateOnly || !changed) return answer(ErrorCode.NONE, null);
    try {
      await broker.metadata.setFinalizedFeatures({ epoch: current.epoch + 1, levels: next });
    } catch (err) {
      if (err instanceof KafkaError) return answer(err.code, err.message);
      throw err;
    }
    broker.logger.info({ features: next }, 'finalized features updated');
    return answer(ErrorCode.NONE, null);
  },
};
