import type { AppendOptions, AppendResult, PartitionLog, TxnMarkerRequest } from '../storage/partition-log.js';
import type { ConfigEntry } from '../config/config.js';

/** A topic as the broker serves it: its id, effective configuration and partitions. */
export interface TopicState {
  name: string;
  id: string;
  internal: boolean;
  /** The topic's own overrides, as stored in metadata. */
  overrides: Record<string, string>;
  /** Effective values (overrides over broker defaults). */
  configs: Map<string, ConfigEntry>;
  partitions: Partition[];
}

/**
 * One partition on this broker: its log plus the fetches parked on it. Parked fetches are
 * callbacks woken when the high watermark moves (Kafka's fetch purgatory, keyed by partition).
 */
export class Partition {
  leaderEpoch = 0;
  private readonly watchers = new Set<() => void>();

  constructor(
    readonly topic: TopicState,
    readonly index: number,
    readonly log: PartitionLog,
  ) {
    // Becoming leader starts the epoch at the log end, as Kafka's makeLeader does, so that
    // OffsetForLeaderEpoch and ListOffsets know epoch 0 even before the first append.
    if (log.latestEpoch < this.leaderEpoch) log.assignEpoch(this.leaderEpoch, log.logEndOffset);
  }

  get topicName(): string {
    return this.topic.name;
  }

  /** Appends producer batches; parked fetches wake once the data is readable. */
  append(records: Buffer, options?: AppendOptions): AppendResult {
    const result = this.log.append(records, this.leaderEpoch, options);
    result.done.then(
      () => this.notifyDataAvailable(),
      () => undefined,
    );
    return result;
  }

  /**
   * Writes a transaction marker (COMMIT or ABORT) for one producer at this partition's leader
   * epoch; parked fetches wake once it is acknowledged (the last stable offset moves then).
   * Throws INVALID_PRODUCER_EPOCH / TRANSACTION_COORDINATOR_FENCED synchronously; `done` rejects
   * with KAFKA_STORAGE_ERROR if the write fails.
   */
  writeTxnMarker(marker: TxnMarkerRequest): AppendResult {
    const result = this.log.appendTxnMarker(marker, this.leaderEpoch);
    result.done.then(
      () => this.notifyDataAvailable(),
      () => undefined,
    );
    return result;
  }

  /** Calls `onData` once the next time new data becomes readable; returns a cancel function. */
  watch(onData: () => void): () => void {
    const once = () => {
      this.watchers.delete(once);
      onData();
    };
    this.watchers.add(once);
    return () => this.watchers.delete(once);
  }

  /** How many fetches are parked on this partition (tests wait for a long poll to park). */
  get parkedFetches(): number {
    return this.watchers.size;
  }

  /** Wakes every parked fetch; called after appends reach the log. */
  notifyDataAvailable(): void {
    if (this.watchers.size === 0) return;
    for (const w of [...this.watchers]) w();
  }
}
