import { ApiKey, type AlterConfigsRequest, type AlterConfigsResponse } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { alterResource, AlterOp } from '../config-admin.js';
import { configResourceRefusal } from '../security/request-checks.js';
import type { ApiHandler } from '../api.js';

// The legacy AlterConfigs replaces a resource's whole set of overrides.
export const alterConfigsHandler: ApiHandler<AlterConfigsRequest, AlterConfigsResponse> = {
  apiKey: ApiKey.AlterConfigs,
  async handle({ broker, conn }, req) {
    const responses = [];
    for (const res of req.resources) {
      const ops = res.configs.map((c) => ({ name: c.name, op: AlterOp.SET, value: c.value }));
      const refused = configResourceRefusal(broker.security, conn, res.resourceType, res.resourceName, true);
      if (refused !== null) {
        responses.push({ errorCode: refused, errorMessage: null, resourceType: res.resourceType, resourceName: res.resourceName });
        continue;
      }
      try {
        await alterResource(broker, res.resourceType, res.resourceName, ops, { replaceAll: true, validateOnly: req.validateOnly });
        responses.push({ errorCode: ErrorCode.NONE, errorMessage: null, resourceType: res.resourceType, resourceName: res.resourceName });
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        responses.push({ errorCode: err.code, errorMessage: err.message, resourceType: res.resourceType, resourceName: res.resourceName });
      }
    }
    return { throttleTimeMs: 0, responses };
  },
};
