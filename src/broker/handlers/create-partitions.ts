import { ApiKey, type CreatePartitionsRequest, type CreatePartitionsResponse } from '../../protocol/generated/index.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';
import { Broker } from '../broker.js';

export const createPartitionsHandler: ApiHandler<CreatePartitionsRequest, CreatePartitionsResponse> = {
  apiKey: ApiKey.CreatePartitions,
  async handle({ broker, conn }, req) {
    const counts = new Map<string, number>();
    for (const t of req.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const results = [];
    for (const t of req.topics) {
      const result = (errorCode: number, errorMessage: string | null = null) => ({ name: t.name, errorCode, errorMessage });
      try {
        if (counts.get(t.name)! > 1) throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Duplicate topic in request.');
        if (!broker.security.topic(conn, Op.ALTER, t.name)) throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.');
        const topic = broker.topics.get(t.name);
        if (!topic) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${t.name}' does not exist.`);
        const current = topic.partitions.length;
        if (t.count < current) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${current} partitions, which is higher than the requested ${t.count}.`);
        if (t.count === current) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partitions.`);
        Broker.checkNewPartitionCount(t.count - current);
        if (t.assignments) {
          if (t.assignments.length !== t.count - current) {
            throw new KafkaError(
              ErrorCode.INVALID_REPLICA_ASSIGNMENT,
              `Increasing the number of partitions by ${t.count - current} but ${t.assignments.length} assignments provided.`,
            );
          }
          const live = new Set(broker.liveBrokers().map((b) => b.nodeId));
          for (const a of t.assignments) {
            if (a.brokerIds.length === 0 || a.brokerIds.some((b) => !live.has(b)) || new Set(a.brokerIds).size !== a.brokerIds.length) {
              throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Unknown broker(s) in assignment: ${a.brokerIds.join(',')}`);
            }
          }
        }
        if (!req.validateOnly)
          await broker.addPartitions(
            t.name,
            t.count,
            t.assignments?.map((a) => a.brokerIds),
          );
        results.push(result(ErrorCode.NONE));
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        results.push(result(err.code, err.message));
      }
    }
    return { throttleTimeMs: 0, results };
  },
};
