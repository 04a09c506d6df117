import { ZERO_UUID } from '../../protocol/primitives.js';
import { ApiKey, type OffsetFetchRequest, type OffsetFetchResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';

// require_stable (v7+): a partition whose offset an open transaction is committing answers
// UNSTABLE_OFFSET_COMMIT, so the consumer retries instead of starting from a stale position.
export const offsetFetchHandler: ApiHandler<OffsetFetchRequest, OffsetFetchResponse> = {
  apiKey: ApiKey.OffsetFetch,
  // v10 names topics by id only (KIP-848); not offered yet.
  maxVersion: 9,
  handle({ broker, apiVersion }, req) {
    const coordinator = broker.groupCoordinator;
    const fetch = (groupId: string, topics: { name: string; partitionIndexes: number[] }[] | null) => {
      const result = coordinator.fetchOffsets(groupId, topics);
      if (req.requireStable) {
        for (const t of result) {
          for (const p of t.partitions) {
            if (coordinator.hasPendingTxnOffset(groupId, t.name, p.partitionIndex)) {
              p.errorCode = ErrorCode.UNSTABLE_OFFSET_COMMIT;
              p.committedOffset = -1;
            }
          }
        }
      }
      return result.map((t) => ({ ...t, topicId: ZERO_UUID }));
    };
    const epochs = (parts: { committedLeaderEpoch: number }[]) => {
      // The leader epoch exists in responses from v5 on.
      if (apiVersion < 5) for (const p of parts) p.committedLeaderEpoch = -1;
    };
    if (apiVersion >= 8) {
      return {
        throttleTimeMs: 0,
        topics: [],
        errorCode: ErrorCode.NONE,
        groups: req.groups.map((g) => {
          // Another broker coordinates the group, or its partition is still loading here.
          const errorCode = coordinator.groupError(g.groupId);
          return { groupId: g.groupId, errorCode, topics: errorCode === ErrorCode.NONE ? fetch(g.groupId, g.topics) : [] };
        }),
      };
    }
    const errorCode = coordinator.groupError(req.groupId);
    if (errorCode !== ErrorCode.NONE) {
      // v2+ has a top-level error; before, each requested partition carries it.
      const topics =
        apiVersion >= 2
          ? []
          : (req.topics ?? []).map((t) => ({
              name: t.name,
              partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, committedOffset: -1, committedLeaderEpoch: -1, metadata: '', errorCode })),
            }));
      return { throttleTimeMs: 0, topics, errorCode, groups: [] };
    }
    const topics = fetch(req.groupId, req.topics);
    for (const t of topics) epochs(t.partitions);
    return { throttleTimeMs: 0, topics, errorCode: ErrorCode.NONE, groups: [] };
  },
};
