// Request bodies for the raw-frame tests (every field filled, as the generated encoders require),
// the in-process group coordinator's JoinGroup, and createTopic, the one way every test creates
// the topics it needs.
import assert from 'node:assert/strict';
import { ApiKey, type ConsumerGroupHeartbeatRequest, type FetchRequest, type MetadataRequest, type ProduceRequest } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from './raw-client.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';
import type { StreamsGroupHeartbeatRequest } from '../../src/protocol/generated/streams-group-heartbeat.js';
import type { JoinRequest } from '../../src/coordinator/group.js';
import type { HeartbeatRequest } from '../../src/coordinator/consumer-group.js';
import type { Topology } from '../../src/coordinator/streams-group.js';

export interface PartitionSpec {
  partition: number;
  fetchOffset: number;
  partitionMaxBytes?: number;
  currentLeaderEpoch?: number;
}

export interface TopicSpec {
  topic?: string;
  topicId?: string;
  partitions: PartitionSpec[];
}

export function fetchRequest(opts: {
  topics: TopicSpec[];
  maxWaitMs?: number;
  minBytes?: number;
  maxBytes?: number;
  isolationLevel?: number;
  sessionId?: number;
  sessionEpoch?: number;
  forgotten?: { topic?: string; topicId?: string; partitions: number[] }[];
}): FetchRequest {
  return {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1 },
    maxWaitMs: opts.maxWaitMs ?? 0,
    minBytes: opts.minBytes ?? 1,
    maxBytes: opts.maxBytes ?? 0x7fffffff,
    isolationLevel: opts.isolationLevel ?? 0,
    sessionId: opts.sessionId ?? 0,
    sessionEpoch: opts.sessionEpoch ?? -1,
    topics: opts.topics.map((t) => ({
      topic: t.topic ?? '',
      topicId: t.topicId ?? ZERO_UUID,
      partitions: t.partitions.map((p) => ({
        partition: p.partition,
        currentLeaderEpoch: p.currentLeaderEpoch ?? -1,
        fetchOffset: p.fetchOffset,
        lastFetchedEpoch: -1,
        logStartOffset: -1,
        partitionMaxBytes: p.partitionMaxBytes ?? 1024 * 1024,
        replicaDirectoryId: ZERO_UUID,
        highWatermark: 2 ** 63, // INT64_MAX as a double: "not supported"
      })),
    })),
    forgottenTopicsData: (opts.forgotten ?? []).map((f) => ({ topic: f.topic ?? '', topicId: f.topicId ?? ZERO_UUID, partitions: f.partitions })),
    rackId: '',
  };
}

/** A Fetch of one partition from an offset, at most `maxBytes` for it. */
export function fetchOne(topic: string, partition: number, fetchOffset: number, opts: { maxWaitMs?: number; maxBytes?: number } = {}): FetchRequest {
  const maxBytes = opts.maxBytes ?? 1024 * 1024;
  return fetchRequest({
    maxWaitMs: opts.maxWaitMs,
    maxBytes: Math.max(maxBytes, 64 * 1024 * 1024),
    topics: [{ topic, partitions: [{ partition, fetchOffset, partitionMaxBytes: maxBytes }] }],
  });
}

export function produceRequest(topic: string, partition: number, records: Buffer, acks = -1): ProduceRequest {
  return { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, topicId: ZERO_UUID, partitionData: [{ index: partition, records }] }] };
}

/**
 * A Metadata body asking for `topics` by name (no topic ids; null: every topic), creating none and
 * asking for no authorized operations: what most tests that read leaders, epochs or ISRs send.
 */
export function metadataRequest(topics: string[] | null): MetadataRequest {
  return {
    topics: topics === null ? null : topics.map((name) => ({ topicId: ZERO_UUID, name })),
    allowAutoTopicCreation: false,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  };
}

/**
 * The first ConsumerGroupHeartbeat of a member (epoch 0) subscribing to `topics` by name, owning
 * nothing, every field filled: for the wire tests that only need the broker's answer to one join.
 */
export function consumerJoinHeartbeat(groupId: string, memberId: string, topics: string[]): ConsumerGroupHeartbeatRequest {
  return {
    groupId,
    memberId,
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30_000,
    subscribedTopicNames: topics,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: [],
  };
}

/**
 * A ConsumerGroupHeartbeat as the in-process group coordinator takes it: a join (epoch 0)
 * subscribes to `topics` and owns nothing; a later heartbeat (or a leave) leaves every field
 * unchanged (null); `over` sets what a test is about.
 */
export function consumerHeartbeat(groupId: string, memberId: string, memberEpoch: number, topics: string[] = ['t'], over: Partial<HeartbeatRequest> = {}): HeartbeatRequest {
  const joining = memberEpoch === 0;
  return {
    groupId,
    memberId,
    memberEpoch,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: joining ? 5000 : -1,
    subscribedTopicNames: joining ? topics : null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: joining ? [] : null,
    ...over,
  };
}

/** A streams topology of one subtopology reading `topic`, with no state or repartition topics. */
export function oneSourceTopology(topic: string): Topology {
  return {
    epoch: 0,
    subtopologies: [
      {
        subtopologyId: '0',
        sourceTopics: [topic],
        sourceTopicRegex: [],
        stateChangelogTopics: [],
        repartitionSinkTopics: [],
        repartitionSourceTopics: [],
        copartitionGroups: [],
      },
    ],
  };
}

/**
 * The first StreamsGroupHeartbeat of a member (epoch 0) with an empty topology and no tasks, every
 * field filled: the wire tests that only need the broker's answer to one join share it; `over`
 * sets what a test is about (client tags, process id).
 */
export function streamsJoinHeartbeat(groupId: string, memberId: string, over: Partial<StreamsGroupHeartbeatRequest> = {}): StreamsGroupHeartbeatRequest {
  return {
    groupId,
    memberId,
    memberEpoch: 0,
    endpointInformationEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: 30_000,
    topology: { epoch: 0, subtopologies: [] },
    activeTasks: [],
    standbyTasks: [],
    warmupTasks: [],
    processId: `process-${memberId}`,
    userEndpoint: null,
    clientTags: [],
    taskOffsets: null,
    taskEndOffsets: null,
    shutdownApplication: false,
    ...over,
  };
}

/**
 * A classic member's JoinGroup as the in-process group coordinator takes it, every field filled:
 * the consumer protocol type, one protocol 'range' whose metadata ('range') is no
 * ConsumerProtocolSubscription, a known member id required (KIP-394); `over` sets what a test is
 * about (protocols and their metadata, instance id, timeouts).
 */
export function classicJoinRequest(memberId: string, over: Partial<JoinRequest> = {}): JoinRequest {
  return {
    memberId,
    groupInstanceId: null,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 20_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: Buffer.from('range') }],
    requireKnownMemberId: true,
    supportsSkipAssignment: false,
    ...over,
  };
}

/**
 * Produces one batch to a partition with Produce v9 and acks=all, asserts that the broker took it
 * and returns its base offset: for the raw-frame tests that need records in a log to go on.
 */
export async function produceOk(c: RawClient, topic: string, partition: number, records: Buffer, transactionalId: string | null = null): Promise<number> {
  const r = await c.request(ApiKey.Produce, 9, { ...produceRequest(topic, partition, records), transactionalId });
  const p = r.body.responses[0].partitionResponses[0];
  assert.equal(p.errorCode, ErrorCode.NONE, p.errorMessage);
  return Number(p.baseOffset);
}

/**
 * Creates a topic with CreateTopics v7, asserts that it was created and returns its topic id.
 * `via` is a connection, or a broker (anything with a port: TestBroker, RunningBroker), to which
 * it connects for this call.
 */
export async function createTopic(via: RawClient | { port: number }, name: string, partitions = 1, configs: Record<string, string | number> = {}): Promise<string> {
  const c = via instanceof RawClient ? via : await RawClient.connect(via.port);
  try {
    const r = await c.request(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([k, v]) => ({ name: k, value: String(v) })) }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(r.body.topics[0].errorCode, ErrorCode.NONE, r.body.topics[0].errorMessage ?? undefined);
    assert.notEqual(r.body.topics[0].topicId, ZERO_UUID, 'a topic id');
    return r.body.topics[0].topicId as string;
  } finally {
    if (c !== via) c.close();
  }
}
