// The composition root of a broker that speaks Kafka: the Broker (logs, topics, coordinators,
// listener) with this package's request path. broker.ts cannot import the request path itself,
// since the handlers import broker.ts.
import type { BrokerConfig } from '../config/config.js';
import { Broker, type BrokerStartOptions } from './broker.js';
import { createRequestHandler } from './request-handler.js';

/** Starts a broker answering the Kafka protocol on its configured listener. */
export function startKafkaBroker(config: BrokerConfig, options: Omit<BrokerStartOptions, 'requestHandler'> = {}): Promise<Broker> {
  return Broker.start(config, { ...options, requestHandler: createRequestHandler });
}
