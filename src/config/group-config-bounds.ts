// Group configs (the GROUP config resource) against the broker's bounds, as Kafka's GroupConfig
// validates them when they are set and caps them when they are used.

/** The broker configs bounding a group config: [min config, max config] (either may be absent). */
const GROUP_CONFIG_BOUNDS: Record<string, [string | null, string | null]> = {
  'consumer.session.timeout.ms': ['group.consumer.min.session.timeout.ms', 'group.consumer.max.session.timeout.ms'],
  'consumer.heartbeat.interval.ms': ['group.consumer.min.heartbeat.interval.ms', 'group.consumer.max.heartbeat.interval.ms'],
  'share.session.timeout.ms': ['group.share.min.session.timeout.ms', 'group.share.max.session.timeout.ms'],
  'share.heartbeat.interval.ms': ['group.share.min.heartbeat.interval.ms', 'group.share.max.heartbeat.interval.ms'],
  'streams.session.timeout.ms': ['group.streams.min.session.timeout.ms', 'group.streams.max.session.timeout.ms'],
  'streams.heartbeat.interval.ms': ['group.streams.min.heartbeat.interval.ms', 'group.streams.max.heartbeat.interval.ms'],
  'streams.num.standby.replicas': [null, 'group.streams.max.standby.replicas'],
};

/**
 * Kafka's GroupConfig.validate beyond types and ranges: each group config that is set lies within
 * the broker's bounds for it, and a group's session timeout exceeds its heartbeat interval (the
 * broker's value standing in for the one not set). Returns the reason they are not, or null.
 */
export function checkGroupConfigBounds(configs: Record<string, string>, brokerInt: (name: string) => number): string | null {
  for (const [name, [minName, maxName]] of Object.entries(GROUP_CONFIG_BOUNDS)) {
    if (!(name in configs)) continue;
    const v = Number(configs[name]);
    const min = minName === null ? null : brokerInt(minName);
    const max = maxName === null ? null : brokerInt(maxName);
    if (min !== null && max !== null) {
      if (v < min || v > max) return `${name} must be in the range ${min} to ${max} inclusive.`;
    } else if (max !== null && v > max) return `${name} must be less than or equal to ${max}`;
  }
  const tags = configs['streams.rack.aware.assignment.tags'];
  if (tags !== undefined) {
    const keys = tags.split(',').map((t) => t.trim());
    if (new Set(keys).size !== keys.length) return 'streams.rack.aware.assignment.tags must not contain duplicate tag keys.';
  }
  for (const kind of ['consumer', 'share', 'streams']) {
    const session = `${kind}.session.timeout.ms`;
    const heartbeat = `${kind}.heartbeat.interval.ms`;
    if (!(session in configs) && !(heartbeat in configs)) continue;
    const s = Number(configs[session] ?? brokerInt(`group.${kind}.session.timeout.ms`));
    const h = Number(configs[heartbeat] ?? brokerInt(`group.${kind}.heartbeat.interval.ms`));
    if (s <= h) return `${session} must be greater than ${heartbeat}`;
  }
  return null;
}

/**
 * A group config's effective value (Kafka's GroupConfig.evaluate): a value set before the
 * broker's bounds moved is capped to them.
 */
export function clampGroupConfig(name: string, value: number, brokerInt: (name: string) => number): number {
  const bounds = GROUP_CONFIG_BOUNDS[name];
  if (!bounds) return value;
  const [minName, maxName] = bounds;
  if (minName !== null) value = Math.max(value, brokerInt(minName));
  if (maxName !== null) value = Math.min(value, brokerInt(maxName));
  return value;
}
