// Where a new partition's replicas go: Kafka's placement rules. Leaders (first replicas) go round
// robin over the brokers from a random start; followers follow the leader at a shift that grows
// by one each time the round robin wraps, so replica sets differ between rounds. With racks, the
// brokers are first ordered so that racks alternate, and a follower skips brokers whose rack the
// partition already uses until every rack has a replica.
import { ErrorCode, KafkaError } from '../protocol/errors.js';

export interface BrokerPlacement {
  nodeId: number;
  rack: string | null;
}

/** Brokers ordered so that consecutive ones are on different racks (rack by rack, taking turns). */
function rackAlternated(brokers: BrokerPlacement[]): BrokerPlacement[] {
  const byRack = new Map<string, BrokerPlacement[]>();
  for (const b of brokers) {
    const list = byRack.get(b.rack!) ?? [];
    list.push(b);
    byRack.set(b.rack!, list);
  }
  const racks = [...byRack.keys()].sort();
  const out: BrokerPlacement[] = [];
  for (let i = 0; out.length < brokers.length; i++) {
    for (const r of racks) {
      const b = byRack.get(r)![i];
      if (b) out.push(b);
    }
  }
  return out;
}

/**
 * Replica lists for `partitions` new partitions, numbered from `firstPartition` (CreatePartitions
 * continues a topic). `random` picks the start and shift (tests pass a fixed one).
 */
export function assignReplicas(
  brokersIn: BrokerPlacement[],
  partitions: number,
  replicationFactor: number,
  opts: { firstPartition?: number; random?: () => number } = {},
): number[][] {
  const brokers = [...brokersIn].sort((a, b) => a.nodeId - b.nodeId);
  const n = brokers.length;
  if (replicationFactor <= 0) throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
  if (replicationFactor > n) {
    throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor: ${replicationFactor} larger than available brokers: ${n}.`);
  }
  const random = opts.random ?? Math.random;
  const withRack = brokers.filter((b) => b.rack !== null).length;
  if (withRack !== 0 && withRack !== n) {
    throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Not all brokers have rack information for replica rack aware assignment.');
  }
  const racked = withRack === n;
  const ordered = racked ? rackAlternated(brokers) : brokers;
  const racks = new Set(ordered.map((b) => b.rack)).size;
  const start = Math.floor(random() * n);
  let shift = Math.floor(random() * n);
  const first = opts.firstPartition ?? 0;
  const out: number[][] = [];
  for (let i = 0; i < partitions; i++) {
    const p = first + i;
    if (p > 0 && p % n === 0) shift++;
    const leaderIndex = (p + start) % n;
    const chosen = [ordered[leaderIndex]!];
    const usedRacks = new Set([ordered[leaderIndex]!.rack]);
    for (let j = 0, k = 0; chosen.length < replicationFactor; k++) {
      const index = (leaderIndex + 1 + ((shift + j + k) % (n - 1))) % n;
      const b = ordered[index]!;
      const rackTaken = racked && usedRacks.has(b.rack) && usedRacks.size < racks;
      if (chosen.includes(b) || (rackTaken && k < n * n)) continue;
      chosen.push(b);
      usedRacks.add(b.rack);
      j++;
      k = -1;
    }
    out.push(chosen.map((b) => b.nodeId));
  }
  return out;
}

/**
 * Checks a manual assignment (CreateTopics/CreatePartitions `assignments`) against the live
 * brokers, with Kafka's errors.
 */
export function checkManualAssignment(replicas: number[], liveBrokerIds: Set<number>): void {
  if (replicas.length === 0) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Replica assignment must not be empty.');
  if (new Set(replicas).size !== replicas.length)
    throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Duplicate brokers not allowed in replica assignment: ${replicas.join(', ')}.`);
  const unknown = replicas.filter((r) => !liveBrokerIds.has(r));
  if (unknown.length > 0) throw new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, `Unknown broker(s) in replica assignment: ${unknown.join(', ')}.`);
}
