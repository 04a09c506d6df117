// KIP-932's share coordinator APIs, sent between brokers: a share-partition leader reads and
// writes the state of its share-partitions on the broker leading the key's __share_group_state
// partition (broker/share/share-persister.ts is the caller). Each partition is answered by this
// broker's ShareCoordinator; NOT_COORDINATOR when it does not lead the key's partition. Like
// Kafka, they need CLUSTER_ACTION on the cluster.
import {
  ApiKey,
  type DeleteShareGroupStateRequest,
  type DeleteShareGroupStateRequestPartitionData,
  type DeleteShareGroupStateResponse,
  type DeleteShareGroupStateResponsePartitionResult,
  type InitializeShareGroupStateRequest,
  type InitializeShareGroupStateRequestPartitionData,
  type InitializeShareGroupStateResponse,
  type InitializeShareGroupStateResponsePartitionResult,
  type ReadShareGroupStateRequest,
  type ReadShareGroupStateRequestPartitionData,
  type ReadShareGroupStateResponse,
  type ReadShareGroupStateResponsePartitionResult,
  type ReadShareGroupStateSummaryRequest,
  type ReadShareGroupStateSummaryRequestPartitionData,
  type ReadShareGroupStateSummaryResponse,
  type ReadShareGroupStateSummaryResponsePartitionResult,
  type WriteShareGroupStateRequest,
  type WriteShareGroupStateRequestPartitionData,
  type WriteShareGroupStateResponse,
  type WriteShareGroupStateResponsePartitionResult,
} from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { DeliveryState, type ShareStateKey } from '../../coordinator/share-coordinator.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';
import type { Broker } from '../broker.js';

/**
 * A share coordinator API: every partition of every topic of the request is answered by
 * `answer` with this broker's ShareCoordinator, or refused (`refused`) without CLUSTER_ACTION or
 * with an empty group id. The five APIs differ only in what they do with one share-partition.
 */
function shareStateHandler<P extends { partition: number }, R>(
  apiKey: number,
  answer: (broker: Broker, k: ShareStateKey, p: P) => Promise<R>,
  refused: (p: P, errorCode: number) => R,
): ApiHandler<{ groupId: string; topics: { topicId: string; partitions: P[] }[] }, { results: { topicId: string; partitions: R[] }[] }> {
  return {
    apiKey,
    async handle({ broker, conn }, req) {
      const allowed = broker.security.cluster(conn, Op.CLUSTER_ACTION);
      const results = await Promise.all(
        req.topics.map(async (t) => ({
          topicId: t.topicId,
          partitions: await Promise.all(
            t.partitions.map((p) => {
              if (!allowed) return refused(p, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
              if (req.groupId === '') return refused(p, ErrorCode.INVALID_REQUEST);
              return answer(broker, { groupId: req.groupId, topicId: t.topicId, partition: p.partition }, p);
            }),
          ),
        })),
      );
      return { results };
    },
  };
}

/** The answer of a partition that only says whether it was done. */
const codeOnly = (p: { partition: number }, errorCode: number) => ({ partition: p.partition, errorCode, errorMessage: null });

export const readShareGroupStateHandler: ApiHandler<ReadShareGroupStateRequest, ReadShareGroupStateResponse> = shareStateHandler<
  ReadShareGroupStateRequestPartitionData,
  ReadShareGroupStateResponsePartitionResult
>(
  ApiKey.ReadShareGroupState,
  async (broker, k, p) => {
    const s = await broker.shares.coordinator.read(k, p.leaderEpoch);
    if (typeof s === 'number') return noState(p, s);
    // No state yet: start offset -1 ("not initialized"), as the schema has it.
    if (s === null) return noState(p, ErrorCode.NONE);
    return { partition: p.partition, errorCode: ErrorCode.NONE, errorMessage: null, stateEpoch: s.stateEpoch, startOffset: s.startOffset, stateBatches: s.stateBatches };
  },
  (p, code) => noState(p, code),
);

function noState(p: { partition: number }, errorCode: number): ReadShareGroupStateResponsePartitionResult {
  return { partition: p.partition, errorCode, errorMessage: null, stateEpoch: 0, startOffset: -1, stateBatches: [] };
}

export const writeShareGroupStateHandler: ApiHandler<WriteShareGroupStateRequest, WriteShareGroupStateResponse> = shareStateHandler<
  WriteShareGroupStateRequestPartitionData,
  WriteShareGroupStateResponsePartitionResult
>(
  ApiKey.WriteShareGroupState,
  async (broker, k, p) => {
    // Acquired is not a stored state (the schema: 0, 2, 4); a record in flight is written available.
    const stateBatches = p.stateBatches.map((b) => ({ ...b, deliveryState: b.deliveryState === DeliveryState.ACQUIRED ? DeliveryState.AVAILABLE : b.deliveryState }));
    return codeOnly(p, await broker.shares.coordinator.write(k, { stateEpoch: p.stateEpoch, leaderEpoch: p.leaderEpoch, startOffset: p.startOffset, stateBatches }));
  },
  codeOnly,
);

export const initializeShareGroupStateHandler: ApiHandler<InitializeShareGroupStateRequest, InitializeShareGroupStateResponse> = shareStateHandler<
  InitializeShareGroupStateRequestPartitionData,
  InitializeShareGroupStateResponsePartitionResult
>(
  ApiKey.InitializeShareGroupState,
  // A new state epoch and start offset with nothing in flight; an older state epoch is fenced.
  async (broker, k, p) =>
    codeOnly(p, await broker.shares.coordinator.write(k, { stateEpoch: p.stateEpoch, leaderEpoch: -1, startOffset: Math.max(0, p.startOffset), stateBatches: [] })),
  codeOnly,
);

export const deleteShareGroupStateHandler: ApiHandler<DeleteShareGroupStateRequest, DeleteShareGroupStateResponse> = shareStateHandler<
  DeleteShareGroupStateRequestPartitionData,
  DeleteShareGroupStateResponsePartitionResult
>(ApiKey.DeleteShareGroupState, async (broker, k, p) => codeOnly(p, await broker.shares.coordinator.delete(k)), codeOnly);

export const readShareGroupStateSummaryHandler: ApiHandler<ReadShareGroupStateSummaryRequest, ReadShareGroupStateSummaryResponse> = shareStateHandler<
  ReadShareGroupStateSummaryRequestPartitionData,
  ReadShareGroupStateSummaryResponsePartitionResult
>(
  ApiKey.ReadShareGroupStateSummary,
  async (broker, k, p) => {
    const s = await broker.shares.coordinator.summary(k);
    if (typeof s === 'number') return noSummary(p, s);
    if (s === null) return noSummary(p, ErrorCode.NONE);
    let complete = 0;
    for (const b of s.stateBatches)
      if (b.deliveryState === DeliveryState.ACKNOWLEDGED || b.deliveryState === DeliveryState.ARCHIVED) complete += b.lastOffset - b.firstOffset + 1;
    return {
      partition: p.partition,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      stateEpoch: s.stateEpoch,
      leaderEpoch: s.leaderEpoch,
      startOffset: s.startOffset,
      deliveryCompleteCount: complete,
    };
  },
  (p, code) => noSummary(p, code),
);

function noSummary(p: { partition: number }, errorCode: number): ReadShareGroupStateSummaryResponsePartitionResult {
  return { partition: p.partition, errorCode, errorMessage: null, stateEpoch: 0, leaderEpoch: -1, startOffset: -1, deliveryCompleteCount: -1 };
}
