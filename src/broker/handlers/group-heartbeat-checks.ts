// The checks the group APIs of KIP-848's protocol family (ConsumerGroupHeartbeat/Describe,
// StreamsGroupHeartbeat/Describe) make before the coordinator sees the request.
import { ErrorCode } from '../../protocol/errors.js';
import type { Connection } from '../../network/connection.js';
import type { Broker } from '../broker.js';
import { Op } from '../security/security.js';

/** A group protocol named in group.coordinator.rebalance.protocols. */
export type GroupProtocol = 'consumer' | 'streams' | 'share';

/** Whether group.coordinator.rebalance.protocols lists the protocol (else its APIs answer UNSUPPORTED_VERSION, as Kafka's). */
export function groupProtocolEnabled(broker: Broker, protocol: GroupProtocol): boolean {
  return broker.config.list('group.coordinator.rebalance.protocols').includes(protocol);
}

/**
 * Why a heartbeat is refused before it reaches the coordinator: UNSUPPORTED_VERSION while its
 * protocol is not enabled, GROUP_AUTHORIZATION_FAILED without READ on the group; NONE to go on.
 */
export function heartbeatRefusal(broker: Broker, conn: Connection, protocol: GroupProtocol, groupId: string): number {
  if (!groupProtocolEnabled(broker, protocol)) return ErrorCode.UNSUPPORTED_VERSION;
  if (!broker.security.group(conn, Op.READ, groupId)) return ErrorCode.GROUP_AUTHORIZATION_FAILED;
  return ErrorCode.NONE;
}

/** A describe's answer for a group that is not of the kind asked for (`otherKind`: it is of another), or none at all. */
export function groupNotFound(groupId: string, kind: GroupProtocol, otherKind: boolean): { errorCode: number; errorMessage: string; groupState: string } {
  return {
    errorCode: ErrorCode.GROUP_ID_NOT_FOUND,
    errorMessage: otherKind ? `Group ${groupId} is not a ${kind} group.` : `Group ${groupId} not found.`,
    groupState: 'Dead',
  };
}

/**
 * Why one group of a describe request is not described: GROUP_AUTHORIZATION_FAILED without
 * DESCRIBE on it, or the coordinator's error (another broker coordinates it, its partition is
 * still loading); NONE to go on.
 */
export function describeRefusal(broker: Broker, conn: Connection, groupId: string): number {
  return broker.security.group(conn, Op.DESCRIBE, groupId) ? broker.groupCoordinator.groupError(groupId) : ErrorCode.GROUP_AUTHORIZATION_FAILED;
}

/**
 * describeRefusal for ConsumerGroupDescribe, StreamsGroupDescribe and ShareGroupDescribe, whose
 * coordinator refuses an empty group id (INVALID_GROUP_ID) after its own state and before the
 * group's partition, as Kafka's.
 */
export function groupDescribeRefusal(broker: Broker, conn: Connection, groupId: string): number {
  return broker.security.group(conn, Op.DESCRIBE, groupId) ? broker.groupCoordinator.groupLevelError(groupId) : ErrorCode.GROUP_AUTHORIZATION_FAILED;
}
