import pino, { type Logger } from 'pino';
import { BrokerConfig } from './config/config.js';
import { Broker } from './broker/broker.js';

export { Broker } from './broker/broker.js';
export { BrokerConfig } from './config/config.js';

export interface StartBrokerOptions {
  /** Port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  host?: string;
  dataDir?: string;
  /** Any broker configuration by its Kafka name, e.g. { 'num.partitions': '3' }. */
  config?: Record<string, string | number | boolean>;
  logger?: Logger;
}

export interface RunningBroker {
  bootstrap: string;
  port: number;
  broker: Broker;
  stop(): Promise<void>;
}

/** Starts a broker inside this process, for tests and embedding. */
export async function startBroker(options: StartBrokerOptions = {}): Promise<RunningBroker> {
  const overrides: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.config ?? {})) overrides[k] = String(v);
  const host = options.host ?? '127.0.0.1';
  overrides['listeners'] ??= `PLAINTEXT://${host}:${options.port ?? 0}`;
  if (options.dataDir) overrides['log.dirs'] = options.dataDir;
  const config = new BrokerConfig({ overrides });
  const broker = await Broker.start(config, options.logger ?? pino({ level: overrides['log.level'] ?? 'warn' }));
  return {
    bootstrap: `${broker.advertised.host}:${broker.port}`,
    port: broker.port,
    broker,
    stop: () => broker.stop(),
  };
}
