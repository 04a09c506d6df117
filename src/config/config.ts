import { readFileSync } from 'node:fs';
import { brokerConfigDefs, topicConfigDefs, type ConfigDef } from './registry.js';

export type ConfigSource = 'DEFAULT_CONFIG' | 'STATIC_BROKER_CONFIG' | 'DYNAMIC_DEFAULT_BROKER_CONFIG' | 'DYNAMIC_BROKER_CONFIG' | 'DYNAMIC_TOPIC_CONFIG';

export interface ConfigEntry {
  name: string;
  value: string | null;
  source: ConfigSource;
  /**
   * Where a value came from, for --print-config: a static layer, this broker's dynamic configs
   * ('dynamic'), the cluster-wide dynamic defaults ('dynamic-default'), or a topic override.
   */
  origin: 'default' | 'file' | 'env' | 'override' | 'dynamic' | 'dynamic-default' | 'topic';
}

const LONG_MAX = Number.MAX_SAFE_INTEGER;

/** Parses Java properties text (key=value, key: value, # and ! comments, backslash continuations). */
export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trimStart();
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trimEnd();
    else out[line.trim()] = '';
  }
  return out;
}

/** Checks a value against its declaration; returns an error message or null. */
export function validateValue(def: ConfigDef, value: string | null): string | null {
  if (value === null) return null;
  const v = value.trim();
  switch (def.type) {
    case 'boolean':
      if (v !== 'true' && v !== 'false') return `Invalid value ${value} for configuration ${def.name}: Expected value to be either true or false`;
      break;
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(v)) return `Invalid value ${value} for configuration ${def.name}: Not a number of type ${def.type.toUpperCase()}`;
      const n = Number(v);
      if (def.type === 'int' && (n > 2147483647 || n < -2147483648)) return `Invalid value ${value} for configuration ${def.name}: Not a number of type INT`;
      if (def.min !== undefined && n < def.min) return `Invalid value ${value} for configuration ${def.name}: Value must be at least ${def.min}`;
      if (def.max !== undefined && n > def.max) return `Invalid value ${value} for configuration ${def.name}: Value must be no more than ${def.max}`;
      break;
    }
    case 'double': {
      const n = Number(v);
      if (v === '' || Number.isNaN(n)) return `Invalid value ${value} for configuration ${def.name}: Not a number of type DOUBLE`;
      if (def.min !== undefined && n < def.min) return `Invalid value ${value} for configuration ${def.name}: Value must be at least ${def.min}`;
      if (def.max !== undefined && n > def.max) return `Invalid value ${value} for configuration ${def.name}: Value must be no more than ${def.max}`;
      break;
    }
    case 'list':
      if (def.validValues) {
        for (const item of splitList(v)) {
          if (!def.validValues.includes(item)) return `Invalid value ${item} for configuration ${def.name}: String must be one of: ${def.validValues.join(', ')}`;
        }
      }
      break;
    default:
      if (def.validValues && !def.validValues.includes(v)) return `Invalid value ${value} for configuration ${def.name}: String must be one of: ${def.validValues.join(', ')}`;
  }
  const reason = def.check?.(v);
  if (reason) return `Invalid value ${value} for configuration ${def.name}: ${reason}`;
  return null;
}

export function splitList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Kafka LONG values can exceed 2^53 (Long.MAX_VALUE as "never"); clamp them to a safe integer. */
export function toNumber(v: string): number {
  const n = Number(v);
  return n > LONG_MAX ? LONG_MAX : n;
}

export class ConfigError extends Error {}

export interface BrokerConfigInput {
  file?: Record<string, string>;
  env?: Record<string, string | undefined>;
  overrides?: Record<string, string>;
}

/** Reads TRIBUTARY_LOG_RETENTION_MS style variables into Kafka names (log.retention.ms). */
export function configFromEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('TRIBUTARY_') || v === undefined) continue;
    const name = k.slice('TRIBUTARY_'.length).toLowerCase().replace(/_/g, '.');
    if (brokerConfigDefs.has(name)) out[name] = v;
  }
  return out;
}

export function loadPropertiesFile(path: string): Record<string, string> {
  return parseProperties(readFileSync(path, 'utf8'));
}

/** The two levels of dynamic broker configs. */
export type DynamicLevel = 'broker' | 'default';

/**
 * The broker's effective configuration: defaults < file < env < overrides < the cluster-wide
 * dynamic defaults (kafka-configs --entity-default) < this broker's dynamic configs
 * (--entity-name <id>), as Kafka layers them.
 */
export class BrokerConfig {
  private readonly entries = new Map<string, ConfigEntry>();
  /** The values before any dynamic change, restored when a dynamic value is deleted. */
  private readonly staticEntries = new Map<string, ConfigEntry>();
  /** listener.name.<listener>.<key> settings (names lowercased), verbatim. */
  private readonly listenerEntries = new Map<string, string>();
  /** Dynamic configs of this broker alone, and the cluster-wide dynamic defaults. */
  private readonly dynamic = { broker: new Map<string, string>(), default: new Map<string, string>() };

  constructor(input: BrokerConfigInput = {}) {
    for (const def of brokerConfigDefs.values()) {
      this.entries.set(def.name, { name: def.name, value: def.default, source: 'DEFAULT_CONFIG', origin: 'default' });
    }
    const layers: [Record<string, string> | undefined, ConfigEntry['origin']][] = [
      [input.file, 'file'],
      [input.env ? configFromEnv(input.env) : undefined, 'env'],
      [input.overrides, 'override'],
    ];
    for (const [layer, origin] of layers) {
      if (!layer) continue;
      for (const [name, value] of Object.entries(layer)) {
        const def = brokerConfigDefs.get(name);
        // Unknown keys are tolerated, as Kafka only warns about them; per-listener security
        // settings (listener.name.<listener>.<key>) are kept for listenerValue.
        if (!def) {
          if (name.startsWith('listener.name.')) this.listenerEntries.set(name.toLowerCase(), value.trim());
          continue;
        }
        const err = validateValue(def, value);
        if (err) throw new ConfigError(err);
        this.entries.set(name, { name, value: value.trim(), source: 'STATIC_BROKER_CONFIG', origin });
      }
    }
    for (const [k, e] of this.entries) this.staticEntries.set(k, e);
  }

  entry(name: string): ConfigEntry | undefined {
    return this.entries.get(name);
  }

  all(): ConfigEntry[] {
    return [...this.entries.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The value this broker had before dynamic changes (for DescribeConfigs synonyms). */
  staticEntry(name: string): ConfigEntry | undefined {
    return this.staticEntries.get(name);
  }

  isSet(name: string): boolean {
    const e = this.entries.get(name);
    return !!e && e.origin !== 'default';
  }

  /** Sets (or with null removes) a dynamic config of this broker, or with level 'default' a cluster-wide default. */
  setDynamic(name: string, value: string | null, level: DynamicLevel = 'broker'): void {
    const def = brokerConfigDefs.get(name);
    if (!def) throw new ConfigError(`Unknown broker config ${name}`);
    if (value === null) this.dynamic[level].delete(name);
    else this.dynamic[level].set(name, value);
    const own = this.dynamic.broker.get(name);
    const shared = this.dynamic.default.get(name);
    if (own !== undefined) this.entries.set(name, { name, value: own, source: 'DYNAMIC_BROKER_CONFIG', origin: 'dynamic' });
    else if (shared !== undefined) this.entries.set(name, { name, value: shared, source: 'DYNAMIC_DEFAULT_BROKER_CONFIG', origin: 'dynamic-default' });
    else this.entries.set(name, this.staticEntries.get(name)!);
  }

  /** The dynamic configs of one level: this broker's, or the cluster-wide defaults. */
  dynamicConfigs(level: DynamicLevel = 'broker'): Record<string, string> {
    return Object.fromEntries(this.dynamic[level]);
  }

  /** Replaces one level of dynamic configs at once. */
  replaceDynamic(configs: Record<string, string>, level: DynamicLevel = 'broker'): void {
    for (const name of [...this.dynamic[level].keys()]) if (!(name in configs)) this.setDynamic(name, null, level);
    for (const [name, value] of Object.entries(configs)) this.setDynamic(name, value, level);
  }

  /**
   * A listener's value of a key, as Kafka resolves it: `listener.name.<listener>.<key>` (listener
   * lowercased; for SASL settings `key` may carry the mechanism, `plain.sasl.jaas.config`), then
   * the plain key.
   */
  listenerValue(listener: string, key: string, fallback = key): string | null {
    const own = this.listenerEntries.get(`listener.name.${listener.toLowerCase()}.${key.toLowerCase()}`);
    if (own !== undefined) return own;
    return brokerConfigDefs.has(fallback) ? this.str(fallback) : null;
  }

  str(name: string): string | null {
    return this.entries.get(name)?.value ?? null;
  }

  num(name: string): number | null {
    const v = this.str(name);
    return v === null ? null : toNumber(v);
  }

  int(name: string): number {
    const v = this.num(name);
    if (v === null) throw new ConfigError(`${name} has no value`);
    return v;
  }

  bool(name: string): boolean {
    return this.str(name) === 'true';
  }

  list(name: string): string[] {
    const v = this.str(name);
    return v === null ? [] : splitList(v);
  }

  get nodeId(): number {
    return this.isSet('broker.id') && !this.isSet('node.id') ? this.int('broker.id') : this.int('node.id');
  }

  get logDir(): string {
    return this.logDirs[0]!;
  }

  /** Every log directory (JBOD): `log.dirs`, else `log.dir`. The first also holds single-node metadata. */
  get logDirs(): string[] {
    const dirs = this.list('log.dirs');
    return dirs.length > 0 ? dirs : [this.str('log.dir')!];
  }

  /** The broker-level default for a topic config, following Kafka's synonym order. */
  topicDefault(name: string): ConfigEntry {
    const def = topicConfigDefs.get(name);
    if (!def) throw new ConfigError(`Unknown topic config ${name}`);
    for (const syn of def.brokerSynonyms ?? []) {
      if (!this.isSet(syn)) continue;
      const raw = this.str(syn);
      if (raw === null) continue;
      const e = this.entries.get(syn)!;
      return { name, value: convertSynonym(syn, raw), source: e.source, origin: e.origin };
    }
    // An unset broker synonym still carries the broker's default (e.g. log.retention.hours=168).
    const first = def.brokerSynonyms?.find((s) => this.str(s) !== null);
    if (first) return { name, value: convertSynonym(first, this.str(first)!), source: 'DEFAULT_CONFIG', origin: 'default' };
    return { name, value: def.default, source: 'DEFAULT_CONFIG', origin: 'default' };
  }
}

function convertSynonym(syn: string, raw: string): string {
  if (syn.endsWith('.hours')) return String(Number(raw) * 3_600_000);
  if (syn.endsWith('.minutes')) return String(Number(raw) * 60_000);
  return raw;
}

/** A topic's effective configuration: its own overrides over the broker's defaults. */
export function resolveTopicConfig(broker: BrokerConfig, overrides: Record<string, string>): Map<string, ConfigEntry> {
  const out = new Map<string, ConfigEntry>();
  for (const def of topicConfigDefs.values()) {
    const own = overrides[def.name];
    if (own !== undefined) out.set(def.name, { name: def.name, value: own, source: 'DYNAMIC_TOPIC_CONFIG', origin: 'topic' });
    else out.set(def.name, broker.topicDefault(def.name));
  }
  return out;
}

/** Validates topic config overrides as CreateTopics/AlterConfigs must; returns an error message or null. */
export function validateTopicConfigs(configs: Record<string, string | null>): string | null {
  for (const [name, value] of Object.entries(configs)) {
    const def = topicConfigDefs.get(name);
    if (!def) return `Unknown topic config name: ${name}`;
    if (value === null) return `Null value not supported for topic configs: ${name}`;
    const err = validateValue(def, value);
    if (err) return err;
  }
  return null;
}

/** DescribeConfigs' numeric ConfigSource values. */
export function configSourceId(source: ConfigSource): number {
  switch (source) {
    case 'DYNAMIC_TOPIC_CONFIG':
      return 1;
    case 'DYNAMIC_BROKER_CONFIG':
      return 2;
    case 'DYNAMIC_DEFAULT_BROKER_CONFIG':
      return 3;
    case 'STATIC_BROKER_CONFIG':
      return 4;
    case 'DEFAULT_CONFIG':
      return 5;
  }
}
