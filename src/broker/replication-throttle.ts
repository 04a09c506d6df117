// Replication throttling (Kafka's ReplicationQuotaManager, reduced to token buckets): while a
// reassignment copies a partition to a new replica, the leader answers that replica's fetches at
// no more than leader.replication.throttled.rate bytes/s over all its throttled partitions, and
// no more than follower.replication.throttled.rate bytes/s per fetching broker. Which replicas
// are throttled is the topic's leader/follower.replication.throttled.replicas ("partition:broker"
// pairs or "*"), as kafka-reassign-partitions --throttle sets them. Only replicas out of the ISR
// are throttled (an in-sync follower must never fall behind because of a move). Both limits are
// applied on the leader's side: a follower fetch over the budget gets no records this time.
import type { Clock } from '../common/clock.js';
import type { Partition } from './partition.js';

/** A token bucket of `rate` bytes/s holding at most one second's worth; it may go into debt. */
class Bucket {
  private tokens: number;
  private at: number;

  constructor(
    private rate: number,
    now: number,
  ) {
    this.tokens = rate;
    this.at = now;
  }

  available(rate: number, now: number): number {
    if (rate !== this.rate) {
      this.rate = rate;
      this.tokens = Math.min(this.tokens, rate);
    }
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
    return this.tokens;
  }

  take(bytes: number): void {
    this.tokens -= bytes;
  }
}

/** Above this a rate is "unlimited" (Kafka's default is Long.MAX_VALUE). */
const UNLIMITED = Number.MAX_SAFE_INTEGER / 2;

export interface ThrottleHost {
  readonly nodeId: number;
  readonly clock: Clock;
  /** The broker's current leader.replication.throttled.rate and follower.replication.throttled.rate. */
  rates(): { leader: number; follower: number };
}

export class ReplicationThrottle {
  private leaderBucket: Bucket | null = null;
  private readonly followerBuckets = new Map<number, Bucket>();

  constructor(private readonly host: ThrottleHost) {}

  private static listed(p: Partition, config: string, brokerId: number): boolean {
    const value = p.topic.configs.get(config)?.value ?? '';
    if (value === '') return false;
    return value.split(',').some((entry) => {
      const e = entry.trim();
      return e === '*' || e === `${p.index}:${brokerId}`;
    });
  }

  /**
   * How many bytes the leader may send `replicaId` for `p` now: Infinity when unthrottled, 0 when
   * a throttle's budget is spent (answer without records), else the budget left.
   */
  budget(p: Partition, replicaId: number): number {
    if (p.isr.includes(replicaId)) return Infinity;
    const { leader, follower } = this.host.rates();
    const now = this.host.clock.now();
    let budget = Infinity;
    if (leader < UNLIMITED && ReplicationThrottle.listed(p, 'leader.replication.throttled.replicas', this.host.nodeId)) {
      this.leaderBucket ??= new Bucket(leader, now);
      budget = Math.min(budget, this.leaderBucket.available(leader, now));
    }
    if (follower < UNLIMITED && ReplicationThrottle.listed(p, 'follower.replication.throttled.replicas', replicaId)) {
      let b = this.followerBuckets.get(replicaId);
      if (!b) {
        b = new Bucket(follower, now);
        this.followerBuckets.set(replicaId, b);
      }
      budget = Math.min(budget, b.available(follower, now));
    }
    return Math.max(0, budget);
  }

  /** Charges `bytes` sent to `replicaId` for `p` to the buckets that throttle it. */
  record(p: Partition, replicaId: number, bytes: number): void {
    if (bytes === 0 || p.isr.includes(replicaId)) return;
    if (ReplicationThrottle.listed(p, 'leader.replication.throttled.replicas', this.host.nodeId)) this.leaderBucket?.take(bytes);
    if (ReplicationThrottle.listed(p, 'follower.replication.throttled.replicas', replicaId)) this.followerBuckets.get(replicaId)?.take(bytes);
  }
}
