import { randomUUID } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { BrokerConfig, ConfigError, resolveTopicConfig, toNumber, type ConfigEntry, type DynamicLevel } from '../config/config.js';
import { LocalMetadataStore, type TopicRecord } from '../cluster/metadata-store.js';
// Cluster mode only, loaded on use: the etcd client (gRPC, protobuf) adds about 15-30 MiB to
// the RSS of a broker that never talks to etcd.
import type { EtcdMetadataStore } from '../cluster/etcd-metadata-store.js';
import type { Controller } from '../cluster/controller.js';
import { offlineReplicaKey, partitionStates, type MetadataChange, type MetadataStore, type PartitionState } from '../cluster/metadata-port.js';
import { assignReplicas } from '../cluster/replica-assignment.js';
import { brokersOf, controlledShutdownChange } from '../cluster/partition-changes.js';
import { INTER_BROKER_CLIENT_ID, InterBrokerClient } from './inter-broker.js';
import { BrokerSecurity } from './security/security.js';
import { usesTls, type SecurityProtocol } from './security/listeners.js';
import { tlsServerOptions } from './security/tls.js';
import type { ClientSecurity } from '../client/sasl.js';
import { ReplicaManager } from './replication/replica-manager.js';
import { ReplicationThrottle } from './replication-throttle.js';
import { LogDirs } from '../storage/log-dirs.js';
import { LogDirMover } from './log-dir-mover.js';
import type { LogIo } from '../storage/log-io.js';
import type { LogConfig } from '../storage/partition-log.js';
import { KafkaListener, parsePerIpOverrides, type ConnectionQuotas } from '../network/server.js';
import type { FrameHandler } from '../network/connection.js';
import { MemoryPool } from '../network/memory-pool.js';
import { QuotaManager } from './quota-manager.js';
import type { StoredQuota } from './client-quotas.js';
import { ErrorCode, KafkaError, errorName } from '../protocol/errors.js';
import { ApiKey, type ProduceResponse } from '../protocol/generated/index.js';
import { Partition, type ReplicaAssignment, type TopicState } from './partition.js';
import { collisionKey, INTERNAL_TOPICS, invalidTopicReason } from './topic-names.js';
import { FetchSessionCache } from './fetch-sessions.js';
import { BrokerMetrics } from './metrics.js';
import { ClientTelemetry } from './client-telemetry.js';
import type { GroupCoordinator } from '../coordinator/group-coordinator.js';
import { groupConfigDefs } from '../config/registry.js';
import { SHARE_STATE_TOPIC, ShareCoordinator } from '../coordinator/share-coordinator.js';
import { SharePersister, type PeerNode } from './share/share-persister.js';
import { LeaderHighWatermarks } from './leader-offsets.js';
import { SharePartitions } from './share/share-partitions.js';
import { ShareSessions } from './share/share-sessions.js';
import { startGroupCoordinator } from '../coordinator/offsets-topic.js';
import type { TransactionCoordinator } from '../coordinator/transaction-coordinator.js';
import { startTransactionCoordinator, TRANSACTION_STATE_TOPIC } from '../coordinator/transaction-topic.js';
import { finalizedLevel, TRANSACTION_VERSION_FEATURE } from './features.js';
import { TransactionVerifier } from './txn-verifier.js';
import type { CoordinatorHost, MarkerRoute, MarkerWrite } from '../coordinator/ports.js';
import { systemClock, type Clock } from '../common/clock.js';

/** The metadata's partition state as the replica façade's assignment. */
function toAssignment(s: PartitionState): ReplicaAssignment {
  return { leaderId: s.leader, leaderEpoch: s.leaderEpoch, replicas: [...s.replicas], isr: [...s.isr], partitionEpoch: s.partitionEpoch };
}

/** How many partition logs a topic load opens at once. */
const OPEN_CONCURRENCY = 32;

export interface Endpoint {
  host: string;
  port: number;
}

/** The most partitions one CreateTopics or CreatePartitions request may add to a topic. */
export const MAX_NEW_PARTITIONS = 10_000;

/** A broker as clients see it on one listener. */
export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** A hosted partition started (leader true, at leaderEpoch) or stopped leading. */
/** A share group's start offset on one partition (DescribeShareGroupOffsets), or why it is unknown. */
export interface ShareOffset {
  topic: string;
  partition: number;
  startOffset: number;
  leaderEpoch: number;
  lag: number;
  errorCode: number;
}

export interface LeadershipChange {
  topic: string;
  partition: number;
  leader: boolean;
  leaderEpoch: number;
}

/** One partition's transactional data in a produce request, for Broker.verifyTransactionalProduce. */
export interface TransactionalProduceCheck {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  /** The first batch's base sequence. */
  baseSequence: number;
  topic: string;
  partition: number;
  /** Transactions V2 (Produce v12+): the coordinator adds the partition instead of verifying it. */
  add: boolean;
  /** The producer already has a transaction open on the partition at this epoch. */
  ongoing: boolean;
}

/** Kafka refuses a request pool smaller than one request; so do we, before anything is opened. */
function checkRequestLimits(config: BrokerConfig): void {
  const maxRequestBytes = config.int('socket.request.max.bytes');
  const poolBytes = config.int('queued.max.request.bytes');
  if (poolBytes > 0 && poolBytes < maxRequestBytes) {
    throw new ConfigError(`queued.max.request.bytes (${poolBytes}) must be -1 or at least socket.request.max.bytes (${maxRequestBytes})`);
  }
}

/**
 * Builds what answers a connection's frames: request-handler.ts's createRequestHandler. Passed in
 * (see start.ts) because the request path imports this module, never the other way round.
 */
export type RequestHandlerFactory = (broker: Broker) => FrameHandler;

export interface BrokerStartOptions {
  requestHandler: RequestHandlerFactory;
  logger?: Logger;
  /** Replaces the log's file operations: for disk-fault tests only. */
  storageIo?: LogIo;
  /** The clock everything reads the time from (default: the system's); tests pass a ManualClock. */
  clock?: Clock;
}

export class Broker implements CoordinatorHost {
  readonly nodeId: number;
  readonly topics = new Map<string, TopicState>();
  readonly topicsById = new Map<string, TopicState>();
  readonly fetchSessions: FetchSessionCache;
  /** Request, topic and replication counters (read by src/http/metrics.ts for /metrics). */
  readonly metrics = new BrokerMetrics();
  /** KIP-714: client-metrics subscriptions and the metrics clients push. */
  readonly telemetry: ClientTelemetry;
  /** Groups and committed offsets, kept in __consumer_offsets (src/coordinator). */
  groupCoordinator!: GroupCoordinator;
  /** KIP-932: the share-partitions this broker leads, their state kept in __share_group_state. */
  shares!: SharePartitions;
  /** KIP-932 share sessions (ShareFetch/ShareAcknowledge). */
  readonly shareSessions: ShareSessions;
  /** Transactional ids and their transactions, kept in __transaction_state (src/coordinator). */
  transactionCoordinator!: TransactionCoordinator;
  /** One per entry of `listeners`, in that order. */
  private listeners: KafkaListener[] = [];
  /** Request bytes read but not answered yet, over all connections (queued.max.request.bytes). */
  requestMemory!: MemoryPool;
  /** Client quotas (producer/consumer byte rates, request percentage) and their measured usage. */
  readonly quotas: QuotaManager;
  private stopped = false;
  private stopping = false;
  /** Cluster mode (etcd.endpoints set): the etcd store and this broker's controller candidate. */
  cluster: { store: EtcdMetadataStore; controller: Controller } | null = null;
  /** Cluster mode: leads and follows the hosted partitions (follower fetching, ISR, high watermark). */
  replication: ReplicaManager | null = null;
  /** Cluster mode: the leader's limits on copying partitions to replicas out of the ISR (reassignments). */
  readonly replicationThrottle: ReplicationThrottle;
  /** Cluster mode: requests to other brokers (transaction markers), over the inter-broker listener. */
  readonly interBroker: InterBrokerClient;
  /** Cluster mode: metadata changes seen by the watch are applied to the local topics one at a time. */
  private reconciling: Promise<void> = Promise.resolve();
  private readonly creating = new Set<string>();
  /** Per topic, the tail of its queued partition additions (they run one at a time). */
  private readonly growing = new Map<string, Promise<void>>();
  /** The inter-broker listener's advertised address (what this broker registers as its host and port). */
  advertised!: Endpoint;
  /** Advertised address per listener name, bound ports filled in. */
  readonly advertisedEndpoints = new Map<string, Endpoint>();
  /**
   * KIP-890 part 1, set by the transaction coordinator: asked before a transactional batch is
   * appended whether its partition was added to the producer's ongoing transaction. Answers an
   * error code (NONE lets the append proceed), synchronously or as a promise. Unset, every
   * transactional batch is appended as it comes (the producer's epoch and sequences are still
   * checked by the log).
   */
  verifyTransactionalProduce?: (request: TransactionalProduceCheck) => number | Promise<number>;
  /** Asks the transaction coordinator (here or on another broker) to verify or add partitions (KIP-890). */
  txnVerifier!: TransactionVerifier;
  private readonly leadershipListeners = new Set<(change: LeadershipChange) => void>();
  /** Moves of replicas between this broker's log directories (AlterReplicaLogDirs). */
  readonly logDirMover: LogDirMover;
  /** The periodic write probe of each log directory (KIP-112 failure detection). */
  private logDirProbe: NodeJS.Timeout | null = null;
  /** Log directories being checked now. */
  private readonly checkingDirs = new Set<string>();
  /** Offline replicas as registered in the cluster metadata (KIP-112), by offlineReplicaKey. */
  private readonly offlineReplicas = new Set<string>();

  private constructor(
    readonly config: BrokerConfig,
    readonly logger: Logger,
    readonly metadata: MetadataStore,
    readonly logs: LogDirs,
    /** The one clock of this broker: logs, coordinators, fetch long polls, connections and quotas. */
    readonly clock: Clock,
    /** Listeners' security, SASL, SCRAM credentials, ACLs and the authorizer. */
    readonly security: BrokerSecurity,
  ) {
    this.interBroker = new InterBrokerClient(INTER_BROKER_CLIENT_ID, () => this.interBrokerSecurity());
    this.logDirMover = new LogDirMover({
      clock,
      logs,
      logger,
      partition: (topic, index) => this.partition(topic, index),
      logConfig: (topic) => {
        const t = this.topics.get(topic);
        return t ? Broker.logConfig(t.configs) : undefined;
      },
      maxBytesPerSecond: () => config.int('replica.alter.log.dirs.io.max.bytes.per.second'),
    });
    this.nodeId = config.nodeId;
    this.telemetry = new ClientTelemetry(
      () => config.int('telemetry.max.bytes'),
      () => clock.monotonicMs(),
    );
    this.replicationThrottle = new ReplicationThrottle({
      nodeId: config.nodeId,
      clock,
      rates: () => ({ leader: config.int('leader.replication.throttled.rate'), follower: config.int('follower.replication.throttled.rate') }),
    });
    this.shareSessions = new ShareSessions(2000, () => clock.monotonicMs());
    this.fetchSessions = new FetchSessionCache(config.int('max.incremental.fetch.session.cache.slots'), clock);
    this.quotas = new QuotaManager({ samples: config.int('quota.window.num'), sampleMs: config.int('quota.window.size.seconds') * 1000 }, metadata.clientQuotas(), clock);
  }

  /** The client-metrics subscriptions from the metadata (a stored one that no longer parses is skipped). */
  private loadClientMetrics(): void {
    const stored = this.metadata.clientMetrics();
    for (const name of [...this.telemetry.resources.keys()]) if (!(name in stored)) this.telemetry.setResource(name, null);
    for (const [name, configs] of Object.entries(stored)) {
      try {
        this.telemetry.setResource(name, configs);
      } catch (err) {
        this.logger.warn({ err, resource: name }, 'ignoring an invalid client metrics subscription');
      }
    }
  }

  /** The share coordinator and share-partitions (KIP-932), after the group coordinator. */
  private async startShareGroups(): Promise<void> {
    const coordinator = new ShareCoordinator(this, this.logger);
    const isClustered = () => this.cluster !== null;
    const persister = new SharePersister({
      coordinator,
      // Read at each call: the broker joins its cluster after the coordinators start.
      get clustered() {
        return isClustered();
      },
      stateLeader: (index) => this.shareCoordinatorNode(index),
      call: (peer, apiKey, body) => this.interBroker.shareState(peer, apiKey, body),
    });
    this.shares = new SharePartitions(this, persister);
    await coordinator.start();
    // Share-partition leadership follows partition leadership: a partition that leaves drops its share-partitions.
    this.onLeadershipChange((change) => {
      if (!change.leader) this.shares.drop((sp) => sp.topic === change.topic && sp.partition === change.partition);
    });
    // A member that left or timed out: its share sessions end and what it still holds is released.
    this.groupCoordinator.share.onMemberRemoved = (groupId, memberId) => {
      this.shareSessions.remove(groupId, memberId);
      this.shares.releaseMember(groupId, memberId);
      this.tellPeersShareMemberLeft(groupId, memberId);
    };
    this.groupCoordinator.onShareGroupDeleted = (groupId) => {
      this.shares.drop((sp) => sp.groupId === groupId);
      void this.deleteShareGroupState(groupId);
    };
  }

  /**
   * Cluster mode: a share member left its group (or timed out of it) here, at its group
   * coordinator; the partitions it fetched are led by other brokers too. Each of them ends the
   * member's share session and releases what it holds at once, as this broker just did. Best
   * effort: a broker that cannot be told releases on the member's connection close or lock expiry.
   */
  private tellPeersShareMemberLeft(groupId: string, memberId: string): void {
    if (!this.cluster) return;
    for (const peer of this.liveBrokers()) {
      if (peer.nodeId === this.nodeId) continue;
      this.interBroker.shareMemberLeft(peer, groupId, memberId).then(
        (code) => {
          if (code !== ErrorCode.NONE)
            this.logger.warn({ group: groupId, member: memberId, peer: peer.nodeId, code }, 'a broker refused to release what a departed share member holds');
        },
        (err: unknown) => this.logger.warn({ err, group: groupId, member: memberId, peer: peer.nodeId }, 'could not tell a broker that a share member left'),
      );
    }
  }

  /**
   * Appends a batch to a partition another broker leads (the dead-letter copy of a share group's
   * record): a Produce with acks=all to the leader, as this broker. Rejects with a KafkaError:
   * the partition's error, or LEADER_NOT_AVAILABLE when it has no live leader elsewhere.
   */
  async produceToLeader(topic: string, partition: number, batch: Buffer): Promise<void> {
    const t = this.topics.get(topic);
    if (!t) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no topic ${topic}`);
    const leader = this.partitionStates(t)[partition]?.leader ?? -1;
    const peer = leader === this.nodeId ? undefined : this.liveBrokers().find((b) => b.nodeId === leader);
    if (!peer) throw new KafkaError(ErrorCode.LEADER_NOT_AVAILABLE, `${topic}-${partition} has no live leader on another broker`);
    const res = await this.interBroker.request<ProduceResponse>(
      peer,
      ApiKey.Produce,
      { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: topic, topicId: t.id, partitionData: [{ index: partition, records: batch }] }] },
      10_000,
    );
    const code = res.responses[0]?.partitionResponses[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    if (code !== ErrorCode.NONE) throw new KafkaError(code, `producing to ${topic}-${partition} on broker ${leader}: ${errorName(code)}`);
  }

  /** Cluster mode: the live broker leading __share_group_state partition `index`, 'self', or null. */
  shareCoordinatorNode(index: number): PeerNode | 'self' | null {
    const t = this.topics.get(SHARE_STATE_TOPIC);
    const s = t ? this.partitionStates(t)[index] : undefined;
    if (!s || s.leader < 0) return null;
    if (s.leader === this.nodeId) return 'self';
    return this.liveBrokers().find((b) => b.nodeId === s.leader) ?? null;
  }

  /**
   * The share-partitions of a group that have state, wherever their share coordinator is: the
   * partitions of every topic, asked in one ReadShareGroupStateSummary per share coordinator
   * (Tributary's group keeps no list of them; Kafka's keeps the initialized ones).
   */
  private async shareSummaries(groupId: string, topicIds?: string[]) {
    const keys: { topicId: string; partition: number }[] = [];
    for (const t of this.topics.values()) {
      if (t.name.startsWith('__') || (topicIds && !topicIds.includes(t.id))) continue;
      for (let partition = 0; partition < t.partitions.length; partition++) keys.push({ topicId: t.id, partition });
    }
    return { keys, found: await this.shares.persister.summaries(groupId, keys) };
  }

  /** A deleted share group: its state is forgotten on every share coordinator holding some. */
  private async deleteShareGroupState(groupId: string): Promise<void> {
    const { found } = await this.shareSummaries(groupId);
    for (const [id, s] of found) {
      if (s === null || typeof s === 'number') continue;
      const i = id.lastIndexOf(':');
      const code = await this.shares.persister.delete({ groupId, topicId: id.slice(0, i), partition: Number(id.slice(i + 1)) });
      if (code !== ErrorCode.NONE) this.logger.warn({ group: groupId, partition: id, code }, 'could not delete the state of a deleted share group');
    }
  }

  /**
   * A share group's start offsets and lag on the partitions it has state for, from their share
   * coordinators (this broker's or others': one ReadShareGroupStateSummary per share coordinator).
   * A partition whose share coordinator could not answer comes back with that error (for the
   * topics the group has state on or subscribes to), not as if it had no state. The lag uses the
   * high watermark of each partition's leader (asked with ListOffsets when that is another broker).
   */
  async shareOffsets(groupId: string): Promise<ShareOffset[]> {
    const out: ShareOffset[] = [];
    const failed: ShareOffset[] = [];
    const { found } = await this.shareSummaries(groupId);
    const stated = new Set<string>();
    for (const [id, s] of found) {
      if (s === null) continue;
      const i = id.lastIndexOf(':');
      const topic = this.topicsById.get(id.slice(0, i));
      const partition = Number(id.slice(i + 1));
      if (!topic) continue;
      if (typeof s === 'number') {
        const errorCode = s === ErrorCode.NOT_COORDINATOR || s === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.COORDINATOR_NOT_AVAILABLE : s;
        failed.push({ topic: topic.name, partition, startOffset: -1, leaderEpoch: -1, lag: -1, errorCode });
        continue;
      }
      stated.add(topic.name);
      const live = this.shares.ofGroup(groupId).find((sp) => sp.topicId === topic.id && sp.partition === partition);
      let startOffset = s.startOffset;
      let done = s.deliveryCompleteCount;
      if (live) {
        const snap = live.snapshot(s.leaderEpoch);
        startOffset = snap.startOffset;
        done = 0;
        for (const b of snap.stateBatches) if (b.deliveryState === 2 || b.deliveryState === 4) done += b.lastOffset - b.firstOffset + 1;
      }
      out.push({ topic: topic.name, partition, startOffset, leaderEpoch: s.leaderEpoch, lag: done, errorCode: ErrorCode.NONE });
    }
    const hws = await this.leaderHighWatermarks().highWatermarks(out);
    for (const o of out) {
      const hw = hws.get(`${o.topic}\0${o.partition}`);
      o.lag = hw === undefined ? -1 : Math.max(0, hw - o.startOffset - o.lag);
    }
    const subscribed = this.groupCoordinator.share.describe(groupId)?.subscribedTopics() ?? new Set<string>();
    out.push(...failed.filter((f) => stated.has(f.topic) || subscribed.has(f.topic)));
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  private leaderHws: LeaderHighWatermarks | null = null;

  /** High watermarks as the partitions' leaders have them (cached briefly; see leader-offsets.ts). */
  private leaderHighWatermarks(): LeaderHighWatermarks {
    return (this.leaderHws ??= new LeaderHighWatermarks(this, { freshMs: 0 }));
  }

  /** A partition's high watermark as its leader has it, or null when it cannot be had. */
  private async highWatermarkOf(topic: string, partition: number): Promise<number | null> {
    return (await this.leaderHighWatermarks().highWatermarks([{ topic, partition }])).get(`${topic}\0${partition}`) ?? null;
  }

  /** AlterShareGroupOffsets: a new start offset, nothing in flight, a new state epoch. */
  async setShareStartOffset(groupId: string, topicId: string, topic: string, partition: number, startOffset: number): Promise<number> {
    const key = { groupId, topicId, partition };
    const existing = (await this.shares.persister.summaries(groupId, [{ topicId, partition }])).get(`${topicId}:${partition}`);
    if (typeof existing === 'number') return existing;
    const start = startOffset < 0 ? ((await this.highWatermarkOf(topic, partition)) ?? 0) : startOffset;
    this.shares.drop((sp) => sp.groupId === groupId && sp.topicId === topicId && sp.partition === partition);
    // A new state epoch fences the share-partition's leader (wherever it is): it reads the state afresh.
    return this.shares.persister.write(key, { stateEpoch: (existing?.stateEpoch ?? 0) + 1, leaderEpoch: -1, startOffset: start, stateBatches: [] });
  }

  /** DeleteShareGroupOffsets: forgets a group's state on every partition of a topic. */
  async deleteShareState(groupId: string, topicId: string, topic: string): Promise<number> {
    const t = this.topics.get(topic);
    this.shares.drop((sp) => sp.groupId === groupId && sp.topicId === topicId);
    for (let partition = 0; partition < (t?.partitions.length ?? 0); partition++) {
      const code = await this.shares.persister.delete({ groupId, topicId, partition });
      if (code !== ErrorCode.NONE) return code;
    }
    return ErrorCode.NONE;
  }

  /** Group configs (GROUP config resources) as stored, read through on each change. */
  private groupConfigCache: Record<string, Record<string, string>> | null = null;

  /** The configs set on a group (GROUP config resource): only the ones set. */
  groupConfigsOf(groupId: string): Record<string, string> {
    this.groupConfigCache ??= this.metadata.groupConfigs();
    return this.groupConfigCache[groupId] ?? {};
  }

  /** The groups that have configs set (GROUP config resources). */
  groupsWithConfigs(): string[] {
    this.groupConfigCache ??= this.metadata.groupConfigs();
    return Object.keys(this.groupConfigCache);
  }

  /** A group config's value: set on the group, else its broker synonym, else its default. */
  groupConfig(groupId: string, name: string): string | null {
    const set = this.groupConfigsOf(groupId)[name];
    if (set !== undefined) return set;
    const def = groupConfigDefs.get(name);
    for (const synonym of def?.brokerSynonyms ?? []) {
      const v = this.config.str(synonym);
      if (v !== null) return v;
    }
    return def?.default ?? null;
  }

  /** Sets (null or empty: deletes) a group's configs; metadata first. */
  async setGroupConfigs(groupId: string, configs: Record<string, string> | null): Promise<void> {
    const all = this.metadata.groupConfigs();
    if (configs && Object.keys(configs).length > 0) all[groupId] = configs;
    else delete all[groupId];
    await this.metadata.setGroupConfigs(all);
    this.groupConfigCache = null;
  }

  /** Sets (null: deletes) a KIP-714 client-metrics subscription; it persists and applies to the next GetTelemetrySubscriptions. */
  async setClientMetrics(name: string, configs: Record<string, string> | null): Promise<void> {
    const all = this.metadata.clientMetrics();
    if (configs && Object.keys(configs).length > 0) all[name] = configs;
    else delete all[name];
    await this.metadata.setClientMetrics(all); // metadata first, as for topic configs
    this.telemetry.setResource(name, configs);
  }

  /** Replaces the client quotas; they apply to the next request and persist. */
  async setClientQuotas(entries: StoredQuota[]): Promise<void> {
    this.quotas.setQuotas(entries);
    await this.metadata.setClientQuotas(entries);
  }

  /** Opens the logs, starts the coordinators and listens; start.ts's startKafkaBroker says how to answer. */
  static async start(config: BrokerConfig, options: BrokerStartOptions): Promise<Broker> {
    const { logger, storageIo } = options;
    const clock = options.clock ?? systemClock;
    checkRequestLimits(config);
    const log = logger ?? pino({ level: config.str('log.level') ?? 'info', base: { node: config.nodeId } });
    const dir = config.logDir;
    const endpoints = config.list('etcd.endpoints');
    const etcd =
      endpoints.length > 0
        ? await (
            await import('../cluster/etcd-metadata-store.js')
          ).EtcdMetadataStore.open({ endpoints, prefix: config.str('etcd.prefix') ?? '/tributary', clusterId: config.str('cluster.id') })
        : null;
    const metadata: MetadataStore = etcd ?? (await LocalMetadataStore.open(dir, config.nodeId, config.str('cluster.id')));
    let security: BrokerSecurity;
    try {
      security = new BrokerSecurity(config, metadata, log, clock);
      await security.start();
    } catch (err) {
      await metadata.close();
      throw err;
    }
    const logs = await LogDirs.open(config.logDirs, {
      logger: log,
      retentionCheckIntervalMs: config.int('log.retention.check.interval.ms'),
      cleanerEnabled: config.bool('log.cleaner.enable'),
      cleanerBackoffMs: config.int('log.cleaner.backoff.ms'),
      producerIdExpirationMs: config.int('producer.id.expiration.ms'),
      producerIdExpirationCheckIntervalMs: config.int('producer.id.expiration.check.interval.ms'),
      cleanerDedupeBufferSize: config.int('log.cleaner.dedupe.buffer.size'),
      io: storageIo,
      clock,
    });
    config.replaceDynamic(metadata.dynamicBrokerConfigs('default'), 'default');
    config.replaceDynamic(metadata.dynamicBrokerConfigs(config.nodeId), 'broker');
    const broker = new Broker(config, log, metadata, logs, clock, security);
    broker.applyLogLevel();
    if (etcd) broker.replication = broker.createReplicaManager();
    broker.loadClientMetrics();
    for (const t of metadata.topics()) await broker.loadTopic(t, true);
    // Moves between log directories that the last stop interrupted run again.
    for (const m of logs.takePendingMoves()) {
      const p = broker.partition(m.topic, m.partition);
      if (p) await broker.logDirMover.alter(p, m.logDir);
    }
    broker.groupCoordinator = await startGroupCoordinator(broker);
    await broker.startShareGroups();
    // After the group coordinator: finishing an interrupted commit may complete offsets there.
    broker.transactionCoordinator = await startTransactionCoordinator(broker, broker.groupCoordinator);
    broker.txnVerifier = new TransactionVerifier({
      transactionCoordinator: broker.transactionCoordinator,
      get clustered() {
        return broker.cluster !== null;
      },
      clock: broker.clock,
      logger: broker.logger,
      transactionCoordinatorNode: (index) => broker.transactionCoordinatorNode(index),
      addPartitionsToTxn: (peer, request) => broker.interBroker.addPartitionsToTxn(peer, request),
    });
    broker.verifyTransactionalProduce = (c) => {
      // Data of a transaction already open here at this epoch was verified with its first batch;
      // a coordinator on another broker is not asked again (a local one answers at once anyway).
      if (c.ongoing && broker.transactionCoordinator.transactionalIdError(c.transactionalId) !== ErrorCode.NONE) return ErrorCode.NONE;
      return broker.txnVerifier.check(c);
    };
    try {
      await broker.listen(options.requestHandler);
    } catch (err) {
      // A listener that cannot open (a TLS store with a wrong password, a port in use) fails the
      // start with its error; what opened so far is closed, so an embedding process can go on.
      await broker.stop();
      throw err;
    }
    broker.startLogDirProbe();
    const self = {
      nodeId: config.nodeId,
      host: broker.advertised.host,
      port: broker.advertised.port,
      rack: config.str('broker.rack') ?? null,
      incarnationId: randomUUID(),
      endpoints: security.plan.listeners.map((l) => ({ listener: l.name, securityProtocol: l.securityProtocol, ...broker.advertisedEndpoints.get(l.name)! })),
      // KIP-112: log directories offline since start-up and the replicas they hold.
      ...(logs.offlineDirs.length > 0 ? { offlineLogDirs: logs.offlineDirs, offlineReplicas: [...broker.offlineReplicas] } : {}),
    };
    if (etcd) {
      try {
        await broker.joinCluster(etcd, self);
      } catch (err) {
        await broker.stop();
        throw err;
      }
    } else if (metadata instanceof LocalMetadataStore) {
      metadata.register(self);
    }
    log.info(
      {
        nodeId: broker.nodeId,
        clusterId: metadata.clusterId,
        listener: `${broker.advertised.host}:${broker.advertised.port}`,
        logDirs: logs.dirs,
        topics: broker.topics.size,
      },
      'broker started',
    );
    return broker;
  }

  private createReplicaManager(): ReplicaManager {
    const config = this.config;
    return new ReplicaManager({
      nodeId: this.nodeId,
      clock: this.clock,
      logger: this.logger,
      settings: () => ({
        replicaId: this.nodeId,
        maxWaitMs: config.int('replica.fetch.wait.max.ms'),
        minBytes: config.int('replica.fetch.min.bytes'),
        partitionMaxBytes: config.int('replica.fetch.max.bytes'),
        responseMaxBytes: config.int('replica.fetch.response.max.bytes'),
        backoffMs: config.int('replica.fetch.backoff.ms'),
        socketTimeoutMs: config.int('replica.socket.timeout.ms'),
        replicaLagTimeMaxMs: config.int('replica.lag.time.max.ms'),
      }),
      connect: (leaderId) => {
        const peer = this.liveBrokers().find((b) => b.nodeId === leaderId);
        if (!peer) return Promise.reject(new KafkaError(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${leaderId} is not live`));
        return this.interBroker.openDedicated(peer, `tributary-replica-fetcher-${this.nodeId}`, config.int('replica.socket.timeout.ms'));
      },
      proposeIsr: (p, isr) => this.proposeIsr(p, isr),
      hostedPartitions: () => this.hostedPartitions(),
    });
  }

  private *hostedPartitions(): Iterable<Partition> {
    for (const t of this.topics.values()) for (const p of t.partitions) if (p) yield p;
  }

  /**
   * A leader's ISR change (Kafka's AlterPartition): written only if the metadata still shows the
   * partition as this broker saw it (same leader epoch and partition epoch), guarded in etcd by
   * that record's revision and by this broker's registration.
   */
  private async proposeIsr(p: Partition, isr: number[]): Promise<boolean> {
    const store = this.cluster?.store;
    if (!store || this.stopped) return false;
    const record = store.topic(p.topicName);
    if (!record || record.id !== p.topic.id) return false;
    const s = record.assignments?.[p.index];
    const modRevision = store.partitionRevision(record.id, p.index);
    if (!s || !modRevision || s.leader !== this.nodeId || s.leaderEpoch !== p.leaderEpoch || s.partitionEpoch !== p.partitionEpoch) return false;
    // Only registered brokers join an ISR (KRaft refuses fenced ones): a restarted broker may
    // fetch before its registration is in, and the controller would drop it again at once. Nor
    // does one in controlled shutdown (Kafka's isReplicaIsrEligible): it left its ISRs and keeps
    // fetching until it stops; added back, it is in the ISR when it goes, and acks=all writes
    // wait for it until the controller sees its registration gone.
    const eligible = this.eligibleBrokers(store);
    const joining = isr.filter((r) => !s.isr.includes(r));
    if (joining.some((r) => !eligible.has(r))) return false;
    // Judged from this view, which may lag behind etcd: the write also requires each joining
    // broker's registration to be the one judged (KRaft's controller checks its own current
    // state, INELIGIBLE_REPLICA). One that entered controlled shutdown or registered again
    // meanwhile fails it; the proposal is dropped and the next fetch judges again from a newer view.
    const registrations = joining.map((r) => ({ nodeId: r, modRevision: store.brokerRevision(r) ?? '0' }));
    const state: PartitionState = { ...s, isr: [...isr], partitionEpoch: s.partitionEpoch + 1 };
    const ok = await store.writeOwnPartitionStates(this.nodeId, [{ topicId: record.id, index: p.index, state, modRevision }], registrations);
    const change = isr.length < s.isr.length ? 'shrink' : 'expand';
    if (ok) {
      (change === 'shrink' ? this.metrics.isrShrinks : this.metrics.isrExpands).inc();
      this.logger.info({ topic: p.topicName, partition: p.index, from: s.isr, to: isr, partitionEpoch: state.partitionEpoch }, `replication: ISR ${change}`);
    }
    return ok;
  }

  /**
   * The brokers that may join an ISR or take over a leadership: registered (not fenced) and not
   * in controlled shutdown (Kafka's isReplicaIsrEligible and isAcceptableLeader), decided as the
   * controller's elections decide it (brokersOf).
   */
  private eligibleBrokers(store: EtcdMetadataStore): ReadonlySet<number> {
    return brokersOf(store.liveBrokers()).eligible;
  }

  get clusterId(): string {
    return this.metadata.clusterId;
  }

  /**
   * Cluster mode: registers this broker (a live duplicate node.id makes start fail), starts
   * campaigning for controller, and from now on applies the metadata others write.
   */
  private async joinCluster(store: EtcdMetadataStore, self: { nodeId: number; host: string; port: number; rack: string | null; incarnationId: string }): Promise<void> {
    const ttlSeconds = Math.max(2, Math.ceil(this.config.int('broker.session.timeout.ms') / 1000));
    const { Controller } = await import('../cluster/controller.js');
    const controller = new Controller(
      store,
      this.nodeId,
      ttlSeconds,
      this.logger,
      (t) => {
        const override = t.configs['unclean.leader.election.enable'];
        return override !== undefined ? override.trim().toLowerCase() === 'true' : this.config.bool('unclean.leader.election.enable');
      },
      {
        clock: this.clock,
        rebalance: () => ({
          enabled: this.config.bool('auto.leader.rebalance.enable'),
          intervalMs: this.config.int('leader.imbalance.check.interval.seconds') * 1000,
          percentage: this.config.int('leader.imbalance.per.broker.percentage'),
        }),
      },
    );
    this.cluster = { store, controller };
    store.onChange((change) => this.onMetadataChange(change));
    store.on('lease-lost', () => this.logger.warn('cluster: lost the etcd lease; no longer acting as leader of any partition until registered again'));
    store.on('lease-renewed', () => this.logger.info('cluster: registered again in etcd'));
    await store.register(self, ttlSeconds);
    controller.start();
    this.replication?.start();
    // Topics created or changed while this broker was starting.
    // A failure is logged by enqueueReconcile; the promise would otherwise reject unhandled.
    for (const t of store.topics()) this.enqueueReconcile(t.name).catch(() => undefined);
    this.reconciling = this.reconciling.then(() => this.deleteStrayLogs()).catch((err: unknown) => this.logger.warn({ err }, 'cluster: could not delete stray logs'));
    this.logger.info({ nodeId: this.nodeId, brokers: store.liveBrokers().map((b) => b.nodeId), controller: store.controllerId() }, 'cluster: joined');
  }

  /** Waits (bounded) until this broker's watched view of the metadata shows its own write. */
  private async metadataShows(cond: () => boolean): Promise<void> {
    const deadline = this.clock.now() + 10_000;
    while (!cond()) {
      if (this.clock.now() > deadline) throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'The metadata change was written but this broker has not seen it yet; retry');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private onMetadataChange(change: MetadataChange): void {
    if (change.kind === 'topic') this.enqueueReconcile(change.name).catch(() => undefined);
    else if (change.kind === 'configs') {
      this.config.replaceDynamic(this.metadata.dynamicBrokerConfigs('default'), 'default');
      this.config.replaceDynamic(this.metadata.dynamicBrokerConfigs(this.nodeId), 'broker');
      this.applyLogLevel();
      const dynamic = { ...this.metadata.dynamicBrokerConfigs('default'), ...this.metadata.dynamicBrokerConfigs(this.nodeId) };
      try {
        if (Object.keys(dynamic).some((k) => k.startsWith('ssl.'))) this.reloadTlsListeners();
      } catch (err) {
        this.logger.error({ err }, 'cannot reload TLS key material from the dynamic configs; the listeners keep the previous one');
      }
      for (const t of this.topics.values()) this.applyTopicConfigs(t);
    } else if (change.kind === 'quotas') this.quotas.setQuotas(this.metadata.clientQuotas());
    else if (change.kind === 'client-metrics') this.loadClientMetrics();
    else if (change.kind === 'group-configs') this.groupConfigCache = null;
  }

  private enqueueReconcile(name: string): Promise<void> {
    const run = this.reconciling.then(() => this.reconcileTopic(name));
    this.reconciling = run.catch((err: unknown) => this.logger.error({ err, topic: name }, 'cluster: applying a metadata change failed'));
    return run;
  }

  /**
   * Makes the local state of one topic what the metadata says: opens the logs of partitions this
   * broker hosts (a replica), closes and deletes those of a deleted topic, applies configs and
   * leader epochs. Metadata is written first, logs follow.
   */
  private async reconcileTopic(name: string): Promise<void> {
    if (this.stopped) return;
    const record = this.metadata.topic(name);
    const local = this.topics.get(name);
    if (local && (!record || record.id !== local.id)) await this.dropLocalTopic(local);
    if (!record) return;
    const current = this.topics.get(name);
    if (!current) {
      await this.loadTopic(record);
      return;
    }
    const states = partitionStates(record, this.nodeId);
    if (JSON.stringify(current.overrides) !== JSON.stringify(record.configs)) {
      current.overrides = record.configs;
      this.applyTopicConfigs(current);
    }
    const logConfig = Broker.logConfig(current.configs);
    for (let p = 0; p < states.length; p++) {
      const s = states[p]!;
      const hosted = current.partitions[p];
      if (!hosted && s.replicas.includes(this.nodeId) && !this.offlineReplicas.has(offlineReplicaKey(record.id, p))) {
        current.partitions[p] = this.newPartition(current, p, await this.logs.openLog(name, p, logConfig), s);
      } else if (hosted && !s.replicas.includes(this.nodeId)) {
        await this.dropLocalPartition(current, hosted, s);
      } else if (hosted && (hosted.leaderEpoch !== s.leaderEpoch || hosted.partitionEpoch !== s.partitionEpoch)) {
        this.applyPartitionState(hosted, s);
      }
    }
    if (current.partitions.length < states.length) current.partitions.length = states.length;
  }

  private async dropLocalTopic(t: TopicState): Promise<void> {
    this.topics.delete(t.name);
    this.topicsById.delete(t.id);
    this.metrics.removeTopic(t.name);
    for (const p of t.partitions) {
      if (!p) continue;
      this.replication?.remove(p);
      p.notifyDataAvailable();
      await this.logs.deleteLog(t.name, p.index);
    }
    this.logger.info({ topic: t.name, topicId: t.id }, 'topic deleted');
  }

  /**
   * A reassignment moved this replica away: it stops leading (announced to the coordinators),
   * stops fetching, and its log is deleted. The leader no longer counts it (it is out of the
   * replicas) and refuses its fetches.
   */
  private async dropLocalPartition(t: TopicState, p: Partition, s: PartitionState): Promise<void> {
    this.applyPartitionState(p, s);
    this.replication?.remove(p);
    // A hole, as loadTopic leaves for partitions hosted elsewhere.
    t.partitions[p.index] = undefined as unknown as Partition;
    p.notifyDataAvailable();
    await this.logs.deleteLog(t.name, p.index);
    this.logger.info({ topic: t.name, partition: p.index, replicas: s.replicas }, 'cluster: replica reassigned away; its log is deleted');
  }

  /**
   * Deletes the logs of partitions of existing topics that are no longer assigned here (a
   * reassignment completed while this broker was down). Logs of topics unknown to the metadata
   * are left alone.
   */
  private async deleteStrayLogs(): Promise<void> {
    for (const dir of await this.logs.partitionDirs()) {
      const record = this.metadata.topic(dir.topic);
      const s = record ? partitionStates(record, this.nodeId)[dir.partition] : undefined;
      const local = this.topics.get(dir.topic);
      if (!record || !s || s.replicas.includes(this.nodeId) || local?.partitions[dir.partition]) continue;
      await this.logs.deleteLog(dir.topic, dir.partition);
      this.logger.info({ topic: dir.topic, partition: dir.partition }, 'cluster: deleted the log of a partition no longer assigned here');
    }
  }

  private newPartition(t: TopicState, index: number, log: Awaited<ReturnType<LogDirs['openLog']>>, s: PartitionState | undefined): Partition {
    const p = this.watchPartition(new Partition(t, index, log, this.nodeId, s ? toAssignment(s) : undefined));
    this.replication?.apply(p);
    if (p.isLeader) queueMicrotask(() => this.emitLeadership(p));
    return p;
  }

  private watchPartition(p: Partition): Partition {
    p.onStorageError = (failed) => {
      const dir = this.logs.dirOf(failed.topicName, failed.index);
      if (dir) void this.checkLogDir(dir);
    };
    return p;
  }

  /** Starts the periodic probe of the log directories (only with several: one cannot fail over). */
  private startLogDirProbe(): void {
    if (this.logs.dirs.length < 2) return;
    this.logDirProbe = setInterval(() => {
      for (const d of this.logs.dirs) if (this.logs.offlineReason(d) === undefined) void this.checkLogDir(d);
    }, this.config.int('replica.high.watermark.checkpoint.interval.ms'));
    this.logDirProbe.unref();
  }

  /**
   * Checks that a log directory still works (a probe file written and fsynced), after a storage
   * error of one of its logs or periodically; one that fails goes offline (KIP-112), unless it
   * is the last one working: then its partitions keep answering KAFKA_STORAGE_ERROR per write
   * and recover when the disk does (a broker with no log directory could serve nothing).
   */
  async checkLogDir(dir: string): Promise<void> {
    if (this.stopped || this.stopping || this.checkingDirs.has(dir) || this.logs.offlineReason(dir) !== undefined) return;
    this.checkingDirs.add(dir);
    try {
      const reason = await LogDirs.probe(dir, true);
      if (!reason || this.stopped || this.stopping) return;
      const online = this.logs.dirs.filter((d) => this.logs.offlineReason(d) === undefined);
      if (online.length <= 1) {
        this.logger.error({ logDir: dir, reason }, 'the only working log directory fails; it stays in use');
        return;
      }
      await this.takeLogDirOffline(dir, reason);
    } catch (err) {
      this.logger.error({ err, logDir: dir }, 'taking a failed log directory offline failed');
    } finally {
      this.checkingDirs.delete(dir);
    }
  }

  /**
   * KIP-112: the partitions in a failed log directory go offline on this broker (KAFKA_STORAGE_ERROR,
   * no leading, no fetching), its logs are dropped without writing more, and in a cluster the
   * broker registration lists them so the controller moves leadership to other in-sync replicas
   * and takes this one out of the ISR.
   */
  private async takeLogDirOffline(dir: string, reason: string): Promise<void> {
    const lost: Partition[] = [];
    for (const t of this.topics.values()) for (const p of t.partitions) if (p && this.logs.dirOf(t.name, p.index) === dir) lost.push(p);
    this.logger.error({ logDir: dir, reason, partitions: lost.length }, 'log directory failed; its partitions are offline on this broker');
    for (const p of lost) {
      const wasLeader = p.isLeader;
      p.markOffline(`the log directory ${dir} of ${p.topicName}-${p.index} is offline: ${reason}`);
      this.replication?.remove(p);
      if (wasLeader) {
        const change: LeadershipChange = { topic: p.topicName, partition: p.index, leader: false, leaderEpoch: p.leaderEpoch };
        for (const l of [...this.leadershipListeners]) {
          try {
            l(change);
          } catch (err) {
            this.logger.error({ err, ...change }, 'a leadership listener failed');
          }
        }
      }
    }
    await this.logs.markOffline(dir, reason);
    for (const p of lost) this.offlineReplicas.add(offlineReplicaKey(p.topic.id, p.index));
    const store = this.cluster?.store;
    if (!store) return;
    for (let attempt = 0; attempt < 10 && !this.stopped; attempt++) {
      try {
        if (await store.updateRegistration({ offlineLogDirs: this.logs.offlineDirs, offlineReplicas: [...this.offlineReplicas] })) return;
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'cannot report the offline log directory to the cluster yet; retrying');
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Whether this replica of a partition is offline on broker `nodeId` (a failed log directory, KIP-112). */
  replicaOffline(topicId: string, index: number, nodeId: number): boolean {
    if (!this.cluster) return nodeId === this.nodeId && this.offlineReplicas.has(offlineReplicaKey(topicId, index));
    const b = this.cluster.store.liveBrokers().find((x) => x.nodeId === nodeId);
    return b?.offlineReplicas?.includes(offlineReplicaKey(topicId, index)) ?? false;
  }

  /** A new assignment from the controller (leader, epochs, ISR): the replica façade applies it. */
  private applyPartitionState(p: Partition, s: PartitionState): void {
    const wasLeader = p.isLeader;
    const oldEpoch = p.leaderEpoch;
    p.applyAssignment(toAssignment(s));
    if (p.offlineReason === null) this.replication?.apply(p);
    if (p.isLeader !== wasLeader || (p.isLeader && p.leaderEpoch !== oldEpoch)) this.emitLeadership(p);
  }

  /**
   * Calls `listener` each time a hosted partition starts leading (a new leader epoch) or stops
   * leading: the coordinators load and unload their internal partitions from it. Returns a
   * function that stops the calls. Partitions this broker leads when it starts are announced
   * as they are opened.
   */
  onLeadershipChange(listener: (change: LeadershipChange) => void): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  private emitLeadership(p: Partition): void {
    const change: LeadershipChange = { topic: p.topicName, partition: p.index, leader: p.isLeader, leaderEpoch: p.leaderEpoch };
    for (const l of [...this.leadershipListeners]) {
      try {
        l(change);
      } catch (err) {
        this.logger.error({ err, ...change }, 'a leadership listener failed');
      }
    }
  }

  /** Partition states of a topic: from the cluster metadata, or this node alone in single-node mode. */
  partitionStates(t: TopicState): PartitionState[] {
    const record = this.cluster ? this.metadata.topic(t.name) : undefined;
    if (record && record.id === t.id) return partitionStates(record, this.nodeId);
    // A replica in a failed log directory leaves its partition without a leader, as KRaft's controller decides.
    return t.partitions.map((p) => ({
      replicas: [...p.replicas],
      leader: p.offlineReason !== null ? -1 : p.leaderId,
      leaderEpoch: p.leaderEpoch,
      isr: [...p.isr],
      partitionEpoch: p.partitionEpoch,
    }));
  }

  /**
   * Live brokers: the registrations (cluster) or this broker. With a listener name, their
   * addresses on that listener, as Kafka answers a client with the endpoints of the listener it
   * connected to (brokers without that listener are left out); without, the inter-broker ones.
   */
  liveBrokers(listener?: string): BrokerEndpoint[] {
    const rack = this.config.str('broker.rack') ?? null;
    if (!this.cluster) {
      const ep = (listener !== undefined ? this.advertisedEndpoints.get(listener) : undefined) ?? this.advertised;
      return [{ nodeId: this.nodeId, host: ep.host, port: ep.port, rack }];
    }
    const out: BrokerEndpoint[] = [];
    for (const b of this.cluster.store.liveBrokers()) {
      if (listener === undefined || !b.endpoints) {
        out.push({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
        continue;
      }
      const ep = b.endpoints.find((e) => e.listener === listener);
      if (ep) out.push({ nodeId: b.nodeId, host: ep.host, port: ep.port, rack: b.rack });
    }
    return out;
  }

  /**
   * How this broker connects to another broker's inter-broker listener (TLS material, SASL
   * mechanism and the broker's own credentials): pass as `security` to `Connection.connect`.
   */
  interBrokerSecurity(): ClientSecurity {
    return this.security.interBrokerClientSecurity();
  }

  /**
   * KIP-951: who leads a partition now, for a NOT_LEADER_OR_FOLLOWER answer, and that broker's
   * endpoint (null when offline or unknown), so the client need not refresh its metadata first.
   */
  currentLeader(
    topic: string,
    index: number,
    /** The listener the asking client connected to (its endpoints are the ones answered). */
    listener?: string,
  ): { leaderId: number; leaderEpoch: number; endpoint: BrokerEndpoint | null } | null {
    const t = this.topics.get(topic);
    const s = t ? this.partitionStates(t)[index] : undefined;
    if (!s) return null;
    const endpoint = this.liveBrokers(listener).find((b) => b.nodeId === s.leader) ?? null;
    return { leaderId: s.leader, leaderEpoch: s.leaderEpoch, endpoint };
  }

  /**
   * KIP-392, on a leader: the in-sync follower a consumer in `rack` should fetch from, or -1
   * (this leader) — RackAwareReplicaSelector: the leader when it is in that rack, otherwise the
   * first in-sync follower there.
   */
  preferredReadReplica(p: Partition, rack: string): number {
    if (!rack || !this.cluster || !this.config.str('replica.selector.class')) return -1;
    const racks = new Map(this.liveBrokers().map((b) => [b.nodeId, b.rack]));
    if (racks.get(this.nodeId) === rack) return -1;
    return p.isr.find((id) => id !== this.nodeId && racks.get(id) === rack) ?? -1;
  }

  /**
   * KIP-392: a follower replica hosted here that may answer a consumer's fetch (Fetch v11+ carries
   * the client's metadata), up to its own high watermark; undefined when there is none.
   */
  followerForConsumers(topic: string, index: number): Partition | undefined {
    if (!this.cluster) return undefined;
    const p = this.partition(topic, index);
    return p && !p.isLeader && p.leaderId >= 0 && p.replicated ? p : undefined;
  }

  /** The active controller's id (-1 during an election); this broker in single-node mode. */
  controllerId(): number {
    return this.cluster ? this.cluster.store.controllerId() : this.nodeId;
  }

  /**
   * The controller Metadata and DescribeCluster name to clients. Kafka's KRaft brokers name a random
   * live broker (clients never reach the quorum; every broker forwards controller requests); we
   * name the elected controller, whose answers need no forwarding, and during an election this
   * broker rather than -1: a client then sends its admin request here and gets a retriable
   * NOT_CONTROLLER, where -1 made kafkajs's admin fail at once.
   */
  advertisedControllerId(): number {
    const id = this.controllerId();
    return id >= 0 ? id : this.nodeId;
  }

  /**
   * The partition if this broker may serve it as leader now; otherwise the error to answer:
   * UNKNOWN_TOPIC_OR_PARTITION if it does not exist, NOT_LEADER_OR_FOLLOWER if another broker
   * leads it, or this broker's etcd lease is no longer certainly valid (fencing: the controller
   * may already have moved leadership away), LEADER_NOT_AVAILABLE when it is offline.
   */
  leaderPartition(topic: string, index: number): Partition | number {
    const t = this.topics.get(topic);
    if (!t || index < 0 || index >= t.partitions.length) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const p = t.partitions[index];
    // KIP-112: a replica in a failed log directory answers KAFKA_STORAGE_ERROR until the
    // controller has moved its leadership elsewhere.
    if (!this.cluster) return p ? (p.offlineReason !== null ? ErrorCode.KAFKA_STORAGE_ERROR : p) : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    const s = this.partitionStates(t)[index];
    if (!s) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (s.leader === -1) return ErrorCode.LEADER_NOT_AVAILABLE;
    if (s.leader === this.nodeId && p?.offlineReason != null) return ErrorCode.KAFKA_STORAGE_ERROR;
    if (s.leader !== this.nodeId || !p || !this.cluster.store.leaseValid()) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return p;
  }

  /** The bound port of the first listener. */
  get port(): number {
    return this.listeners[0]!.port;
  }

  /** The bound port of a listener, by name (PLAINTEXT, SASL_SSL, ...). */
  listenerPort(name: string): number {
    const l = this.listeners.find((x) => x.name === name.toUpperCase());
    if (!l) throw new Error(`no listener ${name}`);
    return l.port;
  }

  /** Listeners by name: their connection counts and TLS failure counts (tests, metrics). */
  listenerStats(): { name: string; connections: number; tlsFailures: number; rejected: number }[] {
    return this.listeners.map((l) => ({ name: l.name, connections: l.connectionCount, tlsFailures: l.tlsFailures, rejected: l.rejectedConnections }));
  }

  /** Re-reads a TLS listener's key store and trust store (certificate rotation); new connections use them. */
  reloadTls(name: string): void {
    const l = this.listeners.find((x) => x.name === name.toUpperCase());
    if (!l) throw new Error(`no listener ${name}`);
    l.setSecureContext(tlsServerOptions(this.config, l.name));
    this.logger.info({ listener: l.name }, 'TLS key material reloaded');
  }

  /** Open client connections on the Kafka listener. */
  get connectionCount(): number {
    let n = 0;
    for (const l of this.listeners) n += l.connectionCount;
    return n;
  }

  /** Whether stop() was called. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Cluster mode: topics whose local state does not match the metadata yet (the watch's changes
   * not applied: a missing, extra or stale topic, or partitions not opened). Zero in single-node
   * mode. Readiness waits for it to reach zero.
   */
  metadataLag(): number {
    if (!this.cluster) return 0;
    let behind = 0;
    const seen = new Set<string>();
    for (const record of this.metadata.topics()) {
      seen.add(record.name);
      const local = this.topics.get(record.name);
      if (!local || local.id !== record.id || local.partitions.length !== record.partitions) {
        behind++;
        continue;
      }
      const states = partitionStates(record, this.nodeId);
      const hostedHere = (p: number) => local.partitions[p] !== undefined || this.offlineReplicas.has(offlineReplicaKey(record.id, p));
      if (states.some((s, p) => s.replicas.includes(this.nodeId) !== hostedHere(p))) behind++;
    }
    for (const name of this.topics.keys()) if (!seen.has(name)) behind++;
    return behind;
  }

  /** Every TLS listener re-reads its key and trust stores (after a dynamic ssl.* change). */
  private reloadTlsListeners(): void {
    for (const l of this.listeners) if (usesTls(l.securityProtocol as SecurityProtocol)) this.reloadTls(l.name);
  }

  private async listen(requestHandler: RequestHandlerFactory): Promise<void> {
    const maxRequestBytes = this.config.int('socket.request.max.bytes');
    this.requestMemory = new MemoryPool(this.config.int('queued.max.request.bytes'));
    const handler = requestHandler(this);
    const plan = this.security.plan;
    for (const spec of plan.listeners) {
      const listener = new KafkaListener(
        {
          name: spec.name,
          securityProtocol: spec.securityProtocol,
          ...(usesTls(spec.securityProtocol) ? { tls: tlsServerOptions(this.config, spec.name) } : {}),
          host: spec.host,
          port: spec.port,
          idleTimeoutMs: this.config.int('connections.max.idle.ms'),
          requestReadTimeoutMs: this.config.int('socket.request.read.timeout.ms'),
          maxRequestBytes,
          maxInFlight: this.config.int('queued.max.requests'),
          maxPendingWriteBytes: 8 * 1024 * 1024,
          pool: this.requestMemory,
          clock: this.clock,
          connectionQuotas: () => this.connectionQuotas(),
        },
        handler,
        this.logger,
      );
      listener.onConnection = (conn) => this.security.onConnection(conn);
      this.listeners.push(listener);
      await listener.start();
      const endpoint = { ...plan.advertised.get(spec.name)! };
      if (endpoint.port === 0) endpoint.port = listener.port;
      if (endpoint.host === '0.0.0.0' || endpoint.host === '::') endpoint.host = '127.0.0.1';
      this.advertisedEndpoints.set(spec.name, { host: endpoint.host, port: endpoint.port });
      this.logger.info({ listener: spec.name, securityProtocol: spec.securityProtocol, host: spec.host, port: listener.port }, 'listening');
    }
    this.advertised = this.advertisedEndpoints.get(plan.interBroker)!;
  }

  private cachedQuotas: { key: string; value: ConnectionQuotas } | null = null;

  /** The connection limits in force; re-read at each accept so AlterConfigs changes apply at once. */
  private connectionQuotas(): ConnectionQuotas {
    const maxConnections = this.config.int('max.connections');
    const maxPerIp = this.config.int('max.connections.per.ip');
    const overrides = this.config.str('max.connections.per.ip.overrides') ?? '';
    const key = `${maxConnections}|${maxPerIp}|${overrides}`;
    if (this.cachedQuotas?.key !== key) {
      // The registry validated the syntax, so this parse cannot fail.
      this.cachedQuotas = { key, value: { maxConnections, maxPerIp, perIpOverrides: parsePerIpOverrides(overrides) } };
    }
    return this.cachedQuotas.value;
  }

  /** The LogConfig the storage layer needs, from a topic's effective configuration. */
  static logConfig(configs: Map<string, ConfigEntry>): LogConfig {
    const n = (k: string) => toNumber(configs.get(k)!.value!);
    return {
      segmentBytes: n('segment.bytes'),
      segmentMs: n('segment.ms'),
      segmentIndexBytes: n('segment.index.bytes'),
      indexIntervalBytes: n('index.interval.bytes'),
      flushIntervalMessages: n('flush.messages'),
      flushIntervalMs: n('flush.ms'),
      messageTimestampType: configs.get('message.timestamp.type')!.value === 'LogAppendTime' ? 'LogAppendTime' : 'CreateTime',
      retentionMs: n('retention.ms'),
      retentionBytes: n('retention.bytes'),
      cleanupPolicy: (configs.get('cleanup.policy')!.value ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== ''),
      deleteRetentionMs: n('delete.retention.ms'),
      minCompactionLagMs: n('min.compaction.lag.ms'),
      maxCompactionLagMs: n('max.compaction.lag.ms'),
      minCleanableDirtyRatio: n('min.cleanable.dirty.ratio'),
    };
  }

  /** Opens a topic's hosted logs; `existing` at start-up (their replicas should be on disk). */
  private async loadTopic(t: TopicRecord, existing = false): Promise<TopicState> {
    const configs = resolveTopicConfig(this.config, t.configs);
    const state: TopicState = { name: t.name, id: t.id, internal: INTERNAL_TOPICS.has(t.name), overrides: t.configs, configs, partitions: [] };
    const logConfig = Broker.logConfig(configs);
    // Cluster mode: only the partitions with a replica here have a log on this broker; the
    // others are holes in `partitions` (its length is still the partition count).
    const states = this.cluster || this.metadata.clustered ? partitionStates(t, this.nodeId) : null;
    const hosted = states ? states.flatMap((s, p) => (s.replicas.includes(this.nodeId) ? [p] : [])) : Array.from({ length: t.partitions }, (_, p) => p);
    // Opening a log is mostly waiting on the disk (directories, fsynced checkpoints): overlap a
    // bounded number of them so a 10,000-partition topic does not take 10,000 round trips.
    const logs = new Array<Awaited<ReturnType<LogDirs['openLog']>>>(t.partitions);
    let next = 0;
    const worker = async () => {
      while (next < hosted.length) {
        const p = hosted[next++]!;
        try {
          logs[p] = await this.logs.openLog(t.name, p, logConfig, existing);
        } catch (err) {
          // Cluster mode: a replica in a log directory that is offline since start-up (KIP-112)
          // is not hosted; the registration lists it offline, and the controller elects others.
          if (!(states && err instanceof KafkaError && err.code === ErrorCode.KAFKA_STORAGE_ERROR)) throw err;
          this.offlineReplicas.add(offlineReplicaKey(t.id, p));
          this.logger.error({ topic: t.name, partition: p, err: err.message }, 'replica offline: its log directory failed');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, hosted.length) }, worker));
    if (states) {
      state.partitions.length = t.partitions;
      for (const p of hosted) if (logs[p]) state.partitions[p] = this.newPartition(state, p, logs[p], states[p]);
    } else {
      logs.forEach((log, p) => state.partitions.push(this.watchPartition(new Partition(state, p, log, this.nodeId))));
    }
    this.topics.set(t.name, state);
    this.topicsById.set(t.id, state);
    return state;
  }

  /**
   * Refuses a request that would add more than MAX_NEW_PARTITIONS partitions to one topic (a
   * CreateTopics or CreatePartitions asking for 2^31-1 partitions would open logs forever).
   */
  static checkNewPartitionCount(added: number): void {
    if (added > MAX_NEW_PARTITIONS) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Cannot add ${added} partitions in one request: at most ${MAX_NEW_PARTITIONS}.`);
    }
  }

  /** Checks that a topic could be created; throws KafkaError with Kafka's code and message. */
  checkNewTopic(name: string): void {
    const reason = invalidTopicReason(name);
    if (reason) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, reason);
    if (this.topics.has(name) || this.creating.has(name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    const key = collisionKey(name);
    for (const existing of [...this.topics.keys(), ...this.creating]) {
      if (collisionKey(existing) === key) {
        throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${name}' collides with existing topic: ${existing}`);
      }
    }
  }

  /**
   * Creates a topic. Cluster mode: replicas are placed over the live brokers (or as `assignments`
   * says), the metadata is written first (guarded: another broker may win the name), then the
   * logs of the partitions hosted here are opened; other brokers open theirs from the watch.
   */
  async createTopic(
    name: string,
    partitions: number,
    overrides: Record<string, string>,
    placement: { replicationFactor?: number; assignments?: number[][] } = {},
  ): Promise<TopicState> {
    this.checkNewTopic(name);
    const record: TopicRecord = { name, id: randomUUID(), partitions, configs: overrides };
    // Reserve the name before any await so a concurrent creator of the same name is refused.
    this.creating.add(name);
    let state: TopicState;
    try {
      if (this.cluster) {
        record.assignments = this.placeReplicas(partitions, placement, 0, name).map((replicas) => this.initialPartitionState(replicas));
        await this.metadata.createTopic(record);
        await this.metadataShows(() => this.metadata.topic(name)?.id === record.id);
        await this.enqueueReconcile(name);
        const loaded = this.topics.get(name);
        if (!loaded) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${name}' was deleted while it was being created.`);
        state = loaded;
      } else {
        state = await this.loadTopic(record);
        await this.metadata.createTopic(record);
      }
    } finally {
      this.creating.delete(name);
    }
    this.logger.info({ topic: name, partitions, topicId: record.id }, 'topic created');
    return state;
  }

  /**
   * A new partition: every live replica is in sync (all logs are empty), the first live one in
   * the replica order leads, as KRaft's controller does.
   */
  private initialPartitionState(replicas: number[]): PartitionState {
    const live = new Set(this.liveBrokers().map((b) => b.nodeId));
    const isr = replicas.filter((r) => live.has(r));
    if (isr.length === 0) return { replicas, leader: -1, leaderEpoch: 0, isr: [replicas[0]!], partitionEpoch: 0 };
    return { replicas, leader: isr[0]!, leaderEpoch: 0, isr, partitionEpoch: 0 };
  }

  /**
   * default.replication.factor, or for the coordinators' topics their own setting (Kafka's
   * default 3), capped at the live brokers: Kafka would refuse to create them until that many
   * brokers are up; here a single node or a smaller cluster works from the start.
   */
  private defaultReplicationFactor(topic: string | undefined): number {
    if (topic === '__consumer_offsets') return Math.min(this.config.int('offsets.topic.replication.factor'), this.liveBrokers().length);
    if (topic === '__transaction_state') return Math.min(this.config.int('transaction.state.log.replication.factor'), this.liveBrokers().length);
    return this.config.int('default.replication.factor');
  }

  /** Replica lists for new partitions: the manual assignments, or Kafka's placement over the live brokers. */
  private placeReplicas(count: number, placement: { replicationFactor?: number; assignments?: number[][] }, firstPartition: number, topic?: string): number[][] {
    if (placement.assignments) return placement.assignments;
    let rf = placement.replicationFactor ?? this.defaultReplicationFactor(topic);
    // The coordinators' topics are made on first use, maybe before every broker is up.
    if (topic !== undefined && INTERNAL_TOPICS.has(topic)) rf = Math.max(1, Math.min(rf, this.liveBrokers().length));
    return assignReplicas(this.liveBrokers(), count, rf, { firstPartition });
  }

  async deleteTopic(name: string): Promise<void> {
    const t = this.topics.get(name);
    if (!t) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (this.cluster) {
      // Metadata first; every broker (this one included) drops its logs from the watch.
      await this.metadata.deleteTopic(name);
      await this.metadataShows(() => this.metadata.topic(name)?.id !== t.id);
      await this.enqueueReconcile(name);
      return;
    }
    this.topics.delete(name);
    this.topicsById.delete(t.id);
    this.metrics.removeTopic(name);
    await this.metadata.deleteTopic(name);
    await this.groupCoordinator?.deleteTopicOffsets(name);
    for (const p of t.partitions) {
      p.notifyDataAvailable();
      await this.logs.deleteLog(name, p.index);
    }
    this.logger.info({ topic: name, topicId: t.id }, 'topic deleted');
  }

  /** Grows a topic to `count` partitions (Kafka never shrinks one). */
  async addPartitions(name: string, count: number, assignments?: number[][]): Promise<void> {
    // Two concurrent additions would both open the partitions from the same current count and
    // push duplicates: they are queued per topic.
    const run = (this.growing.get(name) ?? Promise.resolve()).then(() => this.addPartitionsNow(name, count, assignments));
    const tail = run.catch(() => undefined);
    this.growing.set(name, tail);
    try {
      await run;
    } finally {
      if (this.growing.get(name) === tail) this.growing.delete(name);
    }
  }

  private async addPartitionsNow(name: string, count: number, assignments?: number[][]): Promise<void> {
    const t = this.topics.get(name);
    if (!t) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (count <= t.partitions.length) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${t.partitions.length} partitions, which is higher than or equal to the requested ${count}.`);
    }
    if (this.cluster) {
      const from = t.partitions.length;
      const rf = this.partitionStates(t)[0]?.replicas.length ?? 1;
      const added = this.placeReplicas(count - from, { replicationFactor: rf, assignments }, from).map((replicas) => this.initialPartitionState(replicas));
      await this.metadata.setPartitionCount(name, count, added);
      await this.metadataShows(() => (this.metadata.topic(name)?.partitions ?? 0) >= count);
      await this.enqueueReconcile(name);
      this.logger.info({ topic: name, partitions: count }, 'partitions added');
      return;
    }
    const logConfig = Broker.logConfig(t.configs);
    const from = t.partitions.length;
    // Overlapped as in loadTopic; the partitions are added in order once all are open.
    const logs = new Array<Awaited<ReturnType<LogDirs['openLog']>>>(count - from);
    let next = 0;
    const worker = async () => {
      while (next < logs.length) {
        const i = next++;
        logs[i] = await this.logs.openLog(name, from + i, logConfig);
      }
    };
    await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, logs.length) }, worker));
    logs.forEach((log, i) => t.partitions.push(this.watchPartition(new Partition(t, from + i, log, this.nodeId))));
    await this.metadata.setPartitionCount(name, t.partitions.length);
    this.logger.info({ topic: name, partitions: t.partitions.length }, 'partitions added');
  }

  /** Replaces a topic's config overrides; takes effect at once and persists. */
  async setTopicOverrides(name: string, overrides: Record<string, string>): Promise<void> {
    const t = this.topics.get(name);
    if (!t) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    if (this.cluster) await this.metadata.setTopicConfigs(name, overrides); // metadata first
    t.overrides = overrides;
    this.applyTopicConfigs(t);
    if (!this.cluster) await this.metadata.setTopicConfigs(name, overrides);
  }

  /**
   * Replaces one level of dynamic broker configs: this broker's own, or the cluster-wide
   * defaults (which every broker applies from the metadata watch). Topic defaults that follow
   * them change too.
   */
  async setDynamicBrokerConfigs(configs: Record<string, string>, level: DynamicLevel = 'broker'): Promise<void> {
    const before = this.config.dynamicConfigs(level);
    this.config.replaceDynamic(configs, level);
    // New TLS key material (certificate rotation): the TLS listeners re-read their stores; a
    // store that cannot be used refuses the change, as Kafka validates it before applying.
    if ([...Object.keys(before), ...Object.keys(configs)].some((k) => k.startsWith('ssl.'))) {
      try {
        this.reloadTlsListeners();
      } catch (err) {
        this.config.replaceDynamic(before, level);
        this.reloadTlsListeners();
        throw new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid TLS key material: ${(err as Error).message}`);
      }
    }
    for (const t of this.topics.values()) this.applyTopicConfigs(t);
    this.applyLogLevel();
    await this.metadata.setDynamicBrokerConfigs(level === 'default' ? 'default' : this.nodeId, configs);
  }

  /**
   * `log.level` is dynamic (IncrementalAlterConfigs on the broker, or the cluster-wide default):
   * the broker's logger takes the effective value, and so do its child loggers (pino children
   * follow their parent's level unless they set their own).
   */
  private applyLogLevel(): void {
    const level = this.config.str('log.level') ?? 'info';
    if (this.logger.level === level) return;
    const from = this.logger.level;
    this.logger.level = level;
    this.logger.info({ from, to: level }, 'log.level changed');
  }

  private applyTopicConfigs(t: TopicState): void {
    t.configs = resolveTopicConfig(this.config, t.overrides);
    const logConfig = Broker.logConfig(t.configs);
    for (const p of t.partitions) p?.updateConfig(logConfig);
  }

  markerRoute(topic: string, index: number): MarkerRoute {
    const p = this.leaderPartition(topic, index);
    if (typeof p !== 'number') return { kind: 'local', partition: p };
    if (p === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return { kind: 'gone' };
    const leader = this.partitionStates(this.topics.get(topic)!)[index]!.leader;
    if (leader < 0) return { kind: 'unavailable', reason: 'the partition is offline' };
    if (leader === this.nodeId) return { kind: 'unavailable', reason: 'this broker cannot act as leader until its etcd lease is renewed' };
    return { kind: 'remote', nodeId: leader };
  }

  async writeRemoteMarkers(nodeId: number, marker: MarkerWrite, topics: ReadonlyMap<string, number[]>): Promise<void> {
    const peer = this.liveBrokers().find((b) => b.nodeId === nodeId);
    if (!peer) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${nodeId} is not live`);
    await this.interBroker.writeTxnMarkers(peer, { ...marker, topics: new Map(topics) });
  }

  /** Cluster mode: the live broker leading __transaction_state partition `index` (its inter-broker address), or null. */
  transactionCoordinatorNode(index: number): { nodeId: number; host: string; port: number } | null {
    const t = this.topics.get(TRANSACTION_STATE_TOPIC);
    const s = t ? this.partitionStates(t)[index] : undefined;
    if (!s || s.leader < 0) return null;
    return this.liveBrokers().find((b) => b.nodeId === s.leader) ?? null;
  }

  /** Whether the partition exists in the cluster (hosted here or not). */
  partitionExists(topic: string, index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < (this.topics.get(topic)?.partitions.length ?? 0);
  }

  /** A producer id never handed out before, from the metadata store's reserved blocks. */
  /** The finalized transaction.version (kafka-features.sh), which the transaction coordinator follows. */
  transactionVersion(): number {
    return finalizedLevel(this.metadata, TRANSACTION_VERSION_FEATURE);
  }

  nextProducerId(): Promise<number> {
    return this.metadata.nextProducerId();
  }

  partition(topic: string, index: number): Partition | undefined {
    return this.topics.get(topic)?.partitions[index];
  }

  /**
   * Cluster mode, before a clean stop (SIGTERM): hands leadership of every partition this broker
   * leads to another live in-sync replica and leaves every ISR, so producers and followers move
   * on at once instead of after broker.session.timeout.ms (Kafka's controlled shutdown). A
   * partition with no other live in-sync replica keeps this leader until the lease runs out.
   * Bounded: controlled.shutdown.max.retries attempts, each write guarded like an ISR change.
   */
  private async controlledShutdown(): Promise<void> {
    const store = this.cluster?.store;
    if (!store || !this.config.bool('controlled.shutdown.enable')) return;
    const retries = this.config.int('controlled.shutdown.max.retries');
    const backoffMs = this.config.int('controlled.shutdown.retry.backoff.ms');
    // First said in the registration, so that leaders, which see it before the ISR changes below
    // (one ordered watch), do not add this broker back while its fetchers still run.
    try {
      if (!(await store.updateRegistration({ inControlledShutdown: true }))) this.logger.warn('controlled shutdown: could not mark the registration');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'controlled shutdown: could not mark the registration');
    }
    for (let attempt = 0; attempt <= retries; attempt++) {
      // Brokers stopping at the same time pass nothing on to each other.
      const eligible = this.eligibleBrokers(store);
      const updates: { topicId: string; index: number; state: PartitionState; modRevision: string }[] = [];
      let remaining = 0;
      for (const t of store.topics()) {
        (t.assignments ?? []).forEach((s, index) => {
          const change = controlledShutdownChange(s, this.nodeId, eligible);
          if (change === null) return;
          const modRevision = store.partitionRevision(t.id, index);
          if (change === 'stays' || !modRevision) {
            if (s.leader === this.nodeId) remaining++;
            return;
          }
          updates.push({ topicId: t.id, index, modRevision, state: change });
        });
      }
      if (updates.length === 0) {
        this.logger.info({ stillLeading: remaining }, 'controlled shutdown: done');
        return;
      }
      try {
        if (await store.writeOwnPartitionStates(this.nodeId, updates)) {
          // Apply it here too, so appends still waiting are answered NOT_LEADER_OR_FOLLOWER now.
          await this.metadataShows(() => updates.every((u) => store.partitionRevision(u.topicId, u.index) !== u.modRevision)).catch(() => undefined);
          for (const u of updates) {
            const name = store.topicById(u.topicId)?.name;
            if (name) await this.enqueueReconcile(name).catch(() => undefined);
          }
          this.logger.info({ partitions: updates.length, stillLeading: remaining }, 'controlled shutdown: leadership moved and ISRs left');
          return;
        }
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'controlled shutdown: write failed');
      }
      if (attempt < retries) await new Promise((resolve) => setTimeout(resolve, Math.min(backoffMs, 1000)));
    }
    this.logger.warn('controlled shutdown: gave up; partitions move when this broker leaves the cluster');
  }

  async stop(): Promise<void> {
    if (this.stopped || this.stopping) return;
    this.stopping = true;
    try {
      await this.controlledShutdown();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'controlled shutdown failed');
    }
    this.stopped = true;
    if (this.logDirProbe) clearInterval(this.logDirProbe);
    this.security.close();
    this.transactionCoordinator?.shutdown();
    this.groupCoordinator?.shutdown();
    this.shares?.shutdown();
    await this.cluster?.controller.stop();
    await this.replication?.stop();
    await this.logDirMover.stop();
    this.interBroker.close();
    for (const l of this.listeners) await l.stop();
    await this.reconciling;
    // Leaves the cluster at once (lease revoked) instead of after broker.session.timeout.ms.
    await this.metadata.close();
    await this.logs.close();
    this.logger.info('broker stopped');
    await new Promise<void>((resolve) => this.logger.flush(() => resolve()));
  }
}
