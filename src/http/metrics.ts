// GET /metrics: the Prometheus text exposition (format 0.0.4).
//
// Names are the ones Prometheus' JMX exporter gives Kafka's MBeans with its common Kafka rules
// (lowercased; `kafka.<domain>:type=<T>,name=<N>` → `kafka_<domain>_<t>_<n>`, `...PerSec` Count
// attributes → `_total` counters, tags → labels), so dashboards built for a JMX-exported Kafka
// work. Consumer lag uses kafka_exporter's names (`kafka_consumergroup_lag`), which lag dashboards
// expect. README "Observability" lists the mapping. Process and Node.js metrics come from
// prom-client's default collectors. Client metrics pushed over KIP-714 follow (telemetry.ts).
//
// Everything is read from the broker at scrape time: the request path only bumps counters
// (src/broker/metrics.ts).
import { collectDefaultMetrics, Registry } from 'prom-client';
import { errorName } from '../protocol/errors.js';
import type { Broker } from '../broker/broker.js';
import type { Histogram, TopicMetrics } from '../broker/metrics.js';
import type { HttpRoutes } from './context.js';
import { kafkaUuidString } from '../broker/client-telemetry.js';
import { LeaderHighWatermarks } from '../broker/leader-offsets.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string | number>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Builds the text format: each family's HELP and TYPE once, then its samples. */
export class Exposition {
  private readonly out: string[] = [];
  private readonly declared = new Set<string>();

  has(name: string): boolean {
    return this.declared.has(name);
  }

  family(name: string, type: 'counter' | 'gauge' | 'histogram' | 'untyped', help: string): this {
    if (this.declared.has(name)) throw new Error(`metric family ${name} declared twice`);
    this.declared.add(name);
    this.out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels | null, value: number): this {
    let l = '';
    if (labels) {
      const parts: string[] = [];
      for (const [k, v] of Object.entries(labels)) parts.push(`${k}="${escapeLabel(String(v))}"`);
      if (parts.length > 0) l = `{${parts.join(',')}}`;
    }
    this.out.push(`${name}${l} ${formatValue(value)}`);
    return this;
  }

  histogram(name: string, labels: Labels, h: Histogram): this {
    let cumulative = 0;
    for (let i = 0; i < h.bounds.length; i++) {
      cumulative += h.counts[i]!;
      this.sample(`${name}_bucket`, { ...labels, le: String(h.bounds[i]) }, cumulative);
    }
    cumulative += h.counts[h.bounds.length]!;
    this.sample(`${name}_bucket`, { ...labels, le: '+Inf' }, cumulative);
    this.sample(`${name}_sum`, labels, h.sum);
    this.sample(`${name}_count`, labels, h.count);
    return this;
  }

  /** Appends an already formatted exposition (prom-client's). */
  raw(text: string): this {
    if (text.trim() !== '') this.out.push(text.trimEnd());
    return this;
  }

  toString(): string {
    return this.out.join('\n') + '\n';
  }
}

const TOPIC_METRICS: { field: keyof TopicMetrics; name: string; help: string }[] = [
  { field: 'bytesIn', name: 'bytesin', help: 'Bytes of record batches appended by producers (BytesInPerSec).' },
  { field: 'bytesOut', name: 'bytesout', help: 'Bytes of record batches returned to fetchers (BytesOutPerSec).' },
  { field: 'messagesIn', name: 'messagesin', help: 'Records appended by producers (MessagesInPerSec).' },
  { field: 'produceRequests', name: 'totalproducerequests', help: 'Produce requests, per partition (TotalProduceRequestsPerSec).' },
  { field: 'failedProduceRequests', name: 'failedproducerequests', help: 'Produce requests that failed, per partition (FailedProduceRequestsPerSec).' },
  { field: 'fetchRequests', name: 'totalfetchrequests', help: 'Fetch requests, per partition (TotalFetchRequestsPerSec).' },
  { field: 'failedFetchRequests', name: 'failedfetchrequests', help: 'Fetch requests that failed, per partition (FailedFetchRequestsPerSec).' },
];

/**
 * kafka.network:type=RequestMetrics histograms, per API, in Kafka's names: where a request's time
 * went, from its frame received to its response written (see ApiMetrics in src/broker/metrics.ts).
 */
const REQUEST_HISTOGRAMS: {
  field:
    | 'requestQueueTimeMs'
    | 'localTimeMs'
    | 'remoteTimeMs'
    | 'throttleTimeMs'
    | 'responseQueueTimeMs'
    | 'responseSendTimeMs'
    | 'totalTimeMs'
    | 'requestBytes'
    | 'messageConversionsTimeMs'
    | 'temporaryMemoryBytes';
  name: string;
  help: string;
}[] = [
  { field: 'requestQueueTimeMs', name: 'requestqueuetimems', help: 'Milliseconds from a request received to the broker starting on it, per API (RequestQueueTimeMs).' },
  {
    field: 'localTimeMs',
    name: 'localtimems',
    help: "Milliseconds of the broker's own work on a request, per API: start to response built, less the remote time (LocalTimeMs).",
  },
  {
    field: 'remoteTimeMs',
    name: 'remotetimems',
    help: 'Milliseconds a request was parked waiting on others (fetch purgatory, acks=all, group rebalance), per API (RemoteTimeMs).',
  },
  { field: 'throttleTimeMs', name: 'throttletimems', help: 'Throttle time given in responses by the quotas, per API (ThrottleTimeMs).' },
  {
    field: 'responseQueueTimeMs',
    name: 'responsequeuetimems',
    help: "Milliseconds from a response built to its write starting (behind the connection's earlier responses), per API (ResponseQueueTimeMs).",
  },
  {
    field: 'responseSendTimeMs',
    name: 'responsesendtimems',
    help: 'Milliseconds from a response handed to the socket to its write completing, per API (ResponseSendTimeMs).',
  },
  { field: 'totalTimeMs', name: 'totaltimems', help: 'Milliseconds from a request received to its response written, per API (TotalTimeMs).' },
  { field: 'requestBytes', name: 'requestbytes', help: 'Size of requests in bytes, per API (RequestBytes).' },
  {
    field: 'messageConversionsTimeMs',
    name: 'messageconversionstimems',
    help: 'Milliseconds converting record batches between formats, Produce and Fetch only; always 0, nothing is converted (MessageConversionsTimeMs).',
  },
  {
    field: 'temporaryMemoryBytes',
    name: 'temporarymemorybytes',
    help: 'Bytes a request took to convert or decompress its records, Produce and Fetch only; always 0, batches stay opaque bytes (TemporaryMemoryBytes).',
  },
];

const GROUP_STATES = ['PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead', 'Empty'] as const;

/**
 * The broker's metrics in the text format (without the process metrics). `highWatermark` gives
 * the end offsets consumer lag is computed against (default: this broker's replicas).
 */
export function brokerExposition(
  broker: Broker,
  e = new Exposition(),
  highWatermark: (topic: string, partition: number) => number | undefined = (topic, partition) => broker.partition(topic, partition)?.highWatermark,
): Exposition {
  const m = broker.metrics;
  const node = broker.nodeId;

  // kafka.server:type=BrokerTopicMetrics,name=*PerSec[,topic=*]
  for (const tm of TOPIC_METRICS) {
    const name = `kafka_server_brokertopicmetrics_${tm.name}_total`;
    e.family(name, 'counter', tm.help);
    e.sample(name, null, m.allTopics[tm.field]);
    for (const [topic, t] of m.topics) e.sample(name, { topic }, t[tm.field]);
  }

  // kafka.network:type=RequestMetrics,name=RequestsPerSec|ErrorsPerSec|<the histograms above>,request=*
  e.family('kafka_network_requestmetrics_requests_total', 'counter', 'Requests answered, per API (RequestsPerSec).');
  for (const a of m.requestMetrics()) e.sample('kafka_network_requestmetrics_requests_total', { request: a.name }, a.requests.value);
  e.family('kafka_network_requestmetrics_errors_total', 'counter', 'Error codes in responses, per API and Kafka error name (ErrorsPerSec; NONE is not counted).');
  for (const a of m.requestMetrics())
    for (const [code, c] of a.errors) e.sample('kafka_network_requestmetrics_errors_total', { request: a.name, error: errorName(code) }, c.value);
  for (const h of REQUEST_HISTOGRAMS) {
    const name = `kafka_network_requestmetrics_${h.name}`;
    e.family(name, 'histogram', h.help);
    for (const a of m.requestMetrics()) {
      const hist = a[h.field];
      if (hist !== null && a.requests.value > 0) e.histogram(name, { request: a.name }, hist);
    }
  }

  // Network: connections, the request queue and the request memory pool.
  e.family('kafka_server_socket_server_metrics_connection_count', 'gauge', 'Open client connections on the Kafka listener (socket-server-metrics connection-count).');
  for (const l of broker.listenerStats()) e.sample('kafka_server_socket_server_metrics_connection_count', { listener: l.name }, l.connections);
  e.family('kafka_network_requestchannel_requestqueuesize', 'gauge', 'Requests received and not answered yet (RequestQueueSize; one event loop, no handler threads).');
  e.sample('kafka_network_requestchannel_requestqueuesize', null, m.requestsInFlight);
  const pool = broker.requestMemory;
  e.family('kafka_network_socketserver_memorypoolused', 'gauge', 'Bytes of the request memory pool (queued.max.request.bytes) in use (MemoryPoolUsed).');
  e.sample('kafka_network_socketserver_memorypoolused', null, pool.usedBytes);
  e.family('kafka_network_socketserver_memorypoolavailable', 'gauge', 'Bytes of the request memory pool still free; -1 when unbounded (MemoryPoolAvailable).');
  e.sample('kafka_network_socketserver_memorypoolavailable', null, pool.hardLimit > 0 ? Math.max(0, pool.hardLimit - pool.usedBytes) : -1);
  e.family('kafka_server_delayedoperationpurgatory_purgatorysize', 'gauge', 'Fetches parked until data arrives or max.wait.ms passes (PurgatorySize).');
  e.sample('kafka_server_delayedoperationpurgatory_purgatorysize', { delayedoperation: 'Fetch' }, m.delayedFetches);

  // Partitions: kafka.server:type=ReplicaManager, kafka.controller:type=KafkaController, kafka.log:type=Log.
  let partitionCount = 0;
  let leaders = 0;
  let underReplicated = 0;
  let underMinIsr = 0;
  let offline = 0;
  let globalPartitions = 0;
  const logLines: { labels: Labels; size: number; segments: number; start: number; end: number }[] = [];
  for (const t of broker.topics.values()) {
    const minIsr = Number(t.configs.get('min.insync.replicas')?.value ?? 1);
    const states = broker.cluster ? broker.partitionStates(t) : null;
    globalPartitions += t.partitions.length;
    for (let i = 0; i < t.partitions.length; i++) {
      if (states && (states[i]?.leader ?? -1) < 0) offline++;
      const p = t.partitions[i];
      if (!p) continue;
      partitionCount++;
      if (p.isLeader) {
        leaders++;
        if (p.isr.length < p.replicas.length) underReplicated++;
        if (p.isr.length < minIsr) underMinIsr++;
      }
      logLines.push({ labels: { topic: t.name, partition: i }, size: p.sizeInBytes, segments: p.segmentCount, start: p.logStartOffset, end: p.logEndOffset });
    }
  }
  const isController = broker.controllerId() === node;
  const gauge = (name: string, help: string, value: number) => e.family(name, 'gauge', help).sample(name, null, value);
  gauge('kafka_server_replicamanager_partitioncount', 'Partitions with a replica on this broker (PartitionCount).', partitionCount);
  gauge('kafka_server_replicamanager_leadercount', 'Partitions this broker leads (LeaderCount).', leaders);
  gauge('kafka_server_replicamanager_underreplicatedpartitions', 'Partitions led here with replicas out of the ISR (UnderReplicatedPartitions).', underReplicated);
  gauge('kafka_server_replicamanager_underminisrpartitioncount', 'Partitions led here whose ISR is below min.insync.replicas (UnderMinIsrPartitionCount).', underMinIsr);
  e.family('kafka_server_replicamanager_isrshrinks_total', 'counter', 'ISR shrinks of partitions led here (IsrShrinksPerSec).');
  e.sample('kafka_server_replicamanager_isrshrinks_total', null, m.isrShrinks.value);
  e.family('kafka_server_replicamanager_isrexpands_total', 'counter', 'ISR expansions of partitions led here (IsrExpandsPerSec).');
  e.sample('kafka_server_replicamanager_isrexpands_total', null, m.isrExpands.value);
  gauge('kafka_controller_kafkacontroller_activecontrollercount', '1 on the active controller, 0 elsewhere (ActiveControllerCount).', isController ? 1 : 0);
  gauge(
    'kafka_controller_kafkacontroller_offlinepartitionscount',
    'Partitions without a leader; reported by the active controller only (OfflinePartitionsCount).',
    isController ? offline : 0,
  );
  gauge('kafka_controller_kafkacontroller_globaltopiccount', 'Topics in the cluster (GlobalTopicCount).', broker.topics.size);
  gauge('kafka_controller_kafkacontroller_globalpartitioncount', 'Partitions in the cluster (GlobalPartitionCount).', globalPartitions);

  e.family('kafka_log_log_size', 'gauge', 'Bytes of a partition log on disk (Size).');
  for (const l of logLines) e.sample('kafka_log_log_size', l.labels, l.size);
  e.family('kafka_log_log_numlogsegments', 'gauge', 'Segments of a partition log (NumLogSegments).');
  for (const l of logLines) e.sample('kafka_log_log_numlogsegments', l.labels, l.segments);
  e.family('kafka_log_log_logstartoffset', 'gauge', 'First offset of a partition log (LogStartOffset).');
  for (const l of logLines) e.sample('kafka_log_log_logstartoffset', l.labels, l.start);
  e.family('kafka_log_log_logendoffset', 'gauge', 'Offset after the last record of a partition log (LogEndOffset).');
  for (const l of logLines) e.sample('kafka_log_log_logendoffset', l.labels, l.end);

  // Group coordinator: kafka.coordinator.group:type=GroupMetadataManager.
  const gc = broker.groupCoordinator;
  const byState = new Map<string, number>(GROUP_STATES.map((s) => [s, 0]));
  for (const g of gc.groups.values()) byState.set(g.state, (byState.get(g.state) ?? 0) + 1);
  gauge('kafka_coordinator_group_groupmetadatamanager_numgroups', 'Consumer groups this broker coordinates (NumGroups).', gc.groups.size);
  for (const s of GROUP_STATES) {
    gauge(`kafka_coordinator_group_groupmetadatamanager_numgroups${s.toLowerCase()}`, `Groups in state ${s} (NumGroups${s}).`, byState.get(s) ?? 0);
  }
  let numOffsets = 0;
  for (const topics of gc.offsets.values()) for (const parts of topics.values()) numOffsets += parts.size;
  gauge('kafka_coordinator_group_groupmetadatamanager_numoffsets', 'Committed offsets this broker holds (NumOffsets).', numOffsets);

  // Transaction coordinator: transactional ids by state.
  const txnStates = new Map<string, number>();
  for (const t of broker.transactionCoordinator.list([], [])) txnStates.set(t.state, (txnStates.get(t.state) ?? 0) + 1);
  e.family('kafka_coordinator_transaction_transactionalids', 'gauge', 'Transactional ids this broker coordinates, by state.');
  for (const [state, n] of txnStates) e.sample('kafka_coordinator_transaction_transactionalids', { state }, n);

  // Consumer lag (kafka_exporter's names): the committed offsets of the groups this broker
  // coordinates (a group's offsets live on its coordinator only, so each group is exported once
  // across a cluster) against the partitions' high watermarks as their leaders know them.
  e.family('kafka_consumergroup_current_offset', 'gauge', 'Committed offset of a consumer group on a partition.');
  const lagRows: { labels: Labels; lag: number }[] = [];
  const lagSums = new Map<string, { group: string; topic: string; lag: number }>();
  for (const groupId of gc.offsets.keys()) {
    for (const l of gc.lag(groupId, highWatermark)) {
      const labels = { consumergroup: groupId, topic: l.topic, partition: l.partition };
      e.sample('kafka_consumergroup_current_offset', labels, l.committed);
      lagRows.push({ labels, lag: l.lag });
      const key = `${groupId}\u0000${l.topic}`;
      const sum = lagSums.get(key) ?? { group: groupId, topic: l.topic, lag: 0 };
      sum.lag += l.lag;
      lagSums.set(key, sum);
    }
  }
  e.family('kafka_consumergroup_lag', 'gauge', 'High watermark minus the committed offset of a consumer group on a partition.');
  for (const r of lagRows) e.sample('kafka_consumergroup_lag', r.labels, r.lag);
  e.family('kafka_consumergroup_lag_sum', 'gauge', 'Lag of a consumer group summed over the partitions of a topic.');
  for (const s of lagSums.values()) e.sample('kafka_consumergroup_lag_sum', { consumergroup: s.group, topic: s.topic }, s.lag);
  e.family('kafka_consumergroup_members', 'gauge', 'Members of a consumer group.');
  for (const g of gc.groups.values()) if (g.state !== 'Dead') e.sample('kafka_consumergroup_members', { consumergroup: g.groupId }, g.members.size);
  for (const g of [...gc.consumer.groups.values(), ...gc.streams.groups.values()]) {
    if (!gc.groups.has(g.groupId)) e.sample('kafka_consumergroup_members', { consumergroup: g.groupId }, g.members.size);
  }
  return e;
}

/** An OTLP metric or attribute name as a Prometheus one: dots and other characters become '_'. */
export function prometheusName(name: string): string {
  const n = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(n) ? `_${n}` : n;
}

function labelName(name: string): string {
  const n = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(n) || n.startsWith('__') ? `_${n}` : n;
}

/**
 * KIP-714: the latest metrics each live client instance pushed, one family per metric name, each
 * series labelled with the client's instance id, client id and software, then its own attributes.
 * Monotonic sums are counters (named with `_total`), gauges and non-monotonic sums gauges,
 * histograms histograms. A name pushed as two different kinds keeps the first.
 */
export function clientTelemetryExposition(broker: Broker, e: Exposition): Exposition {
  type Row = { labels: Labels; value: number; histogram?: { bounds: number[]; counts: number[]; sum: number; count: number } };
  const families = new Map<string, { kind: 'gauge' | 'counter' | 'histogram'; help: string; rows: Row[]; seen: Set<string> }>();
  for (const inst of broker.telemetry.live()) {
    const base: Labels = {
      client_instance_id: kafkaUuidString(inst.instanceId),
      client_id: inst.clientId,
      client_software_name: inst.softwareName,
      client_software_version: inst.softwareVersion,
    };
    for (const s of inst.samples) {
      let name = prometheusName(s.name);
      if (s.kind === 'counter' && !name.endsWith('_total')) name += '_total';
      let f = families.get(name);
      if (!f) families.set(name, (f = { kind: s.kind, help: s.description || `${s.name} (pushed by clients, KIP-714)`, rows: [], seen: new Set() }));
      if (f.kind !== s.kind) continue;
      const labels: Labels = { ...base };
      for (const [k, v] of Object.entries(s.attributes)) {
        const l = labelName(k);
        if (!(l in labels) && l !== 'le') labels[l] = v;
      }
      const key = JSON.stringify(labels);
      if (f.seen.has(key)) continue;
      f.seen.add(key);
      f.rows.push({ labels, value: s.value, histogram: s.histogram });
    }
  }
  for (const [name, f] of families) {
    // A client cannot shadow (or break) the broker's own series.
    if (e.has(name) || f.rows.length === 0) continue;
    e.family(name, f.kind, f.help);
    for (const r of f.rows) {
      if (f.kind !== 'histogram') e.sample(name, r.labels, r.value);
      else if (r.histogram) {
        const h = r.histogram;
        for (let i = 0; i < h.bounds.length && i < h.counts.length; i++) e.sample(`${name}_bucket`, { ...r.labels, le: String(h.bounds[i]) }, h.counts[i]!);
        e.sample(`${name}_bucket`, { ...r.labels, le: '+Inf' }, h.count);
        e.sample(`${name}_sum`, r.labels, h.sum);
        e.sample(`${name}_count`, r.labels, h.count);
      }
    }
  }
  return e;
}

/**
 * The end offsets the lag series need: every partition the groups coordinated here committed
 * offsets on, led here or asked of its leader (cached, see LeaderHighWatermarks).
 */
async function lagEndOffsets(broker: Broker, leaders: LeaderHighWatermarks): Promise<(topic: string, partition: number) => number | undefined> {
  const wanted: { topic: string; partition: number }[] = [];
  for (const byTopic of broker.groupCoordinator.offsets.values()) {
    for (const [topic, parts] of byTopic) for (const partition of parts.keys()) wanted.push({ topic, partition });
  }
  const ends = await leaders.highWatermarks(wanted);
  return (topic, partition) => ends.get(`${topic}\0${partition}`);
}

export const metricsRoutes: HttpRoutes = (app, ctx) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // One cache per broker object (the HTTP server outlives a broker restart in tests).
  const leaderOffsets = new WeakMap<Broker, LeaderHighWatermarks>();
  app.get('/metrics', async (_req, reply) => {
    const e = new Exposition();
    const broker = ctx.broker;
    if (broker) {
      let leaders = leaderOffsets.get(broker);
      if (!leaders) leaderOffsets.set(broker, (leaders = new LeaderHighWatermarks(broker)));
      brokerExposition(broker, e, await lagEndOffsets(broker, leaders));
      clientTelemetryExposition(broker, e);
    }
    e.raw(await registry.metrics());
    return reply.header('content-type', CONTENT_TYPE).send(e.toString());
  });
};
