import { ApiKey, type WriteTxnMarkersRequest, type WriteTxnMarkersResponse } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { OFFSETS_TOPIC } from '../../coordinator/offsets-topic.js';
import type { ApiHandler } from '../api.js';

// The coordinator writes markers itself on a single node; this API is what tools use to end a
// hanging transaction by hand (kafka-transactions.sh abort).
export const writeTxnMarkersHandler: ApiHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse> = {
  apiKey: ApiKey.WriteTxnMarkers,
  // v2 carries the marker's transaction version (KIP-1228): 2 asks for the strict epoch check.
  maxVersion: 2,
  async handle({ broker }, req) {
    const markers = await Promise.all(
      req.markers.map(async (m) => ({
        producerId: m.producerId,
        topics: await Promise.all(
          m.topics.map(async (t) => ({
            name: t.name,
            partitions: await Promise.all(
              t.partitionIndexes.map(async (partitionIndex) => {
                const partition = broker.leaderPartition(t.name, partitionIndex);
                if (typeof partition === 'number') return { partitionIndex, errorCode: partition };
                try {
                  await partition.writeTxnMarker({
                    producerId: m.producerId,
                    producerEpoch: m.producerEpoch,
                    coordinatorEpoch: m.coordinatorEpoch,
                    commit: m.transactionResult,
                    transactionVersion: m.transactionVersion,
                  }).done;
                } catch (err) {
                  if (!(err instanceof KafkaError)) broker.logger.error({ err, topic: t.name, partition: partitionIndex }, 'writing a transaction marker failed');
                  return { partitionIndex, errorCode: err instanceof KafkaError ? err.code : ErrorCode.KAFKA_STORAGE_ERROR };
                }
                if (t.name === OFFSETS_TOPIC) broker.groupCoordinator.completeTransaction(m.producerId, m.transactionResult, partitionIndex);
                return { partitionIndex, errorCode: ErrorCode.NONE };
              }),
            ),
          })),
        ),
      })),
    );
    return { markers };
  },
};
