// The transaction coordinator: the transactional ids of every __transaction_state partition
// (all of them on a single node). It hands out producer ids and epochs (fencing zombies),
// records which partitions each transaction touches, decides commit or abort, has the markers
// written to those partitions, aborts transactions that outlive their timeout, and after a
// restart finishes what a crash interrupted. State transitions are decided in
// transaction-state.ts; this file sequences them and keeps the protocol handlers thin.
import { ErrorCode } from '../protocol/errors.js';
import type { Clock } from '../common/clock.js';
import type { CoordinatorLogger } from './group-coordinator.js';
import type { CoordinatorRecord } from './records.js';
import { decodeTxnKey, decodeTxnValue, encodeTxnKey, encodeTxnValue, partitionForTransactionalId, type TxnLogValue } from './transaction-records.js';
import { isCompleteOrEmpty, MAX_PRODUCER_EPOCH, TransactionMetadata, type TxnState } from './transaction-state.js';

export interface TxnStore {
  /** Appends to one __transaction_state partition; resolves once the records are in the log. */
  append(partition: number, records: CoordinatorRecord[]): Promise<void>;
  /** Creates __transaction_state if needed. */
  ensureReady(): Promise<void>;
}

export interface MarkerRequest {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  partitions: ReadonlyMap<string, ReadonlySet<number>>;
}

export interface TransactionCoordinatorOptions {
  numPartitions: () => number;
  store: TxnStore;
  clock: Clock;
  nextProducerId(): Promise<number>;
  /**
   * Writes COMMIT/ABORT markers to every partition of a transaction. Rejects when a marker could
   * not be written for a reason worth retrying (the disk); partitions that are gone are skipped.
   */
  writeMarkers(request: MarkerRequest): Promise<void>;
  partitionExists(topic: string, partition: number): boolean;
  maxTimeoutMs: number;
  transactionalIdExpirationMs: number;
  logger?: CoordinatorLogger;
}

export interface ProducerIdAndEpoch {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export interface TopicPartitions {
  name: string;
  partitions: number[];
}

export interface PartitionCodes {
  name: string;
  results: { partition: number; errorCode: number }[];
}

export interface TransactionDescription {
  transactionalId: string;
  errorCode: number;
  state: string;
  timeoutMs: number;
  startTimestamp: number;
  producerId: number;
  producerEpoch: number;
  topics: { topic: string; partitions: number[] }[];
}

export interface TransactionListing {
  transactionalId: string;
  producerId: number;
  state: TxnState;
}

/** Backoff between attempts to write the markers of a decided transaction. */
const MARKER_RETRY_MS = 1000;
/** How long EndTxn waits for the markers before answering with the (durable) decision alone. */
const END_TXN_WAIT_MS = 10_000;

function failed(code: number): ProducerIdAndEpoch {
  return { errorCode: code, producerId: -1, producerEpoch: -1 };
}

export class TransactionCoordinator {
  readonly transactions = new Map<string, TransactionMetadata>();
  private stopped = false;
  private timers: NodeJS.Timeout[] = [];
  /** Completions under way (markers being written), so shutdown and tests can wait for them. */
  private readonly completing = new Set<Promise<void>>();

  constructor(readonly opts: TransactionCoordinatorOptions) {}

  partitionFor(transactionalId: string): number {
    return partitionForTransactionalId(transactionalId, this.opts.numPartitions());
  }

  private async write(md: TransactionMetadata, value: TxnLogValue): Promise<boolean> {
    try {
      await this.opts.store.append(this.partitionFor(md.transactionalId), [
        { key: encodeTxnKey(md.transactionalId), value: value.state === 'Dead' ? null : encodeTxnValue(value) },
      ]);
    } catch (err) {
      md.cancel();
      this.opts.logger?.error({ err, transactionalId: md.transactionalId, state: value.state }, 'writing transaction state failed');
      return false;
    }
    md.apply(value);
    return true;
  }

  // --- InitProducerId --------------------------------------------------------------------------

  async initProducerId(transactionalId: string, timeoutMs: number, expectedProducerId = -1, expectedEpoch = -1): Promise<ProducerIdAndEpoch> {
    if (this.stopped) return failed(ErrorCode.NOT_COORDINATOR);
    if (transactionalId === '') return failed(ErrorCode.INVALID_REQUEST);
    if (timeoutMs <= 0 || timeoutMs > this.opts.maxTimeoutMs) return failed(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    try {
      await this.opts.store.ensureReady();
    } catch (err) {
      this.opts.logger?.error({ err }, 'cannot prepare __transaction_state');
      return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    }
    const now = this.opts.clock.now();
    let md = this.transactions.get(transactionalId);
    if (!md) {
      // Reserved before the id allocation awaits, so a concurrent InitProducerId waits its turn.
      md = new TransactionMetadata(transactionalId, {
        producerId: -1,
        producerEpoch: -1,
        timeoutMs,
        state: 'Empty',
        partitions: new Map(),
        lastUpdateTimestamp: now,
        startTimestamp: -1,
      });
      md.pending = 'Empty';
      this.transactions.set(transactionalId, md);
      let producerId: number;
      try {
        producerId = await this.opts.nextProducerId();
      } catch (err) {
        this.transactions.delete(transactionalId);
        this.opts.logger?.error({ err }, 'cannot allocate a producer id');
        return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
      md.pending = null;
      const value = md.prepare('Empty', { producerId, producerEpoch: 0, timeoutMs }, now);
      if (!(await this.write(md, value))) {
        this.transactions.delete(transactionalId);
        return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
      return { errorCode: ErrorCode.NONE, producerId: md.producerId, producerEpoch: md.producerEpoch };
    }
    if (md.pending !== null) return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
    // v3+: a producer resuming after INVALID_PRODUCER_EPOCH names the id and epoch it had; any
    // other owner of the transactional id has fenced it since.
    if (expectedProducerId >= 0 && (expectedProducerId !== md.producerId || expectedEpoch !== md.producerEpoch)) {
      return failed(ErrorCode.PRODUCER_FENCED);
    }
    switch (md.state) {
      case 'PrepareCommit':
      case 'PrepareAbort':
      case 'PrepareEpochFence':
        return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Ongoing':
        // A new producer instance took over: abort the old one's transaction under a bumped
        // epoch (fencing it), and let the client retry once the markers are written.
        void this.track(this.fenceAndAbort(md, 'a new producer with the same transactional id started'));
        return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Dead':
        return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
      default: {
        let producerId = md.producerId;
        let producerEpoch = md.producerEpoch + 1;
        if (md.producerEpoch >= MAX_PRODUCER_EPOCH) {
          md.pending = 'Empty';
          try {
            producerId = await this.opts.nextProducerId();
          } finally {
            md.pending = null;
          }
          producerEpoch = 0;
        }
        const value = md.prepare('Empty', { producerId, producerEpoch, timeoutMs, partitions: new Map(), startTimestamp: -1 }, now);
        if (!(await this.write(md, value))) return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        return { errorCode: ErrorCode.NONE, producerId: md.producerId, producerEpoch: md.producerEpoch };
      }
    }
  }

  // --- partitions and offsets -------------------------------------------------------------------

  /** Why a request of producer (id, epoch) may not act on the transaction, or NONE. */
  private checkProducer(md: TransactionMetadata | undefined, producerId: number, producerEpoch: number): number {
    if (!md || md.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch !== md.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (md.pending !== null || md.state === 'PrepareCommit' || md.state === 'PrepareAbort' || md.state === 'PrepareEpochFence') {
      return ErrorCode.CONCURRENT_TRANSACTIONS;
    }
    if (md.state === 'Dead') return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    return ErrorCode.NONE;
  }

  /** AddPartitionsToTxn (and AddOffsetsToTxn, which adds a __consumer_offsets partition). */
  async addPartitions(transactionalId: string, producerId: number, producerEpoch: number, topics: TopicPartitions[]): Promise<PartitionCodes[]> {
    const all = (code: number): PartitionCodes[] => topics.map((t) => ({ name: t.name, results: t.partitions.map((partition) => ({ partition, errorCode: code })) }));
    if (this.stopped) return all(ErrorCode.NOT_COORDINATOR);
    const md = this.transactions.get(transactionalId);
    const code = this.checkProducer(md, producerId, producerEpoch);
    if (code !== ErrorCode.NONE) return all(code);
    const unknown = topics.some((t) => t.partitions.some((p) => !this.opts.partitionExists(t.name, p)));
    if (unknown) {
      return topics.map((t) => ({
        name: t.name,
        results: t.partitions.map((partition) => ({
          partition,
          errorCode: this.opts.partitionExists(t.name, partition) ? ErrorCode.OPERATION_NOT_ATTEMPTED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        })),
      }));
    }
    const txn = md!;
    const now = this.opts.clock.now();
    const alreadyIn = txn.state === 'Ongoing' && topics.every((t) => t.partitions.every((p) => txn.hasPartition(t.name, p)));
    if (alreadyIn) return all(ErrorCode.NONE);
    const partitions = txn.value().partitions;
    for (const t of topics) partitions.set(t.name, [...new Set([...(partitions.get(t.name) ?? []), ...t.partitions])]);
    const startTimestamp = txn.state === 'Ongoing' ? txn.startTimestamp : now;
    const value = txn.prepare('Ongoing', { partitions, startTimestamp }, now);
    return all((await this.write(txn, value)) ? ErrorCode.NONE : ErrorCode.COORDINATOR_NOT_AVAILABLE);
  }

  /**
   * KIP-890 verification: may producer (id, epoch) write transactional data to this partition
   * now? Only if the partition was added to its ongoing transaction.
   */
  verifyPartition(transactionalId: string, producerId: number, producerEpoch: number, topic: string, partition: number): number {
    if (this.stopped) return ErrorCode.NOT_COORDINATOR;
    const md = this.transactions.get(transactionalId);
    if (!md || md.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch < md.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (producerEpoch > md.producerEpoch || md.state !== 'Ongoing' || !md.hasPartition(topic, partition)) return ErrorCode.INVALID_TXN_STATE;
    return ErrorCode.NONE;
  }

  // --- EndTxn -----------------------------------------------------------------------------------

  async endTransaction(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    if (this.stopped) return ErrorCode.NOT_COORDINATOR;
    const md = this.transactions.get(transactionalId);
    if (!md || md.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch !== md.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (md.pending !== null) return ErrorCode.CONCURRENT_TRANSACTIONS;
    switch (md.state) {
      case 'Ongoing':
        break;
      // A retried EndTxn whose first attempt went through gets the same answer again.
      case 'CompleteCommit':
        return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
      case 'CompleteAbort':
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE;
      case 'PrepareCommit':
        return commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE;
      case 'PrepareAbort':
        return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS;
      default:
        return ErrorCode.INVALID_TXN_STATE;
    }
    const now = this.opts.clock.now();
    const value = md.prepare(commit ? 'PrepareCommit' : 'PrepareAbort', {}, now);
    // The Prepare record is the decision: once it is in the log the outcome survives a crash.
    if (!(await this.write(md, value))) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    // Answer once the markers are written, so the client's next transaction starts cleanly; if the
    // disk keeps refusing them, answer anyway after a while: the decision is durable and the
    // completion goes on in the background.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.track(this.complete(md)), new Promise((resolve) => (timer = setTimeout(resolve, END_TXN_WAIT_MS)))]);
    clearTimeout(timer);
    return ErrorCode.NONE;
  }

  /**
   * Writes the markers of a decided transaction (state PrepareCommit/PrepareAbort), then its
   * Complete state. Retries until it succeeds or the coordinator stops: a decided transaction
   * must reach every partition.
   */
  private async complete(md: TransactionMetadata): Promise<void> {
    const commit = md.state === 'PrepareCommit';
    for (;;) {
      if (this.stopped) return;
      try {
        if (md.partitions.size > 0) {
          await this.opts.writeMarkers({ producerId: md.producerId, producerEpoch: md.producerEpoch, commit, partitions: md.partitions });
        }
        const value = md.prepare(commit ? 'CompleteCommit' : 'CompleteAbort', { partitions: new Map() }, this.opts.clock.now());
        if (await this.write(md, value)) return;
      } catch (err) {
        this.opts.logger?.error({ err, transactionalId: md.transactionalId }, 'writing transaction markers failed; retrying');
      }
      await new Promise((resolve) => setTimeout(resolve, MARKER_RETRY_MS));
    }
  }

  /** Aborts an ongoing transaction under epoch + 1, so its producer can no longer write. */
  private async fenceAndAbort(md: TransactionMetadata, why: string): Promise<void> {
    if (md.state !== 'Ongoing' || md.pending !== null) return;
    const now = this.opts.clock.now();
    // At the last epoch there is nothing to bump to; the abort still fences through the markers.
    const producerEpoch = md.producerEpoch < MAX_PRODUCER_EPOCH ? md.producerEpoch + 1 : md.producerEpoch;
    const value = md.prepare('PrepareAbort', { producerEpoch }, now);
    this.opts.logger?.info({ transactionalId: md.transactionalId, producerId: md.producerId, producerEpoch }, `aborting transaction: ${why}`);
    if (!(await this.write(md, value))) return;
    await this.complete(md);
  }

  /** Keeps `work` for idle() and logs its failure; the promise returned never rejects. */
  private track(work: Promise<void>): Promise<void> {
    const tracked = work.catch((err: unknown) => this.opts.logger?.error({ err }, 'transaction completion failed'));
    this.completing.add(tracked);
    void tracked.finally(() => this.completing.delete(tracked));
    return tracked;
  }

  /** Resolves once every completion started so far has finished. */
  async idle(): Promise<void> {
    while (this.completing.size > 0) await Promise.all([...this.completing]);
  }

  // --- timeouts and expiry ----------------------------------------------------------------------

  /** Aborts every ongoing transaction older than its timeout (Kafka bumps the epoch too). */
  abortTimedOut(now = this.opts.clock.now()): void {
    for (const md of this.transactions.values()) {
      if (md.state === 'Ongoing' && md.pending === null && md.startTimestamp >= 0 && now - md.startTimestamp > md.timeoutMs) {
        void this.track(this.fenceAndAbort(md, `timed out after ${md.timeoutMs} ms`));
      }
    }
  }

  /** Forgets transactional ids idle for transactional.id.expiration.ms (tombstones them). */
  async expireTransactionalIds(now = this.opts.clock.now()): Promise<void> {
    const work: Promise<boolean>[] = [];
    for (const md of [...this.transactions.values()]) {
      if (md.pending !== null || !isCompleteOrEmpty(md.state)) continue;
      if (now - md.lastUpdateTimestamp < this.opts.transactionalIdExpirationMs) continue;
      const value = md.prepare('Dead', {}, now);
      work.push(
        this.write(md, value).then((ok) => {
          if (ok && this.transactions.get(md.transactionalId) === md) this.transactions.delete(md.transactionalId);
          return ok;
        }),
      );
    }
    await Promise.all(work);
  }

  startTimers(abortIntervalMs: number, expiryIntervalMs: number): void {
    const every = (ms: number, fn: () => unknown) => {
      const t = setInterval(() => {
        try {
          const r = fn();
          if (r instanceof Promise) r.catch((err: unknown) => this.opts.logger?.error({ err }, 'transaction housekeeping failed'));
        } catch (err) {
          this.opts.logger?.error({ err }, 'transaction housekeeping failed');
        }
      }, ms);
      t.unref();
      this.timers.push(t);
    };
    every(abortIntervalMs, () => this.abortTimedOut());
    every(expiryIntervalMs, () => this.expireTransactionalIds());
  }

  // --- load -------------------------------------------------------------------------------------

  /** Applies one record read back from __transaction_state (in log order). */
  replayRecord(key: Buffer | null, value: Buffer | null): void {
    if (!key) return;
    const id = decodeTxnKey(key);
    if (id === null) return;
    if (value === null) {
      this.transactions.delete(id);
      return;
    }
    const v = decodeTxnValue(value);
    if (v) this.transactions.set(id, new TransactionMetadata(id, v));
  }

  /**
   * After replay: a transaction caught between its decision and its Complete record is
   * finished now (markers are idempotent for the reader, so writing them twice is harmless).
   * Ongoing ones are left to their timeout, as in Kafka.
   */
  finishLoading(): void {
    for (const md of this.transactions.values()) {
      if (md.state === 'PrepareCommit' || md.state === 'PrepareAbort') void this.track(this.complete(md));
    }
  }

  // --- admin ------------------------------------------------------------------------------------

  describe(transactionalId: string): TransactionDescription {
    const md = this.transactions.get(transactionalId);
    if (this.stopped || !md) {
      return {
        transactionalId,
        errorCode: this.stopped ? ErrorCode.NOT_COORDINATOR : ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
        state: '',
        timeoutMs: 0,
        startTimestamp: -1,
        producerId: -1,
        producerEpoch: -1,
        topics: [],
      };
    }
    return {
      transactionalId,
      errorCode: ErrorCode.NONE,
      state: md.state,
      timeoutMs: md.timeoutMs,
      startTimestamp: md.startTimestamp,
      producerId: md.producerId,
      producerEpoch: md.producerEpoch,
      topics: [...md.partitions].map(([topic, ps]) => ({ topic, partitions: [...ps].sort((a, b) => a - b) })),
    };
  }

  /** ListTransactions: filters are ANDed; an empty filter matches everything. */
  list(states: readonly string[], producerIds: readonly number[], minDurationMs = -1, now = this.opts.clock.now()): TransactionListing[] {
    const out: TransactionListing[] = [];
    for (const md of this.transactions.values()) {
      if (states.length > 0 && !states.includes(md.state)) continue;
      if (producerIds.length > 0 && !producerIds.includes(md.producerId)) continue;
      if (minDurationMs >= 0 && (md.startTimestamp < 0 || now - md.startTimestamp < minDurationMs)) continue;
      out.push({ transactionalId: md.transactionalId, producerId: md.producerId, state: md.state });
    }
    return out;
  }

  /** Resolves once the coordinator can take requests (its internal topic exists). */
  async ready(): Promise<void> {
    if (this.stopped) throw new Error('transaction coordinator is stopped');
    await this.opts.store.ensureReady();
  }

  shutdown(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
  }
}
