import { ApiKey, type LeaveGroupRequest, type LeaveGroupResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';

export const leaveGroupHandler: ApiHandler<LeaveGroupRequest, LeaveGroupResponse> = {
  apiKey: ApiKey.LeaveGroup,
  handle({ broker, apiVersion }, req) {
    // v0-2 name one member; v3+ a batch of members by member id and/or group.instance.id (KIP-345).
    const identities =
      apiVersion >= 3 ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })) : [{ memberId: req.memberId, groupInstanceId: null }];
    const codes = broker.groupCoordinator.leave(req.groupId, identities);
    if (apiVersion < 3) return { throttleTimeMs: 0, errorCode: codes[0]!, members: [] };
    const topLevel = codes.every((c) => c === ErrorCode.NOT_COORDINATOR) && codes.length > 0 ? ErrorCode.NOT_COORDINATOR : ErrorCode.NONE;
    return {
      throttleTimeMs: 0,
      errorCode: topLevel,
      members: identities.map((m, i) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: codes[i]! })),
    };
  },
};
