// KIP-890 on the partition leader's side: before a partition takes the first transactional data
// of a transaction (a produce, or a TxnOffsetCommit to a group's __consumer_offsets partition),
// its leader asks the transaction coordinator of the transactional id whether the partition is
// in the producer's transaction (part 1, "verify"), or has the coordinator add it (part 2,
// transactions V2: Produce v12+, TxnOffsetCommit v5+, no AddPartitionsToTxn from the client).
//
// The coordinator is this broker's own TransactionCoordinator when it leads the id's
// __transaction_state partition, else the broker that does (cluster mode), asked with the
// inter-broker AddPartitionsToTxn v5 (one batch per transactional id, as Kafka's
// AddPartitionsToTxnManager sends). Adds of one transactional id are sent one after the other,
// and an add that meets CONCURRENT_TRANSACTIONS (the coordinator is writing another transition
// of the id) is retried with a short backoff, as Kafka does, before the error goes back.
//
// The answers are the coordinator's codes; translate() turns them into what each API version
// expects.
import { type AddPartitionsToTxnRequest, type AddPartitionsToTxnResponse } from '../protocol/generated/index.js';
import { ErrorCode } from '../protocol/errors.js';
import type { TransactionCoordinator, TopicPartitions } from '../coordinator/transaction-coordinator.js';
import type { Clock } from '../common/clock.js';

/** One partition's transactional data, for the coordinator's verdict. */
export interface TxnPartitionCheck {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  topic: string;
  partition: number;
  /** Transactions V2: add the partition to the transaction (else only verify it is in). */
  add: boolean;
}

/** What the verifier needs of the broker. */
export interface TxnVerifierHost {
  readonly transactionCoordinator: TransactionCoordinator;
  /** Cluster mode: the live broker leading __transaction_state partition `index`, or null. */
  transactionCoordinatorNode(index: number): { nodeId: number; host: string; port: number } | null;
  /** Sends AddPartitionsToTxn (v4+, batched) to `peer`; rejects when the peer cannot be reached. */
  addPartitionsToTxn(peer: { nodeId: number; host: string; port: number }, request: AddPartitionsToTxnRequest): Promise<AddPartitionsToTxnResponse>;
  readonly clustered: boolean;
  readonly clock: Clock;
  readonly logger: { warn(obj: object, msg: string): void };
}

/** Kafka's add.partitions.to.txn.retry.backoff.ms and .max.ms (the whole retry window). */
const RETRY_BACKOFF_MS = 20;
const RETRY_WINDOW_MS = 100;

interface Waiting {
  topic: string;
  partition: number;
  resolve: (code: number) => void;
}

interface Batch {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  add: boolean;
  waiting: Waiting[];
}

export class TransactionVerifier {
  /** Batches filling up in this turn of the event loop, by transactional id, producer and mode. */
  private readonly filling = new Map<string, Batch>();
  /** The last add sent per transactional id: the next one waits for it. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly host: TxnVerifierHost) {}

  /**
   * The coordinator's verdict on one partition: synchronous when this broker coordinates the id
   * and the answer needs no write (keeps the produce in arrival order), else a promise.
   */
  check(c: TxnPartitionCheck): number | Promise<number> {
    const coordinator = this.host.transactionCoordinator;
    const owner = coordinator.transactionalIdError(c.transactionalId);
    if (owner === ErrorCode.NONE) {
      const verdict = coordinator.verifyPartition(c.transactionalId, c.producerId, c.producerEpoch, c.topic, c.partition);
      if (!c.add || verdict === ErrorCode.NONE) return verdict;
    } else if (!this.host.clustered || owner === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
      return owner;
    }
    return this.enqueue(c);
  }

  private enqueue(c: TxnPartitionCheck): Promise<number> {
    const key = `${c.transactionalId}\u0000${c.producerId}\u0000${c.producerEpoch}\u0000${c.add}`;
    let batch = this.filling.get(key);
    if (!batch) {
      const b: Batch = { transactionalId: c.transactionalId, producerId: c.producerId, producerEpoch: c.producerEpoch, add: c.add, waiting: [] };
      batch = b;
      this.filling.set(key, b);
      // Every partition of the same produce request joins before the batch leaves.
      queueMicrotask(() => {
        this.filling.delete(key);
        this.dispatch(b);
      });
    }
    const waiting = batch.waiting;
    return new Promise<number>((resolve) => waiting.push({ topic: c.topic, partition: c.partition, resolve }));
  }

  private dispatch(b: Batch): void {
    const run = async (): Promise<void> => {
      let codes: Map<string, number>;
      try {
        codes = await this.send(b);
      } catch {
        codes = new Map();
      }
      for (const w of b.waiting) w.resolve(codes.get(`${w.topic}:${w.partition}`) ?? ErrorCode.NETWORK_EXCEPTION);
    };
    if (!b.add) {
      void run();
      return;
    }
    const previous = this.chains.get(b.transactionalId) ?? Promise.resolve();
    const next = previous.then(run, run);
    this.chains.set(b.transactionalId, next);
    void next.finally(() => {
      if (this.chains.get(b.transactionalId) === next) this.chains.delete(b.transactionalId);
    });
  }

  /** One attempt at the coordinator (local or remote), retried on CONCURRENT_TRANSACTIONS for adds. */
  private async send(b: Batch): Promise<Map<string, number>> {
    const topics = new Map<string, number[]>();
    for (const w of b.waiting) topics.set(w.topic, [...new Set([...(topics.get(w.topic) ?? []), w.partition])]);
    const list: TopicPartitions[] = [...topics].map(([name, partitions]) => ({ name, partitions }));
    const started = this.host.clock.now();
    for (;;) {
      const codes = await this.once(b, list);
      const concurrent = [...codes.values()].some((code) => code === ErrorCode.CONCURRENT_TRANSACTIONS);
      if (!b.add || !concurrent || this.host.clock.now() - started >= RETRY_WINDOW_MS) return codes;
      await new Promise<void>((resolve) => this.host.clock.schedule(RETRY_BACKOFF_MS, resolve));
    }
  }

  private async once(b: Batch, topics: TopicPartitions[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const all = (code: number) => {
      for (const t of topics) for (const p of t.partitions) out.set(`${t.name}:${p}`, code);
      return out;
    };
    const coordinator = this.host.transactionCoordinator;
    const owner = coordinator.transactionalIdError(b.transactionalId);
    if (owner === ErrorCode.NONE) {
      if (!b.add) {
        for (const t of topics)
          for (const p of t.partitions) out.set(`${t.name}:${p}`, coordinator.verifyPartition(b.transactionalId, b.producerId, b.producerEpoch, t.name, p));
        return out;
      }
      for (const t of await coordinator.addPartitions(b.transactionalId, b.producerId, b.producerEpoch, topics, 2)) {
        for (const r of t.results) out.set(`${t.name}:${r.partition}`, r.errorCode);
      }
      return out;
    }
    if (!this.host.clustered || owner === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return all(owner);
    const peer = this.host.transactionCoordinatorNode(coordinator.partitionFor(b.transactionalId));
    if (!peer) return all(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const request: AddPartitionsToTxnRequest = {
      transactions: [
        {
          transactionalId: b.transactionalId,
          producerId: b.producerId,
          producerEpoch: b.producerEpoch,
          verifyOnly: !b.add,
          topics: topics.map((t) => ({ name: t.name, partitions: t.partitions })),
        },
      ],
      v3AndBelowTransactionalId: '',
      v3AndBelowProducerId: 0,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [],
    };
    let res: AddPartitionsToTxnResponse;
    try {
      res = await this.host.addPartitionsToTxn(peer, request);
    } catch (err) {
      this.host.logger.warn({ err, transactionalId: b.transactionalId, coordinator: peer.nodeId }, 'asking the transaction coordinator failed');
      return all(ErrorCode.NETWORK_EXCEPTION);
    }
    // A request-level error (the peer refused it whole) applies to every partition; Kafka answers
    // INVALID_TXN_STATE for a refused cluster authorization.
    if (res.errorCode !== ErrorCode.NONE) return all(res.errorCode === ErrorCode.CLUSTER_AUTHORIZATION_FAILED ? ErrorCode.INVALID_TXN_STATE : res.errorCode);
    for (const txn of res.resultsByTransaction) {
      if (txn.transactionalId !== b.transactionalId) continue;
      for (const t of txn.topicResults) for (const r of t.resultsByPartition) out.set(`${t.name}:${r.partitionIndex}`, r.partitionErrorCode);
    }
    return out;
  }
}

/** How the leader's verification supports the client's version (Kafka's TransactionSupportedOperation). */
export type TxnSupport = 'default' | 'generic' | 'add';

/** Produce: v12+ adds the partition (V2), v11 knows TRANSACTION_ABORTABLE, older ones neither. */
export function produceTxnSupport(apiVersion: number): TxnSupport {
  return apiVersion > 11 ? 'add' : apiVersion > 10 ? 'generic' : 'default';
}

/** TxnOffsetCommit: v5+ adds the group's partition (V2), v4 knows TRANSACTION_ABORTABLE. */
export function txnOffsetCommitTxnSupport(apiVersion: number): TxnSupport {
  return apiVersion > 4 ? 'add' : apiVersion > 3 ? 'generic' : 'default';
}

/**
 * The coordinator's verdict as the writing API answers it, as Kafka's leader translates it:
 * PRODUCER_FENCED is INVALID_PRODUCER_EPOCH; TRANSACTION_ABORTABLE is INVALID_TXN_STATE for
 * clients that predate it; a coordinator that cannot answer (and, before V2, a concurrent
 * transition) becomes `unavailable`, a retriable code that old clients retry correctly
 * (NOT_ENOUGH_REPLICAS for produce, COORDINATOR_NOT_AVAILABLE for offset commits).
 */
export function translateVerdict(code: number, support: TxnSupport, unavailable: number): number {
  switch (code) {
    case ErrorCode.PRODUCER_FENCED:
      return ErrorCode.INVALID_PRODUCER_EPOCH;
    case ErrorCode.TRANSACTION_ABORTABLE:
      return support === 'default' ? ErrorCode.INVALID_TXN_STATE : code;
    case ErrorCode.NETWORK_EXCEPTION:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.NOT_COORDINATOR:
      return unavailable;
    case ErrorCode.CONCURRENT_TRANSACTIONS:
      return support === 'add' ? code : unavailable;
    default:
      return code;
  }
}
