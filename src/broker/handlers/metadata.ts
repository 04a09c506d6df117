import { ApiKey, type MetadataRequest, type MetadataResponse, type MetadataResponseTopic } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import { TOPIC_OPERATIONS, UNREQUESTED_OPERATIONS, CLUSTER_OPERATIONS } from '../authorized-operations.js';
import { invalidTopicReason } from '../topic-names.js';
import type { Broker } from '../broker.js';
import type { TopicState } from '../partition.js';
import type { ApiHandler } from '../api.js';

function describeTopic(broker: Broker, t: TopicState, includeOps: boolean): MetadataResponseTopic {
  const live = new Set(broker.liveBrokers().map((b) => b.nodeId));
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.id,
    isInternal: t.internal,
    partitions: broker.partitionStates(t).map((s, index) => {
      const offline = s.replicas.filter((r) => !live.has(r));
      return {
        errorCode: s.leader === -1 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
        partitionIndex: index,
        leaderId: s.leader,
        leaderEpoch: s.leaderEpoch,
        replicaNodes: s.replicas,
        isrNodes: s.isr,
        offlineReplicas: offline,
      };
    }),
    topicAuthorizedOperations: includeOps ? TOPIC_OPERATIONS : UNREQUESTED_OPERATIONS,
  };
}

function topicError(name: string, topicId: string, errorCode: number): MetadataResponseTopic {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: UNREQUESTED_OPERATIONS };
}

export const metadataHandler: ApiHandler<MetadataRequest, MetadataResponse> = {
  apiKey: ApiKey.Metadata,
  async handle({ broker, apiVersion, conn }, req) {
    const includeOps = req.includeTopicAuthorizedOperations;
    // v0 used an empty list for "all topics"; later versions use null.
    const all = req.topics === null || (apiVersion === 0 && req.topics.length === 0);
    const autoCreate = broker.config.bool('auto.create.topics.enable') && (apiVersion < 4 || req.allowAutoTopicCreation);
    const topics: MetadataResponseTopic[] = [];
    if (all) {
      for (const t of broker.topics.values()) topics.push(describeTopic(broker, t, includeOps));
    } else {
      for (const requested of req.topics!) {
        if (requested.name === null || requested.name === undefined || requested.name === '') {
          // Lookup by topic id (v10+ with a null name).
          const t = broker.topicsById.get(requested.topicId);
          topics.push(t ? describeTopic(broker, t, includeOps) : topicError('', requested.topicId, ErrorCode.UNKNOWN_TOPIC_ID));
          continue;
        }
        const name = requested.name;
        const existing = broker.topics.get(name);
        if (existing) {
          topics.push(describeTopic(broker, existing, includeOps));
        } else if (invalidTopicReason(name)) {
          topics.push(topicError(name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
        } else if (autoCreate) {
          try {
            const created = await broker.createTopic(name, broker.config.int('num.partitions'), {});
            topics.push(describeTopic(broker, created, includeOps));
          } catch (err) {
            if (!(err instanceof KafkaError)) throw err;
            // Lost a race with a concurrent creator: describe whatever exists now.
            const now = broker.topics.get(name);
            topics.push(
              now
                ? describeTopic(broker, now, includeOps)
                : topicError(name, ZERO_UUID, err.code === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.LEADER_NOT_AVAILABLE : err.code),
            );
          }
        } else {
          topics.push(topicError(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        }
      }
    }
    return {
      throttleTimeMs: 0,
      brokers: broker.liveBrokers(conn.listenerName).map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      clusterId: broker.clusterId,
      controllerId: broker.controllerId(),
      topics,
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_OPERATIONS : UNREQUESTED_OPERATIONS,
      errorCode: ErrorCode.NONE,
    };
  },
};
