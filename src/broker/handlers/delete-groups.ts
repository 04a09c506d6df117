import { ApiKey, type DeleteGroupsRequest, type DeleteGroupsResponse } from '../../protocol/generated/index.js';
import type { ApiHandler } from '../api.js';

export const deleteGroupsHandler: ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse> = {
  apiKey: ApiKey.DeleteGroups,
  async handle({ broker }, req) {
    return { throttleTimeMs: 0, results: (await broker.groupCoordinator.deleteGroups(req.groupsNames)).map((r) => ({ ...r, errorMessage: null })) };
  },
};
