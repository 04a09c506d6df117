import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ApiKey, type DescribeLogDirsRequest, type DescribeLogDirsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';

export const describeLogDirsHandler: ApiHandler<DescribeLogDirsRequest, DescribeLogDirsResponse> = {
  apiKey: ApiKey.DescribeLogDirs,
  async handle({ broker, apiVersion }, req) {
    const wanted = req.topics === null ? [...broker.topics.values()].map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => p.index) })) : req.topics;
    const topics = [];
    for (const w of wanted) {
      const t = broker.topics.get(w.topic);
      if (!t) continue;
      const partitions = w.partitions
        .map((i) => t.partitions[i])
        .filter((p) => p !== undefined)
        .map((p) => ({ partitionIndex: p.index, partitionSize: p.sizeInBytes, offsetLag: 0, isFutureKey: false }));
      if (partitions.length > 0) topics.push({ name: t.name, partitions });
    }
    const dir = resolve(broker.config.logDir);
    let totalBytes = -1;
    let usableBytes = -1;
    // Disk figures exist in the response from v4 on.
    if (apiVersion >= 4) {
      const fs = await statfs(dir);
      totalBytes = fs.blocks * fs.bsize;
      usableBytes = fs.bavail * fs.bsize;
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [{ errorCode: ErrorCode.NONE, logDir: dir, topics, totalBytes, usableBytes, isCordoned: false }],
    };
  },
};
