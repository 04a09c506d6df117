// The JSON admin API under /api/v1, which the web console uses: the cluster, topics (list, create,
// describe, delete, configs), messages (browse, produce), consumer groups (describe, lag, reset
// offsets), transactions, client quotas and broker configs, and a live throughput stream (SSE).
//
// Reads of the broker's own state (topics, partition states, lag) come straight from the broker
// object; every change, and every read that Kafka guards with an ACL, is a Kafka request sent
// through the broker's own request path (broker/local-requests.ts) as the authenticated caller, so
// the API has Kafka's validation, error codes and authorization, and nothing of its own to drift.
// Lists paginate (`offset`, `limit`, `total`): a cluster with 10,000 partitions answers in pages.
//
// Lag is computed by the broker from committed offsets and its high watermarks, the numbers
// `kafka-consumer-groups --describe` shows. In cluster mode a request Kafka answers on one broker
// (a partition's leader, a group's coordinator, a broker's configs) is routed there when it is
// another (LocalRequests.routed: an Envelope carrying the caller's principal), so the API works
// the same on every broker; a group coordinated elsewhere gets its lag as a client computes it,
// from OffsetFetch on the coordinator and ListOffsets on the leaders.
import type { FastifyReply } from 'fastify';
import type { Broker } from '../broker/broker.js';
import { LocalRequests, RoutingError, type LocalCaller, type Route } from '../broker/local-requests.js';
import { AclOperation, ResourceType } from '../broker/security/authorizer.js';
import { ApiKey } from '../protocol/generated/index.js';
import type {
  AlterClientQuotasRequest,
  AlterClientQuotasResponse,
  ConsumerGroupDescribeRequest,
  ConsumerGroupDescribeResponse,
  CreateTopicsRequest,
  CreateTopicsResponse,
  DeleteTopicsRequest,
  DeleteTopicsResponse,
  DescribeClientQuotasRequest,
  DescribeClientQuotasResponse,
  DescribeConfigsRequest,
  DescribeConfigsResponse,
  DescribeGroupsRequest,
  DescribeProducersRequest,
  DescribeProducersResponse,
  DescribeGroupsResponse,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
  FetchRequest,
  FetchResponse,
  IncrementalAlterConfigsRequest,
  IncrementalAlterConfigsResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
  ListGroupsRequest,
  ListGroupsResponse,
  OffsetFetchRequest,
  OffsetFetchResponse,
  ListTransactionsRequest,
  ListTransactionsResponse,
  OffsetCommitRequest,
  OffsetCommitResponse,
  ProduceRequest,
  ProduceResponse,
} from '../protocol/generated/index.js';
import { errorName } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { decodeConsumerAssignment } from '../protocol/consumer-protocol.js';
import { configSourceName } from '../protocol/config-sources.js';
import { buildRecordBatch } from '../protocol/records/record-batch-builder.js';
import { splitBatches, isControl, readBatchHeader } from '../protocol/records/record-batch.js';
import { decodeBatchRecordsAsync } from '../protocol/records/records.js';
import type { HttpRoutes } from './context.js';
import { allowed, authenticate, canDescribeCluster, canDescribeGroup, canDescribeTopic } from './api-auth.js';

interface PartitionLagJson {
  topic: string;
  partition: number;
  committedOffset: number;
  /** The partition's high watermark (log end offset, as consumers see it). */
  endOffset: number;
  lag: number;
}

export interface GroupLagJson {
  groupId: string;
  state: string;
  protocolType: string;
  members: number;
  totalLag: number;
  partitions: PartitionLagJson[];
}

/** One group's lag, or null when this broker knows nothing of it (no members, no offsets). */
export function groupLagJson(broker: Broker, groupId: string): GroupLagJson | null {
  const gc = broker.groupCoordinator;
  // A group of the classic protocol, of the consumer protocol (KIP-848), or a streams group (KIP-1071).
  const classic = gc.groups.get(groupId);
  const modern = gc.consumer.groups.get(groupId);
  const streams = gc.streams.groups.get(groupId);
  const group = classic
    ? { state: classic.state as string, protocolType: classic.protocolType ?? '', members: classic.members.size }
    : modern
      ? { state: modern.state as string, protocolType: 'consumer', members: modern.members.size }
      : streams
        ? { state: streams.state as string, protocolType: 'streams', members: streams.members.size }
        : null;
  if (!group && !gc.offsets.has(groupId)) return null;
  const partitions = gc
    .lag(groupId, (topic, partition) => broker.partition(topic, partition)?.highWatermark)
    .map((l) => ({ topic: l.topic, partition: l.partition, committedOffset: l.committed, endOffset: l.end, lag: l.lag }))
    .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  return {
    groupId,
    state: group?.state ?? 'Empty',
    protocolType: group?.protocolType ?? '',
    members: group?.members ?? 0,
    totalLag: partitions.reduce((s, p) => s + p.lag, 0),
    partitions,
  };
}

/** Every group this broker coordinates or holds offsets of. */
function groupIds(broker: Broker): string[] {
  const gc = broker.groupCoordinator;
  const ids = new Set<string>();
  for (const g of gc.groups.values()) if (g.state !== 'Dead') ids.add(g.groupId);
  for (const id of gc.consumer.groups.keys()) ids.add(id);
  for (const id of gc.streams.groups.keys()) ids.add(id);
  for (const id of gc.offsets.keys()) ids.add(id);
  return [...ids].sort();
}

const byName = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

/** `offset`/`limit` query parameters (limit at most 1000, default 100). */
function page(query: { offset?: string; limit?: string }, defaultLimit = 100): { offset: number; limit: number } {
  const offset = Math.max(0, Math.floor(Number(query.offset ?? 0)) || 0);
  const limit = Math.min(1000, Math.max(1, Math.floor(Number(query.limit ?? defaultLimit)) || defaultLimit));
  return { offset, limit };
}

function paginate<T>(items: T[], query: { offset?: string; limit?: string }, defaultLimit = 100): { total: number; offset: number; limit: number; items: T[] } {
  const { offset, limit } = page(query, defaultLimit);
  return { total: items.length, offset, limit, items: items.slice(offset, offset + limit) };
}

/** A Kafka error code as the API reports it: 400-ish statuses with Kafka's error name. */
function kafkaError(reply: FastifyReply, code: number, message: string | null | undefined, status?: number) {
  const name = errorName(code);
  const st =
    status ??
    (/AUTHORIZATION_FAILED$/.test(name) ? 403 : /^UNKNOWN_TOPIC|GROUP_ID_NOT_FOUND/.test(name) ? 404 : /^NOT_LEADER|NOT_COORDINATOR|COORDINATOR_/.test(name) ? 421 : 400);
  return reply.status(st).send({ error: message || name, errorCode: name });
}

const badRequest = (reply: FastifyReply, message: string) => reply.status(400).send({ error: message, errorCode: 'INVALID_REQUEST' });

/**
 * A classic consumer member's partitions as the bytes give them. Bytes that are not a
 * consumer-protocol assignment show as no partitions: the page describes the group rather than fail.
 */
function describedAssignment(bytes: Buffer): { topic: string; partitions: number[] }[] {
  return decodeConsumerAssignment(bytes) ?? [];
}

/** A consumer group (KIP-848) as ConsumerGroupDescribe describes it, for the admin API. */
function consumerGroupJson(g: ConsumerGroupDescribeResponse['groups'][number], coordinator: number) {
  return {
    groupId: g.groupId,
    state: g.groupState,
    protocolType: 'consumer',
    protocol: g.assignorName,
    coordinator,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      assignment: m.assignment.topicPartitions.map((t) => ({ topic: t.topicName, partitions: [...t.partitions].sort((x, y) => x - y) })),
    })),
  };
}

/** A classic group as DescribeGroups describes it, for the admin API (in the given state). */
function classicGroupJson(g: DescribeGroupsResponse['groups'][number], state: string, coordinator: number) {
  return {
    groupId: g.groupId,
    state,
    protocolType: g.protocolType,
    protocol: g.protocolData,
    coordinator,
    members: g.members.map((m) => ({
      memberId: m.memberId,
      groupInstanceId: m.groupInstanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      assignment: g.protocolType === 'consumer' ? describedAssignment(m.memberAssignment) : [],
    })),
  };
}

interface MessageJson {
  partition: number;
  offset: number;
  timestamp: number;
  /** base64, or null */
  key: string | null;
  value: string | null;
  headers: { key: string; value: string | null }[];
}

export const adminApiRoutes: HttpRoutes = (app, ctx) => {
  let local: LocalRequests | null = null;
  let localFor: Broker | null = null;
  /** The request path of the running broker (a new one after a restart in tests). */
  const requests = (b: Broker) => {
    if (localFor !== b) {
      local = new LocalRequests(b);
      localFor = b;
    }
    return local!;
  };

  // Every route needs the broker (503 while it starts or stops) and an authenticated caller.
  app.addHook('onRequest', async (req, reply) => {
    const b = ctx.broker;
    if (!b) return reply.status(503).header('retry-after', '1').send({ error: 'the broker is not running yet' });
    if (!authenticate(b, req, reply)) return reply;
  });
  const broker = () => ctx.broker!;
  const send = <Res>(caller: LocalCaller, apiKey: number, request: unknown) => requests(broker()).send<Res>(caller, apiKey, request);
  /** Sends the request to the broker the route names (this one or, in a cluster, another). */
  const routed = <Res>(caller: LocalCaller, route: Route, apiKey: number, request: unknown, errorOf: (res: Res) => number, timeoutMs?: number) =>
    requests(broker()).routed<Res>(caller, route, apiKey, request, errorOf, timeoutMs);
  const groupRoute = (key: string): Route => ({ coordinatorOf: { key, type: 'group' } });
  /** The broker coordinating a group now (this one outside a cluster), or -1 when none is. */
  const coordinatorOf = (key: string): number => {
    const at = requests(broker()).resolve(groupRoute(key));
    return typeof at === 'number' ? at : -1;
  };

  // A request that could not reach the broker Kafka would answer it on: 421 when no leader or
  // coordinator could be found (a client would retry later), 502 when the broker holding it
  // refused to act for this one (the inter-broker principal lacks CLUSTER_ACTION) or cannot be
  // sent the request.
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof RoutingError) {
      const status = /^NOT_LEADER|NOT_COORDINATOR|COORDINATOR_|LEADER_NOT_AVAILABLE/.test(err.errorCode) ? 421 : 502;
      return reply.status(status).send({ error: err.message, errorCode: err.errorCode });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) ctx.logger.error({ err }, 'HTTP handler failed');
    return reply.status(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });

  // ---------------------------------------------------------------------------------------------
  // Cluster

  app.get('/cluster', async (req, reply) => {
    const b = broker();
    let partitions = 0;
    let underReplicated = 0;
    let offline = 0;
    for (const t of b.topics.values()) {
      for (const s of b.partitionStates(t)) {
        partitions++;
        if (s.isr.length < s.replicas.length) underReplicated++;
        if (s.leader < 0) offline++;
      }
    }
    const caller = req.caller!;
    const groups = await clusterGroups(caller);
    return reply.send({
      clusterId: b.clusterId,
      nodeId: b.nodeId,
      controllerId: b.controllerId(),
      principal: caller.principal,
      brokers: b.liveBrokers().map((x) => ({ nodeId: x.nodeId, host: x.host, port: x.port, rack: x.rack })),
      topics: [...b.topics.values()].filter((t) => canDescribeTopic(b, caller, t.name)).length,
      partitions,
      underReplicatedPartitions: underReplicated,
      offlinePartitions: offline,
      groups: groups.groups.length,
      /** Brokers that did not answer ListGroups: their groups are not in the count. */
      unreachableBrokers: groups.unreachable,
      connections: b.connectionCount,
      uptimeSeconds: Math.round((b.clock.now() - ctx.startedAt) / 1000),
    });
  });

  /**
   * Server-sent events, one a second: bytes and messages per second in and out over the last
   * second, from the broker's own counters (the series /metrics exposes as totals).
   */
  app.get('/cluster/throughput', (req, reply) => {
    const b = broker();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const m = b.metrics.allTopics;
    let last = { at: b.clock.now(), bytesIn: m.bytesIn, bytesOut: m.bytesOut, messagesIn: m.messagesIn };
    const tick = () => {
      const now = b.clock.now();
      const dt = Math.max(1, now - last.at) / 1000;
      const sample = {
        time: now,
        bytesInPerSec: Math.round((m.bytesIn - last.bytesIn) / dt),
        bytesOutPerSec: Math.round((m.bytesOut - last.bytesOut) / dt),
        messagesInPerSec: Math.round((m.messagesIn - last.messagesIn) / dt),
        connections: b.connectionCount,
      };
      last = { at: now, bytesIn: m.bytesIn, bytesOut: m.bytesOut, messagesIn: m.messagesIn };
      res.write(`event: throughput\ndata: ${JSON.stringify(sample)}\n\n`);
      if (b.isStopped) stop();
    };
    const timer = setInterval(tick, 1000);
    const stop = () => {
      clearInterval(timer);
      res.end();
    };
    res.write(`retry: 2000\n\n`);
    req.raw.on('close', () => clearInterval(timer));
  });

  // ---------------------------------------------------------------------------------------------
  // Topics

  app.get<{ Querystring: { search?: string; internal?: string; offset?: string; limit?: string } }>('/topics', (req, reply) => {
    const b = broker();
    const search = (req.query.search ?? '').toLowerCase();
    const withInternal = req.query.internal !== 'false';
    const list = [...b.topics.values()]
      .filter((t) => (withInternal || !t.internal) && (search === '' || t.name.toLowerCase().includes(search)) && canDescribeTopic(b, req.caller!, t.name))
      .sort((x, y) => byName(x.name, y.name));
    const p = paginate(list, req.query);
    return reply.send({
      total: p.total,
      offset: p.offset,
      limit: p.limit,
      topics: p.items.map((t) => {
        const states = b.partitionStates(t);
        return {
          name: t.name,
          topicId: t.id,
          internal: t.internal,
          partitions: t.partitions.length,
          replicationFactor: states[0]?.replicas.length ?? 0,
          underReplicatedPartitions: states.filter((s) => s.isr.length < s.replicas.length).length,
        };
      }),
    });
  });

  app.post<{ Body: { name?: unknown; partitions?: unknown; replicationFactor?: unknown; configs?: unknown } }>('/topics', async (req, reply) => {
    const body = req.body ?? {};
    if (typeof body.name !== 'string' || body.name === '') return badRequest(reply, 'name is required');
    const num = (v: unknown) => (v === undefined || v === null || v === '' ? -1 : Number(v));
    const partitions = num(body.partitions);
    const replicationFactor = num(body.replicationFactor);
    if (!Number.isInteger(partitions) || !Number.isInteger(replicationFactor)) return badRequest(reply, 'partitions and replicationFactor must be integers');
    const configs: { name: string; value: string | null }[] = [];
    if (body.configs !== undefined && body.configs !== null) {
      if (typeof body.configs !== 'object' || Array.isArray(body.configs)) return badRequest(reply, 'configs must be an object of name: value');
      for (const [name, value] of Object.entries(body.configs)) configs.push({ name, value: value === null ? null : String(value) });
    }
    const request: CreateTopicsRequest = {
      topics: [{ name: body.name, numPartitions: partitions, replicationFactor, assignments: [], configs }],
      timeoutMs: 30_000,
      validateOnly: false,
    };
    const res = await send<CreateTopicsResponse>(req.caller!, ApiKey.CreateTopics, request);
    const r = res.topics[0]!;
    if (r.errorCode !== 0) return kafkaError(reply, r.errorCode, r.errorMessage);
    return reply.status(201).send({ name: r.name, topicId: r.topicId, partitions: r.numPartitions, replicationFactor: r.replicationFactor });
  });

  app.get<{ Params: { topic: string }; Querystring: { offset?: string; limit?: string } }>('/topics/:topic', async (req, reply) => {
    const b = broker();
    const t = b.topics.get(req.params.topic);
    if (!t || !canDescribeTopic(b, req.caller!, t.name)) {
      return reply.status(404).send({ error: `unknown topic ${req.params.topic}`, errorCode: 'UNKNOWN_TOPIC_OR_PARTITION' });
    }
    const states = b.partitionStates(t);
    const indexes = states.map((_, i) => i);
    const p = paginate(indexes, req.query, 1000);
    // Partitions without a replica here: their log start and high watermark from their leaders.
    const elsewhere = p.items.filter((i) => !t.partitions[i]).map((partition) => ({ topic: t.name, partition }));
    const [starts, ends] =
      elsewhere.length === 0
        ? [new Map<string, number>(), new Map<string, number>()]
        : await Promise.all([offsetsAtLeaders(req.caller!, elsewhere, -2), offsetsAtLeaders(req.caller!, elsewhere, -1)]);
    return reply.send({
      name: t.name,
      topicId: t.id,
      internal: t.internal,
      configs: Object.fromEntries([...t.configs].map(([k, v]) => [k, v.value])),
      overrides: t.overrides,
      total: p.total,
      offset: p.offset,
      limit: p.limit,
      underReplicatedPartitions: states.filter((s) => s.isr.length < s.replicas.length).length,
      partitions: p.items.map((i) => {
        const s = states[i]!;
        const part = t.partitions[i];
        return {
          partition: i,
          leader: s.leader,
          leaderEpoch: s.leaderEpoch,
          replicas: s.replicas,
          isr: s.isr,
          // Size and log end are known for the replicas hosted on this broker only; offsets come from the leader.
          logStartOffset: part?.logStartOffset ?? starts.get(`${t.name}\0${i}`) ?? null,
          highWatermark: part?.highWatermark ?? ends.get(`${t.name}\0${i}`) ?? null,
          logEndOffset: part?.logEndOffset ?? null,
          sizeBytes: part?.sizeInBytes ?? null,
        };
      }),
    });
  });

  app.delete<{ Params: { topic: string } }>('/topics/:topic', async (req, reply) => {
    const request: DeleteTopicsRequest = { topics: [{ name: req.params.topic, topicId: ZERO_UUID }], topicNames: [req.params.topic], timeoutMs: 30_000 };
    const res = await send<DeleteTopicsResponse>(req.caller!, ApiKey.DeleteTopics, request);
    const r = res.responses[0]!;
    if (r.errorCode !== 0) return kafkaError(reply, r.errorCode, r.errorMessage);
    return reply.send({ deleted: req.params.topic });
  });

  // ---------------------------------------------------------------------------------------------
  // Configs (DescribeConfigs / IncrementalAlterConfigs: topic, broker, client-metrics ...)

  const RESOURCE_TYPES: Record<string, number> = { topic: 2, broker: 4, 'broker-logger': 8, group: 32, 'client-metrics': 16 };

  app.get<{ Params: { type: string; name: string }; Querystring: { search?: string } }>('/configs/:type/:name', async (req, reply) => {
    const resourceType = RESOURCE_TYPES[req.params.type];
    if (resourceType === undefined) return badRequest(reply, `unknown resource type ${req.params.type} (one of ${Object.keys(RESOURCE_TYPES).join(', ')})`);
    const request: DescribeConfigsRequest = {
      resources: [{ resourceType, resourceName: req.params.name, configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: true,
    };
    // A broker's configs (static ones included) are answered by that broker, as Kafka's admin client sends them.
    const node = (req.params.type === 'broker' || req.params.type === 'broker-logger') && /^\d+$/.test(req.params.name) ? Number(req.params.name) : null;
    const res =
      node === null || node === broker().nodeId
        ? await send<DescribeConfigsResponse>(req.caller!, ApiKey.DescribeConfigs, request)
        : await routed<DescribeConfigsResponse>(req.caller!, { node }, ApiKey.DescribeConfigs, request, () => 0);
    const r = res.results[0]!;
    if (r.errorCode !== 0) return kafkaError(reply, r.errorCode, r.errorMessage);
    const search = (req.query.search ?? '').toLowerCase();
    return reply.send({
      resourceType: req.params.type,
      resourceName: r.resourceName,
      configs: r.configs
        .filter((c) => search === '' || c.name.toLowerCase().includes(search))
        .sort((x, y) => byName(x.name, y.name))
        .map((c) => ({
          name: c.name,
          value: c.isSensitive ? null : c.value,
          source: configSourceName(c.configSource),
          readOnly: c.readOnly,
          sensitive: c.isSensitive,
          documentation: c.documentation,
        })),
    });
  });

  app.post<{ Params: { type: string; name: string }; Body: { set?: Record<string, unknown>; delete?: unknown } }>('/configs/:type/:name', async (req, reply) => {
    const resourceType = RESOURCE_TYPES[req.params.type];
    if (resourceType === undefined) return badRequest(reply, `unknown resource type ${req.params.type}`);
    const body = req.body ?? {};
    const configs: { name: string; configOperation: number; value: string | null }[] = [];
    if (body.set && typeof body.set === 'object')
      for (const [k, v] of Object.entries(body.set)) configs.push({ name: k, configOperation: 0, value: typeof v === 'string' ? v : JSON.stringify(v) });
    if (Array.isArray(body.delete)) for (const k of body.delete) configs.push({ name: String(k), configOperation: 1, value: null });
    if (configs.length === 0) return badRequest(reply, 'nothing to change: give set {name: value} and/or delete [name]');
    const request: IncrementalAlterConfigsRequest = { resources: [{ resourceType, resourceName: req.params.name, configs }], validateOnly: false };
    const res = await send<IncrementalAlterConfigsResponse>(req.caller!, ApiKey.IncrementalAlterConfigs, request);
    const r = res.responses[0]!;
    if (r.errorCode !== 0) return kafkaError(reply, r.errorCode, r.errorMessage);
    return reply.send({ altered: configs.map((c) => c.name) });
  });

  // ---------------------------------------------------------------------------------------------
  // Messages

  /** ListOffsets for one partition: -2 earliest, -1 latest, or the first offset at/after a timestamp. */
  async function listOffset(caller: LocalCaller, topic: string, partition: number, timestamp: number): Promise<{ errorCode: number; offset: number }> {
    const request: ListOffsetsRequest = {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
      timeoutMs: 5000,
    };
    const res = await routed<ListOffsetsResponse>(caller, { leaderOf: { topic, partition } }, ApiKey.ListOffsets, request, (x) => x.topics[0]?.partitions[0]?.errorCode ?? 0);
    const p = res.topics[0]?.partitions[0];
    return { errorCode: p?.errorCode ?? 3, offset: p?.offset ?? -1 };
  }

  app.get<{
    Params: { topic: string };
    Querystring: { partition?: string; offset?: string; timestamp?: string; limit?: string; filter?: string; maxScan?: string };
  }>('/topics/:topic/messages', async (req, reply) => {
    const b = broker();
    const caller = req.caller!;
    const t = b.topics.get(req.params.topic);
    if (!t || !canDescribeTopic(b, caller, t.name)) return reply.status(404).send({ error: `unknown topic ${req.params.topic}`, errorCode: 'UNKNOWN_TOPIC_OR_PARTITION' });
    const partition = Number(req.query.partition ?? 0);
    if (!Number.isInteger(partition) || partition < 0 || partition >= t.partitions.length) return badRequest(reply, `partition must be 0..${t.partitions.length - 1}`);
    const limit = Math.min(500, Math.max(1, Number(req.query.limit ?? 50) || 50));
    const filter = (req.query.filter ?? '').toLowerCase();
    // At most this many records are read looking for filter matches.
    const maxScan = Math.min(100_000, Math.max(limit, Number(req.query.maxScan ?? 10_000) || 10_000));
    const earliest = await listOffset(caller, t.name, partition, -2);
    if (earliest.errorCode !== 0) return kafkaError(reply, earliest.errorCode, null);
    const latest = await listOffset(caller, t.name, partition, -1);
    if (latest.errorCode !== 0) return kafkaError(reply, latest.errorCode, null);
    let start: number;
    if (req.query.timestamp !== undefined && req.query.timestamp !== '') {
      const ts = /^\d+$/.test(req.query.timestamp) ? Number(req.query.timestamp) : Date.parse(req.query.timestamp);
      if (!Number.isFinite(ts)) return badRequest(reply, 'timestamp must be ms since the epoch or an ISO date');
      const at = await listOffset(caller, t.name, partition, ts);
      if (at.errorCode !== 0) return kafkaError(reply, at.errorCode, null);
      start = at.offset < 0 ? latest.offset : at.offset;
    } else if (req.query.offset !== undefined && req.query.offset !== '' && req.query.offset !== 'latest') {
      start = req.query.offset === 'earliest' ? earliest.offset : Number(req.query.offset);
      if (!Number.isInteger(start)) return badRequest(reply, 'offset must be an integer, earliest or latest');
    } else {
      // The newest `limit` messages.
      start = Math.max(earliest.offset, latest.offset - limit);
    }
    start = Math.max(start, earliest.offset);
    const messages: MessageJson[] = [];
    let next = start;
    let scanned = 0;
    const text = (x: Buffer | null) => (x ? x.toString('utf8').toLowerCase() : '');
    while (messages.length < limit && next < latest.offset && scanned < maxScan) {
      const request: FetchRequest = {
        clusterId: null,
        replicaId: -1,
        replicaState: { replicaId: -1, replicaEpoch: -1 },
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 4 * 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: t.name,
            topicId: t.id,
            partitions: [
              {
                partition,
                currentLeaderEpoch: -1,
                fetchOffset: next,
                lastFetchedEpoch: -1,
                logStartOffset: -1,
                partitionMaxBytes: 1024 * 1024,
                replicaDirectoryId: ZERO_UUID,
                highWatermark: -1,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: '',
      };
      const res = await routed<FetchResponse>(
        caller,
        { leaderOf: { topic: t.name, partition } },
        ApiKey.Fetch,
        request,
        (x) => x.errorCode || (x.responses[0]?.partitions[0]?.errorCode ?? 0),
      );
      if (res.errorCode !== 0) return kafkaError(reply, res.errorCode, null);
      const pd = res.responses[0]?.partitions[0];
      if (!pd) break;
      if (pd.errorCode !== 0) return kafkaError(reply, pd.errorCode, null);
      const before = next;
      for (const batch of splitBatches(pd.records ?? Buffer.alloc(0), { rejectPartialTail: false })) {
        const header = readBatchHeader(batch);
        const last = header.baseOffset + header.lastOffsetDelta;
        if (isControl(header.attributes)) {
          next = Math.max(next, last + 1);
          continue;
        }
        for (const r of await decodeBatchRecordsAsync(batch)) {
          if (r.offset < next) continue;
          next = r.offset + 1;
          scanned++;
          if (filter !== '' && !text(r.key).includes(filter) && !text(r.value).includes(filter)) continue;
          messages.push({
            partition,
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key ? r.key.toString('base64') : null,
            value: r.value ? r.value.toString('base64') : null,
            headers: r.headers.map((h) => ({ key: h.key, value: h.value ? h.value.toString('base64') : null })),
          });
          if (messages.length >= limit) break;
        }
        if (messages.length >= limit) break;
        next = Math.max(next, last + 1);
      }
      if (next === before) break; // nothing readable (a record larger than the fetch size)
    }
    return reply.send({
      topic: t.name,
      partition,
      earliestOffset: earliest.offset,
      latestOffset: latest.offset,
      startOffset: start,
      nextOffset: next,
      scanned,
      messages,
    });
  });

  app.post<{
    Params: { topic: string };
    Body: { partition?: unknown; key?: unknown; value?: unknown; headers?: unknown; encoding?: unknown };
  }>('/topics/:topic/messages', async (req, reply) => {
    const b = broker();
    const t = b.topics.get(req.params.topic);
    const body = req.body ?? {};
    const encoding = body.encoding === 'base64' ? 'base64' : 'utf8';
    const bytes = (v: unknown): Buffer | null => (v === undefined || v === null ? null : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), encoding));
    const partition = body.partition === undefined || body.partition === null || body.partition === '' ? 0 : Number(body.partition);
    if (!Number.isInteger(partition) || partition < 0) return badRequest(reply, 'partition must be a non-negative integer');
    const headers: { key: string; value: Buffer | null }[] = [];
    if (body.headers !== undefined && body.headers !== null) {
      if (!Array.isArray(body.headers)) return badRequest(reply, 'headers must be a list of {key, value}');
      for (const h of body.headers as { key?: unknown; value?: unknown }[]) {
        if (!h || typeof h.key !== 'string') return badRequest(reply, 'every header needs a string key');
        headers.push({ key: h.key, value: bytes(h.value) });
      }
    }
    const records = buildRecordBatch([{ key: bytes(body.key), value: bytes(body.value), headers, timestamp: b.clock.now() }]);
    const request: ProduceRequest = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30_000,
      topicData: [{ name: req.params.topic, topicId: t?.id ?? ZERO_UUID, partitionData: [{ index: partition, records }] }],
    };
    const res = await routed<ProduceResponse>(
      req.caller!,
      { leaderOf: { topic: req.params.topic, partition } },
      ApiKey.Produce,
      request,
      (x) => x.responses[0]?.partitionResponses[0]?.errorCode ?? 0,
      40_000,
    );
    const p = res.responses[0]?.partitionResponses[0];
    if (!p) return kafkaError(reply, 3, null);
    if (p.errorCode !== 0) return kafkaError(reply, p.errorCode, p.errorMessage);
    return reply.status(201).send({ topic: req.params.topic, partition, offset: Number(p.baseOffset), timestamp: Number(p.logAppendTimeMs) });
  });

  // ---------------------------------------------------------------------------------------------
  // Consumer groups

  interface ListedGroup {
    groupId: string;
    coordinator: number;
    state: string;
    protocolType: string;
  }

  /**
   * In a cluster, one request to each other live broker at once (5 s each), as Kafka's admin
   * client lists across brokers. Each answer without an error goes to `take` with its broker's id,
   * in the brokers' order; returns the brokers that did not answer so (none outside a cluster).
   */
  async function askOtherBrokers<Res extends { errorCode: number }>(
    b: Broker,
    caller: LocalCaller,
    apiKey: number,
    request: unknown,
    take: (res: Res, nodeId: number) => void,
  ): Promise<number[]> {
    const unreachable: number[] = [];
    if (!b.cluster) return unreachable;
    const others = b.liveBrokers().filter((x) => x.nodeId !== b.nodeId);
    const answers = await Promise.all(
      others.map((x) =>
        requests(b)
          .sendTo<Res>(caller, x.nodeId, apiKey, request, 5000)
          .catch(() => null),
      ),
    );
    answers.forEach((res, i) => {
      if (!res || res.errorCode !== 0) unreachable.push(others[i]!.nodeId);
      else take(res, others[i]!.nodeId);
    });
    return unreachable;
  }

  /**
   * Every group of the cluster the caller may describe, as Kafka's admin client lists them:
   * this broker's own, and ListGroups on every other live broker (as the caller, so their ACLs
   * filter). `unreachable` names the brokers that did not answer.
   */
  async function clusterGroups(caller: LocalCaller): Promise<{ groups: ListedGroup[]; unreachable: number[] }> {
    const b = broker();
    const groups: ListedGroup[] = groupIds(b)
      .filter((id) => canDescribeGroup(b, caller, id))
      .map((id) => {
        const g = groupLagJson(b, id)!;
        return { groupId: id, coordinator: b.nodeId, state: g.state, protocolType: g.protocolType };
      });
    const seen = new Set(groups.map((g) => g.groupId));
    const request: ListGroupsRequest = { statesFilter: [], typesFilter: [] };
    const unreachable = await askOtherBrokers<ListGroupsResponse>(b, caller, ApiKey.ListGroups, request, (res, nodeId) => {
      for (const g of res.groups) {
        if (seen.has(g.groupId) || g.groupState === 'Dead') continue;
        seen.add(g.groupId);
        groups.push({ groupId: g.groupId, coordinator: nodeId, state: g.groupState, protocolType: g.protocolType });
      }
    });
    groups.sort((x, y) => byName(x.groupId, y.groupId));
    return { groups, unreachable };
  }

  /** A listed group's lag: from this broker's state, or computed from its coordinator's offsets. */
  async function listedLag(caller: LocalCaller, g: ListedGroup): Promise<Omit<GroupLagJson, 'members'> & { coordinator: number; members: number | null }> {
    const b = broker();
    if (g.coordinator === b.nodeId) return { ...(await completeLag(caller, groupLagJson(b, g.groupId)))!, coordinator: b.nodeId };
    const lag = await remoteLag(caller, g.groupId).catch(() => ({ errorCode: -1, message: null, partitions: [] as PartitionLagJson[] }));
    return {
      groupId: g.groupId,
      state: g.state,
      protocolType: g.protocolType,
      coordinator: g.coordinator,
      members: null, // ListGroups does not tell; the group's own page does
      totalLag: lag.partitions.reduce((x, p) => x + p.lag, 0),
      partitions: lag.partitions,
    };
  }

  app.get<{ Querystring: { search?: string; offset?: string; limit?: string } }>('/groups', async (req, reply) => {
    const search = (req.query.search ?? '').toLowerCase();
    const { groups, unreachable } = await clusterGroups(req.caller!);
    const p = paginate(
      groups.filter((g) => search === '' || g.groupId.toLowerCase().includes(search)),
      req.query,
    );
    const rows = await Promise.all(p.items.map((g) => listedLag(req.caller!, g)));
    return reply.send({
      total: p.total,
      offset: p.offset,
      limit: p.limit,
      unreachableBrokers: unreachable,
      groups: rows.map((g) => ({ groupId: g.groupId, state: g.state, protocolType: g.protocolType, coordinator: g.coordinator, members: g.members, totalLag: g.totalLag })),
    });
  });

  /**
   * A group this broker coordinates: its lag on the partitions it does not lead too, with their
   * high watermarks asked of their leaders (groupLagJson knows the hosted replicas only, and a
   * follower's high watermark trails the leader's). A follower's own is kept when its leader
   * does not answer.
   */
  async function completeLag(caller: LocalCaller, lag: GroupLagJson | null): Promise<GroupLagJson | null> {
    const b = broker();
    if (!lag || !b.cluster) return lag;
    const missing: { topic: string; partition: number; offset: number }[] = [];
    for (const [topic, parts] of b.groupCoordinator.offsets.get(lag.groupId) ?? []) {
      for (const [partition, v] of parts) if (!b.partition(topic, partition)?.isLeader) missing.push({ topic, partition, offset: v.offset });
    }
    if (missing.length === 0) return lag;
    const ends = await offsetsAtLeaders(caller, missing, -1);
    const asked = (topic: string, partition: number) => ends.has(`${topic}\0${partition}`);
    const partitions = lag.partitions.filter((p) => !asked(p.topic, p.partition));
    for (const m of missing) {
      const end = ends.get(`${m.topic}\0${m.partition}`);
      if (end !== undefined) partitions.push({ topic: m.topic, partition: m.partition, committedOffset: m.offset, endOffset: end, lag: Math.max(0, end - m.offset) });
    }
    partitions.sort((x, y) => (x.topic === y.topic ? x.partition - y.partition : x.topic < y.topic ? -1 : 1));
    return { ...lag, partitions, totalLag: partitions.reduce((x, p) => x + p.lag, 0) };
  }

  /**
   * ListOffsets for many partitions, one request per leader (here or forwarded): `topic\0partition`
   * → offset at `timestamp` (-1 latest, -2 earliest). Partitions whose leader is unknown, cannot be
   * reached or answers an error are left out.
   */
  async function offsetsAtLeaders(caller: LocalCaller, list: { topic: string; partition: number }[], timestamp: number): Promise<Map<string, number>> {
    const lr = requests(broker());
    const byLeader = new Map<number, Map<string, number[]>>();
    for (const c of list) {
      const at = lr.resolve({ leaderOf: { topic: c.topic, partition: c.partition } });
      if (typeof at !== 'number') continue;
      const topics = byLeader.get(at) ?? new Map<string, number[]>();
      byLeader.set(at, topics);
      topics.set(c.topic, [...(topics.get(c.topic) ?? []), c.partition]);
    }
    const out = new Map<string, number>();
    await Promise.all(
      [...byLeader].map(async ([node, topics]) => {
        const request: ListOffsetsRequest = {
          replicaId: -1,
          isolationLevel: 0,
          topics: [...topics].map(([name, ps]) => ({ name, partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp })) })),
          timeoutMs: 5000,
        };
        const r = await lr.sendTo<ListOffsetsResponse>(caller, node, ApiKey.ListOffsets, request, 5000).catch(() => null);
        for (const t of r?.topics ?? []) for (const p of t.partitions) if (p.errorCode === 0) out.set(`${t.name}\0${p.partitionIndex}`, Number(p.offset));
      }),
    );
    return out;
  }

  /**
   * A group's committed offsets and lag as `kafka-consumer-groups --describe` computes them:
   * OffsetFetch on its coordinator, ListOffsets (latest: the high watermark) on each partition's
   * leader, batched per leader. For groups coordinated by another broker.
   */
  async function remoteLag(caller: LocalCaller, groupId: string): Promise<{ errorCode: number; message: string | null; partitions: PartitionLagJson[] }> {
    const request: OffsetFetchRequest = { groupId: '', topics: [], groups: [{ groupId, memberId: null, memberEpoch: -1, topics: null }], requireStable: false };
    const res = await routed<OffsetFetchResponse>(caller, groupRoute(groupId), ApiKey.OffsetFetch, request, (x) => x.errorCode || (x.groups[0]?.errorCode ?? 0));
    const g = res.groups[0];
    const errorCode = res.errorCode || (g?.errorCode ?? 0);
    if (errorCode !== 0 || !g) return { errorCode: errorCode || 15, message: null, partitions: [] };
    const committed = g.topics.flatMap((t) =>
      t.partitions.filter((p) => p.errorCode === 0 && p.committedOffset >= 0).map((p) => ({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset) })),
    );
    // End offsets, one ListOffsets per leader; a partition that fails there is asked on its own (routed, retried).
    const ends = await offsetsAtLeaders(caller, committed, -1);
    const partitions: PartitionLagJson[] = [];
    for (const c of committed) {
      let end = ends.get(`${c.topic}\0${c.partition}`);
      if (end === undefined) {
        const one = await listOffset(caller, c.topic, c.partition, -1);
        end = one.errorCode === 0 ? one.offset : c.offset;
      }
      partitions.push({ topic: c.topic, partition: c.partition, committedOffset: c.offset, endOffset: end, lag: Math.max(0, end - c.offset) });
    }
    partitions.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    return { errorCode: 0, message: null, partitions };
  }

  /** A group coordinated by another broker: described there (ConsumerGroupDescribe, else DescribeGroups), as Kafka's admin client does. */
  async function describeRemoteGroup(caller: LocalCaller, groupId: string, coordinator: number, reply: FastifyReply) {
    const lag = await remoteLag(caller, groupId);
    if (lag.errorCode !== 0) return kafkaError(reply, lag.errorCode, lag.message);
    const totals = { totalLag: lag.partitions.reduce((x, p) => x + p.lag, 0), partitions: lag.partitions };
    const cgd: ConsumerGroupDescribeRequest = { groupIds: [groupId], includeAuthorizedOperations: false };
    const cg = await routed<ConsumerGroupDescribeResponse>(caller, groupRoute(groupId), ApiKey.ConsumerGroupDescribe, cgd, (x) => x.groups[0]?.errorCode ?? 0);
    const c = cg.groups[0]!;
    if (c.errorCode === 0) {
      return reply.send({ ...consumerGroupJson(c, coordinator), ...totals });
    }
    if (c.errorCode !== 69 /* GROUP_ID_NOT_FOUND: a classic group, or none */) return kafkaError(reply, c.errorCode, c.errorMessage);
    const dg: DescribeGroupsRequest = { groups: [groupId], includeAuthorizedOperations: false };
    const res = await routed<DescribeGroupsResponse>(caller, groupRoute(groupId), ApiKey.DescribeGroups, dg, (x) => x.groups[0]?.errorCode ?? 0);
    const g = res.groups[0]!;
    if (g.errorCode !== 0) return kafkaError(reply, g.errorCode, g.errorMessage);
    if (g.groupState === 'Dead' && lag.partitions.length === 0) return reply.status(404).send({ error: `unknown group ${groupId}`, errorCode: 'GROUP_ID_NOT_FOUND' });
    return reply.send({ ...classicGroupJson(g, g.groupState === 'Dead' ? 'Empty' : g.groupState, coordinator), ...totals });
  }

  app.get<{ Params: { group: string } }>('/groups/:group', async (req, reply) => {
    const b = broker();
    const coordinator = coordinatorOf(req.params.group);
    if (coordinator !== b.nodeId) {
      if (coordinator < 0)
        throw new RoutingError('COORDINATOR_NOT_AVAILABLE', `group ${req.params.group} has no coordinator now (its __consumer_offsets partition is offline)`);
      return describeRemoteGroup(req.caller!, req.params.group, coordinator, reply);
    }
    if (b.groupCoordinator.consumer.groups.has(req.params.group)) {
      // The consumer protocol (KIP-848): ConsumerGroupDescribe, assignments by the coordinator.
      const request: ConsumerGroupDescribeRequest = { groupIds: [req.params.group], includeAuthorizedOperations: false };
      const res = await send<ConsumerGroupDescribeResponse>(req.caller!, ApiKey.ConsumerGroupDescribe, request);
      const g = res.groups[0]!;
      if (g.errorCode !== 0) return kafkaError(reply, g.errorCode, g.errorMessage);
      const lag = await completeLag(req.caller!, groupLagJson(b, req.params.group));
      return reply.send({
        ...consumerGroupJson(g, b.nodeId),
        totalLag: lag?.totalLag ?? 0,
        partitions: lag?.partitions ?? [],
      });
    }
    if (b.groupCoordinator.streams.groups.has(req.params.group) && canDescribeGroup(b, req.caller!, req.params.group)) {
      // A streams group (KIP-1071): its state and lag here; its members through kafka-streams-groups.
      const lag = (await completeLag(req.caller!, groupLagJson(b, req.params.group)))!;
      return reply.send({ ...lag, protocol: '', coordinator: b.nodeId, members: [] });
    }
    const request: DescribeGroupsRequest = { groups: [req.params.group], includeAuthorizedOperations: false };
    const res = await send<DescribeGroupsResponse>(req.caller!, ApiKey.DescribeGroups, request);
    const g = res.groups[0]!;
    if (g.errorCode !== 0) return kafkaError(reply, g.errorCode, g.errorMessage);
    const lag = await completeLag(req.caller!, groupLagJson(b, req.params.group));
    if (g.groupState === 'Dead' && !lag) return reply.status(404).send({ error: `unknown group ${req.params.group}`, errorCode: 'GROUP_ID_NOT_FOUND' });
    return reply.send({
      ...classicGroupJson(g, g.groupState, b.nodeId),
      totalLag: lag?.totalLag ?? 0,
      partitions: lag?.partitions ?? [],
    });
  });

  app.get<{ Params: { group: string } }>('/groups/:group/lag', async (req, reply) => {
    const b = broker();
    const coordinator = coordinatorOf(req.params.group);
    if (coordinator !== b.nodeId) {
      // Coordinated elsewhere: as a client computes it. A group without offsets is unknown here too.
      const remote = await remoteLag(req.caller!, req.params.group);
      if (remote.errorCode !== 0) return kafkaError(reply, remote.errorCode, remote.message);
      if (remote.partitions.length === 0) return reply.status(404).send({ error: `unknown group ${req.params.group}`, errorCode: 'GROUP_ID_NOT_FOUND' });
      const list: ListGroupsRequest = { statesFilter: [], typesFilter: [] };
      const listed = await requests(b)
        .sendTo<ListGroupsResponse>(req.caller!, coordinator, ApiKey.ListGroups, list)
        .catch(() => null);
      const info = listed?.groups.find((g) => g.groupId === req.params.group);
      return reply.send({
        groupId: req.params.group,
        state: info?.groupState || 'Empty',
        protocolType: info?.protocolType ?? '',
        members: null,
        totalLag: remote.partitions.reduce((x, p) => x + p.lag, 0),
        partitions: remote.partitions,
      });
    }
    const lag = canDescribeGroup(b, req.caller!, req.params.group) ? await completeLag(req.caller!, groupLagJson(b, req.params.group)) : null;
    if (!lag) return reply.status(404).send({ error: `unknown group ${req.params.group}`, errorCode: 'GROUP_ID_NOT_FOUND' });
    return reply.send(lag);
  });

  /**
   * Resets a group's committed offsets, as `kafka-consumer-groups --reset-offsets --execute`: to
   * the earliest or latest offset, a given offset, or the first offset at a timestamp, for one
   * topic (all its partitions, or those listed). Kafka's coordinator refuses while the group has
   * members (the commit comes from outside the generation), and so does this.
   */
  app.post<{
    Params: { group: string };
    Body: { topic?: unknown; partitions?: unknown; to?: unknown; offset?: unknown; timestamp?: unknown };
  }>('/groups/:group/offsets/reset', async (req, reply) => {
    const b = broker();
    const caller = req.caller!;
    const body = req.body ?? {};
    if (typeof body.topic !== 'string') return badRequest(reply, 'topic is required');
    const t = b.topics.get(body.topic);
    if (!t) return reply.status(404).send({ error: `unknown topic ${body.topic}`, errorCode: 'UNKNOWN_TOPIC_OR_PARTITION' });
    const to = typeof body.to === 'string' ? body.to : 'earliest';
    // Every partition, hosted here or not (t.partitions has holes where this broker has no replica).
    let partitions: number[] = Array.from({ length: t.partitions.length }, (_, i) => i);
    if (Array.isArray(body.partitions) && body.partitions.length > 0) partitions = body.partitions.map(Number);
    if (partitions.some((p) => !Number.isInteger(p) || p < 0 || p >= t.partitions.length)) return badRequest(reply, `partitions must be 0..${t.partitions.length - 1}`);
    const targets: { partitionIndex: number; committedOffset: number; committedLeaderEpoch: number; committedMetadata: string | null }[] = [];
    for (const p of partitions) {
      let offset: number;
      if (to === 'offset') {
        offset = Number(body.offset);
        if (!Number.isInteger(offset) || offset < 0) return badRequest(reply, 'offset must be a non-negative integer');
        const [lo, hi] = [await listOffset(caller, t.name, p, -2), await listOffset(caller, t.name, p, -1)];
        if (lo.errorCode !== 0) return kafkaError(reply, lo.errorCode, null);
        offset = Math.min(Math.max(offset, lo.offset), hi.offset); // Kafka clamps to the valid range
      } else {
        const ts = to === 'earliest' ? -2 : to === 'latest' ? -1 : to === 'timestamp' ? Number(body.timestamp) : NaN;
        if (!Number.isFinite(ts)) return badRequest(reply, 'to must be earliest, latest, offset or timestamp (with offset/timestamp)');
        const r = await listOffset(caller, t.name, p, ts);
        if (r.errorCode !== 0) return kafkaError(reply, r.errorCode, null);
        offset = r.offset < 0 ? (await listOffset(caller, t.name, p, -1)).offset : r.offset;
      }
      targets.push({ partitionIndex: p, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: '' });
    }
    const request: OffsetCommitRequest = {
      groupId: req.params.group,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [{ name: t.name, topicId: t.id, partitions: targets }],
    };
    const res = await routed<OffsetCommitResponse>(caller, groupRoute(req.params.group), ApiKey.OffsetCommit, request, (x) => x.topics[0]?.partitions[0]?.errorCode ?? 0);
    const failed = res.topics.flatMap((x) => x.partitions).find((p) => p.errorCode !== 0);
    if (failed) {
      const name = errorName(failed.errorCode);
      const hint = /UNKNOWN_MEMBER_ID|ILLEGAL_GENERATION|REBALANCE_IN_PROGRESS|STALE_MEMBER_EPOCH/.test(name)
        ? ': the group has active members; stop its consumers first'
        : '';
      return kafkaError(reply, failed.errorCode, `${name}${hint}`, hint ? 409 : undefined);
    }
    return reply.send({ groupId: req.params.group, topic: t.name, offsets: targets.map((x) => ({ partition: x.partitionIndex, offset: x.committedOffset })) });
  });

  // ---------------------------------------------------------------------------------------------
  // Transactions, quotas

  /**
   * Transactions this broker coordinates, with their partitions. One is hanging when it has been
   * open longer than its own timeout: the coordinator should have aborted it by then (what
   * `kafka-transactions find-hanging` looks for from the partitions' side).
   */
  app.get<{ Querystring: { state?: string; offset?: string; limit?: string } }>('/transactions', async (req, reply) => {
    const caller = req.caller!;
    const b = broker();
    const list: ListTransactionsRequest = { stateFilters: req.query.state ? [req.query.state] : [], producerIdFilters: [], durationFilter: -1, transactionalIdPattern: null };
    const listed = await send<ListTransactionsResponse>(caller, ApiKey.ListTransactions, list);
    if (listed.errorCode !== 0) return kafkaError(reply, listed.errorCode, null);
    // In a cluster, every broker coordinates some: ListTransactions on each, as Kafka's admin client does.
    const coordinatorOfTxn = new Map<string, number>(listed.transactionStates.map((x) => [x.transactionalId, b.nodeId]));
    const all = [...listed.transactionStates];
    const unreachable = await askOtherBrokers<ListTransactionsResponse>(b, caller, ApiKey.ListTransactions, list, (res, nodeId) => {
      for (const x of res.transactionStates) {
        if (coordinatorOfTxn.has(x.transactionalId)) continue;
        coordinatorOfTxn.set(x.transactionalId, nodeId);
        all.push(x);
      }
    });
    all.sort((x, y) => byName(x.transactionalId, y.transactionalId));
    const p = paginate(all, req.query);
    const now = b.clock.now();
    // DescribeTransactions on each transaction's coordinator, one request per broker.
    const byNode = new Map<number, string[]>();
    for (const x of p.items) {
      const node = coordinatorOfTxn.get(x.transactionalId)!;
      byNode.set(node, [...(byNode.get(node) ?? []), x.transactionalId]);
    }
    const parts = await Promise.all(
      [...byNode].map(async ([node, ids]) => {
        const request: DescribeTransactionsRequest = { transactionalIds: ids };
        const res = await requests(b)
          .sendTo<DescribeTransactionsResponse>(caller, node, ApiKey.DescribeTransactions, request, 5000)
          .catch(() => null);
        return res?.transactionStates ?? [];
      }),
    );
    const described = parts.flat().sort((x, y) => byName(x.transactionalId, y.transactionalId));
    return reply.send({
      total: p.total,
      offset: p.offset,
      limit: p.limit,
      unreachableBrokers: unreachable,
      transactions: described.map((d) => {
        const open = d.transactionState === 'Ongoing' || d.transactionState === 'PrepareCommit' || d.transactionState === 'PrepareAbort';
        const durationMs = open && d.transactionStartTimeMs > 0 ? now - Number(d.transactionStartTimeMs) : null;
        return {
          transactionalId: d.transactionalId,
          coordinator: coordinatorOfTxn.get(d.transactionalId) ?? b.nodeId,
          state: d.transactionState,
          errorCode: d.errorCode === 0 ? null : errorName(d.errorCode),
          producerId: Number(d.producerId),
          producerEpoch: d.producerEpoch,
          timeoutMs: d.transactionTimeoutMs,
          startTimeMs: Number(d.transactionStartTimeMs) > 0 ? Number(d.transactionStartTimeMs) : null,
          durationMs,
          hanging: durationMs !== null && durationMs > d.transactionTimeoutMs,
          partitions: d.topics.flatMap((x) => x.partitions.map((pp) => ({ topic: x.topic, partition: pp }))),
        };
      }),
    });
  });

  /**
   * Open transactions as the partitions' leaders see them (DescribeProducers' view, what
   * `kafka-transactions find-hanging` reads): a partition whose producer still has a transaction
   * open. In a cluster, DescribeProducers goes to each broker for the partitions it leads, and
   * the producers' coordinators are found with ListTransactions and asked with
   * DescribeTransactions, as that tool does. One hangs when its coordinator has no ongoing
   * transaction of that producer covering the partition, or when it has been open longer than
   * transaction.max.timeout.ms, which no transaction may outlive. `unreachableBrokers` names the
   * brokers that did not answer (their partitions or transactions are missing).
   */
  app.get<{ Querystring: { hanging?: string; offset?: string; limit?: string } }>('/transactions/partitions', async (req, reply) => {
    const b = broker();
    const caller = req.caller!;
    const now = b.clock.now();
    const maxTimeoutMs = b.config.int('transaction.max.timeout.ms');
    const unreachable = new Set<number>();
    type Found = { topic: string; partition: number; leader: number; producerId: number; producerEpoch: number; startOffset: number; lastTimestamp: number };
    const found: Found[] = [];
    // The partitions' side: this broker's own leaders read here, the others' asked of them.
    const askOf = new Map<number, Map<string, number[]>>();
    for (const t of b.topics.values()) {
      if (!allowed(b, caller, AclOperation.READ, ResourceType.TOPIC, t.name)) continue;
      const states = b.cluster ? b.partitionStates(t) : null;
      const count = Math.max(t.partitions.length, states?.length ?? 0);
      for (let index = 0; index < count; index++) {
        const leader = states ? (states[index]?.leader ?? -1) : b.nodeId;
        if (leader < 0) continue; // offline: nobody can say
        if (leader !== b.nodeId) {
          const topics = askOf.get(leader) ?? new Map<string, number[]>();
          askOf.set(leader, topics);
          topics.set(t.name, [...(topics.get(t.name) ?? []), index]);
          continue;
        }
        for (const e of t.partitions[index]?.producers() ?? []) {
          if (e.ongoingTxnFirstOffset < 0) continue;
          found.push({
            topic: t.name,
            partition: index,
            leader,
            producerId: e.producerId,
            producerEpoch: e.epoch,
            startOffset: e.ongoingTxnFirstOffset,
            lastTimestamp: e.lastTimestamp,
          });
        }
      }
    }
    await Promise.all(
      [...askOf].map(async ([node, topics]) => {
        const request: DescribeProducersRequest = { topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) };
        const res = await requests(b)
          .sendTo<DescribeProducersResponse>(caller, node, ApiKey.DescribeProducers, request, 5000)
          .catch(() => null);
        if (!res) return void unreachable.add(node);
        for (const t of res.topics) {
          for (const p of t.partitions) {
            if (p.errorCode !== 0) continue;
            for (const e of p.activeProducers) {
              if (e.currentTxnStartOffset < 0) continue;
              found.push({
                topic: t.name,
                partition: p.partitionIndex,
                leader: node,
                producerId: Number(e.producerId),
                producerEpoch: e.producerEpoch,
                startOffset: Number(e.currentTxnStartOffset),
                lastTimestamp: Number(e.lastTimestamp),
              });
            }
          }
        }
      }),
    );

    // The coordinators' side: this broker's transactions, then ListTransactions (by producer id)
    // and DescribeTransactions on the others for the producers not coordinated here.
    type Coordinated = { transactionalId: string; state: string; has: (topic: string, partition: number) => boolean };
    const byProducer = new Map<number, Coordinated>();
    for (const [id, m] of b.transactionCoordinator.transactions) {
      byProducer.set(m.producerId, { transactionalId: id, state: m.state, has: (t, p) => m.partitions.get(t)?.has(p) ?? false });
    }
    const unknown = [...new Set(found.map((f) => f.producerId).filter((pid) => !byProducer.has(pid)))];
    if (b.cluster && unknown.length > 0) {
      const list: ListTransactionsRequest = { stateFilters: [], producerIdFilters: unknown, durationFilter: -1, transactionalIdPattern: null };
      await Promise.all(
        b
          .liveBrokers()
          .filter((x) => x.nodeId !== b.nodeId)
          .map(async ({ nodeId }) => {
            const listed = await requests(b)
              .sendTo<ListTransactionsResponse>(caller, nodeId, ApiKey.ListTransactions, list, 5000)
              .catch(() => null);
            if (!listed || listed.errorCode !== 0) return void unreachable.add(nodeId);
            if (listed.transactionStates.length === 0) return;
            const request: DescribeTransactionsRequest = { transactionalIds: listed.transactionStates.map((x) => x.transactionalId) };
            const described = await requests(b)
              .sendTo<DescribeTransactionsResponse>(caller, nodeId, ApiKey.DescribeTransactions, request, 5000)
              .catch(() => null);
            if (!described) return void unreachable.add(nodeId);
            for (const d of described.transactionStates) {
              if (d.errorCode !== 0) continue;
              const parts = new Set(d.topics.flatMap((x) => x.partitions.map((pp) => `${x.topic}\0${pp}`)));
              byProducer.set(Number(d.producerId), { transactionalId: d.transactionalId, state: d.transactionState, has: (t, p) => parts.has(`${t}\0${p}`) });
            }
          }),
      );
    }

    const open = found
      .sort((x, y) => byName(x.topic, y.topic) || x.partition - y.partition || x.producerId - y.producerId)
      .map((f) => {
        const coordinator = byProducer.get(f.producerId);
        const openForMs = Math.max(0, now - f.lastTimestamp);
        let reason: string | null = null;
        if (openForMs > maxTimeoutMs) reason = `open longer than transaction.max.timeout.ms (${maxTimeoutMs} ms)`;
        else if (coordinator && !(coordinator.state === 'Ongoing' && coordinator.has(f.topic, f.partition)) && !coordinator.state.startsWith('Prepare')) {
          reason = `the coordinator's transaction of ${coordinator.transactionalId} is ${coordinator.state} without this partition`;
        }
        return {
          topic: f.topic,
          partition: f.partition,
          leader: f.leader,
          producerId: f.producerId,
          producerEpoch: f.producerEpoch,
          startOffset: f.startOffset,
          lastTimestamp: f.lastTimestamp,
          openForMs,
          transactionalId: coordinator?.transactionalId ?? null,
          hanging: reason !== null,
          reason,
        };
      });
    const list = req.query.hanging === 'true' ? open.filter((o) => o.hanging) : open;
    const p = paginate(list, req.query);
    return reply.send({
      total: p.total,
      offset: p.offset,
      limit: p.limit,
      hanging: open.filter((o) => o.hanging).length,
      unreachableBrokers: [...unreachable].sort((x, y) => x - y),
      partitions: p.items,
    });
  });

  app.get('/quotas', async (req, reply) => {
    const request: DescribeClientQuotasRequest = { components: [], strict: false };
    const res = await send<DescribeClientQuotasResponse>(req.caller!, ApiKey.DescribeClientQuotas, request);
    if (res.errorCode !== 0) return kafkaError(reply, res.errorCode, res.errorMessage);
    return reply.send({
      quotas: (res.entries ?? []).map((e) => ({
        entity: Object.fromEntries(e.entity.map((x) => [x.entityType, x.entityName ?? '<default>'])),
        values: Object.fromEntries(e.values.map((v) => [v.key, v.value])),
      })),
    });
  });

  /**
   * Sets or removes client quotas (AlterClientQuotas, what `kafka-configs --entity-type users
   * --alter --add-config producer_byte_rate=...` sends): `{entity: {user?, "client-id"?, ip?},
   * set: {key: number}, delete: [key]}`. An entity value of null is the default entity.
   */
  app.post<{ Body: { entity?: unknown; set?: unknown; delete?: unknown } }>('/quotas', async (req, reply) => {
    const body = req.body ?? {};
    if (!body.entity || typeof body.entity !== 'object' || Array.isArray(body.entity)) return badRequest(reply, 'entity is required: {user, "client-id", ip}');
    const entity: { entityType: string; entityName: string | null }[] = [];
    for (const [entityType, name] of Object.entries(body.entity as Record<string, unknown>)) {
      if (name !== null && typeof name !== 'string') return badRequest(reply, `entity ${entityType} must be a name, or null for the default`);
      entity.push({ entityType, entityName: name === null || name === '<default>' ? null : name });
    }
    if (entity.length === 0) return badRequest(reply, 'entity needs at least one of user, client-id, ip');
    const ops: { key: string; value: number; remove: boolean }[] = [];
    if (body.set !== undefined && body.set !== null) {
      if (typeof body.set !== 'object' || Array.isArray(body.set)) return badRequest(reply, 'set must be an object of key: number');
      for (const [key, v] of Object.entries(body.set as Record<string, unknown>)) {
        const value = Number(v);
        if (v === '' || v === null || !Number.isFinite(value)) return badRequest(reply, `${key} must be a number`);
        ops.push({ key, value, remove: false });
      }
    }
    if (Array.isArray(body.delete)) for (const k of body.delete) ops.push({ key: String(k), value: 0, remove: true });
    if (ops.length === 0) return badRequest(reply, 'nothing to change: give set {key: number} and/or delete [key]');
    const request: AlterClientQuotasRequest = { entries: [{ entity, ops }], validateOnly: false };
    const res = await send<AlterClientQuotasResponse>(req.caller!, ApiKey.AlterClientQuotas, request);
    const r = res.entries[0];
    if (r && r.errorCode !== 0) return kafkaError(reply, r.errorCode, r.errorMessage);
    return reply.send({ entity: Object.fromEntries(entity.map((e) => [e.entityType, e.entityName ?? '<default>'])), altered: ops.map((o) => o.key) });
  });

  /** Every group's lag at once (what a lag exporter would poll). */
  app.get('/lag', async (req, reply) => {
    const { groups, unreachable } = await clusterGroups(req.caller!);
    const all = await Promise.all(groups.map((g) => listedLag(req.caller!, g)));
    return reply.send({ unreachableBrokers: unreachable, groups: all });
  });

  // The authorizer's view of the caller, for the console to hide what it cannot do.
  app.get('/whoami', (req, reply) => {
    const b = broker();
    const caller = req.caller!;
    return reply.send({
      principal: caller.principal,
      authorizer: b.security.authorizer !== null,
      describeCluster: canDescribeCluster(b, caller),
      alterCluster: !b.security.authorizer || b.security.authorizer.authorize(caller.principal, caller.host, AclOperation.ALTER, ResourceType.CLUSTER, 'kafka-cluster'),
    });
  });
};
