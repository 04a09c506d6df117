import { ApiKey, type JoinGroupRequest, type JoinGroupResponse } from '../../protocol/generated/index.js';
import { requestParked, requestResumed, type ApiHandler } from '../api.js';

/** Kafka's client host: the peer address with a leading slash. */
export function clientHostOf(remote: string): string {
  return `/${remote.replace(/:\d+$/, '')}`;
}

export const joinGroupHandler: ApiHandler<JoinGroupRequest, JoinGroupResponse> = {
  apiKey: ApiKey.JoinGroup,
  // Kafka 4.0 dropped v0-1 (no rebalance timeout); their schemas came back in 4.4's files.
  minVersion: 2,
  async handle(ctx, req) {
    const { broker, apiVersion, conn, clientId } = ctx;
    const joined = broker.groupCoordinator.join(req.groupId, {
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      clientId: clientId ?? '',
      clientHost: clientHostOf(conn.remote),
      sessionTimeoutMs: req.sessionTimeoutMs,
      // v0 had no rebalance timeout; from v1 on it is its own field.
      rebalanceTimeoutMs: req.rebalanceTimeoutMs >= 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
      protocolType: req.protocolType,
      protocols: req.protocols.map((p) => ({ name: p.name, metadata: Buffer.from(p.metadata) })),
      requireKnownMemberId: apiVersion >= 4,
      supportsSkipAssignment: apiVersion >= 9,
    });
    // Parked until the rebalance answers (Kafka's delayed join): RemoteTimeMs.
    requestParked(ctx);
    const r = await joined;
    requestResumed(ctx);
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      generationId: r.generationId,
      protocolType: r.protocolType,
      // Before v7 the protocol name is not nullable.
      protocolName: apiVersion >= 7 ? r.protocolName : (r.protocolName ?? ''),
      leader: r.leader,
      skipAssignment: r.skipAssignment,
      memberId: r.memberId,
      members: r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: apiVersion >= 5 ? m.groupInstanceId : null, metadata: m.metadata })),
    };
  },
};
