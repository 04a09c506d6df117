import { ApiKey, type TxnOffsetCommitRequest, type TxnOffsetCommitResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { OFFSETS_TOPIC } from '../../coordinator/offsets-topic.js';
import type { ApiHandler } from '../api.js';
import { translateVerdict, txnOffsetCommitTxnSupport } from '../txn-verifier.js';
import { commitTopicChecks, sortCommitTopics } from './commit-topics.js';

// v5 is transactions V2: no AddOffsetsToTxn before it, the group's partition is added to the
// transaction here (KIP-890 part 2); v4 and older verify that AddOffsetsToTxn added it. v6 names
// topics by id (KIP-1319) and tells a consumer group member STALE_MEMBER_EPOCH, and a member of
// a group that does not exist GROUP_ID_NOT_FOUND, where older versions say ILLEGAL_GENERATION.
export const txnOffsetCommitHandler: ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse> = {
  apiKey: ApiKey.TxnOffsetCommit,
  maxVersion: 6,
  async handle({ broker, conn, apiVersion }, req) {
    const groups = broker.groupCoordinator;
    // First the topics, as Kafka's request handler sorts them (as for OffsetCommit): v6 names
    // topics by id (KIP-1319); an unknown id, a topic without READ or a partition that does not
    // exist answers by itself. A request left with nothing to commit goes no further.
    const sorted = sortCommitTopics(req.topics, commitTopicChecks(broker, conn, apiVersion >= 6));
    if (sorted.known.length === 0) return { throttleTimeMs: 0, topics: sorted.answer([]) };
    // Then the group coordinator's checks, in Kafka's order: the group id, whether this broker
    // leads the group's partition, then (KIP-890) that the group's partition is part of the
    // transaction (AddOffsetsToTxn came first), or with V2 is added now, by the transaction
    // coordinator wherever it is; then the load and the group and member checks.
    const support = txnOffsetCommitTxnSupport(apiVersion);
    const verifyTransaction = async () =>
      translateVerdict(
        await broker.txnVerifier.check({
          transactionalId: req.transactionalId,
          producerId: req.producerId,
          producerEpoch: req.producerEpoch,
          topic: OFFSETS_TOPIC,
          partition: groups.partitionFor(req.groupId),
          add: support === 'add',
        }),
        support,
        ErrorCode.COORDINATOR_NOT_AVAILABLE,
      );
    const committed = await groups.commitTxnOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      apiVersion,
      topics: sorted.known,
      verifyTransaction,
    });
    const topics = sorted.answer(committed);
    // A fenced producer of this API has always been told INVALID_PRODUCER_EPOCH.
    for (const t of topics) for (const p of t.partitions) if (p.errorCode === ErrorCode.PRODUCER_FENCED) p.errorCode = ErrorCode.INVALID_PRODUCER_EPOCH;
    return { throttleTimeMs: 0, topics };
  },
};
