import { ZERO_UUID } from '../../protocol/primitives.js';
import { ApiKey, type OffsetCommitRequest, type OffsetCommitRequestTopic, type OffsetCommitResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';
import { mergeTopicAnswers, splitUnknownPartitions } from './commit-topics.js';

type ResponseTopic = OffsetCommitResponse['topics'][number];

export const offsetCommitHandler: ApiHandler<OffsetCommitRequest, OffsetCommitResponse> = {
  apiKey: ApiKey.OffsetCommit,
  // v10 names topics by id instead of name (KIP-848).
  maxVersion: 10,
  async handle({ broker, apiVersion, conn }, req) {
    const useTopicIds = apiVersion >= 10;
    const failed: ResponseTopic[] = [];
    const fail = (t: OffsetCommitRequestTopic, name: string, errorCode: number) =>
      failed.push({ name, topicId: t.topicId, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })) });
    // v10: a topic id this broker does not know (never created, or deleted, also when a topic of
    // the same name was created again) answers UNKNOWN_TOPIC_ID, as in Kafka; the others commit
    // under the topic's name, which is what the group's offsets are keyed by.
    const named: OffsetCommitRequestTopic[] = [];
    for (const t of req.topics) {
      const name = useTopicIds ? (t.topicId === ZERO_UUID ? undefined : broker.topicsById.get(t.topicId)?.name) : t.name;
      if (name === undefined) fail(t, '', ErrorCode.UNKNOWN_TOPIC_ID);
      else named.push(name === t.name ? t : { ...t, name });
    }
    // The group's READ is checked before (request-checks.ts); each topic needs READ too, by its
    // name, and the partitions of a topic without it answer TOPIC_AUTHORIZATION_FAILED, uncommitted.
    const allowed = named.filter((t) => {
      if (broker.security.topic(conn, Op.READ, t.name)) return true;
      fail(t, t.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      return false;
    });
    const idOf = new Map(named.map((t) => [t.name, useTopicIds ? t.topicId : ZERO_UUID]));
    const { known, unknown } = splitUnknownPartitions(allowed, (topic, partition) => broker.partitionExists(topic, partition));
    if (known.length === 0) return { throttleTimeMs: 0, topics: mergeTopicAnswers(unknown, failed) };
    const committed = await broker.groupCoordinator.commitOffsets({
      groupId: req.groupId,
      generationId: req.generationIdOrMemberEpoch,
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      unknownGroupError: apiVersion >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION,
      apiVersion,
      topics: known,
    });
    const answered = committed.map((t) => ({ ...t, topicId: idOf.get(t.name) ?? ZERO_UUID }));
    return { throttleTimeMs: 0, topics: mergeTopicAnswers(unknown, answered, failed) };
  },
};
