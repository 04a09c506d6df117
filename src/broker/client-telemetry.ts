// KIP-714 client telemetry: the client-metrics subscriptions (CLIENT_METRICS config resources, set
// with IncrementalAlterConfigs/AlterConfigs as in Kafka) and the client instances that fetched
// one (GetTelemetrySubscriptions) and push their metrics (PushTelemetry). The latest push of each
// instance is kept, decoded, for /metrics (src/http/metrics.ts), which labels its series with the
// client id and instance id. Kafka needs a ClientTelemetry plugin to do anything with the pushes;
// here they are exposed as they come.
import { randomUUID } from 'node:crypto';
import type { Connection } from '../network/connection.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { OtlpSample } from './otlp.js';

/** Kafka's ConfigResource.Type CLIENT_METRICS. */
export const CLIENT_METRICS_RESOURCE = 16;

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/** The configs of a CLIENT_METRICS resource (Kafka's ClientMetricsConfigs). */
export const CLIENT_METRICS_CONFIGS: { name: string; default: string; doc: string }[] = [
  { name: 'metrics', default: '', doc: 'Metric name prefixes the matching clients push; "*" means all.' },
  { name: 'interval.ms', default: '300000', doc: 'How often matching clients push, 100..3600000 ms.' },
  {
    name: 'match',
    default: '',
    doc: 'Which clients: key=regex pairs over client_instance_id, client_id, client_software_name, client_software_version, client_source_address, client_source_port.',
  },
];

/**
 * A UUID as Kafka writes it (Uuid.toString: URL-safe base64 of the 16 bytes, no padding), which is
 * how clients report their instance id (Java's clientInstanceId(), librdkafka's): the
 * `client_instance_id` label and match selector use it, so they line up with the client's logs.
 */
export function kafkaUuidString(uuid: string): string {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex').toString('base64url');
}

const MATCH_KEYS = new Set(['client_instance_id', 'client_id', 'client_software_name', 'client_software_version', 'client_source_address', 'client_source_port']);

interface Subscription {
  name: string;
  metrics: string[];
  intervalMs: number;
  match: { key: string; pattern: RegExp }[];
}

/** What is known of one client instance. */
export interface ClientInstance {
  instanceId: string;
  clientId: string;
  softwareName: string;
  softwareVersion: string;
  sourceAddress: string;
  sourcePort: string;
  subscriptionId: number;
  metrics: string[];
  intervalMs: number;
  /** Monotonic ms of the last accepted push (0: none yet). */
  lastPushMs: number;
  /** The latest push, decoded. */
  samples: OtlpSample[];
  resource: Record<string, string>;
}

const splitList = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** Checks and parses a CLIENT_METRICS resource's configs; throws INVALID_CONFIG as Kafka does. */
export function parseSubscription(name: string, configs: Record<string, string>): Subscription {
  for (const key of Object.keys(configs)) {
    if (!CLIENT_METRICS_CONFIGS.some((c) => c.name === key)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown client metrics config: ${key}`);
  }
  const intervalMs = Number(configs['interval.ms'] ?? '300000');
  if (!Number.isInteger(intervalMs) || intervalMs < 100 || intervalMs > 3_600_000) {
    throw new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid value ${configs['interval.ms']} for interval.ms: must be 100..3600000`);
  }
  const match: { key: string; pattern: RegExp }[] = [];
  for (const item of splitList(configs.match ?? '')) {
    const eq = item.indexOf('=');
    const key = eq > 0 ? item.slice(0, eq).trim() : '';
    if (!MATCH_KEYS.has(key)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid match ${item}: expected one of ${[...MATCH_KEYS].join(', ')} = a regular expression`);
    try {
      match.push({ key, pattern: new RegExp(`^(?:${item.slice(eq + 1).trim()})$`) });
    } catch {
      throw new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid regular expression in match ${item}`);
    }
  }
  const metrics = splitList(configs.metrics ?? '').map((m) => (m === '*' ? '' : m));
  return { name, metrics, intervalMs, match };
}

/** A 32-bit id that changes whenever what a client is asked to push changes (FNV-1a). */
function subscriptionHash(parts: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < parts.length; i++) {
    h ^= parts.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

export class ClientTelemetry {
  /** CLIENT_METRICS resources by name: their configs as set. */
  readonly resources = new Map<string, Record<string, string>>();
  private subscriptions = new Map<string, Subscription>();
  readonly instances = new Map<string, ClientInstance>();
  /** Client software (ApiVersions v3+) per connection. */
  private readonly software = new WeakMap<Connection, { name: string; version: string }>();

  constructor(
    /** telemetry.max.bytes: the largest metrics payload a push may carry. */
    readonly maxBytes: () => number,
    private readonly monotonicMs: () => number,
  ) {}

  /** Sets (or with null removes) a CLIENT_METRICS resource; validates first. */
  setResource(name: string, configs: Record<string, string> | null): void {
    if (configs === null || Object.keys(configs).length === 0) {
      this.resources.delete(name);
      this.subscriptions.delete(name);
      return;
    }
    const parsed = parseSubscription(name, configs);
    this.resources.set(name, { ...configs });
    this.subscriptions.set(name, parsed);
  }

  noteSoftware(conn: Connection, name: string, version: string): void {
    if (name) this.software.set(conn, { name, version });
  }

  /** GetTelemetrySubscriptions: the instance (a new id for the zero UUID) and what it should push. */
  subscribe(instanceId: string, clientId: string, conn: Connection): ClientInstance {
    const id = instanceId === ZERO_UUID ? newInstanceId() : instanceId;
    const sw = this.software.get(conn) ?? { name: '', version: '' };
    const remote = conn.socket.remoteAddress ?? '';
    const selectors: Record<string, string> = {
      client_instance_id: kafkaUuidString(id),
      client_id: clientId,
      client_software_name: sw.name,
      client_software_version: sw.version,
      client_source_address: remote.startsWith('::ffff:') ? remote.slice(7) : remote,
      client_source_port: String(conn.socket.remotePort ?? ''),
    };
    const prefixes = new Set<string>();
    let intervalMs = Infinity;
    for (const s of this.subscriptions.values()) {
      if (!s.match.every((m) => m.pattern.test(selectors[m.key] ?? ''))) continue;
      for (const p of s.metrics) prefixes.add(p);
      if (s.metrics.length > 0) intervalMs = Math.min(intervalMs, s.intervalMs);
    }
    // Everything ("") subsumes every other prefix, as the client reads it.
    const metrics = prefixes.has('') ? [''] : [...prefixes].sort();
    if (intervalMs === Infinity) intervalMs = 300_000;
    const previous = this.instances.get(id);
    const instance: ClientInstance = {
      instanceId: id,
      clientId,
      softwareName: sw.name,
      softwareVersion: sw.version,
      sourceAddress: selectors.client_source_address!,
      sourcePort: selectors.client_source_port!,
      subscriptionId: subscriptionHash(`${id}|${intervalMs}|${metrics.join(',')}`),
      metrics,
      intervalMs,
      lastPushMs: previous?.lastPushMs ?? 0,
      samples: previous?.samples ?? [],
      resource: previous?.resource ?? {},
    };
    this.instances.set(id, instance);
    return instance;
  }

  /**
   * Checks a push before its payload is decoded; returns the instance or throws with Kafka's
   * error code: UNKNOWN_SUBSCRIPTION_ID (unknown instance or an outdated subscription),
   * TELEMETRY_TOO_LARGE, THROTTLING_QUOTA_EXCEEDED (faster than half the interval, unless terminating).
   */
  admitPush(instanceId: string, subscriptionId: number, bytes: number, terminating: boolean): ClientInstance {
    const instance = this.instances.get(instanceId);
    if (!instance || instance.subscriptionId !== subscriptionId) {
      throw new KafkaError(ErrorCode.UNKNOWN_SUBSCRIPTION_ID, 'Unknown client instance or outdated subscription; get the subscriptions again');
    }
    if (bytes > this.maxBytes()) throw new KafkaError(ErrorCode.TELEMETRY_TOO_LARGE, `Telemetry of ${bytes} bytes exceeds telemetry.max.bytes=${this.maxBytes()}`);
    const now = this.monotonicMs();
    if (!terminating && instance.lastPushMs > 0 && now - instance.lastPushMs < instance.intervalMs / 2) {
      throw new KafkaError(ErrorCode.THROTTLING_QUOTA_EXCEEDED, `Pushed again after ${Math.round(now - instance.lastPushMs)} ms; the interval is ${instance.intervalMs} ms`);
    }
    instance.lastPushMs = now;
    return instance;
  }

  /** Stores a decoded push (only the subscribed metrics); a terminating client's series go away. */
  accept(instance: ClientInstance, samples: OtlpSample[], resource: Record<string, string>, terminating: boolean): void {
    if (terminating) {
      this.instances.delete(instance.instanceId);
      return;
    }
    const wanted = instance.metrics;
    instance.samples = wanted.length === 1 && wanted[0] === '' ? samples : samples.filter((s) => wanted.some((p) => s.name.startsWith(p)));
    instance.resource = resource;
  }

  /** Instances that pushed within three intervals (older ones are forgotten). */
  live(): ClientInstance[] {
    const now = this.monotonicMs();
    const out: ClientInstance[] = [];
    for (const [id, i] of this.instances) {
      const last = i.lastPushMs;
      if (last > 0 && now - last > 3 * i.intervalMs) {
        this.instances.delete(id);
        continue;
      }
      if (i.samples.length > 0) out.push(i);
    }
    return out;
  }
}

/** A random client instance id (never the zero UUID). */
function newInstanceId(): string {
  return randomUUID();
}
