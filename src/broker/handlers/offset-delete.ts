import { ApiKey, type OffsetDeleteRequest, type OffsetDeleteResponse } from '../../protocol/generated/index.js';
import type { ApiHandler } from '../api.js';

export const offsetDeleteHandler: ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse> = {
  apiKey: ApiKey.OffsetDelete,
  async handle({ broker }, req) {
    const r = await broker.groupCoordinator.deleteOffsets(
      req.groupId,
      req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => p.partitionIndex) })),
    );
    return { throttleTimeMs: 0, errorCode: r.errorCode, topics: r.topics };
  },
};
