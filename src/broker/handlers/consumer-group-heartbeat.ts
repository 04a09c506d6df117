import {
  ApiKey,
  type ConsumerGroupDescribeRequest,
  type ConsumerGroupDescribeResponse,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
} from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { describedAssignment } from '../../coordinator/partition-assignment.js';
import { heartbeatFailure } from '../../coordinator/heartbeat-response.js';
import type { Assignment } from '../../coordinator/consumer-group-assignors.js';
import type { ApiHandler } from '../api.js';
import { clientHostOf } from './join-group.js';
import { groupDescribeRefusal, groupNotFound, heartbeatRefusal } from './group-heartbeat-checks.js';

// KIP-848: the consumer group protocol. The state machine is coordinator/consumer-group.ts.
export const consumerGroupHeartbeatHandler: ApiHandler<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse> = {
  apiKey: ApiKey.ConsumerGroupHeartbeat,
  async handle({ broker, conn, apiVersion, clientId }, req) {
    const refused = heartbeatRefusal(broker, conn, 'consumer', req.groupId);
    if (refused !== ErrorCode.NONE) return { throttleTimeMs: 0, ...heartbeatFailure(refused) };
    const res = await broker.groupCoordinator.consumerGroupHeartbeat(req, apiVersion, clientId ?? '', clientHostOf(conn.remote));
    return { throttleTimeMs: 0, ...res };
  },
};

export const consumerGroupDescribeHandler: ApiHandler<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse> = {
  apiKey: ApiKey.ConsumerGroupDescribe,
  handle({ broker, conn }, req) {
    const coordinator = broker.groupCoordinator;
    const consumer = coordinator.consumer;
    const wire = (a: Assignment | undefined) => describedAssignment(a, (id) => consumer.topicName(id));
    return {
      throttleTimeMs: 0,
      groups: req.groupIds.map((groupId) => {
        const g = consumer.describe(groupId);
        const base = { groupId, errorMessage: null, groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [], authorizedOperations: -2147483648 };
        // DESCRIBE on the group; another broker coordinates it, or its partition is still loading.
        const refused = groupDescribeRefusal(broker, conn, groupId);
        if (refused !== ErrorCode.NONE) return { ...base, errorCode: refused, groupState: '' };
        if (!g) return { ...base, ...groupNotFound(groupId, 'consumer', coordinator.groups.has(groupId) || coordinator.streams.groups.has(groupId)) };
        const assignors = broker.config.list('group.consumer.assignors');
        return {
          ...base,
          errorCode: ErrorCode.NONE,
          groupState: g.state,
          groupEpoch: g.groupEpoch,
          assignmentEpoch: g.assignmentEpoch,
          assignorName: [...g.members.values()].find((m) => m.serverAssignor !== null)?.serverAssignor ?? assignors[0] ?? 'uniform',
          members: [...g.members.values()].map((m) => ({
            memberId: m.memberId,
            instanceId: m.instanceId,
            rackId: m.rackId,
            memberEpoch: m.memberEpoch,
            clientId: m.clientId,
            clientHost: m.clientHost,
            subscribedTopicNames: m.subscribedTopicNames,
            subscribedTopicRegex: m.subscribedTopicRegex,
            assignment: wire(m.assigned),
            targetAssignment: wire(g.target.get(m.memberId)),
            memberType: m.classic ? 0 : 1, // KIP-1099: -1 unknown, 0 classic, 1 consumer
          })),
        };
      }),
    };
  },
};
