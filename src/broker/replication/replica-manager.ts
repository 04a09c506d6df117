// Cluster mode's replication on one broker (Kafka's ReplicaManager): every hosted partition is a
// leader, tracking its followers and the ISR, or a follower, fetched by the fetcher of its
// leader's broker. Assignments come from the metadata (etcd); this only reacts to them.
import type { Logger } from 'pino';
import type { Connection } from '../../client/connection.js';
import type { Clock } from '../../common/clock.js';
import type { IsrProposer, Partition } from '../partition.js';
import { LeaderFetcher, type FetcherSettings } from './replica-fetcher.js';

export interface ReplicationHost {
  readonly nodeId: number;
  readonly clock: Clock;
  readonly logger: Logger;
  settings(): FetcherSettings & { replicaLagTimeMaxMs: number };
  connect(leaderId: number): Promise<Connection>;
  /** Writes a new ISR for a partition this broker leads (guarded; false when refused). */
  proposeIsr: IsrProposer;
  /** Every partition hosted here, for the periodic ISR check. */
  hostedPartitions(): Iterable<Partition>;
}

export class ReplicaManager {
  private readonly fetchers = new Map<number, LeaderFetcher>();
  /** The leader each followed partition is fetched from. */
  private readonly following = new Map<Partition, number>();
  private cancelIsrCheck: (() => void) | null = null;
  private stopped = false;
  /** Fetching starts once the broker is registered (Kafka fetches only once unfenced). */
  private started = false;

  constructor(private readonly host: ReplicationHost) {}

  /** Starts the periodic ISR check (half of replica.lag.time.max.ms, as Kafka's). */
  start(): void {
    this.started = true;
    for (const [p, leader] of this.following) this.fetcherFor(leader).add(p);
    const tick = () => {
      if (this.stopped) return;
      const maxLag = this.host.settings().replicaLagTimeMaxMs;
      for (const p of this.host.hostedPartitions()) {
        try {
          p.maybeShrinkIsr(maxLag);
        } catch (err) {
          this.host.logger.error({ err, topic: p.topicName, partition: p.index }, 'replication: ISR check failed');
        }
      }
      this.cancelIsrCheck = this.host.clock.schedule(Math.max(100, Math.floor(maxLag / 2)), tick);
    };
    this.cancelIsrCheck = this.host.clock.schedule(Math.max(100, Math.floor(this.host.settings().replicaLagTimeMaxMs / 2)), tick);
  }

  /** After a partition was opened here or its assignment changed: lead it or follow its leader. */
  apply(p: Partition): void {
    if (this.stopped) return;
    if (!p.replicated) {
      p.enableReplication(this.host.proposeIsr, this.host.clock, (err) =>
        this.host.logger.warn({ err: (err as Error).message, topic: p.topicName, partition: p.index }, 'replication: ISR change failed'),
      );
    }
    const leader = p.leaderId;
    if (p.isLeader || leader < 0 || !p.hasReplica(this.host.nodeId)) {
      this.unfollow(p);
      return;
    }
    const previous = this.following.get(p);
    if (previous !== undefined && previous !== leader) this.fetchers.get(previous)?.remove(p);
    this.following.set(p, leader);
    if (this.started) this.fetcherFor(leader).add(p);
  }

  private fetcherFor(leader: number): LeaderFetcher {
    let fetcher = this.fetchers.get(leader);
    if (!fetcher) {
      fetcher = new LeaderFetcher(leader, {
        clock: this.host.clock,
        logger: this.host.logger,
        settings: () => this.host.settings(),
        connect: (id) => this.host.connect(id),
      });
      this.fetchers.set(leader, fetcher);
    }
    return fetcher;
  }

  /** The partition is no longer hosted here (deleted, reassigned away). */
  remove(p: Partition): void {
    this.unfollow(p);
  }

  private unfollow(p: Partition): void {
    const leader = this.following.get(p);
    if (leader === undefined) return;
    this.following.delete(p);
    const fetcher = this.fetchers.get(leader);
    fetcher?.remove(p);
  }

  /** Partitions followed from each leader (for tests and tools). */
  followedFrom(leaderId: number): number {
    return this.fetchers.get(leaderId)?.size ?? 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelIsrCheck?.();
    await Promise.all([...this.fetchers.values()].map((f) => f.stop()));
    this.fetchers.clear();
    this.following.clear();
  }
}
