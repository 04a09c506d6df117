// Authorization of whole requests: the APIs whose every answer is one error when the principal
// lacks one permission (a group's READ for JoinGroup, CLUSTER_ACTION for WriteTxnMarkers, ...).
// The request path answers a refusal with the API's error response (error-response.ts).
// Checks per topic, group or resource inside a request are in the handlers.
import { ApiKey } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import type { Connection } from '../../network/connection.js';
import { AclOperation as Op } from './authorizer.js';
import type { BrokerSecurity } from './security.js';

type Check = (security: BrokerSecurity, conn: Connection, request: Record<string, unknown>, version: number) => number | null;

const groupRead: Check = (s, c, r) => (s.group(c, Op.READ, String(r['groupId'])) ? null : ErrorCode.GROUP_AUTHORIZATION_FAILED);
const clusterOp =
  (op: number): Check =>
  (s, c) =>
    s.cluster(c, op) ? null : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
const txnWrite =
  (then?: Check): Check =>
  (s, c, r, v) => {
    if (!s.transactionalId(c, Op.WRITE, String(r['transactionalId']))) return ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    return then ? then(s, c, r, v) : null;
  };

const CHECKS = new Map<number, Check>([
  [ApiKey.JoinGroup, groupRead],
  // A v5+ SyncGroup without its protocol type or name is refused INCONSISTENT_GROUP_PROTOCOL by
  // its handler before any ACL is looked at, as Kafka's KafkaApis.handleSyncGroupRequest does.
  [ApiKey.SyncGroup, (s, c, r, v) => (v >= 5 && (r['protocolType'] === null || r['protocolName'] === null) ? null : groupRead(s, c, r, v))],
  [ApiKey.Heartbeat, groupRead],
  [ApiKey.LeaveGroup, groupRead],
  [ApiKey.OffsetCommit, groupRead],
  [ApiKey.OffsetDelete, (s, c, r) => (s.group(c, Op.DELETE, String(r['groupId'])) ? null : ErrorCode.GROUP_AUTHORIZATION_FAILED)],
  [ApiKey.EndTxn, txnWrite()],
  [ApiKey.AddOffsetsToTxn, txnWrite(groupRead)],
  [ApiKey.TxnOffsetCommit, txnWrite(groupRead)],
  [
    ApiKey.InitProducerId,
    (s, c, r) => {
      const id = r['transactionalId'];
      if (typeof id === 'string') return s.transactionalId(c, Op.WRITE, id) ? null : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
      return s.idempotentWrite(c) ? null : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    },
  ],
  [
    ApiKey.AddPartitionsToTxn,
    // v4+ (brokers verifying for each other) needs CLUSTER_ACTION; before, the transactional id.
    (s, c, r, v) => (v >= 4 ? clusterOp(Op.CLUSTER_ACTION)(s, c, r, v) : txnWrite()(s, c, r, v)),
  ],
  [ApiKey.WriteTxnMarkers, clusterOp(Op.CLUSTER_ACTION)],
  [ApiKey.ElectLeaders, clusterOp(Op.ALTER)],
  [ApiKey.AlterPartitionReassignments, clusterOp(Op.ALTER)],
  [ApiKey.ListPartitionReassignments, clusterOp(Op.DESCRIBE)],
  [ApiKey.AlterClientQuotas, clusterOp(Op.ALTER_CONFIGS)],
  [ApiKey.DescribeClientQuotas, clusterOp(Op.DESCRIBE_CONFIGS)],
  [ApiKey.DescribeLogDirs, clusterOp(Op.DESCRIBE)],
  [ApiKey.DescribeQuorum, clusterOp(Op.DESCRIBE)],
]);

/** The error a whole request gets for lack of permission, or null when it may go on. */
export function requestRefusal(security: BrokerSecurity, conn: Connection, apiKey: number, version: number, request: unknown): number | null {
  if (!security.authorizer) return null;
  const check = CHECKS.get(apiKey);
  return check ? check(security, conn, request as Record<string, unknown>, version) : null;
}

/** Kafka's ConfigResource types. */
const CONFIG_TOPIC = 2;
const CONFIG_BROKER = 4;
const CONFIG_BROKER_LOGGER = 8;
const CONFIG_GROUP = 32;

/**
 * DescribeConfigs (DESCRIBE_CONFIGS) and AlterConfigs (ALTER_CONFIGS) per resource: on the topic,
 * the group, or the cluster for brokers. The error to answer, or null.
 */
export function configResourceRefusal(security: BrokerSecurity, conn: Connection, resourceType: number, name: string, alter: boolean): number | null {
  const op = alter ? Op.ALTER_CONFIGS : Op.DESCRIBE_CONFIGS;
  if (resourceType === CONFIG_TOPIC) return security.topic(conn, op, name) ? null : ErrorCode.TOPIC_AUTHORIZATION_FAILED;
  if (resourceType === CONFIG_GROUP) return security.group(conn, op, name) ? null : ErrorCode.GROUP_AUTHORIZATION_FAILED;
  // CLIENT_METRICS (16, KIP-714 subscriptions) are cluster resources in Kafka's authorizer too.
  if (resourceType === CONFIG_BROKER || resourceType === CONFIG_BROKER_LOGGER || resourceType === 16)
    return security.cluster(conn, op) ? null : ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
  return null;
}
