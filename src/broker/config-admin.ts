// The logic behind DescribeConfigs, AlterConfigs and IncrementalAlterConfigs, shared by their
// handlers: what a resource's configs are, where each value comes from, and how changes apply.
import { brokerConfigDefs, groupConfigDefs, topicConfigDefs, type ConfigDef, type ConfigType } from '../config/registry.js';
import { checkGroupConfigBounds } from '../config/group-config-bounds.js';
import { configSourceId, splitList, validateValue, type ConfigEntry, type ConfigSource, type DynamicLevel } from '../config/config.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { Broker } from './broker.js';
import { CLIENT_METRICS_CONFIGS, parseSubscription } from './client-telemetry.js';

export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, CLIENT_METRICS: 16, GROUP: 32 } as const;

/** The configs of a CLIENT_METRICS resource (KIP-714 subscriptions) as registry entries. */
const clientMetricsDefs: ReadonlyMap<string, ConfigDef> = new Map(
  CLIENT_METRICS_CONFIGS.map((c): [string, ConfigDef] => [
    c.name,
    { name: c.name, type: c.name === 'interval.ms' ? 'int' : 'list', default: c.default, scope: 'broker', doc: c.doc, dynamic: true },
  ]),
);

/** A CLIENT_METRICS resource's configs: the set ones, then the defaults. */
export function describeClientMetricsConfigs(broker: Broker, name: string, keys: string[] | null): DescribedConfig[] {
  if (!name) throw new KafkaError(ErrorCode.INVALID_REQUEST, 'A client metrics resource needs a name');
  const set = broker.telemetry.resources.get(name) ?? {};
  const out: DescribedConfig[] = [];
  for (const def of clientMetricsDefs.values()) {
    if (keys && !keys.includes(def.name)) continue;
    const dynamic = def.name in set;
    const entry: ConfigEntry = { name: def.name, value: dynamic ? set[def.name]! : def.default, source: 'DEFAULT_CONFIG', origin: dynamic ? 'dynamic' : 'default' };
    // Kafka's ConfigSource CLIENT_METRICS_CONFIG (DYNAMIC_CLIENT_METRICS_CONFIG to the admin client) is 7.
    out.push({ ...describe(def, entry, false, []), configSource: dynamic ? 7 : configSourceId('DEFAULT_CONFIG') });
  }
  return out;
}
/**
 * A GROUP resource's configs (KIP-848, KIP-932, KIP-1071), as Kafka describes them: the value
 * set on the group (GROUP_CONFIG, 8 in Kafka's ConfigSource), then the broker synonyms'
 * values, then the defaults; the value and its source are the first synonym's.
 */
export function describeGroupConfigs(broker: Broker, name: string, keys: string[] | null): DescribedConfig[] {
  if (!name) throw new KafkaError(ErrorCode.INVALID_REQUEST, 'A group resource needs a name');
  const set = broker.groupConfigsOf(name);
  const out: DescribedConfig[] = [];
  for (const def of groupConfigDefs.values()) {
    if (keys && !keys.includes(def.name)) continue;
    const synonyms: DescribedConfig['synonyms'] = [];
    if (def.name in set) synonyms.push({ name: def.name, value: set[def.name]!, source: GROUP_CONFIG_SOURCE });
    synonyms.push(...brokerSynonymsOf(broker, def));
    const head = synonyms[0]!;
    const entry: ConfigEntry = { name: def.name, value: head.value, source: 'DEFAULT_CONFIG', origin: def.name in set ? 'dynamic' : 'default' };
    out.push({ ...describe(def, entry, false, synonyms), configSource: head.source });
  }
  return out;
}

/** Kafka's ConfigSource GROUP_CONFIG. */
const GROUP_CONFIG_SOURCE = 8;

export const AlterOp = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

/** DescribeConfigs' ConfigType numbers. */
const configTypeIds: Record<ConfigType, number> = { boolean: 1, string: 2, int: 3, long: 5, double: 6, list: 7, class: 8, password: 9 };

export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  configSource: number;
  isSensitive: boolean;
  synonyms: { name: string; value: string | null; source: number }[];
  configType: number;
  documentation: string | null;
}

function describe(def: ConfigDef, entry: ConfigEntry, readOnly: boolean, synonyms: DescribedConfig['synonyms']): DescribedConfig {
  const sensitive = def.type === 'password';
  return {
    name: def.name,
    value: sensitive ? null : entry.value,
    readOnly,
    configSource: configSourceId(entry.source),
    isSensitive: sensitive,
    synonyms,
    configType: configTypeIds[def.type],
    documentation: def.doc,
  };
}

function synonym(name: string, value: string | null, source: ConfigSource) {
  return { name, value, source: configSourceId(source) };
}

/**
 * The broker synonyms of a topic or group config, as Kafka orders them: by source first (this
 * broker's dynamic configs, the cluster-wide dynamic defaults, static, default), each source in
 * the synonyms' order; a default is listed even when a static value hides it. Without broker
 * synonyms, the config's own default.
 */
function brokerSynonymsOf(broker: Broker, def: ConfigDef): DescribedConfig['synonyms'] {
  const synonyms: DescribedConfig['synonyms'] = [];
  const brokerSynonyms = def.brokerSynonyms ?? [];
  for (const [level, source] of DYNAMIC_LEVELS) {
    const values = broker.config.dynamicConfigs(level);
    for (const syn of brokerSynonyms) if (syn in values) synonyms.push(synonym(syn, values[syn]!, source));
  }
  for (const syn of brokerSynonyms) {
    const e = broker.config.staticEntry(syn);
    if (e && e.origin !== 'default') synonyms.push(synonym(syn, e.value, 'STATIC_BROKER_CONFIG'));
  }
  for (const syn of brokerSynonyms) {
    const d = brokerConfigDefs.get(syn)?.default;
    if (d !== null && d !== undefined) synonyms.push(synonym(syn, d, 'DEFAULT_CONFIG'));
  }
  if (brokerSynonyms.length === 0) synonyms.push(synonym(def.name, def.default, 'DEFAULT_CONFIG'));
  return synonyms;
}

/** A topic's configs, most specific synonym first, as Kafka lists them. */
export function describeTopicConfigs(broker: Broker, topicName: string, keys: string[] | null): DescribedConfig[] {
  const topic = broker.topics.get(topicName);
  if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${topicName} does not exist`);
  const out: DescribedConfig[] = [];
  for (const def of topicConfigDefs.values()) {
    if (keys && !keys.includes(def.name)) continue;
    const entry = topic.configs.get(def.name)!;
    const synonyms: DescribedConfig['synonyms'] = [];
    if (def.name in topic.overrides) synonyms.push(synonym(def.name, topic.overrides[def.name]!, 'DYNAMIC_TOPIC_CONFIG'));
    synonyms.push(...brokerSynonymsOf(broker, def));
    out.push(describe(def, entry, false, synonyms));
  }
  return out;
}

/** The dynamic levels, most specific first, with the source each reports. */
const DYNAMIC_LEVELS: readonly [DynamicLevel, ConfigSource][] = [
  ['broker', 'DYNAMIC_BROKER_CONFIG'],
  ['default', 'DYNAMIC_DEFAULT_BROKER_CONFIG'],
];

export function checkBrokerResource(broker: Broker, name: string): void {
  if (name !== '' && name !== String(broker.nodeId)) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${broker.nodeId} or empty string, but received ${name}`);
  }
}

/**
 * A broker's configs (`name` its id), or with `name` '' the cluster-wide defaults, which leave
 * out what only this broker has (as Kafka's describe of the default resource does).
 */
export function describeBrokerConfigs(broker: Broker, name: string, keys: string[] | null): DescribedConfig[] {
  checkBrokerResource(broker, name);
  const levels = name === '' ? DYNAMIC_LEVELS.filter(([level]) => level === 'default') : DYNAMIC_LEVELS;
  const dynamic = levels.map(([level, source]) => [broker.config.dynamicConfigs(level), source] as const);
  const out: DescribedConfig[] = [];
  for (const def of brokerConfigDefs.values()) {
    if (keys && !keys.includes(def.name)) continue;
    const synonyms: DescribedConfig['synonyms'] = [];
    for (const [values, source] of dynamic) if (def.name in values) synonyms.push(synonym(def.name, values[def.name]!, source));
    const stat = broker.config.staticEntry(def.name)!;
    if (stat.origin !== 'default') synonyms.push(synonym(def.name, stat.value, 'STATIC_BROKER_CONFIG'));
    if (def.default !== null) synonyms.push(synonym(def.name, def.default, 'DEFAULT_CONFIG'));
    // The value and its source are the most specific synonym's.
    const [first] = dynamic.filter(([values]) => def.name in values);
    const entry: ConfigEntry = first ? { name: def.name, value: first[0][def.name]!, source: first[1], origin: 'dynamic' } : stat;
    out.push(describe(def, entry, !def.dynamic, synonyms));
  }
  return out;
}

/** Validates and returns the new override map for a resource; throws KafkaError on the first problem. */
export function applyOperations(
  current: Record<string, string>,
  ops: { name: string; op: number; value: string | null }[],
  defs: ReadonlyMap<string, ConfigDef>,
  requireDynamic: boolean,
): Record<string, string> {
  const next = { ...current };
  const seen = new Set<string>();
  for (const { name, op, value } of ops) {
    if (seen.has(name)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${name}`);
    seen.add(name);
    const def = defs.get(name);
    if (!def) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown config name: ${name}`);
    if (requireDynamic && !def.dynamic) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Cannot update these configs dynamically: ${name}`);
    switch (op) {
      case AlterOp.SET:
        if (value === null) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Null value not supported for ${name}`);
        next[name] = value;
        break;
      case AlterOp.DELETE:
        delete next[name];
        break;
      case AlterOp.APPEND:
      case AlterOp.SUBTRACT: {
        if (def.type !== 'list') throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config value append/subtract is not allowed for config key ${name}, which is not a list`);
        const items = splitList(next[name] ?? def.default ?? '');
        const change = splitList(value ?? '');
        const result = op === AlterOp.APPEND ? [...items, ...change.filter((c) => !items.includes(c))] : items.filter((i) => !change.includes(i));
        next[name] = result.join(',');
        break;
      }
      default:
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown config operation ${op} for ${name}`);
    }
    if (name in next) {
      const err = validateValue(def, next[name]!);
      if (err) throw new KafkaError(ErrorCode.INVALID_CONFIG, err);
    }
  }
  return next;
}

/** Applies (or, with validateOnly, only checks) a set of operations on one resource. */
export async function alterResource(
  broker: Broker,
  resourceType: number,
  resourceName: string,
  ops: { name: string; op: number; value: string | null }[],
  mode: { replaceAll: boolean; validateOnly: boolean },
): Promise<void> {
  if (resourceType === ResourceType.TOPIC) {
    const topic = broker.topics.get(resourceName);
    if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resourceName} does not exist`);
    const next = applyOperations(mode.replaceAll ? {} : topic.overrides, ops, topicConfigDefs, false);
    if (!mode.validateOnly) await broker.setTopicOverrides(resourceName, next);
    return;
  }
  if (resourceType === ResourceType.BROKER) {
    checkBrokerResource(broker, resourceName);
    // '' (kafka-configs --entity-default) is every broker's default; an id is that broker alone.
    const level: DynamicLevel = resourceName === '' ? 'default' : 'broker';
    const next = applyOperations(mode.replaceAll ? {} : broker.config.dynamicConfigs(level), ops, brokerConfigDefs, true);
    if (!mode.validateOnly) await broker.setDynamicBrokerConfigs(next, level);
    return;
  }
  if (resourceType === ResourceType.CLIENT_METRICS) {
    if (!resourceName) throw new KafkaError(ErrorCode.INVALID_REQUEST, 'A client metrics resource needs a name');
    const next = applyOperations(mode.replaceAll ? {} : (broker.telemetry.resources.get(resourceName) ?? {}), ops, clientMetricsDefs, false);
    parseSubscription(resourceName, next); // throws INVALID_CONFIG for a bad match or interval
    if (!mode.validateOnly) await broker.setClientMetrics(resourceName, next);
    return;
  }
  if (resourceType === ResourceType.GROUP) {
    if (!resourceName) throw new KafkaError(ErrorCode.INVALID_REQUEST, 'A group resource needs a name');
    const next = applyOperations(mode.replaceAll ? {} : broker.groupConfigsOf(resourceName), ops, groupConfigDefs, false);
    const outOfBounds = checkGroupConfigBounds(next, (name) => broker.config.int(name));
    if (outOfBounds) throw new KafkaError(ErrorCode.INVALID_CONFIG, outOfBounds);
    if (!mode.validateOnly) await broker.setGroupConfigs(resourceName, next);
    return;
  }
  throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unsupported resource type ${resourceType}`);
}
