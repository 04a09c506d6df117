import { ApiKey, type DescribeGroupsRequest, type DescribeGroupsResponse } from '../../protocol/generated/index.js';
import { ErrorCode, errorName } from '../../protocol/errors.js';
import { UNREQUESTED_OPERATIONS } from '../authorized-operations.js';
import { Op } from '../security/security.js';
import { ResourceType } from '../security/authorizer.js';
import type { ApiHandler } from '../api.js';

// No authorizer: every group operation (READ, DELETE, DESCRIBE) is allowed.
const GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8);

export const describeGroupsHandler: ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse> = {
  apiKey: ApiKey.DescribeGroups,
  handle({ broker, apiVersion, conn }, req) {
    return {
      throttleTimeMs: 0,
      groups: req.groups.map((groupId) => {
        if (!broker.security.group(conn, Op.DESCRIBE, groupId)) {
          const code = ErrorCode.GROUP_AUTHORIZATION_FAILED;
          return {
            errorCode: code,
            errorMessage: apiVersion >= 6 ? errorName(code) : null,
            groupId,
            groupState: '',
            protocolType: '',
            protocolData: '',
            members: [],
            authorizedOperations: UNREQUESTED_OPERATIONS,
          };
        }
        const d = broker.groupCoordinator.describeGroup(groupId);
        // KIP-1043: from v6 an unknown group is an error rather than a Dead group.
        if (apiVersion >= 6 && !d.exists && d.errorCode === ErrorCode.NONE) d.errorCode = ErrorCode.GROUP_ID_NOT_FOUND;
        return {
          errorCode: d.errorCode,
          errorMessage:
            apiVersion >= 6 && d.errorCode !== ErrorCode.NONE
              ? d.errorCode === ErrorCode.GROUP_ID_NOT_FOUND
                ? (d.notFound ?? `Group ${groupId} not found.`)
                : errorName(d.errorCode)
              : null,
          groupId,
          groupState: d.state,
          protocolType: d.protocolType,
          protocolData: d.protocolData,
          members: d.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: apiVersion >= 4 ? m.groupInstanceId : null,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.metadata,
            memberAssignment: m.assignment,
          })),
          authorizedOperations:
            apiVersion >= 3 && req.includeAuthorizedOperations
              ? (broker.security.authorizedOperations(conn, ResourceType.GROUP, groupId) ?? GROUP_OPERATIONS)
              : UNREQUESTED_OPERATIONS,
        };
      }),
    };
  },
};
