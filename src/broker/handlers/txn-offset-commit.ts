import { ZERO_UUID } from '../../protocol/primitives.js';
import { ApiKey, type TxnOffsetCommitRequest, type TxnOffsetCommitResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { OFFSETS_TOPIC } from '../../coordinator/offsets-topic.js';
import type { ApiHandler } from '../api.js';

// v5 belongs to transactions V2 (the commit implies AddOffsetsToTxn), not offered here.
export const txnOffsetCommitHandler: ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse> = {
  apiKey: ApiKey.TxnOffsetCommit,
  maxVersion: 4,
  async handle({ broker }, req) {
    const groups = broker.groupCoordinator;
    const all = (code: number): TxnOffsetCommitResponse => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({ name: t.name, topicId: ZERO_UUID, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) })),
    });
    if (req.groupId === '') return all(ErrorCode.INVALID_GROUP_ID);
    // KIP-890: the group's partition must be part of the transaction (AddOffsetsToTxn came first).
    const code = broker.transactionCoordinator.verifyPartition(req.transactionalId, req.producerId, req.producerEpoch, OFFSETS_TOPIC, groups.partitionFor(req.groupId));
    if (code !== ErrorCode.NONE) return all(code);
    const topics = await groups.commitTxnOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      topics: req.topics,
    });
    // A fenced producer of this API has always been told INVALID_PRODUCER_EPOCH.
    for (const t of topics) for (const p of t.partitions) if (p.errorCode === ErrorCode.PRODUCER_FENCED) p.errorCode = ErrorCode.INVALID_PRODUCER_EPOCH;
    return { throttleTimeMs: 0, topics: topics.map((t) => ({ ...t, topicId: ZERO_UUID })) };
  },
};
