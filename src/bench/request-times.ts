// The brokers' own time per request, read from each broker's metrics: Tributary's Prometheus
// endpoint (kafka_network_requestmetrics_totaltimems) and Kafka's JMX bean
// kafka.network:type=RequestMetrics,name=TotalTimeMs (read with kafka-tools' JmxTool). Both run
// from the request fully read off the socket to its response written to the socket (Tributary's
// until the write callback of the response's last piece), so they measure the same span. A
// latency workload through two JVM clients is mostly the clients' own time on two cores; the
// brokers' share of each round trip says how much of the figure a broker can move at all.
import { spawnSync } from 'node:child_process';
import { javaTool, type KafkaInstall } from './kafka.js';

/** Requests answered so far and the milliseconds they took in total, per API. */
export interface RequestTimes {
  produce: { count: number; totalMs: number };
  fetch: { count: number; totalMs: number };
}

/** Reads Produce and consumers' fetches (FetchConsumer) from Tributary's /metrics (its `http.listeners`). */
export async function tributaryRequestTimes(httpPort: number): Promise<RequestTimes> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  // A family appears once the API has been asked; before that, nothing was answered.
  const value = (kind: 'sum' | 'count', api: string) => {
    const line = new RegExp(`^kafka_network_requestmetrics_totaltimems_${kind}\\{request="${api}"\\} (\\S+)$`, 'm').exec(text);
    return line ? Number(line[1]) : 0;
  };
  return {
    produce: { count: value('count', 'Produce'), totalMs: value('sum', 'Produce') },
    fetch: { count: value('count', 'FetchConsumer'), totalMs: value('sum', 'FetchConsumer') },
  };
}

/**
 * Reads Produce and FetchConsumer TotalTimeMs (count and mean) from Kafka's JMX: consumers'
 * fetches, not followers', which park up to replica.fetch.wait.max.ms. Undefined if JmxTool fails.
 */
export function kafkaRequestTimes(install: KafkaInstall, jmxPort: number): RequestTimes | undefined {
  const bean = (api: string) => `kafka.network:type=RequestMetrics,name=TotalTimeMs,request=${api}`;
  const [cmd, args] = javaTool(install, 'org.apache.kafka.tools.JmxTool', [
    '--jmx-url',
    `service:jmx:rmi:///jndi/rmi://127.0.0.1:${jmxPort}/jmxrmi`,
    '--object-name',
    bean('Produce'),
    '--object-name',
    bean('FetchConsumer'),
    '--attributes',
    'Count,Mean',
    '--one-time',
    'true',
    '--report-format',
    'properties',
  ]);
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return undefined;
  // Lines like `kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce:Mean=0.61`.
  const attribute = (api: string, name: string) => {
    const line = new RegExp(`request=${api}:${name}=(\\S+)$`, 'm').exec(r.stdout);
    return line ? Number(line[1]) : NaN;
  };
  const of = (api: string) => {
    const count = attribute(api, 'Count');
    return { count, totalMs: count * attribute(api, 'Mean') };
  };
  const times = { produce: of('Produce'), fetch: of('FetchConsumer') };
  return Number.isFinite(times.produce.totalMs) && Number.isFinite(times.fetch.totalMs) ? times : undefined;
}

/** A cluster's request times: its nodes' summed; undefined if any node's could not be read. */
export function summed(nodes: (RequestTimes | undefined)[]): RequestTimes | undefined {
  if (nodes.some((n) => n === undefined)) return undefined;
  const add = (key: keyof RequestTimes) => ({
    count: nodes.reduce((sum, n) => sum + n![key].count, 0),
    totalMs: nodes.reduce((sum, n) => sum + n![key].totalMs, 0),
  });
  return { produce: add('produce'), fetch: add('fetch') };
}

/**
 * The brokers' time per round trip between two readings: Produce and Fetch milliseconds spent,
 * in microseconds per round, and the fetches each round took.
 */
export function brokerShare(before: RequestTimes, after: RequestTimes, rounds: number): Record<string, number> {
  const produceMs = after.produce.totalMs - before.produce.totalMs;
  const fetchMs = after.fetch.totalMs - before.fetch.totalMs;
  return {
    broker_us_per_round: ((produceMs + fetchMs) * 1000) / rounds,
    broker_produce_us: produceShare(before, after).broker_produce_us!,
    broker_fetch_us: (fetchMs * 1000) / Math.max(1, after.fetch.count - before.fetch.count),
    fetches_per_round: (after.fetch.count - before.fetch.count) / rounds,
  };
}

/** The broker's mean time per Produce request between two readings, and how many it answered. */
export function produceShare(before: RequestTimes, after: RequestTimes): Record<string, number> {
  const requests = after.produce.count - before.produce.count;
  return { broker_produce_us: ((after.produce.totalMs - before.produce.totalMs) * 1000) / Math.max(1, requests), produce_requests: requests };
}
