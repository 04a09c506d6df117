import { ZERO_UUID } from '../../protocol/primitives.js';
import { ApiKey, type OffsetCommitRequest, type OffsetCommitResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';

export const offsetCommitHandler: ApiHandler<OffsetCommitRequest, OffsetCommitResponse> = {
  apiKey: ApiKey.OffsetCommit,
  // v10 names topics by id only (KIP-848); not offered yet.
  maxVersion: 9,
  async handle({ broker, apiVersion }, req) {
    const topics = await broker.groupCoordinator.commitOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      unknownGroupError: apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION,
      topics: req.topics,
    });
    return { throttleTimeMs: 0, topics: topics.map((t) => ({ ...t, topicId: ZERO_UUID })) };
  },
};
