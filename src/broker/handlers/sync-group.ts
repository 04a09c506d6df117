import { ApiKey, type SyncGroupRequest, type SyncGroupResponse } from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { EMPTY_BYTES } from '../../protocol/primitives.js';
import { requestParked, requestResumed, type ApiHandler } from '../api.js';

export const syncGroupHandler: ApiHandler<SyncGroupRequest, SyncGroupResponse> = {
  apiKey: ApiKey.SyncGroup,
  async handle(ctx, req) {
    const { broker, apiVersion } = ctx;
    // v5+ must name the protocol type and name (KIP-559); Kafka refuses one that does not before
    // the coordinator sees it.
    if (apiVersion >= 5 && (req.protocolType === null || req.protocolName === null)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.INCONSISTENT_GROUP_PROTOCOL, protocolType: null, protocolName: null, assignment: EMPTY_BYTES };
    }
    const synced = broker.groupCoordinator.sync(req.groupId, {
      memberId: req.memberId,
      groupInstanceId: req.groupInstanceId,
      generationId: req.generationId,
      protocolType: req.protocolType,
      protocolName: req.protocolName,
      assignments: req.assignments.map((a) => ({ memberId: a.memberId, assignment: Buffer.from(a.assignment) })),
    });
    // A follower's SyncGroup is parked until the leader's assignment comes (RemoteTimeMs).
    requestParked(ctx);
    const r = await synced;
    requestResumed(ctx);
    return { throttleTimeMs: 0, errorCode: r.errorCode, protocolType: r.protocolType, protocolName: r.protocolName, assignment: r.assignment };
  },
};
