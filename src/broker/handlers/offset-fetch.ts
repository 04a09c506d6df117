import { ZERO_UUID } from '../../protocol/primitives.js';
import { ApiKey, type OffsetFetchRequest, type OffsetFetchResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';

// require_stable (v7+): a partition whose offset an open transaction is committing answers
// UNSTABLE_OFFSET_COMMIT, so the consumer retries instead of starting from a stale position.
export const offsetFetchHandler: ApiHandler<OffsetFetchRequest, OffsetFetchResponse> = {
  apiKey: ApiKey.OffsetFetch,
  // v10 names topics by id instead of name (KIP-848).
  maxVersion: 10,
  handle({ broker, apiVersion, conn }, req) {
    const coordinator = broker.groupCoordinator;
    const describable = (topic: string, audit: boolean) => broker.security.topic(conn, Op.DESCRIBE, topic, audit);
    const byName = (groupId: string, topics: { name: string; partitionIndexes: number[] }[] | null) => {
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
    // v10 names topics by id: each resolves to its name here (offsets are keyed by name), and a
    // topic id this broker does not know (never created, or deleted even if a topic of the same
    // name exists again) answers UNKNOWN_TOPIC_ID, after the others, as in Kafka. Answers for
    // all topics carry each topic's current id.
    type ById = { name: string; topicId: string; partitionIndexes: number[] };
    const fetch = (groupId: string, topics: ById[] | null) => {
      if (apiVersion < 10) return byName(groupId, topics);
      const unknown: ById[] = [];
      const named: { name: string; partitionIndexes: number[] }[] = [];
      const ids = new Map<string, string>();
      for (const t of topics ?? []) {
        const name = t.topicId === ZERO_UUID ? undefined : broker.topicsById.get(t.topicId)?.name;
        if (name === undefined) unknown.push(t);
        else {
          named.push({ name, partitionIndexes: t.partitionIndexes });
          ids.set(name, t.topicId);
        }
      }
      const found = byName(groupId, topics === null ? null : named)
        .map((t) => ({ ...t, topicId: ids.get(t.name) ?? broker.topics.get(t.name)?.id ?? ZERO_UUID }))
        .filter((t) => t.topicId !== ZERO_UUID);
      const missing = unknown.map((t) => ({
        name: '',
        topicId: t.topicId,
        partitions: t.partitionIndexes.map((partitionIndex) => ({
          partitionIndex,
          committedOffset: -1,
          committedLeaderEpoch: -1,
          metadata: '',
          errorCode: ErrorCode.UNKNOWN_TOPIC_ID,
        })),
      }));
      return [...found, ...missing];
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
          // v9+: a consumer (KIP-848) or streams (KIP-1071) group's member fetches at its current epoch.
          if (errorCode === ErrorCode.NONE) errorCode = coordinator.validateOffsetFetch(g.groupId, g.memberId, g.memberEpoch);
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
    const topics = byName(req.groupId, req.topics);
    for (const t of topics) epochs(t.partitions);
    return { throttleTimeMs: 0, topics, errorCode: ErrorCode.NONE, groups: [] };
  },
};
