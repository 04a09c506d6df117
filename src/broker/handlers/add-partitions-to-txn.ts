import {
  ApiKey,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnResponse,
  type AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult,
} from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { PartitionCodes } from '../../coordinator/transaction-coordinator.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';
import { fencingError } from './txn-errors.js';

function topicResults(codes: PartitionCodes[], apiVersion: number): AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult[] {
  return codes.map((t) => ({
    name: t.name,
    resultsByPartition: t.results.map((r) => ({ partitionIndex: r.partition, partitionErrorCode: fencingError(r.errorCode, apiVersion, 2) })),
  }));
}

// v0-3 come from producers; v4+ come from partition leaders (KIP-890), batch several
// transactions, and either verify that partitions are in a transaction (verifyOnly, part 1) or
// add them to it (transactions V2's implicit addition: the transaction is then a V2 one).
export const addPartitionsToTxnHandler: ApiHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse> = {
  apiKey: ApiKey.AddPartitionsToTxn,
  async handle({ broker, apiVersion, conn }, req) {
    const coordinator = broker.transactionCoordinator;
    if (apiVersion <= 3) {
      // WRITE on every topic, or nothing is added: the others answer OPERATION_NOT_ATTEMPTED.
      const denied = new Set(req.v3AndBelowTopics.filter((t) => !broker.security.topic(conn, Op.WRITE, t.name)).map((t) => t.name));
      if (denied.size > 0) {
        const codes = req.v3AndBelowTopics.map((t) => ({
          name: t.name,
          results: t.partitions.map((partition) => ({ partition, errorCode: denied.has(t.name) ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : ErrorCode.OPERATION_NOT_ATTEMPTED })),
        }));
        return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: topicResults(codes, apiVersion) };
      }
      const codes = await coordinator.addPartitions(req.v3AndBelowTransactionalId, req.v3AndBelowProducerId, req.v3AndBelowProducerEpoch, req.v3AndBelowTopics);
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction: [], resultsByTopicV3AndBelow: topicResults(codes, apiVersion) };
    }
    const resultsByTransaction = await Promise.all(
      req.transactions.map(async (txn) => {
        const codes: PartitionCodes[] = txn.verifyOnly
          ? txn.topics.map((t) => ({
              name: t.name,
              results: t.partitions.map((partition) => ({
                partition,
                errorCode: coordinator.verifyPartition(txn.transactionalId, txn.producerId, txn.producerEpoch, t.name, partition),
              })),
            }))
          : await coordinator.addPartitions(txn.transactionalId, txn.producerId, txn.producerEpoch, txn.topics, 2);
        return { transactionalId: txn.transactionalId, topicResults: topicResults(codes, apiVersion) };
      }),
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, resultsByTransaction, resultsByTopicV3AndBelow: [] };
  },
};
