// Admin operations over the Kafka protocol: topics, partitions, configs, offsets and consumer
// groups. Each method builds the request body for the version the connection negotiated, and
// turns per-resource error codes into KafkaClientErrors.
import {
  ApiKey,
  type AlterConfigsResponse,
  type CreatePartitionsResponse,
  type CreateTopicsResponse,
  type DeleteGroupsResponse,
  type DeleteTopicsResponse,
  type DescribeConfigsResponse,
  type ConsumerGroupDescribeResponse,
  type StreamsGroupDescribeResponse,
  type DescribeGroupsResponse,
  type DescribeProducersResponse,
  type DescribeTransactionsResponse,
  type FindCoordinatorResponse,
  type IncrementalAlterConfigsResponse,
  type ListGroupsResponse,
  type ListOffsetsResponse,
  type ListTransactionsResponse,
  type WriteTxnMarkersResponse,
  type AlterPartitionReassignmentsResponse,
  type AlterReplicaLogDirsResponse,
  type DescribeLogDirsResponse,
  type ElectLeadersResponse,
  type ListPartitionReassignmentsResponse,
  type OffsetCommitResponse,
  type OffsetFetchResponse,
  type AlterShareGroupOffsetsResponse,
  type DescribeShareGroupOffsetsResponse,
  type ShareGroupDescribeResponse,
  type CreateDelegationTokenResponse,
  type DescribeDelegationTokenResponse,
  type ExpireDelegationTokenResponse,
  type RenewDelegationTokenResponse,
} from '../protocol/generated/index.js';
import { errorName } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { configSourceName } from '../protocol/config-sources.js';
import { decodeConsumerAssignment } from '../protocol/consumer-protocol.js';
import { Cluster, type ClusterOptions, type TopicInfo } from './cluster.js';
import type { Connection } from './connection.js';
import { KafkaClientError, malformedConsumerProtocol, throwIfError } from './errors.js';

export const ConfigResourceType = { topic: 2, broker: 4, brokerLogger: 8, group: 32 } as const;
export type ConfigResourceKind = keyof typeof ConfigResourceType;

export interface NewTopic {
  name: string;
  /** -1 (default) lets the broker pick num.partitions. */
  partitions?: number;
  /** -1 (default) lets the broker pick default.replication.factor. */
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface ConfigEntry {
  name: string;
  value: string | null;
  source: string;
  readOnly: boolean;
  isSensitive: boolean;
  synonyms: Array<{ name: string; value: string | null; source: string }>;
}

export interface ConfigResource {
  type: ConfigResourceKind;
  name: string;
}

export interface ConfigAlteration {
  /** Keys to set. */
  set?: Record<string, string>;
  /** Keys to remove (back to their default). */
  delete?: string[];
}

/** 'earliest', 'latest', or a timestamp in ms (the first offset whose timestamp is >= it). */
export type OffsetSpec = 'earliest' | 'latest' | 'max-timestamp' | number;

export interface PartitionOffset {
  partition: number;
  /** -1 when no record has a timestamp >= the requested one. */
  offset: number;
  timestamp: number;
}

export interface GroupListing {
  groupId: string;
  protocolType: string;
  state: string;
  /** classic, consumer (KIP-848), share, streams: ListGroups v5+, else classic. */
  type: string;
}

/**
 * Whether Kafka's admin client lists `g` as a consumer group (ListGroupsOptions.forConsumerGroups:
 * types classic and consumer, protocol types `consumer` and none). A classic group has no protocol
 * type while it is Empty and was never joined, e.g. one known only by the offsets a consumer with
 * assigned partitions committed: a consumer group too. A Connect workers' group (`connect`) or
 * any other classic protocol is not, nor are share and streams groups.
 */
export function isConsumerGroupListing(g: GroupListing): boolean {
  return (g.type === 'classic' || g.type === 'consumer') && (g.protocolType === '' || g.protocolType === 'consumer');
}

export interface GroupMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  /** Topic-partitions assigned, decoded from the consumer protocol assignment when possible. */
  assignment: Array<{ topic: string; partitions: number[] }>;
  /** A streams group member's standby (and warm-up) tasks, as the topic-partitions they read. */
  standbyAssignment?: Array<{ topic: string; partitions: number[] }>;
}

export interface ShareGroupInfo {
  groupId: string;
  state: string;
  groupEpoch: number;
  assignor: string;
  members: {
    memberId: string;
    memberEpoch: number;
    clientId: string;
    clientHost: string;
    subscribedTopics: string[];
    assignment: { topic: string; partitions: number[] }[];
  }[];
}

export interface ShareGroupOffset {
  topic: string;
  partition: number;
  startOffset: number;
  /** Records past the start offset not yet acknowledged or archived; -1 when unknown. */
  lag: number;
}

export interface GroupDescription {
  groupId: string;
  /**
   * classic, consumer for a KIP-848 group (described with ConsumerGroupDescribe), or streams for
   * a KIP-1071 group (StreamsGroupDescribe).
   */
  type: string;
  state: string;
  protocolType: string;
  /** The classic protocol, or a consumer group's server-side assignor. */
  protocol: string;
  members: GroupMember[];
}

export interface TransactionListing {
  transactionalId: string;
  producerId: number;
  state: string;
}

export interface TransactionDescription {
  transactionalId: string;
  state: string;
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  /** When the ongoing transaction started (ms), or -1. */
  startTimeMs: number;
  partitions: Array<{ topic: string; partitions: number[] }>;
}

export interface ProducerState {
  producerId: number;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: number;
  coordinatorEpoch: number;
  /** First offset of the producer's open transaction in the partition, or -1. */
  currentTxnStartOffset: number;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  metadata: string | null;
}

const SPEC_TIMESTAMP: Record<string, number> = { earliest: -2, latest: -1, 'max-timestamp': -3 };

/** One partition's answer to an election or reassignment: error null on success. */
export interface PartitionOutcome {
  topic: string;
  partition: number;
  error: string | null;
  message: string | null;
}

export interface ReassignmentInProgress {
  topic: string;
  partition: number;
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

/** A delegation token (KIP-48) as CreateDelegationToken/DescribeDelegationToken describe it; principals are `Type:name`. */
export interface DelegationToken {
  tokenId: string;
  /** Empty in a DescribeDelegationToken answer (Kafka shows the HMAC only to its owner and renewers, and always on create). */
  hmac: Buffer;
  owner: string;
  requester: string;
  renewers: string[];
  issueTimestampMs: number;
  expiryTimestampMs: number;
  maxTimestampMs: number;
}

/** "User:alice" → { principalType: 'User', principalName: 'alice' }. */
function principalParts(principal: string): { principalType: string; principalName: string } {
  const i = principal.indexOf(':');
  if (i <= 0) throw new KafkaClientError('INVALID_PRINCIPAL', `"${principal}" is not a principal of the form Type:name (e.g. User:alice)`, -1);
  return { principalType: principal.slice(0, i), principalName: principal.slice(i + 1) };
}

export class Admin {
  readonly cluster: Cluster;
  private readonly ownsCluster: boolean;

  constructor(clusterOrOptions: Cluster | ClusterOptions) {
    this.ownsCluster = !(clusterOrOptions instanceof Cluster);
    this.cluster = clusterOrOptions instanceof Cluster ? clusterOrOptions : new Cluster(clusterOrOptions);
  }

  async close(): Promise<void> {
    if (this.ownsCluster) await this.cluster.close();
  }

  // ---- topics ----

  async listTopics(opts: { includeInternal?: boolean } = {}): Promise<string[]> {
    await this.cluster.refreshMetadata(null);
    return [...this.cluster.topics.values()]
      .filter((t) => opts.includeInternal || !t.isInternal)
      .map((t) => t.name)
      .sort();
  }

  /** Partitions, leaders, replicas and ISR of the named topics (all topics when none are named). */
  async describeTopics(names?: string[]): Promise<TopicInfo[]> {
    if (!names || names.length === 0) {
      await this.cluster.refreshMetadata(null);
      return [...this.cluster.topics.values()].sort((a, b) => a.name.localeCompare(b.name));
    }
    const res = await this.cluster.refreshMetadata(names);
    for (const t of res.topics) {
      if (t.errorCode !== 0) {
        const type = errorName(t.errorCode);
        throw new KafkaClientError(type, type === 'UNKNOWN_TOPIC_OR_PARTITION' ? `topic "${t.name}" does not exist` : `topic "${t.name}"`, t.errorCode);
      }
    }
    return names.map((n) => {
      const t = this.cluster.topics.get(n);
      if (!t) throw new KafkaClientError('UNKNOWN_TOPIC_OR_PARTITION', `topic "${n}" does not exist`);
      return t;
    });
  }

  async createTopics(topics: NewTopic[], opts: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const conn = await this.cluster.controllerConnection();
    const res = await conn.request<CreateTopicsResponse>(ApiKey.CreateTopics, {
      topics: topics.map((t) => ({
        name: t.name,
        numPartitions: t.partitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
        assignments: [],
        configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs: opts.timeoutMs ?? 30_000,
      validateOnly: opts.validateOnly ?? false,
    });
    for (const r of res.topics) throwIfError(r.errorCode, r.errorMessage, `topic "${r.name}"`);
  }

  async deleteTopics(names: string[], opts: { timeoutMs?: number } = {}): Promise<void> {
    const conn = await this.cluster.controllerConnection();
    const res = await conn.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, (v: number) => ({
      topics: v >= 6 ? names.map((name) => ({ name, topicId: ZERO_UUID })) : [],
      topicNames: v >= 6 ? [] : names,
      timeoutMs: opts.timeoutMs ?? 30_000,
    }));
    for (const r of res.responses) throwIfError(r.errorCode, r.errorMessage, `topic "${r.name}"`);
    for (const n of names) this.cluster.topics.delete(n);
  }

  /** Raises a topic's partition count to `count`. */
  async createPartitions(topic: string, count: number, opts: { validateOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const conn = await this.cluster.controllerConnection();
    const res = await conn.request<CreatePartitionsResponse>(ApiKey.CreatePartitions, {
      topics: [{ name: topic, count, assignments: null }],
      timeoutMs: opts.timeoutMs ?? 30_000,
      validateOnly: opts.validateOnly ?? false,
    });
    for (const r of res.results) throwIfError(r.errorCode, r.errorMessage, `topic "${r.name}"`);
    this.cluster.topics.delete(topic);
  }

  // ---- configs ----

  private async configConnection(resource: ConfigResource): Promise<Connection> {
    // Broker configs must go to that broker; topic configs to any (the controller, when known).
    if (resource.type === 'broker' && resource.name !== '') return this.cluster.brokerConnection(Number(resource.name));
    return this.cluster.controllerConnection();
  }

  async describeConfigs(resource: ConfigResource, keys?: string[]): Promise<ConfigEntry[]> {
    const conn = await this.configConnection(resource);
    const res = await conn.request<DescribeConfigsResponse>(ApiKey.DescribeConfigs, {
      resources: [{ resourceType: ConfigResourceType[resource.type], resourceName: resource.name, configurationKeys: keys && keys.length > 0 ? keys : null }],
      includeSynonyms: true,
      includeDocumentation: false,
    });
    const r = res.results[0];
    if (!r) throw new KafkaClientError('UNKNOWN_SERVER_ERROR', 'DescribeConfigs returned no result');
    throwIfError(r.errorCode, r.errorMessage, `${resource.type} "${resource.name}"`);
    return r.configs
      .map((c) => ({
        name: c.name,
        value: c.value,
        source: configSourceName(c.configSource),
        readOnly: c.readOnly,
        isSensitive: c.isSensitive,
        synonyms: c.synonyms.map((s) => ({ name: s.name, value: s.value, source: configSourceName(s.source) })),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Sets and deletes config keys. Uses IncrementalAlterConfigs; a broker without it gets
   * AlterConfigs with the resource's current dynamic values merged with the change (AlterConfigs
   * replaces the whole set, so it must carry what is already there).
   */
  async alterConfigs(resource: ConfigResource, change: ConfigAlteration, opts: { validateOnly?: boolean } = {}): Promise<void> {
    const conn = await this.configConnection(resource);
    const resourceType = ConfigResourceType[resource.type];
    const set = change.set ?? {};
    const del = change.delete ?? [];
    if (conn.supports(ApiKey.IncrementalAlterConfigs)) {
      const res = await conn.request<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, {
        resources: [
          {
            resourceType,
            resourceName: resource.name,
            configs: [...Object.entries(set).map(([name, value]) => ({ name, configOperation: 0, value })), ...del.map((name) => ({ name, configOperation: 1, value: null }))],
          },
        ],
        validateOnly: opts.validateOnly ?? false,
      });
      for (const r of res.responses) throwIfError(r.errorCode, r.errorMessage, `${resource.type} "${resource.name}"`);
      return;
    }
    const dynamicSource = resource.type === 'topic' ? 'DYNAMIC_TOPIC_CONFIG' : 'DYNAMIC_BROKER_CONFIG';
    const current = await this.describeConfigs(resource);
    const merged = new Map<string, string | null>();
    for (const c of current) if (c.source === dynamicSource && !c.isSensitive) merged.set(c.name, c.value);
    for (const [k, v] of Object.entries(set)) merged.set(k, v);
    for (const k of del) merged.delete(k);
    const res = await conn.request<AlterConfigsResponse>(ApiKey.AlterConfigs, {
      resources: [{ resourceType, resourceName: resource.name, configs: [...merged].map(([name, value]) => ({ name, value })) }],
      validateOnly: opts.validateOnly ?? false,
    });
    for (const r of res.responses) throwIfError(r.errorCode, r.errorMessage, `${resource.type} "${resource.name}"`);
  }

  // ---- offsets ----

  /** Offsets of a topic's partitions (all partitions when none are named) for a spec. */
  async listOffsets(topic: string, spec: OffsetSpec, partitions?: number[]): Promise<PartitionOffset[]> {
    return this.cluster.withRetry(async () => {
      const info = await this.cluster.topic(topic);
      const wanted = partitions ?? info.partitions.map((p) => p.partition);
      const byLeader = new Map<number, number[]>();
      for (const p of wanted) {
        const leader = await this.cluster.leaderOf(topic, p);
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
      }
      const timestamp = typeof spec === 'number' ? spec : SPEC_TIMESTAMP[spec]!;
      const out: PartitionOffset[] = [];
      await Promise.all(
        [...byLeader].map(async ([leader, parts]) => {
          const conn = await this.cluster.brokerConnection(leader);
          const res = await conn.request<ListOffsetsResponse>(ApiKey.ListOffsets, (v: number) => ({
            replicaId: -1,
            isolationLevel: 0,
            topics: [{ name: topic, partitions: parts.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp })) }],
            timeoutMs: v >= 10 ? 30_000 : 0,
          }));
          for (const t of res.topics) {
            for (const p of t.partitions) {
              throwIfError(p.errorCode, null, `${topic}-${p.partitionIndex}`);
              out.push({ partition: p.partitionIndex, offset: p.offset, timestamp: p.timestamp });
            }
          }
        }),
      );
      return out.sort((a, b) => a.partition - b.partition);
    }, [topic]);
  }

  // ---- consumer groups ----

  /** The connection to the coordinator of a group or (with 'transaction') of a transactional id. */
  async coordinatorFor(key: string, keyType: 'group' | 'transaction' = 'group'): Promise<Connection> {
    const what = `${keyType === 'group' ? 'group' : 'transactional id'} "${key}"`;
    return this.cluster.withRetry(async () => {
      const conn = await this.cluster.anyConnection();
      const { version, body } = await conn.requestWithVersion<FindCoordinatorResponse>(ApiKey.FindCoordinator, (v: number) => ({
        key: v >= 4 ? '' : key,
        keyType: keyType === 'group' ? 0 : 1,
        coordinatorKeys: v >= 4 ? [key] : [],
      }));
      if (version >= 4) {
        const c = body.coordinators[0];
        if (!c) throw new KafkaClientError('COORDINATOR_NOT_AVAILABLE', `no coordinator for ${what}`);
        throwIfError(c.errorCode, c.errorMessage, what);
        return this.cluster.connectionTo(c.host, c.port);
      }
      throwIfError(body.errorCode, body.errorMessage, what);
      return this.cluster.connectionTo(body.host, body.port);
    });
  }

  /** A KIP-932 share group: state, epochs and members with their assignments (ShareGroupDescribe). */
  async describeShareGroup(groupId: string): Promise<ShareGroupInfo> {
    const conn = await this.coordinatorFor(groupId);
    const res = await conn.request<ShareGroupDescribeResponse>(ApiKey.ShareGroupDescribe, { groupIds: [groupId], includeAuthorizedOperations: false });
    const g = res.groups[0];
    if (!g) throw new KafkaClientError('UNKNOWN_SERVER_ERROR', `no answer for group "${groupId}"`);
    throwIfError(g.errorCode, g.errorMessage, `share group "${groupId}"`);
    return {
      groupId: g.groupId,
      state: g.groupState,
      groupEpoch: g.groupEpoch,
      assignor: g.assignorName,
      members: g.members.map((m) => ({
        memberId: m.memberId,
        memberEpoch: m.memberEpoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopics: m.subscribedTopicNames,
        assignment: m.assignment.topicPartitions.map((t) => ({ topic: t.topicName, partitions: t.partitions })),
      })),
    };
  }

  /** A share group's start offset and lag per partition it has state for (DescribeShareGroupOffsets). */
  async shareGroupOffsets(groupId: string, topics: { topic: string; partitions: number[] }[] | null = null): Promise<ShareGroupOffset[]> {
    const conn = await this.coordinatorFor(groupId);
    const res = await conn.request<DescribeShareGroupOffsetsResponse>(ApiKey.DescribeShareGroupOffsets, {
      groups: [{ groupId, topics: topics === null ? null : topics.map((t) => ({ topicName: t.topic, partitions: t.partitions })) }],
    });
    const g = res.groups[0];
    if (!g) throw new KafkaClientError('UNKNOWN_SERVER_ERROR', `no answer for group "${groupId}"`);
    throwIfError(g.errorCode, g.errorMessage, `share group "${groupId}"`);
    const out: ShareGroupOffset[] = [];
    for (const t of g.topics) {
      for (const p of t.partitions) {
        throwIfError(p.errorCode, p.errorMessage, `${t.topicName}-${p.partitionIndex}`);
        out.push({ topic: t.topicName, partition: p.partitionIndex, startOffset: p.startOffset, lag: p.lag });
      }
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /** Sets a share group's start offsets (AlterShareGroupOffsets); the group must have no members. */
  async alterShareGroupOffsets(groupId: string, offsets: { topic: string; partition: number; offset: number }[]): Promise<void> {
    const conn = await this.coordinatorFor(groupId);
    const byTopic = new Map<string, { partitionIndex: number; startOffset: number }[]>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), { partitionIndex: o.partition, startOffset: o.offset }]);
    const res = await conn.request<AlterShareGroupOffsetsResponse>(ApiKey.AlterShareGroupOffsets, {
      groupId,
      topics: [...byTopic].map(([topicName, partitions]) => ({ topicName, partitions })),
    });
    throwIfError(res.errorCode, res.errorMessage, `share group "${groupId}"`);
    for (const t of res.responses) for (const p of t.partitions) throwIfError(p.errorCode, p.errorMessage, `${t.topicName}-${p.partitionIndex}`);
  }

  async listGroups(): Promise<GroupListing[]> {
    await this.cluster.refreshMetadata([]);
    const brokers = [...this.cluster.brokers.values()];
    const all: GroupListing[] = [];
    for (const b of brokers) {
      // A broker still loading a group partition answers COORDINATOR_LOAD_IN_PROGRESS: retried.
      const res = await this.cluster.withRetry(async () => {
        const conn = await this.cluster.connectionTo(b.host, b.port);
        const r = await conn.request<ListGroupsResponse>(ApiKey.ListGroups, { statesFilter: [], typesFilter: [] });
        throwIfError(r.errorCode, null, `ListGroups on broker ${b.nodeId}`);
        return r;
      });
      for (const g of res.groups) all.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState, type: g.groupType || 'classic' });
    }
    return all.sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  async describeGroups(groupIds: string[]): Promise<GroupDescription[]> {
    const out: GroupDescription[] = [];
    for (const groupId of groupIds) {
      const conn = await this.coordinatorFor(groupId);
      // A KIP-848 group answers ConsumerGroupDescribe; any other gets GROUP_ID_NOT_FOUND there.
      if (conn.supports(ApiKey.ConsumerGroupDescribe)) {
        const cg = await conn.request<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, { groupIds: [groupId], includeAuthorizedOperations: false });
        const g = cg.groups[0];
        if (g && g.errorCode === 0) {
          out.push({
            groupId: g.groupId,
            type: 'consumer',
            state: g.groupState,
            protocolType: 'consumer',
            protocol: g.assignorName,
            members: g.members.map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.instanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              assignment: m.assignment.topicPartitions.map((t) => ({ topic: t.topicName, partitions: t.partitions })),
            })),
          });
          continue;
        }
      }
      // A KIP-1071 streams group answers StreamsGroupDescribe; its tasks read the partitions of their subtopology's source topics.
      if (conn.supports(ApiKey.StreamsGroupDescribe)) {
        const sg = await conn.request<StreamsGroupDescribeResponse>(ApiKey.StreamsGroupDescribe, {
          groupIds: [groupId],
          includeAuthorizedOperations: false,
          includeTopologyDescription: false,
        });
        const g = sg.groups[0];
        if (g && g.errorCode === 0) {
          const sources = new Map<string, string[]>();
          for (const s of g.topology?.subtopologies ?? []) sources.set(s.subtopologyId, [...s.sourceTopics, ...s.repartitionSourceTopics.map((t) => t.name)]);
          const partitions = (...lists: { subtopologyId: string; partitions: number[] }[][]) => {
            const byTopic = new Map<string, Set<number>>();
            for (const list of lists)
              for (const t of list)
                for (const topic of sources.get(t.subtopologyId) ?? []) {
                  const set = byTopic.get(topic) ?? new Set<number>();
                  for (const p of t.partitions) set.add(p);
                  byTopic.set(topic, set);
                }
            return [...byTopic].map(([topic, p]) => ({ topic, partitions: [...p].sort((a, b) => a - b) }));
          };
          out.push({
            groupId: g.groupId,
            type: 'streams',
            state: g.groupState,
            protocolType: 'streams',
            protocol: g.assignorName ?? '',
            members: g.members.map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.instanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              assignment: partitions(m.assignment.activeTasks),
              standbyAssignment: partitions(m.assignment.standbyTasks, m.assignment.warmupTasks),
            })),
          });
          continue;
        }
      }
      const res = await conn.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, { groups: [groupId], includeAuthorizedOperations: false });
      for (const g of res.groups) {
        throwIfError(g.errorCode, g.errorMessage, `group "${g.groupId}"`);
        out.push({
          groupId: g.groupId,
          type: 'classic',
          state: g.groupState,
          protocolType: g.protocolType,
          protocol: g.protocolData,
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            assignment: g.protocolType === 'consumer' ? describedAssignment(g.groupId, m.memberId, m.memberAssignment) : [],
          })),
        });
      }
    }
    return out;
  }

  /** A group's committed offsets (every partition it committed when `topics` is omitted). */
  async fetchOffsets(groupId: string, topics?: Array<{ topic: string; partitions: number[] }>): Promise<CommittedOffset[]> {
    const conn = await this.coordinatorFor(groupId);
    const { version, body } = await conn.requestWithVersion<OffsetFetchResponse>(ApiKey.OffsetFetch, (v: number) => {
      const requested = topics ? topics.map((t) => ({ name: t.topic, partitionIndexes: t.partitions })) : null;
      return v >= 8
        ? { groupId: '', topics: [], groups: [{ groupId, memberId: null, memberEpoch: -1, topics: requested }], requireStable: false }
        : { groupId, topics: requested, groups: [], requireStable: false };
    });
    const out: CommittedOffset[] = [];
    const collect = (ts: Array<{ name: string; partitions: Array<{ partitionIndex: number; committedOffset: number; metadata: string | null; errorCode: number }> }>) => {
      for (const t of ts) {
        for (const p of t.partitions) {
          throwIfError(p.errorCode, null, `group "${groupId}" ${t.name}-${p.partitionIndex}`);
          if (p.committedOffset >= 0) out.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata });
        }
      }
    };
    if (version >= 8) {
      for (const g of body.groups) {
        throwIfError(g.errorCode, null, `group "${groupId}"`);
        collect(g.topics);
      }
    } else {
      throwIfError(body.errorCode, null, `group "${groupId}"`);
      collect(body.topics);
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  }

  /**
   * Commits offsets for a group outside any generation (what kafka-consumer-groups
   * --reset-offsets does). The broker refuses while the group has active members.
   */
  async commitOffsets(groupId: string, offsets: Array<{ topic: string; partition: number; offset: number; metadata?: string | null }>): Promise<void> {
    const conn = await this.coordinatorFor(groupId);
    const byTopic = new Map<string, typeof offsets>();
    for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    const res = await conn.request<OffsetCommitResponse>(ApiKey.OffsetCommit, {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [...byTopic].map(([name, list]) => ({
        name,
        partitions: list.map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: o.metadata ?? null })),
      })),
    });
    for (const t of res.topics) for (const p of t.partitions) throwIfError(p.errorCode, null, `group "${groupId}" ${t.name}-${p.partitionIndex}`);
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    for (const groupId of groupIds) {
      const conn = await this.coordinatorFor(groupId);
      const res = await conn.request<DeleteGroupsResponse>(ApiKey.DeleteGroups, { groupsNames: [groupId] });
      for (const r of res.results) throwIfError(r.errorCode, null, `group "${r.groupId}"`);
    }
  }

  // ---- delegation tokens (KIP-48) ----

  /** Creates a token for the caller (or, with `owner`, for another principal: KIP-373); maxLifetimeMs -1 is the broker's default. */
  async createDelegationToken(opts: { renewers?: string[]; maxLifetimeMs?: number; owner?: string } = {}): Promise<DelegationToken> {
    const owner = opts.owner ? principalParts(opts.owner) : null;
    const c = await this.cluster.anyConnection();
    const res = await c.request<CreateDelegationTokenResponse>(ApiKey.CreateDelegationToken, {
      ownerPrincipalType: owner?.principalType ?? null,
      ownerPrincipalName: owner?.principalName ?? null,
      renewers: (opts.renewers ?? []).map(principalParts),
      maxLifetimeMs: opts.maxLifetimeMs ?? -1,
    });
    throwIfError(res.errorCode, null, 'CreateDelegationToken');
    return {
      tokenId: res.tokenId,
      hmac: res.hmac,
      owner: `${res.principalType}:${res.principalName}`,
      requester: res.tokenRequesterPrincipalType ? `${res.tokenRequesterPrincipalType}:${res.tokenRequesterPrincipalName}` : `${res.principalType}:${res.principalName}`,
      renewers: opts.renewers ?? [],
      issueTimestampMs: res.issueTimestampMs,
      expiryTimestampMs: res.expiryTimestampMs,
      maxTimestampMs: res.maxTimestampMs,
    };
  }

  /** Extends a token's expiry by renewPeriodMs (-1: the broker's default); resolves with the new expiry timestamp. */
  async renewDelegationToken(hmac: Buffer, renewPeriodMs = -1): Promise<number> {
    const c = await this.cluster.anyConnection();
    const res = await c.request<RenewDelegationTokenResponse>(ApiKey.RenewDelegationToken, { hmac, renewPeriodMs });
    throwIfError(res.errorCode, null, 'RenewDelegationToken');
    return res.expiryTimestampMs;
  }

  /** Expires a token after expiryTimePeriodMs (negative: at once); resolves with the new expiry timestamp. */
  async expireDelegationToken(hmac: Buffer, expiryTimePeriodMs = -1): Promise<number> {
    const c = await this.cluster.anyConnection();
    const res = await c.request<ExpireDelegationTokenResponse>(ApiKey.ExpireDelegationToken, { hmac, expiryTimePeriodMs });
    throwIfError(res.errorCode, null, 'ExpireDelegationToken');
    return res.expiryTimestampMs;
  }

  /** The tokens the caller may describe, of the given owners (all by default). */
  async describeDelegationTokens(owners: string[] | null = null): Promise<DelegationToken[]> {
    const c = await this.cluster.anyConnection();
    const res = await c.request<DescribeDelegationTokenResponse>(ApiKey.DescribeDelegationToken, { owners: owners === null ? null : owners.map(principalParts) });
    throwIfError(res.errorCode, null, 'DescribeDelegationToken');
    return res.tokens.map((t) => ({
      tokenId: t.tokenId,
      hmac: t.hmac,
      owner: `${t.principalType}:${t.principalName}`,
      requester: t.tokenRequesterPrincipalType ? `${t.tokenRequesterPrincipalType}:${t.tokenRequesterPrincipalName}` : `${t.principalType}:${t.principalName}`,
      renewers: t.renewers.map((r) => `${r.principalType}:${r.principalName}`),
      issueTimestampMs: t.issueTimestamp,
      expiryTimestampMs: t.expiryTimestamp,
      maxTimestampMs: t.maxTimestamp,
    }));
  }

  /** Whether the broker we talk to advertises an API (e.g. group APIs on a partial implementation). */
  // ---- transactions ----

  /** Transactions known to every broker's coordinator, optionally only in the given states. */
  async listTransactions(states: string[] = []): Promise<TransactionListing[]> {
    await this.cluster.refreshMetadata([]);
    const all: TransactionListing[] = [];
    // A copy: a retry refreshes the metadata, which replaces the entries of the live map.
    for (const b of [...this.cluster.brokers.values()]) {
      // A broker still loading a __transaction_state partition answers COORDINATOR_LOAD_IN_PROGRESS: retried.
      const res = await this.cluster.withRetry(async () => {
        const conn = await this.cluster.connectionTo(b.host, b.port);
        const r = await conn.request<ListTransactionsResponse>(ApiKey.ListTransactions, { stateFilters: states, producerIdFilters: [], durationFilter: -1 });
        throwIfError(r.errorCode, null, `ListTransactions on broker ${b.nodeId}`);
        return r;
      });
      for (const t of res.transactionStates) all.push({ transactionalId: t.transactionalId, producerId: t.producerId, state: t.transactionState });
    }
    return all.sort((a, b) => a.transactionalId.localeCompare(b.transactionalId));
  }

  async describeTransactions(transactionalIds: string[]): Promise<TransactionDescription[]> {
    const out: TransactionDescription[] = [];
    for (const id of transactionalIds) {
      const conn = await this.coordinatorFor(id, 'transaction');
      const res = await conn.request<DescribeTransactionsResponse>(ApiKey.DescribeTransactions, { transactionalIds: [id] });
      for (const t of res.transactionStates) {
        throwIfError(t.errorCode, null, `transactional id "${t.transactionalId}"`);
        out.push({
          transactionalId: t.transactionalId,
          state: t.transactionState,
          producerId: t.producerId,
          producerEpoch: t.producerEpoch,
          timeoutMs: t.transactionTimeoutMs,
          startTimeMs: t.transactionStartTimeMs,
          partitions: t.topics.map((p) => ({ topic: p.topic, partitions: [...p.partitions].sort((a, b) => a - b) })),
        });
      }
    }
    return out;
  }

  /** The producers a partition's leader knows, with their open transaction if any. */
  async describeProducers(topic: string, partition: number): Promise<ProducerState[]> {
    return this.cluster.withRetry(async () => {
      const conn = await this.cluster.brokerConnection(await this.cluster.leaderOf(topic, partition));
      const res = await conn.request<DescribeProducersResponse>(ApiKey.DescribeProducers, { topics: [{ name: topic, partitionIndexes: [partition] }] });
      const p = res.topics[0]?.partitions[0];
      if (!p) throw new KafkaClientError('UNKNOWN_TOPIC_OR_PARTITION', `${topic}-${partition}`);
      throwIfError(p.errorCode, p.errorMessage, `${topic}-${partition}`);
      return p.activeProducers.map((a) => ({
        producerId: a.producerId,
        producerEpoch: a.producerEpoch,
        lastSequence: a.lastSequence,
        lastTimestamp: a.lastTimestamp,
        coordinatorEpoch: a.coordinatorEpoch,
        currentTxnStartOffset: a.currentTxnStartOffset,
      }));
    }, [topic]);
  }

  /**
   * Ends a hanging transaction in one partition by hand, as `kafka-transactions.sh abort` does:
   * finds the producer whose open transaction starts at `startOffset` and has the partition's
   * leader write an ABORT marker for it. Returns that producer.
   */
  async abortTransaction(topic: string, partition: number, startOffset: number): Promise<ProducerState> {
    const producer = (await this.describeProducers(topic, partition)).find((p) => p.currentTxnStartOffset === startOffset);
    if (!producer) throw new KafkaClientError('INVALID_TXN_STATE', `no open transaction starts at offset ${startOffset} of ${topic}-${partition}`);
    const conn = await this.cluster.brokerConnection(await this.cluster.leaderOf(topic, partition));
    const res = await conn.request<WriteTxnMarkersResponse>(ApiKey.WriteTxnMarkers, {
      markers: [
        {
          producerId: producer.producerId,
          producerEpoch: producer.producerEpoch,
          transactionResult: false,
          topics: [{ name: topic, partitionIndexes: [partition] }],
          coordinatorEpoch: producer.coordinatorEpoch,
        },
      ],
    });
    for (const m of res.markers) for (const t of m.topics) for (const p of t.partitions) throwIfError(p.errorCode, null, `${t.name}-${p.partitionIndex}`);
    return producer;
  }

  /**
   * ElectLeaders (sent to the controller; NOT_CONTROLLER retried after a metadata refresh).
   * `partitions` null elects every partition that needs it. Per-partition errors are returned,
   * not thrown (ELECTION_NOT_NEEDED is an answer, not a failure).
   */
  async electLeaders(electionType: 'preferred' | 'unclean', partitions: { topic: string; partition: number }[] | null): Promise<PartitionOutcome[]> {
    return this.cluster.withRetry(async () => {
      const conn = await this.cluster.controllerConnection();
      const byTopic = new Map<string, number[]>();
      for (const p of partitions ?? []) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
      const res = await conn.request<ElectLeadersResponse>(ApiKey.ElectLeaders, {
        electionType: electionType === 'preferred' ? 0 : 1,
        topicPartitions: partitions === null ? null : [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps })),
        timeoutMs: 30_000,
      });
      throwIfError(res.errorCode, null, 'leader election');
      const out = res.replicaElectionResults.flatMap((t) =>
        t.partitionResult.map((p) => ({ topic: t.topic, partition: p.partitionId, error: p.errorCode === 0 ? null : errorName(p.errorCode), message: p.errorMessage })),
      );
      if (out.some((o) => o.error === 'NOT_CONTROLLER')) throw new KafkaClientError('NOT_CONTROLLER', 'the controller moved');
      return out;
    });
  }

  /** AlterPartitionReassignments: a replica list per partition, null to cancel (sent to the controller). */
  async alterPartitionReassignments(changes: { topic: string; partition: number; replicas: number[] | null }[]): Promise<PartitionOutcome[]> {
    return this.cluster.withRetry(async () => {
      const conn = await this.cluster.controllerConnection();
      const byTopic = new Map<string, { partitionIndex: number; replicas: number[] | null }[]>();
      for (const c of changes) byTopic.set(c.topic, [...(byTopic.get(c.topic) ?? []), { partitionIndex: c.partition, replicas: c.replicas }]);
      const res = await conn.request<AlterPartitionReassignmentsResponse>(ApiKey.AlterPartitionReassignments, {
        timeoutMs: 30_000,
        allowReplicationFactorChange: true,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      });
      throwIfError(res.errorCode, res.errorMessage, 'partition reassignment');
      return res.responses.flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, error: p.errorCode === 0 ? null : errorName(p.errorCode), message: p.errorMessage })),
      );
    });
  }

  /** ListPartitionReassignments: the reassignments in progress (all topics when `topics` is omitted). */
  async listPartitionReassignments(topics?: { topic: string; partitions: number[] }[]): Promise<ReassignmentInProgress[]> {
    return this.cluster.withRetry(async () => {
      const conn = await this.cluster.controllerConnection();
      const res = await conn.request<ListPartitionReassignmentsResponse>(ApiKey.ListPartitionReassignments, {
        timeoutMs: 30_000,
        topics: topics ? topics.map((t) => ({ name: t.topic, partitionIndexes: t.partitions })) : null,
      });
      throwIfError(res.errorCode, res.errorMessage, 'listing reassignments');
      return res.topics.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.name,
          partition: p.partitionIndex,
          replicas: p.replicas,
          addingReplicas: p.addingReplicas,
          removingReplicas: p.removingReplicas,
        })),
      );
    });
  }

  /** AlterReplicaLogDirs to broker `nodeId`: moves its replicas of these partitions to `dir` (one of its log.dirs). */
  async alterReplicaLogDirs(nodeId: number, moves: { dir: string; topic: string; partition: number }[]): Promise<PartitionOutcome[]> {
    const conn = await this.cluster.brokerConnection(nodeId);
    const byDir = new Map<string, Map<string, number[]>>();
    for (const m of moves) {
      const topics = byDir.get(m.dir) ?? new Map<string, number[]>();
      byDir.set(m.dir, topics);
      topics.set(m.topic, [...(topics.get(m.topic) ?? []), m.partition]);
    }
    const res = await conn.request<AlterReplicaLogDirsResponse>(ApiKey.AlterReplicaLogDirs, {
      dirs: [...byDir].map(([path, topics]) => ({ path, topics: [...topics].map(([name, partitions]) => ({ name, partitions })) })),
    });
    return res.results.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.topicName, partition: p.partitionIndex, error: p.errorCode === 0 ? null : errorName(p.errorCode), message: null })),
    );
  }

  /**
   * DescribeLogDirs of broker `nodeId`: per replica (`<topic>-<partition>`), the log dir it is in
   * and the one a move is copying it to (the future replica), if any.
   */
  async describeReplicaLogDirs(nodeId: number): Promise<Map<string, { dir: string | null; futureDir: string | null }>> {
    const conn = await this.cluster.brokerConnection(nodeId);
    const res = await conn.request<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, { topics: null });
    throwIfError(res.errorCode, null, 'describing log dirs');
    const out = new Map<string, { dir: string | null; futureDir: string | null }>();
    for (const d of res.results) {
      if (d.errorCode !== 0) continue;
      for (const t of d.topics) {
        for (const p of t.partitions) {
          const key = `${t.name}-${p.partitionIndex}`;
          const e = out.get(key) ?? { dir: null, futureDir: null };
          if (p.isFutureKey) e.futureDir = d.logDir;
          else e.dir = d.logDir;
          out.set(key, e);
        }
      }
    }
    return out;
  }

  async supports(apiKey: number): Promise<boolean> {
    return (await this.cluster.anyConnection()).supports(apiKey);
  }
}

/**
 * A classic consumer member's partitions as DescribeGroups gives them, each topic's sorted. As in
 * Kafka's admin client, no bytes are no partitions (the leader has not assigned the member yet)
 * and bytes that are not a consumer-protocol assignment fail the describe.
 */
function describedAssignment(groupId: string, memberId: string, bytes: Buffer): Array<{ topic: string; partitions: number[] }> {
  if (bytes.length === 0) return [];
  const assignment = decodeConsumerAssignment(bytes);
  if (!assignment) throw malformedConsumerProtocol(`the assignment of member "${memberId}" of group "${groupId}"`);
  return sortedPartitions(assignment);
}

/** Topic-partitions with each topic's partitions in ascending order, as the client hands them out. */
export function sortedPartitions(tps: ReadonlyArray<{ topic: string; partitions: readonly number[] }>): Array<{ topic: string; partitions: number[] }> {
  return tps.map((p) => ({ topic: p.topic, partitions: [...p.partitions].sort((x, y) => x - y) }));
}
