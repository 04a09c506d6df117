import { ApiKey, type EndTxnRequest, type EndTxnResponse } from '../../protocol/generated/index.js';
import type { ApiHandler } from '../api.js';
import { fencingError } from './txn-errors.js';

// v5 is transactions V2 (KIP-890 part 2): the coordinator bumps the epoch at every EndTxn and
// answers with the producer id and epoch of the next transaction. v4 and older keep V1.
export const endTxnHandler: ApiHandler<EndTxnRequest, EndTxnResponse> = {
  apiKey: ApiKey.EndTxn,
  maxVersion: 5,
  async handle({ broker, apiVersion }, req) {
    const coordinator = broker.transactionCoordinator;
    if (apiVersion >= 5) {
      const r = await coordinator.endTransactionV2(req.transactionalId, req.producerId, req.producerEpoch, req.committed);
      return { throttleTimeMs: 0, errorCode: r.errorCode, producerId: r.producerId, producerEpoch: r.producerEpoch };
    }
    const code = await coordinator.endTransaction(req.transactionalId, req.producerId, req.producerEpoch, req.committed);
    return { throttleTimeMs: 0, errorCode: fencingError(code, apiVersion, 2), producerId: -1, producerEpoch: -1 };
  },
};
