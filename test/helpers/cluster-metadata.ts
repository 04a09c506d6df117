// What one broker's Metadata (v12) says of a topic's partitions: for cluster tests that wait on
// leaders, epochs and ISRs (kafkajs's metadata calls retry offline partitions until they fail).
import { ApiKey } from '../../src/protocol/generated/index.js';
import { RawClient } from './raw-client.js';
import { metadataRequest } from './requests.js';

export interface PartitionView {
  index: number;
  leader: number;
  leaderEpoch: number;
  /** Sorted. */
  isr: number[];
  replicas: number[];
  /** The replicas Metadata lists as offline (a dead broker, a failed log dir). */
  offline: number[];
}

/** The topic's partitions by index, as the broker listening on `port` sees them. */
export async function partitionViews(port: number, topic: string): Promise<PartitionView[]> {
  const c = await RawClient.connect(port);
  try {
    const r = await c.request(ApiKey.Metadata, 12, metadataRequest([topic]));
    return r.body.topics[0].partitions
      .map((p: { partitionIndex: number; leaderId: number; leaderEpoch: number; isrNodes: number[]; replicaNodes: number[]; offlineReplicas: number[] }) => ({
        index: p.partitionIndex,
        leader: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        isr: [...p.isrNodes].sort(),
        replicas: p.replicaNodes,
        offline: p.offlineReplicas,
      }))
      .sort((a: PartitionView, b: PartitionView) => a.index - b.index);
  } finally {
    c.close();
  }
}
