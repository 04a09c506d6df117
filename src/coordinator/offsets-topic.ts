// Wires the group coordinator to the broker: __consumer_offsets is created lazily (compacted,
// internal, offsets.topic.num.partitions partitions), coordinator records are appended to it as
// ordinary record batches, and at start every partition is replayed to rebuild groups and
// committed offsets.
import { isTransactional } from '../protocol/records/record-batch.js';
import { GroupCoordinator, type PartitionLag } from './group-coordinator.js';
import { InternalTopic, replayInternalPartition } from './internal-topic.js';
import type { CoordinatorHost } from './ports.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Creates the broker's group coordinator and rebuilds its state from __consumer_offsets. */
export async function startGroupCoordinator(host: CoordinatorHost): Promise<GroupCoordinator> {
  const store = new InternalTopic(host, OFFSETS_TOPIC, 'offsets.topic.num.partitions', { 'cleanup.policy': 'compact' });
  const config = host.config;
  const coordinator = new GroupCoordinator({
    // Read each time: if something else created the topic first, its partition count rules.
    numPartitions: () => store.numPartitions,
    clock: host.clock,
    store,
    ensureReady: () => store.ensureTopic().then(() => undefined),
    initialRebalanceDelayMs: config.int('group.initial.rebalance.delay.ms'),
    minSessionTimeoutMs: config.int('group.min.session.timeout.ms'),
    maxSessionTimeoutMs: config.int('group.max.session.timeout.ms'),
    offsetsRetentionMs: config.int('offsets.retention.minutes') * 60_000,
    offsetMetadataMaxBytes: config.int('offset.metadata.max.bytes'),
    partitionExists: (topic, partition) => host.partitionExists(topic, partition),
    logger: host.logger,
  });
  const topic = host.topics.get(OFFSETS_TOPIC);
  if (topic) {
    const started = host.clock.monotonicMs();
    let records = 0;
    for (let i = 0; i < topic.partitions.length; i++) {
      // Cluster mode: only the partitions hosted here (a hole is another broker's).
      if (!topic.partitions[i]) continue;
      records += await replayInternalPartition(
        topic,
        i,
        {
          // Offsets committed inside a transaction wait for its marker, as they did before the crash.
          record: (key, value, header) => coordinator.replayRecord(key, value, isTransactional(header.attributes) ? header.producerId : undefined),
          marker: (header, commit) => coordinator.completeTransaction(header.producerId, commit, i),
        },
        host.logger,
      );
    }
    coordinator.finishLoading();
    host.logger.info({ groups: coordinator.groups.size, records, ms: Math.round(host.clock.monotonicMs() - started) }, 'group coordinator loaded');
  }
  coordinator.startExpiry(config.int('offsets.retention.check.interval.ms'));
  return coordinator;
}

/** A group's consumer lag against this broker's high watermarks (for metrics and tools). */
export function groupLag(host: CoordinatorHost, coordinator: GroupCoordinator, groupId: string): PartitionLag[] {
  return coordinator.lag(groupId, (topic, partition) => host.partition(topic, partition)?.highWatermark);
}
