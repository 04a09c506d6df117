import { ApiKey, type DescribeConfigsRequest, type DescribeConfigsResponse, type DescribeConfigsResponseDescribeConfigsResult } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { describeBrokerConfigs, describeClientMetricsConfigs, describeGroupConfigs, describeTopicConfigs, ResourceType, type DescribedConfig } from '../config-admin.js';
import { configResourceRefusal } from '../security/request-checks.js';
import type { ApiHandler } from '../api.js';

export const describeConfigsHandler: ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse> = {
  apiKey: ApiKey.DescribeConfigs,
  handle({ broker, apiVersion, conn }, req) {
    const results = req.resources.map((res): DescribeConfigsResponseDescribeConfigsResult => {
      const base = { resourceType: res.resourceType, resourceName: res.resourceName };
      const refused = configResourceRefusal(broker.security, conn, res.resourceType, res.resourceName, false);
      if (refused !== null) return { ...base, errorCode: refused, errorMessage: null, configs: [] };
      try {
        let configs: DescribedConfig[];
        if (res.resourceType === ResourceType.TOPIC) configs = describeTopicConfigs(broker, res.resourceName, res.configurationKeys);
        else if (res.resourceType === ResourceType.BROKER) configs = describeBrokerConfigs(broker, res.resourceName, res.configurationKeys);
        else if (res.resourceType === ResourceType.CLIENT_METRICS) configs = describeClientMetricsConfigs(broker, res.resourceName, res.configurationKeys);
        else if (res.resourceType === ResourceType.GROUP) configs = describeGroupConfigs(broker, res.resourceName, res.configurationKeys);
        else throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${res.resourceType}`);
        return {
          ...base,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          configs: configs.map((c) => ({
            ...c,
            synonyms: req.includeSynonyms ? c.synonyms : [],
            // Types and documentation exist from v3 on, and documentation only when asked for.
            configType: apiVersion >= 3 ? c.configType : 0,
            documentation: apiVersion >= 3 && req.includeDocumentation ? c.documentation : null,
          })),
        };
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        return { ...base, errorCode: err.code, errorMessage: err.message, configs: [] };
      }
    });
    return { throttleTimeMs: 0, results };
  },
};
