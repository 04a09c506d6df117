import { ApiKey, type ProduceRequest, type ProduceResponse, type ProduceResponsePartitionProduceResponse } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError, errorName } from '../../protocol/errors.js';
import { toNumber } from '../../config/config.js';
import { splitBatches, validateBatch } from '../../storage/record-batch.js';
import type { Partition } from '../partition.js';
import { NO_RESPONSE, type ApiHandler } from './index.js';

type PartitionResponse = ProduceResponsePartitionProduceResponse;

const ZSTD = 4;
const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;

function partitionResponse(index: number, errorCode: number, errorMessage: string | null = null): PartitionResponse {
  return {
    index,
    errorCode,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    recordErrors: [],
    errorMessage: errorMessage ?? (errorCode === ErrorCode.NONE ? null : errorName(errorCode)),
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
  };
}

/**
 * Checks every batch of one partition's records, as Kafka's log validator does, without
 * decoding a single record. Throws KafkaError with the code Kafka returns.
 */
function checkBatches(records: Buffer, partition: Partition, apiVersion: number): void {
  const maxBytes = toNumber(partition.topic.configs.get('max.message.bytes')!.value!);
  for (const batch of splitBatches(records)) {
    if (batch.length > maxBytes) {
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `The batch of ${batch.length} bytes exceeds max.message.bytes=${maxBytes}`);
    }
    const header = validateBatch(batch, { producerInput: true });
    if ((header.attributes & CONTROL) !== 0) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Control batches cannot be produced by clients');
    if ((header.attributes & TRANSACTIONAL) !== 0) {
      throw new KafkaError(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'Transactions are not supported by this broker yet');
    }
    const codec = header.attributes & 0x07;
    if (codec > ZSTD) throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `Unknown compression codec ${codec}`);
    if (codec === ZSTD && apiVersion < 7) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'Produce requests with version below 7 cannot use zstd');
    }
  }
}

export const produceHandler: ApiHandler<ProduceRequest, ProduceResponse> = {
  apiKey: ApiKey.Produce,
  // Everything before the first await runs in request order, so offsets follow arrival order.
  handle({ broker, apiVersion, conn }, req) {
    const acks = req.acks;
    const pending: Promise<void>[] = [];
    let anyError = false;
    const responses = req.topicData.map((topic) => ({
      name: topic.name,
      partitionResponses: topic.partitionData.map((pd): PartitionResponse => {
        if (acks !== 0 && acks !== 1 && acks !== -1) {
          anyError = true;
          return partitionResponse(pd.index, ErrorCode.INVALID_REQUIRED_ACKS);
        }
        const partition = broker.partition(topic.name, pd.index);
        if (!partition) {
          anyError = true;
          return partitionResponse(pd.index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        }
        if (partition.topic.internal) {
          // Only the coordinators write their own topics; a client's batch would corrupt their state.
          anyError = true;
          return partitionResponse(pd.index, ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${topic.name}`);
        }
        const response = partitionResponse(pd.index, ErrorCode.NONE);
        try {
          if (!pd.records || pd.records.length === 0) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Produce request has no records');
          checkBatches(pd.records, partition, apiVersion);
          // checkBatches verified every CRC; the log need not do it again.
          const appended = partition.append(pd.records, { crcVerified: true });
          response.baseOffset = appended.baseOffset;
          response.logAppendTimeMs = appended.logAppendTime;
          pending.push(
            appended.done.then(
              () => {
                response.logStartOffset = partition.log.logStartOffset;
              },
              (err: unknown) => {
                anyError = true;
                response.baseOffset = -1;
                response.logAppendTimeMs = -1;
                response.errorCode = err instanceof KafkaError ? err.code : ErrorCode.KAFKA_STORAGE_ERROR;
                response.errorMessage = err instanceof Error ? err.message : String(err);
                if (!(err instanceof KafkaError)) broker.logger.error({ err, topic: topic.name, partition: pd.index }, 'append failed');
              },
            ),
          );
        } catch (err) {
          if (!(err instanceof KafkaError)) throw err;
          anyError = true;
          response.errorCode = err.code;
          response.errorMessage = err.message;
        }
        return response;
      }),
    }));
    const finish = (): ProduceResponse | typeof NO_RESPONSE => {
      if (acks === 0) {
        // acks=0 has no response; Kafka closes the connection so the producer notices a failure.
        if (anyError) conn.abort('acks=0 produce failed', { topics: responses.map((r) => r.name) });
        return NO_RESPONSE;
      }
      return { responses, throttleTimeMs: 0, nodeEndpoints: [] };
    };
    if (acks === 0 && pending.length > 0) {
      // Nothing is awaited for the client, but a failed write still closes the connection.
      Promise.all(pending).then(() => {
        if (anyError) conn.abort('acks=0 produce failed');
      });
      return anyError ? finish() : NO_RESPONSE;
    }
    return pending.length === 0 ? finish() : Promise.all(pending).then(finish);
  },
};
