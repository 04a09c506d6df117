import { ErrorCode } from '../../protocol/errors.js';
import { ApiKey, type DeleteGroupsRequest, type DeleteGroupsResponse } from '../../protocol/generated/index.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';

export const deleteGroupsHandler: ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse> = {
  apiKey: ApiKey.DeleteGroups,
  async handle({ broker, conn }, req) {
    const allowed = req.groupsNames.filter((g) => broker.security.group(conn, Op.DELETE, g));
    const denied = req.groupsNames.filter((g) => !allowed.includes(g)).map((groupId) => ({ groupId, errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, errorMessage: null }));
    const deleted = allowed.length > 0 ? await broker.groupCoordinator.deleteGroups(allowed) : [];
    return { throttleTimeMs: 0, results: [...deleted.map((r) => ({ ...r, errorMessage: null })), ...denied] };
  },
};
