import { ApiKey, type MetadataRequest, type MetadataResponse, type MetadataResponseTopic } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import { UNREQUESTED_OPERATIONS, clusterOperations, topicOperations } from '../authorized-operations.js';
import { Op } from '../security/security.js';
import type { Connection } from '../../network/connection.js';
import { invalidTopicReason } from '../topic-names.js';
import type { Broker } from '../broker.js';
import type { TopicState } from '../partition.js';
import type { ApiHandler } from '../api.js';

function describeTopic(broker: Broker, conn: Connection, t: TopicState, includeOps: boolean): MetadataResponseTopic {
  const live = new Set(broker.liveBrokers().map((b) => b.nodeId));
  return {
    errorCode: ErrorCode.NONE,
    name: t.name,
    topicId: t.id,
    isInternal: t.internal,
    partitions: broker.partitionStates(t).map((s, index) => {
      const offline = s.replicas.filter((r) => !live.has(r) || broker.replicaOffline(t.id, index, r));
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
    topicAuthorizedOperations: includeOps ? topicOperations(broker.security, conn, t.name) : UNREQUESTED_OPERATIONS,
  };
}

/**
 * Kafka's rule (MetadataCache.getPartitionMetadata): a partition is answered with its leader only
 * when that leader is a live broker reachable on the client's listener, i.e. one the answer's own
 * broker list names. Otherwise leader -1 and LEADER_NOT_AVAILABLE (LISTENER_NOT_FOUND from v6 when
 * the leader is live but lacks the listener). A leader whose registration has lapsed is named
 * until the controller moves its partitions; a client given it would keep a leader it has no
 * address for and no error telling it to look again (kafkajs then never fetches the partition:
 * RELIABILITY.md "Cluster", found 8). With the error it retries its metadata until a live leader.
 */
export function withLiveLeaders(partitions: { errorCode: number; leaderId: number }[], listed: ReadonlySet<number>, live: ReadonlySet<number>, listenerErrors: boolean): void {
  for (const p of partitions) {
    if (p.leaderId < 0 || listed.has(p.leaderId)) continue;
    p.errorCode = live.has(p.leaderId) && listenerErrors ? ErrorCode.LISTENER_NOT_FOUND : ErrorCode.LEADER_NOT_AVAILABLE;
    p.leaderId = -1;
  }
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
      // Topics the principal may not DESCRIBE are left out.
      for (const t of broker.topics.values()) if (broker.security.topic(conn, Op.DESCRIBE, t.name, false)) topics.push(describeTopic(broker, conn, t, includeOps));
    } else {
      for (const requested of req.topics!) {
        if (requested.name === null || requested.name === undefined || requested.name === '') {
          // Lookup by topic id (v10+ with a null name).
          const t = broker.topicsById.get(requested.topicId);
          if (t && !broker.security.topic(conn, Op.DESCRIBE, t.name)) topics.push(topicError('', requested.topicId, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
          else topics.push(t ? describeTopic(broker, conn, t, includeOps) : topicError('', requested.topicId, ErrorCode.UNKNOWN_TOPIC_ID));
          continue;
        }
        const name = requested.name;
        const existing = broker.topics.get(name);
        if (!broker.security.topic(conn, Op.DESCRIBE, name)) {
          // Whether it exists is not told to whoever may not describe it.
          topics.push(topicError(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
        } else if (existing) {
          topics.push(describeTopic(broker, conn, existing, includeOps));
        } else if (invalidTopicReason(name)) {
          topics.push(topicError(name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION));
        } else if (autoCreate && !broker.security.cluster(conn, Op.CREATE, false) && !broker.security.topic(conn, Op.CREATE, name)) {
          topics.push(topicError(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
        } else if (autoCreate) {
          try {
            const created = await broker.createTopic(name, broker.config.int('num.partitions'), {});
            topics.push(describeTopic(broker, conn, created, includeOps));
          } catch (err) {
            if (!(err instanceof KafkaError)) throw err;
            // Lost a race with a concurrent creator: describe whatever exists now.
            const now = broker.topics.get(name);
            topics.push(
              now
                ? describeTopic(broker, conn, now, includeOps)
                : topicError(name, ZERO_UUID, err.code === ErrorCode.TOPIC_ALREADY_EXISTS ? ErrorCode.LEADER_NOT_AVAILABLE : err.code),
            );
          }
        } else {
          topics.push(topicError(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
        }
      }
    }
    const brokers = broker.liveBrokers(conn.listenerName).map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack }));
    const listed = new Set(brokers.map((b) => b.nodeId));
    const live = new Set(broker.liveBrokers().map((b) => b.nodeId));
    for (const t of topics) withLiveLeaders(t.partitions, listed, live, apiVersion >= 6);
    return {
      throttleTimeMs: 0,
      brokers,
      clusterId: broker.clusterId,
      controllerId: broker.advertisedControllerId(),
      topics,
      clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? clusterOperations(broker.security, conn) : UNREQUESTED_OPERATIONS,
      errorCode: ErrorCode.NONE,
    };
  },
};
