import { ApiKey, type AddOffsetsToTxnRequest, type AddOffsetsToTxnResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { logWriteFailure } from '../../coordinator/write-errors.js';
import { OFFSETS_TOPIC } from '../../coordinator/offsets-topic.js';
import type { ApiHandler } from '../api.js';
import { fencingError } from './txn-errors.js';

/** Adds the group's __consumer_offsets partition to the transaction, ahead of TxnOffsetCommit. */
export const addOffsetsToTxnHandler: ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse> = {
  apiKey: ApiKey.AddOffsetsToTxn,
  async handle({ broker, apiVersion }, req) {
    if (req.groupId === '') return { throttleTimeMs: 0, errorCode: ErrorCode.INVALID_GROUP_ID };
    try {
      await broker.groupCoordinator.ready();
    } catch (err) {
      logWriteFailure(broker.logger, err, { groupId: req.groupId }, 'cannot prepare the group coordinator');
      return { throttleTimeMs: 0, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE };
    }
    const partition = broker.groupCoordinator.partitionFor(req.groupId);
    const [topic] = await broker.transactionCoordinator.addPartitions(req.transactionalId, req.producerId, req.producerEpoch, [
      { name: OFFSETS_TOPIC, partitions: [partition] },
    ]);
    return { throttleTimeMs: 0, errorCode: fencingError(topic!.results[0]!.errorCode, apiVersion, 2) };
  },
};
