import {
  ApiKey,
  type StreamsGroupDescribeRequest,
  type StreamsGroupDescribeResponse,
  type StreamsGroupHeartbeatRequest,
  type StreamsGroupHeartbeatResponse,
} from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { taskIdsToWire, type StreamsHeartbeatResult } from '../../coordinator/streams-group.js';
import type { Tasks } from '../../coordinator/streams-group-assignor.js';
import type { ApiHandler } from '../api.js';
import { clientHostOf } from './join-group.js';
import { describeRefusal, groupNotFound, heartbeatRefusal } from './group-heartbeat-checks.js';

function toResponse(res: StreamsHeartbeatResult): StreamsGroupHeartbeatResponse {
  return {
    throttleTimeMs: 0,
    errorCode: res.errorCode,
    errorMessage: res.errorMessage,
    memberId: res.memberId,
    memberEpoch: res.memberEpoch,
    heartbeatIntervalMs: res.heartbeatIntervalMs,
    acceptableRecoveryLagLegacy: res.acceptableRecoveryLag,
    acceptableRecoveryLag: res.acceptableRecoveryLag,
    taskOffsetIntervalMs: res.taskOffsetIntervalMs,
    status: res.status,
    activeTasks: res.activeTasks,
    standbyTasks: res.standbyTasks,
    warmupTasks: res.warmupTasks,
    topologyDescriptionRequired: false,
    endpointInformationEpoch: res.endpointInformationEpoch,
    partitionsByUserEndpoint: res.partitionsByUserEndpoint,
  };
}

// KIP-1071: the streams group protocol. The state machine is coordinator/streams-group.ts.
// Version 1 (topology descriptions, KIP-1331) is not implemented: only v0 is advertised.
export const streamsGroupHeartbeatHandler: ApiHandler<StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse> = {
  apiKey: ApiKey.StreamsGroupHeartbeat,
  maxVersion: 0,
  async handle({ broker, conn, clientId }, req) {
    const coordinator = broker.groupCoordinator;
    const refused = heartbeatRefusal(broker, conn, 'streams', req.groupId);
    if (refused !== ErrorCode.NONE) {
      const message = refused === ErrorCode.UNSUPPORTED_VERSION ? 'The streams group protocol is not enabled.' : null;
      return toResponse(coordinator.streams.fail(req, refused, message));
    }
    const res = await coordinator.streamsGroupHeartbeat(req, clientId ?? '', clientHostOf(conn.remote));
    return toResponse(res);
  },
};

const wireAssignment = (t: Tasks | undefined) => ({
  activeTasks: t ? taskIdsToWire(t.active) : [],
  standbyTasks: t ? taskIdsToWire(t.standby) : [],
  warmupTasks: t ? taskIdsToWire(t.warmup) : [],
});

export const streamsGroupDescribeHandler: ApiHandler<StreamsGroupDescribeRequest, StreamsGroupDescribeResponse> = {
  apiKey: ApiKey.StreamsGroupDescribe,
  maxVersion: 0,
  handle({ broker, conn }, req) {
    const coordinator = broker.groupCoordinator;
    const streams = coordinator.streams;
    return {
      throttleTimeMs: 0,
      groups: req.groupIds.map((groupId) => {
        const base = {
          groupId,
          errorMessage: null,
          groupEpoch: 0,
          assignmentEpoch: 0,
          topology: null,
          members: [],
          authorizedOperations: -2147483648,
          topologyDescription: null,
          topologyDescriptionStatus: 0,
          assignorName: null,
        };
        const refused = describeRefusal(broker, conn, groupId);
        if (refused !== ErrorCode.NONE) return { ...base, errorCode: refused, groupState: '' };
        const g = streams.groups.get(groupId);
        if (!g) return { ...base, ...groupNotFound(groupId, 'streams', coordinator.groups.has(groupId) || coordinator.consumer.groups.has(groupId)) };
        const cfg = (kv: { key: string; value: string }[]) => kv.map((c) => ({ key: c.key, value: c.value }));
        return {
          ...base,
          errorCode: ErrorCode.NONE,
          groupState: g.state,
          groupEpoch: g.groupEpoch,
          assignmentEpoch: g.assignmentEpoch,
          assignorName: 'sticky',
          topology: g.topology && {
            epoch: g.topology.epoch,
            subtopologies: g.topology.subtopologies.map((s) => ({
              subtopologyId: s.subtopologyId,
              sourceTopics: s.sourceTopics,
              repartitionSinkTopics: s.repartitionSinkTopics,
              stateChangelogTopics: s.stateChangelogTopics.map((t) => ({
                name: t.name,
                partitions: t.partitions,
                replicationFactor: t.replicationFactor,
                topicConfigs: cfg(t.topicConfigs),
              })),
              repartitionSourceTopics: s.repartitionSourceTopics.map((t) => ({
                name: t.name,
                partitions: t.partitions,
                replicationFactor: t.replicationFactor,
                topicConfigs: cfg(t.topicConfigs),
              })),
            })),
          },
          members: [...g.members.values()].map((m) => ({
            memberId: m.memberId,
            memberEpoch: m.memberEpoch,
            instanceId: m.instanceId,
            rackId: m.rackId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            topologyEpoch: m.topologyEpoch,
            processId: m.processId,
            userEndpoint: m.userEndpoint,
            clientTags: m.clientTags,
            taskOffsets: m.taskOffsets,
            taskEndOffsets: m.taskEndOffsets,
            assignment: wireAssignment(m.assigned),
            targetAssignment: wireAssignment(g.target.get(m.memberId)),
            isClassic: false,
          })),
        };
      }),
    };
  },
};
