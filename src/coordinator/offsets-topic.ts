// Wires the group coordinator to the broker: __consumer_offsets is created lazily (compacted,
// internal, offsets.topic.num.partitions partitions), coordinator records are appended to it as
// ordinary record batches, and at start every partition is replayed to rebuild groups and
// committed offsets.
import type { Broker } from '../broker/broker.js';
import type { TopicState } from '../broker/partition.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { buildRecordBatch } from '../storage/record-batch-builder.js';
import { isControl, lastOffsetOf, readBatchHeader, splitBatches } from '../storage/record-batch.js';
import { decodeBatchRecordsAsync } from '../storage/records.js';
import { GroupCoordinator, type CoordinatorStore, type PartitionLag } from './group-coordinator.js';
import { realClock } from './group.js';
import type { CoordinatorRecord } from './records.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Appends coordinator records to __consumer_offsets, creating the topic on first use. */
export class OffsetsTopicStore implements CoordinatorStore {
  private creating: Promise<TopicState> | null = null;

  constructor(private readonly broker: Broker) {}

  get numPartitions(): number {
    return this.broker.topics.get(OFFSETS_TOPIC)?.partitions.length ?? this.broker.config.int('offsets.topic.num.partitions');
  }

  /** The topic, created (once, even under concurrent callers) if it does not exist yet. */
  ensureTopic(): Promise<TopicState> {
    const existing = this.broker.topics.get(OFFSETS_TOPIC);
    if (existing) return Promise.resolve(existing);
    if (!this.creating) {
      const partitions = this.broker.config.int('offsets.topic.num.partitions');
      this.creating = this.broker.createTopic(OFFSETS_TOPIC, partitions, { 'cleanup.policy': 'compact' }).finally(() => {
        this.creating = null;
      });
    }
    return this.creating;
  }

  append(partition: number, records: CoordinatorRecord[]): Promise<void> {
    const topic = this.broker.topics.get(OFFSETS_TOPIC);
    // Synchronous when the topic exists, so the log order is the order of calls.
    if (topic) return this.appendTo(topic, partition, records);
    return this.ensureTopic().then((t) => this.appendTo(t, partition, records));
  }

  private appendTo(topic: TopicState, partition: number, records: CoordinatorRecord[]): Promise<void> {
    const p = topic.partitions[partition];
    if (!p) return Promise.reject(new KafkaError(ErrorCode.NOT_COORDINATOR, `${OFFSETS_TOPIC} has no partition ${partition}`));
    try {
      const batch = buildRecordBatch(records.map((r) => ({ key: r.key, value: r.value })));
      return p.append(batch).done;
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/** Reads one partition of __consumer_offsets from its start to its high watermark. */
async function replayPartition(coordinator: GroupCoordinator, topic: TopicState, index: number, logger: Broker['logger']): Promise<number> {
  const log = topic.partitions[index]!.log;
  let offset = log.logStartOffset;
  let count = 0;
  while (offset < log.highWatermark) {
    const read = await log.read(offset, 1 << 20, log.highWatermark, true);
    if (!read.records) break;
    for (const batch of splitBatches(read.records)) {
      const header = readBatchHeader(batch);
      const next = lastOffsetOf(header) + 1;
      if (!isControl(header.attributes)) {
        for (const record of await decodeBatchRecordsAsync(batch)) {
          if (record.offset < offset) continue;
          try {
            coordinator.replayRecord(record.key, record.value);
            count++;
          } catch (err) {
            // A record this broker cannot read must not keep it from starting.
            logger.warn({ err, topic: OFFSETS_TOPIC, partition: index, offset: record.offset }, 'skipping an unreadable coordinator record');
          }
        }
      }
      offset = Math.max(offset, next);
    }
  }
  return count;
}

/** Creates the broker's group coordinator and rebuilds its state from __consumer_offsets. */
export async function startGroupCoordinator(broker: Broker): Promise<GroupCoordinator> {
  const store = new OffsetsTopicStore(broker);
  const config = broker.config;
  const coordinator = new GroupCoordinator({
    // Read each time: if something else created the topic first, its partition count rules.
    numPartitions: () => store.numPartitions,
    clock: realClock,
    store,
    ensureReady: () => store.ensureTopic().then(() => undefined),
    initialRebalanceDelayMs: config.int('group.initial.rebalance.delay.ms'),
    minSessionTimeoutMs: config.int('group.min.session.timeout.ms'),
    maxSessionTimeoutMs: config.int('group.max.session.timeout.ms'),
    offsetsRetentionMs: config.int('offsets.retention.minutes') * 60_000,
    offsetMetadataMaxBytes: config.int('offset.metadata.max.bytes'),
    partitionExists: (topic, partition) => broker.partition(topic, partition) !== undefined,
    logger: broker.logger,
  });
  const topic = broker.topics.get(OFFSETS_TOPIC);
  if (topic) {
    const started = Date.now();
    let records = 0;
    for (let i = 0; i < topic.partitions.length; i++) records += await replayPartition(coordinator, topic, i, broker.logger);
    coordinator.finishLoading();
    broker.logger.info({ groups: coordinator.groups.size, records, ms: Date.now() - started }, 'group coordinator loaded');
  }
  coordinator.startExpiry(config.int('offsets.retention.check.interval.ms'));
  return coordinator;
}

/** A group's consumer lag against this broker's high watermarks (for metrics and tools). */
export function groupLag(broker: Broker, groupId: string): PartitionLag[] {
  return broker.groupCoordinator.lag(groupId, (topic, partition) => broker.partition(topic, partition)?.log.highWatermark);
}
