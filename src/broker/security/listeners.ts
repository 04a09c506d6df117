// Kafka's listener settings: `listeners` (NAME://host:port, several), the name → security
// protocol map, `advertised.listeners` per name, and which listener brokers use between them.
import { ConfigError, type BrokerConfig } from '../../config/config.js';

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
const PROTOCOLS: readonly string[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

export interface ListenerSpec {
  /** The listener name, upper case as Kafka normalizes it (PLAINTEXT, INTERNAL, ...). */
  name: string;
  securityProtocol: SecurityProtocol;
  host: string;
  port: number;
}

export const usesTls = (p: SecurityProtocol): boolean => p === 'SSL' || p === 'SASL_SSL';
export const usesSasl = (p: SecurityProtocol): boolean => p === 'SASL_PLAINTEXT' || p === 'SASL_SSL';

/** listener.security.protocol.map: NAME:PROTOCOL pairs. */
export function parseProtocolMap(spec: string): Map<string, SecurityProtocol> {
  const out = new Map<string, SecurityProtocol>();
  for (const part of spec.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const colon = item.indexOf(':');
    const name = item.slice(0, colon).trim().toUpperCase();
    const protocol = item
      .slice(colon + 1)
      .trim()
      .toUpperCase();
    if (colon <= 0 || !PROTOCOLS.includes(protocol))
      throw new ConfigError(`Invalid listener.security.protocol.map entry ${item}: expected NAME:PROTOCOL, PROTOCOL one of ${PROTOCOLS.join(', ')}`);
    out.set(name, protocol as SecurityProtocol);
  }
  return out;
}

/** One `NAME://host:port` entry; a missing name means PLAINTEXT, an empty host all interfaces. */
export function parseListenerEntry(spec: string, protocols: Map<string, SecurityProtocol>): ListenerSpec {
  const m = /^(?:([A-Za-z0-9_-]+):\/\/)?\[?([^\]]*?)\]?:(\d+)$/.exec(spec.trim());
  if (!m) throw new ConfigError(`Invalid listener: ${spec}`);
  const name = (m[1] ?? 'PLAINTEXT').toUpperCase();
  const securityProtocol = protocols.get(name);
  if (!securityProtocol) throw new ConfigError(`Listener ${name} (${spec}) has no security protocol in listener.security.protocol.map`);
  const port = Number(m[3]);
  if (port > 65535) throw new ConfigError(`Invalid port in listener ${spec}`);
  return { name, securityProtocol, host: m[2] === '' ? '0.0.0.0' : m[2]!, port };
}

function parseList(entries: string[], protocols: Map<string, SecurityProtocol>, key: string): ListenerSpec[] {
  const out: ListenerSpec[] = [];
  for (const e of entries) {
    const l = parseListenerEntry(e, protocols);
    if (out.some((o) => o.name === l.name)) throw new ConfigError(`${key} names listener ${l.name} twice`);
    out.push(l);
  }
  return out;
}

export interface ListenerPlan {
  listeners: ListenerSpec[];
  /** Advertised address per listener name (port 0: the bound port, filled in after bind). */
  advertised: Map<string, ListenerSpec>;
  /** The listener other brokers connect to. */
  interBroker: string;
}

/** Reads and checks the listener settings as Kafka does: names unique, each mapped, inter-broker one present. */
export function listenerPlan(config: BrokerConfig): ListenerPlan {
  const protocols = parseProtocolMap(config.str('listener.security.protocol.map') ?? '');
  const entries = config.list('listeners');
  const listeners = parseList(entries.length > 0 ? entries : ['PLAINTEXT://127.0.0.1:9092'], protocols, 'listeners');
  const advertised = new Map<string, ListenerSpec>();
  for (const a of parseList(config.list('advertised.listeners'), protocols, 'advertised.listeners')) {
    if (!listeners.some((l) => l.name === a.name)) throw new ConfigError(`advertised.listeners names ${a.name}, which is not in listeners`);
    advertised.set(a.name, a);
  }
  for (const l of listeners) if (!advertised.has(l.name)) advertised.set(l.name, { ...l });
  let interBroker = config.str('inter.broker.listener.name')?.toUpperCase() ?? null;
  if (interBroker !== null && config.isSet('security.inter.broker.protocol')) {
    throw new ConfigError('Only one of inter.broker.listener.name and security.inter.broker.protocol may be set');
  }
  if (interBroker === null) {
    const protocol = config.str('security.inter.broker.protocol') ?? 'PLAINTEXT';
    // Kafka takes the listener named like the protocol; a broker with other names falls back to its first listener.
    interBroker = listeners.find((l) => l.name === protocol)?.name ?? (config.isSet('security.inter.broker.protocol') ? protocol : listeners[0]!.name);
  }
  if (!listeners.some((l) => l.name === interBroker)) throw new ConfigError(`The inter-broker listener ${interBroker} is not in listeners`);
  return { listeners, advertised, interBroker };
}
