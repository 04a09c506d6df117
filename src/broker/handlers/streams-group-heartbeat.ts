import {
  ApiKey,
  type StreamsGroupDescribeRequest,
  type StreamsGroupDescribeResponse,
  type StreamsGroupHeartbeatRequest,
  type StreamsGroupHeartbeatResponse,
  type StreamsGroupTopologyDescriptionUpdateRequest,
  type StreamsGroupTopologyDescriptionUpdateResponse,
} from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { StreamsStatus, taskIdsToWire, type StreamsHeartbeatResult } from '../../coordinator/streams-group.js';
import type { Tasks } from '../../coordinator/streams-group-assignor.js';
import type { ApiHandler } from '../api.js';
import { clientHostOf } from './join-group.js';
import { groupDescribeRefusal, groupNotFound, heartbeatRefusal } from './group-heartbeat-checks.js';

function toResponse(res: StreamsHeartbeatResult, apiVersion: number): StreamsGroupHeartbeatResponse {
  // MISSING_CLIENT_TAGS (6) is answered from v1 on: a v0 client's Status enum stops at 5.
  const status = apiVersion >= 1 || res.status === null ? res.status : res.status.filter((st) => st.statusCode !== StreamsStatus.MISSING_CLIENT_TAGS);
  return {
    throttleTimeMs: 0,
    errorCode: res.errorCode,
    errorMessage: res.errorMessage,
    memberId: res.memberId,
    memberEpoch: res.memberEpoch,
    heartbeatIntervalMs: res.heartbeatIntervalMs,
    // An int32 at v0, an int64 from v1 on.
    acceptableRecoveryLagLegacy: apiVersion === 0 ? res.acceptableRecoveryLag : 0,
    acceptableRecoveryLag: res.acceptableRecoveryLag,
    taskOffsetIntervalMs: res.taskOffsetIntervalMs,
    status,
    activeTasks: res.activeTasks,
    standbyTasks: res.standbyTasks,
    warmupTasks: res.warmupTasks,
    // Kafka asks for a topology description only with a topology description plugin configured
    // (group.streams.topology.description.plugin.class); Tributary has none, as Kafka's default.
    topologyDescriptionRequired: false,
    endpointInformationEpoch: res.endpointInformationEpoch,
    partitionsByUserEndpoint: res.partitionsByUserEndpoint,
  };
}

// KIP-1071: the streams group protocol. The state machine is coordinator/streams-group.ts.
// Version 1 (KIP-1331) answers AcceptableRecoveryLag as an int64 and TopologyDescriptionRequired,
// and may carry the MISSING_CLIENT_TAGS status.
export const streamsGroupHeartbeatHandler: ApiHandler<StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse> = {
  apiKey: ApiKey.StreamsGroupHeartbeat,
  maxVersion: 1,
  async handle({ broker, conn, clientId, apiVersion }, req) {
    const coordinator = broker.groupCoordinator;
    const refused = heartbeatRefusal(broker, conn, 'streams', req.groupId);
    if (refused !== ErrorCode.NONE) {
      const message = refused === ErrorCode.UNSUPPORTED_VERSION ? 'The streams group protocol is not enabled.' : null;
      return toResponse(coordinator.streams.fail(req, refused, message), apiVersion);
    }
    const res = await coordinator.streamsGroupHeartbeat(req, clientId ?? '', clientHostOf(conn.remote));
    return toResponse(res, apiVersion);
  },
};

const wireAssignment = (t: Tasks | undefined) => ({
  activeTasks: t ? taskIdsToWire(t.active) : [],
  standbyTasks: t ? taskIdsToWire(t.standby) : [],
  warmupTasks: t ? taskIdsToWire(t.warmup) : [],
});

// Version 1 (KIP-1331): IncludeTopologyDescription, answered as Kafka does without a topology
// description plugin (NOT_STORED), and the assignor's name.
const TOPOLOGY_DESCRIPTION_NOT_REQUESTED = 0;
const TOPOLOGY_DESCRIPTION_NOT_STORED = 1;

export const streamsGroupDescribeHandler: ApiHandler<StreamsGroupDescribeRequest, StreamsGroupDescribeResponse> = {
  apiKey: ApiKey.StreamsGroupDescribe,
  maxVersion: 1,
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
        const refused = groupDescribeRefusal(broker, conn, groupId);
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
          topologyDescriptionStatus: req.includeTopologyDescription ? TOPOLOGY_DESCRIPTION_NOT_STORED : TOPOLOGY_DESCRIPTION_NOT_REQUESTED,
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

// KIP-1331: members push their topology description when a heartbeat asks for it, which Kafka
// does only with a topology description plugin configured. Without one (Kafka's default, and
// Tributary's only mode) Kafka answers UNSUPPORTED_VERSION, after the group READ check.
export const streamsGroupTopologyDescriptionUpdateHandler: ApiHandler<StreamsGroupTopologyDescriptionUpdateRequest, StreamsGroupTopologyDescriptionUpdateResponse> = {
  apiKey: ApiKey.StreamsGroupTopologyDescriptionUpdate,
  maxVersion: 0,
  handle({ broker, conn }, req) {
    const refused = heartbeatRefusal(broker, conn, 'streams', req.groupId);
    if (refused !== ErrorCode.NONE) return { throttleTimeMs: 0, errorCode: refused, errorMessage: null };
    return { throttleTimeMs: 0, errorCode: ErrorCode.UNSUPPORTED_VERSION, errorMessage: 'The broker has no streams group topology description plugin configured.' };
  },
};
