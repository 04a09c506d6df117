// The transaction coordinator: the transactional ids of every __transaction_state partition
// this broker leads (all of them on a single node). It hands out producer ids and epochs
// (fencing zombies), records which partitions each transaction touches, decides commit or abort,
// has the markers written to those partitions (stamped with the coordinator epoch: the
// partition's leader epoch), aborts transactions that outlive their timeout, and when a
// partition's leadership arrives here (a restart, or a move from another broker) finishes what
// the previous coordinator had decided. State transitions are decided in
// transaction-state.ts; this file sequences them and keeps the protocol handlers thin.
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ALL_OWNED, type PartitionOwnership } from './coordinator-partitions.js';
import type { Clock } from '../common/clock.js';
import type { CoordinatorLogger } from './group-coordinator.js';
import type { CoordinatorRecord } from './records.js';
import { decodeTxnKey, decodeTxnValue, encodeTxnKey, encodeTxnValue, partitionForTransactionalId, type TxnLogValue } from './transaction-records.js';
import { isCompleteOrEmpty, isEpochExhausted, MAX_PRODUCER_EPOCH, TransactionMetadata, type TxnState } from './transaction-state.js';
import { groupWriteErrorCode, logWriteFailure } from './write-errors.js';

export interface TxnStore {
  /** Appends to one __transaction_state partition; resolves once the records are in the log. */
  append(partition: number, records: CoordinatorRecord[]): Promise<void>;
  /** Creates __transaction_state if needed; with `partition` led here, waits for its load too. */
  ensureReady(partition?: number): Promise<void>;
}

export interface MarkerRequest {
  producerId: number;
  producerEpoch: number;
  /** The epoch of the coordinator writing them: the leader epoch of the id's partition. */
  coordinatorEpoch: number;
  commit: boolean;
  /** 2 when the markers carry an epoch bumped past the data's (transactions V2, or a fence), else 0. */
  transactionVersion: number;
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
  /** Which __transaction_state partitions this broker coordinates; all of them when absent. */
  ownership?: PartitionOwnership;
  /** Whether __transaction_state exists yet (until it does, no transactional id has state anywhere). */
  storageExists?(): boolean;
  logger?: CoordinatorLogger;
  /** The finalized transaction.version: at 0 the log values are written as v0, as Kafka does. Absent: 2. */
  transactionVersion?(): number;
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

/** What checkOwner answers while the internal topic does not exist yet. */
const UNBORN = -1;

/**
 * What a failed write to __transaction_state answers: Kafka 4.4's TransactionStateManager maps
 * the log's error as the group coordinator does (write-errors.ts: NOT_COORDINATOR when the
 * partition moved or its log directory failed, COORDINATOR_NOT_AVAILABLE for too few replicas or
 * a timeout, UNKNOWN_SERVER_ERROR for records too large); anything else is retried.
 */
function appendErrorCode(err: unknown): number {
  return err instanceof KafkaError ? groupWriteErrorCode(err) : ErrorCode.COORDINATOR_NOT_AVAILABLE;
}

export class TransactionCoordinator {
  readonly transactions = new Map<string, TransactionMetadata>();
  private stopped = false;
  private timers: NodeJS.Timeout[] = [];
  /** Completions under way (markers being written), so shutdown and tests can wait for them. */
  private readonly completing = new Set<Promise<void>>();
  private readonly ownership: PartitionOwnership;

  constructor(readonly opts: TransactionCoordinatorOptions) {
    this.ownership = opts.ownership ?? ALL_OWNED;
  }

  partitionFor(transactionalId: string): number {
    return partitionForTransactionalId(transactionalId, this.opts.numPartitions());
  }

  // --- ownership -------------------------------------------------------------------------------

  /**
   * NONE when this broker coordinates the id's partition; NOT_COORDINATOR or
   * COORDINATOR_LOAD_IN_PROGRESS otherwise; UNBORN while __transaction_state does not exist.
   */
  private checkOwner(transactionalId: string): number {
    if (this.stopped) return ErrorCode.NOT_COORDINATOR;
    const code = this.ownership.status(this.partitionFor(transactionalId));
    if (code === ErrorCode.NOT_COORDINATOR && this.opts.storageExists?.() === false) return UNBORN;
    return code;
  }

  /**
   * The error for a request about a transactional id this broker cannot answer for now (NONE
   * when it can). Before __transaction_state exists there is no state anywhere: NONE.
   */
  transactionalIdError(transactionalId: string): number {
    const code = this.checkOwner(transactionalId);
    return code === UNBORN ? ErrorCode.NONE : code;
  }

  /** The coordinator epoch of the id's partition (-1 when not coordinated here). */
  private epochOf(transactionalId: string): number {
    return this.ownership.epoch(this.partitionFor(transactionalId));
  }

  /** Whether `md` is still this coordinator's, at the coordinator epoch it had before an await. */
  private stillOwner(md: TransactionMetadata, epoch: number): boolean {
    return !this.stopped && this.ownership.isCurrent(this.partitionFor(md.transactionalId), epoch) && this.transactions.get(md.transactionalId) === md;
  }

  /** Writes a transition prepared on `md` and applies it; NONE, or the error to answer. */
  private async write(md: TransactionMetadata, value: TxnLogValue): Promise<number> {
    const epoch = this.epochOf(md.transactionalId);
    let record: CoordinatorRecord;
    try {
      record = { key: encodeTxnKey(md.transactionalId), value: value.state === 'Dead' ? null : encodeTxnValue(value, (this.opts.transactionVersion?.() ?? 2) >= 1) };
    } catch (err) {
      // A transactional id over the 32767 bytes of a key string (a flexible request allows it)
      // cannot be stored: Kafka's serializer throws, answered UNKNOWN_SERVER_ERROR.
      md.cancel();
      this.opts.logger?.error({ err, state: value.state }, 'a transactional id that cannot be stored');
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    }
    try {
      await this.opts.store.append(this.partitionFor(md.transactionalId), [record]);
    } catch (err) {
      md.cancel();
      const code = appendErrorCode(err);
      if (code !== ErrorCode.NOT_COORDINATOR)
        logWriteFailure(this.opts.logger, err, { transactionalId: md.transactionalId, state: value.state }, 'writing transaction state failed');
      return code;
    }
    // The partition moved while the write was under way: its new coordinator loads the record.
    if (!this.ownership.isCurrent(this.partitionFor(md.transactionalId), epoch) || this.stopped) {
      md.cancel();
      return ErrorCode.NOT_COORDINATOR;
    }
    md.apply(value);
    return ErrorCode.NONE;
  }

  // --- InitProducerId --------------------------------------------------------------------------

  async initProducerId(transactionalId: string, timeoutMs: number, expectedProducerId = -1, expectedEpoch = -1): Promise<ProducerIdAndEpoch> {
    if (this.stopped) return failed(ErrorCode.NOT_COORDINATOR);
    if (transactionalId === '') return failed(ErrorCode.INVALID_REQUEST);
    if (timeoutMs <= 0 || timeoutMs > this.opts.maxTimeoutMs) return failed(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    if (this.checkOwner(transactionalId) === UNBORN) {
      try {
        await this.opts.store.ensureReady(this.partitionFor(transactionalId));
      } catch (err) {
        this.opts.logger?.error({ err }, 'cannot prepare __transaction_state');
        return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      }
    }
    const owner = this.checkOwner(transactionalId);
    if (owner !== ErrorCode.NONE) return failed(owner === UNBORN ? ErrorCode.COORDINATOR_NOT_AVAILABLE : owner);
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
        previousProducerId: -1,
        nextProducerId: -1,
        clientTransactionVersion: 0,
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
      const code = await this.write(md, value);
      if (code !== ErrorCode.NONE) {
        if (this.transactions.get(transactionalId) === md) this.transactions.delete(transactionalId);
        return failed(code);
      }
      return { errorCode: ErrorCode.NONE, producerId: md.producerId, producerEpoch: md.producerEpoch };
    }
    if (md.pending !== null) return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
    // v3+: a producer resuming after an error names the id and epoch it had. It may go on if it
    // still owns the id: the same producer id, or the id it had before an epoch overflow
    // (transactions V2 rotates the id at EndTxn). Any other owner of the transactional id has
    // fenced it since.
    const expected = expectedProducerId >= 0;
    if (expected && md.producerEpoch >= 0 && expectedProducerId !== md.producerId && !(expectedProducerId === md.previousProducerId && isEpochExhausted(expectedEpoch))) {
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
        let producerEpoch: number;
        let lastProducerEpoch: number;
        if (isEpochExhausted(md.producerEpoch) && (!expected || expectedEpoch === md.producerEpoch)) {
          // No epoch left: a new producer id at epoch 0.
          md.pending = 'Empty';
          try {
            producerId = await this.opts.nextProducerId();
          } catch (err) {
            this.opts.logger?.error({ err }, 'cannot allocate a producer id');
            return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
          } finally {
            md.pending = null;
          }
          producerEpoch = 0;
          lastProducerEpoch = expected ? md.producerEpoch : -1;
        } else if (!expected || expectedEpoch === md.producerEpoch) {
          producerEpoch = md.producerEpoch + 1;
          lastProducerEpoch = expected ? md.producerEpoch : -1;
        } else if (expectedEpoch === md.lastProducerEpoch) {
          // The retry of a call that went through: the epoch it got, without another bump.
          producerEpoch = md.producerEpoch;
          lastProducerEpoch = md.lastProducerEpoch;
        } else {
          return failed(ErrorCode.PRODUCER_FENCED);
        }
        const value = md.prepare('Empty', { producerId, producerEpoch, timeoutMs, partitions: new Map(), startTimestamp: -1, nextProducerId: -1 }, now);
        const code = await this.write(md, value);
        if (code !== ErrorCode.NONE) return failed(code);
        md.lastProducerEpoch = lastProducerEpoch;
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

  /**
   * AddPartitionsToTxn (and AddOffsetsToTxn, which adds a __consumer_offsets partition).
   * `clientTransactionVersion` 2 is the implicit addition of transactions V2 (a partition leader
   * adding the partition a produce or TxnOffsetCommit writes to), recorded with the transaction.
   */
  async addPartitions(transactionalId: string, producerId: number, producerEpoch: number, topics: TopicPartitions[], clientTransactionVersion = 0): Promise<PartitionCodes[]> {
    const all = (code: number): PartitionCodes[] => topics.map((t) => ({ name: t.name, results: t.partitions.map((partition) => ({ partition, errorCode: code })) }));
    const owner = this.transactionalIdError(transactionalId);
    if (owner !== ErrorCode.NONE) return all(owner);
    const md = this.transactions.get(transactionalId);
    // A transition in flight first: over a V2 epoch overflow the producer may already use the
    // producer id that is only pending here.
    if (md?.pending != null) return all(ErrorCode.CONCURRENT_TRANSACTIONS);
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
    const value = txn.prepare('Ongoing', { partitions, startTimestamp, clientTransactionVersion }, now);
    return all(await this.write(txn, value));
  }

  /**
   * KIP-890 verification: may producer (id, epoch) write transactional data to this partition
   * now? Only if the partition was added to its transaction. Answers as Kafka's coordinator does:
   * PRODUCER_FENCED for another epoch, CONCURRENT_TRANSACTIONS while the transaction is being
   * decided, TRANSACTION_ABORTABLE for a partition not in it (callers translate for the
   * versions that predate these codes).
   */
  verifyPartition(transactionalId: string, producerId: number, producerEpoch: number, topic: string, partition: number): number {
    const owner = this.transactionalIdError(transactionalId);
    if (owner !== ErrorCode.NONE) return owner;
    const md = this.transactions.get(transactionalId);
    if (!md || md.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (producerEpoch !== md.producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (md.state === 'PrepareCommit' || md.state === 'PrepareAbort') return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (md.state !== 'Ongoing' || !md.hasPartition(topic, partition)) return ErrorCode.TRANSACTION_ABORTABLE;
    return ErrorCode.NONE;
  }

  // --- EndTxn -----------------------------------------------------------------------------------

  async endTransaction(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<number> {
    const owner = this.transactionalIdError(transactionalId);
    if (owner !== ErrorCode.NONE) return owner;
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
    const code = await this.write(md, value);
    if (code !== ErrorCode.NONE) return code;
    // Answer once the markers are written, so the client's next transaction starts cleanly; if the
    // disk keeps refusing them, answer anyway after a while: the decision is durable and the
    // completion goes on in the background.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.track(this.complete(md)), new Promise((resolve) => (timer = setTimeout(resolve, END_TXN_WAIT_MS)))]);
    clearTimeout(timer);
    return ErrorCode.NONE;
  }

  /**
   * EndTxn v5+ (transactions V2): every transaction ends with an epoch bump, so the markers carry
   * epoch + 1 and fence whatever the producer still had in flight; the answer carries the
   * producer id and epoch for the next transaction (a new producer id at epoch 0 once the epochs
   * are exhausted). A retried EndTxn is recognised by its epoch being the one before the bump.
   * An abort is allowed with no partition added (the implicit add may have failed).
   */
  async endTransactionV2(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean): Promise<ProducerIdAndEpoch> {
    const owner = this.transactionalIdError(transactionalId);
    if (owner !== ErrorCode.NONE) return failed(owner);
    const md = this.transactions.get(transactionalId);
    if (!md) return failed(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (md.pending !== null) return failed(ErrorCode.CONCURRENT_TRANSACTIONS);
    const retryOnOverflow = md.previousProducerId === producerId && producerEpoch === MAX_PRODUCER_EPOCH && md.producerEpoch === 0;
    const retryOnEpochBump = md.producerId === producerId && md.producerEpoch === producerEpoch + 1;
    if (md.producerId !== producerId && !retryOnOverflow) return failed(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    let validEpoch: boolean;
    switch (md.state) {
      case 'PrepareCommit':
      case 'PrepareAbort':
        validEpoch = retryOnEpochBump;
        break;
      case 'CompleteCommit':
      case 'CompleteAbort':
        validEpoch = retryOnEpochBump || retryOnOverflow || producerEpoch === md.producerEpoch;
        break;
      default:
        validEpoch = producerEpoch === md.producerEpoch;
    }
    if (!validEpoch) return failed(ErrorCode.PRODUCER_FENCED);
    const isRetry = retryOnEpochBump || retryOnOverflow;
    const current = (): ProducerIdAndEpoch => ({ errorCode: ErrorCode.NONE, producerId: md.producerId, producerEpoch: md.producerEpoch });
    let emptyAbort = false;
    switch (md.state) {
      case 'Ongoing':
        break;
      case 'CompleteCommit':
        if (commit) return isRetry ? current() : failed(ErrorCode.INVALID_TXN_STATE);
        if (isRetry) return failed(ErrorCode.INVALID_TXN_STATE);
        emptyAbort = true;
        break;
      case 'CompleteAbort':
        if (commit) return failed(ErrorCode.INVALID_TXN_STATE);
        if (isRetry) return current();
        emptyAbort = true;
        break;
      case 'Empty':
        if (commit) return failed(ErrorCode.INVALID_TXN_STATE);
        emptyAbort = true;
        break;
      case 'PrepareCommit':
        return failed(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.INVALID_TXN_STATE);
      case 'PrepareAbort':
        return failed(commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.CONCURRENT_TRANSACTIONS);
      default:
        return failed(ErrorCode.INVALID_TXN_STATE);
    }
    // The last epoch a client may hold is MAX_PRODUCER_EPOCH: the markers then take the very last
    // one, and the producer continues under a new id.
    let nextProducerId = -1;
    if (isEpochExhausted(md.producerEpoch)) {
      md.pending = commit ? 'PrepareCommit' : 'PrepareAbort';
      try {
        nextProducerId = await this.opts.nextProducerId();
      } catch (err) {
        this.opts.logger?.error({ err }, 'cannot allocate a producer id');
        return failed(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      } finally {
        md.pending = null;
      }
    }
    const now = this.opts.clock.now();
    const previousEpoch = md.producerEpoch;
    const value = md.prepare(
      commit ? 'PrepareCommit' : 'PrepareAbort',
      { producerEpoch: previousEpoch + 1, nextProducerId, clientTransactionVersion: 2, ...(emptyAbort ? { startTimestamp: now, partitions: new Map() } : {}) },
      now,
    );
    const code = await this.write(md, value);
    if (code !== ErrorCode.NONE) return failed(code);
    md.lastProducerEpoch = previousEpoch;
    const answer: ProducerIdAndEpoch =
      nextProducerId >= 0
        ? { errorCode: ErrorCode.NONE, producerId: nextProducerId, producerEpoch: 0 }
        : { errorCode: ErrorCode.NONE, producerId: md.producerId, producerEpoch: md.producerEpoch };
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.track(this.complete(md)), new Promise((resolve) => (timer = setTimeout(resolve, END_TXN_WAIT_MS)))]);
    clearTimeout(timer);
    return answer;
  }

  /**
   * Writes the markers of a decided transaction (state PrepareCommit/PrepareAbort), then its
   * Complete state. Retries until it succeeds, the coordinator stops, or the id's partition
   * leaves this broker (its new coordinator completes it): a decided transaction must reach
   * every partition.
   */
  private async complete(md: TransactionMetadata): Promise<void> {
    const commit = md.state === 'PrepareCommit';
    const coordinatorEpoch = this.epochOf(md.transactionalId);
    for (;;) {
      if (!this.stillOwner(md, coordinatorEpoch)) return;
      try {
        if (md.partitions.size > 0) {
          await this.opts.writeMarkers({
            producerId: md.producerId,
            producerEpoch: md.producerEpoch,
            coordinatorEpoch,
            commit,
            transactionVersion: md.clientTransactionVersion >= 2 ? 2 : 0,
            partitions: md.partitions,
          });
          if (!this.stillOwner(md, coordinatorEpoch)) return;
        }
        // Transactions V2 over an exhausted epoch: the producer continues under its next id.
        const rotate = md.clientTransactionVersion >= 2 && md.nextProducerId >= 0 ? { producerId: md.nextProducerId, producerEpoch: 0 } : {};
        const value = md.prepare(commit ? 'CompleteCommit' : 'CompleteAbort', { partitions: new Map(), nextProducerId: -1, ...rotate }, this.opts.clock.now());
        const code = await this.write(md, value);
        if (code === ErrorCode.NONE || code === ErrorCode.NOT_COORDINATOR) return;
      } catch (err) {
        // A partition leader restarting or moved is met in normal operation: a warning (the markers are retried until written).
        logWriteFailure(this.opts.logger, err, { transactionalId: md.transactionalId }, 'writing transaction markers failed; retrying');
      }
      await new Promise((resolve) => setTimeout(resolve, MARKER_RETRY_MS));
    }
  }

  /** Aborts an ongoing transaction under epoch + 1, so its producer can no longer write. */
  private async fenceAndAbort(md: TransactionMetadata, why: string): Promise<void> {
    if (md.state !== 'Ongoing' || md.pending !== null) return;
    const now = this.opts.clock.now();
    // The fence may take the very last epoch (a client never holds it); beyond it there is nothing
    // to bump to, and the abort still fences through the markers.
    const producerEpoch = md.producerEpoch < MAX_PRODUCER_EPOCH + 1 ? md.producerEpoch + 1 : md.producerEpoch;
    const value = md.prepare('PrepareAbort', { producerEpoch }, now);
    this.opts.logger?.info({ transactionalId: md.transactionalId, producerId: md.producerId, producerEpoch }, `aborting transaction: ${why}`);
    if ((await this.write(md, value)) !== ErrorCode.NONE) return;
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
      if (this.transactionalIdError(md.transactionalId) !== ErrorCode.NONE) continue;
      if (md.state === 'Ongoing' && md.pending === null && md.startTimestamp >= 0 && now - md.startTimestamp > md.timeoutMs) {
        void this.track(this.fenceAndAbort(md, `timed out after ${md.timeoutMs} ms`));
      }
    }
  }

  /** Forgets transactional ids idle for transactional.id.expiration.ms (tombstones them). */
  async expireTransactionalIds(now = this.opts.clock.now()): Promise<void> {
    const work: Promise<number>[] = [];
    for (const md of [...this.transactions.values()]) {
      if (md.pending !== null || !isCompleteOrEmpty(md.state) || this.transactionalIdError(md.transactionalId) !== ErrorCode.NONE) continue;
      if (now - md.lastUpdateTimestamp < this.opts.transactionalIdExpirationMs) continue;
      const value = md.prepare('Dead', {}, now);
      work.push(
        this.write(md, value).then((code) => {
          if (code === ErrorCode.NONE && this.transactions.get(md.transactionalId) === md) this.transactions.delete(md.transactionalId);
          return code;
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
   * After replay of one partition (`partition`; every partition when absent): a transaction
   * caught between its decision and its Complete record (a crash, or a coordinator that moved)
   * is finished now, under this coordinator's epoch (markers are idempotent for the reader, so
   * writing them twice is harmless). Ongoing ones are left to their timeout, as in Kafka.
   */
  finishLoading(partition?: number): void {
    for (const md of this.transactions.values()) {
      if (partition !== undefined && this.partitionFor(md.transactionalId) !== partition) continue;
      if (md.state === 'PrepareCommit' || md.state === 'PrepareAbort') void this.track(this.complete(md));
    }
  }

  /**
   * Leadership of `partition` left this broker: its transactional ids leave memory. Completions
   * under way stop at their next step; the new coordinator finishes them.
   */
  unloadPartition(partition: number): void {
    for (const id of [...this.transactions.keys()]) if (this.partitionFor(id) === partition) this.transactions.delete(id);
  }

  // --- admin ------------------------------------------------------------------------------------

  /**
   * DescribeTransactions of one id. As Kafka's TransactionCoordinator: a coordinator that was
   * shut down answers COORDINATOR_NOT_AVAILABLE (only the admin APIs are gated on it being
   * active; the others find no partition and answer NOT_COORDINATOR), then an empty id is
   * INVALID_REQUEST, then the partition's ownership, then TRANSACTIONAL_ID_NOT_FOUND.
   */
  describe(transactionalId: string): TransactionDescription {
    const md = this.transactions.get(transactionalId);
    const owner = this.stopped ? ErrorCode.COORDINATOR_NOT_AVAILABLE : transactionalId === '' ? ErrorCode.INVALID_REQUEST : this.transactionalIdError(transactionalId);
    if (owner !== ErrorCode.NONE || !md) {
      return {
        transactionalId,
        errorCode: owner !== ErrorCode.NONE ? owner : ErrorCode.TRANSACTIONAL_ID_NOT_FOUND,
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

  /**
   * Why ListTransactions cannot be answered now (NONE when it can), as Kafka: a coordinator that
   * was shut down is COORDINATOR_NOT_AVAILABLE; one still loading some partition
   * COORDINATOR_LOAD_IN_PROGRESS (the whole answer, so an admin never sees a partial list).
   */
  listError(): number {
    if (this.stopped) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    return this.ownership.loading() ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE;
  }

  /** ListTransactions: filters are ANDed; an empty filter matches everything. */
  list(states: readonly string[], producerIds: readonly number[], minDurationMs = -1, now = this.opts.clock.now()): TransactionListing[] {
    const out: TransactionListing[] = [];
    for (const md of this.transactions.values()) {
      if (this.transactionalIdError(md.transactionalId) !== ErrorCode.NONE) continue;
      if (states.length > 0 && !states.includes(md.state)) continue;
      if (producerIds.length > 0 && !producerIds.includes(md.producerId)) continue;
      if (minDurationMs >= 0 && (md.startTimestamp < 0 || now - md.startTimestamp < minDurationMs)) continue;
      out.push({ transactionalId: md.transactionalId, producerId: md.producerId, state: md.state });
    }
    return out;
  }

  /**
   * Resolves once the coordinator can take requests: its internal topic exists, and when
   * `transactionalId` is given and its partition is led here, that partition is loaded.
   */
  async ready(transactionalId?: string): Promise<void> {
    if (this.stopped) throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'transaction coordinator is stopped');
    await this.opts.store.ensureReady(transactionalId === undefined ? undefined : this.partitionFor(transactionalId));
  }

  shutdown(): void {
    this.stopped = true;
    this.ownership.close();
    for (const t of this.timers) clearInterval(t);
  }
}
