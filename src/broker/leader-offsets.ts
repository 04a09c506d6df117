// High watermarks of partitions led by other brokers, for the consumer-lag series of a group
// coordinator (/metrics). A coordinator holds the committed offsets of its groups, but on a
// cluster the partitions they consumed are mostly led elsewhere: their high watermark is what the
// leader answers to ListOffsets (latest, read_uncommitted), as kafka_exporter and
// `kafka-consumer-groups --describe` ask it. A follower's own high watermark trails the leader's,
// and a broker without a replica has none.
//
// The answers are cached: a scrape reuses what is younger than `freshMs` and asks the leaders
// (one ListOffsets per leader, as this broker over the inter-broker listener, bounded by
// `timeoutMs`) for the rest. An answer that cannot be had now falls back to a cached one younger
// than `maxAgeMs`, then to the follower replica's high watermark, else the partition is left out
// (no series rather than a wrong one).
import { ApiKey, type ListOffsetsRequest, type ListOffsetsResponse } from '../protocol/generated/index.js';
import type { Clock } from '../common/clock.js';
import type { PartitionState } from '../cluster/metadata-port.js';
import type { InterBrokerClient } from './inter-broker.js';
import type { Partition, TopicState } from './partition.js';

/**
 * What this needs of the broker (the Broker satisfies it; named here so that the broker can
 * hold one of these without an import cycle).
 */
export interface LeaderOffsetsHost {
  readonly clock: Clock;
  readonly nodeId: number;
  readonly cluster: unknown;
  readonly topics: ReadonlyMap<string, TopicState>;
  readonly interBroker: Pick<InterBrokerClient, 'request'>;
  partition(topic: string, index: number): Partition | undefined;
  partitionStates(t: TopicState): PartitionState[];
  liveBrokers(): { nodeId: number; host: string; port: number }[];
}

export interface LeaderOffsetsOptions {
  /** An answer this young is used without asking again. */
  freshMs?: number;
  /** An older answer is still used, when the leader cannot be asked now, up to this age. */
  maxAgeMs?: number;
  /** How long one refresh waits for the leaders. */
  timeoutMs?: number;
}

const key = (topic: string, partition: number) => `${topic}\0${partition}`;

export class LeaderHighWatermarks {
  private readonly cache = new Map<string, { hw: number; at: number }>();
  private readonly freshMs: number;
  private readonly maxAgeMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly broker: LeaderOffsetsHost,
    opts: LeaderOffsetsOptions = {},
  ) {
    this.freshMs = opts.freshMs ?? 5000;
    this.maxAgeMs = opts.maxAgeMs ?? 60_000;
    this.timeoutMs = opts.timeoutMs ?? 3000;
  }

  /**
   * The high watermark of each partition, as its leader knows it: read here when this broker
   * leads it (or outside a cluster), asked of the leader otherwise. `topic\0partition` → offset;
   * a partition without an answer is absent.
   */
  async highWatermarks(list: Iterable<{ topic: string; partition: number }>): Promise<Map<string, number>> {
    const b = this.broker;
    const out = new Map<string, number>();
    const now = b.clock.now();
    const ask = new Map<number, Map<string, Set<number>>>();
    const remote: { topic: string; partition: number }[] = [];
    for (const { topic, partition } of list) {
      const k = key(topic, partition);
      if (out.has(k)) continue;
      const local = b.partition(topic, partition);
      if (!b.cluster || local?.isLeader) {
        if (local) out.set(k, local.highWatermark);
        continue;
      }
      remote.push({ topic, partition });
      const cached = this.cache.get(k);
      if (cached && now - cached.at <= this.freshMs) {
        out.set(k, cached.hw);
        continue;
      }
      const t = b.topics.get(topic);
      const leader = t ? (b.partitionStates(t)[partition]?.leader ?? -1) : -1;
      if (leader < 0 || leader === b.nodeId) continue;
      const topics = ask.get(leader) ?? new Map<string, Set<number>>();
      ask.set(leader, topics);
      topics.set(topic, (topics.get(topic) ?? new Set()).add(partition));
    }
    if (ask.size > 0) await this.refresh(ask);
    const after = b.clock.now();
    for (const { topic, partition } of remote) {
      const k = key(topic, partition);
      if (out.has(k)) continue;
      const cached = this.cache.get(k);
      if (cached && after - cached.at <= this.maxAgeMs) out.set(k, cached.hw);
      else {
        const follower = b.partition(topic, partition);
        if (follower) out.set(k, follower.highWatermark);
      }
    }
    // Forget what nobody asked for in a while (deleted topics, groups that moved away).
    for (const [k, v] of this.cache) if (after - v.at > this.maxAgeMs) this.cache.delete(k);
    return out;
  }

  private async refresh(ask: Map<number, Map<string, Set<number>>>): Promise<void> {
    const b = this.broker;
    const peers = new Map(b.liveBrokers().map((p) => [p.nodeId, p]));
    // A scrape waits `timeoutMs` at most, connecting included (a registered broker that died takes
    // the connect timeout to refuse); answers arriving later still fill the cache.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMs);
      timer.unref();
    });
    const asked = Promise.all(
      [...ask].map(async ([leader, topics]) => {
        const peer = peers.get(leader);
        if (!peer) return;
        const request: ListOffsetsRequest = {
          replicaId: -1,
          isolationLevel: 0,
          topics: [...topics].map(([name, ps]) => ({ name, partitions: [...ps].map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1 })) })),
          timeoutMs: this.timeoutMs,
        };
        const res = await b.interBroker.request<ListOffsetsResponse>(peer, ApiKey.ListOffsets, request, this.timeoutMs).catch(() => null);
        const at = b.clock.now();
        for (const t of res?.topics ?? []) {
          for (const p of t.partitions) if (p.errorCode === 0 && p.offset >= 0) this.cache.set(key(t.name, p.partitionIndex), { hw: Number(p.offset), at });
        }
      }),
    );
    await Promise.race([asked, deadline]);
    clearTimeout(timer);
  }
}
