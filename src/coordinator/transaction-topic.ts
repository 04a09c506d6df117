// Wires the transaction coordinator to the broker: __transaction_state (compacted, internal,
// transaction.state.log.num.partitions partitions) holds one record per transactional id. Each
// partition this broker leads is replayed (at start, or when its leadership arrives), and
// transactions caught after their decision (a crash, a coordinator that moved) are finished
// under the new coordinator epoch, the partition's leader epoch.
import { KafkaError, ErrorCode } from '../protocol/errors.js';
import { InternalTopic, replayInternalPartition } from './internal-topic.js';
import { CoordinatorPartitions } from './coordinator-partitions.js';
import { OFFSETS_TOPIC } from './offsets-topic.js';
import { TransactionCoordinator, type MarkerRequest } from './transaction-coordinator.js';
import type { GroupCoordinator } from './group-coordinator.js';
import type { CoordinatorHost } from './ports.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';

/**
 * Writes one transaction's markers to all its partitions at once. A partition whose topic is gone
 * is skipped; a producer the partition already knows under a newer epoch is skipped too (its
 * transaction was ended there by a later marker), and so is one a newer coordinator already wrote
 * markers for (TRANSACTION_COORDINATOR_FENCED), as Kafka drops them. Disk failures and moved
 * leaders reject, so the coordinator retries.
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
            await partition.writeTxnMarker({
              producerId: m.producerId,
              producerEpoch: m.producerEpoch,
              coordinatorEpoch: m.coordinatorEpoch,
              commit: m.commit,
              transactionVersion: m.transactionVersion,
            }).done;
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
    writes.push(
      host.writeRemoteMarkers(
        leader,
        { producerId: m.producerId, producerEpoch: m.producerEpoch, commit: m.commit, coordinatorEpoch: m.coordinatorEpoch, transactionVersion: m.transactionVersion },
        topics,
      ),
    );
  }
  const results = await Promise.allSettled(writes);
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
}

/**
 * Creates the broker's transaction coordinator and loads the __transaction_state partitions it
 * leads. Markers written to __consumer_offsets complete the transactional offsets in `groups`.
 */
export async function startTransactionCoordinator(host: CoordinatorHost, groups: GroupCoordinator): Promise<TransactionCoordinator> {
  const config = host.config;
  const store = new InternalTopic(host, TRANSACTION_STATE_TOPIC, 'transaction.state.log.num.partitions', 'transaction.state.log.replication.factor', {
    'cleanup.policy': 'compact',
    'segment.bytes': String(config.int('transaction.state.log.segment.bytes')),
  });
  const ownership = new CoordinatorPartitions(TRANSACTION_STATE_TOPIC, host.clock, host.logger);
  const coordinator = new TransactionCoordinator({
    numPartitions: () => store.numPartitions,
    store: {
      append: (p, records) => store.append(p, records),
      ensureReady: (partition) => ownership.ensureReady(host, () => store.ensureTopic(), partition),
    },
    ownership,
    storageExists: () => host.topics.has(TRANSACTION_STATE_TOPIC),
    clock: host.clock,
    nextProducerId: () => host.nextProducerId(),
    writeMarkers: (m) => writeMarkers(host, groups, m),
    partitionExists: (topic, partition) => host.partitionExists(topic, partition),
    maxTimeoutMs: config.int('transaction.max.timeout.ms'),
    transactionalIdExpirationMs: config.int('transactional.id.expiration.ms'),
    logger: host.logger,
    transactionVersion: () => host.transactionVersion?.() ?? 2,
  });
  ownership.attach({
    load: async (index, _epoch, current) => {
      const topic = host.topics.get(TRANSACTION_STATE_TOPIC);
      if (topic) await replayInternalPartition(topic, index, { record: (key, value) => coordinator.replayRecord(key, value) }, host.logger, current);
    },
    activate: (index) => coordinator.finishLoading(index),
    unload: (index) => coordinator.unloadPartition(index),
  });
  const loaded = await ownership.followAndLoad(host);
  if (loaded) host.logger.info({ partitions: loaded.partitions, transactionalIds: coordinator.transactions.size, ms: loaded.ms }, 'transaction coordinator loaded');
  coordinator.startTimers(config.int('transaction.abort.timed.out.transaction.cleanup.interval.ms'), config.int('transaction.remove.expired.transaction.cleanup.interval.ms'));
  return coordinator;
}
