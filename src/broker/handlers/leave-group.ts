import { ApiKey, type LeaveGroupRequest, type LeaveGroupResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { ApiHandler } from '../api.js';

export const leaveGroupHandler: ApiHandler<LeaveGroupRequest, LeaveGroupResponse> = {
  apiKey: ApiKey.LeaveGroup,
  async handle({ broker, apiVersion }, req) {
    // v0-2 name one member; v3+ a batch of members by member id and/or group.instance.id (KIP-345).
    const identities =
      apiVersion >= 3 ? req.members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId })) : [{ memberId: req.memberId, groupInstanceId: null }];
    // An error of the whole group (a coordinator shut down, an empty group id, another broker's
    // or a loading partition) is the answer's alone, with no members, as Kafka's.
    const refused = broker.groupCoordinator.groupLevelError(req.groupId);
    if (refused !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: refused, members: [] };
    const left = await broker.groupCoordinator.leave(req.groupId, identities);
    // A write that failed is the answer's error alone, as Kafka's handleOperationException answers.
    if (left.errorCode !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: left.errorCode, members: [] };
    const codes = left.members;
    if (apiVersion < 3) return { throttleTimeMs: 0, errorCode: codes[0]!, members: [] };
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      members: identities.map((m, i) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: codes[i]! })),
    };
  },
};
