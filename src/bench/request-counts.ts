// How many Produce and consumer Fetch requests each broker answered, read from its request
// metrics: Tributary's Prometheus endpoint (kafka_network_requestmetrics_totaltimems_count) and
// Kafka's JMX bean kafka.network:type=RequestMetrics,name=TotalTimeMs (read with kafka-tools'
// JmxTool). Only the counts are compared: both brokers record each request's time rounded to
// whole milliseconds (Kafka's Request.updateRequestMetrics, and Tributary as Kafka does), so a
// histogram's mean over sub-millisecond requests is the share of them that took 0.5 ms or more,
// not a time per request. The broker's work per round trip shows in its CPU-seconds instead.
import { spawnSync } from 'node:child_process';
import { javaTool, type KafkaInstall } from './kafka.js';

/** Requests answered so far, per API. */
export interface RequestCounts {
  produce: number;
  fetch: number;
}

/** Reads Produce and consumers' fetches (FetchConsumer) from Tributary's /metrics (its `http.listeners`). */
export async function tributaryRequestCounts(httpPort: number): Promise<RequestCounts> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  // A family appears once the API has been asked; before that, nothing was answered.
  const count = (api: string) => {
    const line = new RegExp(`^kafka_network_requestmetrics_totaltimems_count\\{request="${api}"\\} (\\S+)$`, 'm').exec(text);
    return line ? Number(line[1]) : 0;
  };
  return { produce: count('Produce'), fetch: count('FetchConsumer') };
}

/**
 * Reads Produce and FetchConsumer counts from Kafka's JMX: consumers' fetches, not followers',
 * which park up to replica.fetch.wait.max.ms. Undefined if JmxTool fails.
 */
export function kafkaRequestCounts(install: KafkaInstall, jmxPort: number): RequestCounts | undefined {
  const bean = (api: string) => `kafka.network:type=RequestMetrics,name=TotalTimeMs,request=${api}`;
  const [cmd, args] = javaTool(install, 'org.apache.kafka.tools.JmxTool', [
    '--jmx-url',
    `service:jmx:rmi:///jndi/rmi://127.0.0.1:${jmxPort}/jmxrmi`,
    '--object-name',
    bean('Produce'),
    '--object-name',
    bean('FetchConsumer'),
    '--attributes',
    'Count',
    '--one-time',
    'true',
    '--report-format',
    'properties',
  ]);
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return undefined;
  // Lines like `kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce:Count=1200`.
  const count = (api: string) => {
    const line = new RegExp(`request=${api}:Count=(\\S+)$`, 'm').exec(r.stdout);
    return line ? Number(line[1]) : NaN;
  };
  const counts = { produce: count('Produce'), fetch: count('FetchConsumer') };
  return Number.isFinite(counts.produce) && Number.isFinite(counts.fetch) ? counts : undefined;
}

/** A cluster's request counts: its nodes' summed; undefined if any node's could not be read. */
export function summed(nodes: (RequestCounts | undefined)[]): RequestCounts | undefined {
  if (nodes.some((n) => n === undefined)) return undefined;
  return { produce: nodes.reduce((sum, n) => sum + n!.produce, 0), fetch: nodes.reduce((sum, n) => sum + n!.fetch, 0) };
}

/** Requests between two readings: the Produce requests, and the consumer fetches per round trip. */
export function requestsPerRound(before: RequestCounts, after: RequestCounts, rounds: number): Record<string, number> {
  return { produce_requests: after.produce - before.produce, fetches_per_round: (after.fetch - before.fetch) / rounds };
}
