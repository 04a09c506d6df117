import { ApiKey, type AlterClientQuotasRequest, type AlterClientQuotasResponse } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { QuotaTable, validateEntity, validateOp } from '../client-quotas.js';
import type { ApiHandler } from '../api.js';

export const alterClientQuotasHandler: ApiHandler<AlterClientQuotasRequest, AlterClientQuotasResponse> = {
  apiKey: ApiKey.AlterClientQuotas,
  async handle({ broker }, req) {
    // Applied to a copy synchronously, so two concurrent requests cannot lose each other's changes.
    const next = new QuotaTable(broker.quotas.quotas.entries());
    let changed = false;
    const results = req.entries.map((e) => {
      const entity = e.entity.map((p) => ({ entityType: p.entityType, entityName: p.entityName }));
      const result = { errorCode: ErrorCode.NONE as number, errorMessage: null as string | null, entity: e.entity };
      try {
        validateEntity(entity);
        const changes = new Map<string, number | null>();
        for (const op of e.ops) {
          if (changes.has(op.key)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Duplicate quota key ${op.key} for one entity`);
          changes.set(op.key, validateOp(entity, op.key, op.value, op.remove));
        }
        if (!req.validateOnly && changes.size > 0) {
          next.apply(entity, changes);
          changed = true;
        }
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        result.errorCode = err.code;
        result.errorMessage = err.message;
      }
      return result;
    });
    if (changed) await broker.setClientQuotas(next.entries());
    return { throttleTimeMs: 0, entries: results };
  },
};
