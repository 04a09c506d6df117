// "Transactions intact" for the crash torture. A transactional producer (InitProducerId with a
// transactional id, AddPartitionsToTxn, transactional Produce, EndTxn) runs transactions of 1–3
// batches on `torture-txn-0`, committing most and aborting some, next to a plain idempotent
// producer on the same partition (judged by the harness like every other producer). A kill cuts
// whatever transaction is in progress; the producer then calls InitProducerId again (which fences
// the old epoch and has the coordinator finish or abort what was left) and goes on.
//
// After every restart, with an independent read_committed consumer (Fetch isolation 1, dropping
// the data of the aborted transactions the broker lists, as Kafka's consumers do):
//   - every transactional record is in the log at most once;
//   - a transaction whose EndTxn(commit) was acknowledged is visible whole below the LSO;
//   - a transaction whose EndTxn(abort) was acknowledged, and the one in progress, never are;
//   - a transaction cut by a kill is visible whole or not at all (the coordinator decides);
//   - read_committed never returns a record at or above the LSO.
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { RawClient } from '../helpers/raw-client.js';
import { fetchRequest } from '../helpers/requests.js';
import { PartitionProducer, request, type TortureExtension, type WorkloadContext } from './harness.js';
import { API, decodeBatches, listOffset, readPartition, type ReadBatch } from './log-reader.js';

const TOPIC = 'torture-txn';
const TRANSACTIONAL_ID = 'torture-tx';
const READ_COMMITTED = 1;
const API_ADD_PARTITIONS_TO_TXN = 24;
const API_END_TXN = 26;

/** Answers that mean "try again" (the coordinator is loading, finishing a transaction, restarting). */
const RETRIABLE = new Set<number>([
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.REQUEST_TIMED_OUT,
]);

type TxnState = 'open' | 'committed' | 'aborted' | 'unknown';

interface Txn {
  state: TxnState;
  /** Records sent (acknowledged or not): `txn:<n>:<i>`. */
  sent: number;
  acked: number;
}

class ConnectionLost extends Error {}

/** Random delays of the transactional workload: time on purpose, not waits for a condition. */
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class TransactionalWorker {
  readonly txns: Txn[] = [];
  producerId = -1;
  epoch = -1;
  seq = 0;
  commits = 0;
  aborts = 0;
  cut = 0;
  failure: string | null = null;

  /** A request whose retriable answers are retried; a lost connection throws ConnectionLost. */
  private async call(client: RawClient, apiKey: number, version: number, body: unknown, codeOf: (b: any) => number): Promise<any> {
    for (let attempt = 0; attempt < 500; attempt++) {
      let res: { body: any };
      try {
        res = await request(client, apiKey, version, body);
      } catch {
        throw new ConnectionLost();
      }
      const code = codeOf(res.body);
      if (code === ErrorCode.NONE) return res.body;
      if (!RETRIABLE.has(code)) throw new Error(`API ${apiKey} answered ${errorName(code)}`);
      await sleep(20);
    }
    throw new Error(`API ${apiKey} still retriable after 500 attempts (10 s)`);
  }

  async run(ctx: WorkloadContext): Promise<void> {
    let client: RawClient | null = null;
    let needInit = true;
    while (!ctx.stopping && this.failure === null) {
      if (!client || client.closed) {
        client = await ctx.connect();
        if (!client) return;
      }
      try {
        if (needInit) {
          const init = await this.call(
            client,
            API.InitProducerId,
            4,
            { transactionalId: TRANSACTIONAL_ID, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 },
            (b) => b.errorCode,
          );
          this.producerId = Number(init.producerId);
          this.epoch = init.producerEpoch;
          this.seq = 0;
          needInit = false;
        }
        const n = this.txns.length;
        const txn: Txn = { state: 'open', sent: 0, acked: 0 };
        this.txns.push(txn);
        try {
          await this.call(
            client,
            API_ADD_PARTITIONS_TO_TXN,
            3,
            {
              transactions: [],
              v3AndBelowTransactionalId: TRANSACTIONAL_ID,
              v3AndBelowProducerId: this.producerId,
              v3AndBelowProducerEpoch: this.epoch,
              v3AndBelowTopics: [{ name: TOPIC, partitions: [0] }],
            },
            (b) => b.errorCode || (b.resultsByTopicV3AndBelow[0]?.resultsByPartition[0]?.partitionErrorCode ?? ErrorCode.NONE),
          );
          const batches = 1 + Math.floor(ctx.random() * 3);
          for (let b = 0; b < batches; b++) {
            const count = 1 + Math.floor(ctx.random() * 5);
            const records = Array.from({ length: count }, (_, i) => ({ key: `t${n}`, value: `txn:${n}:${txn.sent + i}:${'t'.repeat(Math.floor(ctx.random() * 80))}` }));
            const bytes = buildRecordBatch(records, { producerId: this.producerId, producerEpoch: this.epoch, baseSequence: this.seq, transactional: true });
            txn.sent += count;
            await this.call(
              client,
              API.Produce,
              9,
              { transactionalId: TRANSACTIONAL_ID, acks: -1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: bytes }] }] },
              (body) => body.responses[0].partitionResponses[0].errorCode,
            );
            this.seq += count;
            txn.acked += count;
          }
          const commit = ctx.random() < 0.7;
          await this.call(
            client,
            API_END_TXN,
            3,
            { transactionalId: TRANSACTIONAL_ID, producerId: this.producerId, producerEpoch: this.epoch, committed: commit },
            (b) => b.errorCode,
          );
          txn.state = commit ? 'committed' : 'aborted';
          if (commit) this.commits++;
          else this.aborts++;
        } catch (err) {
          // Cut by a kill (or answered with an error): the coordinator decides; a new epoch next.
          txn.state = 'unknown';
          this.cut++;
          needInit = true;
          if (!(err instanceof ConnectionLost)) throw err;
        }
      } catch (err) {
        if (err instanceof ConnectionLost) {
          client.close();
          needInit = true;
          continue;
        }
        this.failure = String(err);
        return;
      }
      await sleep(Math.floor(ctx.random() * 30));
    }
  }
}

/** read_committed as a consumer sees it: Fetch isolation 1 below the LSO, aborted transactions' data dropped. */
async function readCommitted(client: RawClient, from: number, lso: number): Promise<{ values: string[]; problems: string[] }> {
  const problems: string[] = [];
  const batches: ReadBatch[] = [];
  const aborted: Array<{ producerId: number; firstOffset: number }> = [];
  let offset = from;
  for (let i = 0; offset < lso && i < 100_000; i++) {
    const res = await request(
      client,
      API.Fetch,
      12,
      fetchRequest({ isolationLevel: READ_COMMITTED, topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: offset }] }] }),
    );
    const p = res.body.responses[0].partitions[0];
    if (p.errorCode !== ErrorCode.NONE) return { values: [], problems: [`read_committed fetch at ${offset}: ${errorName(p.errorCode)}`] };
    if (Number(p.lastStableOffset) !== lso) problems.push(`fetch says lastStableOffset ${p.lastStableOffset}, ListOffsets said ${lso}`);
    for (const t of p.abortedTransactions ?? []) {
      if (!aborted.some((a) => a.producerId === Number(t.producerId) && a.firstOffset === Number(t.firstOffset)))
        aborted.push({ producerId: Number(t.producerId), firstOffset: Number(t.firstOffset) });
    }
    const decoded = decodeBatches(p.records ?? Buffer.alloc(0));
    if (decoded.nextOffset === null) break;
    for (const b of decoded.list) if (b.nextOffset > offset) batches.push(b);
    offset = decoded.nextOffset;
  }
  // Kafka's consumer algorithm: an aborted transaction starts at its first offset and ends at its producer's ABORT marker.
  aborted.sort((a, b) => a.firstOffset - b.firstOffset);
  const abortedNow = new Set<number>();
  const values: string[] = [];
  for (const b of batches) {
    if (b.baseOffset >= lso) problems.push(`read_committed returned a batch at ${b.baseOffset}, at or above the LSO ${lso}`);
    while (aborted.length > 0 && aborted[0]!.firstOffset <= b.baseOffset) abortedNow.add(aborted.shift()!.producerId);
    if (b.controlType !== null) {
      if (b.controlType === 0) abortedNow.delete(b.producerId);
      continue;
    }
    if (b.transactional && abortedNow.has(b.producerId)) continue;
    for (const r of b.records) if (r.value !== null) values.push(r.value);
  }
  return { values, problems };
}

export function transactionsExtension(): TortureExtension {
  const plain = new PartitionProducer(TOPIC, 0, 'plain', { label: 'txn-plain' });
  const worker = new TransactionalWorker();
  return {
    name: 'transactions',
    topics: [{ name: TOPIC, partitions: 1, kind: 'plain', configs: { 'segment.bytes': '8192' } }],
    producers: [plain],
    start: (ctx) => worker.run(ctx),
    async verify(client: RawClient): Promise<string[]> {
      const problems: string[] = [];
      if (worker.failure) problems.push(`transactional producer stopped: ${worker.failure}`);
      const all = await readPartition(client, TOPIC, 0);
      // In the log (read_uncommitted): each transactional record at most once.
      const inLog = new Map<string, number>();
      for (const r of all.records) {
        if (!r.value?.startsWith('txn:')) continue;
        const id = r.value.split(':').slice(1, 3).join(':');
        if (inLog.has(id)) problems.push(`duplicate: transactional record ${id} at ${inLog.get(id)} and ${r.offset}`);
        inLog.set(id, r.offset);
      }
      const lso = await listOffset(client, TOPIC, 0, -1, READ_COMMITTED);
      const committed = await readCommitted(client, all.logStartOffset, lso);
      problems.push(...committed.problems);
      const visible = new Map<number, number>(); // transaction → records visible
      for (const v of committed.values) {
        if (!v.startsWith('txn:')) continue;
        const n = Number(v.split(':')[1]);
        visible.set(n, (visible.get(n) ?? 0) + 1);
      }
      worker.txns.forEach((txn, n) => {
        const seen = visible.get(n) ?? 0;
        const belowLso = [...inLog.entries()].filter(([id, offset]) => id.startsWith(`${n}:`) && offset < lso).length;
        if (txn.state === 'committed' && seen !== belowLso) problems.push(`committed transaction ${n}: ${seen} of its ${belowLso} records below the LSO visible`);
        if (txn.state === 'committed') {
          for (let i = 0; i < txn.acked; i++) if (!inLog.has(`${n}:${i}`)) problems.push(`lost: record ${i} of committed transaction ${n}`);
        }
        if ((txn.state === 'aborted' || txn.state === 'open') && seen > 0) problems.push(`${txn.state} transaction ${n}: ${seen} records visible to read_committed`);
        if (txn.state === 'unknown' && seen !== 0 && seen !== belowLso)
          problems.push(`transaction ${n} cut by a kill: ${seen} of ${belowLso} records visible (not all or nothing)`);
      });
      return problems;
    },
    summary: () => `transactions: ${worker.commits} committed, ${worker.aborts} aborted, ${worker.cut} cut by a kill`,
  };
}
