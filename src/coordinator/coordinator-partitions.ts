// Which partitions of an internal topic (__consumer_offsets, __transaction_state) this broker
// coordinates, as in Kafka: a coordinator owns the groups or transactional ids of a partition
// while its broker leads that partition. Becoming leader (at a new leader epoch) loads the
// partition's state from its log; losing leadership unloads it. The leader epoch is the
// coordinator epoch: markers carry it, and the partition log fences an older one.
import { ErrorCode } from '../protocol/errors.js';
import type { Clock } from '../common/clock.js';
import type { CoordinatorHost, CoordinatorLogger } from './ports.js';

/** What a coordinator does when it gains or loses one partition. */
export interface PartitionLoader {
  /**
   * Rebuilds the state of partition `index` from its log. `current()` turns false once this load
   * is superseded (leadership lost or a newer epoch): from then on it must apply nothing more.
   */
  load(index: number, epoch: number, current: () => boolean): Promise<void>;
  /**
   * Called once the load is done and the partition counts as loaded (its epoch is the
   * coordinator epoch from now on), before any request sees it: resumes pending work.
   */
  activate(index: number): void;
  /** Drops every group or transactional id of partition `index` from memory. */
  unload(index: number): void;
}

interface Ownership {
  epoch: number;
  loaded: boolean;
  /**
   * The load failed: the broker still leads the partition, but coordinates nothing of it
   * (NOT_COORDINATOR) until the next election, as Kafka's runtime keeps a FAILED context.
   */
  failed: boolean;
  /** Settles when the load ends (rejects if it failed). */
  done: Promise<void>;
  /** Settles when the load ends or only waits for the HW to cover it (what a starting broker awaits). */
  ready: Promise<void>;
}

export class CoordinatorPartitions {
  private readonly owned = new Map<number, Ownership>();
  private loader: PartitionLoader | null = null;
  private unfollow: (() => void) | undefined;
  private closed = false;
  private host: CoordinatorHost | null = null;

  constructor(
    /** The internal topic, for logs. */
    readonly topic: string,
    private readonly clock: Clock,
    private readonly logger?: CoordinatorLogger,
  ) {}

  /** The coordinator whose state these partitions hold (set once, before the first election). */
  attach(loader: PartitionLoader): void {
    this.loader = loader;
  }

  /**
   * This broker leads `index` at `epoch`: loads it. The same election announced twice is one
   * load; a newer epoch drops what an older one loaded and loads again; an older one is ignored.
   * A load that failed is tried again by the next announcement, even of the same epoch.
   * The promise settles when the load ends (rejecting if it failed).
   */
  elect(index: number, epoch: number): Promise<void> {
    const loader = this.loader;
    if (!loader) throw new Error(`no coordinator attached to ${this.topic}`);
    if (this.closed) return Promise.resolve();
    const existing = this.owned.get(index);
    if (existing && (existing.epoch > epoch || (existing.epoch === epoch && !existing.failed))) return existing.done;
    if (existing) this.resign(index);
    const started = this.clock.monotonicMs();
    const ownership: Ownership = { epoch, loaded: false, failed: false, done: Promise.resolve(), ready: Promise.resolve() };
    this.owned.set(index, ownership);
    const current = () => this.owned.get(index) === ownership;
    let waitingForHw = () => {};
    const waiting = new Promise<void>((resolve) => (waitingForHw = resolve));
    ownership.done = loader
      .load(index, epoch, current)
      .then(() => this.committed(index, current, waitingForHw))
      .then(
        () => {
          if (!current()) return;
          ownership.loaded = true;
          loader.activate(index);
          this.logger?.info(
            { topic: this.topic, partition: index, coordinatorEpoch: epoch, ms: Math.round(this.clock.monotonicMs() - started) },
            'coordinator partition loaded',
          );
        },
        (err: unknown) => {
          // Led but failed: requests for its keys answer NOT_COORDINATOR until the next election.
          if (current()) {
            ownership.failed = true;
            loader.unload(index);
          }
          this.logger?.error({ err, topic: this.topic, partition: index, coordinatorEpoch: epoch }, 'loading a coordinator partition failed');
          throw err;
        },
      );
    ownership.done.catch(() => undefined);
    ownership.ready = Promise.race([ownership.done, waiting]);
    // Its callers see a failure; an election from a leadership change has none (not unhandled).
    ownership.ready.catch(() => undefined);
    return ownership.done;
  }

  /**
   * Waits until the partition's high watermark covers everything the load read. A new leader's
   * log may end with records its followers do not have yet (written by the previous leader, not
   * acknowledged); state built from them must not be served until they are committed, or a
   * second failover could take back an offset a client already read (the cluster torture saw
   * committed offsets go backwards that way). Bounded by the load staying current.
   */
  private async committed(index: number, current: () => boolean, waiting: () => void): Promise<void> {
    const p = this.host?.topics.get(this.topic)?.partitions[index];
    if (!p) return;
    const target = p.logEndOffset;
    if (p.highWatermark >= target) return;
    // A broker starting up must not wait for this: its followers can fetch (and so move the HW)
    // only once it listens, after the coordinators have started.
    waiting();
    // Not after close(): a stopped broker's HW never moves, and the timer would keep it alive.
    while (current() && !this.closed && p.highWatermark < target) await new Promise<void>((resolve) => this.clock.schedule(10, resolve));
  }

  /** This broker no longer leads `index`: its state leaves memory (a load under way stops). */
  resign(index: number): void {
    const ownership = this.owned.get(index);
    if (!ownership) return;
    this.owned.delete(index);
    this.loader?.unload(index);
    this.logger?.info({ topic: this.topic, partition: index, coordinatorEpoch: ownership.epoch }, 'coordinator partition unloaded');
  }

  /**
   * NONE when loaded here, COORDINATOR_LOAD_IN_PROGRESS while loading, NOT_COORDINATOR otherwise
   * (not led here, or its load failed, or the host may not act as its leader now).
   */
  status(index: number): number {
    const o = this.owned.get(index);
    if (!o || o.failed) return ErrorCode.NOT_COORDINATOR;
    // Reads pass the gate writes pass (leaderPartition): a broker whose etcd lease is in doubt
    // (cut off from etcd) may have lost the partition already, and another coordinator may have
    // taken commits since; its state would answer from the past (the torture's partition-etcd
    // saw OffsetFetch answer committed offsets that had moved on elsewhere).
    if (this.host && typeof this.host.leaderPartition(this.topic, index) === 'number') return ErrorCode.NOT_COORDINATOR;
    return o.loaded ? ErrorCode.NONE : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
  }

  /** Whether this broker leads `index` (loaded, loading, or its load failed). */
  leads(index: number): boolean {
    return this.owned.has(index);
  }

  /** Whether some partition led here is still loading (Kafka's non-empty loadingPartitions). */
  loading(): boolean {
    for (const o of this.owned.values()) if (!o.loaded && !o.failed) return true;
    return false;
  }

  /** The coordinator epoch of a loaded partition, -1 when it is not (yet) coordinated here. */
  epoch(index: number): number {
    const o = this.owned.get(index);
    return o?.loaded ? o.epoch : -1;
  }

  /** Whether `index` is still loaded here at `epoch` (an answer computed before an await still holds). */
  isCurrent(index: number, epoch: number): boolean {
    const o = this.owned.get(index);
    return o !== undefined && o.loaded && o.epoch === epoch;
  }

  /** Resolves when a load of `index` under way ends (at once when none is); never rejects. */
  async whenLoaded(index: number): Promise<void> {
    await this.owned.get(index)?.done.catch(() => undefined);
  }

  /**
   * Readies the coordinator's topic for a request: `ensureTopic` creates it if need be; the
   * leaders the host knows are taken at once (a topic just created announces them a moment
   * later); with a partition, waits for its load.
   */
  async ensureReady(host: CoordinatorHost, ensureTopic: () => Promise<unknown>, partition?: number): Promise<void> {
    await ensureTopic();
    void this.sync(host);
    if (partition !== undefined) await this.whenLoaded(partition);
  }

  /** The partitions led here: loaded, loading, or failed to load. */
  indexes(): number[] {
    return [...this.owned.keys()];
  }

  /**
   * Follows the host's leadership of the topic's partitions from now on: each new leader epoch
   * here loads a partition, each loss unloads it. Returns the loads of the partitions led now.
   */
  follow(host: CoordinatorHost): Promise<void>[] {
    this.host = host;
    this.unfollow?.();
    this.unfollow = host.onLeadershipChange((change) => {
      if (change.topic !== this.topic || this.closed) return;
      if (change.leader) void this.elect(change.partition, change.leaderEpoch).catch(() => undefined);
      else this.resign(change.partition);
    });
    return this.sync(host);
  }

  /**
   * At start: follows the host's leadership and waits for the partitions led now to load. How
   * many there were and how long they took, for the start-up log line; null when none.
   */
  async followAndLoad(host: CoordinatorHost): Promise<{ partitions: number; ms: number } | null> {
    const started = this.clock.monotonicMs();
    const loads = this.follow(host);
    if (loads.length === 0) return null;
    await Promise.all(loads);
    return { partitions: loads.length, ms: Math.round(this.clock.monotonicMs() - started) };
  }

  /**
   * Elects or resigns each partition of the topic as the host's leadership says now (a topic
   * just created announces its partitions a moment later; this does not wait for that). Returns
   * the loads, which settle when loaded or only waiting for the HW (rejecting if a load failed).
   */
  sync(host: CoordinatorHost): Promise<void>[] {
    if (this.closed) return [];
    const topic = host.topics.get(this.topic);
    const loads: Promise<void>[] = [];
    topic?.partitions.forEach((p, index) => {
      if (p?.isLeader) {
        const done = this.elect(index, p.leaderEpoch);
        loads.push(this.owned.get(index)?.ready ?? done);
      } else this.resign(index);
    });
    return loads;
  }

  /** Broker shutdown: no more loads. */
  close(): void {
    this.closed = true;
    this.unfollow?.();
  }
}

/** For a coordinator without a host (unit tests): every partition is loaded at epoch 0. */
export const ALL_OWNED = {
  status: () => ErrorCode.NONE,
  leads: () => true,
  loading: () => false,
  epoch: () => 0,
  isCurrent: () => true,
  whenLoaded: () => Promise.resolve(),
  close: () => undefined,
} satisfies PartitionOwnership;

/** What a coordinator asks of its partitions' ownership. */
export type PartitionOwnership = Pick<CoordinatorPartitions, 'status' | 'leads' | 'loading' | 'epoch' | 'isCurrent' | 'whenLoaded' | 'close'>;
