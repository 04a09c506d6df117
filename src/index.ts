import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { BrokerConfig } from './config/config.js';
import type { Broker } from './broker/broker.js';
import { startKafkaBroker } from './broker/start.js';
import { HttpListener } from './http/server.js';
import type { LogIo } from './storage/log-io.js';
import { systemClock, type Clock } from './common/clock.js';

export { Broker } from './broker/broker.js';
export { BrokerConfig } from './config/config.js';
export { ManualClock, systemClock, type Clock } from './common/clock.js';

// The client library (what the tributary CLI uses): usable against Tributary or Apache Kafka.
export { Connection, type ConnectionOptions, type RequestOptions } from './client/connection.js';
export { Cluster, type ClusterOptions, type TopicInfo, type PartitionInfo, type BrokerInfo } from './client/cluster.js';
export { Admin, type NewTopic, type ConfigEntry, type ConfigResource, type OffsetSpec, type GroupDescription, type CommittedOffset } from './client/admin.js';
export { Producer, type ProducerOptions, type ProducerRecord, type RecordMetadata, type Acks } from './client/producer.js';
export { Consumer, type ConsumerOptions, type ConsumerRecord, type StartPosition } from './client/consumer.js';
export { GroupConsumer, type GroupConsumerOptions } from './client/group-consumer.js';
export { KafkaClientError } from './client/errors.js';
export { murmur2, partitionForKey } from './client/partitioner.js';

export interface StartBrokerOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  host?: string;
  /**
   * Where the log lives. ':memory:' (or `storage: 'memory'`) means a fresh temporary directory
   * that stop() deletes: throwaway storage for tests, still on disk (not RAM).
   */
  dataDir?: string;
  /** 'memory': same as dataDir ':memory:'. */
  storage?: 'disk' | 'memory';
  /** Any broker configuration by its Kafka name, e.g. { 'num.partitions': '3' }. */
  config?: Record<string, string | number | boolean>;
  logger?: Logger;
  /**
   * Test-only: the storage layer's file operations (see src/storage/log-io.ts), so disk-fault
   * tests can make writes, fsyncs, rolls or index writes fail. Leave unset.
   */
  storageIo?: LogIo;
  /**
   * Test-only: the clock the broker reads the time from (segment.ms, retention, session and
   * transaction timeouts, long polls, idle connections, quotas), e.g. a ManualClock that the test
   * moves forward. Leave unset: the system clock.
   */
  clock?: Clock;
}

export interface RunningBroker {
  bootstrap: string;
  port: number;
  /** The HTTP listener's base URL (metrics, health, API), or null when `http.listeners` is not set. */
  httpUrl: string | null;
  /** The log directory (for ':memory:', the temporary one). */
  dataDir: string;
  broker: Broker;
  stop(): Promise<void>;
}

/** Starts a broker inside this process, for tests and embedding. */
export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const overrides: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.config ?? {})) overrides[k] = String(v);
  const host = options.host ?? '127.0.0.1';
  overrides['listeners'] ??= `PLAINTEXT://${host}:${options.port ?? 0}`;
  // Embedded brokers serve no HTTP unless asked (config `http.listeners`).
  overrides['http.listeners'] ??= '';
  const throwaway = options.storage === 'memory' || options.dataDir === ':memory:';
  if (throwaway) overrides['log.dirs'] = mkdtempSync(join(tmpdir(), 'tributary-mem-'));
  else if (options.dataDir) overrides['log.dirs'] = options.dataDir;
  const removeThrowaway = () => {
    if (throwaway) rmSync(overrides['log.dirs']!, { recursive: true, force: true });
  };
  let broker: Broker;
  let http: HttpListener | null = null;
  try {
    const config = new BrokerConfig({ overrides });
    const logger = options.logger ?? pino({ level: overrides['log.level'] ?? 'warn' });
    broker = await startKafkaBroker(config, { logger, storageIo: options.storageIo, clock: options.clock });
    try {
      http = await HttpListener.start(config, logger);
    } catch (err) {
      await broker.stop();
      throw err;
    }
    http?.attach(broker);
  } catch (err) {
    removeThrowaway();
    throw err;
  }
  let stopped: Promise<void> | null = null;
  return {
    bootstrap: `${broker.advertised.host}:${broker.port}`,
    port: broker.port,
    httpUrl: http?.url ?? null,
    dataDir: overrides['log.dirs'] ?? overrides['log.dir'] ?? './data',
    broker,
    stop: () =>
      (stopped ??= Promise.all([http?.stop(), broker.stop()])
        .then(() => undefined)
        .finally(removeThrowaway)),
  };
}

export interface StartClusterOptions {
  /** How many brokers (node.id 1..n). Default 3. */
  brokers?: number;
  /** Broker i listens on basePort + i - 1; unset, free ports are picked. */
  basePort?: number;
  /** Any broker configuration by its Kafka name, given to every broker. */
  config?: Record<string, string | number | boolean>;
  /** etcd client URLs of an etcd already running; unset, a throwaway etcd is started (Debian's etcd-server must be installed). */
  etcdEndpoints?: string[];
  logger?: Logger;
}

export interface RunningCluster {
  /** All brokers' addresses, comma-separated: a client's bootstrap.servers. */
  bootstrap: string;
  brokers: RunningBroker[];
  /** The etcd client URL the cluster keeps its metadata in. */
  etcdEndpoint: string;
  /** Stops the brokers, then the throwaway etcd, and removes their data. */
  stop(): Promise<void>;
}

/**
 * Starts a cluster inside this process: a throwaway etcd on free loopback ports (unless
 * `etcdEndpoints` is given) and `brokers` brokers with throwaway storage, for tests and trials.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<RunningCluster> {
  const { startEtcd } = await import('./cluster/etcd-process.js');
  const etcd = options.etcdEndpoints ? null : await startEtcd();
  const endpoints = options.etcdEndpoints ?? [etcd!.endpoint];
  const prefix = `/tributary-${systemClock.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const brokers: RunningBroker[] = [];
  const stop = async () => {
    for (const b of brokers.reverse()) await b.stop().catch(() => undefined);
    await etcd?.close();
  };
  try {
    for (let id = 1; id <= (options.brokers ?? 3); id++) {
      brokers.push(
        await startBroker({
          storage: 'memory',
          port: options.basePort ? options.basePort + id - 1 : 0,
          logger: options.logger,
          config: { 'etcd.endpoints': endpoints.join(','), 'etcd.prefix': prefix, 'node.id': id, ...options.config },
        }),
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { bootstrap: brokers.map((b) => b.bootstrap).join(','), brokers: [...brokers], etcdEndpoint: endpoints[0]!, stop };
}
