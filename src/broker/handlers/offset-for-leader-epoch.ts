import { ApiKey, type OffsetForLeaderEpochRequest, type OffsetForLeaderEpochResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';

export const offsetForLeaderEpochHandler: ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = {
  apiKey: ApiKey.OffsetForLeaderEpoch,
  handle({ broker }, req) {
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => {
          const answer = (errorCode: number, leaderEpoch = -1, endOffset = -1) => ({ errorCode, partition: p.partition, leaderEpoch, endOffset });
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
