import { ApiKey, type DescribeProducersRequest, type DescribeProducersResponse, type DescribeProducersResponsePartitionResponse } from '../../protocol/generated/index.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';

type PartitionResponse = DescribeProducersResponsePartitionResponse;

/**
 * DescribeProducers (KIP-664): the producer state of each partition's log — what
 * `kafka-transactions.sh describe-producers` shows to find a hanging transaction.
 */
export const describeProducersHandler: ApiHandler<DescribeProducersRequest, DescribeProducersResponse> = {
  apiKey: ApiKey.DescribeProducers,
  handle({ broker, conn }, req) {
    const topics = req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((index): PartitionResponse => {
        if (!broker.security.topic(conn, Op.READ, t.name)) {
          return {
            partitionIndex: index,
            errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
            errorMessage: errorName(ErrorCode.TOPIC_AUTHORIZATION_FAILED),
            activeProducers: [],
          };
        }
        // The leader's producer state only, as in Kafka: a follower answers NOT_LEADER_OR_FOLLOWER.
        const partition = broker.leaderPartition(t.name, index);
        if (typeof partition === 'number') {
          return { partitionIndex: index, errorCode: partition, errorMessage: errorName(partition), activeProducers: [] };
        }
        const activeProducers = [...partition.producers()].map((entry) => ({
          producerId: entry.producerId,
          producerEpoch: entry.epoch,
          lastSequence: entry.batches.at(-1)?.lastSeq ?? -1,
          lastTimestamp: entry.lastTimestamp,
          coordinatorEpoch: entry.coordinatorEpoch,
          currentTxnStartOffset: entry.ongoingTxnFirstOffset,
        }));
        return { partitionIndex: index, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers };
      }),
    }));
    return { throttleTimeMs: 0, topics };
  },
};
