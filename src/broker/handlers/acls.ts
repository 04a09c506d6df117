// CreateAcls, DescribeAcls and DeleteAcls (kafka-acls): bindings kept in the metadata store,
// matched with Kafka's filter semantics. Without an authorizer the APIs answer SECURITY_DISABLED.
import {
  ApiKey,
  type CreateAclsRequest,
  type CreateAclsResponse,
  type DeleteAclsRequest,
  type DeleteAclsResponse,
  type DescribeAclsRequest,
  type DescribeAclsResponse,
} from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { StoredAcl } from '../../cluster/metadata-port.js';
import { AclOperation, AclPermission, CLUSTER_NAME, filterMatches, invalidBinding, PatternType, ResourceType, sameAcl, type AclFilter } from '../security/authorizer.js';
import type { ApiHandler } from '../api.js';

const NO_AUTHORIZER = 'No Authorizer is configured on the broker';

/** Why a filter is invalid (UNKNOWN values, or MATCH/ANY where they cannot be), or null. */
function invalidFilter(f: AclFilter): string | null {
  if (f.resourceType === ResourceType.UNKNOWN || f.patternType === PatternType.UNKNOWN || f.operation === AclOperation.UNKNOWN || f.permissionType === AclPermission.UNKNOWN) {
    return 'The filter contains UNKNOWN elements';
  }
  return null;
}

export const createAclsHandler: ApiHandler<CreateAclsRequest, CreateAclsResponse> = {
  apiKey: ApiKey.CreateAcls,
  async handle({ broker, conn, apiVersion }, req) {
    const security = broker.security;
    if (!security.authorizer) return { throttleTimeMs: 0, results: req.creations.map(() => ({ errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: NO_AUTHORIZER })) };
    if (!security.allowed(conn, AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) {
      return { throttleTimeMs: 0, results: req.creations.map(() => ({ errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null })) };
    }
    const current = security.acls();
    const results = req.creations.map((c) => {
      const acl: StoredAcl = {
        resourceType: c.resourceType,
        resourceName: c.resourceName,
        // v0 has no pattern type: LITERAL.
        patternType: apiVersion >= 1 ? c.resourcePatternType : PatternType.LITERAL,
        principal: c.principal,
        host: c.host,
        operation: c.operation,
        permissionType: c.permissionType,
      };
      const invalid = invalidBinding(acl);
      if (invalid) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid };
      if (!current.some((a) => sameAcl(a, acl))) current.push(acl);
      return { errorCode: ErrorCode.NONE, errorMessage: null };
    });
    if (results.some((r) => r.errorCode === ErrorCode.NONE)) {
      try {
        await security.setAcls(current);
      } catch (err) {
        broker.logger.error({ err }, 'cannot store ACLs');
        return {
          throttleTimeMs: 0,
          results: results.map((r) => (r.errorCode === ErrorCode.NONE ? { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: 'The ACLs could not be stored' } : r)),
        };
      }
    }
    return { throttleTimeMs: 0, results };
  },
};

function filterOf(
  f: {
    resourceTypeFilter: number;
    resourceNameFilter: string | null;
    patternTypeFilter: number;
    principalFilter: string | null;
    hostFilter: string | null;
    operation: number;
    permissionType: number;
  },
  apiVersion: number,
): AclFilter {
  return {
    resourceType: f.resourceTypeFilter,
    resourceName: f.resourceNameFilter,
    patternType: apiVersion >= 1 ? f.patternTypeFilter : PatternType.LITERAL,
    principal: f.principalFilter,
    host: f.hostFilter,
    operation: f.operation,
    permissionType: f.permissionType,
  };
}

export const describeAclsHandler: ApiHandler<DescribeAclsRequest, DescribeAclsResponse> = {
  apiKey: ApiKey.DescribeAcls,
  handle({ broker, conn, apiVersion }, req) {
    const security = broker.security;
    const answer = (errorCode: number, errorMessage: string | null, resources: DescribeAclsResponse['resources'] = []) => ({
      throttleTimeMs: 0,
      errorCode,
      errorMessage,
      resources,
    });
    if (!security.authorizer) return answer(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER);
    if (!security.allowed(conn, AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME)) return answer(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    const filter = filterOf(req, apiVersion);
    const invalid = invalidFilter(filter);
    if (invalid) return answer(ErrorCode.INVALID_REQUEST, invalid);
    const groups = new Map<string, DescribeAclsResponse['resources'][number]>();
    for (const acl of security.acls()) {
      if (!filterMatches(filter, acl)) continue;
      const key = `${acl.resourceType}\0${acl.patternType}\0${acl.resourceName}`;
      let g = groups.get(key);
      if (!g) {
        g = { resourceType: acl.resourceType, resourceName: acl.resourceName, patternType: acl.patternType, acls: [] };
        groups.set(key, g);
      }
      g.acls.push({ principal: acl.principal, host: acl.host, operation: acl.operation, permissionType: acl.permissionType });
    }
    return answer(ErrorCode.NONE, null, [...groups.values()]);
  },
};

export const deleteAclsHandler: ApiHandler<DeleteAclsRequest, DeleteAclsResponse> = {
  apiKey: ApiKey.DeleteAcls,
  async handle({ broker, conn, apiVersion }, req) {
    const security = broker.security;
    const failAll = (errorCode: number, errorMessage: string | null) => ({
      throttleTimeMs: 0,
      filterResults: req.filters.map(() => ({ errorCode, errorMessage, matchingAcls: [] })),
    });
    if (!security.authorizer) return failAll(ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER);
    if (!security.allowed(conn, AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME)) return failAll(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    let remaining = security.acls();
    const filterResults = req.filters.map((f) => {
      const filter = filterOf(f, apiVersion);
      const invalid = invalidFilter(filter);
      if (invalid) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: invalid, matchingAcls: [] };
      // Kafka matches every filter against the ACLs as they were before the request.
      const matching = security.acls().filter((a) => filterMatches(filter, a));
      remaining = remaining.filter((a) => !matching.some((m) => sameAcl(m, a)));
      return {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        matchingAcls: matching.map((a) => ({ errorCode: ErrorCode.NONE, errorMessage: null, ...a })),
      };
    });
    if (remaining.length !== security.acls().length) {
      try {
        await security.setAcls(remaining);
      } catch (err) {
        broker.logger.error({ err }, 'cannot store ACLs');
        return failAll(ErrorCode.REQUEST_TIMED_OUT, 'The ACLs could not be stored');
      }
    }
    return { throttleTimeMs: 0, filterResults };
  },
};
