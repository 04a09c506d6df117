import { ApiKey, type DeleteRecordsRequest, type DeleteRecordsResponse, type DeleteRecordsResponseDeleteRecordsPartitionResult } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';

type PartitionResult = DeleteRecordsResponseDeleteRecordsPartitionResult;

/**
 * DeleteRecords: per partition, moves the log start offset up to the requested offset (-1 means
 * the high watermark) and removes the segments wholly below it. The answer's low watermark is
 * the new log start offset. A single replica has nothing to wait for, so timeoutMs is unused.
 */
export const deleteRecordsHandler: ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse> = {
  apiKey: ApiKey.DeleteRecords,
  async handle({ broker, conn }, req) {
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p): Promise<PartitionResult> => {
            const answer = (errorCode: number, lowWatermark = -1): PartitionResult => ({
              partitionIndex: p.partitionIndex,
              lowWatermark,
              errorCode,
            });
            if (!broker.security.topic(conn, Op.DELETE, t.name)) return answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
            const partition = broker.leaderPartition(t.name, p.partitionIndex);
            if (typeof partition === 'number') return answer(partition);
            try {
              return answer(ErrorCode.NONE, await partition.deleteRecords(p.offset));
            } catch (err) {
              if (!(err instanceof KafkaError)) throw err;
              if (err.code === ErrorCode.KAFKA_STORAGE_ERROR) {
                broker.logger.error({ err, topic: t.name, partition: p.partitionIndex }, 'DeleteRecords failed');
              }
              return answer(err.code);
            }
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
};
