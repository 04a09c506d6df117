// What the coordinators need from the broker that hosts them, and nothing more. The coordinators
// own these interfaces; broker/ implements them (Broker, Partition, TopicState fit structurally,
// and `Broker implements CoordinatorHost` says so). A cluster-mode host can implement the same
// ports without the coordinators changing.
import type { Clock } from '../common/clock.js';

/** Where the coordinators log (a pino logger fits). */
export interface CoordinatorLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * What a coordinator's load reads of a partition: its log from the start to its end. A new leader
 * reads to the log end, not the high watermark, as Kafka's loaders do: its high watermark may lag
 * until the followers fetch again.
 */
export interface ReplayablePartition {
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
  /** Whole batches from `fetchOffset` (at least one batch), below the high watermark or the log end. */
  read(params: { fetchOffset: number; maxBytes: number; isolation: 'high_watermark' | 'log_end' }): Promise<{ records: Buffer | null }>;
}

/** A transaction marker as the coordinator asks a partition to write it. */
export interface MarkerWrite {
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  commit: boolean;
  /** 2 when the transaction ran V2 (the marker's epoch is above the data's), else 0. */
  transactionVersion: number;
}

/** A write accepted by a partition; `done` settles once it is acknowledged (or failed). */
export interface PendingWrite {
  readonly done: Promise<void>;
}

/** One partition of a topic the host serves (as leader or follower). */
export interface CoordinatorPartition extends ReplayablePartition {
  /** Whether this broker leads the partition now, and at which leader epoch. */
  readonly isLeader: boolean;
  readonly leaderEpoch: number;
  /** Appends one record batch; throws synchronously when the batch is refused outright. */
  append(batch: Buffer): PendingWrite;
  /** Writes a COMMIT or ABORT marker; throws synchronously for a fenced producer or coordinator. */
  writeTxnMarker(marker: MarkerWrite): PendingWrite;
}

export interface CoordinatorTopic {
  readonly name: string;
  /** The topic id (KIP-516), which KIP-848 assignments name topics by. */
  readonly id?: string;
  /** Indexed by partition; in cluster mode a partition hosted by another broker is a hole. */
  readonly partitions: readonly (CoordinatorPartition | undefined)[];
}

/** A numeric broker config, by its Kafka name. */
export interface CoordinatorConfig {
  int(name: string): number;
  list?(name: string): string[];
  str?(name: string): string | null;
}

/** A hosted partition started (leader true, at leaderEpoch) or stopped leading. */
export interface LeadershipChange {
  topic: string;
  partition: number;
  leader: boolean;
  leaderEpoch: number;
}

/** The broker as the coordinators see it. */
export interface CoordinatorHost {
  readonly config: CoordinatorConfig;
  /** The broker's clock: timeouts, expiry and timestamps. */
  readonly clock: Clock;
  readonly logger: CoordinatorLogger;
  /** The topics this broker serves, by name. */
  readonly topics: ReadonlyMap<string, CoordinatorTopic>;
  partition(topic: string, index: number): CoordinatorPartition | undefined;
  /**
   * The partition if this broker may write to it as leader now (in cluster mode: it leads it and
   * its etcd lease is certainly valid); otherwise the error to answer (NOT_LEADER_OR_FOLLOWER,
   * LEADER_NOT_AVAILABLE, UNKNOWN_TOPIC_OR_PARTITION).
   */
  leaderPartition(topic: string, index: number): CoordinatorPartition | number;
  /** Creates a topic (an internal topic on first use); rejects if it exists or cannot be made. */
  createTopic(name: string, partitions: number, overrides: Record<string, string>, placement?: { replicationFactor?: number }): Promise<CoordinatorTopic>;
  /**
   * Calls `listener` each time a hosted partition starts leading (a new leader epoch) or stops
   * leading; returns a function that stops the calls. The coordinators load and unload their
   * internal partitions from it.
   */
  onLeadershipChange(listener: (change: LeadershipChange) => void): () => void;
  /** A producer id never handed out before (InitProducerId). */
  nextProducerId(): Promise<number>;
  /** The finalized transaction.version feature level (UpdateFeatures); absent: 2. */
  transactionVersion?(): number;
  /** A group config (GROUP config resource): set on the group, else its broker synonym, else its default. */
  groupConfig?(groupId: string, name: string): string | null;
  /** The configs set on a group itself (GROUP config resource), without defaults. */
  groupConfigsOf?(groupId: string): Record<string, string>;
  /** Whether the partition exists in the cluster, whether or not this broker hosts it. */
  partitionExists(topic: string, index: number): boolean;
  /** Where a transaction marker for a partition goes: this broker, another broker (cluster mode), nowhere. */
  markerRoute(topic: string, index: number): MarkerRoute;
  /** Cluster mode: writes markers on another broker (WriteTxnMarkers); rejects retriably. */
  writeRemoteMarkers(nodeId: number, marker: MarkerWrite, topics: ReadonlyMap<string, number[]>): Promise<void>;
}

export type MarkerRoute =
  | { kind: 'local'; partition: CoordinatorPartition }
  | { kind: 'remote'; nodeId: number }
  /** The topic or partition no longer exists: nothing to write. */
  | { kind: 'gone' }
  /** Offline, or this broker's lease is uncertain: try again later. */
  | { kind: 'unavailable'; reason: string };
