import { ApiKey, type ElectLeadersRequest, type ElectLeadersResponse } from '../../protocol/generated/index.js';
import { ErrorCode, errorName, KafkaError } from '../../protocol/errors.js';
import { forwardToController } from '../controller-forwarding.js';
import type { PartitionResult } from '../../cluster/controller.js';
import type { ApiHandler } from '../api.js';

/**
 * ElectLeaders (KIP-460): PREFERRED or UNCLEAN elections. Cluster mode: decided and written by
 * the active controller with its fenced writes; another broker forwards the request to it
 * (controller-forwarding.ts). Single node: the only replica always leads, nothing to elect.
 */
export const electLeadersHandler: ApiHandler<ElectLeadersRequest, ElectLeadersResponse> = {
  apiKey: ApiKey.ElectLeaders,
  async handle(ctx, req) {
    const { broker, apiVersion } = ctx;
    const electionType = apiVersion >= 1 ? req.electionType : 0;
    const answer = (results: PartitionResult[], errorCode: number = ErrorCode.NONE): ElectLeadersResponse => {
      const byTopic = new Map<string, PartitionResult[]>();
      for (const r of results) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r]);
      return {
        throttleTimeMs: 0,
        // v0 has no top-level error: every partition carries it.
        errorCode: apiVersion >= 1 ? errorCode : ErrorCode.NONE,
        replicaElectionResults: [...byTopic].map(([topic, list]) => ({
          topic,
          partitionResult: list.map((r) => ({ partitionId: r.partition, errorCode: r.errorCode, errorMessage: r.errorMessage })),
        })),
      };
    };
    const asked = req.topicPartitions?.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition }))) ?? null;
    const everyAsked = (errorCode: number, errorMessage: string) => (asked ?? []).map((p) => ({ ...p, errorCode, errorMessage }));
    if (electionType !== 0 && electionType !== 1) return answer(everyAsked(ErrorCode.INVALID_REQUEST, `Unknown election type ${electionType}.`), ErrorCode.INVALID_REQUEST);
    const controller = broker.cluster?.controller;
    if (!controller) {
      // "All partitions" reports only the elections performed, which on one node is none.
      return answer(
        (asked ?? []).map((p) => {
          const exists = broker.partition(p.topic, p.partition) !== undefined;
          return {
            ...p,
            errorCode: exists ? ErrorCode.ELECTION_NOT_NEEDED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
            errorMessage: exists ? 'Leader election not needed for topic partition.' : 'The partition does not exist.',
          };
        }),
      );
    }
    try {
      if (controller.active) return answer(await controller.electLeaders(electionType, asked));
      const res = await forwardToController<ElectLeadersResponse>(ctx, ApiKey.ElectLeaders, { electionType, topicPartitions: req.topicPartitions, timeoutMs: req.timeoutMs });
      if (res.errorCode !== ErrorCode.NONE) return answer(everyAsked(res.errorCode, `The controller answered ${errorName(res.errorCode)}.`), res.errorCode);
      return answer(
        res.replicaElectionResults.flatMap((t) =>
          t.partitionResult.map((p) => ({ topic: t.topic, partition: p.partitionId, errorCode: p.errorCode, errorMessage: p.errorMessage })),
        ),
      );
    } catch (err) {
      if (!(err instanceof KafkaError)) throw err;
      return answer(everyAsked(err.code, err.message), err.code);
    }
  },
};
