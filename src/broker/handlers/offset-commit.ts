import { ApiKey, type OffsetCommitRequest, type OffsetCommitResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';
import { commitTopicChecks, sortCommitTopics } from './commit-topics.js';

export const offsetCommitHandler: ApiHandler<OffsetCommitRequest, OffsetCommitResponse> = {
  apiKey: ApiKey.OffsetCommit,
  // v10 names topics by id instead of name (KIP-848).
  maxVersion: 10,
  async handle({ broker, apiVersion, conn }, req) {
    // The group's READ is checked before (request-checks.ts); then the topics, as in Kafka: an
    // unknown id, a topic without READ or a partition that does not exist answers by itself, and
    // the others commit under the topic's name, which is what the group's offsets are keyed by.
    const sorted = sortCommitTopics(req.topics, commitTopicChecks(broker, conn, apiVersion >= 10));
    if (sorted.known.length === 0) return { throttleTimeMs: 0, topics: sorted.answer([]) };
    const committed = await broker.groupCoordinator.commitOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      unknownGroupError: apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION,
      apiVersion,
      topics: sorted.known,
    });
    return { throttleTimeMs: 0, topics: sorted.answer(committed) };
  },
};
