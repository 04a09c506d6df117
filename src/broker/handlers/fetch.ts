import { ApiKey, type FetchRequest, type FetchResponse, type FetchResponsePartitionData, type FetchResponseFetchableTopicResponse } from '../../protocol/generated/index.js';
import { dataBuffers } from '../../common/buffer-pool.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { EMPTY_BYTES, ZERO_UUID } from '../../protocol/primitives.js';
import { FetchSession, partitionKey, type SessionPartition } from '../fetch-sessions.js';
import type { Broker } from '../broker.js';
import type { ReadIsolation } from '../partition.js';
import { Op } from '../security/security.js';
import { quotaUser } from '../throttle.js';
import { requestParked, requestResumed, type ApiHandler } from '../api.js';

const READ_COMMITTED = 1;

function emptyPartitionData(index: number, errorCode: number): FetchResponsePartitionData {
  return {
    partitionIndex: index,
    errorCode,
    highWatermark: -1,
    lastStableOffset: -1,
    logStartOffset: -1,
    divergingEpoch: { epoch: -1, endOffset: -1 },
    currentLeader: { leaderId: -1, leaderEpoch: -1 },
    snapshotId: { endOffset: -1, epoch: -1 },
    abortedTransactions: null,
    preferredReadReplica: -1,
    // Kafka sends an empty record set, never null: librdkafka rejects a null one.
    records: EMPTY_BYTES,
  };
}

function sessionError(errorCode: number): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [], nodeEndpoints: [] };
}

interface FetchPlan {
  session: FetchSession | null;
  incremental: boolean;
  partitions: SessionPartition[];
}

/** Applies the request to the session cache (KIP-227) and returns what to read. */
function planFetch(broker: Broker, req: FetchRequest, useTopicIds: boolean): FetchPlan | number {
  const cache = broker.fetchSessions;
  const fromRequest = (): SessionPartition[] => {
    const out: SessionPartition[] = [];
    for (const t of req.topics) {
      const name = useTopicIds ? (broker.topicsById.get(t.topicId)?.name ?? '') : t.topic;
      for (const p of t.partitions) {
        out.push({
          topic: name,
          topicId: useTopicIds ? t.topicId : (broker.topics.get(t.topic)?.id ?? ZERO_UUID),
          partition: p.partition,
          fetchOffset: p.fetchOffset,
          partitionMaxBytes: p.partitionMaxBytes,
          currentLeaderEpoch: p.currentLeaderEpoch,
          lastFetchedEpoch: p.lastFetchedEpoch,
          sentHighWatermark: -1,
          sentLastStableOffset: -1,
          sentLogStartOffset: -1,
        });
      }
    }
    return out;
  };
  const keyOf = (sp: SessionPartition) => partitionKey(useTopicIds ? sp.topicId : sp.topic, sp.partition);

  if (req.sessionEpoch === -1) {
    if (req.sessionId !== 0) cache.remove(req.sessionId);
    return { session: null, incremental: false, partitions: fromRequest() };
  }
  if (req.sessionEpoch === 0) {
    if (req.sessionId !== 0) cache.remove(req.sessionId);
    const session = cache.create(useTopicIds);
    const partitions = fromRequest();
    if (session) for (const sp of partitions) session.partitions.set(keyOf(sp), sp);
    return { session, incremental: false, partitions };
  }
  const session = cache.get(req.sessionId);
  if (!session) return ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
  if (session.nextEpoch !== req.sessionEpoch) return ErrorCode.INVALID_FETCH_SESSION_EPOCH;
  if (session.usesTopicIds !== useTopicIds) return ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR;
  session.nextEpoch = session.nextEpoch >= 0x7fffffff ? 1 : session.nextEpoch + 1;
  for (const f of req.forgottenTopicsData) {
    const topicKey = useTopicIds ? f.topicId : f.topic;
    for (const p of f.partitions) session.partitions.delete(partitionKey(topicKey, p));
  }
  for (const sp of fromRequest()) {
    const existing = session.partitions.get(keyOf(sp));
    if (existing) {
      existing.fetchOffset = sp.fetchOffset;
      existing.partitionMaxBytes = sp.partitionMaxBytes;
      existing.currentLeaderEpoch = sp.currentLeaderEpoch;
      existing.lastFetchedEpoch = sp.lastFetchedEpoch;
    } else {
      session.partitions.set(keyOf(sp), sp);
    }
  }
  return { session, incremental: true, partitions: [...session.partitions.values()] };
}

interface ReadOutcome {
  data: FetchResponsePartitionData;
  bytes: number;
  error: boolean;
  /** Answer at once rather than wait for min bytes (a diverging epoch, a preferred read replica). */
  urgent?: boolean;
  /** KIP-951: the endpoint of the partition's current leader, for the response's node endpoints. */
  leaderEndpoint?: { nodeId: number; host: string; port: number; rack: string | null };
}

async function readPartition(
  broker: Broker,
  apiVersion: number,
  sp: SessionPartition,
  maxBytes: number,
  minOneBatch: boolean,
  readCommitted: boolean,
  useTopicIds: boolean,
  /** A follower replica's node id (a replica fetch), or -1 for a consumer. */
  replicaId: number,
  /** The consumer's client.rack (v11+), '' when unset. */
  rackId: string,
  /** The listener the request came in on: KIP-951 endpoints are that listener's. */
  listenerName: string,
): Promise<ReadOutcome> {
  const topic = useTopicIds ? broker.topicsById.get(sp.topicId) : broker.topics.get(sp.topic);
  let partition = topic ? broker.leaderPartition(topic.name, sp.partition) : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  // KIP-392: from v11 a consumer may fetch from a follower (one its leader pointed it to).
  let servedByFollower = false;
  if (partition === ErrorCode.NOT_LEADER_OR_FOLLOWER && replicaId < 0 && apiVersion >= 11) {
    const follower = broker.followerForConsumers(topic!.name, sp.partition);
    if (follower) [partition, servedByFollower] = [follower, true];
  }
  const notLeader = (code: number): ReadOutcome => {
    const data = emptyPartitionData(sp.partition, code);
    // KIP-951: where the leader is now (current leader v12+, its endpoint v16+).
    const leader = code === ErrorCode.NOT_LEADER_OR_FOLLOWER && apiVersion >= 12 ? broker.currentLeader(topic!.name, sp.partition, listenerName) : null;
    if (leader && leader.endpoint && leader.leaderId !== broker.nodeId) {
      data.currentLeader = { leaderId: leader.leaderId, leaderEpoch: leader.leaderEpoch };
      return { data, bytes: 0, error: true, leaderEndpoint: apiVersion >= 16 ? leader.endpoint : undefined };
    }
    return { data, bytes: 0, error: true };
  };
  if (typeof partition === 'number') return notLeader(useTopicIds && !topic ? ErrorCode.UNKNOWN_TOPIC_ID : partition);
  const data = emptyPartitionData(sp.partition, ErrorCode.NONE);
  const fill = () => {
    data.highWatermark = partition.highWatermark;
    data.lastStableOffset = partition.lastStableOffset;
    data.logStartOffset = partition.logStartOffset;
    // Kafka sends null for read_uncommitted and a list, maybe empty, for read_committed.
    if (readCommitted) data.abortedTransactions = [];
  };
  if (replicaId >= 0 && !partition.hasReplica(replicaId)) {
    data.errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER;
    return { data, bytes: 0, error: true };
  }
  const epochError = partition.checkLeaderEpoch(sp.currentLeaderEpoch, replicaId < 0 && !partition.isLeader);
  if (epochError !== ErrorCode.NONE) {
    data.errorCode = epochError;
    if (apiVersion >= 12) data.currentLeader = { leaderId: partition.leaderId, leaderEpoch: partition.leaderEpoch };
    return { data, bytes: 0, error: true };
  }
  fill();
  if (sp.lastFetchedEpoch >= 0) {
    const end = partition.endOffsetForEpoch(sp.lastFetchedEpoch);
    if (end.leaderEpoch < sp.lastFetchedEpoch || end.endOffset < sp.fetchOffset) {
      data.divergingEpoch = { epoch: end.leaderEpoch, endOffset: end.endOffset };
      return { data, bytes: 0, error: false, urgent: true };
    }
  }
  if (replicaId < 0 && partition.isLeader && apiVersion >= 11) {
    const preferred = broker.preferredReadReplica(partition, rackId);
    if (preferred >= 0) {
      // The consumer moves to that follower; it gets no records from here.
      data.preferredReadReplica = preferred;
      return { data, bytes: 0, error: false, urgent: true };
    }
  }
  try {
    if (replicaId >= 0) {
      // A follower reads up to the leader's durable end; its fetch offset is its log end, which
      // moves the high watermark (Kafka's updateFollowerFetchState).
      const leaderEnd = partition.durableEndOffset;
      // A reassignment's copy may be throttled: over budget, this answer carries no records.
      const budget = broker.replicationThrottle.budget(partition, replicaId);
      if (budget < 1) {
        partition.recordFollowerFetch(replicaId, sp.fetchOffset, leaderEnd);
        fill();
        data.records = EMPTY_BYTES;
        return { data, bytes: 0, error: false };
      }
      const result = await partition.read({ fetchOffset: sp.fetchOffset, maxBytes: Math.min(maxBytes, budget), isolation: 'log_end', minOneBatch, pool: dataBuffers });
      partition.recordFollowerFetch(replicaId, sp.fetchOffset, leaderEnd);
      broker.replicationThrottle.record(partition, replicaId, result.records?.length ?? 0);
      fill();
      data.records = result.records ?? EMPTY_BYTES;
      return { data, bytes: result.records?.length ?? 0, error: false };
    }
    // read_committed reads stop at the last stable offset: nothing of an undecided transaction.
    const result = await partition.read({
      fetchOffset: sp.fetchOffset,
      maxBytes,
      isolation: readCommitted ? 'read_committed' : 'high_watermark',
      minOneBatch,
      pool: dataBuffers,
    });
    fill();
    data.records = result.records ?? EMPTY_BYTES;
    if (result.abortedTransactions) data.abortedTransactions = result.abortedTransactions;
    return { data, bytes: result.records?.length ?? 0, error: false };
  } catch (err) {
    if (!(err instanceof KafkaError)) throw err;
    // A follower behind the consumer's position (a replica just re-created by a reassignment, or
    // a fetch parked at the old leader and re-read here after leadership moved) must not answer
    // OFFSET_OUT_OF_RANGE: a client not directed here (kafkajs) would reset its position. The
    // leader knows whether the offset exists; the client goes back to it.
    if (servedByFollower && err.code === ErrorCode.OFFSET_OUT_OF_RANGE && sp.fetchOffset > partition.logEndOffset) return notLeader(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    data.errorCode = err.code;
    return { data, bytes: 0, error: true };
  }
}

function changedSinceLastSent(sp: SessionPartition, d: FetchResponsePartitionData): boolean {
  return d.highWatermark !== sp.sentHighWatermark || d.lastStableOffset !== sp.sentLastStableOffset || d.logStartOffset !== sp.sentLogStartOffset;
}

/** The fetching replica's id; negative for a consumer. v15 moved it into ReplicaState (KIP-903). */
export function fetchReplicaId(req: FetchRequest, apiVersion: number): number {
  return apiVersion >= 15 ? req.replicaState.replicaId : req.replicaId;
}

export const fetchHandler: ApiHandler<FetchRequest, FetchResponse> = {
  apiKey: ApiKey.Fetch,
  // v18 adds the high watermark a follower knows (KIP-1166, tagged): Kafka's brokers read it
  // and leave it unused (only its KRaft controllers act on it), and so does this broker.
  maxVersion: 18,
  async handle(ctx, req) {
    const { broker, apiVersion, conn, clientId } = ctx;
    // Before any await (see Connection.reserveResponseBytes): bounds what a non-reading client costs.
    const budget = conn.reserveResponseBytes(Math.min(req.maxBytes, broker.config.int('fetch.max.bytes')));
    if (budget) await budget;
    const useTopicIds = apiVersion >= 13;
    const plan = planFetch(broker, req, useTopicIds);
    if (typeof plan === 'number') return sessionError(plan);
    const replicaId = fetchReplicaId(req, apiVersion);
    const readCommitted = replicaId < 0 && req.isolationLevel === READ_COMMITTED;
    // A consumer_byte_rate quota caps one response at what the quota window allows (see QuotaManager).
    const responseLimit =
      replicaId >= 0
        ? Math.min(req.maxBytes, broker.config.int('replica.fetch.response.max.bytes'))
        : Math.min(req.maxBytes, broker.config.int('fetch.max.bytes'), broker.quotas.maxFetchBytes(clientId ?? '', quotaUser(conn.principal)));
    const deadline = broker.clock.now() + Math.max(0, req.maxWaitMs);

    // Authorization (Kafka's): a follower needs CLUSTER_ACTION, a consumer READ on each topic.
    const follower = (req.replicaState?.replicaId ?? req.replicaId ?? -1) >= 0;
    const followerAllowed = follower && broker.security.cluster(conn, Op.CLUSTER_ACTION);
    const readable = new Map<string, boolean>();
    const denied = (topic: string): boolean => {
      if (follower) return !followerAllowed;
      let ok = readable.get(topic);
      if (ok === undefined) readable.set(topic, (ok = broker.security.topic(conn, Op.READ, topic)));
      return !ok;
    };

    const read = (sp: SessionPartition, maxBytes: number, minOneBatch: boolean): Promise<ReadOutcome> => {
      if (sp.topic !== '' && denied(sp.topic)) return Promise.resolve({ data: emptyPartitionData(sp.partition, ErrorCode.TOPIC_AUTHORIZATION_FAILED), bytes: 0, error: true });
      return readPartition(broker, apiVersion, sp, maxBytes, minOneBatch, readCommitted, useTopicIds, replicaId, req.rackId, conn.listenerName);
    };
    /**
     * Reads every partition, in order, each within what the response has left: the first one
     * with data may return a first batch larger than its limit (KIP-74), the others may not.
     * A consumer's reads are started all at once, so that the libuv pool overlaps their disk
     * reads instead of a fetch of N partitions waiting for N reads in a row; each result is then
     * checked against the limits the sequential order gives, and from the first one that breaks
     * them (a second oversized first batch, a response budget run out) the rest is read again
     * one after the other. A follower's reads stay sequential: the replication throttle's budget
     * and the follower state move with each.
     */
    const readAll = async () => {
      const outcomes: ReadOutcome[] = [];
      let total = 0;
      const parallel = replicaId < 0 && plan.partitions.length > 1 ? await readAllAtOnce() : [];
      for (let i = 0; i < plan.partitions.length; i++) {
        const sp = plan.partitions[i]!;
        const limit = Math.min(sp.partitionMaxBytes, Math.max(0, responseLimit - total));
        let outcome = parallel[i];
        if (outcome && outcome.bytes > limit && total > 0) {
          for (const dropped of parallel.slice(i)) if (dropped.data.records) dataBuffers.release(dropped.data.records);
          parallel.length = 0;
          outcome = undefined;
        }
        outcome ??= await read(sp, limit, total === 0);
        total += outcome.bytes;
        outcomes.push(outcome);
      }
      return { outcomes, total, anyError: outcomes.some((o) => o.error || o.urgent === true) };
    };
    /** Every partition read at once with its own limit, or [] when the response budget could run out. */
    const readAllAtOnce = async (): Promise<ReadOutcome[]> => {
      let sum = 0;
      for (const sp of plan.partitions) sum += sp.partitionMaxBytes;
      if (sum > responseLimit) return [];
      const settled = await Promise.allSettled(plan.partitions.map((sp) => read(sp, sp.partitionMaxBytes, true)));
      const failed = settled.find((r) => r.status === 'rejected');
      if (!failed) return settled.map((r) => (r as PromiseFulfilledResult<ReadOutcome>).value);
      for (const r of settled) if (r.status === 'fulfilled' && r.value.data.records) dataBuffers.release(r.value.data.records);
      throw failed.reason;
    };

    let result = await readAll();
    // Park the fetch until data arrives or max.wait.ms passes: no timer work while idle.
    while (result.total < req.minBytes && !result.anyError && plan.partitions.length > 0 && broker.clock.now() < deadline) {
      broker.metrics.delayedFetches++;
      requestParked(ctx);
      const woke = await waitForData(broker, plan.partitions, useTopicIds, deadline - broker.clock.now(), replicaId >= 0 ? 'log_end' : 'high_watermark').finally(
        () => broker.metrics.delayedFetches--,
      );
      requestResumed(ctx);
      result = await readAll();
      if (!woke) break;
    }

    const byTopic = new Map<string, FetchResponseFetchableTopicResponse>();
    plan.partitions.forEach((sp, i) => {
      const outcome = result.outcomes[i]!;
      const data = outcome.data;
      // Only existing topics get series: a fetch naming random topics must not grow the registry.
      if (outcome.bytes > 0 || (data.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && data.errorCode !== ErrorCode.UNKNOWN_TOPIC_ID)) {
        broker.metrics.fetched(sp.topic, outcome.bytes, outcome.error);
      }
      if (plan.incremental && data.records!.length === 0 && data.errorCode === ErrorCode.NONE && data.divergingEpoch.epoch === -1 && !changedSinceLastSent(sp, data)) {
        return;
      }
      sp.sentHighWatermark = data.highWatermark;
      sp.sentLastStableOffset = data.lastStableOffset;
      sp.sentLogStartOffset = data.logStartOffset;
      const key = useTopicIds ? sp.topicId : sp.topic;
      let topic = byTopic.get(key);
      if (!topic) {
        topic = { topic: sp.topic, topicId: sp.topicId, partitions: [] };
        byTopic.set(key, topic);
      }
      topic.partitions.push(data);
    });
    // KIP-74 fairness, as Kafka does it for incremental fetches: a partition that returned records
    // goes to the end of the session's order, so the next response fills with the others first and
    // one busy partition cannot take every response's bytes. (Sessionless fetches keep the
    // request's order: the client rotates it.)
    if (plan.session && plan.incremental) {
      const order = plan.session.partitions;
      plan.partitions.forEach((sp, i) => {
        if (result.outcomes[i]!.bytes === 0) return;
        const key = partitionKey(useTopicIds ? sp.topicId : sp.topic, sp.partition);
        if (order.get(key) !== sp) return;
        order.delete(key);
        order.set(key, sp);
      });
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      sessionId: plan.session?.id ?? 0,
      responses: [...byTopic.values()],
      nodeEndpoints: [...new Map(result.outcomes.flatMap((o) => (o.leaderEndpoint ? [[o.leaderEndpoint.nodeId, o.leaderEndpoint] as const] : []))).values()],
    };
  },
};

/** Resolves true when any of the partitions gets new data, false on timeout. */
function waitForData(broker: Broker, partitions: SessionPartition[], useTopicIds: boolean, timeoutMs: number, isolation: ReadIsolation): Promise<boolean> {
  return new Promise((resolve) => {
    const cancels: (() => void)[] = [];
    let settled = false;
    const settle = (woke: boolean) => {
      if (settled) return;
      settled = true;
      cancelTimer();
      for (const c of cancels) c();
      resolve(woke);
    };
    const cancelTimer = broker.clock.schedule(Math.max(0, timeoutMs), () => settle(false));
    for (const sp of partitions) {
      const topic = useTopicIds ? broker.topicsById.get(sp.topicId) : broker.topics.get(sp.topic);
      const partition = topic?.partitions[sp.partition];
      if (partition) cancels.push(partition.watch(() => settle(true), isolation));
    }
  });
}
