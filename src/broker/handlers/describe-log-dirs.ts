import { statfs } from 'node:fs/promises';
import { ApiKey, type DescribeLogDirsRequest, type DescribeLogDirsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';

type DirResult = DescribeLogDirsResponse['results'][number];
type TopicResult = DirResult['topics'][number];

/** Every log directory of this broker (JBOD: one entry per `log.dirs` entry), with the replicas it holds (future ones of a move too). */
export const describeLogDirsHandler: ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponse> = {
  apiKey: ApiKey.DescribeLogDirs,
  async handle({ broker, apiVersion }, req) {
    const wanted = req.topics === null ? [...broker.topics.values()].map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.index) })) : req.topics;
    const byDir = new Map<string, Map<string, TopicResult>>(broker.logs.dirs.map((d) => [d, new Map()]));
    for (const w of wanted) {
      const t = broker.topics.get(w.topic);
      if (!t) continue;
      for (const i of w.partitions) {
        const p = t.partitions[i];
        if (p === undefined) continue;
        const dir = broker.logs.dirOf(t.name, p.index);
        const topics = dir === undefined ? undefined : byDir.get(dir);
        if (!topics) continue;
        let entry = topics.get(t.name);
        if (!entry) topics.set(t.name, (entry = { name: t.name, partitions: [] }));
        entry.partitions.push({ partitionIndex: p.index, partitionSize: p.sizeInBytes, offsetLag: 0, isFutureKey: false });
        // A move under way (AlterReplicaLogDirs): the future replica in its target directory,
        // with how far it is behind the current one.
        const future = broker.logs.futureOf(t.name, p.index);
        const futureTopics = future ? byDir.get(future.logDir) : undefined;
        if (future && futureTopics) {
          let fe = futureTopics.get(t.name);
          if (!fe) futureTopics.set(t.name, (fe = { name: t.name, partitions: [] }));
          fe.partitions.push({
            partitionIndex: p.index,
            partitionSize: future.log.sizeInBytes,
            offsetLag: Math.max(0, p.logEndOffset - future.log.logEndOffset),
            isFutureKey: true,
          });
        }
      }
    }
    const results: DirResult[] = [];
    for (const [dir, topics] of byDir) {
      let totalBytes = -1;
      let usableBytes = -1;
      // A failed directory (KIP-112) answers KAFKA_STORAGE_ERROR, with no replicas.
      let errorCode: number = broker.logs.offlineReason(dir) === undefined ? ErrorCode.NONE : ErrorCode.KAFKA_STORAGE_ERROR;
      // Disk figures exist in the response from v4 on.
      if (apiVersion >= 4 && errorCode === ErrorCode.NONE) {
        try {
          const fs = await statfs(dir);
          totalBytes = fs.blocks * fs.bsize;
          usableBytes = fs.bavail * fs.bsize;
        } catch {
          errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        }
      }
      results.push({ errorCode, logDir: dir, topics: errorCode === ErrorCode.NONE ? [...topics.values()] : [], totalBytes, usableBytes, isCordoned: false });
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, results };
  },
};
