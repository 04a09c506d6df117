// Every configuration key is declared once here, with Kafka's own name. Parsing, validation,
// DescribeConfigs answers and the README's table all derive from this table.

export type ConfigType = 'boolean' | 'string' | 'int' | 'long' | 'double' | 'list' | 'class' | 'password';
export type ConfigScope = 'broker' | 'topic';

export interface ConfigDef {
  name: string;
  type: ConfigType;
  /** Default as a Kafka-style string; null means "no default" (unset). */
  default: string | null;
  scope: ConfigScope;
  doc: string;
  /** For topic configs: the broker key(s) that supply the default, most specific first. */
  brokerSynonyms?: string[];
  /** Allowed values (case-sensitive as Kafka). */
  validValues?: string[];
  min?: number;
  max?: number;
  /** Can be changed while running (topic configs always can). */
  dynamic?: boolean;
  /** Shown in docs but not acted on yet. */
  inert?: boolean;
  /** A check beyond type and range; returns the reason a value is invalid, or null. */
  check?: (value: string) => string | null;
}

/** max.connections.per.ip.overrides: `address:count` pairs separated by commas. */
function checkPerIpOverrides(value: string): string | null {
  for (const part of value.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const colon = item.lastIndexOf(':');
    if (colon <= 0 || !/^\d+$/.test(item.slice(colon + 1))) return `Invalid entry ${item}: expected host:count`;
  }
  return null;
}

const LONG_MAX = '9223372036854775807';
const INT_MAX = 2147483647;

const brokerDefs: ConfigDef[] = [
  { name: 'node.id', type: 'int', default: '1', scope: 'broker', doc: 'The id of this broker.', min: 0 },
  { name: 'broker.id', type: 'int', default: null, scope: 'broker', doc: 'Legacy alias of node.id.', min: 0 },
  { name: 'listeners', type: 'list', default: 'PLAINTEXT://127.0.0.1:9092', scope: 'broker', doc: 'Addresses the broker listens on (PLAINTEXT only). Port 0 picks a free port.' },
  { name: 'advertised.listeners', type: 'list', default: null, scope: 'broker', doc: 'Addresses given to clients in Metadata; defaults to listeners.' },
  { name: 'log.dirs', type: 'list', default: null, scope: 'broker', doc: 'Directory for the log data (first entry is used); overrides log.dir.' },
  { name: 'log.dir', type: 'string', default: './data', scope: 'broker', doc: 'Directory for the log data.' },
  { name: 'num.partitions', type: 'int', default: '1', scope: 'broker', doc: 'Default partition count of new topics.', min: 1, dynamic: false },
  { name: 'max.request.partition.size.limit', type: 'int', default: '2000', scope: 'broker', doc: 'Most partitions one DescribeTopicPartitions response describes (a client asking for fewer gets fewer).', min: 1 },
  { name: 'default.replication.factor', type: 'int', default: '1', scope: 'broker', doc: 'Default replication factor of new topics.', min: 1 },
  { name: 'auto.create.topics.enable', type: 'boolean', default: 'true', scope: 'broker', doc: 'Create unknown topics on Metadata requests that allow it.' },
  { name: 'delete.topic.enable', type: 'boolean', default: 'true', scope: 'broker', doc: 'Allow DeleteTopics.' },
  { name: 'message.max.bytes', type: 'int', default: '1048588', scope: 'broker', doc: 'Largest record batch the broker accepts (topic: max.message.bytes).', min: 0, dynamic: true },
  { name: 'socket.request.max.bytes', type: 'int', default: '104857600', scope: 'broker', doc: 'Largest request frame; larger frames close the connection before any allocation.', min: 1 },
  { name: 'connections.max.idle.ms', type: 'long', default: '600000', scope: 'broker', doc: 'Idle connections are closed after this long.' },
  { name: 'queued.max.requests', type: 'int', default: '500', scope: 'broker', doc: 'Requests one connection may have in flight before the broker stops reading from it.', min: 1 },
  { name: 'queued.max.request.bytes', type: 'long', default: '268435456', scope: 'broker', doc: 'Bytes of requests read but not yet answered, over all connections; when they are used up the broker stops reading from sockets until responses free some. -1 is unbounded (Kafka\'s default; ours is bounded). Must be at least socket.request.max.bytes.', min: -1 },
  { name: 'socket.request.read.timeout.ms', type: 'long', default: '60000', scope: 'broker', doc: 'Tributary only (Kafka has no such limit): a request must arrive whole within this long after its first bytes, else the connection is closed (slowloris clients holding request memory).', min: 1 },
  { name: 'max.connections', type: 'int', default: String(INT_MAX), scope: 'broker', doc: 'Connections the listener keeps at once; further connections are closed right after accept.', min: 0, dynamic: true },
  { name: 'max.connections.per.ip', type: 'int', default: String(INT_MAX), scope: 'broker', doc: 'Connections one client address may keep at once; further ones are closed right after accept.', min: 0, dynamic: true },
  { name: 'max.connections.per.ip.overrides', type: 'string', default: '', scope: 'broker', doc: 'Per-address exceptions to max.connections.per.ip, as address:count pairs separated by commas (addresses, not host names).', dynamic: true, check: checkPerIpOverrides },
  { name: 'quota.window.num', type: 'int', default: '11', scope: 'broker', doc: 'Samples kept to measure a client\'s rate against its quota.', min: 1 },
  { name: 'quota.window.size.seconds', type: 'int', default: '1', scope: 'broker', doc: 'Length of one quota sample.', min: 1 },
  { name: 'log.segment.bytes', type: 'int', default: '1073741824', scope: 'broker', doc: 'Segment file size before a roll.', min: 14, dynamic: true },
  { name: 'log.roll.hours', type: 'int', default: '168', scope: 'broker', doc: 'Segment age before a roll, in hours.', min: 1, dynamic: true },
  { name: 'log.roll.ms', type: 'long', default: null, scope: 'broker', doc: 'Segment age before a roll; overrides log.roll.hours.', dynamic: true },
  { name: 'log.index.size.max.bytes', type: 'int', default: '10485760', scope: 'broker', doc: 'Maximum size of an offset index file.', min: 4, dynamic: true },
  { name: 'log.index.interval.bytes', type: 'int', default: '4096', scope: 'broker', doc: 'Bytes of log between offset index entries.', min: 0, dynamic: true },
  { name: 'log.flush.interval.messages', type: 'long', default: LONG_MAX, scope: 'broker', doc: 'Messages appended before the partition is fsynced.', min: 1, dynamic: true },
  { name: 'log.flush.interval.ms', type: 'long', default: null, scope: 'broker', doc: 'Maximum time data stays unfsynced; unset means never forced (the OS page cache decides).', dynamic: true },
  { name: 'log.flush.scheduler.interval.ms', type: 'long', default: LONG_MAX, scope: 'broker', doc: 'How often the flusher checks log.flush.interval.ms.' },
  { name: 'log.retention.hours', type: 'int', default: '168', scope: 'broker', doc: 'Retention time in hours.', dynamic: true },
  { name: 'log.retention.minutes', type: 'int', default: null, scope: 'broker', doc: 'Retention time in minutes; overrides hours.', dynamic: true },
  { name: 'log.retention.ms', type: 'long', default: null, scope: 'broker', doc: 'Retention time; overrides minutes/hours. -1 is unlimited.', dynamic: true },
  { name: 'log.retention.bytes', type: 'long', default: '-1', scope: 'broker', doc: 'Retention size per partition: the oldest segments are deleted while the partition stays at least this big without them; -1 is unlimited.', dynamic: true },
  { name: 'log.retention.check.interval.ms', type: 'long', default: '300000', scope: 'broker', doc: 'How often retention deletes segments past retention.ms / retention.bytes or below the log start offset.', min: 1 },
  { name: 'log.cleanup.policy', type: 'list', default: 'delete', scope: 'broker', doc: 'delete and/or compact.', validValues: ['delete', 'compact'], dynamic: true },
  { name: 'log.message.timestamp.type', type: 'string', default: 'CreateTime', scope: 'broker', doc: 'CreateTime or LogAppendTime.', validValues: ['CreateTime', 'LogAppendTime'], dynamic: true },
  { name: 'compression.type', type: 'string', default: 'producer', scope: 'broker', doc: 'Only "producer" (keep the producer\'s codec) is applied.', validValues: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'], dynamic: true },
  { name: 'log.cleaner.delete.retention.ms', type: 'long', default: '86400000', scope: 'broker', doc: 'How long tombstones are kept in compacted topics.', dynamic: true },
  { name: 'log.cleaner.min.compaction.lag.ms', type: 'long', default: '0', scope: 'broker', doc: 'Minimum age before a record may be compacted.', dynamic: true },
  { name: 'log.cleaner.max.compaction.lag.ms', type: 'long', default: LONG_MAX, scope: 'broker', doc: 'Maximum time a record stays uncompacted.', dynamic: true },
  { name: 'log.cleaner.enable', type: 'boolean', default: 'true', scope: 'broker', doc: 'Run the log cleaner, which compacts topics whose cleanup.policy contains compact.' },
  { name: 'log.cleaner.backoff.ms', type: 'long', default: '15000', scope: 'broker', doc: 'How long the cleaner sleeps when no log needs cleaning.', min: 1 },
  { name: 'log.cleaner.dedupe.buffer.size', type: 'long', default: '134217728', scope: 'broker', doc: 'Memory budget of the cleaner\'s key → offset map (about 96 bytes per key); a log with more dirty keys is cleaned over several rounds.', min: 1024 },
  { name: 'log.cleaner.min.cleanable.ratio', type: 'double', default: '0.5', scope: 'broker', doc: 'Dirty ratio that triggers compaction.', dynamic: true },
  { name: 'min.insync.replicas', type: 'int', default: '1', scope: 'broker', doc: 'Minimum in-sync replicas for acks=all.', min: 1, dynamic: true },
  { name: 'offsets.topic.num.partitions', type: 'int', default: '50', scope: 'broker', doc: 'Partitions of __consumer_offsets.', min: 1 },
  { name: 'offsets.topic.replication.factor', type: 'int', default: '1', scope: 'broker', doc: 'Replication factor of __consumer_offsets.', min: 1 },
  { name: 'transaction.state.log.num.partitions', type: 'int', default: '50', scope: 'broker', doc: 'Partitions of __transaction_state.', min: 1 },
  { name: 'transaction.state.log.replication.factor', type: 'int', default: '1', scope: 'broker', doc: 'Replication factor of __transaction_state.', min: 1 },
  { name: 'transaction.state.log.segment.bytes', type: 'int', default: '104857600', scope: 'broker', doc: 'Segment size of __transaction_state (kept small so compaction keeps it short).', min: 1048576 },
  { name: 'transaction.max.timeout.ms', type: 'int', default: '900000', scope: 'broker', doc: 'Largest transaction.timeout.ms a producer may ask for (InitProducerId answers INVALID_TRANSACTION_TIMEOUT above it).', min: 1 },
  { name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms', type: 'int', default: '10000', scope: 'broker', doc: 'How often transactions older than their timeout are looked for and aborted.', min: 1 },
  { name: 'transactional.id.expiration.ms', type: 'int', default: '604800000', scope: 'broker', doc: 'A transactional id with no transaction for this long is forgotten.', min: 1 },
  { name: 'transaction.remove.expired.transaction.cleanup.interval.ms', type: 'int', default: '3600000', scope: 'broker', doc: 'How often expired transactional ids are looked for.', min: 1 },
  { name: 'producer.id.expiration.ms', type: 'int', default: '86400000', scope: 'broker', doc: 'A producer with no open transaction whose last batch (by its timestamp) is this old is forgotten: its next batch starts a new sequence.', min: 1 },
  { name: 'producer.id.expiration.check.interval.ms', type: 'int', default: '600000', scope: 'broker', doc: 'How often idle producer ids are looked for.', min: 1 },
  { name: 'max.incremental.fetch.session.cache.slots', type: 'int', default: '1000', scope: 'broker', doc: 'Maximum number of incremental fetch sessions.', min: 0 },
  { name: 'fetch.max.bytes', type: 'int', default: '57671680', scope: 'broker', doc: 'Upper bound on bytes returned by one Fetch.', min: 0 },
  { name: 'group.initial.rebalance.delay.ms', type: 'int', default: '3000', scope: 'broker', doc: 'Delay of the first rebalance of an empty group (extended while new members keep joining, up to the rebalance timeout).', min: 0 },
  { name: 'group.min.session.timeout.ms', type: 'int', default: '6000', scope: 'broker', doc: 'Smallest session timeout a group member may ask for.', min: 0 },
  { name: 'group.max.session.timeout.ms', type: 'int', default: '1800000', scope: 'broker', doc: 'Largest session timeout a group member may ask for.', min: 0 },
  { name: 'offsets.retention.minutes', type: 'int', default: '10080', scope: 'broker', doc: 'Committed offsets of a group are removed this long after the group became empty (or, for groups that only commit, after the commit).', min: 1 },
  { name: 'offsets.retention.check.interval.ms', type: 'long', default: '600000', scope: 'broker', doc: 'How often expired committed offsets are looked for.', min: 1 },
  { name: 'offset.metadata.max.bytes', type: 'int', default: '4096', scope: 'broker', doc: 'Largest metadata string of a committed offset.', min: 0 },
  { name: 'broker.rack', type: 'string', default: null, scope: 'broker', doc: 'Rack of this broker; new replicas of a partition are spread over racks.' },
  { name: 'broker.session.timeout.ms', type: 'int', default: '9000', scope: 'broker', doc: 'Cluster mode: the TTL of this broker\'s etcd lease. A broker not heard of for this long is dead: the controller moves its leadership, and the broker itself stops acting as leader.', min: 2000 },
  { name: 'etcd.endpoints', type: 'list', default: null, scope: 'broker', doc: 'Tributary only: comma-separated etcd client URLs. Set, the broker joins the cluster whose metadata is kept there (cluster mode); unset, it is a single node with its metadata in its log dir.' },
  { name: 'etcd.prefix', type: 'string', default: '/tributary', scope: 'broker', doc: 'Tributary only: the etcd key prefix of this cluster, so several clusters can share one etcd.' },
  { name: 'cluster.id', type: 'string', default: null, scope: 'broker', doc: 'Cluster id; generated and stored in meta.properties on first start.' },
  { name: 'leader.replication.throttled.rate', type: 'long', default: LONG_MAX, scope: 'broker', doc: 'Replication throttle of leaders, bytes/s (kafka-reassign-partitions sets and clears it; a single node has no followers).', min: 0, dynamic: true, inert: true },
  { name: 'follower.replication.throttled.rate', type: 'long', default: LONG_MAX, scope: 'broker', doc: 'Replication throttle of followers, bytes/s (kafka-reassign-partitions sets and clears it).', min: 0, dynamic: true, inert: true },
  { name: 'replica.alter.log.dirs.io.max.bytes.per.second', type: 'long', default: LONG_MAX, scope: 'broker', doc: 'Throttle of moves between log dirs, bytes/s (kafka-reassign-partitions sets and clears it).', min: 0, dynamic: true, inert: true },
  { name: 'log.level', type: 'string', default: 'info', scope: 'broker', doc: 'Log level (pino): trace, debug, info, warn, error, fatal, silent.', validValues: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] },
];

const topicDefs: ConfigDef[] = [
  { name: 'cleanup.policy', type: 'list', default: 'delete', scope: 'topic', doc: 'delete and/or compact.', brokerSynonyms: ['log.cleanup.policy'], validValues: ['delete', 'compact'] },
  { name: 'compression.type', type: 'string', default: 'producer', scope: 'topic', doc: 'Codec for stored batches; "producer" keeps what the producer sent.', brokerSynonyms: ['compression.type'], validValues: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] },
  { name: 'delete.retention.ms', type: 'long', default: '86400000', scope: 'topic', doc: 'How long tombstones are kept.', brokerSynonyms: ['log.cleaner.delete.retention.ms'], min: 0 },
  { name: 'file.delete.delay.ms', type: 'long', default: '60000', scope: 'topic', doc: 'Delay before a deleted segment file is removed.', min: 0, inert: true },
  { name: 'flush.messages', type: 'long', default: LONG_MAX, scope: 'topic', doc: 'Messages appended before an fsync (1 = every batch).', brokerSynonyms: ['log.flush.interval.messages'], min: 1 },
  { name: 'flush.ms', type: 'long', default: LONG_MAX, scope: 'topic', doc: 'Maximum time before an fsync.', brokerSynonyms: ['log.flush.interval.ms'], min: 0 },
  { name: 'index.interval.bytes', type: 'int', default: '4096', scope: 'topic', doc: 'Bytes of log between offset index entries.', brokerSynonyms: ['log.index.interval.bytes'], min: 0 },
  { name: 'leader.replication.throttled.replicas', type: 'list', default: '', scope: 'topic', doc: 'Replicas throttled on the leader side (partition:broker pairs or *; set by kafka-reassign-partitions).', inert: true },
  { name: 'follower.replication.throttled.replicas', type: 'list', default: '', scope: 'topic', doc: 'Replicas throttled on the follower side (partition:broker pairs or *; set by kafka-reassign-partitions).', inert: true },
  { name: 'max.compaction.lag.ms', type: 'long', default: LONG_MAX, scope: 'topic', doc: 'Maximum time a record stays uncompacted.', brokerSynonyms: ['log.cleaner.max.compaction.lag.ms'], min: 1 },
  { name: 'max.message.bytes', type: 'int', default: '1048588', scope: 'topic', doc: 'Largest record batch accepted.', brokerSynonyms: ['message.max.bytes'], min: 0 },
  { name: 'message.timestamp.type', type: 'string', default: 'CreateTime', scope: 'topic', doc: 'CreateTime or LogAppendTime.', brokerSynonyms: ['log.message.timestamp.type'], validValues: ['CreateTime', 'LogAppendTime'] },
  { name: 'min.cleanable.dirty.ratio', type: 'double', default: '0.5', scope: 'topic', doc: 'Dirty ratio that triggers compaction.', brokerSynonyms: ['log.cleaner.min.cleanable.ratio'], min: 0, max: 1 },
  { name: 'min.compaction.lag.ms', type: 'long', default: '0', scope: 'topic', doc: 'Minimum age before a record may be compacted.', brokerSynonyms: ['log.cleaner.min.compaction.lag.ms'], min: 0 },
  { name: 'min.insync.replicas', type: 'int', default: '1', scope: 'topic', doc: 'Minimum in-sync replicas for acks=all.', brokerSynonyms: ['min.insync.replicas'], min: 1 },
  { name: 'retention.bytes', type: 'long', default: '-1', scope: 'topic', doc: 'Retention size per partition: the oldest segments are deleted while the partition stays at least this big without them (cleanup.policy delete); -1 is unlimited.', brokerSynonyms: ['log.retention.bytes'] },
  { name: 'retention.ms', type: 'long', default: '604800000', scope: 'topic', doc: 'Retention time: closed segments whose newest record is older are deleted (cleanup.policy delete); -1 is unlimited.', brokerSynonyms: ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'], min: -1 },
  { name: 'segment.bytes', type: 'int', default: '1073741824', scope: 'topic', doc: 'Segment file size before a roll.', brokerSynonyms: ['log.segment.bytes'], min: 14 },
  { name: 'segment.index.bytes', type: 'int', default: '10485760', scope: 'topic', doc: 'Maximum size of an offset index file.', brokerSynonyms: ['log.index.size.max.bytes'], min: 4 },
  { name: 'segment.ms', type: 'long', default: '604800000', scope: 'topic', doc: 'Segment age before a roll.', brokerSynonyms: ['log.roll.ms', 'log.roll.hours'], min: 1 },
];

export const brokerConfigDefs: ReadonlyMap<string, ConfigDef> = new Map(brokerDefs.map((d) => [d.name, d]));
export const topicConfigDefs: ReadonlyMap<string, ConfigDef> = new Map(topicDefs.map((d) => [d.name, d]));

export { INT_MAX };
