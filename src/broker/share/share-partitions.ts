// KIP-932 share-partitions: what the leader of a topic partition keeps for each share group
// consuming it. Records are handed out one by one: a ShareFetch acquires records (state
// ACQUIRED, delivery count + 1) for share.record.lock.duration.ms; the member acknowledges them
// (ACCEPT → ACKNOWLEDGED, RELEASE → AVAILABLE again, REJECT → ARCHIVED, RENEW → a new lock) or the
// lock expires (→ AVAILABLE). A record whose delivery count reached share.delivery.count.limit is
// archived instead of becoming available again. The share start offset moves past the records
// at its front once they are acknowledged or archived; everything from it to the end offset is
// "in flight" and tracked per record.
//
// Every change of state is written to the share coordinator (__share_group_state) before the
// acknowledgement is answered, and read back when the share-partition is first used after a
// restart or a leadership move; acquisitions are written too (their delivery counts), so a crash
// cannot reset them. What was ACQUIRED when the broker stopped comes back AVAILABLE.
//
// Tributary extensions (group configs): tributary.share.dlq.topic copies a record that is
// rejected or reaches the delivery limit to a dead-letter topic, with headers naming where it
// came from; tributary.share.release.delay.ms keeps a released record unavailable for a while.
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import { isControl, lastOffsetOf, readBatchHeader, splitBatches } from '../../protocol/records/record-batch.js';
import { decodeBatchRecordsAsync } from '../../protocol/records/records.js';
import { buildRecordBatch } from '../../protocol/records/record-batch-builder.js';
import { DeliveryState, type ShareCoordinator, type SharePartitionState, type ShareStateBatch } from '../../coordinator/share-coordinator.js';
import type { SharePersister } from './share-persister.js';
import type { Clock } from '../../common/clock.js';
import type { Partition } from '../partition.js';

/** What the share-partitions need of the broker (Broker fits). */
export interface ShareHost {
  readonly clock: Clock;
  readonly logger: { warn(obj: object, msg: string): void };
  readonly config: { int(name: string): number };
  readonly topics: ReadonlyMap<string, { partitions: readonly unknown[] }>;
  readonly topicsById: ReadonlyMap<string, { name: string }>;
  groupConfig(groupId: string, name: string): string | null;
  leaderPartition(topic: string, index: number): Partition | number;
  partition(topic: string, index: number): Partition | undefined;
  createTopic(name: string, partitions: number, overrides: Record<string, string>): Promise<unknown>;
  /** Appends a batch to a partition another broker leads, through that leader; rejects (KafkaError) on failure. */
  produceToLeader(topic: string, partition: number, batch: Buffer): Promise<void>;
}

export const AckType = { GAP: 0, ACCEPT: 1, RELEASE: 2, REJECT: 3, RENEW: 4 } as const;

/** Headers of a dead-lettered record (Tributary extension). */
export const DLQ_HEADERS = {
  topic: 'tributary.dlq.source.topic',
  partition: 'tributary.dlq.source.partition',
  offset: 'tributary.dlq.source.offset',
  deliveryCount: 'tributary.dlq.delivery.count',
  group: 'tributary.dlq.group',
  reason: 'tributary.dlq.reason',
} as const;

interface InFlight {
  state: number;
  deliveryCount: number;
  memberId: string | null;
  /** Which acquisition holds it (its lock timer checks this). */
  acquisition: number;
  /** AVAILABLE records released with a delay: not acquirable before this time. */
  availableAt: number;
}

export interface AcquiredRange {
  firstOffset: number;
  lastOffset: number;
  deliveryCount: number;
}

export interface AckBatch {
  firstOffset: number;
  lastOffset: number;
  acknowledgeTypes: number[];
}

export interface GroupShareConfig {
  lockDurationMs: number;
  deliveryLimit: number;
  autoOffsetReset: string;
  readCommitted: boolean;
  dlqTopic: string | null;
  releaseDelayMs: number;
  maxRecordLocks: number;
}

export class SharePartition {
  startOffset = 0;
  /** Past the last record ever acquired: new records are read from here. */
  endOffset = 0;
  stateEpoch = 0;
  readonly inflight = new Map<number, InFlight>();
  private acquisitions = 0;
  private readonly timers = new Set<() => void>();
  /** When the lock of each acquisition still armed expires. */
  private readonly lockDeadlines = new Map<number, number>();
  /** Wakes parked ShareFetches when records become available again. */
  readonly waiters = new Set<() => void>();
  /** The last persisted write; writes are chained so the log order is the order of changes. */
  private writing: Promise<number> = Promise.resolve(ErrorCode.NONE);
  /** Serializes acquisitions (a read from the log sits between choosing and taking records). */
  lock: Promise<void> = Promise.resolve();

  constructor(
    readonly groupId: string,
    readonly topic: string,
    readonly topicId: string,
    readonly partition: number,
    private readonly manager: SharePartitions,
  ) {}

  /** Restores a persisted state: what was in flight comes back AVAILABLE, with its delivery count. */
  restore(s: SharePartitionState): void {
    this.stateEpoch = s.stateEpoch;
    this.startOffset = s.startOffset;
    this.endOffset = s.startOffset;
    for (const b of s.stateBatches) {
      for (let o = Math.max(b.firstOffset, s.startOffset); o <= b.lastOffset; o++) {
        const state = b.deliveryState === DeliveryState.ACQUIRED ? DeliveryState.AVAILABLE : b.deliveryState;
        this.inflight.set(o, { state, deliveryCount: b.deliveryCount, memberId: null, acquisition: 0, availableAt: 0 });
      }
      this.endOffset = Math.max(this.endOffset, b.lastOffset + 1);
    }
    this.advance();
  }

  snapshot(leaderEpoch: number): SharePartitionState {
    const batches: ShareStateBatch[] = [];
    for (const o of [...this.inflight.keys()].sort((a, b) => a - b)) {
      const r = this.inflight.get(o)!;
      // Acquired is not a stored state (Kafka's 0, 2, 4): a restart makes it available anyway.
      const state = r.state === DeliveryState.ACQUIRED ? DeliveryState.AVAILABLE : r.state;
      const last = batches[batches.length - 1];
      if (last && last.lastOffset === o - 1 && last.deliveryState === state && last.deliveryCount === r.deliveryCount) last.lastOffset = o;
      else batches.push({ firstOffset: o, lastOffset: o, deliveryState: state, deliveryCount: r.deliveryCount });
    }
    return { stateEpoch: this.stateEpoch, leaderEpoch, startOffset: this.startOffset, stateBatches: batches };
  }

  /** Moves the start offset past acknowledged and archived records (collected in `passed`, when given). */
  advance(passed?: Map<number, InFlight>): void {
    while (this.startOffset < this.endOffset) {
      const r = this.inflight.get(this.startOffset);
      if (r && r.state !== DeliveryState.ACKNOWLEDGED && r.state !== DeliveryState.ARCHIVED) break;
      if (r && passed) passed.set(this.startOffset, r);
      this.inflight.delete(this.startOffset);
      this.startOffset++;
    }
  }

  /**
   * Remembers the records at `offsets` and the start offset as they are now, then applies
   * `change` and moves the start offset. The returned function undoes both (a change whose write
   * failed): the changed records get their old state back, and records the start offset moved
   * past come back as they were.
   */
  tentatively(offsets: number[], change: () => void): () => void {
    const startOffset = this.startOffset;
    const saved = offsets.map((o) => [o, { ...this.inflight.get(o)! }] as const);
    change();
    const passed = new Map<number, InFlight>();
    this.advance(passed);
    return () => {
      this.startOffset = startOffset;
      for (const [o, r] of passed) this.inflight.set(o, r);
      for (const [o, r] of saved) {
        const now = this.inflight.get(o);
        if (now) Object.assign(now, r);
        else this.inflight.set(o, { ...r });
      }
      // Held again: a lock that expired meanwhile (it found them settled) expires now.
      const byAcquisition = new Map<number, number[]>();
      for (const [o, r] of saved) if (r.state === DeliveryState.ACQUIRED) byAcquisition.set(r.acquisition, [...(byAcquisition.get(r.acquisition) ?? []), o]);
      const now = this.manager.clock.now();
      for (const [acquisition, held] of byAcquisition) this.armLock(acquisition, held, Math.max(0, (this.lockDeadlines.get(acquisition) ?? now) - now));
    };
  }

  /** The log's start moved past records still tracked (retention, DeleteRecords). */
  skipTo(logStartOffset: number): void {
    if (logStartOffset <= this.startOffset) return;
    for (const o of [...this.inflight.keys()]) if (o < logStartOffset) this.inflight.delete(o);
    this.startOffset = logStartOffset;
    this.endOffset = Math.max(this.endOffset, logStartOffset);
  }

  acquiredCount(): number {
    let n = 0;
    for (const r of this.inflight.values()) if (r.state === DeliveryState.ACQUIRED) n++;
    return n;
  }

  /** The first offset a fetch may acquire from: an available in-flight record, or the end offset. */
  firstAcquirable(now: number): number {
    for (let o = this.startOffset; o < this.endOffset; o++) {
      const r = this.inflight.get(o);
      if (!r || (r.state === DeliveryState.AVAILABLE && r.availableAt <= now)) return o;
    }
    return this.endOffset;
  }

  newAcquisition(): number {
    return ++this.acquisitions;
  }

  /** Arms the lock of one acquisition: on expiry its records still held become available (or archived). */
  armLock(acquisition: number, offsets: number[], ms: number): void {
    this.lockDeadlines.set(acquisition, this.manager.clock.now() + ms);
    const cancel = this.manager.clock.schedule(ms, () => {
      this.timers.delete(cancel);
      this.lockDeadlines.delete(acquisition);
      const expired = offsets.filter((o) => {
        const r = this.inflight.get(o);
        return r && r.state === DeliveryState.ACQUIRED && r.acquisition === acquisition;
      });
      if (expired.length === 0) return;
      for (const o of expired) this.release(o, 0, 'delivery-count-exceeded')?.();
      void this.afterChange();
    });
    this.timers.add(cancel);
  }

  /**
   * An acquired record goes back: AVAILABLE (after `delayMs`), or ARCHIVED at the delivery limit.
   * Returns what must follow the change once it is durable (a dead-letter copy, the wake-up of a
   * delayed release), or null: the caller runs it at once, or only after its write succeeded.
   */
  release(offset: number, delayMs: number, reason: string): (() => void) | null {
    const r = this.inflight.get(offset);
    if (!r) return null;
    r.memberId = null;
    r.acquisition = 0;
    if (r.deliveryCount >= this.manager.config(this.groupId).deliveryLimit) {
      r.state = DeliveryState.ARCHIVED;
      const count = r.deliveryCount;
      return () => this.manager.deadLetter(this, offset, count, reason);
    }
    r.state = DeliveryState.AVAILABLE;
    r.availableAt = delayMs > 0 ? this.manager.clock.now() + delayMs : 0;
    if (delayMs <= 0) return null;
    return () => {
      const cancel = this.manager.clock.schedule(delayMs, () => {
        this.timers.delete(cancel);
        this.wake();
      });
      this.timers.add(cancel);
    };
  }

  /** After records changed state: moves the start, persists, wakes parked fetches. */
  afterChange(): Promise<number> {
    this.advance();
    const done = this.persist();
    this.wake();
    return done;
  }

  persist(): Promise<number> {
    const next = this.writing.then(() => this.manager.persist(this));
    this.writing = next.catch(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
    return next;
  }

  wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Releases everything `memberId` holds (its share session closed). */
  releaseMember(memberId: string): void {
    let changed = false;
    for (const [o, r] of this.inflight) {
      if (r.state === DeliveryState.ACQUIRED && r.memberId === memberId) {
        this.release(o, 0, 'delivery-count-exceeded')?.();
        changed = true;
      }
    }
    if (changed) void this.afterChange();
  }

  close(): void {
    for (const t of this.timers) t();
    this.timers.clear();
    this.wake();
  }
}

export interface FetchOutcome {
  errorCode: number;
  records: Buffer | null;
  acquired: AcquiredRange[];
}

/** How often, and how far apart, a dead-letter copy is tried while its partition's leader moves. */
const DLQ_ATTEMPTS = 5;
const DLQ_RETRY_MS = 200;
const DLQ_RETRIABLE = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
]);

/** The share-partitions this broker leads, by group and topic partition. */
export class SharePartitions {
  private readonly partitions = new Map<string, SharePartition>();
  private readonly loading = new Map<string, Promise<SharePartition | number>>();

  constructor(
    private readonly broker: ShareHost,
    /** Where share-partition state is read and written: this broker's share coordinator or another's. */
    readonly persister: SharePersister,
  ) {}

  /** This broker's own share coordinator (the __share_group_state partitions it leads). */
  get coordinator(): ShareCoordinator {
    return this.persister.coordinator;
  }

  get clock() {
    return this.broker.clock;
  }

  config(groupId: string): GroupShareConfig {
    const b = this.broker;
    return {
      lockDurationMs: Number(b.groupConfig(groupId, 'share.record.lock.duration.ms')),
      deliveryLimit: Number(b.groupConfig(groupId, 'share.delivery.count.limit')),
      autoOffsetReset: b.groupConfig(groupId, 'share.auto.offset.reset') ?? 'latest',
      readCommitted: b.groupConfig(groupId, 'share.isolation.level') === 'read_committed',
      dlqTopic: b.groupConfig(groupId, 'tributary.share.dlq.topic'),
      releaseDelayMs: Number(b.groupConfig(groupId, 'tributary.share.release.delay.ms') ?? 0),
      maxRecordLocks: b.config.int('group.share.partition.max.record.locks'),
    };
  }

  private key(groupId: string, topicId: string, partition: number): string {
    return `${groupId}\u0000${topicId}\u0000${partition}`;
  }

  /** The share-partitions of a group held here now. */
  ofGroup(groupId: string): SharePartition[] {
    return [...this.partitions.values()].filter((p) => p.groupId === groupId);
  }

  /** The share-partition, loaded from the share coordinator (or initialized) on first use. */
  get(groupId: string, topicId: string, partition: number): Promise<SharePartition | number> {
    const k = this.key(groupId, topicId, partition);
    const existing = this.partitions.get(k);
    if (existing) return Promise.resolve(existing);
    let pending = this.loading.get(k);
    if (!pending) {
      pending = this.load(groupId, topicId, partition).finally(() => this.loading.delete(k));
      this.loading.set(k, pending);
    }
    return pending;
  }

  private async load(groupId: string, topicId: string, index: number): Promise<SharePartition | number> {
    const topic = this.broker.topicsById.get(topicId);
    if (!topic) return ErrorCode.UNKNOWN_TOPIC_ID;
    const p = this.broker.leaderPartition(topic.name, index);
    if (typeof p === 'number') return p;
    const state = await this.persister.read({ groupId, topicId, partition: index }, p.leaderEpoch);
    if (typeof state === 'number') {
      this.broker.logger.warn({ group: groupId, topic: topic.name, partition: index, errorCode: state }, 'cannot read the state of a share-partition');
      if (state === ErrorCode.FENCED_LEADER_EPOCH) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
      return state === ErrorCode.NOT_COORDINATOR || state === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.COORDINATOR_NOT_AVAILABLE : state;
    }
    const sp = new SharePartition(groupId, topic.name, topicId, index, this);
    if (state) {
      sp.restore(state);
    } else {
      const reset = this.config(groupId).autoOffsetReset;
      let start = p.highWatermark;
      if (reset === 'earliest') start = p.logStartOffset;
      else if (reset.startsWith('by_duration:')) {
        const ms = isoDurationMs(reset.slice('by_duration:'.length));
        const found = ms === null ? null : await p.offsetForTimestamp(this.broker.clock.now() - ms);
        start = found ? found.offset : p.highWatermark;
      }
      sp.startOffset = start;
      sp.endOffset = start;
      const code = await this.persister.write({ groupId, topicId, partition: index }, sp.snapshot(p.leaderEpoch));
      if (code !== ErrorCode.NONE) return code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.COORDINATOR_NOT_AVAILABLE : code;
    }
    sp.skipTo(p.logStartOffset);
    const k = this.key(groupId, topicId, index);
    const raced = this.partitions.get(k);
    if (raced) return raced;
    this.partitions.set(k, sp);
    return sp;
  }

  async persist(sp: SharePartition): Promise<number> {
    const p = this.broker.partition(sp.topic, sp.partition);
    const code = await this.persister.write({ groupId: sp.groupId, topicId: sp.topicId, partition: sp.partition }, sp.snapshot(p?.leaderEpoch ?? -1));
    if (code === ErrorCode.FENCED_STATE_EPOCH || code === ErrorCode.FENCED_LEADER_EPOCH) {
      // Someone newer wrote the state (an admin reset, or a newer leader): this copy is stale.
      // It is dropped; the next use reads the state afresh (or finds the partition led elsewhere).
      // The member is told NOT_LEADER_OR_FOLLOWER, as Kafka does: it refreshes and fetches again.
      this.drop((x) => x === sp);
      return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    }
    return code;
  }

  /**
   * Acquires up to `maxRecords` records for `memberId` (whole batches are returned; the acquired
   * ranges say which of their records are the member's). In batch-optimized mode the last batch
   * is taken whole even past `maxRecords`, as Kafka does.
   */
  async acquire(sp: SharePartition, memberId: string, maxRecords: number, maxBytes: number, strict: boolean): Promise<FetchOutcome> {
    const release = await this.serialize(sp);
    try {
      const p = this.broker.leaderPartition(sp.topic, sp.partition);
      if (typeof p === 'number') return { errorCode: p, records: null, acquired: [] };
      const cfg = this.config(sp.groupId);
      sp.skipTo(p.logStartOffset);
      const now = this.broker.clock.now();
      const room = Math.min(maxRecords, cfg.maxRecordLocks - sp.acquiredCount());
      if (room <= 0) return { errorCode: ErrorCode.NONE, records: null, acquired: [] };
      const from = sp.firstAcquirable(now);
      const bound = cfg.readCommitted ? p.lastStableOffset : p.highWatermark;
      if (from >= bound) return { errorCode: ErrorCode.NONE, records: null, acquired: [] };
      const read = await p.read({ fetchOffset: from, maxBytes: Math.max(1, maxBytes), isolation: cfg.readCommitted ? 'read_committed' : 'high_watermark', minOneBatch: true });
      if (!read.records) return { errorCode: ErrorCode.NONE, records: null, acquired: [] };
      const acquisition = sp.newAcquisition();
      const taken: number[] = [];
      const kept: Buffer[] = [];
      let count = 0;
      for (const batch of splitBatches(read.records)) {
        if (count >= room) break;
        const h = readBatchHeader(batch);
        const last = lastOffsetOf(h);
        let took = false;
        for (let o = Math.max(h.baseOffset, sp.startOffset); o <= last; o++) {
          if (strict && count >= room) break;
          if (isControl(h.attributes)) {
            // Markers are never delivered: past the end they are archived at once.
            if (o >= sp.endOffset) {
              sp.inflight.set(o, { state: DeliveryState.ARCHIVED, deliveryCount: 0, memberId: null, acquisition: 0, availableAt: 0 });
              sp.endOffset = o + 1;
            }
            continue;
          }
          let r = sp.inflight.get(o);
          if (o >= sp.endOffset) {
            r = { state: DeliveryState.AVAILABLE, deliveryCount: 0, memberId: null, acquisition: 0, availableAt: 0 };
            sp.inflight.set(o, r);
            sp.endOffset = o + 1;
          }
          if (!r || r.state !== DeliveryState.AVAILABLE || r.availableAt > now) continue;
          r.state = DeliveryState.ACQUIRED;
          r.deliveryCount++;
          r.memberId = memberId;
          r.acquisition = acquisition;
          taken.push(o);
          count++;
          took = true;
        }
        if (took) kept.push(batch);
      }
      if (taken.length === 0) {
        sp.advance();
        return { errorCode: ErrorCode.NONE, records: null, acquired: [] };
      }
      sp.armLock(acquisition, taken, cfg.lockDurationMs);
      // Delivery counts are durable before the records leave: a crash cannot hand them out afresh.
      const code = await sp.persist();
      if (code !== ErrorCode.NONE) {
        for (const o of taken) {
          const r = sp.inflight.get(o)!;
          r.state = DeliveryState.AVAILABLE;
          r.deliveryCount--;
          r.memberId = null;
        }
        return { errorCode: code, records: null, acquired: [] };
      }
      const acquired: AcquiredRange[] = [];
      for (const o of taken) {
        const dc = sp.inflight.get(o)!.deliveryCount;
        const lastRange = acquired[acquired.length - 1];
        if (lastRange && lastRange.lastOffset === o - 1 && lastRange.deliveryCount === dc) lastRange.lastOffset = o;
        else acquired.push({ firstOffset: o, lastOffset: o, deliveryCount: dc });
      }
      return { errorCode: ErrorCode.NONE, records: Buffer.concat(kept), acquired };
    } finally {
      release();
    }
  }

  private async serialize(sp: SharePartition): Promise<() => void> {
    const prev = sp.lock;
    let done!: () => void;
    sp.lock = new Promise<void>((r) => (done = r));
    await prev;
    return done;
  }

  /**
   * Applies a member's acknowledgements to one share-partition: NONE once they are persisted,
   * INVALID_RECORD_STATE when a record is not acquired by the member (nothing is applied then),
   * INVALID_REQUEST for a malformed batch.
   */
  async acknowledge(sp: SharePartition, memberId: string, batches: AckBatch[], renewAllowed = true): Promise<number> {
    // Serialized with acquisitions: a change and its write are not interleaved with another's.
    const unlock = await this.serialize(sp);
    try {
      return await this.acknowledgeLocked(sp, memberId, batches, renewAllowed);
    } finally {
      unlock();
    }
  }

  private async acknowledgeLocked(sp: SharePartition, memberId: string, batches: AckBatch[], renewAllowed: boolean): Promise<number> {
    const cfg = this.config(sp.groupId);
    const changes: { offset: number; type: number }[] = [];
    for (const b of batches) {
      if (b.lastOffset < b.firstOffset) return ErrorCode.INVALID_REQUEST;
      // Outside the in-flight window nothing can be acquired (and a huge range costs nothing).
      if (b.firstOffset < sp.startOffset || b.lastOffset >= sp.endOffset) return ErrorCode.INVALID_RECORD_STATE;
      const n = b.lastOffset - b.firstOffset + 1;
      if (b.acknowledgeTypes.length !== 1 && b.acknowledgeTypes.length !== n) return ErrorCode.INVALID_REQUEST;
      for (let i = 0; i < n; i++) {
        const type = b.acknowledgeTypes.length === 1 ? b.acknowledgeTypes[0]! : b.acknowledgeTypes[i]!;
        if (type < AckType.GAP || type > (renewAllowed ? AckType.RENEW : AckType.REJECT)) return ErrorCode.INVALID_REQUEST;
        const o = b.firstOffset + i;
        const r = sp.inflight.get(o);
        if (!r || r.state !== DeliveryState.ACQUIRED || r.memberId !== memberId) return ErrorCode.INVALID_RECORD_STATE;
        changes.push({ offset: o, type });
      }
    }
    const renewed = changes.filter((c) => c.type === AckType.RENEW).map((c) => c.offset);
    const settled = changes.filter((c) => c.type !== AckType.RENEW);
    if (settled.length > 0) {
      // The change takes effect only once it is written: a failed write undoes it, as Kafka rolls
      // its in-flight state transitions back, and what follows a change (dead-letter copies,
      // delayed releases, renewed locks, woken fetches) happens only after a successful one.
      const effects: (() => void)[] = [];
      const undo = sp.tentatively(
        settled.map((c) => c.offset),
        () => {
          for (const { offset, type } of settled) {
            const r = sp.inflight.get(offset)!;
            if (type === AckType.RELEASE) {
              const after = sp.release(offset, cfg.releaseDelayMs, 'delivery-count-exceeded');
              if (after) effects.push(after);
              continue;
            }
            r.state = type === AckType.ACCEPT ? DeliveryState.ACKNOWLEDGED : DeliveryState.ARCHIVED;
            r.memberId = null;
            if (type === AckType.REJECT) {
              const count = r.deliveryCount;
              effects.push(() => this.deadLetter(sp, offset, count, 'rejected'));
            }
          }
        },
      );
      const code = await sp.persist();
      if (code !== ErrorCode.NONE) {
        undo();
        return persistError(code);
      }
      for (const e of effects) e();
      sp.wake();
    }
    // A renewal changes nothing that is stored (a held record is written as available): a new lock.
    if (renewed.length > 0) {
      const acquisition = sp.newAcquisition();
      for (const o of renewed) sp.inflight.get(o)!.acquisition = acquisition;
      sp.armLock(acquisition, renewed, cfg.lockDurationMs);
    }
    return ErrorCode.NONE;
  }

  /**
   * Tributary extension: copies a record that is archived for good (rejected, or over the
   * delivery limit) to the group's dead-letter topic, when it has one. Best effort and
   * asynchronous: the record is archived whatever happens here (a failure is logged).
   */
  deadLetter(sp: SharePartition, offset: number, deliveryCount: number, reason: string): void {
    const dlq = this.config(sp.groupId).dlqTopic;
    if (!dlq) return;
    void this.copyToDlq(sp, dlq, offset, deliveryCount, reason).catch((err: unknown) =>
      this.broker.logger.warn({ err, group: sp.groupId, topic: sp.topic, partition: sp.partition, offset, dlq }, 'could not dead-letter a share group record'),
    );
  }

  private async copyToDlq(sp: SharePartition, dlq: string, offset: number, deliveryCount: number, reason: string): Promise<void> {
    const src = this.broker.partition(sp.topic, sp.partition);
    if (!src) throw new Error('source partition is gone');
    const read = await src.read({ fetchOffset: offset, maxBytes: 1, isolation: 'high_watermark', minOneBatch: true });
    let record: { key: Buffer | null; value: Buffer | null; headers: { key: string; value: Buffer | null }[]; timestamp: number } | undefined;
    for (const batch of read.records ? splitBatches(read.records) : []) {
      const found = (await decodeBatchRecordsAsync(batch)).find((r) => r.offset === offset);
      if (found) {
        record = found;
        break;
      }
    }
    if (!record) throw new Error(`record ${offset} is no longer in the log`);
    let topic = this.broker.topics.get(dlq);
    if (!topic) {
      await this.broker.createTopic(dlq, 1, {}).catch(() => undefined);
      topic = this.broker.topics.get(dlq);
      if (!topic) throw new Error(`cannot create dead-letter topic ${dlq}`);
    }
    const index = sp.partition % topic.partitions.length;
    const headers = [
      ...record.headers.map((h) => ({ key: h.key, value: h.value ?? undefined })),
      { key: DLQ_HEADERS.topic, value: sp.topic },
      { key: DLQ_HEADERS.partition, value: String(sp.partition) },
      { key: DLQ_HEADERS.offset, value: String(offset) },
      { key: DLQ_HEADERS.deliveryCount, value: String(deliveryCount) },
      { key: DLQ_HEADERS.group, value: sp.groupId },
      { key: DLQ_HEADERS.reason, value: reason },
    ];
    const batch = buildRecordBatch([{ key: record.key ?? undefined, value: record.value ?? undefined, headers, timestamp: record.timestamp }], {
      baseTimestamp: this.broker.clock.now(),
    });
    // Written where the dead-letter partition is led: here, or through its leader on a cluster.
    // A leader that is moving (a new topic's first election, a failover) is waited for a little.
    for (let attempt = 1; ; attempt++) {
      const target = this.broker.leaderPartition(dlq, index);
      try {
        if (typeof target === 'number') await this.broker.produceToLeader(dlq, index, batch);
        else await target.append(batch).done;
        return;
      } catch (err) {
        const code = err instanceof KafkaError ? err.code : ErrorCode.UNKNOWN_SERVER_ERROR;
        if (attempt >= DLQ_ATTEMPTS || !DLQ_RETRIABLE.has(code)) throw err;
      }
      await new Promise<void>((resolve) => this.broker.clock.schedule(DLQ_RETRY_MS, resolve));
    }
  }

  /** A member's share session closed: what it holds is released at once. */
  releaseMember(groupId: string, memberId: string, only?: Set<string>): void {
    for (const sp of this.partitions.values()) {
      if (sp.groupId !== groupId) continue;
      if (only && !only.has(`${sp.topicId}:${sp.partition}`)) continue;
      sp.releaseMember(memberId);
    }
  }

  /** Drops share-partitions of partitions no longer led here, or of a deleted group. */
  drop(filter: (sp: SharePartition) => boolean): void {
    for (const [k, sp] of [...this.partitions]) {
      if (!filter(sp)) continue;
      sp.close();
      this.partitions.delete(k);
    }
  }

  /** Drops the share-partitions whose topic partition this broker no longer leads. */
  dropUnled(): void {
    this.drop((sp) => typeof this.broker.leaderPartition(sp.topic, sp.partition) === 'number');
  }

  shutdown(): void {
    this.drop(() => true);
    this.persister.coordinator.shutdown();
  }
}

/**
 * The error a member gets for a share-state write that failed, as Kafka's share-partition maps
 * its persister's errors: the coordinator moving is COORDINATOR_NOT_AVAILABLE; unknown ones are
 * UNKNOWN_SERVER_ERROR.
 */
export function persistError(code: number): number {
  switch (code) {
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.GROUP_ID_NOT_FOUND:
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.FENCED_STATE_EPOCH:
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
      return code;
    case ErrorCode.FENCED_LEADER_EPOCH:
      return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    default:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
  }
}

/** An ISO-8601 duration (PnDTnHnMnS) in ms, or null. */
export function isoDurationMs(s: string): number | null {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(s);
  if (!m) return null;
  const [, d, h, min, sec] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Number(sec ?? 0) * 1000;
}
