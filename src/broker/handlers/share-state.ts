// KIP-932's share coordinator APIs, sent between brokers: a share-partition leader reads and
// writes the state of its share-partitions on the broker leading the key's __share_group_state
// partition (broker/share/share-persister.ts is the caller). Each partition is answered by this
// broker's ShareCoordinator; NOT_COORDINATOR when it does not lead the key's partition. Like
// Kafka, they need CLUSTER_ACTION on the cluster.
import {
  ApiKey,
  type DeleteShareGroupStateRequest,
  type DeleteShareGroupStateResponse,
  type InitializeShareGroupStateRequest,
  type InitializeShareGroupStateResponse,
  type ReadShareGroupStateRequest,
  type ReadShareGroupStateResponse,
  type ReadShareGroupStateSummaryRequest,
  type ReadShareGroupStateSummaryResponse,
  type WriteShareGroupStateRequest,
  type WriteShareGroupStateResponse,
} from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { DeliveryState, type ShareStateKey } from '../../coordinator/share-coordinator.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';
import type { Broker } from '../broker.js';
import type { Connection } from '../../network/connection.js';

/** Answers every partition of every topic of a request, one share-partition at a time. */
async function eachPartition<P extends { partition: number }, R>(
  broker: Broker,
  conn: Connection,
  groupId: string,
  topics: { topicId: string; partitions: P[] }[],
  answer: (k: ShareStateKey, p: P) => Promise<R>,
  refused: (p: P, errorCode: number) => R,
): Promise<{ topicId: string; partitions: R[] }[]> {
  const allowed = broker.security.cluster(conn, Op.CLUSTER_ACTION);
  return Promise.all(
    topics.map(async (t) => ({
      topicId: t.topicId,
      partitions: await Promise.all(
        t.partitions.map((p) => {
          if (!allowed) return refused(p, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
          if (groupId === '') return refused(p, ErrorCode.INVALID_REQUEST);
          return answer({ groupId, topicId: t.topicId, partition: p.partition }, p);
        }),
      ),
    })),
  );
}

export const readShareGroupStateHandler: ApiHandler<ReadShareGroupStateRequest, ReadShareGroupStateResponse> = {
  apiKey: ApiKey.ReadShareGroupState,
  async handle({ broker, conn }, req) {
    const none = (partition: number, errorCode: number) => ({ partition, errorCode, errorMessage: null, stateEpoch: 0, startOffset: -1, stateBatches: [] });
    const results = await eachPartition(
      broker,
      conn,
      req.groupId,
      req.topics,
      async (k, p) => {
        const s = await broker.shares.coordinator.read(k, p.leaderEpoch);
        if (typeof s === 'number') return none(p.partition, s);
        // No state yet: start offset -1 ("not initialized"), as the schema has it.
        if (s === null) return none(p.partition, ErrorCode.NONE);
        return { partition: p.partition, errorCode: ErrorCode.NONE, errorMessage: null, stateEpoch: s.stateEpoch, startOffset: s.startOffset, stateBatches: s.stateBatches };
      },
      (p, code) => none(p.partition, code),
    );
    return { results };
  },
};

export const writeShareGroupStateHandler: ApiHandler<WriteShareGroupStateRequest, WriteShareGroupStateResponse> = {
  apiKey: ApiKey.WriteShareGroupState,
  async handle({ broker, conn }, req) {
    const results = await eachPartition(
      broker,
      conn,
      req.groupId,
      req.topics,
      async (k, p) => {
        // Acquired is not a stored state (the schema: 0, 2, 4); a record in flight is written available.
        const stateBatches = p.stateBatches.map((b) => ({ ...b, deliveryState: b.deliveryState === DeliveryState.ACQUIRED ? DeliveryState.AVAILABLE : b.deliveryState }));
        const code = await broker.shares.coordinator.write(k, { stateEpoch: p.stateEpoch, leaderEpoch: p.leaderEpoch, startOffset: p.startOffset, stateBatches });
        return { partition: p.partition, errorCode: code, errorMessage: null };
      },
      (p, errorCode) => ({ partition: p.partition, errorCode, errorMessage: null }),
    );
    return { results };
  },
};

export const initializeShareGroupStateHandler: ApiHandler<InitializeShareGroupStateRequest, InitializeShareGroupStateResponse> = {
  apiKey: ApiKey.InitializeShareGroupState,
  async handle({ broker, conn }, req) {
    const results = await eachPartition(
      broker,
      conn,
      req.groupId,
      req.topics,
      async (k, p) => {
        // A new state epoch and start offset with nothing in flight; an older state epoch is fenced.
        const code = await broker.shares.coordinator.write(k, { stateEpoch: p.stateEpoch, leaderEpoch: -1, startOffset: Math.max(0, p.startOffset), stateBatches: [] });
        return { partition: p.partition, errorCode: code, errorMessage: null };
      },
      (p, errorCode) => ({ partition: p.partition, errorCode, errorMessage: null }),
    );
    return { results };
  },
};

export const deleteShareGroupStateHandler: ApiHandler<DeleteShareGroupStateRequest, DeleteShareGroupStateResponse> = {
  apiKey: ApiKey.DeleteShareGroupState,
  async handle({ broker, conn }, req) {
    const results = await eachPartition(
      broker,
      conn,
      req.groupId,
      req.topics,
      async (k, p) => ({ partition: p.partition, errorCode: await broker.shares.coordinator.delete(k), errorMessage: null }),
      (p, errorCode) => ({ partition: p.partition, errorCode, errorMessage: null }),
    );
    return { results };
  },
};

export const readShareGroupStateSummaryHandler: ApiHandler<ReadShareGroupStateSummaryRequest, ReadShareGroupStateSummaryResponse> = {
  apiKey: ApiKey.ReadShareGroupStateSummary,
  async handle({ broker, conn }, req) {
    const none = (partition: number, errorCode: number) => ({
      partition,
      errorCode,
      errorMessage: null,
      stateEpoch: 0,
      leaderEpoch: -1,
      startOffset: -1,
      deliveryCompleteCount: -1,
    });
    const results = await eachPartition(
      broker,
      conn,
      req.groupId,
      req.topics,
      async (k, p) => {
        const s = await broker.shares.coordinator.summary(k);
        if (typeof s === 'number') return none(p.partition, s);
        if (s === null) return none(p.partition, ErrorCode.NONE);
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
      (p, code) => none(p.partition, code),
    );
    return { results };
  },
};
