import { ApiKey, type ListOffsetsRequest, type ListOffsetsResponse, type ListOffsetsResponseListOffsetsPartitionResponse } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';

type PartitionResponse = ListOffsetsResponseListOffsetsPartitionResponse;

// Kafka's special timestamps.
const LATEST = -1;
const EARLIEST = -2;
const MAX_TIMESTAMP = -3;
const EARLIEST_LOCAL = -4;
const LATEST_TIERED = -5;
const READ_COMMITTED = 1;

export const listOffsetsHandler: ApiHandler<ListOffsetsRequest, ListOffsetsResponse> = {
  apiKey: ApiKey.ListOffsets,
  // v11 lists the earliest pending tiered-storage upload (KIP-1023): no tiered storage here.
  maxVersion: 10,
  async handle({ broker, apiVersion, conn }, req) {
    const allowed = new Map<string, boolean>();
    const describable = (name: string): boolean => {
      let ok = allowed.get(name);
      if (ok === undefined) allowed.set(name, (ok = broker.security.topic(conn, Op.DESCRIBE, name)));
      return ok;
    };
    const topics = await Promise.all(
      req.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map(async (p): Promise<PartitionResponse> => {
            const answer = (errorCode: number, timestamp = -1, offset = -1, leaderEpoch = -1): PartitionResponse => ({
              partitionIndex: p.partitionIndex,
              errorCode,
              timestamp,
              offset,
              leaderEpoch,
            });
            if (!describable(t.name)) return answer(ErrorCode.TOPIC_AUTHORIZATION_FAILED);
            const partition = broker.leaderPartition(t.name, p.partitionIndex);
            if (typeof partition === 'number') return answer(partition);
            const epochError = partition.checkLeaderEpoch(p.currentLeaderEpoch);
            if (epochError !== ErrorCode.NONE) return answer(epochError);
            const log = partition;
            // Leader epochs exist in the response from v4 on.
            const epochAt = (offset: number) => (apiVersion >= 4 ? log.epochForOffset(offset) : -1);
            try {
              switch (p.timestamp) {
                case LATEST: {
                  // read_committed consumers start from the last stable offset, as in Kafka.
                  const latest = req.isolationLevel === READ_COMMITTED ? log.lastStableOffset : log.highWatermark;
                  return answer(ErrorCode.NONE, -1, latest, epochAt(latest));
                }
                case EARLIEST:
                case EARLIEST_LOCAL:
                  return answer(ErrorCode.NONE, -1, log.logStartOffset, epochAt(log.logStartOffset));
                case LATEST_TIERED:
                  // Nothing is tiered: Kafka answers with the offset before the log start.
                  return answer(ErrorCode.NONE, -1, log.logStartOffset - 1, -1);
                case MAX_TIMESTAMP: {
                  const max = await log.maxTimestampOffset();
                  return max.offset < 0 ? answer(ErrorCode.NONE) : answer(ErrorCode.NONE, max.timestamp, max.offset, epochAt(max.offset));
                }
                default: {
                  if (p.timestamp < 0) return answer(ErrorCode.INVALID_REQUEST);
                  const found = await log.offsetForTimestamp(p.timestamp);
                  const fetchable = req.isolationLevel === READ_COMMITTED ? log.lastStableOffset : log.highWatermark;
                  if (!found || found.offset >= fetchable) return answer(ErrorCode.NONE);
                  return answer(ErrorCode.NONE, found.timestamp, found.offset, epochAt(found.offset));
                }
              }
            } catch (err) {
              if (err instanceof KafkaError) return answer(err.code);
              throw err;
            }
          }),
        ),
      })),
    );
    return { throttleTimeMs: 0, topics };
  },
};
