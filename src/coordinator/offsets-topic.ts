// Wires the group coordinator to the broker: __consumer_offsets is created lazily (compacted,
// internal, offsets.topic.num.partitions partitions), coordinator records are appended to it as
// ordinary record batches, and each partition this broker leads is replayed (at start, or when
// its leadership arrives) to rebuild its groups and committed offsets; they leave memory when
// the leadership does.
import { isTransactional } from '../protocol/records/record-batch.js';
import { GroupCoordinator, type PartitionLag } from './group-coordinator.js';
import { InternalTopic, replayInternalPartition } from './internal-topic.js';
import { CoordinatorPartitions } from './coordinator-partitions.js';
import type { CoordinatorHost, CoordinatorTopic } from './ports.js';
import { splitList, validateTopicConfigs } from '../config/config.js';
import { clampGroupConfig } from '../config/group-config-bounds.js';

export const OFFSETS_TOPIC = '__consumer_offsets';

/** Creates the broker's group coordinator and loads the __consumer_offsets partitions it leads. */
export async function startGroupCoordinator(host: CoordinatorHost): Promise<GroupCoordinator> {
  const store = new InternalTopic(host, OFFSETS_TOPIC, 'offsets.topic.num.partitions', 'offsets.topic.replication.factor', { 'cleanup.policy': 'compact' });
  const config = host.config;
  const ownership = new CoordinatorPartitions(OFFSETS_TOPIC, host.clock, host.logger);
  // A config set on the group itself (GROUP config resource), capped to the broker's bounds as
  // Kafka's GroupConfig.evaluate does; undefined where the group has none (the broker's applies).
  const own = (groupId: string, name: string): string | undefined => host.groupConfigsOf?.(groupId)[name];
  const ownInt = (groupId: string, name: string): number | undefined => {
    const v = own(groupId, name);
    return v === undefined ? undefined : clampGroupConfig(name, Number(v), (n) => config.int(n));
  };
  const coordinator = new GroupCoordinator({
    // Read each time: if something else created the topic first, its partition count rules.
    numPartitions: () => store.numPartitions,
    clock: host.clock,
    store,
    ensureReady: (partition) => ownership.ensureReady(host, () => store.ensureTopic(), partition),
    ownership,
    storageExists: () => host.topics.has(OFFSETS_TOPIC),
    initialRebalanceDelayMs: config.int('group.initial.rebalance.delay.ms'),
    minSessionTimeoutMs: config.int('group.min.session.timeout.ms'),
    maxSessionTimeoutMs: config.int('group.max.session.timeout.ms'),
    classicMaxSize: config.int('group.max.size'),
    offsetsRetentionMs: config.int('offsets.retention.minutes') * 60_000,
    offsetMetadataMaxBytes: config.int('offset.metadata.max.bytes'),
    partitionExists: (topic, partition) => host.partitionExists(topic, partition),
    logger: host.logger,
    migrationPolicy: config.str?.('group.consumer.migration.policy') ?? 'bidirectional',
    consumer: {
      topics: {
        byName: (name) => topicMetadata(host.topics.get(name)),
        byId: (id) => topicMetadata([...host.topics.values()].find((t) => t.id === id)),
        names: () => host.topics.keys(),
      },
      heartbeatIntervalMs: config.int('group.consumer.heartbeat.interval.ms'),
      sessionTimeoutMs: config.int('group.consumer.session.timeout.ms'),
      groupConfig: (groupId) => ({
        heartbeatIntervalMs: ownInt(groupId, 'consumer.heartbeat.interval.ms'),
        sessionTimeoutMs: ownInt(groupId, 'consumer.session.timeout.ms'),
      }),
      assignors: config.list?.('group.consumer.assignors') ?? ['uniform', 'range'],
      maxSize: config.int('group.consumer.max.size'),
    },
    streams: {
      topics: {
        get: (name) => {
          const t = topicMetadata(host.topics.get(name));
          return t && { id: t.id, numPartitions: t.numPartitions };
        },
        names: () => host.topics.keys(),
      },
      // Internal topics a streams topology declares (repartition and changelog topics).
      createTopic: async (name, partitions, configs, replicationFactor) => {
        const invalid = validateTopicConfigs(configs);
        if (invalid) throw new Error(invalid);
        await host.createTopic(name, partitions, configs, replicationFactor === undefined ? undefined : { replicationFactor });
      },
      heartbeatIntervalMs: config.int('group.streams.heartbeat.interval.ms'),
      sessionTimeoutMs: config.int('group.streams.session.timeout.ms'),
      numStandbyReplicas: config.int('group.streams.num.standby.replicas'),
      initialRebalanceDelayMs: config.int('group.streams.initial.rebalance.delay.ms'),
      rackAwareAssignmentTags: config.list?.('group.streams.rack.aware.assignment.tags') ?? [],
      groupConfig: (groupId) => {
        const tags = own(groupId, 'streams.rack.aware.assignment.tags');
        return {
          heartbeatIntervalMs: ownInt(groupId, 'streams.heartbeat.interval.ms'),
          sessionTimeoutMs: ownInt(groupId, 'streams.session.timeout.ms'),
          numStandbyReplicas: ownInt(groupId, 'streams.num.standby.replicas'),
          initialRebalanceDelayMs: ownInt(groupId, 'streams.initial.rebalance.delay.ms'),
          rackAwareAssignmentTags: tags === undefined ? undefined : splitList(tags),
        };
      },
      maxSize: config.int('group.streams.max.size'),
    },
    share: {
      config: (groupId) => {
        const int = (name: string, fallback: string) => ownInt(groupId, name) ?? config.int(fallback);
        return {
          heartbeatIntervalMs: int('share.heartbeat.interval.ms', 'group.share.heartbeat.interval.ms'),
          sessionTimeoutMs: int('share.session.timeout.ms', 'group.share.session.timeout.ms'),
        };
      },
      maxSize: config.int('group.share.max.size'),
    },
  });
  ownership.attach({
    load: async (index, _epoch, current) => {
      const topic = host.topics.get(OFFSETS_TOPIC);
      if (!topic) return;
      await replayInternalPartition(
        topic,
        index,
        {
          // Offsets committed inside a transaction wait for its marker, as they did before the move.
          record: (key, value, header) => coordinator.replayRecord(key, value, isTransactional(header.attributes) ? header.producerId : undefined),
          marker: (header, commit) => coordinator.completeTransaction(header.producerId, commit, index),
        },
        host.logger,
        current,
      );
    },
    activate: (index) => coordinator.finishLoading(index),
    unload: (index) => coordinator.unloadPartition(index),
  });
  const loaded = await ownership.followAndLoad(host);
  if (loaded) host.logger.info({ partitions: loaded.partitions, groups: coordinator.groups.size, ms: loaded.ms }, 'group coordinator loaded');
  coordinator.startExpiry(config.int('offsets.retention.check.interval.ms'));
  return coordinator;
}

function topicMetadata(t: CoordinatorTopic | undefined): { id: string; name: string; numPartitions: number } | undefined {
  return t?.id === undefined ? undefined : { id: t.id, name: t.name, numPartitions: t.partitions.length };
}

/** A group's consumer lag against this broker's high watermarks (for metrics and tools). */
export function groupLag(host: CoordinatorHost, coordinator: GroupCoordinator, groupId: string): PartitionLag[] {
  return coordinator.lag(groupId, (topic, partition) => host.partition(topic, partition)?.highWatermark);
}
