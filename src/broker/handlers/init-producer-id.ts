import { ApiKey, type InitProducerIdRequest, type InitProducerIdResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from './index.js';

export const initProducerIdHandler: ApiHandler<InitProducerIdRequest, InitProducerIdResponse> = {
  apiKey: ApiKey.InitProducerId,
  async handle({ broker }, req) {
    if (req.transactionalId !== null) {
      // The transaction coordinator does not exist yet: answer as a broker without one would.
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, producerId: -1, producerEpoch: -1 };
    }
    // An idempotent (non-transactional) producer always gets a fresh id at epoch 0, as in Kafka.
    const producerId = await broker.metadata.nextProducerId();
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, producerId, producerEpoch: 0 };
  },
};
