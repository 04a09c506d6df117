import { ZERO_UUID } from '../../protocol/primitives.js';
import { ApiKey, type TxnOffsetCommitRequest, type TxnOffsetCommitResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { OFFSETS_TOPIC } from '../../coordinator/offsets-topic.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';
import { translateVerdict, txnOffsetCommitTxnSupport } from '../txn-verifier.js';

// v5 is transactions V2: no AddOffsetsToTxn before it, the group's partition is added to the
// transaction here (KIP-890 part 2); v4 and older verify that AddOffsetsToTxn added it.
export const txnOffsetCommitHandler: ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse> = {
  apiKey: ApiKey.TxnOffsetCommit,
  maxVersion: 5,
  async handle({ broker, conn, apiVersion }, req) {
    const groups = broker.groupCoordinator;
    const all = (code: number): TxnOffsetCommitResponse => ({
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({ name: t.name, topicId: ZERO_UUID, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: code })) })),
    });
    if (req.groupId === '') return all(ErrorCode.INVALID_GROUP_ID);
    // KIP-890: the group's partition must be part of the transaction (AddOffsetsToTxn came
    // first), or with V2 is added now, by the transaction coordinator wherever it is.
    const support = txnOffsetCommitTxnSupport(apiVersion);
    const verdict = await broker.txnVerifier.check({
      transactionalId: req.transactionalId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      topic: OFFSETS_TOPIC,
      partition: groups.partitionFor(req.groupId),
      add: support === 'add',
    });
    const code = translateVerdict(verdict, support, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    if (code !== ErrorCode.NONE) return all(code);
    // READ on each topic; the partitions of the others answer TOPIC_AUTHORIZATION_FAILED, uncommitted.
    const denied = req.topics.filter((t) => !broker.security.topic(conn, Op.READ, t.name));
    const deniedResults = denied.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })),
    }));
    if (denied.length > 0 && denied.length === req.topics.length) return { throttleTimeMs: 0, topics: deniedResults.map((t) => ({ ...t, topicId: ZERO_UUID })) };
    const committed = await groups.commitTxnOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      producerId: req.producerId,
      producerEpoch: req.producerEpoch,
      topics: denied.length === 0 ? req.topics : req.topics.filter((t) => !denied.includes(t)),
    });
    const topics = [...committed, ...deniedResults];
    // A fenced producer of this API has always been told INVALID_PRODUCER_EPOCH.
    for (const t of topics) for (const p of t.partitions) if (p.errorCode === ErrorCode.PRODUCER_FENCED) p.errorCode = ErrorCode.INVALID_PRODUCER_EPOCH;
    return { throttleTimeMs: 0, topics: topics.map((t) => ({ ...t, topicId: ZERO_UUID })) };
  },
};
