// KIP-932 share groups: ShareGroupHeartbeat and ShareGroupDescribe (the group coordinator,
// coordinator/share-group.ts), ShareFetch and ShareAcknowledge (the share-partition leader,
// share/share-partitions.ts), and the share-group offset admin APIs (the share coordinator's
// state, coordinator/share-coordinator.ts).
import {
  ApiKey,
  type AlterShareGroupOffsetsRequest,
  type AlterShareGroupOffsetsResponse,
  type DeleteShareGroupOffsetsRequest,
  type DeleteShareGroupOffsetsResponse,
  type DescribeShareGroupOffsetsRequest,
  type DescribeShareGroupOffsetsResponse,
  type ShareAcknowledgeRequest,
  type ShareAcknowledgeResponse,
  type ShareFetchRequest,
  type ShareFetchResponse,
  type ShareFetchResponsePartitionData,
  type ShareGroupDescribeRequest,
  type ShareGroupDescribeResponse,
  type ShareGroupHeartbeatRequest,
  type ShareGroupHeartbeatResponse,
} from '../../protocol/generated/index.js';
import { ErrorCode } from '../../protocol/errors.js';
import { EMPTY_BYTES } from '../../protocol/primitives.js';
import type { Assignment } from '../../coordinator/consumer-group-assignors.js';
import { heartbeatFailure } from '../../coordinator/heartbeat-response.js';
import { describedAssignment } from '../../coordinator/partition-assignment.js';
import type { Broker, BrokerEndpoint } from '../broker.js';
import type { Connection } from '../../network/connection.js';
import { Op } from '../security/security.js';
import type { ApiHandler } from '../api.js';
import { clientHostOf } from './join-group.js';
import { describeRefusal, groupDescribeRefusal, groupNotFound } from './group-heartbeat-checks.js';
import { FINAL_EPOCH, type ShareSession } from '../share/share-sessions.js';
import { INTER_BROKER_CLIENT_ID } from '../inter-broker.js';
import type { AckBatch, SharePartition } from '../share/share-partitions.js';

const NO_OPS = -2147483648;

export const shareGroupHeartbeatHandler: ApiHandler<ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse> = {
  apiKey: ApiKey.ShareGroupHeartbeat,
  async handle({ broker, conn, clientId }, req) {
    if (!broker.security.group(conn, Op.READ, req.groupId)) return { throttleTimeMs: 0, ...heartbeatFailure(ErrorCode.GROUP_AUTHORIZATION_FAILED) };
    const res = await broker.groupCoordinator.shareGroupHeartbeat(req, clientId ?? '', clientHostOf(conn.remote));
    return { throttleTimeMs: 0, ...res };
  },
};

export const shareGroupDescribeHandler: ApiHandler<ShareGroupDescribeRequest, ShareGroupDescribeResponse> = {
  apiKey: ApiKey.ShareGroupDescribe,
  handle({ broker, conn }, req) {
    const coordinator = broker.groupCoordinator;
    const share = coordinator.share;
    const wire = (a: Assignment | undefined) => describedAssignment(a, (id) => share.topicName(id));
    return {
      throttleTimeMs: 0,
      groups: req.groupIds.map((groupId) => {
        const base = { groupId, errorMessage: null, groupEpoch: 0, assignmentEpoch: 0, assignorName: '', members: [], authorizedOperations: NO_OPS };
        const refused = groupDescribeRefusal(broker, conn, groupId);
        if (refused !== ErrorCode.NONE) return { ...base, errorCode: refused, groupState: '' };
        const g = share.describe(groupId);
        if (!g) return { ...base, ...groupNotFound(groupId, 'share', isOtherKind(broker, groupId)) };
        return {
          ...base,
          errorCode: ErrorCode.NONE,
          groupState: g.state,
          groupEpoch: g.groupEpoch,
          assignmentEpoch: g.assignmentEpoch,
          assignorName: 'simple',
          members: [...g.members.values()].map((m) => ({
            memberId: m.memberId,
            rackId: m.rackId,
            memberEpoch: m.memberEpoch,
            clientId: m.clientId,
            clientHost: m.clientHost,
            subscribedTopicNames: m.subscribedTopicNames,
            assignment: wire(m.assigned),
          })),
        };
      }),
    };
  },
};

/** Whether the group id is taken by a group of another kind (classic, consumer or streams). */
function isOtherKind(broker: Broker, groupId: string): boolean {
  const c = broker.groupCoordinator;
  return c.groups.has(groupId) || c.consumer.groups.has(groupId) || c.streams.groups.has(groupId);
}

type PartitionData = ShareFetchResponsePartitionData;

function partitionData(partitionIndex: number, errorCode = ErrorCode.NONE): PartitionData {
  return {
    partitionIndex,
    errorCode,
    errorMessage: null,
    acknowledgeErrorCode: ErrorCode.NONE,
    acknowledgeErrorMessage: null,
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
    // Not nullable in the schema: no records is an empty records section.
    records: EMPTY_BYTES,
    acquiredRecords: [],
  };
}

/** KIP-951 for share requests: where the partition's leader is now, when it is another broker. */
function leaderHint(
  broker: Broker,
  conn: Connection,
  topicId: string,
  index: number,
  data: { currentLeader: { leaderId: number; leaderEpoch: number } },
  endpoints: Map<number, BrokerEndpoint>,
): void {
  const topic = broker.topicsById.get(topicId);
  if (!topic) return;
  const leader = broker.currentLeader(topic.name, index, conn.listenerName);
  if (!leader || leader.leaderId === broker.nodeId) return;
  data.currentLeader = { leaderId: leader.leaderId, leaderEpoch: leader.leaderEpoch };
  if (leader.endpoint) endpoints.set(leader.endpoint.nodeId, leader.endpoint);
}

/** Applies the acknowledgements of one request: "topicId:partition" → error code. */
async function applyAcks(
  broker: Broker,
  conn: Connection,
  groupId: string,
  memberId: string,
  topics: { topicId: string; partitions: { partitionIndex: number; acknowledgementBatches: AckBatch[] }[] }[],
  apiVersion: number,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  await Promise.all(
    topics.flatMap((t) =>
      t.partitions
        .filter((p) => p.acknowledgementBatches.length > 0)
        .map(async (p) => {
          const k = `${t.topicId}:${p.partitionIndex}`;
          const topic = broker.topicsById.get(t.topicId);
          if (!topic) return out.set(k, ErrorCode.UNKNOWN_TOPIC_ID);
          if (!broker.security.topic(conn, Op.READ, topic.name)) return out.set(k, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
          const sp = await broker.shares.get(groupId, t.topicId, p.partitionIndex);
          if (typeof sp === 'number') return out.set(k, sp);
          return out.set(k, await broker.shares.acknowledge(sp, memberId, p.acknowledgementBatches, apiVersion >= 2));
        }),
    ),
  );
  return out;
}

/** The share sessions last used over each connection (released when it closes). */
const sessionsByConnection = new WeakMap<Connection, Set<ShareSession>>();

/**
 * Ties a share session to the connection its member uses now. When that connection closes (the
 * member crashed, or its network went), the session ends and the records the member holds on
 * this broker are released at once, as Kafka's share session cache does on a disconnect, rather
 * than after their acquisition locks expire.
 */
function bindSession(broker: Broker, conn: Connection, session: ShareSession): void {
  if (session.connection === conn) return;
  session.connection = conn;
  let bound = sessionsByConnection.get(conn);
  if (!bound) {
    const set = (bound = new Set<ShareSession>());
    sessionsByConnection.set(conn, set);
    conn.socket.once('close', () => {
      for (const s of set) {
        if (s.connection !== conn || broker.shareSessions.get(s.groupId, s.memberId) !== s) continue;
        broker.shareSessions.remove(s.groupId, s.memberId);
        broker.shares.releaseMember(s.groupId, s.memberId, s.partitions);
      }
      set.clear();
    });
  }
  bound.add(session);
}

function sessionError(errorCode: number) {
  return { throttleTimeMs: 0, errorCode, errorMessage: null, acquisitionLockTimeoutMs: 0, responses: [], nodeEndpoints: [] };
}

export const shareFetchHandler: ApiHandler<ShareFetchRequest, ShareFetchResponse> = {
  apiKey: ApiKey.ShareFetch,
  async handle({ broker, conn, apiVersion }, req) {
    const groupId = req.groupId ?? '';
    const memberId = req.memberId ?? '';
    if (groupId === '' || memberId === '') return sessionError(ErrorCode.INVALID_REQUEST);
    if (!broker.security.group(conn, Op.READ, groupId)) return sessionError(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const final = req.shareSessionEpoch === FINAL_EPOCH;
    const add = req.topics.flatMap((t) => t.partitions.map((p) => `${t.topicId}:${p.partitionIndex}`));
    const forget = req.forgottenTopicsData.flatMap((t) => t.partitions.map((p) => `${t.topicId}:${p}`));
    const session = broker.shareSessions.advance(groupId, memberId, req.shareSessionEpoch, true, add, forget);
    if (typeof session === 'number') return sessionError(session);
    if (!final) bindSession(broker, conn, session);
    const acks = await applyAcks(broker, conn, groupId, memberId, req.topics, apiVersion);
    const lockMs = broker.shares.config(groupId).lockDurationMs;
    const endpoints = new Map<number, BrokerEndpoint>();
    const byTopic = new Map<string, Map<number, PartitionData>>();
    const entry = (topicId: string, index: number): PartitionData => {
      let t = byTopic.get(topicId);
      if (!t) byTopic.set(topicId, (t = new Map<number, PartitionData>()));
      let d = t.get(index);
      if (!d) t.set(index, (d = partitionData(index)));
      return d;
    };
    for (const [k, code] of acks) {
      const [topicId, index] = splitKey(k);
      entry(topicId, index).acknowledgeErrorCode = code;
    }
    if (final) {
      broker.shares.releaseMember(groupId, memberId, session.partitions);
    } else if (apiVersion >= 2 && req.isRenewAck) {
      // KIP-1222: a fetch that only renews acquisition locks acquires nothing.
    } else {
      // What the session fetches: every partition of it, in a rotating order so none starves.
      const wanted = [...session.partitions].map(splitKey);
      const shift = wanted.length > 0 ? session.epoch % wanted.length : 0;
      const order = [...wanted.slice(shift), ...wanted.slice(0, shift)];
      const deadline = broker.clock.now() + Math.max(0, req.maxWaitMs);
      const strict = apiVersion >= 2 && req.shareAcquireMode === 1;
      const targets: { topicId: string; index: number; sp: SharePartition }[] = [];
      let moving = 0;
      for (const [topicId, index] of order) {
        const topic = broker.topicsById.get(topicId);
        if (!topic) {
          entry(topicId, index).errorCode = ErrorCode.UNKNOWN_TOPIC_ID;
          continue;
        }
        if (!broker.security.topic(conn, Op.READ, topic.name)) {
          entry(topicId, index).errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
          continue;
        }
        const sp = await broker.shares.get(groupId, topicId, index);
        if (typeof sp === 'number' && coordinatorMoving(sp)) {
          moving++;
          continue;
        }
        if (typeof sp === 'number') {
          const d = entry(topicId, index);
          d.errorCode = sp;
          if (sp === ErrorCode.NOT_LEADER_OR_FOLLOWER) leaderHint(broker, conn, topicId, index, d, endpoints);
          continue;
        }
        targets.push({ topicId, index, sp });
      }
      for (;;) {
        let records = req.maxRecords > 0 ? req.maxRecords : 500;
        let bytes = req.maxBytes > 0 ? req.maxBytes : 52_428_800;
        let got = false;
        for (const { topicId, index, sp } of targets) {
          if (records <= 0 || bytes <= 0) break;
          const out = await broker.shares.acquire(sp, memberId, records, bytes, strict);
          if (coordinatorMoving(out.errorCode)) continue;
          if (out.errorCode !== ErrorCode.NONE) {
            const d = entry(topicId, index);
            d.errorCode = out.errorCode;
            if (out.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER) leaderHint(broker, conn, topicId, index, d, endpoints);
            continue;
          }
          if (out.acquired.length === 0) continue;
          const d = entry(topicId, index);
          d.records = out.records ?? EMPTY_BYTES;
          d.acquiredRecords = out.acquired;
          records -= out.acquired.reduce((n, r) => n + r.lastOffset - r.firstOffset + 1, 0);
          bytes -= out.records?.length ?? 0;
          got = true;
        }
        const wait = deadline - broker.clock.now();
        if (got || wait <= 0) break;
        if (targets.length === 0) {
          // Only partitions waiting for their share coordinator: a short pause, not a busy loop.
          if (moving > 0) await new Promise<void>((resolve) => broker.clock.schedule(Math.min(wait, COORDINATOR_RETRY_MS), resolve));
          break;
        }
        await waitForRecords(broker, targets, wait);
        if (broker.shareSessions.get(groupId, memberId) !== session) break;
      }
    }
    const responses = [...byTopic].map(([topicId, parts]) => ({ topicId, partitions: [...parts.values()] }));
    // Partitions with data come back with their leader so the client knows it is still this broker.
    for (const t of responses) {
      for (const p of t.partitions) {
        if (p.currentLeader.leaderId !== -1) continue;
        const topic = broker.topicsById.get(t.topicId);
        const local = topic ? broker.partition(topic.name, p.partitionIndex) : undefined;
        if (local?.isLeader) p.currentLeader = { leaderId: broker.nodeId, leaderEpoch: local.leaderEpoch };
      }
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      acquisitionLockTimeoutMs: lockMs,
      responses,
      nodeEndpoints: [...endpoints.values()],
    };
  },
};

/**
 * The share coordinator is moving or loading (its state could not be read or written this time).
 * The Java client treats a ShareFetch partition error outside its known set as fatal, so such a
 * partition answers no records and no error, and the member simply fetches again.
 */
function coordinatorMoving(code: number): boolean {
  return code === ErrorCode.COORDINATOR_NOT_AVAILABLE || code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
}

/** How long a fetch whose every partition waits for its share coordinator is held before it answers. */
const COORDINATOR_RETRY_MS = 100;

function splitKey(k: string): [string, number] {
  const i = k.lastIndexOf(':');
  return [k.slice(0, i), Number(k.slice(i + 1))];
}

/** Parks until one of the partitions gets new records or records become available again. */
function waitForRecords(broker: Broker, targets: { sp: SharePartition }[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    const cancels: (() => void)[] = [];
    let done = false;
    const settle = () => {
      if (done) return;
      done = true;
      for (const c of cancels) c();
      resolve();
    };
    cancels.push(broker.clock.schedule(ms, settle));
    for (const { sp } of targets) {
      sp.waiters.add(settle);
      cancels.push(() => sp.waiters.delete(settle));
      const p = broker.partition(sp.topic, sp.partition);
      if (p) cancels.push(p.watch(settle));
    }
  });
}

export const shareAcknowledgeHandler: ApiHandler<ShareAcknowledgeRequest, ShareAcknowledgeResponse> = {
  apiKey: ApiKey.ShareAcknowledge,
  async handle({ broker, conn, apiVersion, clientId }, req) {
    const groupId = req.groupId ?? '';
    const memberId = req.memberId ?? '';
    if (groupId === '' || memberId === '') return sessionError(ErrorCode.INVALID_REQUEST);
    if (clientId === INTER_BROKER_CLIENT_ID && req.shareSessionEpoch === FINAL_EPOCH && req.topics.length === 0) {
      // The group coordinator on another broker: the member left its group (or timed out of it).
      // Its session here ends and what it holds is released, whether or not the session is known.
      if (!broker.security.cluster(conn, Op.CLUSTER_ACTION)) return sessionError(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      broker.shareSessions.remove(groupId, memberId);
      broker.shares.releaseMember(groupId, memberId);
      return sessionError(ErrorCode.NONE);
    }
    if (!broker.security.group(conn, Op.READ, groupId)) return sessionError(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const session = broker.shareSessions.advance(groupId, memberId, req.shareSessionEpoch, false, [], []);
    if (typeof session === 'number') return sessionError(session);
    if (req.shareSessionEpoch !== FINAL_EPOCH) bindSession(broker, conn, session);
    const acks = await applyAcks(broker, conn, groupId, memberId, req.topics, apiVersion);
    if (req.shareSessionEpoch === FINAL_EPOCH) broker.shares.releaseMember(groupId, memberId, session.partitions);
    const endpoints = new Map<number, BrokerEndpoint>();
    const byTopic = new Map<string, { partitionIndex: number; errorCode: number; errorMessage: null; currentLeader: { leaderId: number; leaderEpoch: number } }[]>();
    for (const [k, code] of acks) {
      const [topicId, index] = splitKey(k);
      const d = { partitionIndex: index, errorCode: code, errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 } };
      if (code === ErrorCode.NOT_LEADER_OR_FOLLOWER) leaderHint(broker, conn, topicId, index, d, endpoints);
      let list = byTopic.get(topicId);
      if (!list) byTopic.set(topicId, (list = []));
      list.push(d);
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      acquisitionLockTimeoutMs: broker.shares.config(groupId).lockDurationMs,
      responses: [...byTopic].map(([topicId, partitions]) => ({ topicId, partitions })),
      nodeEndpoints: [...endpoints.values()],
    };
  },
};

// --- share-group offsets (admin) -----------------------------------------------------------------

/** The start offset a share group has on each partition it has state for, with its lag. */
export const describeShareGroupOffsetsHandler: ApiHandler<DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse> = {
  apiKey: ApiKey.DescribeShareGroupOffsets,
  async handle({ broker, conn }, req) {
    const groups = await Promise.all(
      req.groups.map(async (g) => {
        const refused = describeRefusal(broker, conn, g.groupId);
        if (refused !== ErrorCode.NONE) return { groupId: g.groupId, topics: [], errorCode: refused, errorMessage: null };
        const states = await broker.shareOffsets(g.groupId);
        const wanted =
          g.topics ??
          [...new Set(states.map((s) => s.topic))].map((topicName) => ({ topicName, partitions: states.filter((s) => s.topic === topicName).map((s) => s.partition) }));
        const topics = wanted
          .filter((t) => broker.security.topic(conn, Op.DESCRIBE, t.topicName))
          .map((t) => {
            const topic = broker.topics.get(t.topicName);
            return {
              topicName: t.topicName,
              topicId: topic?.id ?? '00000000-0000-0000-0000-000000000000',
              partitions: t.partitions.map((partitionIndex) => {
                const s = states.find((x) => x.topic === t.topicName && x.partition === partitionIndex);
                if (!topic) return { partitionIndex, startOffset: -1, leaderEpoch: -1, lag: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null };
                return {
                  partitionIndex,
                  startOffset: s?.startOffset ?? -1,
                  leaderEpoch: s?.leaderEpoch ?? -1,
                  lag: s?.lag ?? -1,
                  // The share coordinator of the partition could not be asked (it is moving, or down).
                  errorCode: s?.errorCode ?? ErrorCode.NONE,
                  errorMessage: null,
                };
              }),
            };
          });
        return { groupId: g.groupId, topics, errorCode: ErrorCode.NONE, errorMessage: null };
      }),
    );
    return { throttleTimeMs: 0, groups };
  },
};

/** Sets a share group's start offsets; the group must be empty (no members), as in Kafka. */
export const alterShareGroupOffsetsHandler: ApiHandler<AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse> = {
  apiKey: ApiKey.AlterShareGroupOffsets,
  async handle({ broker, conn }, req) {
    const fail = (errorCode: number, errorMessage: string | null = null): AlterShareGroupOffsetsResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, responses: [] });
    if (!broker.security.group(conn, Op.READ, req.groupId)) return fail(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const owner = broker.groupCoordinator.groupError(req.groupId);
    if (owner !== ErrorCode.NONE) return fail(owner);
    const g = broker.groupCoordinator.share.describe(req.groupId);
    if (g && g.members.size > 0) return fail(ErrorCode.NON_EMPTY_GROUP, `Share group ${req.groupId} is not empty.`);
    if (!g && isOtherKind(broker, req.groupId)) return fail(ErrorCode.GROUP_ID_NOT_FOUND, groupNotFound(req.groupId, 'share', true).errorMessage);
    const responses = await Promise.all(
      req.topics.map(async (t) => {
        const topic = broker.topics.get(t.topicName);
        return {
          topicName: t.topicName,
          topicId: topic?.id ?? '00000000-0000-0000-0000-000000000000',
          partitions: await Promise.all(
            t.partitions.map(async (p) => {
              if (!broker.security.topic(conn, Op.READ, t.topicName))
                return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null };
              if (!topic || !topic.partitions[p.partitionIndex])
                return { partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null };
              const code = await broker.setShareStartOffset(req.groupId, topic.id, t.topicName, p.partitionIndex, p.startOffset);
              return { partitionIndex: p.partitionIndex, errorCode: code, errorMessage: null };
            }),
          ),
        };
      }),
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
  },
};

/** Forgets a share group's state for whole topics; the group must be empty. */
export const deleteShareGroupOffsetsHandler: ApiHandler<DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse> = {
  apiKey: ApiKey.DeleteShareGroupOffsets,
  async handle({ broker, conn }, req) {
    const fail = (errorCode: number, errorMessage: string | null = null): DeleteShareGroupOffsetsResponse => ({ throttleTimeMs: 0, errorCode, errorMessage, responses: [] });
    if (!broker.security.group(conn, Op.DELETE, req.groupId)) return fail(ErrorCode.GROUP_AUTHORIZATION_FAILED);
    const owner = broker.groupCoordinator.groupError(req.groupId);
    if (owner !== ErrorCode.NONE) return fail(owner);
    const g = broker.groupCoordinator.share.describe(req.groupId);
    if (!g) return fail(ErrorCode.GROUP_ID_NOT_FOUND, groupNotFound(req.groupId, 'share', isOtherKind(broker, req.groupId)).errorMessage);
    if (g.members.size > 0) return fail(ErrorCode.NON_EMPTY_GROUP, `Share group ${req.groupId} is not empty.`);
    const responses = await Promise.all(
      req.topics.map(async (t) => {
        const topic = broker.topics.get(t.topicName);
        if (!topic) return { topicName: t.topicName, topicId: '00000000-0000-0000-0000-000000000000', errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null };
        if (!broker.security.topic(conn, Op.READ, t.topicName))
          return { topicName: t.topicName, topicId: topic.id, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: null };
        const code = await broker.deleteShareState(req.groupId, topic.id, t.topicName);
        return { topicName: t.topicName, topicId: topic.id, errorCode: code, errorMessage: null };
      }),
    );
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, responses };
  },
};
