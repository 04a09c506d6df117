// A follower's fetcher: one per leader broker, it fetches every partition this broker follows
// from that leader in one long-polling Fetch (Kafka's ReplicaFetcherThread), appends the batches
// as they are (appendAsFollower keeps the leader's offsets, epochs and producer state), follows
// the leader's high watermark and log start, and truncates a divergent suffix when the leader
// answers with a diverging epoch (KIP-320/KIP-595 style, no separate OffsetForLeaderEpoch trip).
import type { Logger } from 'pino';
import type { Connection } from '../../client/connection.js';
import type { Clock } from '../../common/clock.js';
import { ErrorCode, errorName, KafkaError } from '../../protocol/errors.js';
import { ApiKey, type FetchRequest, type FetchResponse, type FetchResponsePartitionData } from '../../protocol/generated/index.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import type { Partition } from '../partition.js';

export interface FetcherSettings {
  /** This broker's node id: the replica id of its fetches. */
  replicaId: number;
  maxWaitMs: number;
  minBytes: number;
  /** Per partition (replica.fetch.max.bytes). */
  partitionMaxBytes: number;
  /** Per response (replica.fetch.response.max.bytes). */
  responseMaxBytes: number;
  backoffMs: number;
  /** How long an answer may take beyond maxWaitMs before the connection is dropped. */
  socketTimeoutMs: number;
}

export interface FetcherHost {
  readonly clock: Clock;
  readonly logger: Logger;
  settings(): FetcherSettings;
  /** A connection of its own to the leader (a long poll must not hold up other requests). */
  connect(leaderId: number): Promise<Connection>;
}

interface Followed {
  partition: Partition;
  /** The leader epoch this fetcher follows; a newer assignment re-adds the partition. */
  leaderEpoch: number;
  /** Not fetched before this time (ms) after an error. */
  retryAtMs: number;
}

export class LeaderFetcher {
  private readonly followed = new Map<Partition, Followed>();
  private connection: Promise<Connection> | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(
    readonly leaderId: number,
    private readonly host: FetcherHost,
  ) {}

  get size(): number {
    return this.followed.size;
  }

  /** Follows `partition` from this leader at its current leader epoch. */
  add(partition: Partition): void {
    this.followed.set(partition, { partition, leaderEpoch: partition.leaderEpoch, retryAtMs: 0 });
    this.ensureRunning();
    this.wake?.();
  }

  remove(partition: Partition): void {
    this.followed.delete(partition);
  }

  has(partition: Partition): boolean {
    return this.followed.has(partition);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.dropConnection();
    await this.running;
  }

  private ensureRunning(): void {
    if (this.running || this.stopped) return;
    this.running = this.loop()
      .catch((err: unknown) => this.host.logger.error({ err, leader: this.leaderId }, 'replica fetcher: stopped by an unexpected error'))
      .finally(() => {
        this.running = null;
        if (!this.stopped && this.followed.size > 0) this.ensureRunning();
      });
  }

  private async loop(): Promise<void> {
    while (!this.stopped && this.followed.size > 0) {
      const now = this.host.clock.now();
      const ready: Followed[] = [];
      let nextRetry = Infinity;
      for (const f of this.followed.values()) {
        const p = f.partition;
        if (p.leaderId !== this.leaderId || p.leaderEpoch !== f.leaderEpoch) continue; // a newer assignment re-adds it
        if (f.retryAtMs <= now) ready.push(f);
        else nextRetry = Math.min(nextRetry, f.retryAtMs);
      }
      if (ready.length === 0) {
        await this.pause(Number.isFinite(nextRetry) ? nextRetry - now : this.host.settings().backoffMs);
        continue;
      }
      try {
        await this.fetchOnce(ready);
      } catch (err) {
        const settings = this.host.settings();
        this.host.logger.warn({ leader: this.leaderId, err: (err as Error).message }, 'replica fetcher: fetch failed; backing off');
        this.dropConnection();
        const retryAt = this.host.clock.now() + settings.backoffMs;
        for (const f of ready) f.retryAtMs = retryAt;
      }
    }
  }

  /** Waits `ms`, or less if a partition is added or the fetcher stops. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.host.clock.schedule(Math.max(1, ms), () => {
        this.wake = null;
        resolve();
      });
      this.wake = () => {
        this.wake = null;
        cancel();
        resolve();
      };
    });
  }

  private connect(): Promise<Connection> {
    if (!this.connection) {
      const c = this.host.connect(this.leaderId);
      c.catch(() => {
        if (this.connection === c) this.connection = null;
      });
      this.connection = c;
    }
    return this.connection;
  }

  private dropConnection(): void {
    const c = this.connection;
    this.connection = null;
    void c?.then(
      (conn) => conn.close(),
      () => undefined,
    );
  }

  private async fetchOnce(ready: Followed[]): Promise<void> {
    const settings = this.host.settings();
    const conn = await this.connect();
    const byTopic = new Map<string, Followed[]>();
    for (const f of ready) {
      const list = byTopic.get(f.partition.topic.id) ?? [];
      list.push(f);
      byTopic.set(f.partition.topic.id, list);
    }
    const build = (version: number): FetchRequest => ({
      clusterId: null,
      // The follower's id moved into ReplicaState in v15.
      replicaId: version >= 15 ? -1 : settings.replicaId,
      replicaState: { replicaId: version >= 15 ? settings.replicaId : -1, replicaEpoch: -1 },
      maxWaitMs: settings.maxWaitMs,
      minBytes: settings.minBytes,
      maxBytes: settings.responseMaxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic.values()].map((list) => ({
        topic: list[0]!.partition.topicName,
        topicId: version >= 13 ? list[0]!.partition.topic.id : ZERO_UUID,
        partitions: list.map((f) => {
          const log = f.partition.log;
          return {
            partition: f.partition.index,
            currentLeaderEpoch: f.leaderEpoch,
            fetchOffset: log.logEndOffset,
            lastFetchedEpoch: log.latestEpoch,
            logStartOffset: log.logStartOffset,
            partitionMaxBytes: settings.partitionMaxBytes,
            replicaDirectoryId: ZERO_UUID,
            // v18 (KIP-1166): the follower's HW; the leader may answer at once when it is behind.
            highWatermark: log.highWatermark,
          };
        }),
      })),
      forgottenTopicsData: [],
      rackId: '',
    });
    const { version, body: res } = await conn.requestWithVersion<FetchResponse>(ApiKey.Fetch, build, { timeoutMs: settings.maxWaitMs + settings.socketTimeoutMs });
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaError(res.errorCode, `fetch from broker ${this.leaderId}: ${errorName(res.errorCode)}`);
    const work: Promise<void>[] = [];
    for (const t of res.responses) {
      const list = version >= 13 ? byTopic.get(t.topicId) : [...byTopic.values()].find((l) => l[0]!.partition.topicName === t.topic);
      if (!list) continue;
      for (const data of t.partitions) {
        const f = list.find((x) => x.partition.index === data.partitionIndex);
        if (f) work.push(this.processPartition(f, data));
      }
    }
    await Promise.all(work);
  }

  private async processPartition(f: Followed, data: FetchResponsePartitionData): Promise<void> {
    const p = f.partition;
    // The assignment may have changed while the fetch was out: its answer no longer applies.
    const current = () => this.followed.get(p) === f && p.leaderEpoch === f.leaderEpoch && p.leaderId === this.leaderId;
    if (!current()) return;
    const settings = this.host.settings();
    try {
      switch (data.errorCode) {
        case ErrorCode.NONE: {
          if (data.divergingEpoch.epoch >= 0 || data.divergingEpoch.endOffset >= 0) {
            await this.truncateDivergentSuffix(p, data.divergingEpoch.epoch, data.divergingEpoch.endOffset);
            return;
          }
          if (data.records && data.records.length > 0) {
            const appended = p.appendAsFollower(data.records);
            await appended.done;
          }
          if (!current()) return;
          // The follower's HW: the leader's, but never past what this replica has.
          p.log.setHighWatermark(Math.min(data.highWatermark, p.log.logEndOffset));
          if (data.logStartOffset > p.log.logStartOffset) await p.log.followLeaderLogStart(data.logStartOffset);
          f.retryAtMs = 0;
          return;
        }
        case ErrorCode.OFFSET_OUT_OF_RANGE:
          await this.handleOutOfRange(p, data);
          return;
        default:
          // Not the leader any more, an epoch the leader has not seen yet, a deleted topic: the
          // metadata will say; meanwhile, back off.
          if (data.errorCode !== ErrorCode.NOT_LEADER_OR_FOLLOWER && data.errorCode !== ErrorCode.UNKNOWN_LEADER_EPOCH && data.errorCode !== ErrorCode.FENCED_LEADER_EPOCH) {
            this.host.logger.info({ topic: p.topicName, partition: p.index, leader: this.leaderId, error: errorName(data.errorCode) }, 'replica fetcher: partition error');
          }
          f.retryAtMs = this.host.clock.now() + settings.backoffMs;
      }
    } catch (err) {
      this.host.logger.warn({ topic: p.topicName, partition: p.index, leader: this.leaderId, err: (err as Error).message }, 'replica fetcher: could not apply a fetch answer');
      f.retryAtMs = this.host.clock.now() + settings.backoffMs;
    }
  }

  /**
   * The leader's log differs from ours after `epoch`/`endOffset` (the leader's end of the last
   * epoch we both have). Truncate to where both agree, as Kafka's getOffsetTruncationState does;
   * if we do not have that epoch, cut back to our end of the largest earlier one and ask again.
   */
  private async truncateDivergentSuffix(p: Partition, epoch: number, endOffset: number): Promise<void> {
    const log = p.log;
    const end = log.logEndOffset;
    let target: number;
    if (endOffset < 0) target = log.highWatermark;
    else if (epoch < 0) target = Math.min(endOffset, end);
    else {
      const local = p.endOffsetForEpoch(epoch);
      if (local.endOffset < 0 || local.leaderEpoch < 0) target = log.highWatermark;
      else if (local.leaderEpoch !== epoch) target = Math.min(local.endOffset, end);
      else target = Math.min(local.endOffset, endOffset, end);
    }
    if (target >= end) {
      // Nothing to cut, but an empty epoch at our log end must go (see PartitionLog.truncateTo).
      await p.truncateTo(end);
      return;
    }
    this.host.logger.info(
      { topic: p.topicName, partition: p.index, leader: this.leaderId, epoch, endOffset, from: end, to: target },
      'replica fetcher: truncating a divergent suffix',
    );
    await p.truncateTo(target);
  }

  /** Our fetch offset is outside the leader's log: restart at its log start, or cut back to its HW. */
  private async handleOutOfRange(p: Partition, data: FetchResponsePartitionData): Promise<void> {
    const log = p.log;
    if (data.logStartOffset >= 0 && log.logEndOffset < data.logStartOffset) {
      this.host.logger.info(
        { topic: p.topicName, partition: p.index, leader: this.leaderId, leaderLogStart: data.logStartOffset },
        'replica fetcher: behind the leader log start; restarting the replica there',
      );
      await p.truncateFullyAndStartAt(data.logStartOffset);
    } else if (data.highWatermark >= 0 && log.logEndOffset > data.highWatermark) {
      await p.truncateTo(data.highWatermark);
    } else {
      throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `fetch offset ${log.logEndOffset} is out of range at broker ${this.leaderId}`);
    }
  }
}
