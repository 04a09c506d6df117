// KIP-430's authorized-operations fields: the AclOperation bits a principal may perform on a
// resource. Without an authorizer every operation of the resource type is allowed.
import type { Connection } from '../network/connection.js';
import { ResourceType, RESOURCE_OPERATIONS, CLUSTER_NAME } from './security/authorizer.js';
import type { BrokerSecurity } from './security/security.js';

const bits = (ops: number[]) => ops.reduce((acc, o) => acc | (1 << o), 0);

/** The value Kafka puts in authorized-operations fields that the client did not ask for. */
export const UNREQUESTED_OPERATIONS = -2147483648;
export const TOPIC_OPERATIONS = bits(RESOURCE_OPERATIONS[ResourceType.TOPIC]!);
export const CLUSTER_OPERATIONS = bits(RESOURCE_OPERATIONS[ResourceType.CLUSTER]!);
export const GROUP_OPERATIONS = bits(RESOURCE_OPERATIONS[ResourceType.GROUP]!);

function operations(security: BrokerSecurity, conn: Connection, type: number, name: string): number {
  return security.authorizedOperations(conn, type, name) ?? bits(RESOURCE_OPERATIONS[type]!);
}

export const topicOperations = (security: BrokerSecurity, conn: Connection, topic: string): number => operations(security, conn, ResourceType.TOPIC, topic);
export const groupOperations = (security: BrokerSecurity, conn: Connection, group: string): number => operations(security, conn, ResourceType.GROUP, group);
export const clusterOperations = (security: BrokerSecurity, conn: Connection): number => operations(security, conn, ResourceType.CLUSTER, CLUSTER_NAME);
