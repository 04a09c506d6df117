// A classic consumer-group member driven by hand (JoinGroup, SyncGroup, LeaveGroup over a client
// connection), for tests that need exact consumer-protocol bytes in a group: a subscription or an
// assignment no real client would send.
import type { Connection } from '../../src/client/connection.js';
import { ApiKey, type JoinGroupResponse, type SyncGroupResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

/**
 * JoinGroup with `metadata` as the "range" protocol's subscription, both rounds when the broker
 * wants a member id first (KIP-394); resolves when the join phase ends. A pending JoinGroup holds
 * back every later answer on its connection.
 */
export async function classicJoin(conn: Connection, groupId: string, metadata: Buffer, memberId = ''): Promise<JoinGroupResponse> {
  const join = (id: string) =>
    conn.request<JoinGroupResponse>(ApiKey.JoinGroup, {
      groupId,
      sessionTimeoutMs: 10_000,
      rebalanceTimeoutMs: 10_000,
      memberId: id,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata }],
      reason: null,
    });
  const r = await join(memberId);
  return r.errorCode === ErrorCode.MEMBER_ID_REQUIRED ? join(r.memberId) : r;
}

/** SyncGroup of the generation `joined` answered; the leader passes the assignments. */
export function classicSync(
  conn: Connection,
  groupId: string,
  joined: JoinGroupResponse,
  assignments: { memberId: string; assignment: Buffer }[] = [],
): Promise<SyncGroupResponse> {
  return conn.request<SyncGroupResponse>(ApiKey.SyncGroup, {
    groupId,
    generationId: joined.generationId,
    memberId: joined.memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocolName: 'range',
    assignments,
  });
}

export async function classicLeave(conn: Connection, groupId: string, memberId: string): Promise<void> {
  await conn.request(ApiKey.LeaveGroup, (v: number) =>
    v >= 3 ? { groupId, memberId: '', members: [{ memberId, groupInstanceId: null, reason: null }] } : { groupId, memberId, members: [] },
  );
}

/** ConsumerProtocolSubscription v0 of no topics, and ConsumerProtocolAssignment v0 of no partitions. */
export const NO_TOPICS = Buffer.from([0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
export const NO_PARTITIONS = NO_TOPICS;
/** Consumer-protocol bytes (v0) cut short inside the first topic name: neither a subscription nor an assignment. */
export const CUT_SHORT = Buffer.from([0, 0, 0, 0, 0, 1, 0, 3]);
