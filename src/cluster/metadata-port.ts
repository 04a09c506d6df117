// The cluster metadata port: what a broker needs to know and change about the cluster, whatever
// keeps it. Single-node mode uses LocalMetadataStore (a JSON file in the log dir); cluster mode uses
// EtcdMetadataStore (etcd, see ARCHITECTURE.md "Cluster metadata in etcd"). Reads are synchronous
// from a local view; writes are asynchronous and, in cluster mode, conditional etcd transactions.
import { ErrorCode, KafkaError } from '../protocol/errors.js';

/** One client quota entity component: a type and a name, null for the type's default entity. */
export interface EntityPart {
  entityType: string;
  entityName: string | null;
}

/** A client quota entity and its configured values, as the metadata store keeps them. */
export interface StoredQuota {
  entity: EntityPart[];
  values: Record<string, number>;
}

/** No leader: every replica of the partition is offline. Kafka's -1. */
export const NO_LEADER = -1;

/** One partition's placement and leadership, as the controller decides it. */
export interface PartitionState {
  /** Replica broker ids; the first is the preferred leader. */
  replicas: number[];
  /** The leader's broker id, or NO_LEADER. */
  leader: number;
  /** Bumped each time the leader changes (the coordinator epoch of internal partitions too). */
  leaderEpoch: number;
  /** In-sync replicas. Without replication (issue 15) this is the leader alone. */
  isr: number[];
  /** Bumped on every change of this record (leader, ISR, replicas): AlterPartition's fence. */
  partitionEpoch: number;
  /**
   * A reassignment in progress (KIP-455): replicas being added, already in `replicas`. Absent (or
   * empty) when none is; records written before reassignment existed have neither field.
   */
  addingReplicas?: number[];
  /** A reassignment in progress: replicas that leave `replicas` once every adding one is in sync. */
  removingReplicas?: number[];
}

/** Whether a reassignment of this partition is in progress. */
export function reassigning(s: PartitionState): boolean {
  return (s.addingReplicas?.length ?? 0) > 0 || (s.removingReplicas?.length ?? 0) > 0;
}

export interface TopicRecord {
  name: string;
  id: string;
  /** The partition count; `assignments` (when present) has this many entries. */
  partitions: number;
  configs: Record<string, string>;
  /**
   * Per partition: replicas, leader, epochs and ISR. Absent in single-node files written before
   * cluster mode existed: every partition is then on this node alone, leader epoch 0.
   */
  assignments?: PartitionState[];
}

/** A live broker, as it registered itself. */
export interface BrokerRegistration {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
  /** A random id per broker process: tells a restart from the same process. */
  incarnationId: string;
  /**
   * Advertised address per listener name (Metadata answers a client with those of the listener it
   * connected to). Absent in registrations of brokers before several listeners existed: host and
   * port are then the only endpoint, of every listener.
   */
  endpoints?: { listener: string; host: string; port: number; securityProtocol: string }[];
  /** Log directories of this broker that failed (KIP-112). */
  offlineLogDirs?: string[];
  /** The replicas this broker hosts in those directories (offlineReplicaKey): the controller treats them as dead. */
  offlineReplicas?: string[];
  /**
   * Set by the broker when its controlled shutdown starts (KRaft's inControlledShutdown): leaders
   * no longer add it to an ISR, though it keeps fetching until it stops.
   */
  inControlledShutdown?: boolean;
}

/** How a registration names an offline replica: `<topicId>:<partition>`. */
export function offlineReplicaKey(topicId: string, partition: number): string {
  return `${topicId}:${partition}`;
}

/** One ACL binding (CreateAcls), with Kafka's numeric resource type, pattern type, operation and permission. */
export interface StoredAcl {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

/** A user's SCRAM credential for one mechanism: what the broker keeps instead of the password (base64 fields). */
export interface StoredScramCredential {
  user: string;
  mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  iterations: number;
  salt: string;
  storedKey: string;
  serverKey: string;
}

/**
 * A delegation token (CreateDelegationToken), as Kafka's TokenInformation: principals are
 * `Type:name`. The HMAC is not stored: every broker derives it from delegation.token.secret.key.
 */
export interface StoredDelegationToken {
  tokenId: string;
  owner: string;
  /** Who asked for the token (KIP-373: may differ from the owner). */
  requester: string;
  renewers: string[];
  issueTimestampMs: number;
  /** Renewals never extend the token past this. */
  maxTimestampMs: number;
  /** The token expires then unless renewed. */
  expiryTimestampMs: number;
}

/**
 * Finalized feature levels (KIP-584, UpdateFeatures), cluster-wide. `epoch` grows at every change;
 * a feature absent from `levels` is not finalized (level 0).
 */
export interface StoredFeatures {
  epoch: number;
  levels: Record<string, number>;
}

/** What changed in the metadata (cluster mode: from the etcd watch; local: after each write). */
export type MetadataChange =
  | { kind: 'topic'; name: string; record: TopicRecord | undefined }
  | { kind: 'brokers' }
  | { kind: 'controller'; controllerId: number }
  | { kind: 'configs' }
  | { kind: 'quotas' }
  | { kind: 'acls' }
  | { kind: 'client-metrics' }
  | { kind: 'group-configs' }
  | { kind: 'scram' }
  | { kind: 'delegation-tokens' }
  | { kind: 'features' };

/**
 * Metadata could not be read or changed because the store (etcd) cannot be reached or the write
 * lost its guard (a deposed controller). Retriable: handlers answer REQUEST_TIMED_OUT or
 * NOT_CONTROLLER, never a crash.
 */
export class MetadataUnavailableError extends KafkaError {
  constructor(
    message: string,
    readonly fenced = false,
  ) {
    super(fenced ? ErrorCode.NOT_CONTROLLER : ErrorCode.REQUEST_TIMED_OUT, message);
    this.name = 'MetadataUnavailableError';
  }
}

/** A second broker tried to register a node.id that is live: it must not start. */
export class DuplicateNodeIdError extends Error {
  constructor(
    readonly nodeId: number,
    detail: string,
  ) {
    super(`node.id ${nodeId} is already live in this cluster (${detail}); refusing to start a second broker with it`);
    this.name = 'DuplicateNodeIdError';
  }
}

export interface MetadataStore {
  readonly clusterId: string;
  /** True when several brokers share this store (etcd); false for the single-node file. */
  readonly clustered: boolean;

  topic(name: string): TopicRecord | undefined;
  topicById(id: string): TopicRecord | undefined;
  topics(): TopicRecord[];
  /** Creates a topic; in cluster mode refused (TOPIC_ALREADY_EXISTS) if another broker made it first. */
  createTopic(t: TopicRecord): Promise<void>;
  deleteTopic(name: string): Promise<void>;
  setTopicConfigs(name: string, configs: Record<string, string>): Promise<void>;
  /** Grows a topic; `added` are the new partitions' states (defaults: on this node). */
  setPartitionCount(name: string, partitions: number, added?: PartitionState[]): Promise<void>;

  /**
   * Dynamic broker configs: the cluster-wide defaults ('default', kafka-configs --entity-default)
   * or one broker's own (its node id, --entity-name <id>).
   */
  dynamicBrokerConfigs(scope: BrokerConfigScope): Record<string, string>;
  setDynamicBrokerConfigs(scope: BrokerConfigScope, configs: Record<string, string>): Promise<void>;
  clientQuotas(): StoredQuota[];
  setClientQuotas(quotas: StoredQuota[]): Promise<void>;

  /** ACLs (CreateAcls/DeleteAcls), cluster-wide. */
  acls(): StoredAcl[];
  setAcls(acls: StoredAcl[]): Promise<void>;
  /** KIP-714 client-metrics subscriptions (CLIENT_METRICS config resources): name → configs, cluster-wide. */
  clientMetrics(): Record<string, Record<string, string>>;
  setClientMetrics(resources: Record<string, Record<string, string>>): Promise<void>;
  /** Group configs (GROUP config resources, KIP-848/KIP-932): group id → configs, cluster-wide. */
  groupConfigs(): Record<string, Record<string, string>>;
  setGroupConfigs(groups: Record<string, Record<string, string>>): Promise<void>;
  /** SCRAM credentials (AlterUserScramCredentials), cluster-wide. */
  scramCredentials(): StoredScramCredential[];
  setScramCredentials(credentials: StoredScramCredential[]): Promise<void>;
  /** Delegation tokens, cluster-wide; each written on its own (created, renewed, expired). */
  delegationTokens(): StoredDelegationToken[];
  putDelegationToken(token: StoredDelegationToken): Promise<void>;
  deleteDelegationToken(tokenId: string): Promise<void>;

  /** Finalized features, or undefined before the first UpdateFeatures (the broker's defaults apply). */
  finalizedFeatures(): StoredFeatures | undefined;
  setFinalizedFeatures(features: StoredFeatures): Promise<void>;

  /** A producer id never handed out before anywhere in the cluster (AllocateProducerIds). */
  nextProducerId(): Promise<number>;

  /** Live brokers, by node id. Single-node: this broker alone (once registered). */
  liveBrokers(): BrokerRegistration[];
  /** The active controller's node id, or -1 when there is none (an election is under way). */
  controllerId(): number;

  /** Called after each change made by another broker or seen by the etcd watch (cluster mode); returns an unsubscribe function. */
  onChange(listener: (change: MetadataChange) => void): () => void;
  close(): Promise<void>;
}

/** A topic's partition states, with single-node defaults for records that have none. */
export function partitionStates(t: TopicRecord, localNodeId: number): PartitionState[] {
  if (t.assignments && t.assignments.length === t.partitions) return t.assignments;
  const out: PartitionState[] = [];
  for (let p = 0; p < t.partitions; p++) {
    out.push(t.assignments?.[p] ?? { replicas: [localNodeId], leader: localNodeId, leaderEpoch: 0, isr: [localNodeId], partitionEpoch: 0 });
  }
  return out;
}

/** Whose dynamic broker configs: every broker's defaults, or one broker's (by node id). */
export type BrokerConfigScope = 'default' | number;
