import { ApiKey, type HeartbeatRequest, type HeartbeatResponse } from '../../protocol/generated/index.js';
import type { ApiHandler } from '../api.js';

export const heartbeatHandler: ApiHandler<HeartbeatRequest, HeartbeatResponse> = {
  apiKey: ApiKey.Heartbeat,
  handle({ broker }, req) {
    const errorCode = broker.groupCoordinator.heartbeat(req.groupId, req.memberId, req.groupInstanceId, req.generationId);
    return { throttleTimeMs: 0, errorCode };
  },
};
