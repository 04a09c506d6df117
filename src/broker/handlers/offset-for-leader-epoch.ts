import { ApiKey, type OffsetForLeaderEpochRequest, type OffsetForLeaderEpochResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';

export const offsetForLeaderEpochHandler: ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = {
  apiKey: ApiKey.OffsetForLeaderEpoch,
  handle({ broker, conn }, req) {
    // A follower (replica id set) needs CLUSTER_ACTION; a consumer DESCRIBE on each topic.
    const follower = req.replicaId >= 0;
    const allowed = (topic: string) => (follower ? broker.security.cluster(conn, Op.CLUSTER_ACTION) : broker.security.topic(conn, Op.DESCRIBE, topic));
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const answer = (errorCode: number, leaderEpoch = -1, endOffset = -1) => ({ errorCode, partition: p.partition, leaderEpoch, endOffset });
          if (!allowed(t.topic)) return answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          const partition = broker.leaderPartition(t.topic, p.partition);
          if (typeof partition === 'number') return answer(partition);
          const epochError = partition.checkLeaderEpoch(p.currentLeaderEpoch);
          if (epochError !== ErrorCode.NONE) return answer(epochError);
          const end = partition.endOffsetForEpoch(p.leaderEpoch);
          return answer(ErrorCode.NONE, end.leaderEpoch, end.endOffset);
        }),
      })),
    };
  },
};
