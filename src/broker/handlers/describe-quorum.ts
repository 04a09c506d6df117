import { ApiKey, type DescribeQuorumRequest, type DescribeQuorumResponse, type DescribeQuorumResponsePartitionData } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError, errorName } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';

const METADATA_TOPIC = '__cluster_metadata';

// DescribeQuorum (KIP-595/KIP-853) describes the metadata quorum. Tributary's is etcd's Raft group
// in cluster mode: voters are etcd's members (numbered by sorted member id), the leader epoch is
// the Raft term and the high watermark the Raft index. A single node is a quorum of itself.
export const describeQuorumHandler: ApiHandler<DescribeQuorumRequest, DescribeQuorumResponse> = {
  apiKey: ApiKey.DescribeQuorum,
  async handle({ broker, apiVersion }, req) {
    let quorum: { leader: number; term: number; index: number; members: { replicaId: number; name: string; clientURLs: string[] }[] };
    try {
      quorum = broker.cluster
        ? await broker.cluster.store.quorum()
        : { leader: broker.nodeId, term: 0, index: 0, members: [{ replicaId: broker.nodeId, name: String(broker.nodeId), clientURLs: [] }] };
    } catch (err) {
      const code = err instanceof KafkaError ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
      return { errorCode: code, errorMessage: apiVersion >= 2 ? (err as Error).message : null, topics: [], nodes: [] };
    }
    const now = broker.clock.now();
    const voter = (replicaId: number) => ({
      replicaId,
      replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
      logEndOffset: replicaId === quorum.leader ? quorum.index : -1,
      lastFetchTimestamp: -1,
      lastCaughtUpTimestamp: replicaId === quorum.leader && apiVersion >= 1 ? now : -1,
    });
    const topics = req.topics.map((t) => ({
      topicName: t.topicName,
      partitions: t.partitions.map((p): DescribeQuorumResponsePartitionData => {
        const known = t.topicName === METADATA_TOPIC && p.partitionIndex === 0;
        const errorCode = known ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        return {
          partitionIndex: p.partitionIndex,
          errorCode,
          errorMessage: apiVersion >= 2 && !known ? errorName(errorCode) : null,
          leaderId: known ? quorum.leader : -1,
          leaderEpoch: known ? quorum.term : -1,
          highWatermark: known ? quorum.index : -1,
          currentVoters: known ? quorum.members.map((m) => voter(m.replicaId)) : [],
          observers: [],
        };
      }),
    }));
    const nodes =
      apiVersion >= 2
        ? quorum.members.map((m) => ({
            nodeId: m.replicaId,
            listeners: m.clientURLs.flatMap((u) => {
              try {
                const url = new URL(u);
                return [{ name: 'ETCD', host: url.hostname, port: Number(url.port) }];
              } catch {
                return [];
              }
            }),
          }))
        : [];
    return { errorCode: ErrorCode.NONE, errorMessage: null, topics, nodes };
  },
};
