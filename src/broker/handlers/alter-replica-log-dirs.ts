import path from 'node:path';
import { ApiKey, type AlterReplicaLogDirsRequest, type AlterReplicaLogDirsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { AclOperation as Op } from '../security/authorizer.js';
import type { ApiHandler } from '../api.js';

type TopicResult = AlterReplicaLogDirsResponse['results'][number];

// AlterReplicaLogDirs (KIP-113): moves replicas of this broker to another of its log.dirs while
// they keep serving (see log-dir-mover.ts). Per partition, as Kafka's ReplicaManager answers:
// LOG_DIR_NOT_FOUND for a path that is not one of log.dirs, KAFKA_STORAGE_ERROR for an offline
// directory (or while any directory is offline: no future replica is made then) or an offline
// replica, REPLICA_NOT_AVAILABLE when this broker does not host the replica yet (the directory
// is remembered, and the replica is created there), NONE once the move has started (or when the
// replica is already there). Without ALTER on the cluster, every partition is refused.
export const alterReplicaLogDirsHandler: ApiHandler<AlterReplicaLogDirsRequest, AlterReplicaLogDirsResponse> = {
  apiKey: ApiKey.AlterReplicaLogDirs,
  async handle({ broker, conn }, req) {
    const authorized = !broker.security.authorizer || broker.security.cluster(conn, Op.ALTER);
    const byTopic = new Map<string, TopicResult>();
    const answer = (topic: string, partitionIndex: number, errorCode: number) => {
      let t = byTopic.get(topic);
      if (!t) byTopic.set(topic, (t = { topicName: topic, partitions: [] }));
      t.partitions.push({ partitionIndex, errorCode });
    };
    for (const dir of req.dirs) {
      for (const t of dir.topics) {
        for (const index of t.partitions) {
          if (!authorized) {
            answer(t.name, index, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
            continue;
          }
          answer(t.name, index, await alterOne(broker, dir.path, t.name, index));
        }
      }
    }
    return { throttleTimeMs: 0, results: [...byTopic.values()] };
  },
};

async function alterOne(broker: Parameters<typeof alterReplicaLogDirsHandler.handle>[0]['broker'], dirPath: string, topic: string, index: number): Promise<number> {
  const logs = broker.logs;
  if (!path.isAbsolute(dirPath) || !logs.hasDir(dirPath)) return ErrorCode.LOG_DIR_NOT_FOUND;
  const dir = path.resolve(dirPath);
  if (logs.offlineReason(dir) !== undefined) return ErrorCode.KAFKA_STORAGE_ERROR;
  const p = broker.partition(topic, index);
  if (!p) {
    logs.setPreferredDir(topic, index, dir);
    return ErrorCode.REPLICA_NOT_AVAILABLE;
  }
  if (p.offlineReason !== null) return ErrorCode.KAFKA_STORAGE_ERROR;
  if (logs.dirOf(topic, index) !== dir && logs.offlineDirs.length > 0) return ErrorCode.KAFKA_STORAGE_ERROR;
  try {
    await broker.logDirMover.alter(p, dir);
  } catch (err) {
    broker.logger.error({ err, topic, partition: index, logDir: dir }, 'cannot start moving a replica between log directories');
    return ErrorCode.KAFKA_STORAGE_ERROR;
  }
  return ErrorCode.NONE;
}
