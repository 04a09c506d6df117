import { ZERO_UUID } from '../../protocol/primitives.js';
import { ApiKey, type TxnOffsetCommitRequest, type TxnOffsetCommitRequestTopic, type TxnOffsetCommitResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { OFFSETS_TOPIC } from '../../coordinator/offsets-topic.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';
import { translateVerdict, txnOffsetCommitTxnSupport } from '../txn-verifier.js';
import { mergeTopicAnswers, splitUnknownPartitions, type CommitTopicAnswer } from './commit-topics.js';

// v5 is transactions V2: no AddOffsetsToTxn before it, the group's partition is added to the
// transaction here (KIP-890 part 2); v4 and older verify that AddOffsetsToTxn added it. v6 names
// topics by id (KIP-1319) and tells a consumer group member STALE_MEMBER_EPOCH, and a member of
// a group that does not exist GROUP_ID_NOT_FOUND, where older versions say ILLEGAL_GENERATION.
export const txnOffsetCommitHandler: ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse> = {
  apiKey: ApiKey.TxnOffsetCommit,
  maxVersion: 6,
  async handle({ broker, conn, apiVersion }, req) {
    const groups = broker.groupCoordinator;
    const useTopicIds = apiVersion >= 6;
    // First the topics, as Kafka's request handler sorts them: v6 names topics by id (KIP-1319),
    // and an id this broker does not know (never created, or a deleted topic's, also once the
    // name exists again) answers UNKNOWN_TOPIC_ID; then READ on each topic, by name (the
    // partitions of the others answer TOPIC_AUTHORIZATION_FAILED, uncommitted); then a partition
    // that does not exist answers UNKNOWN_TOPIC_OR_PARTITION. A request left with nothing to
    // commit goes no further.
    const failed: CommitTopicAnswer[] = [];
    const fail = (t: TxnOffsetCommitRequestTopic, name: string, errorCode: number) =>
      failed.push({ name, topicId: t.topicId, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) });
    const allowed: TxnOffsetCommitRequestTopic[] = [];
    for (const t of req.topics) {
      const name = useTopicIds ? (t.topicId === ZERO_UUID ? undefined : broker.topicsById.get(t.topicId)?.name) : t.name;
      if (name === undefined) fail(t, '', ErrorCode.UNKNOWN_TOPIC_ID);
      else if (!broker.security.topic(conn, Op.READ, name)) fail(t, name, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      else allowed.push(name === t.name ? t : { ...t, name });
    }
    const { known, unknown } = splitUnknownPartitions(allowed, (topic, partition) => broker.partitionExists(topic, partition));
    const answer = (topics: CommitTopicAnswer[]): TxnOffsetCommitResponse => ({ throttleTimeMs: 0, topics: mergeTopicAnswers(unknown, topics, failed) });
    if (known.length === 0) return answer([]);
    const idOf = new Map(known.map((t) => [t.name, useTopicIds ? t.topicId : ZERO_UUID]));
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
      topics: known,
      verifyTransaction,
    });
    const { topics } = answer(committed.map((t) => ({ ...t, topicId: idOf.get(t.name) ?? ZERO_UUID })));
    // A fenced producer of this API has always been told INVALID_PRODUCER_EPOCH.
    for (const t of topics) for (const p of t.partitions) if (p.errorCode === ErrorCode.PRODUCER_FENCED) p.errorCode = ErrorCode.INVALID_PRODUCER_EPOCH;
    return { throttleTimeMs: 0, topics };
  },
};
