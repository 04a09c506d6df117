// The state of one transactional id and the only place its transitions are decided. A
// transition is prepared (checked, marked pending so concurrent requests get
// CONCURRENT_TRANSACTIONS), written to __transaction_state, and only then applied to memory:
// what the coordinator answers is always what a restart would rebuild.
import type { TxnLogValue, TxnState } from './transaction-records.js';

export type { TxnState } from './transaction-records.js';

/**
 * Which states each state may be entered from (Kafka's transaction state machine). Transactions
 * V2 may abort a transaction the coordinator saw no partition of (the client's first produce
 * failed before the implicit add), so PrepareAbort follows Empty and Complete* too.
 */
const ALLOWED_FROM: Record<TxnState, readonly TxnState[]> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing', 'PrepareEpochFence', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
  Dead: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareEpochFence: ['Ongoing'],
};

export const ALL_TXN_STATES = Object.keys(ALLOWED_FROM) as TxnState[];

/** Producer epochs are int16; the last usable one leaves room for the fencing bump. */
export const MAX_PRODUCER_EPOCH = 32766;

/** Whether no epoch is left to hand a client after `epoch` (Kafka's isEpochExhausted). */
export function isEpochExhausted(epoch: number): boolean {
  return epoch >= MAX_PRODUCER_EPOCH;
}

export function isCompleteOrEmpty(state: TxnState): boolean {
  return state === 'Empty' || state === 'CompleteCommit' || state === 'CompleteAbort';
}

export class TransactionMetadata {
  // Assigned by apply(), from the constructor on.
  producerId!: number;
  producerEpoch!: number;
  timeoutMs!: number;
  state!: TxnState;
  /** topic → partitions in the transaction (until its markers are written). */
  partitions!: Map<string, Set<number>>;
  startTimestamp!: number;
  lastUpdateTimestamp!: number;
  previousProducerId!: number;
  nextProducerId!: number;
  /** 2 once the client runs this transactional id with transactions V2, else 0. */
  clientTransactionVersion!: number;
  /**
   * The epoch the client held before the last bump by EndTxn (V2), so a retried EndTxn is
   * recognised; kept in memory only, as Kafka does (-1 when unknown).
   */
  lastProducerEpoch = -1;
  /** The state being written, or null when no write is in flight. */
  pending: TxnState | null = null;

  constructor(
    readonly transactionalId: string,
    v: TxnLogValue,
  ) {
    this.apply(v);
  }

  hasPartition(topic: string, partition: number): boolean {
    return this.partitions.get(topic)?.has(partition) ?? false;
  }

  partitionCount(): number {
    let n = 0;
    for (const ps of this.partitions.values()) n += ps.size;
    return n;
  }

  /** The persisted form of the current state. */
  value(): TxnLogValue {
    return {
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      timeoutMs: this.timeoutMs,
      state: this.state,
      partitions: new Map([...this.partitions].map(([t, ps]) => [t, [...ps].sort((a, b) => a - b)])),
      lastUpdateTimestamp: this.lastUpdateTimestamp,
      startTimestamp: this.startTimestamp,
      previousProducerId: this.previousProducerId,
      nextProducerId: this.nextProducerId,
      clientTransactionVersion: this.clientTransactionVersion,
    };
  }

  /**
   * Checks a transition and marks it pending; returns the value to write. Throws on a
   * transition the state machine forbids (a coordinator bug, never a client error: handlers
   * check the state first and answer with Kafka's error code).
   */
  prepare(target: TxnState, changes: Partial<Omit<TxnLogValue, 'state'>>, now: number): TxnLogValue {
    if (this.pending !== null) throw new Error(`transaction ${this.transactionalId} already moving to ${this.pending}`);
    if (!ALLOWED_FROM[target].includes(this.state)) {
      throw new Error(`transaction ${this.transactionalId}: ${this.state} → ${target} is not a valid transition`);
    }
    this.pending = target;
    // previousProducerId is the id before this transition, as Kafka records it.
    return { ...this.value(), previousProducerId: this.producerId, ...changes, state: target, lastUpdateTimestamp: now };
  }

  /** Applies a prepared transition once it is in the log. */
  apply(v: TxnLogValue): void {
    this.producerId = v.producerId;
    this.producerEpoch = v.producerEpoch;
    this.timeoutMs = v.timeoutMs;
    this.state = v.state;
    this.partitions = new Map([...v.partitions].map(([t, ps]) => [t, new Set(ps)]));
    this.startTimestamp = v.startTimestamp;
    this.lastUpdateTimestamp = v.lastUpdateTimestamp;
    this.previousProducerId = v.previousProducerId;
    this.nextProducerId = v.nextProducerId;
    this.clientTransactionVersion = v.clientTransactionVersion;
    this.pending = null;
  }

  /** Forgets a prepared transition whose write failed. */
  cancel(): void {
    this.pending = null;
  }
}
