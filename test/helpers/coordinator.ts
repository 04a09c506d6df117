// An in-process group coordinator for tests: an in-memory __consumer_offsets whose writes a test
// can fail or hold, and the options the coordinator tests share (a manual clock, no initial
// rebalance delay, session timeouts of 1 to 60 s, consumer groups over a list of topics).
import assert from 'node:assert/strict';
import { GroupCoordinator, type CoordinatorStore, type GroupCoordinatorOptions } from '../../src/coordinator/group-coordinator.js';
import type { JoinResult } from '../../src/coordinator/group.js';
import { ManualClock } from '../../src/common/clock.js';
import type { CoordinatorRecord } from '../../src/coordinator/records.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { classicJoinRequest } from './requests.js';

/** One append a test holds (`MemoryStore.held`): it stores and resolves, or rejects. */
export interface HeldAppend {
  release(): void;
  fail(err: Error): void;
}

/** __consumer_offsets in memory. */
export class MemoryStore implements CoordinatorStore {
  /** Every record stored, in the order of the log. */
  readonly records: CoordinatorRecord[] = [];
  /** The records of each stored append. */
  readonly batches: CoordinatorRecord[][] = [];
  /** The records stored in each __consumer_offsets partition. */
  readonly partitions = new Map<number, CoordinatorRecord[]>();
  /** Set: every append fails with this error (a write the log refused). */
  failWith: Error | null = null;
  /** Set: appends wait until released (stored, resolved) or failed (rejected) by the test. */
  held: HeldAppend[] | null = null;
  /** How many appends were asked for (held and failed ones too). */
  appends = 0;

  append(partition: number, records: CoordinatorRecord[]): Promise<void> {
    this.appends++;
    if (this.held) {
      const held = this.held;
      return new Promise<void>((resolve, reject) =>
        held.push({
          release: () => {
            this.keep(partition, records);
            resolve();
          },
          fail: reject,
        }),
      );
    }
    if (this.failWith) return Promise.reject(this.failWith);
    this.keep(partition, records);
    return Promise.resolve();
  }

  private keep(partition: number, records: CoordinatorRecord[]): void {
    this.records.push(...records);
    this.batches.push(records);
    const list = this.partitions.get(partition) ?? [];
    list.push(...records);
    this.partitions.set(partition, list);
  }
}

/** A topic as the coordinator's lookups see it. */
export interface TopicSpec {
  id: string;
  name: string;
  numPartitions: number;
}

type ConsumerOptions = NonNullable<GroupCoordinatorOptions['consumer']>;

/** The consumer groups' topic lookup over a list of topics. */
export function topicLookup(topics: readonly TopicSpec[]): ConsumerOptions['topics'] {
  return {
    byName: (name) => topics.find((t) => t.name === name),
    byId: (id) => topics.find((t) => t.id === id),
    names: () => topics.map((t) => t.name),
  };
}

/** Member ids `${clientId}-1`, `${clientId}-2`, ... in the order they are handed out. */
export function countedMemberIds(): (clientId: string) => string {
  let n = 0;
  return (clientId) => `${clientId}-${++n}`;
}

export interface CoordinatorFixtureOptions extends Partial<Omit<GroupCoordinatorOptions, 'clock' | 'store' | 'consumer'>> {
  clock?: ManualClock;
  store?: MemoryStore;
  /** The topics that exist: what commits may name (`partitionExists`) and what consumer groups see. */
  topics?: readonly TopicSpec[];
  /**
   * KIP-848 consumer groups over `topics`, these options over the defaults (heartbeats every
   * second, 10 s sessions, the uniform and range assignors, 10 members); none when absent.
   */
  consumer?: Partial<ConsumerOptions>;
}

/**
 * A group coordinator with a manual clock at 1,000,000 ms and an in-memory store: 5 partitions
 * of __consumer_offsets, no initial rebalance delay, sessions of 1 to 60 s, offsets kept 60 s,
 * metadata of at most 100 bytes; every other option and each of these can be given.
 */
export function coordinatorFixture(opts: CoordinatorFixtureOptions = {}): { clock: ManualClock; store: MemoryStore; coordinator: GroupCoordinator } {
  const { clock = new ManualClock(1_000_000), store = new MemoryStore(), topics = [], consumer, ...over } = opts;
  const coordinator = new GroupCoordinator({
    numPartitions: 5,
    clock,
    store,
    initialRebalanceDelayMs: 0,
    minSessionTimeoutMs: 1000,
    maxSessionTimeoutMs: 60_000,
    offsetsRetentionMs: 60_000,
    offsetMetadataMaxBytes: 100,
    partitionExists: (topic, partition) => topics.some((t) => t.name === topic && partition >= 0 && partition < t.numPartitions),
    ...(consumer && {
      consumer: { topics: topicLookup(topics), heartbeatIntervalMs: 1000, sessionTimeoutMs: 10_000, assignors: ['uniform', 'range'], maxSize: 10, ...consumer },
    }),
    ...over,
  });
  return { clock, store, coordinator };
}

/**
 * Joins classic group 'g' as a new member, static when `instanceId` is given (a dynamic one
 * answers MEMBER_ID_REQUIRED first, KIP-394): the answer, which must be NONE.
 */
export async function joinClassic(c: GroupCoordinator, instanceId: string | null = null): Promise<JoinResult> {
  let memberId = '';
  if (instanceId === null) {
    const first = await c.join('g', classicJoinRequest(''));
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    memberId = first.memberId;
  }
  const joined = await c.join('g', classicJoinRequest(memberId, { groupInstanceId: instanceId }));
  assert.equal(joined.errorCode, ErrorCode.NONE);
  return joined;
}
