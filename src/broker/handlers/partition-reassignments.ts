import {
  ApiKey,
  type AlterPartitionReassignmentsRequest,
  type AlterPartitionReassignmentsResponse,
  type ListPartitionReassignmentsRequest,
  type ListPartitionReassignmentsResponse,
} from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';

// On one node the only possible replica set is [this broker]: assigning it completes at once,
// anything else names a broker that does not exist, and no reassignment is ever in progress.
export const alterPartitionReassignmentsHandler: ApiHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse> = {
  apiKey: ApiKey.AlterPartitionReassignments,
  // v1 adds allow_replication_factor_change (KIP-860), not handled yet.
  maxVersion: 0,
  handle({ broker }, req) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      allowReplicationFactorChange: true,
      responses: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const answer = (errorCode: number, errorMessage: string | null = null) => ({ partitionIndex: p.partitionIndex, errorCode, errorMessage });
          if (!broker.partition(t.name, p.partitionIndex)) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'The partition does not exist.');
          if (p.replicas === null) return answer(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'No reassignment is in progress for this partition.');
          if (p.replicas.length === 0) return answer(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The replica list is empty.');
          if (p.replicas.some((id) => id !== broker.nodeId) || new Set(p.replicas).size !== p.replicas.length) {
            return answer(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Unknown or duplicate broker ids in ${p.replicas.join(',')}`);
          }
          return answer(ErrorCode.NONE);
        }),
      })),
    };
  },
};

export const listPartitionReassignmentsHandler: ApiHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse> = {
  apiKey: ApiKey.ListPartitionReassignments,
  handle() {
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [] };
  },
};
