import { ZERO_UUID } from '../../protocol/primitives.js';
import { ApiKey, type OffsetFetchRequest, type OffsetFetchResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';

// require_stable (v7+): a partition whose offset an open transaction is committing answers
// UNSTABLE_OFFSET_COMMIT, so the consumer retries instead of starting from a stale position.
export const offsetFetchHandler: ApiHandler<OffsetFetchRequest, OffsetFetchResponse> = {
  apiKey: ApiKey.OffsetFetch,
  // v10 names topics by id only (KIP-848); not offered yet.
  maxVersion: 9,
  handle({ broker, apiVersion, conn }, req) {
    const coordinator = broker.groupCoordinator;
    const describable = (topic: string, audit: boolean) => broker.security.topic(conn, Op.DESCRIBE, topic, audit);
    const fetch = (groupId: string, topics: { name: string; partitionIndexes: number[] }[] | null) => {
      // All topics: those the principal may not describe are left out; named ones answer
      // TOPIC_AUTHORIZATION_FAILED per partition.
      const result = coordinator.fetchOffsets(groupId, topics).filter((t) => topics !== null || describable(t.name, false));
      if (topics !== null) {
        for (const t of result) {
          if (describable(t.name, true)) continue;
          for (const p of t.partitions) {
            p.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
            p.committedOffset = -1;
            p.committedLeaderEpoch = -1;
            p.metadata = '';
          }
        }
      }
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
          let errorCode = broker.security.group(conn, Op.DESCRIBE, g.groupId) ? coordinator.groupError(g.groupId) : ErrorCode.GROUP_AUTHORIZATION_FAILED;
          // v9+: a consumer group's member fetches at its current epoch (KIP-848).
          if (errorCode === ErrorCode.NONE && coordinator.consumer.groups.has(g.groupId) && (g.memberId ?? '') !== '') {
            errorCode = coordinator.consumer.validateMemberEpoch(g.groupId, g.memberId ?? '', g.memberEpoch, apiVersion, 9);
          }
          // And a streams group's member (KIP-1071).
          if (errorCode === ErrorCode.NONE && coordinator.streams.groups.has(g.groupId) && (g.memberId ?? '') !== '') {
            errorCode = coordinator.streams.validateMemberEpoch(g.groupId, g.memberId ?? '', g.memberEpoch);
          }
          return { groupId: g.groupId, errorCode, topics: errorCode === ErrorCode.NONE ? fetch(g.groupId, g.topics) : [] };
        }),
      };
    }
    const errorCode = broker.security.group(conn, Op.DESCRIBE, req.groupId) ? coordinator.groupError(req.groupId) : ErrorCode.GROUP_AUTHORIZATION_FAILED;
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
