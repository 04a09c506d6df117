import { ZERO_UUID } from '../../protocol/primitives.js';
import { ApiKey, type OffsetCommitRequest, type OffsetCommitResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';

export const offsetCommitHandler: ApiHandler<OffsetCommitRequest, OffsetCommitResponse> = {
  apiKey: ApiKey.OffsetCommit,
  // v10 names topics by id only (KIP-848); not offered yet.
  maxVersion: 9,
  async handle({ broker, apiVersion, conn }, req) {
    // The group's READ is checked before (request-checks.ts); each topic needs READ too, and
    // the partitions of a topic without it answer TOPIC_AUTHORIZATION_FAILED, uncommitted.
    const denied = req.topics.filter((t) => !broker.security.topic(conn, Op.READ, t.name));
    const deniedResults = denied.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED })),
    }));
    if (denied.length === req.topics.length && denied.length > 0) return { throttleTimeMs: 0, topics: deniedResults.map((t) => ({ ...t, topicId: ZERO_UUID })) };
    const committed = await broker.groupCoordinator.commitOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      unknownGroupError: apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION,
      apiVersion,
      topics: denied.length === 0 ? req.topics : req.topics.filter((t) => !denied.includes(t)),
    });
    return { throttleTimeMs: 0, topics: [...committed, ...deniedResults].map((t) => ({ ...t, topicId: ZERO_UUID })) };
  },
};
