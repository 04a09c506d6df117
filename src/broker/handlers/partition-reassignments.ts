import {
  ApiKey,
  type AlterPartitionReassignmentsRequest,
  type AlterPartitionReassignmentsResponse,
  type ListPartitionReassignmentsRequest,
  type ListPartitionReassignmentsResponse,
} from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { reassigning } from '../../cluster/metadata-port.js';
import type { PartitionResult } from '../../cluster/controller.js';
import type { ApiHandler } from '../api.js';
import { forwardToController } from '../controller-forwarding.js';

// Partition reassignment (KIP-455). Cluster mode: the active controller decides and writes it
// (replicas = target + old, adding/removing replicas), the new replicas catch up through
// ordinary follower fetching, the leader adds them to the ISR, and the controller completes the
// move. Other brokers forward the request to the controller (controller-forwarding.ts).
// Single node: the only possible replica set is [this broker]; assigning it completes at once,
// anything else names a broker that does not exist, and no reassignment is ever in progress.
export const alterPartitionReassignmentsHandler: ApiHandler<AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse> = {
  apiKey: ApiKey.AlterPartitionReassignments,
  async handle(ctx, req) {
    const { broker, apiVersion } = ctx;
    const allowRfChange = apiVersion >= 1 ? req.allowReplicationFactorChange : true;
    const respond = (results: PartitionResult[], errorCode: number = ErrorCode.NONE, errorMessage: string | null = null): AlterPartitionReassignmentsResponse => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      allowReplicationFactorChange: allowRfChange,
      responses: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const r = results.find((x) => x.topic === t.name && x.partition === p.partitionIndex);
          return { partitionIndex: p.partitionIndex, errorCode: r?.errorCode ?? errorCode, errorMessage: r?.errorMessage ?? errorMessage };
        }),
      })),
    });
    const controller = broker.cluster?.controller;
    if (controller) {
      try {
        if (controller.active) {
          const changes = req.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas })));
          return respond(await controller.alterReassignments(changes, allowRfChange));
        }
        const res = await forwardToController<AlterPartitionReassignmentsResponse>(ctx, ApiKey.AlterPartitionReassignments, {
          timeoutMs: req.timeoutMs,
          allowReplicationFactorChange: allowRfChange,
          topics: req.topics,
        });
        if (res.errorCode !== ErrorCode.NONE) return respond([], res.errorCode, res.errorMessage);
        return respond(
          res.responses.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode, errorMessage: p.errorMessage }))),
        );
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        return respond([], err.code, err.message);
      }
    }
    const results: PartitionResult[] = req.topics.flatMap((t) =>
      t.partitions.map((p) => {
        const answer = (errorCode: number, errorMessage: string | null = null) => ({ topic: t.name, partition: p.partitionIndex, errorCode, errorMessage });
        if (!broker.partition(t.name, p.partitionIndex)) return answer(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'The partition does not exist.');
        if (p.replicas === null) return answer(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'No reassignment is in progress for this partition.');
        if (p.replicas.length === 0) return answer(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The replica list is empty.');
        if (p.replicas.some((id) => id !== broker.nodeId) || new Set(p.replicas).size !== p.replicas.length) {
          return answer(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Unknown or duplicate broker ids in ${p.replicas.join(',')}`);
        }
        return answer(ErrorCode.NONE);
      }),
    );
    return respond(results);
  },
};

/** The reassignments in progress, from the metadata (any broker can answer; clients ask the controller). */
export const listPartitionReassignmentsHandler: ApiHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse> = {
  apiKey: ApiKey.ListPartitionReassignments,
  handle({ broker }, req) {
    const topics: ListPartitionReassignmentsResponse['topics'] = [];
    const names = req.topics ? req.topics.map((t) => t.name) : [...broker.topics.keys()].sort();
    for (const name of names) {
      const t = broker.topics.get(name);
      if (!t) continue;
      const states = broker.partitionStates(t);
      const wanted = req.topics?.find((x) => x.name === name)?.partitionIndexes ?? states.map((_, i) => i);
      const partitions = wanted.flatMap((index) => {
        const s = states[index];
        if (!s || !reassigning(s)) return [];
        return [{ partitionIndex: index, replicas: [...s.replicas], addingReplicas: [...(s.addingReplicas ?? [])], removingReplicas: [...(s.removingReplicas ?? [])] }];
      });
      if (partitions.length > 0) topics.push({ name, partitions });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics };
  },
};
