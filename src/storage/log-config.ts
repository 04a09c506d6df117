// Per-partition log settings (the storage subset of Kafka's topic configs).

export interface LogConfig {
  /** segment.bytes: roll when the next batch would make the segment larger than this. */
  segmentBytes: number;
  /** segment.ms: roll when the segment's first batch is older than this. */
  segmentMs: number;
  /** segment.index.bytes: capacity of each index; a full index rolls the segment. */
  segmentIndexBytes: number;
  /** index.interval.bytes: bytes of log between two offset index entries. */
  indexIntervalBytes: number;
  /** flush.messages: fsync after this many messages (Long.MAX → Number.MAX_SAFE_INTEGER). */
  flushIntervalMessages: number;
  /** flush.ms: fsync when the last fsync is older than this. */
  flushIntervalMs: number;
  /** message.timestamp.type */
  messageTimestampType: 'CreateTime' | 'LogAppendTime';
  /** retention.ms: closed segments whose largest timestamp is older than this go; -1 = unlimited. */
  retentionMs: number;
  /** retention.bytes: oldest segments go while the partition stays at least this big without them; -1 = unlimited. */
  retentionBytes: number;
  /** cleanup.policy: time and size retention only apply when it contains 'delete'. */
  cleanupPolicy: readonly string[];
  /** delete.retention.ms: how long the cleaner keeps a tombstone once it has cleaned past it. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms: records younger than this (by their segment's largest timestamp) are not compacted. */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms: a log whose oldest dirty record is older than this is cleaned whatever its dirty ratio. */
  maxCompactionLagMs: number;
  /** min.cleanable.dirty.ratio: dirty bytes / all cleanable bytes above which the cleaner picks the log. */
  minCleanableDirtyRatio: number;
}

export const DEFAULT_LOG_CONFIG: Readonly<LogConfig> = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  segmentIndexBytes: 10 * 1024 * 1024,
  indexIntervalBytes: 4096,
  flushIntervalMessages: Number.MAX_SAFE_INTEGER,
  flushIntervalMs: Number.MAX_SAFE_INTEGER,
  messageTimestampType: 'CreateTime',
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  cleanupPolicy: Object.freeze(['delete']),
  deleteRetentionMs: 24 * 60 * 60 * 1000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  minCleanableDirtyRatio: 0.5,
});

export function logConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, ...overrides };
}
