import { ApiKey, type ElectLeadersRequest, type ElectLeadersResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';

// With one replica per partition the preferred leader always leads: nothing to elect.
export const electLeadersHandler: ApiHandler<ElectLeadersRequest, ElectLeadersResponse> = {
  apiKey: ApiKey.ElectLeaders,
  handle({ broker }, req) {
    // "All partitions" reports only the elections performed, which on one node is none.
    const asked = req.topicPartitions ?? [];
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      replicaElectionResults: asked.map((t) => ({
        topic: t.topic,
        partitionResult: t.partitions.map((p) => {
          const exists = broker.partition(t.topic, p) !== undefined;
          return {
            partitionId: p,
            errorCode: exists ? ErrorCode.ELECTION_NOT_NEEDED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: exists ? 'Leader election not needed for topic partition.' : 'The partition does not exist.',
          };
        }),
      })),
    };
  },
};
