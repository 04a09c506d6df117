import {
  ApiKey,
  type DescribeTopicPartitionsRequest,
  type DescribeTopicPartitionsResponse,
  type DescribeTopicPartitionsResponseCursor,
  type DescribeTopicPartitionsResponseTopic,
} from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import { TOPIC_OPERATIONS, UNREQUESTED_OPERATIONS, topicOperations } from '../authorized-operations.js';
import { Op } from '../security/security.js';
import { invalidTopicReason } from '../topic-names.js';
import type { ApiHandler } from '../api.js';
import { withLiveLeaders } from './metadata.js';

const INTERNAL_TOPICS = new Set(['__consumer_offsets', '__transaction_state']);

/**
 * DescribeTopicPartitions (KIP-966): Metadata's topic part, paginated by partition count, which
 * kafka-topics --describe and Admin.describeTopics use from Kafka 3.8 on. Topics come in name
 * order, from the cursor's topic and partition on; at most `responsePartitionLimit` partitions
 * (capped by max.request.partition.size.limit) are described, and `nextCursor` says where the
 * next page starts. An empty topic list means every topic (unknown ones are then just absent).
 */
export const describeTopicPartitionsHandler: ApiHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse> = {
  apiKey: ApiKey.DescribeTopicPartitions,
  handle({ broker, conn }, req) {
    const fetchAll = req.topics.length === 0;
    const cursor = req.cursor;
    const cursorTopic = cursor?.topicName ?? '';
    const names = new Set<string>();
    if (fetchAll) {
      // Topics the principal may not DESCRIBE are left out.
      for (const name of broker.topics.keys()) if (name >= cursorTopic && broker.security.topic(conn, Op.DESCRIBE, name, false)) names.add(name);
    } else {
      for (const t of req.topics) if (t.name >= cursorTopic) names.add(t.name);
    }
    // Kafka refuses a cursor outside the requested topics or with a negative partition: every
    // requested topic answers INVALID_REQUEST (the request's error response).
    if (cursor && ((!fetchAll && !names.has(cursor.topicName)) || cursor.partitionIndex < 0)) {
      return {
        throttleTimeMs: 0,
        topics: req.topics.map((t) => ({
          errorCode: ErrorCode.INVALID_REQUEST,
          name: t.name,
          topicId: ZERO_UUID,
          isInternal: false,
          partitions: [],
          topicAuthorizedOperations: TOPIC_OPERATIONS,
        })),
        nextCursor: null,
      };
    }
    const limit = Math.max(Math.min(broker.config.int('max.request.partition.size.limit'), req.responsePartitionLimit), 1);
    let remaining = limit;
    const topics: DescribeTopicPartitionsResponseTopic[] = [];
    let nextCursor: DescribeTopicPartitionsResponseCursor | null = null;
    for (const name of [...names].sort()) {
      if (remaining === 0) {
        // The page ends exactly at a topic boundary: the next one starts with this topic.
        nextCursor = { topicName: name, partitionIndex: 0 };
        break;
      }
      const t = broker.topics.get(name);
      if (!fetchAll && !broker.security.topic(conn, Op.DESCRIBE, name)) {
        topics.push({
          errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
          name,
          topicId: ZERO_UUID,
          isInternal: false,
          partitions: [],
          topicAuthorizedOperations: UNREQUESTED_OPERATIONS,
        });
        continue;
      }
      if (!t) {
        if (!fetchAll) {
          const errorCode = invalidTopicReason(name) ? ErrorCode.INVALID_TOPIC_EXCEPTION : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          topics.push({ errorCode, name, topicId: ZERO_UUID, isInternal: INTERNAL_TOPICS.has(name), partitions: [], topicAuthorizedOperations: TOPIC_OPERATIONS });
        }
        continue;
      }
      const start = cursor && name === cursorTopic ? cursor.partitionIndex : 0;
      const end = Math.min(t.partitions.length, start + remaining);
      const live = new Set(broker.liveBrokers().map((b) => b.nodeId));
      const partitions = broker
        .partitionStates(t)
        .slice(start, Math.max(start, end))
        .map((s, i) => ({
          errorCode: s.leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
          partitionIndex: start + i,
          leaderId: s.leader,
          leaderEpoch: s.leaderEpoch,
          replicaNodes: s.replicas,
          isrNodes: s.isr,
          eligibleLeaderReplicas: [],
          lastKnownElr: [],
          offlineReplicas: s.replicas.filter((r) => !live.has(r) || broker.replicaOffline(t.id, start + i, r)),
        }));
      // As Metadata: a leader that is not live on this listener is not named.
      withLiveLeaders(partitions, new Set(broker.liveBrokers(conn.listenerName).map((b) => b.nodeId)), live, true);
      topics.push({
        errorCode: ErrorCode.NONE,
        name,
        topicId: t.id,
        isInternal: t.internal,
        partitions,
        topicAuthorizedOperations: topicOperations(broker.security, conn, name),
      });
      if (start + remaining < t.partitions.length) {
        nextCursor = { topicName: name, partitionIndex: start + remaining };
        break;
      }
      remaining -= partitions.length;
    }
    return { throttleTimeMs: 0, topics, nextCursor };
  },
};
