import { ApiKey, type EndTxnRequest, type EndTxnResponse } from '../../protocol/generated/index.js';
import type { ApiHandler } from '../api.js';
import { fencingError } from './txn-errors.js';

// v5 means transactions V2 (an epoch bump per transaction, KIP-890 part 2), which this broker
// does not finalize as a feature, so clients stay on v4.
export const endTxnHandler: ApiHandler<EndTxnRequest, EndTxnResponse> = {
  apiKey: ApiKey.EndTxn,
  maxVersion: 4,
  async handle({ broker, apiVersion }, req) {
    const code = await broker.transactionCoordinator.endTransaction(req.transactionalId, req.producerId, req.producerEpoch, req.committed);
    return { throttleTimeMs: 0, errorCode: fencingError(code, apiVersion, 2), producerId: -1, producerEpoch: -1 };
  },
};
