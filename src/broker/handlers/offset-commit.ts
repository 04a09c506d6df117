import { ApiKey, type OffsetCommitRequest, type OffsetCommitResponse } from '../../protocol/generated/index.js';
import type { ApiHandler } from './index.js';

export const offsetCommitHandler: ApiHandler<OffsetCommitRequest, OffsetCommitResponse> = {
  apiKey: ApiKey.OffsetCommit,
  async handle({ broker }, req) {
    const topics = await broker.groupCoordinator.commitOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      topics: req.topics,
    });
    return { throttleTimeMs: 0, topics };
  },
};
