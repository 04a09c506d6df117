import { ApiKey, type DescribeClientQuotasRequest, type DescribeClientQuotasResponse } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { matchesFilter, validateFilter } from '../client-quotas.js';
import type { ApiHandler } from '../api.js';

export const describeClientQuotasHandler: ApiHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse> = {
  apiKey: ApiKey.DescribeClientQuotas,
  handle({ broker }, req) {
    try {
      validateFilter(req.components);
    } catch (err) {
      if (!(err instanceof KafkaError)) throw err;
      return { throttleTimeMs: 0, errorCode: err.code, errorMessage: err.message, entries: null };
    }
    const entries = broker.quotas.quotas
      .entries()
      .filter((q) => matchesFilter(q.entity, req.components, req.strict))
      .map((q) => ({
        entity: q.entity.map((p) => ({ entityType: p.entityType, entityName: p.entityName })),
        values: Object.entries(q.values).map(([key, value]) => ({ key, value })),
      }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, entries };
  },
};
