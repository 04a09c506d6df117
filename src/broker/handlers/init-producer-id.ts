import { ApiKey, type InitProducerIdRequest, type InitProducerIdResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';
import { fencingError } from './txn-errors.js';
import { MetadataUnavailableError } from '../../cluster/metadata-port.js';

export const initProducerIdHandler: ApiHandler<InitProducerIdRequest, InitProducerIdResponse> = {
  apiKey: ApiKey.InitProducerId,
  // v6 is KIP-939's two-phase commit (unstable in Kafka 4.4).
  maxVersion: 5,
  async handle({ broker, apiVersion }, req) {
    if (req.transactionalId !== null) {
      const r = await broker.transactionCoordinator.initProducerId(req.transactionalId, req.transactionTimeoutMs, req.producerId, req.producerEpoch);
      return {
        throttleTimeMs: 0,
        errorCode: fencingError(r.errorCode, apiVersion, 4),
        producerId: r.producerId,
        producerEpoch: r.producerEpoch,
        ongoingTxnProducerId: -1,
        ongoingTxnProducerEpoch: -1,
      };
    }
    // An idempotent (non-transactional) producer always gets a fresh id at epoch 0, as in Kafka.
    let producerId: number;
    try {
      producerId = await broker.metadata.nextProducerId();
    } catch (err) {
      if (!(err instanceof MetadataUnavailableError)) throw err;
      // No block of ids can be reserved (etcd unreachable): Kafka's producer id manager answers
      // COORDINATOR_LOAD_IN_PROGRESS then, which every client retries (older ones take
      // REQUEST_TIMED_OUT as fatal here); never UNKNOWN_SERVER_ERROR, which kafkajs does not retry.
      broker.logger.warn({ err: err.message }, 'no producer id for an idempotent producer: the metadata store is unavailable');
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
        producerId: -1,
        producerEpoch: -1,
        ongoingTxnProducerId: -1,
        ongoingTxnProducerEpoch: -1,
      };
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0, ongoingTxnProducerId: -1, ongoingTxnProducerEpoch: -1 };
  },
};
