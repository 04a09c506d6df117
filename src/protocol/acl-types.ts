// Kafka's ACL enumerations as the CreateAcls/DescribeAcls/DeleteAcls messages carry them (the
// codes of org.apache.kafka.common.resource.ResourceType, PatternType, acl.AclOperation and
// AclPermissionType), with their names: the broker's authorizer and the CLI share these.

export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const;
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The names by code (Kafka's enum names, what kafka-acls prints). */
const names = (e: Record<string, number>): string[] => {
  const out: string[] = [];
  for (const [name, code] of Object.entries(e)) out[code] = name;
  return out;
};
export const RESOURCE_TYPE_NAMES: readonly string[] = names(ResourceType);
export const PATTERN_TYPE_NAMES: readonly string[] = names(PatternType);
export const OPERATION_NAMES: readonly string[] = names(AclOperation);
export const PERMISSION_NAMES: readonly string[] = names(AclPermission);

export const resourceTypeName = (code: number): string => RESOURCE_TYPE_NAMES[code] ?? String(code);
export const patternTypeName = (code: number): string => PATTERN_TYPE_NAMES[code] ?? String(code);
export const operationName = (code: number): string => OPERATION_NAMES[code] ?? String(code);
export const permissionName = (code: number): string => PERMISSION_NAMES[code] ?? String(code);

/**
 * The code of a name as kafka-acls takes it: any case, `-` or `_` between words or none
 * (Read, DescribeConfigs, describe-configs, IDEMPOTENT_WRITE); -1 when it names nothing.
 */
export function codeOf(names: readonly string[], name: string): number {
  const squash = (s: string) => s.toUpperCase().replace(/[-_]/g, '');
  const wanted = squash(name);
  return names.findIndex((n) => n !== undefined && squash(n) === wanted);
}
