import { ApiKey, type ProduceRequest, type ProduceResponse, type ProduceResponsePartitionProduceResponse } from '../../protocol/generated/index.js';
import { dataBuffers } from '../../common/buffer-pool.js';
import { ErrorCode, KafkaError, errorName } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import { toNumber } from '../../config/config.js';
import { BATCH_LOG_OVERHEAD, BatchField, splitBatches, validateBatch } from '../../protocol/records/record-batch.js';
import type { Partition } from '../partition.js';
import { NO_RESPONSE, requestParked, requestResumed, type ApiHandler } from '../api.js';
import { Op } from '../security/security.js';
import { produceTxnSupport, translateVerdict } from '../txn-verifier.js';

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

/** The producer fields of a partition's transactional data, for the KIP-890 check. */
interface TransactionalData {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
}

/** Whether any well-framed batch in `records` is transactional (malformed input answers false: checkBatches refuses it). */
function hasTransactionalBatch(records: Buffer | null): boolean {
  if (!records) return false;
  let pos = 0;
  while (pos + BATCH_LOG_OVERHEAD <= records.length) {
    const size = records.readInt32BE(pos + BatchField.batchLength) + BATCH_LOG_OVERHEAD;
    if (size < BATCH_LOG_OVERHEAD || pos + BatchField.attributes + 2 > records.length) return false;
    if ((records.readInt16BE(pos + BatchField.attributes) & TRANSACTIONAL) !== 0) return true;
    pos += size;
  }
  return false;
}

/**
 * Checks every batch of one partition's records, as Kafka's log validator does, without
 * decoding a single record. Throws KafkaError with the code Kafka returns. Returns the
 * producer fields when the data is transactional, else null.
 */
function checkBatches(records: Buffer, partition: Partition, apiVersion: number): TransactionalData | null {
  const maxBytes = toNumber(partition.topic.configs.get('max.message.bytes')!.value!);
  let transactional: TransactionalData | null = null;
  let plain = false;
  for (const batch of splitBatches(records)) {
    if (batch.length > maxBytes) {
      throw new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `The batch of ${batch.length} bytes exceeds max.message.bytes=${maxBytes}`);
    }
    const header = validateBatch(batch, { producerInput: true });
    if ((header.attributes & CONTROL) !== 0) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Control batches cannot be produced by clients');
    if ((header.attributes & TRANSACTIONAL) !== 0) {
      if (header.producerId < 0) throw new KafkaError(ErrorCode.INVALID_RECORD, 'A transactional batch must carry a producer id');
      if (transactional && (transactional.producerId !== header.producerId || transactional.producerEpoch !== header.producerEpoch)) {
        throw new KafkaError(ErrorCode.INVALID_RECORD, 'The transactional batches of one partition must come from one producer');
      }
      transactional ??= { producerId: header.producerId, producerEpoch: header.producerEpoch, baseSequence: header.baseSequence };
    } else {
      plain = true;
    }
    if (transactional && plain) {
      throw new KafkaError(ErrorCode.INVALID_RECORD, 'Transactional and non-transactional batches cannot be mixed in one partition');
    }
    const codec = header.attributes & 0x07;
    if (codec > ZSTD) throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, `Unknown compression codec ${codec}`);
    if (codec === ZSTD && apiVersion < 7) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'Produce requests with version below 7 cannot use zstd');
    }
  }
  return transactional;
}

/** Gives the pool back the block a Produce request was copied into, if it was one. */
function giveBackRequestBuffer(req: ProduceRequest): void {
  for (const t of req.topicData) {
    for (const pd of t.partitionData) {
      if (pd.records) return dataBuffers.release(pd.records);
    }
  }
}

export const produceHandler: ApiHandler<ProduceRequest, ProduceResponse> = {
  apiKey: ApiKey.Produce,
  // v13 names topics by id instead of name (KIP-516).
  maxVersion: 13,
  // Everything before the first await runs in request order, so offsets follow arrival order.
  handle(ctx, req) {
    const { broker, apiVersion, conn } = ctx;
    const acks = req.acks;
    const pending: Promise<void>[] = [];
    /** Partitions whose append is not acknowledged yet (acks=all waits for the high watermark). */
    const waiting = new Set<PartitionResponse>();
    /** A single node acknowledges at its own write; only replicated acks=all appends need the timeout. */
    let waitsForReplicas = false;
    let anyError = false;
    // Kafka refuses the whole request when it carries transactional data without a transactional id.
    const transactionalWithoutId = req.transactionalId === null && req.topicData.some((t) => t.partitionData.some((pd) => hasTransactionalBatch(pd.records)));

    /** Appends one partition's checked records; `response` gets the outcome. */
    const append = (partition: Partition, records: Buffer, response: PartitionResponse): Promise<void> => {
      const fail = (err: unknown) => {
        anyError = true;
        broker.metrics.produceFailed(partition.topicName);
        response.baseOffset = -1;
        response.logAppendTimeMs = -1;
        response.errorCode = err instanceof KafkaError ? err.code : ErrorCode.KAFKA_STORAGE_ERROR;
        response.errorMessage = err instanceof Error ? err.message : String(err);
        if (!(err instanceof KafkaError)) {
          broker.logger.error({ err, topic: partition.topicName, partition: partition.index }, 'append failed');
        }
      };
      try {
        // checkBatches verified every CRC; the log need not do it again.
        const appended = partition.append(records, { crcVerified: true, acks: acks === 0 ? 0 : acks === 1 ? 1 : -1 });
        broker.metrics.produced(partition.topicName, records.length, appended.duplicate ? 0 : appended.lastOffset - appended.baseOffset + 1);
        response.baseOffset = appended.baseOffset;
        response.logAppendTimeMs = appended.logAppendTime;
        waiting.add(response);
        if (acks === -1 && partition.replicated) waitsForReplicas = true;
        // One reaction, not then + finally: each extra link is a promise and a microtask per append.
        return appended.done.then(
          () => {
            waiting.delete(response);
            response.logStartOffset = partition.logStartOffset;
          },
          (err: unknown) => {
            waiting.delete(response);
            fail(err);
          },
        );
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        fail(err);
        return Promise.resolve();
      }
    };
    const leaderEndpoints = new Map<number, { nodeId: number; host: string; port: number; rack: string | null }>();
    const txnIdDenied = req.transactionalId !== null && !broker.security.transactionalId(conn, Op.WRITE, req.transactionalId);
    const writableTopics = new Map<string, boolean>();
    const writable = (name: string): boolean => {
      let ok = writableTopics.get(name);
      if (ok === undefined) writableTopics.set(name, (ok = broker.security.topic(conn, Op.WRITE, name)));
      return ok;
    };
    // v13 names topics by id (KIP-516): each resolves to its topic's name, and an id this broker
    // does not know (never created, or a deleted topic's, also once a topic of the same name
    // exists again) answers UNKNOWN_TOPIC_ID, as in Kafka; so a producer never appends to a
    // topic that replaced the one it looked up.
    const useTopicIds = apiVersion >= 13;
    const nameOf = (t: ProduceRequest['topicData'][number]): string => (!useTopicIds ? t.name : t.topicId === ZERO_UUID ? '' : (broker.topicsById.get(t.topicId)?.name ?? ''));
    const responses = req.topicData
      .map((requested) => ({ ...requested, name: nameOf(requested) }))
      .map((topic) => ({
        name: topic.name,
        topicId: useTopicIds ? topic.topicId : ZERO_UUID,
        partitionResponses: topic.partitionData.map((pd): PartitionResponse => {
          if (acks !== 0 && acks !== 1 && acks !== -1) {
            anyError = true;
            return partitionResponse(pd.index, ErrorCode.INVALID_REQUIRED_ACKS);
          }
          if (useTopicIds && topic.name === '') {
            anyError = true;
            return partitionResponse(pd.index, ErrorCode.UNKNOWN_TOPIC_ID);
          }
          // Authorization first, as Kafka: the transactional id (whole request), then WRITE on the
          // topic (by the name a topic id resolves to).
          if (txnIdDenied) {
            anyError = true;
            return partitionResponse(pd.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
          }
          if (!writable(topic.name)) {
            anyError = true;
            return partitionResponse(pd.index, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          }
          const partition = broker.leaderPartition(topic.name, pd.index);
          if (typeof partition === 'number') {
            anyError = true;
            const answer = partitionResponse(pd.index, partition);
            // KIP-951 (v10+): tell the producer where the leader is now.
            const leader = partition === ErrorCode.NOT_LEADER_OR_FOLLOWER && apiVersion >= 10 ? broker.currentLeader(topic.name, pd.index, conn.listenerName) : null;
            if (leader && leader.endpoint && leader.leaderId !== broker.nodeId) {
              answer.currentLeader = { leaderId: leader.leaderId, leaderEpoch: leader.leaderEpoch };
              leaderEndpoints.set(leader.endpoint.nodeId, leader.endpoint);
            }
            return answer;
          }
          if (partition.topic.internal) {
            // Only the coordinators write their own topics; a client's batch would corrupt their state.
            anyError = true;
            return partitionResponse(pd.index, ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${topic.name}`);
          }
          if (transactionalWithoutId) {
            anyError = true;
            return partitionResponse(pd.index, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'Transactional records require a transactional id');
          }
          const response = partitionResponse(pd.index, ErrorCode.NONE);
          try {
            if (!pd.records || pd.records.length === 0) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Produce request has no records');
            const records = pd.records;
            const txn = checkBatches(records, partition, apiVersion);
            const verify = txn && req.transactionalId !== null ? broker.verifyTransactionalProduce : undefined;
            const support = produceTxnSupport(apiVersion);
            // KIP-890: the first transactional batch of a transaction on this partition is verified
            // (or, with transactions V2, added) by the coordinator; later ones find it open here.
            const verdict = verify
              ? verify({
                  transactionalId: req.transactionalId!,
                  ...txn!,
                  topic: topic.name,
                  partition: pd.index,
                  add: support === 'add',
                  ongoing: partition.hasOngoingTransaction(txn!.producerId, txn!.producerEpoch),
                })
              : ErrorCode.NONE;
            const refused = (code: number): string => `Transactional produce to ${topic.name}-${pd.index} refused: ${errorName(code)}`;
            if (typeof verdict === 'number') {
              const code = translateVerdict(verdict, support, ErrorCode.NOT_ENOUGH_REPLICAS);
              if (code !== ErrorCode.NONE) throw new KafkaError(code, refused(verdict));
              pending.push(append(partition, records, response));
            } else {
              // The append waits for the coordinator's answer; it loses its place in arrival order,
              // as in Kafka (a producer with requests in flight then sees a retriable sequence error).
              // A marker written for the producer meanwhile ended what was verified (the guard).
              const guard = partition.verificationGuard(txn!.producerId);
              pending.push(
                verdict.then(
                  (answer) => {
                    let code = translateVerdict(answer, support, ErrorCode.NOT_ENOUGH_REPLICAS);
                    if (code === ErrorCode.NONE && !partition.verificationHolds(txn!.producerId, guard)) code = ErrorCode.INVALID_TXN_STATE;
                    if (code === ErrorCode.NONE) return append(partition, records, response);
                    anyError = true;
                    response.errorCode = code;
                    response.errorMessage = refused(answer);
                    return undefined;
                  },
                  (err: unknown) => {
                    anyError = true;
                    response.errorCode = err instanceof KafkaError ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
                    response.errorMessage = err instanceof Error ? err.message : String(err);
                  },
                ),
              );
            }
          } catch (err) {
            if (!(err instanceof KafkaError)) throw err;
            anyError = true;
            broker.metrics.produceFailed(topic.name);
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
      return { responses, throttleTimeMs: 0, nodeEndpoints: [...leaderEndpoints.values()] };
    };
    // The request's bytes may be a block lent by the data buffer pool (see Connection.take). Once
    // every append has settled (written, refused or rolled back) the log reads none of them again.
    if (pending.length === 0) {
      giveBackRequestBuffer(req);
      return finish();
    }
    // The common request, one partition, waits for its append alone (Promise.all adds a link).
    const settled: Promise<unknown> = pending.length === 1 ? pending[0]! : Promise.all(pending);
    if (acks !== 0 && !waitsForReplicas) {
      return settled.then(() => {
        giveBackRequestBuffer(req);
        return finish();
      });
    }
    void settled.then(() => giveBackRequestBuffer(req));
    if (acks === 0) {
      // Nothing is awaited for the client, but a failed write still closes the connection.
      void settled.then(() => {
        if (anyError) conn.abort('acks=0 produce failed');
      });
      return anyError ? finish() : NO_RESPONSE;
    }
    // Kafka's produce purgatory: an acks=all answer waits for the high watermark at most the
    // request's timeout, then says REQUEST_TIMED_OUT for what is still waiting (the records
    // may yet be replicated: the producer retries, and idempotence keeps it to one copy).
    // Parked until then (RemoteTimeMs); the leader's own write runs meanwhile.
    requestParked(ctx);
    return new Promise<ProduceResponse | typeof NO_RESPONSE>((resolve) => {
      let answered = false;
      const cancel = broker.clock.schedule(Math.max(0, req.timeoutMs), () => {
        if (answered) return;
        answered = true;
        requestResumed(ctx);
        resolve({
          responses: responses.map((t) => ({
            ...t,
            partitionResponses: t.partitionResponses.map((r) =>
              waiting.has(r) ? { ...r, baseOffset: -1, errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: 'Timed out waiting for the in-sync replicas' } : { ...r },
            ),
          })),
          throttleTimeMs: 0,
          nodeEndpoints: [...leaderEndpoints.values()],
        });
      });
      void settled.then(() => {
        if (answered) return;
        answered = true;
        cancel();
        requestResumed(ctx);
        resolve(finish());
      });
    });
  },
};
