// Wires the transaction coordinator to the broker: __transaction_state (compacted, internal,
// transaction.state.log.num.partitions partitions) holds one record per transactional id; at
// start it is replayed, and transactions a crash caught after their decision are finished.
import { KafkaError, ErrorCode } from '../protocol/errors.js';
import { InternalTopic, replayInternalPartition } from './internal-topic.js';
import { OFFSETS_TOPIC } from './offsets-topic.js';
import { TransactionCoordinator, type MarkerRequest } from './transaction-coordinator.js';
import type { GroupCoordinator } from './group-coordinator.js';
import type { CoordinatorHost } from './ports.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';

/** Single node: this broker has always been the coordinator, so its epoch never changes. */
export const COORDINATOR_EPOCH = 0;

/**
 * Writes one transaction's markers to all its partitions at once. A partition whose topic is gone
 * is skipped; a producer the partition already knows under a newer epoch is skipped too (its
 * transaction was ended there by a later marker). Disk failures reject, so the coordinator retries.
 */
async function writeMarkers(host: CoordinatorHost, groups: GroupCoordinator, m: MarkerRequest): Promise<void> {
  const writes: Promise<void>[] = [];
  /** Cluster mode: partitions led by other brokers, by leader. */
  const remote = new Map<number, Map<string, number[]>>();
  for (const [topic, partitions] of m.partitions) {
    for (const index of partitions) {
      const route = host.markerRoute(topic, index);
      if (route.kind === 'gone') continue;
      if (route.kind === 'unavailable') {
        // Offline, or this broker cannot act as leader now: retried by the coordinator.
        writes.push(Promise.reject(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `${topic}-${index}: ${route.reason}`)));
        continue;
      }
      if (route.kind === 'remote') {
        const byTopic = remote.get(route.nodeId) ?? new Map<string, number[]>();
        byTopic.set(topic, [...(byTopic.get(topic) ?? []), index]);
        remote.set(route.nodeId, byTopic);
        continue;
      }
      const partition = route.partition;
      writes.push(
        (async () => {
          try {
            await partition.writeTxnMarker({ producerId: m.producerId, producerEpoch: m.producerEpoch, coordinatorEpoch: COORDINATOR_EPOCH, commit: m.commit }).done;
          } catch (err) {
            if (err instanceof KafkaError && err.code !== ErrorCode.KAFKA_STORAGE_ERROR && err.code !== ErrorCode.NOT_LEADER_OR_FOLLOWER) {
              host.logger.warn({ err, topic, partition: index, producerId: m.producerId }, 'transaction marker not written');
              return;
            }
            throw err;
          }
          if (topic === OFFSETS_TOPIC) groups.completeTransaction(m.producerId, m.commit, index);
        })(),
      );
    }
  }
  for (const [leader, topics] of remote) {
    writes.push(host.writeRemoteMarkers(leader, { producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.commit, coordinatorEpoch: COORDINATOR_EPOCH }, topics));
  }
  const results = await Promise.allSettled(writes);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

/**
 * Creates the broker's transaction coordinator and rebuilds its state from __transaction_state.
 * Markers written to __consumer_offsets complete the transactional offsets in `groups`.
 */
export async function startTransactionCoordinator(host: CoordinatorHost, groups: GroupCoordinator): Promise<TransactionCoordinator> {
  const config = host.config;
  const store = new InternalTopic(host, TRANSACTION_STATE_TOPIC, 'transaction.state.log.num.partitions', {
    'cleanup.policy': 'compact',
    'segment.bytes': String(config.int('transaction.state.log.segment.bytes')),
  });
  const coordinator = new TransactionCoordinator({
    numPartitions: () => store.numPartitions,
    store: { append: (p, records) => store.append(p, records), ensureReady: () => store.ensureTopic().then(() => undefined) },
    clock: host.clock,
    nextProducerId: () => host.nextProducerId(),
    writeMarkers: (m) => writeMarkers(host, groups, m),
    partitionExists: (topic, partition) => host.partitionExists(topic, partition),
    maxTimeoutMs: config.int('transaction.max.timeout.ms'),
    transactionalIdExpirationMs: config.int('transactional.id.expiration.ms'),
    logger: host.logger,
  });
  const topic = host.topics.get(TRANSACTION_STATE_TOPIC);
  if (topic) {
    const started = host.clock.monotonicMs();
    let records = 0;
    for (let i = 0; i < topic.partitions.length; i++) {
      // Cluster mode: only the partitions hosted here (a hole is another broker's).
      if (!topic.partitions[i]) continue;
      records += await replayInternalPartition(topic, i, { record: (key, value) => coordinator.replayRecord(key, value) }, host.logger);
    }
    coordinator.finishLoading();
    host.logger.info({ transactionalIds: coordinator.transactions.size, records, ms: Math.round(host.clock.monotonicMs() - started) }, 'transaction coordinator loaded');
  }
  coordinator.startTimers(config.int('transaction.abort.timed.out.transaction.cleanup.interval.ms'), config.int('transaction.remove.expired.transaction.cleanup.interval.ms'));
  return coordinator;
}
