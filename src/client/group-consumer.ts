// A consumer-group member (the classic protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup).
// It joins with the "range" assignor (the Java client's name, so Java consumers can share the
// group), assigns partitions itself when elected leader, starts each partition at the group's
// committed offset (or `resetTo` when there is none), heartbeats in the background, rejoins when
// the coordinator announces a rebalance, and commits the offsets it handed out on every
// rebalance, every `autoCommitIntervalMs`, and on close.
import {
  ApiKey,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
  type HeartbeatResponse,
  type JoinGroupResponse,
  type LeaveGroupResponse,
  type OffsetCommitResponse,
  type SyncGroupResponse,
} from '../protocol/generated/index.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import { decodeConsumerAssignment, decodeConsumerSubscription } from '../protocol/consumer-protocol.js';
import { Writer } from '../protocol/primitives.js';
import { Admin, sortedPartitions } from './admin.js';
import { Cluster, type ClusterOptions } from './cluster.js';
import type { Connection } from './connection.js';
import { Consumer, type ConsumeOptions, type ConsumerOptions, type ConsumerRecord } from './consumer.js';
import { KafkaClientError, malformedConsumerProtocol, throwIfError } from './errors.js';

export interface GroupConsumerOptions extends ConsumerOptions {
  groupId: string;
  /** The coordinator drops a member it has not heard from for this long (default 10 s). */
  sessionTimeoutMs?: number;
  /** How long a rebalance may wait for members to rejoin (default 30 s). */
  rebalanceTimeoutMs?: number;
  /** Default 1 s (at most a third of the session timeout). */
  heartbeatIntervalMs?: number;
  /** Start of partitions the group has no committed offset for (default 'earliest'). */
  resetTo?: 'earliest' | 'latest';
  /** Commit handed-out offsets this often while reading (default 5 s; 0 disables). */
  autoCommitIntervalMs?: number;
}

const PROTOCOL_TYPE = 'consumer';
const ASSIGNOR = 'range';

function encodeSubscription(topics: string[]): Buffer {
  const w = new Writer();
  w.int16(0);
  encodeConsumerProtocolSubscription(w, 0, { topics, userData: null, ownedPartitions: [], generationId: -1, rackId: null });
  return Buffer.from(w.finish());
}

/** A member's subscribed topics, for the leader; as Kafka's consumer, a leader cannot assign past bytes that do not decode. */
function subscribedTopics(memberId: string, bytes: Buffer): string[] {
  const subscription = decodeConsumerSubscription(bytes);
  if (!subscription) throw malformedConsumerProtocol(`the subscription of member "${memberId}"`);
  return subscription.topics;
}

/**
 * This member's partitions from SyncGroup, each topic's sorted. As Kafka's consumer, no bytes are
 * an error too: the leader assigns every member, so none means a broken leader.
 */
function syncedAssignment(groupId: string, bytes: Buffer): Array<{ topic: string; partitions: number[] }> {
  const assignment = decodeConsumerAssignment(bytes);
  if (!assignment) throw malformedConsumerProtocol(`this member's assignment in group "${groupId}"`);
  return sortedPartitions(assignment);
}

function encodeAssignment(parts: Map<string, number[]>): Buffer {
  const w = new Writer();
  w.int16(0);
  encodeConsumerProtocolAssignment(w, 0, { assignedPartitions: [...parts].map(([topic, partitions]) => ({ topic, partitions })), userData: null });
  return Buffer.from(w.finish());
}

/**
 * The range assignor: per topic, members subscribed to it (sorted by member id) get contiguous
 * ranges of partitions, the first `count % members` one extra.
 */
export function rangeAssign(members: Array<{ memberId: string; topics: string[] }>, partitionCounts: Map<string, number>): Map<string, Map<string, number[]>> {
  const out = new Map<string, Map<string, number[]>>(members.map((m) => [m.memberId, new Map()]));
  for (const [topic, count] of partitionCounts) {
    const subscribers = members
      .filter((m) => m.topics.includes(topic))
      .map((m) => m.memberId)
      .sort();
    if (subscribers.length === 0) continue;
    const per = Math.floor(count / subscribers.length);
    const extra = count % subscribers.length;
    let next = 0;
    subscribers.forEach((id, i) => {
      const n = per + (i < extra ? 1 : 0);
      if (n > 0)
        out.get(id)!.set(
          topic,
          Array.from({ length: n }, (_, k) => next + k),
        );
      next += n;
    });
  }
  return out;
}

export class GroupConsumer {
  readonly cluster: Cluster;
  private readonly ownsCluster: boolean;
  private readonly admin: Admin;
  private readonly opts: Required<Omit<GroupConsumerOptions, keyof ConsumerOptions>> & ConsumerOptions;
  private topics: string[] = [];
  private memberId = '';
  private generationId = -1;
  private coordinator: Connection | null = null;
  private consumer: Consumer | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private rebalance: AbortController | null = null;
  private closedFlag = false;
  /** The partitions this member owns in the current generation. */
  assignment: Array<{ topic: string; partitions: number[] }> = [];

  constructor(clusterOrOptions: Cluster | ClusterOptions, options: GroupConsumerOptions) {
    this.ownsCluster = !(clusterOrOptions instanceof Cluster);
    this.cluster = clusterOrOptions instanceof Cluster ? clusterOrOptions : new Cluster(clusterOrOptions);
    this.admin = new Admin(this.cluster);
    const sessionTimeoutMs = options.sessionTimeoutMs ?? 10_000;
    this.opts = {
      ...options,
      sessionTimeoutMs,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 30_000,
      heartbeatIntervalMs: Math.min(options.heartbeatIntervalMs ?? 1000, Math.floor(sessionTimeoutMs / 3)),
      resetTo: options.resetTo ?? 'earliest',
      autoCommitIntervalMs: options.autoCommitIntervalMs ?? 5000,
    };
  }

  get groupId(): string {
    return this.opts.groupId;
  }

  subscribe(topics: string[]): void {
    this.topics = [...new Set([...this.topics, ...topics])];
  }

  /** Joins (or rejoins) the group and sets up reading of the partitions assigned to this member. */
  private async join(): Promise<void> {
    this.stopHeartbeats();
    for (const t of this.topics) await this.cluster.topic(t, { refresh: true });
    for (let attempt = 0; ; attempt++) {
      this.coordinator = await this.admin.coordinatorFor(this.groupId);
      const subscription = encodeSubscription(this.topics);
      const join = await this.coordinator.request<JoinGroupResponse>(
        ApiKey.JoinGroup,
        (v: number) => ({
          groupId: this.groupId,
          sessionTimeoutMs: this.opts.sessionTimeoutMs,
          rebalanceTimeoutMs: this.opts.rebalanceTimeoutMs,
          memberId: this.memberId,
          groupInstanceId: null,
          protocolType: PROTOCOL_TYPE,
          protocols: [{ name: ASSIGNOR, metadata: subscription }],
          reason: v >= 8 ? 'joining' : null,
        }),
        { timeoutMs: this.opts.rebalanceTimeoutMs + 10_000 },
      );
      if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        this.memberId = join.memberId; // KIP-394: rejoin with the id the coordinator gave us
        continue;
      }
      if (join.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      if (join.errorCode !== 0 && attempt < 5 && this.retriableGroupError(join.errorCode)) {
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        continue;
      }
      throwIfError(join.errorCode, null, `joining group "${this.groupId}"`);
      this.memberId = join.memberId;
      this.generationId = join.generationId;
      let assignments: Array<{ memberId: string; assignment: Buffer }> = [];
      if (join.leader === join.memberId) {
        const members = join.members.map((m) => ({ memberId: m.memberId, topics: subscribedTopics(m.memberId, m.metadata) }));
        const counts = new Map<string, number>();
        for (const topic of new Set(members.flatMap((m) => m.topics))) {
          try {
            counts.set(topic, (await this.cluster.topic(topic, { refresh: true })).partitions.length);
          } catch (err) {
            if (!(err instanceof KafkaClientError && err.type === 'UNKNOWN_TOPIC_OR_PARTITION')) throw err;
          }
        }
        assignments = [...rangeAssign(members, counts)].map(([memberId, parts]) => ({ memberId, assignment: encodeAssignment(parts) }));
      }
      const sync = await this.coordinator.request<SyncGroupResponse>(
        ApiKey.SyncGroup,
        (v: number) => ({
          groupId: this.groupId,
          generationId: this.generationId,
          memberId: this.memberId,
          groupInstanceId: null,
          protocolType: v >= 5 ? PROTOCOL_TYPE : null,
          protocolName: v >= 5 ? ASSIGNOR : null,
          assignments,
        }),
        { timeoutMs: this.opts.rebalanceTimeoutMs + 10_000 },
      );
      if (sync.errorCode !== 0 && attempt < 5 && this.retriableGroupError(sync.errorCode)) continue;
      throwIfError(sync.errorCode, null, `syncing group "${this.groupId}"`);
      this.assignment = syncedAssignment(this.groupId, sync.assignment);
      break;
    }
    await this.startReading();
    this.startHeartbeats();
  }

  private retriableGroupError(code: number): boolean {
    return (
      code === ErrorCode.REBALANCE_IN_PROGRESS ||
      code === ErrorCode.UNKNOWN_MEMBER_ID ||
      code === ErrorCode.ILLEGAL_GENERATION ||
      code === ErrorCode.NOT_COORDINATOR ||
      code === ErrorCode.COORDINATOR_NOT_AVAILABLE ||
      code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
    );
  }

  private async startReading(): Promise<void> {
    await this.consumer?.close();
    const consumer = new Consumer(this.cluster, this.opts);
    const wanted = this.assignment.map((a) => ({ topic: a.topic, partitions: a.partitions }));
    const committed = wanted.length > 0 ? await this.admin.fetchOffsets(this.groupId, wanted) : [];
    for (const a of this.assignment) {
      const fromCommit = new Map(committed.filter((c) => c.topic === a.topic).map((c) => [c.partition, c.offset]));
      const fresh = a.partitions.filter((p) => !fromCommit.has(p));
      if (fresh.length > 0) await consumer.assign(a.topic, this.opts.resetTo, fresh);
      for (const [p, offset] of fromCommit) {
        try {
          await consumer.assign(a.topic, { offset }, [p]);
        } catch (err) {
          if (!(err instanceof KafkaClientError && err.type === 'OFFSET_OUT_OF_RANGE')) throw err;
          await consumer.assign(a.topic, this.opts.resetTo, [p]);
        }
      }
    }
    this.consumer = consumer;
  }

  private startHeartbeats(): void {
    this.rebalance = new AbortController();
    const rebalance = this.rebalance;
    const beat = async () => {
      if (this.closedFlag || rebalance.signal.aborted || !this.coordinator) return;
      try {
        const res = await this.coordinator.request<HeartbeatResponse>(ApiKey.Heartbeat, {
          groupId: this.groupId,
          generationId: this.generationId,
          memberId: this.memberId,
          groupInstanceId: null,
        });
        if (res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
        if (res.errorCode !== 0) rebalance.abort(new KafkaClientError(errorName(res.errorCode)));
      } catch (err) {
        rebalance.abort(err);
      }
    };
    this.heartbeatTimer = setInterval(() => void beat(), this.opts.heartbeatIntervalMs);
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  /**
   * Yields records of the partitions assigned to this member, across rebalances. Without
   * `follow` it stops once its partitions reached the end they had when assigned.
   */
  async *records(opts: ConsumeOptions = {}): AsyncGenerator<ConsumerRecord> {
    if (this.topics.length === 0) throw new KafkaClientError('INVALID_REQUEST', 'subscribe to at least one topic first');
    let yielded = 0;
    const max = opts.maxMessages ?? Infinity;
    while (!this.closedFlag && !opts.signal?.aborted && yielded < max) {
      await this.join();
      const rebalance = this.rebalance!;
      const stop = new AbortController();
      const onAbort = () => stop.abort();
      rebalance.signal.addEventListener('abort', onAbort);
      opts.signal?.addEventListener('abort', onAbort);
      let lastCommit = Date.now();
      try {
        for await (const r of this.consumer!.records({ follow: opts.follow, maxMessages: max - yielded, signal: stop.signal })) {
          yielded++;
          yield r;
          if (this.opts.autoCommitIntervalMs > 0 && Date.now() - lastCommit >= this.opts.autoCommitIntervalMs) {
            lastCommit = Date.now();
            await this.commit().catch(() => undefined);
          }
        }
      } finally {
        rebalance.signal.removeEventListener('abort', onAbort);
        opts.signal?.removeEventListener('abort', onAbort);
      }
      if (!rebalance.signal.aborted) return; // done: caught up (not following), max reached, or stopped
      // A rebalance: keep what was handed out, then rejoin.
      await this.commit().catch(() => undefined);
    }
  }

  /** Commits the offsets handed out so far, as this member of the current generation. */
  async commit(): Promise<void> {
    if (!this.consumer || !this.coordinator || this.generationId < 0) return;
    const positions = this.consumer.positions();
    if (positions.length === 0) return;
    const byTopic = new Map<string, Array<{ partition: number; offset: number }>>();
    for (const p of positions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p]);
    const res = await this.coordinator.request<OffsetCommitResponse>(ApiKey.OffsetCommit, {
      groupId: this.groupId,
      generationIdOrMemberEpoch: this.generationId,
      memberId: this.memberId,
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [...byTopic].map(([name, list]) => ({
        name,
        partitions: list.map((p) => ({ partitionIndex: p.partition, committedOffset: p.offset, committedLeaderEpoch: -1, committedMetadata: null })),
      })),
    });
    for (const t of res.topics) for (const p of t.partitions) throwIfError(p.errorCode, null, `committing ${t.name}-${p.partitionIndex} for group "${this.groupId}"`);
  }

  /** Commits, leaves the group (so the others rebalance at once) and closes. */
  async close(opts: { commit?: boolean } = {}): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.stopHeartbeats();
    try {
      if (opts.commit !== false) await this.commit();
    } finally {
      if (this.coordinator && this.memberId !== '') {
        const memberId = this.memberId;
        await this.coordinator
          .request<LeaveGroupResponse>(ApiKey.LeaveGroup, (v: number) => ({
            groupId: this.groupId,
            memberId: v >= 3 ? '' : memberId,
            members: v >= 3 ? [{ memberId, groupInstanceId: null, reason: v >= 5 ? 'closing' : null }] : [],
          }))
          .catch(() => undefined);
      }
      await this.consumer?.close();
      if (this.ownsCluster) await this.cluster.close();
    }
  }
}
