// The client's view of a cluster: bootstrap servers, Metadata, one connection per broker,
// partition leaders, and a bounded retry for answers that mean "your metadata is stale".
import type { ClientSecurity } from './sasl.js';
import { ApiKey, type MetadataResponse } from '../protocol/generated/index.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { Connection } from './connection.js';
import { KafkaClientError } from './errors.js';

export interface ClusterOptions {
  /** "host:port" or several, comma separated or as an array. */
  bootstrap: string | string[];
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How many times an operation is retried after a metadata refresh (default 5). */
  retries?: number;
  /** Backoff before the first retry, doubled each time (default 100 ms). */
  retryBackoffMs?: number;
  /** TLS and SASL for every connection (the CLI's cli/client-properties.ts makes one from Kafka's client properties). */
  security?: ClientSecurity;
}

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offline: number[];
  errorCode: number;
}

export interface TopicInfo {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionInfo[];
}

export function parseHostPort(s: string): { host: string; port: number } {
  const trimmed = s.trim();
  const colon = trimmed.lastIndexOf(':');
  if (colon <= 0) throw new KafkaClientError('INVALID_CONFIG', `expected host:port, got "${s}"`);
  let host = trimmed.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(trimmed.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new KafkaClientError('INVALID_CONFIG', `bad port in "${s}"`);
  return { host, port };
}

export class Cluster {
  readonly options: Required<Omit<ClusterOptions, 'bootstrap' | 'security'>> & { bootstrap: string[]; security?: ClientSecurity };
  private readonly connections = new Map<string, Promise<Connection>>();
  readonly brokers = new Map<number, BrokerInfo>();
  readonly topics = new Map<string, TopicInfo>();
  clusterId: string | null = null;
  controllerId = -1;
  private closedFlag = false;

  constructor(options: ClusterOptions) {
    const bootstrap = (Array.isArray(options.bootstrap) ? options.bootstrap : options.bootstrap.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
    if (bootstrap.length === 0) throw new KafkaClientError('INVALID_CONFIG', 'no bootstrap server given');
    for (const b of bootstrap) parseHostPort(b);
    this.options = {
      bootstrap,
      clientId: options.clientId ?? 'tributary-client',
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      retries: options.retries ?? 5,
      retryBackoffMs: options.retryBackoffMs ?? 100,
      security: options.security,
    };
  }

  /** The (shared) connection to host:port, opened on first use. */
  connectionTo(host: string, port: number): Promise<Connection> {
    if (this.closedFlag) return Promise.reject(new KafkaClientError('NETWORK_EXCEPTION', 'client is closed'));
    const key = `${host}:${port}`;
    const existing = this.connections.get(key);
    if (existing) {
      // Replace a connection that has died since.
      return existing.then(
        (c) => (c.closed ? this.reconnect(key, host, port) : c),
        () => this.reconnect(key, host, port),
      );
    }
    return this.reconnect(key, host, port);
  }

  private reconnect(key: string, host: string, port: number): Promise<Connection> {
    const p = Connection.connect({
      host,
      port,
      clientId: this.options.clientId,
      connectTimeoutMs: this.options.connectTimeoutMs,
      requestTimeoutMs: this.options.requestTimeoutMs,
      security: this.options.security,
    });
    this.connections.set(key, p);
    p.catch(() => {
      if (this.connections.get(key) === p) this.connections.delete(key);
    });
    return p;
  }

  /** A connection to any reachable broker: known brokers first, then the bootstrap list. */
  async anyConnection(): Promise<Connection> {
    for (const p of this.connections.values()) {
      const c = await p.catch(() => null);
      if (c && !c.closed) return c;
    }
    const candidates = [...[...this.brokers.values()].map((b) => `${b.host}:${b.port}`), ...this.options.bootstrap];
    let lastError: Error | null = null;
    for (const addr of new Set(candidates)) {
      const { host, port } = parseHostPort(addr);
      try {
        return await this.connectionTo(host, port);
      } catch (err) {
        lastError = err as Error;
      }
    }
    throw lastError instanceof KafkaClientError ? lastError : new KafkaClientError('NETWORK_EXCEPTION', `no broker reachable (${candidates.join(', ')})`);
  }

  async brokerConnection(nodeId: number): Promise<Connection> {
    let b = this.brokers.get(nodeId);
    if (!b) {
      await this.refreshMetadata();
      b = this.brokers.get(nodeId);
    }
    if (!b) throw new KafkaClientError('BROKER_NOT_AVAILABLE', `broker ${nodeId} is not in the cluster metadata`);
    return this.connectionTo(b.host, b.port);
  }

  /** The controller (for admin requests); any broker when the cluster names none. */
  async controllerConnection(): Promise<Connection> {
    if (this.controllerId < 0 && this.brokers.size === 0) await this.refreshMetadata();
    if (this.controllerId >= 0 && this.brokers.has(this.controllerId)) return this.brokerConnection(this.controllerId);
    return this.anyConnection();
  }

  /**
   * Refreshes metadata for the given topics (all topics when omitted or null). Never creates
   * topics unless `allowAutoTopicCreation` is set.
   */
  async refreshMetadata(topics: string[] | null = null, allowAutoTopicCreation = false): Promise<MetadataResponse> {
    const conn = await this.anyConnection();
    const res = await conn.request<MetadataResponse>(ApiKey.Metadata, (v: number) => ({
      topics: topics === null ? (v >= 1 ? null : []) : topics.map((name) => ({ topicId: ZERO_UUID, name })),
      allowAutoTopicCreation: v >= 4 ? allowAutoTopicCreation : true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    }));
    if (res.errorCode) throw new KafkaClientError(errorName(res.errorCode), 'Metadata failed', res.errorCode);
    this.brokers.clear();
    for (const b of res.brokers) this.brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack });
    this.clusterId = res.clusterId;
    this.controllerId = res.controllerId;
    if (topics === null) this.topics.clear();
    for (const t of res.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== 0) {
        this.topics.delete(t.name);
        continue;
      }
      this.topics.set(t.name, {
        name: t.name,
        topicId: t.topicId,
        isInternal: t.isInternal,
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            offline: p.offlineReplicas,
            errorCode: p.errorCode,
          }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
    return res;
  }

  private readonly topicLookups = new Map<string, Promise<TopicInfo>>();

  /** Metadata of one topic; UNKNOWN_TOPIC_OR_PARTITION when it does not exist. */
  async topic(name: string, opts: { refresh?: boolean; allowAutoTopicCreation?: boolean } = {}): Promise<TopicInfo> {
    const cached = opts.refresh ? undefined : this.topics.get(name);
    if (cached) return cached;
    // Concurrent lookups of the same topic share one Metadata request.
    const key = `${name}\u0000${opts.allowAutoTopicCreation === true}`;
    let lookup = this.topicLookups.get(key);
    if (!lookup) {
      lookup = this.lookupTopic(name, opts.allowAutoTopicCreation ?? false).finally(() => this.topicLookups.delete(key));
      this.topicLookups.set(key, lookup);
    }
    return lookup;
  }

  private async lookupTopic(name: string, allowAutoTopicCreation: boolean): Promise<TopicInfo> {
    let t: TopicInfo | undefined;
    // A topic being created (e.g. auto-created by this very request) answers LEADER_NOT_AVAILABLE
    // for a moment: wait for it, briefly.
    for (let attempt = 0; ; attempt++) {
      const res = await this.refreshMetadata([name], allowAutoTopicCreation);
      const entry = res.topics.find((x) => x.name === name);
      const settling = entry !== undefined && (entry.errorCode === ErrorCode.LEADER_NOT_AVAILABLE || (entry.errorCode === 0 && entry.partitions.some((p) => p.leaderId < 0)));
      if (settling && attempt < 20 && !this.closedFlag) {
        await new Promise((r) => setTimeout(r, Math.min(50 * (attempt + 1), 500)));
        continue;
      }
      if (entry && entry.errorCode !== 0) {
        const type = errorName(entry.errorCode);
        const why = type === 'UNKNOWN_TOPIC_OR_PARTITION' ? 'does not exist' : type === 'INVALID_TOPIC_EXCEPTION' ? 'is not a valid topic name' : 'is not available';
        throw new KafkaClientError(type, `topic "${name}" ${why}`, entry.errorCode);
      }
      t = this.topics.get(name);
      break;
    }
    if (!t) throw new KafkaClientError('UNKNOWN_TOPIC_OR_PARTITION', `topic "${name}" does not exist`);
    return t;
  }

  async leaderOf(topic: string, partition: number): Promise<number> {
    const t = await this.topic(topic);
    const p = t.partitions.find((x) => x.partition === partition);
    if (!p) throw new KafkaClientError('UNKNOWN_TOPIC_OR_PARTITION', `topic "${topic}" has no partition ${partition}`);
    if (p.leader < 0) throw new KafkaClientError('LEADER_NOT_AVAILABLE', `partition ${topic}-${partition} has no leader`);
    return p.leader;
  }

  async leaderConnection(topic: string, partition: number): Promise<Connection> {
    return this.brokerConnection(await this.leaderOf(topic, partition));
  }

  /**
   * Runs `fn`, and when it fails with an error that stale metadata explains (NOT_LEADER,
   * UNKNOWN_TOPIC, a dropped connection, ...) refreshes metadata and tries again, a bounded
   * number of times with exponential backoff.
   */
  async withRetry<T>(fn: (attempt: number) => Promise<T>, topics: string[] | null = null): Promise<T> {
    let backoff = this.options.retryBackoffMs;
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (err) {
        if (!(err instanceof KafkaClientError) || !err.retriable || attempt >= this.options.retries || this.closedFlag) throw err;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 2000);
        await this.refreshMetadata(topics).catch(() => undefined);
      }
    }
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    this.closedFlag = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    for (const p of all) {
      const c = await p.catch(() => null);
      c?.close();
    }
  }
}
