import { ApiKey, type OffsetFetchRequest, type OffsetFetchResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from './index.js';

// require_stable is accepted: without transactions every committed offset is stable.
export const offsetFetchHandler: ApiHandler<OffsetFetchRequest, OffsetFetchResponse> = {
  apiKey: ApiKey.OffsetFetch,
  handle({ broker, apiVersion }, req) {
    const coordinator = broker.groupCoordinator;
    const epochs = (parts: { committedLeaderEpoch: number }[]) => {
      // The leader epoch exists in responses from v5 on.
      if (apiVersion < 5) for (const p of parts) p.committedLeaderEpoch = -1;
    };
    if (apiVersion >= 8) {
      return {
        throttleTimeMs: 0,
        topics: [],
        errorCode: ErrorCode.NONE,
        groups: req.groups.map((g) => ({ groupId: g.groupId, errorCode: ErrorCode.NONE, topics: coordinator.fetchOffsets(g.groupId, g.topics) })),
      };
    }
    const topics = coordinator.fetchOffsets(req.groupId, req.topics);
    for (const t of topics) epochs(t.partitions);
    return { throttleTimeMs: 0, topics, errorCode: ErrorCode.NONE, groups: [] };
  },
};
