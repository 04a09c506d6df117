import { ApiKey, type DeleteTopicsRequest, type DeleteTopicsResponse, type DeleteTopicsResponseDeletableTopicResult } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';

type Result = DeleteTopicsResponseDeletableTopicResult;

export const deleteTopicsHandler: ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse> = {
  apiKey: ApiKey.DeleteTopics,
  async handle({ broker, apiVersion, conn }, req) {
    // v6+ names topics by name or id; older versions by name only.
    const targets = apiVersion >= 6 ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId })) : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }));
    const responses = await Promise.all(
      targets.map(async ({ name, topicId }): Promise<Result> => {
        const byId = name === null;
        const topic = byId ? broker.topicsById.get(topicId) : broker.topics.get(name);
        const result = (errorCode: number, errorMessage: string | null = null): Result => ({
          name: topic?.name ?? name,
          topicId: topic?.id ?? topicId,
          errorCode,
          errorMessage,
        });
        // DELETE on the topic; a topic named by an unknown id is UNKNOWN_TOPIC_ID, as Kafka cannot check it.
        const checked = topic?.name ?? name;
        if (checked !== null && !broker.security.topic(conn, Op.DELETE, checked)) return result(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
        if (!broker.config.bool('delete.topic.enable')) return result(ErrorCode.TOPIC_DELETION_DISABLED, 'Topic deletion is disabled.');
        if (!topic) return result(byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic.');
        if (!byId && topicId !== ZERO_UUID && topicId !== topic.id) return result(ErrorCode.INCONSISTENT_TOPIC_ID);
        try {
          await broker.deleteTopic(topic.name);
          return result(ErrorCode.NONE);
        } catch (err) {
          if (err instanceof KafkaError) return result(err.code, err.message);
          throw err;
        }
      }),
    );
    return { throttleTimeMs: 0, responses };
  },
};
