import { ApiKey, type ListGroupsRequest, type ListGroupsResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';

export const listGroupsHandler: ApiHandler<ListGroupsRequest, ListGroupsResponse> = {
  apiKey: ApiKey.ListGroups,
  handle({ broker, conn }, req) {
    const unavailable = broker.groupCoordinator.listGroupsError();
    if (unavailable !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: unavailable, groups: [] };
    // DESCRIBE on the cluster lists every group; otherwise only the groups the principal may describe.
    const all = broker.security.cluster(conn, Op.DESCRIBE, false);
    // Filters compare case-insensitively, as Kafka does; groups are classic or consumer (KIP-848).
    const states = new Set(req.statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(req.typesFilter.map((s) => s.toLowerCase()));
    const groups = broker.groupCoordinator
      .listGroups()
      .filter((g) => states.size === 0 || states.has(g.state.toLowerCase()))
      .filter((g) => types.size === 0 || types.has(g.type))
      .filter((g) => all || broker.security.group(conn, Op.DESCRIBE, g.groupId, false))
      .map((g) => ({ groupId: g.groupId, protocolType: g.protocolType, groupState: g.state, groupType: g.type }));
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, groups };
  },
};
