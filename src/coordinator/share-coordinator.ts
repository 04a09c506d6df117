// The share coordinator (KIP-932): the durable state of every share-partition (a share group's
// view of one topic partition), kept in the compacted internal topic __share_group_state, as
// Kafka's share coordinator keeps it. A share-partition's state lives in the partition
// `hash("group:topicId:partition") % share.coordinator.state.topic.num.partitions`, and the
// broker leading that partition owns it (loaded by replaying the partition when its leadership
// arrives, like the group and transaction coordinators).
//
// The state is Kafka's ReadShareGroupState/WriteShareGroupState model: a state epoch, the share
// start offset (every record below it is done with), and the state batches of the in-flight
// records past it (offset ranges, each with a delivery state and a delivery count). A
// share-partition leader reaches it through the broker's persister (broker/share/share-persister.ts):
// in process when this broker leads the key's partition, else with the inter-broker
// ReadShareGroupState/WriteShareGroupState/DeleteShareGroupState/ReadShareGroupStateSummary RPCs
// (handlers/share-state.ts). Each write is one full snapshot record (Kafka's ShareSnapshot;
// Tributary writes no ShareUpdate deltas), so the latest record of a key is the whole state.
// Writes and reads carry the share-partition leader's epoch: an older leader is fenced
// (FENCED_LEADER_EPOCH), as Kafka's share coordinator fences a deposed leader.
//
// Record layouts (Tributary's own; the topic is only read by Tributary):
//   key:   int16 type (0 = snapshot), string group id, uuid topic id, int32 partition
//   value: int16 version (0), int32 state epoch, int32 leader epoch, int64 start offset,
//          int32 count, then per state batch: int64 first offset, int64 last offset,
//          int8 delivery state, int16 delivery count
// A null value (tombstone) deletes the share-partition's state (DeleteShareGroupState).
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { Reader, Writer } from '../protocol/primitives.js';
import { partitionForGroup } from './records.js';
import type { CoordinatorHost, CoordinatorLogger } from './ports.js';
import { InternalTopic, replayInternalPartition } from './internal-topic.js';
import { CoordinatorPartitions } from './coordinator-partitions.js';

export const SHARE_STATE_TOPIC = '__share_group_state';

/** Kafka's RecordState values as the share coordinator stores them. */
export const DeliveryState = { AVAILABLE: 0, ACQUIRED: 1, ACKNOWLEDGED: 2, ARCHIVED: 4 } as const;

export interface ShareStateBatch {
  firstOffset: number;
  lastOffset: number;
  deliveryState: number;
  deliveryCount: number;
}

export interface SharePartitionState {
  stateEpoch: number;
  leaderEpoch: number;
  startOffset: number;
  stateBatches: ShareStateBatch[];
}

export interface ShareStateKey {
  groupId: string;
  topicId: string;
  partition: number;
}

const SNAPSHOT = 0;

function keyString(k: ShareStateKey): string {
  return `${k.groupId}:${k.topicId}:${k.partition}`;
}

export function encodeShareStateKey(k: ShareStateKey): Buffer {
  const w = new Writer(64);
  w.int16(SNAPSHOT);
  w.string(k.groupId);
  w.uuid(k.topicId);
  w.int32(k.partition);
  return w.finish();
}

export function decodeShareStateKey(buf: Buffer): ShareStateKey | null {
  const r = new Reader(buf);
  if (r.int16() !== SNAPSHOT) return null;
  return { groupId: r.string(), topicId: r.uuid(), partition: r.int32() };
}

export function encodeShareStateValue(s: SharePartitionState): Buffer {
  const w = new Writer(32 + s.stateBatches.length * 19);
  w.int16(0);
  w.int32(s.stateEpoch);
  w.int32(s.leaderEpoch);
  w.int64(s.startOffset);
  w.int32(s.stateBatches.length);
  for (const b of s.stateBatches) {
    w.int64(b.firstOffset);
    w.int64(b.lastOffset);
    w.int8(b.deliveryState);
    w.int16(b.deliveryCount);
  }
  return w.finish();
}

export function decodeShareStateValue(buf: Buffer): SharePartitionState | null {
  const r = new Reader(buf);
  if (r.int16() !== 0) return null;
  const stateEpoch = r.int32();
  const leaderEpoch = r.int32();
  const startOffset = r.int64();
  const n = r.int32();
  const stateBatches: ShareStateBatch[] = [];
  for (let i = 0; i < n; i++) stateBatches.push({ firstOffset: r.int64(), lastOffset: r.int64(), deliveryState: r.int8(), deliveryCount: r.int16() });
  return { stateEpoch, leaderEpoch, startOffset, stateBatches };
}

export class ShareCoordinator {
  /** "group:topicId:partition" → state, for the __share_group_state partitions loaded here. */
  private readonly states = new Map<string, { key: ShareStateKey; state: SharePartitionState }>();
  private readonly ownership: CoordinatorPartitions;
  private readonly store: InternalTopic;
  private stopped = false;

  constructor(
    private readonly host: CoordinatorHost,
    private readonly logger: CoordinatorLogger,
  ) {
    this.store = new InternalTopic(host, SHARE_STATE_TOPIC, 'share.coordinator.state.topic.num.partitions', 'share.coordinator.state.topic.replication.factor', {
      'cleanup.policy': 'compact',
    });
    this.ownership = new CoordinatorPartitions(SHARE_STATE_TOPIC, host.clock, logger);
    this.ownership.attach({
      load: async (index, _epoch, current) => {
        const topic = host.topics.get(SHARE_STATE_TOPIC);
        if (!topic) return;
        await replayInternalPartition(topic, index, { record: (key, value) => this.replay(key, value) }, logger, current);
      },
      activate: () => {},
      unload: (index) => {
        for (const [k, v] of [...this.states]) if (this.partitionFor(v.key) === index) this.states.delete(k);
      },
    });
  }

  /** Whether the key's __share_group_state partition is loaded (or loading) here. */
  owns(k: ShareStateKey): boolean {
    return this.ownership.status(this.partitionFor(k)) !== ErrorCode.NOT_COORDINATOR;
  }

  /** Makes sure __share_group_state exists: NONE, or COORDINATOR_NOT_AVAILABLE. */
  async ensureTopic(): Promise<number> {
    if (this.host.topics.has(SHARE_STATE_TOPIC)) return ErrorCode.NONE;
    try {
      await this.store.ensureTopic();
      void this.ownership.sync(this.host);
      return ErrorCode.NONE;
    } catch (err) {
      this.logger.error({ err }, `cannot create ${SHARE_STATE_TOPIC}`);
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
  }

  /** Loads the partitions led here (at start). */
  async start(): Promise<void> {
    await this.ownership.followAndLoad(this.host);
  }

  partitionFor(k: ShareStateKey): number {
    return partitionForGroup(keyString(k), this.store.numPartitions);
  }

  private replay(key: Buffer | null, value: Buffer | null): void {
    if (!key) return;
    const k = decodeShareStateKey(key);
    if (!k) return;
    if (value === null) {
      this.states.delete(keyString(k));
      return;
    }
    const state = decodeShareStateValue(value);
    if (state) this.states.set(keyString(k), { key: k, state });
  }

  /**
   * Makes sure the state topic exists and the partition holding `k` is loaded here. NONE, or
   * NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS / COORDINATOR_NOT_AVAILABLE.
   */
  private async ready(k: ShareStateKey): Promise<number> {
    if (this.stopped) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const created = await this.ensureTopic();
    if (created !== ErrorCode.NONE) return created;
    const partition = this.partitionFor(k);
    let code = this.ownership.status(partition);
    if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
      // A topic just created announces its leader a moment later.
      await this.ownership.whenLoaded(partition).catch(() => undefined);
      code = this.ownership.status(partition);
    }
    return code;
  }

  /**
   * ReadShareGroupState: the state, null when none was ever written, or an error code. A leader
   * epoch (>= 0) older than the stored one is fenced; a newer one is recorded, so the leader it
   * replaced can no longer write.
   */
  async read(k: ShareStateKey, leaderEpoch = -1): Promise<SharePartitionState | null | number> {
    const code = await this.ready(k);
    if (code !== ErrorCode.NONE) return code;
    const s = this.states.get(keyString(k));
    if (!s) return null;
    if (leaderEpoch >= 0 && s.state.leaderEpoch > leaderEpoch) return ErrorCode.FENCED_LEADER_EPOCH;
    if (leaderEpoch > s.state.leaderEpoch) {
      const bumped = await this.write(k, { ...structuredClone(s.state), leaderEpoch });
      if (bumped !== ErrorCode.NONE) return bumped;
    }
    return structuredClone(this.states.get(keyString(k))?.state ?? s.state);
  }

  /** ReadShareGroupStateSummary: like read, without the state batches and without fencing. */
  async summary(k: ShareStateKey): Promise<SharePartitionState | null | number> {
    const code = await this.ready(k);
    if (code !== ErrorCode.NONE) return code;
    const s = this.states.get(keyString(k));
    return s ? structuredClone(s.state) : null;
  }

  /**
   * WriteShareGroupState: replaces the state (a full snapshot). Refused with FENCED_STATE_EPOCH
   * when the stored state epoch is newer (the offsets were altered or deleted meanwhile), and
   * with FENCED_LEADER_EPOCH when a newer leader of the partition has read or written it (a
   * write with leader epoch -1, an admin reset, is not checked against leaders).
   */
  async write(k: ShareStateKey, state: SharePartitionState): Promise<number> {
    const code = await this.ready(k);
    if (code !== ErrorCode.NONE) return code;
    const existing = this.states.get(keyString(k));
    if (existing && existing.state.stateEpoch > state.stateEpoch) return ErrorCode.FENCED_STATE_EPOCH;
    if (existing && state.leaderEpoch >= 0 && existing.state.stateEpoch === state.stateEpoch && existing.state.leaderEpoch > state.leaderEpoch)
      return ErrorCode.FENCED_LEADER_EPOCH;
    try {
      await this.store.append(this.partitionFor(k), [{ key: encodeShareStateKey(k), value: encodeShareStateValue(state) }]);
    } catch (err) {
      this.logger.warn({ err, group: k.groupId }, `writing ${SHARE_STATE_TOPIC} failed`);
      return err instanceof KafkaError && err.code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    this.states.set(keyString(k), { key: { ...k }, state: structuredClone(state) });
    return ErrorCode.NONE;
  }

  /** DeleteShareGroupState: forgets the state (tombstone). */
  async delete(k: ShareStateKey): Promise<number> {
    const code = await this.ready(k);
    if (code !== ErrorCode.NONE) return code;
    if (!this.states.has(keyString(k))) return ErrorCode.NONE;
    try {
      await this.store.append(this.partitionFor(k), [{ key: encodeShareStateKey(k), value: null }]);
    } catch {
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    this.states.delete(keyString(k));
    return ErrorCode.NONE;
  }

  /** The share-partitions with state of a group, among the partitions loaded here. */
  partitionsOf(groupId: string): { key: ShareStateKey; state: SharePartitionState }[] {
    return [...this.states.values()].filter((s) => s.key.groupId === groupId).map((s) => ({ key: { ...s.key }, state: structuredClone(s.state) }));
  }

  shutdown(): void {
    this.stopped = true;
    this.ownership.close();
  }
}
