// A leader's view of its followers: how far each one's log reaches and when it last caught up.
// The high watermark is the least log end over the ISR; a follower that has not caught up for
// replica.lag.time.max.ms leaves the ISR (Kafka's Replica state, kept per leader epoch).

export interface FollowerState {
  /** The follower's log end, as its last fetch offset says; -1 until it fetches at this epoch. */
  logEndOffset: number;
  /** The last time the follower had everything the leader had (ms, the broker's clock). */
  lastCaughtUpTimeMs: number;
  /** The leader's log end when the previous fetch was answered. */
  lastFetchLeaderLogEndOffset: number;
  /** When the previous fetch was answered. */
  lastFetchTimeMs: number;
}

export class FollowerProgress {
  private readonly followers = new Map<number, FollowerState>();

  /**
   * Starts a leader epoch: no follower's log end is known. Those in the ISR count as caught up
   * now, so none is dropped before it had replica.lag.time.max.ms to fetch from the new leader.
   */
  reset(replicas: readonly number[], isr: readonly number[], localNodeId: number, now: number): void {
    this.followers.clear();
    for (const r of replicas) if (r !== localNodeId) this.followers.set(r, FollowerProgress.unknown(isr.includes(r) ? now : 0));
  }

  /** Keeps the states of replicas still assigned and adds the new ones (a reassignment, an ISR change). */
  retain(replicas: readonly number[], localNodeId: number): void {
    for (const id of [...this.followers.keys()]) if (!replicas.includes(id)) this.followers.delete(id);
    for (const r of replicas) if (r !== localNodeId && !this.followers.has(r)) this.followers.set(r, FollowerProgress.unknown(0));
  }

  private static unknown(lastCaughtUpTimeMs: number): FollowerState {
    return { logEndOffset: -1, lastCaughtUpTimeMs, lastFetchLeaderLogEndOffset: -1, lastFetchTimeMs: 0 };
  }

  get(replicaId: number): FollowerState | undefined {
    return this.followers.get(replicaId);
  }

  /**
   * Records a follower's fetch from `fetchOffset` answered when the leader's log ended at
   * `leaderLogEndOffset`. A fetch at the leader's end means caught up now; a fetch reaching what
   * the leader had at the previous fetch means caught up as of that previous fetch.
   */
  recordFetch(replicaId: number, fetchOffset: number, leaderLogEndOffset: number, now: number): FollowerState | undefined {
    const f = this.followers.get(replicaId);
    if (!f) return undefined;
    if (fetchOffset >= leaderLogEndOffset) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, now);
    else if (fetchOffset >= f.lastFetchLeaderLogEndOffset) f.lastCaughtUpTimeMs = Math.max(f.lastCaughtUpTimeMs, f.lastFetchTimeMs);
    f.logEndOffset = fetchOffset;
    f.lastFetchLeaderLogEndOffset = leaderLogEndOffset;
    f.lastFetchTimeMs = now;
    return f;
  }

  /** ISR followers that have not caught up within `maxLagMs`. */
  laggards(isr: readonly number[], localNodeId: number, now: number, maxLagMs: number): number[] {
    return isr.filter((r) => {
      if (r === localNodeId) return false;
      const f = this.followers.get(r);
      return !f || now - f.lastCaughtUpTimeMs > maxLagMs;
    });
  }
}
