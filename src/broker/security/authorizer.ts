// ACLs with the semantics of Kafka's StandardAuthorizer: super users, DENY before ALLOW, LITERAL
// (with the `*` wildcard) and PREFIXED resource patterns, principal and host wildcards, the
// implied operations (READ/WRITE/DELETE/ALTER imply DESCRIBE, ALTER_CONFIGS implies
// DESCRIBE_CONFIGS), and allow.everyone.if.no.acl.found for resources without any ACL.
import type { StoredAcl } from '../../cluster/metadata-port.js';

import { AclOperation, AclPermission, PatternType, ResourceType } from '../../protocol/acl-types.js';

export { AclOperation, AclPermission, PatternType, ResourceType };

export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';
/** The cluster resource's only name. */
export const CLUSTER_NAME = 'kafka-cluster';

/** Operations that an ALLOW of the key grants too (Kafka's implication rules). */
const IMPLIED_BY: Record<number, number[]> = {
  [AclOperation.DESCRIBE]: [AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER],
  [AclOperation.DESCRIBE_CONFIGS]: [AclOperation.ALTER_CONFIGS],
};

/** Operations that exist per resource type (what authorized-operations fields may list). */
export const RESOURCE_OPERATIONS: Record<number, number[]> = {
  [ResourceType.TOPIC]: [
    AclOperation.READ,
    AclOperation.WRITE,
    AclOperation.CREATE,
    AclOperation.DELETE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
  ],
  [ResourceType.GROUP]: [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS],
  [ResourceType.CLUSTER]: [
    AclOperation.CREATE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE,
    AclOperation.CLUSTER_ACTION,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
    AclOperation.IDEMPOTENT_WRITE,
  ],
  [ResourceType.TRANSACTIONAL_ID]: [AclOperation.DESCRIBE, AclOperation.WRITE],
  [ResourceType.DELEGATION_TOKEN]: [AclOperation.DESCRIBE],
  [ResourceType.USER]: [AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS],
};

/** A DescribeAcls/DeleteAcls filter (ANY, MATCH and null fields match more than one value). */
export interface AclFilter {
  resourceType: number;
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

/** Whether a binding matches a filter, as Kafka's AclBindingFilter.matches. */
export function filterMatches(f: AclFilter, acl: StoredAcl): boolean {
  if (f.resourceType !== ResourceType.ANY && f.resourceType !== acl.resourceType) return false;
  if (f.principal !== null && f.principal !== acl.principal) return false;
  if (f.host !== null && f.host !== acl.host) return false;
  if (f.operation !== AclOperation.ANY && f.operation !== acl.operation) return false;
  if (f.permissionType !== AclPermission.ANY && f.permissionType !== acl.permissionType) return false;
  if (f.patternType === PatternType.MATCH) {
    // MATCH: every binding that would apply to the named resource (literal, wildcard, prefixes).
    if (f.resourceName === null) return true;
    if (acl.patternType === PatternType.LITERAL) return acl.resourceName === f.resourceName || acl.resourceName === WILDCARD;
    return acl.patternType === PatternType.PREFIXED && f.resourceName.startsWith(acl.resourceName);
  }
  if (f.patternType !== PatternType.ANY && f.patternType !== acl.patternType) return false;
  return f.resourceName === null || f.resourceName === acl.resourceName;
}

/** Why a binding cannot be created (Kafka's checks), or null. */
export function invalidBinding(acl: StoredAcl): string | null {
  if (!RESOURCE_OPERATIONS[acl.resourceType]) return 'Invalid resource type';
  if (acl.patternType !== PatternType.LITERAL && acl.patternType !== PatternType.PREFIXED) return 'Invalid pattern type';
  if (acl.permissionType !== AclPermission.ALLOW && acl.permissionType !== AclPermission.DENY) return 'Invalid permission type';
  if (acl.operation !== AclOperation.ALL && !RESOURCE_OPERATIONS[acl.resourceType]!.includes(acl.operation)) return 'Invalid operation for the resource type';
  if (acl.resourceName === '') return 'Resource name must not be empty';
  if (acl.resourceType === ResourceType.CLUSTER && (acl.resourceName !== CLUSTER_NAME || acl.patternType !== PatternType.LITERAL)) {
    return 'The only valid name for the CLUSTER resource is kafka-cluster';
  }
  if (!/^[^:]+:.*$/.test(acl.principal)) return `Invalid principal ${acl.principal}: expected <type>:<name>`;
  if (acl.patternType === PatternType.PREFIXED && acl.resourceName === WILDCARD) return 'A PREFIXED pattern cannot be the wildcard';
  if (acl.host === '') return 'Host must not be empty';
  return null;
}

export const sameAcl = (a: StoredAcl, b: StoredAcl): boolean =>
  a.resourceType === b.resourceType &&
  a.resourceName === b.resourceName &&
  a.patternType === b.patternType &&
  a.principal === b.principal &&
  a.host === b.host &&
  a.operation === b.operation &&
  a.permissionType === b.permissionType;

export interface AuthorizerSettings {
  superUsers: Set<string>;
  allowEveryoneIfNoAclFound: boolean;
}

export class StandardAuthorizer {
  private byType = new Map<number, StoredAcl[]>();

  constructor(
    private readonly settings: AuthorizerSettings,
    acls: StoredAcl[],
  ) {
    this.setAcls(acls);
  }

  setAcls(acls: StoredAcl[]): void {
    const byType = new Map<number, StoredAcl[]>();
    for (const a of acls) {
      const list = byType.get(a.resourceType) ?? [];
      list.push(a);
      byType.set(a.resourceType, list);
    }
    this.byType = byType;
  }

  isSuperUser(principal: string): boolean {
    return this.settings.superUsers.has(principal);
  }

  private static appliesTo(acl: StoredAcl, name: string): boolean {
    if (acl.patternType === PatternType.LITERAL) return acl.resourceName === name || acl.resourceName === WILDCARD;
    return acl.patternType === PatternType.PREFIXED && name.startsWith(acl.resourceName);
  }

  /** Whether `principal` connecting from `host` may perform `operation` on the named resource. */
  authorize(principal: string, host: string, operation: number, resourceType: number, name: string): boolean {
    if (this.isSuperUser(principal)) return true;
    let anyAcl = false;
    let allowed = false;
    const implied = IMPLIED_BY[operation] ?? [];
    for (const acl of this.byType.get(resourceType) ?? []) {
      if (!StandardAuthorizer.appliesTo(acl, name)) continue;
      anyAcl = true;
      if (acl.principal !== principal && acl.principal !== WILDCARD_PRINCIPAL) continue;
      if (acl.host !== host && acl.host !== WILDCARD) continue;
      if (acl.permissionType === AclPermission.DENY) {
        // A DENY applies to its own operation (or ALL) only; it is not widened by implication.
        if (acl.operation === operation || acl.operation === AclOperation.ALL) return false;
      } else if (acl.operation === operation || acl.operation === AclOperation.ALL || implied.includes(acl.operation)) {
        allowed = true;
      }
    }
    if (!anyAcl) return this.settings.allowEveryoneIfNoAclFound;
    return allowed;
  }

  /**
   * Kafka's authorizeByResourceType (KIP-679): whether some resource of the type allows the
   * operation to the principal, not covered by a DENY. What an idempotent producer without
   * IDEMPOTENT_WRITE on the cluster needs (WRITE on some topic).
   */
  authorizeAny(principal: string, host: string, operation: number, resourceType: number): boolean {
    if (this.isSuperUser(principal)) return true;
    const acls = (this.byType.get(resourceType) ?? []).filter(
      (a) =>
        (a.principal === principal || a.principal === WILDCARD_PRINCIPAL) &&
        (a.host === host || a.host === WILDCARD) &&
        (a.operation === operation || a.operation === AclOperation.ALL),
    );
    const denies = acls.filter((a) => a.permissionType === AclPermission.DENY);
    if (denies.some((d) => d.patternType === PatternType.LITERAL && d.resourceName === WILDCARD)) return false;
    for (const a of acls) {
      if (a.permissionType !== AclPermission.ALLOW) continue;
      const covered = denies.some((d) =>
        a.patternType === PatternType.LITERAL
          ? StandardAuthorizer.appliesTo(d, a.resourceName)
          : d.patternType === PatternType.PREFIXED && a.resourceName.startsWith(d.resourceName),
      );
      if (!covered) return true;
    }
    if (this.settings.allowEveryoneIfNoAclFound && (this.byType.get(resourceType) ?? []).length === 0) return true;
    return false;
  }

  /** KIP-430: the operations of the resource type the principal may perform on it, as a bit field. */
  authorizedOperations(principal: string, host: string, resourceType: number, name: string): number {
    let bits = 0;
    for (const op of RESOURCE_OPERATIONS[resourceType] ?? []) if (this.authorize(principal, host, op, resourceType, name)) bits |= 1 << op;
    return bits;
  }
}
