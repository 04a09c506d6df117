import { ApiKey, type SyncGroupRequest, type SyncGroupResponse } from '../../protocol/generated/index.js';
import type { ApiHandler } from '../api.js';

export const syncGroupHandler: ApiHandler<SyncGroupRequest, SyncGroupResponse> = {
  apiKey: ApiKey.SyncGroup,
  async handle({ broker }, req) {
    const r = await broker.groupCoordinator.sync(req.groupId, {
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      generationId: req.generationId,
      protocolType: req.protocolType,
      protocolName: req.protocolName,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })),
    });
    return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
  },
};
