// Incremental fetch sessions (KIP-227): the broker remembers what a consumer fetches, so each
// request names only what changed and each response carries only partitions with news.
import { systemClock, type Clock } from '../common/clock.js';

export interface SessionPartition {
  topic: string;
  topicId: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  lastFetchedEpoch: number;
  /** What the last response told the client; a change is news even without records. */
  sentHighWatermark: number;
  sentLastStableOffset: number;
  sentLogStartOffset: number;
}

export function partitionKey(topicKey: string, partition: number): string {
  return `${topicKey}\u0000${partition}`;
}

export class FetchSession {
  /** The epoch the next incremental request must carry. */
  nextEpoch = 1;
  lastUsed: number;
  readonly partitions = new Map<string, SessionPartition>();

  constructor(
    readonly id: number,
    /** v13+ sessions key partitions by topic id, older ones by name. */
    readonly usesTopicIds: boolean,
    now: number,
  ) {
    this.lastUsed = now;
  }
}

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();

  constructor(
    private readonly maxSlots: number,
    private readonly clock: Clock = systemClock,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** A new session, or null when the cache has no room (the client then fetches sessionless). */
  create(usesTopicIds: boolean): FetchSession | null {
    if (this.maxSlots <= 0) return null;
    if (this.sessions.size >= this.maxSlots) this.evictLeastRecentlyUsed();
    let id: number;
    do id = 1 + Math.floor(Math.random() * 0x7ffffffe);
    while (this.sessions.has(id));
    const session = new FetchSession(id, usesTopicIds, this.clock.now());
    this.sessions.set(id, session);
    return session;
  }

  get(id: number): FetchSession | undefined {
    const s = this.sessions.get(id);
    if (s) {
      s.lastUsed = this.clock.now();
      // Re-insert so Map order stays least-recently-used first.
      this.sessions.delete(id);
      this.sessions.set(id, s);
    }
    return s;
  }

  remove(id: number): void {
    this.sessions.delete(id);
  }

  private evictLeastRecentlyUsed(): void {
    const oldest = this.sessions.keys().next();
    if (!oldest.done) this.sessions.delete(oldest.value);
  }
}
