import { ApiKey, type CreateTopicsRequest, type CreateTopicsResponse, type CreateTopicsResponseCreatableTopicResult } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError, errorName } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import { configSourceId, resolveTopicConfig, validateTopicConfigs } from '../../config/config.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';
import { MAX_NEW_PARTITIONS } from '../broker.js';

type Result = CreateTopicsResponseCreatableTopicResult;

export const createTopicsHandler: ApiHandler<CreateTopicsRequest, CreateTopicsResponse> = {
  apiKey: ApiKey.CreateTopics,
  async handle({ broker, conn }, req) {
    // CREATE on the cluster covers every topic; otherwise each topic needs its own CREATE.
    const clusterCreate = broker.security.cluster(conn, Op.CREATE, false);
    const seen = new Map<string, number>();
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    const results = await Promise.all(
      req.topics.map(async (t): Promise<Result> => {
        const fail = (code: number, message?: string): Result => ({
          name: t.name,
          topicId: ZERO_UUID,
          errorCode: code,
          errorMessage: message ?? errorName(code),
          topicConfigErrorCode: ErrorCode.NONE,
          numPartitions: -1,
          replicationFactor: -1,
          configs: null,
        });
        if (seen.get(t.name)! > 1) return fail(ErrorCode.INVALID_REQUEST, `Create topics request from client contains multiple entries for topic ${t.name}`);
        if (!clusterCreate && !broker.security.topic(conn, Op.CREATE, t.name)) return fail(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
        try {
          broker.checkNewTopic(t.name);
        } catch (err) {
          if (err instanceof KafkaError) return fail(err.code, err.message);
          throw err;
        }
        let partitions = t.numPartitions;
        let replication = t.replicationFactor;
        let manual: number[][] | undefined;
        if (t.assignments.length > 0) {
          if (partitions !== -1 || replication !== -1) {
            return fail(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
          }
          const indexes = t.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b);
          if (indexes.some((p, i) => p !== i)) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions should be a consecutive 0-based integer sequence');
          const live = new Set(broker.liveBrokers().map((b) => b.nodeId));
          for (const a of t.assignments) {
            if (a.brokerIds.length === 0) return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Empty replica assignment for partition ${a.partitionIndex}`);
            if (a.brokerIds.some((b) => !live.has(b))) {
              return fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Replica assignment for partition ${a.partitionIndex} names unknown brokers: ${a.brokerIds.join(',')}`);
            }
            if (new Set(a.brokerIds).size !== a.brokerIds.length) {
              return fail(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                `Duplicate brokers not allowed in replica assignment: ${a.brokerIds.join(', ')} for partition ${a.partitionIndex}.`,
              );
            }
          }
          partitions = t.assignments.length;
          replication = t.assignments[0]!.brokerIds.length;
          manual = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex).map((a) => a.brokerIds);
        }
        if (partitions === -1) partitions = broker.config.int('num.partitions');
        if (replication === -1) replication = broker.config.int('default.replication.factor');
        if (partitions <= 0) return fail(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
        if (partitions > MAX_NEW_PARTITIONS)
          return fail(ErrorCode.INVALID_PARTITIONS, `Cannot create ${partitions} partitions in one request: at most ${MAX_NEW_PARTITIONS}.`);
        if (replication <= 0) return fail(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
        const registered = broker.liveBrokers().length;
        if (replication > registered) {
          return fail(
            ErrorCode.INVALID_REPLICATION_FACTOR,
            `Unable to replicate the partition ${replication} time(s): The target replication factor of ${replication} cannot be reached because only ${registered} broker(s) are registered.`,
          );
        }
        const overrides: Record<string, string> = {};
        const raw: Record<string, string | null> = {};
        for (const c of t.configs) raw[c.name] = c.value;
        const configError = validateTopicConfigs(raw);
        if (configError) return fail(ErrorCode.INVALID_CONFIG, configError);
        for (const [k, v] of Object.entries(raw)) overrides[k] = v!;

        let topicId = ZERO_UUID;
        if (!req.validateOnly) {
          try {
            topicId = (await broker.createTopic(t.name, partitions, overrides, { replicationFactor: replication, assignments: manual })).id;
          } catch (err) {
            if (err instanceof KafkaError) return fail(err.code, err.message);
            throw err;
          }
        }
        const effective = resolveTopicConfig(broker.config, overrides);
        return {
          name: t.name,
          topicId,
          errorCode: ErrorCode.NONE,
          errorMessage: null,
          topicConfigErrorCode: ErrorCode.NONE,
          numPartitions: partitions,
          replicationFactor: replication,
          configs: [...effective.values()].map((e) => ({
            name: e.name,
            value: e.value,
            readOnly: false,
            configSource: configSourceId(e.source),
            isSensitive: false,
          })),
        };
      }),
    );
    return { throttleTimeMs: 0, topics: results };
  },
};
