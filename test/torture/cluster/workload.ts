// The cluster torture's clients, all going through the brokers' proxies: idempotent acks=all
// producers (kafkajs, and librdkafka through @confluentinc/kafka-javascript when it is
// installed), a consumer group reading continuously and committing, a watcher of the group's
// committed offsets, and a transactional producer with a read_committed consumer.
//
// Every record value names its producer incarnation and a sequence number. A producer that saw a
// send fail is replaced by a new incarnation (a new producer id): kafkajs would otherwise reuse
// the failed batch's sequence numbers for the next batch, and if the failed one had in fact been
// written, the broker would rightly answer the new one as its duplicate.
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const TOPIC = 'jepsen';
export const TXN_TOPIC = 'jepsen-txn';
export const GROUP = 'jepsen-group';
export const TXN_READER_GROUP = 'jepsen-txn-reader';

export interface Ack {
  partition: number;
  /** The offset the broker acknowledged; null when the client does not say per record (librdkafka's batched report). */
  offset: number | null;
}

export interface Shared {
  readonly stopping: boolean;
  random: () => number;
  bootstrap: string[];
  partitions: number;
  log: (line: string) => void;
}

/** What every producer of TOPIC knows after the run. */
export interface ProducerOutcome {
  name: string;
  /** value → where it was acknowledged. */
  acked: Map<string, Ack>;
  /** Values of sends that failed: they may be in the log (once) or not. */
  indeterminate: Set<string>;
  sends: number;
  failures: number;
  incarnations: number;
  /** Why the producer could not run at all (e.g. librdkafka not installed). */
  skipped: string | null;
  errors: string[];
}

function newOutcome(name: string): ProducerOutcome {
  return { name, acked: new Map(), indeterminate: new Set(), sends: 0, failures: 0, incarnations: 0, skipped: null, errors: [] };
}

function note(o: { errors: string[] }, err: unknown): void {
  if (o.errors.length < 20) o.errors.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
}

/** Values are `<name>.<incarnation>:<seq>`: the key of the order check is the part before ':'. */
export function parseValue(value: string): { producer: string; seq: number } | null {
  const i = value.lastIndexOf(':');
  if (i < 0) return null;
  const seq = Number(value.slice(i + 1));
  return Number.isInteger(seq) ? { producer: value.slice(0, i), seq } : null;
}

/** One incarnation of a producer of TOPIC, as the send loop drives it (kafkajs or librdkafka). */
interface TopicProducer {
  connect(): Promise<void>;
  /** Sends `values` to `partition` with acks=all; resolves with the first one's offset (null: the client does not say). */
  send(partition: number, values: string[]): Promise<number | null>;
  disconnect(): Promise<void>;
}

/**
 * The loop every producer of TOPIC runs until the run stops, whatever its client library, so that
 * their outcomes are judged alike: batches of 1-8 values to random partitions; a failed send makes
 * its values indeterminate and the producer is replaced by a new incarnation (see the top).
 */
async function produceUntilStopped(name: string, s: Shared, out: ProducerOutcome, newProducer: () => TopicProducer): Promise<void> {
  while (!s.stopping) {
    const incarnation = ++out.incarnations;
    const producer = newProducer();
    try {
      await producer.connect();
    } catch (err) {
      note(out, err);
      await sleep(200);
      continue;
    }
    let seq = 0;
    let failed = false;
    while (!s.stopping && !failed) {
      const partition = Math.floor(s.random() * s.partitions);
      const count = 1 + Math.floor(s.random() * 8);
      const values = Array.from({ length: count }, () => `${name}.${incarnation}:${seq++}`);
      out.sends++;
      try {
        const base = await producer.send(partition, values);
        values.forEach((v, i) => out.acked.set(v, { partition, offset: base === null ? null : base + i }));
      } catch (err) {
        for (const v of values) out.indeterminate.add(v);
        out.failures++;
        note(out, err);
        failed = true;
      }
      await sleep(Math.floor(s.random() * 15));
    }
    await producer.disconnect().catch(() => undefined);
  }
}

export async function runKafkajsProducer(name: string, s: Shared): Promise<ProducerOutcome> {
  const out = newOutcome(name);
  const kafka = new Kafka({ clientId: name, brokers: s.bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 } });
  await produceUntilStopped(name, s, out, () => {
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 } });
    return {
      connect: () => producer.connect(),
      send: async (partition, values) => {
        const res = await producer.send({ topic: TOPIC, acks: -1, timeout: 10_000, messages: values.map((value) => ({ partition, key: value, value })) });
        return Number(res[0]!.baseOffset);
      },
      disconnect: () => producer.disconnect(),
    };
  });
  return out;
}

const require = createRequire(import.meta.url);

/**
 * kafkajs 2.2.4: a fetcher that a rebalance starts after the consumer has stopped loops on the
 * stopped runner, whose fetch answers [] at once. The loop does no I/O, so no timer fires again
 * and the test process hangs until it is killed (RELIABILITY found 11). Here a stopped runner's
 * fetch first waits 100 ms on an unref'd timer: such a loop costs nothing and the run can end.
 */
function tameFetchersOfStoppedConsumers(): void {
  type Fetch = (this: { running: boolean }, nodeId: number) => Promise<unknown[]>;
  const Runner = require('kafkajs/src/consumer/runner.js') as { prototype: { fetch: Fetch } };
  const fetch = Runner.prototype.fetch;
  Runner.prototype.fetch = async function (this: { running: boolean }, nodeId: number) {
    if (!this.running) await new Promise((resolve) => setTimeout(resolve, 100).unref());
    return fetch.call(this, nodeId);
  };
}
tameFetchersOfStoppedConsumers();

/** The librdkafka binding, or why it cannot be used. */
export function loadLibrdkafka(): { ckjs: any } | { missing: string } {
  try {
    return { ckjs: require('@confluentinc/kafka-javascript') };
  } catch (err) {
    return { missing: `@confluentinc/kafka-javascript cannot be loaded (${String((err as Error).message).split('\n')[0]}); .ci/run installs it` };
  }
}

export async function runLibrdkafkaProducer(name: string, s: Shared): Promise<ProducerOutcome> {
  const out = newOutcome(name);
  const loaded = loadLibrdkafka();
  if ('missing' in loaded) {
    out.skipped = loaded.missing;
    return out;
  }
  const { Kafka: RdKafka } = loaded.ckjs.KafkaJS;
  // librdkafka's idempotent producer recovers by itself from what it can; a failure that reaches
  // the application is treated like a kafkajs one: a new producer.
  await produceUntilStopped(name, s, out, () => {
    const kafka = new RdKafka({ kafkaJS: { brokers: s.bootstrap, clientId: name, logLevel: 0 } });
    const producer = kafka.producer({
      'enable.idempotence': true,
      acks: -1,
      'linger.ms': 2,
      'message.timeout.ms': 15_000,
      'retry.backoff.ms': 100,
      'socket.connection.setup.timeout.ms': 3000,
      'topic.metadata.refresh.interval.ms': 1000,
    });
    return {
      connect: () => producer.connect(),
      send: async (partition, values) => {
        // The batched report gives only the lowest offset of a partition: records are checked for
        // presence (exactly once) and order, not for their exact offset.
        await producer.send({ topic: TOPIC, messages: values.map((value) => ({ partition, key: value, value })) });
        return null;
      },
      disconnect: () => producer.disconnect(),
    };
  });
  return out;
}

/**
 * TRIBUTARY_TEST_LOG_DIR (diagnosis only): the group reader's kafkajs warnings, joins and large
 * rewinds go to <dir>/group-reader.log with wall-clock times, next to the brokers' logs.
 */
function diagnosisTrace(name = 'group-reader'): ((entry: Record<string, unknown>) => void) | null {
  const dir = process.env.TRIBUTARY_TEST_LOG_DIR;
  if (!dir) return null;
  const file = join(dir, `${name}.log`);
  return (entry) => appendFileSync(file, JSON.stringify({ time: Date.now(), ...entry }) + '\n');
}

/**
 * kafkajs logging into a diagnosis trace: warnings and errors, plus its debug lines of group and
 * fetch recovery (stale metadata, seeks, assignments), not the per-request ones.
 */
function tracedLogging(trace: ((entry: Record<string, unknown>) => void) | null): Pick<kafkajs.KafkaConfig, 'logLevel' | 'logCreator'> {
  if (!trace) return { logLevel: logLevel.NOTHING };
  // A line repeated back to back is kept at its 1st, 2nd, 4th, 8th... time: a kafkajs runner
  // spinning on "consumer not running, exiting" after a stop once wrote 5 GB in 5 minutes.
  let last = '';
  let repeats = 0;
  return {
    logLevel: logLevel.DEBUG,
    logCreator: () => (e) => {
      const message = String(e.log.message ?? '');
      if (e.level >= logLevel.INFO && /^(Request|Response|Sending|Connecting|Received request|Discovered|Fetch)/.test(message)) return;
      repeats = message === last ? repeats + 1 : 1;
      last = message;
      if ((repeats & (repeats - 1)) !== 0) return;
      trace({ kafkajs: e.level, ...e.log, ...(repeats > 1 ? { repeats } : {}) });
    },
  };
}

/** Traces every batch a consumer is handed: each partition's position and its HW. */
function traceBatches(consumer: kafkajs.Consumer, trace: ((entry: Record<string, unknown>) => void) | null, member: number): void {
  if (!trace) return;
  consumer.on(consumer.events.GROUP_JOIN, (e) => trace({ member, join: e.payload }));
  // Which broker each fetch went to (at most one line per broker every 2 s, with the longest wait).
  const lastFetch = new Map<string, { at: number; longest: number; count: number }>();
  consumer.on(consumer.events.REQUEST, (e) => {
    const r = e.payload as { apiName: string; broker: string; duration: number };
    if (r.apiName !== 'Fetch') return;
    const now = Date.now();
    const seen = lastFetch.get(r.broker) ?? { at: 0, longest: 0, count: 0 };
    seen.longest = Math.max(seen.longest, r.duration);
    seen.count++;
    if (now - seen.at >= 2000) {
      trace({ member, fetches: { broker: r.broker, count: seen.count, longestMs: seen.longest } });
      seen.at = now;
      seen.longest = 0;
      seen.count = 0;
    }
    lastFetch.set(r.broker, seen);
  });
  consumer.on(consumer.events.START_BATCH_PROCESS, (e) => {
    const b = e.payload as { partition: number; firstOffset: string; lastOffset: string; highWatermark: string; batchSize: number };
    trace({ member, batch: { p: b.partition, first: b.firstOffset, last: b.lastOffset, hw: b.highWatermark, n: b.batchSize } });
  });
}

/** A consumer group of two kafkajs members reading TOPIC continuously, committing as it goes. */
export class GroupReader {
  /** value → partition:offset where it was read (the last time). */
  readonly seen = new Map<string, string>();
  readonly errors: string[] = [];
  crashes = 0;
  private consumers: kafkajs.Consumer[] = [];

  constructor(private readonly s: Shared) {}

  async start(): Promise<void> {
    const trace = diagnosisTrace();
    const kafka = new Kafka({
      clientId: 'jepsen-reader',
      brokers: this.s.bootstrap,
      ...tracedLogging(trace),
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    /** partition → the highest offset read, to spot rewinds. */
    const highest = new Map<number, number>();
    for (let i = 0; i < 2; i++) {
      const consumer = kafka.consumer({
        groupId: GROUP,
        sessionTimeout: 10_000,
        heartbeatInterval: 1000,
        rebalanceTimeout: 10_000,
        retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      consumer.on(consumer.events.CRASH, (e) => {
        this.crashes++;
        if (this.errors.length < 20) this.errors.push(String(e.payload.error));
      });
      traceBatches(consumer, trace, i);
      await consumer.connect();
      await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
      await consumer.run({
        autoCommitInterval: 300,
        eachMessage: async ({ partition, message }) => {
          const value = message.value?.toString();
          if (value) this.seen.set(value, `${partition}:${message.offset}`);
          if (trace) {
            const offset = Number(message.offset);
            const before = highest.get(partition) ?? -1;
            if (offset < before - 500) trace({ member: i, rewind: { partition, from: before, to: offset } });
            highest.set(partition, Math.max(before, offset));
          }
        },
      });
      this.consumers.push(consumer);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.consumers.map((c) => c.disconnect().catch(() => undefined)));
  }
}

/**
 * Polls the group's committed offsets (OffsetFetch through kafkajs's admin) and records any that
 * went backwards: a committed offset, once read back, must never be seen lower again.
 */
export class CommitWatcher {
  readonly last = new Map<number, number>();
  readonly regressions: string[] = [];
  private readonly reported = new Set<string>();
  observations = 0;
  /** What the cluster is going through (set by the harness), for the report of a regression. */
  phase = 'start';
  /** Describes the brokers' view of the group when a regression is seen (set by the harness). */
  diagnose: (() => Promise<string>) | null = null;
  private admin: kafkajs.Admin | null = null;
  private loop: Promise<void> | null = null;

  constructor(private readonly s: Shared) {}

  start(): void {
    const kafka = new Kafka({
      clientId: 'jepsen-watcher',
      brokers: this.s.bootstrap,
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    });
    this.admin = kafka.admin();
    this.loop = (async () => {
      let connected = false;
      while (!this.s.stopping) {
        try {
          if (!connected) {
            await this.admin!.connect();
            connected = true;
          }
          await this.observe();
        } catch {
          // the coordinator is moving: look again later
        }
        await sleep(300);
      }
    })();
  }

  async observe(): Promise<void> {
    const res = await this.admin!.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    const found: string[] = [];
    for (const p of res[0]?.partitions ?? []) {
      const offset = Number(p.offset);
      if (offset < 0) continue;
      const before = this.last.get(p.partition);
      // Reported once per high mark: a lost commit stays lost for many observations.
      const mark = `${p.partition}@${before}`;
      if (before !== undefined && offset < before && !this.reported.has(mark)) {
        this.reported.add(mark);
        found.push(`committed offset of ${TOPIC}-${p.partition} went back from ${before} to ${offset} (${this.phase})`);
      }
      this.last.set(p.partition, before === undefined ? offset : Math.max(before, offset));
      this.observations++;
    }
    if (found.length === 0) return;
    // What each broker says right now: which one answers as the group's coordinator, and with what.
    const state = this.diagnose ? await this.diagnose().catch((err: unknown) => `diagnosis failed: ${String(err)}`) : '';
    this.regressions.push(...found.map((f) => (state ? `${f}; ${state}` : f)));
  }

  async stop(): Promise<void> {
    await this.loop;
    await this.admin?.disconnect().catch(() => undefined);
  }
}

export interface TxnOutcome {
  /** txn id → its values and what the producer was told. */
  txns: Map<string, { values: string[]; outcome: 'committed' | 'aborted' | 'unknown' }>;
  /** Every value a read_committed consumer read. */
  seen: Set<string>;
  failures: number;
  errors: string[];
}

/**
 * A kafkajs transactional producer: each transaction writes 1..4 records over both partitions of
 * TXN_TOPIC, then commits (about 70%) or aborts. A read_committed consumer reads all the while.
 */
export class Transactions {
  readonly out: TxnOutcome = { txns: new Map(), seen: new Set(), failures: 0, errors: [] };
  readerCrashes = 0;
  /** value → partition:offset where the read_committed reader read it (a violation names them). */
  readonly readAt = new Map<string, string>();
  private consumer: kafkajs.Consumer | null = null;
  private loop: Promise<void> | null = null;

  constructor(private readonly s: Shared) {}

  async start(): Promise<void> {
    const kafka = new Kafka({
      clientId: 'jepsen-txn',
      brokers: this.s.bootstrap,
      logLevel: logLevel.NOTHING,
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    // The read_committed reader has its own client, traced under TRIBUTARY_TEST_LOG_DIR.
    const trace = diagnosisTrace('txn-reader');
    const readerKafka = new Kafka({
      clientId: 'jepsen-txn-reader',
      brokers: this.s.bootstrap,
      ...tracedLogging(trace),
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const consumer = readerKafka.consumer({
      groupId: TXN_READER_GROUP,
      readUncommitted: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    traceBatches(consumer, trace, 0);
    consumer.on(consumer.events.CRASH, (e) => {
      this.readerCrashes++;
      note(this.out, `read_committed consumer: ${String(e.payload.error)}`);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: TXN_TOPIC, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const value = message.value!.toString();
        this.out.seen.add(value);
        this.readAt.set(value, `${partition}:${message.offset}`);
      },
    });
    this.consumer = consumer;
    this.loop = this.produce(kafka);
  }

  /** What the transactional producer is doing (for the report of one that never stops). */
  private step = 'starting';
  /** Set when the producer did not stop within its bound at the end. */
  private stuck: string | null = null;

  private async produce(kafka: kafkajs.Kafka): Promise<void> {
    let incarnation = 0;
    while (!this.s.stopping) {
      incarnation++;
      const producer = kafka.producer({
        transactionalId: 'jepsen-tx',
        idempotent: true,
        maxInFlightRequests: 1,
        retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      try {
        this.step = `connecting producer incarnation ${incarnation}`;
        await producer.connect();
      } catch (err) {
        note(this.out, err);
        await sleep(300);
        continue;
      }
      let n = 0;
      let failed = false;
      while (!this.s.stopping && !failed) {
        const id = `${incarnation}.${n++}`;
        const count = 1 + Math.floor(this.s.random() * 4);
        const values = Array.from({ length: count }, (_, i) => `tx:${id}:${i}/${count}`);
        const commit = this.s.random() < 0.7;
        const record = { values, outcome: 'unknown' as 'committed' | 'aborted' | 'unknown' };
        this.out.txns.set(id, record);
        try {
          this.step = `beginning transaction ${id}`;
          const txn = await producer.transaction();
          try {
            for (const [i, value] of values.entries()) {
              this.step = `sending record ${i} of transaction ${id}`;
              await txn.send({ topic: TXN_TOPIC, acks: -1, messages: [{ partition: i % 2, value }] });
            }
            this.step = `${commit ? 'committing' : 'aborting'} transaction ${id}`;
            if (commit) await txn.commit();
            else await txn.abort();
            record.outcome = commit ? 'committed' : 'aborted';
          } catch (err) {
            // An abort that succeeds settles it; one that fails leaves the outcome unknown (a
            // commit whose answer was lost may have gone through).
            this.step = `aborting transaction ${id} after an error`;
            if (
              await txn.abort().then(
                () => true,
                () => false,
              )
            )
              record.outcome = 'aborted';
            throw err;
          }
        } catch (err) {
          this.out.failures++;
          note(this.out, err);
          failed = true;
        }
        await sleep(Math.floor(this.s.random() * 30));
      }
      this.step = `disconnecting producer incarnation ${incarnation}`;
      await producer.disconnect().catch(() => undefined);
    }
  }

  /**
   * Waits (bounded) for the reader to see every committed transaction, then stops. `onStall`
   * runs first when it did not (the reader still in its group: a diagnosis).
   */
  async finish(timeoutMs: number, onStall?: () => Promise<void>): Promise<void> {
    // Bounded: a kafkajs call that never settles must not hang the run (found 16), it is reported.
    let timer: NodeJS.Timeout | undefined;
    const stopped = await Promise.race([this.loop?.then(() => true) ?? true, new Promise<false>((r) => (timer = setTimeout(() => r(false), 60_000)))]);
    clearTimeout(timer);
    if (!stopped) this.stuck = `the transactional producer did not stop within 60 s of the end (last step: ${this.step})`;
    const deadline = Date.now() + timeoutMs;
    // Every committed transaction read whole, and every unknown one read whole or not at all.
    const settled = () =>
      [...this.out.txns.values()].every((t) => {
        const seen = t.values.filter((v) => this.out.seen.has(v)).length;
        return t.outcome === 'committed' ? seen === t.values.length : t.outcome === 'unknown' ? seen === 0 || seen === t.values.length : true;
      });
    while (Date.now() < deadline && !settled()) await sleep(100);
    if (!settled() && onStall) await onStall().catch(() => undefined);
    await this.consumer?.disconnect().catch(() => undefined);
  }

  /** Aborted or partial transactions read, committed ones missing. */
  violations(): string[] {
    const found: string[] = this.stuck ? [this.stuck] : [];
    for (const [id, t] of this.out.txns) {
      const seen = t.values.filter((v) => this.out.seen.has(v));
      const at = ` (read at ${seen.map((v) => this.readAt.get(v)).join(', ')})`;
      if (t.outcome === 'aborted' && seen.length > 0) found.push(`read_committed read ${seen.length} record(s) of the aborted transaction ${id}${at}`);
      else if (t.outcome === 'committed' && seen.length < t.values.length)
        found.push(`read_committed read ${seen.length} of ${t.values.length} records of the committed transaction ${id}`);
      else if (t.outcome === 'unknown' && seen.length > 0 && seen.length < t.values.length)
        found.push(`read_committed read a partial transaction ${id} (${seen.length} of ${t.values.length} records)${at}`);
    }
    return found;
  }
}
