// Crash torture: a seeded loop that runs a real broker process under idempotent acks=all
// producers and offset commits, kills it with SIGKILL (after a random delay, or at a named crash
// point inside a roll, a cleaner swap, a retention pass, ... — see src/common/crash-points.ts),
// restarts it on the same data directory and checks with an independent reader (log-reader.ts)
// that nothing acknowledged was lost, duplicated, reordered or moved. See RELIABILITY.md.
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { CRASH_POINTS, type CrashPoint } from '../../src/common/crash-points.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { startBrokerProcess, tempDir, type BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { produceRequest } from '../helpers/requests.js';
import { API, KafkaRequestError, readPartition, type PartitionContents } from './log-reader.js';
import { rng as mulberry32 } from '../helpers/rng.js';
import { waitUntil } from '../helpers/wait.js';

/** How a topic's contents are judged: plain keeps everything, retention a suffix, compact the latest value per key. */
export type TopicKind = 'plain' | 'retention' | 'compact';

export interface TopicSpec {
  name: string;
  partitions: number;
  kind: TopicKind;
  configs: Record<string, string>;
}

export const TOPICS: TopicSpec[] = [
  { name: 'torture-plain', partitions: 3, kind: 'plain', configs: { 'segment.bytes': '16384' } },
  // Size-based retention deletes while producers write; the short retention.ms sometimes empties a partition.
  { name: 'torture-retention', partitions: 2, kind: 'retention', configs: { 'segment.bytes': '8192', 'retention.bytes': '32768', 'retention.ms': '20000' } },
  // Every 8th record is a tombstone; they are removed one second after the clean that first keeps them.
  {
    name: 'torture-compact',
    partitions: 2,
    kind: 'compact',
    configs: { 'cleanup.policy': 'compact', 'segment.bytes': '8192', 'min.cleanable.dirty.ratio': '0.01', 'delete.retention.ms': '1000' },
  },
];

/** Keys of the compacted topic: few, so the cleaner has plenty to remove. */
const COMPACT_KEYS = 40;
const GROUP = 'torture-group';
const COMMIT_TOPIC = 'torture-plain';

const BROKER_OVERRIDES: Record<string, string> = {
  'log.retention.check.interval.ms': '250',
  'log.cleaner.backoff.ms': '200',
  'log.cleaner.min.cleanable.ratio': '0.01',
  'offsets.topic.num.partitions': '2',
  // __consumer_offsets rolls and is compacted during the run too.
  'log.segment.bytes': '65536',
  'log.level': 'info',
};

/** For each crash point, the largest n drawn for TRIBUTARY_CRASH_AT=<point>:<n> (how often it is reached per second of run). */
const CRASH_POINT_MAX_N: Record<CrashPoint, number> = { append: 400, written: 400, roll: 25, seal: 25, retention: 4, clean: 4, 'offset-commit': 40, recovery: 14 };

/** Errors a producer or committer retries (the broker is restarting, or a disk fault). */
const RETRIABLE = new Set<number>([
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.NOT_COORDINATOR,
]);

export interface TortureOptions {
  seed: number;
  cycles: number;
  /** Share of cycles killed at a crash point rather than after a random delay (default 0.5). */
  crashPointShare?: number;
  /** Random kill delay bounds after producers resume (default 300..2500 ms). */
  minRunMs?: number;
  maxRunMs?: number;
  /** A cycle armed with a crash point that is not reached within this is killed anyway (default 6000 ms). */
  crashPointCapMs?: number;
  progress?: (line: string) => void;
  /** Starts no new cycle after this long (the run still ends with its final checks). */
  maxDurationMs?: number;
  /** Fixed kill kinds, one per cycle in order (a crash point, or 'delay'), instead of drawing them. */
  schedule?: Array<CrashPoint | 'delay'>;
  /** Extra invariants (transactions, ...) run next to the built-in ones. */
  extensions?: TortureExtension[];
}

/**
 * The extension point for invariants of features built later. `start` runs its own workload
 * while the broker is up (it gets the gate to wait for the broker and a stop flag); `verify`
 * runs after every restart with the independent reader's connection and returns violations.
 * A "transactions intact" check belongs here: transactional producers committing and aborting,
 * then a read_committed reader that must see exactly the committed records.
 */
export interface TortureExtension {
  name: string;
  /** Topics it needs, created with the torture's own. */
  topics?: TopicSpec[];
  /** Producers it runs: judged, counted and reported like the torture's own (lost, duplicates, order). */
  producers?: PartitionProducer[];
  setup?(client: RawClient): Promise<void>;
  start?(ctx: WorkloadContext): Promise<void>;
  verify(client: RawClient): Promise<string[]>;
  /** One line for the report (what its workload did). */
  summary?(): string;
}

export interface WorkloadContext {
  /** Resolves with a connection once the broker is up and verified; null when the run is over. */
  connect(): Promise<RawClient | null>;
  readonly stopping: boolean;
  random: () => number;
}

export interface TortureReport {
  seed: number;
  cycles: number;
  durationMs: number;
  /** Records whose produce was acknowledged (acks=all). */
  recordsAcknowledged: number;
  batchesAcknowledged: number;
  /** Batches in flight at a kill that were found in the log afterwards; their retry was acknowledged (with the original offsets: checked). */
  retriesDeduplicated: number;
  /** Distinct acknowledged records found missing (outside what retention/compaction may remove). */
  recordsLost: number;
  /** Distinct records found more than once. */
  duplicates: number;
  /** Offset commits acknowledged / checked after each restart. */
  commitsAcknowledged: number;
  verifications: number;
  kills: { randomDelay: number; crashPoints: Partial<Record<CrashPoint, number>>; crashPointsNotReached: Partial<Record<CrashPoint, number>>; duringStartup: number };
  /** Records in the log at the end, per topic. */
  finalRecords: Record<string, number>;
  cleanShutdownExitCode: number | null;
  /** The extensions' own summaries. */
  extensions: string[];
  /** Every invariant violation (first 100), lost and duplicated records included. */
  violations: string[];
  brokerErrorLogs: string[];
}

/** The torture's random delays (when to kill, how fast to produce): time on purpose, not waits for a condition. */
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const closedPromises = new WeakMap<RawClient, Promise<never>>();

/** Rejects when the connection closes: requests to a killed broker fail at once, not after a timeout. */
export function request<T = any>(client: RawClient, apiKey: number, version: number, body: unknown): Promise<{ body: T }> {
  if (client.closed) return Promise.reject(new Error('connection closed'));
  let closed = closedPromises.get(client);
  if (!closed) {
    closed = new Promise<never>((_, reject) => client.socket.once('close', () => reject(new Error('connection closed'))));
    closed.catch(() => undefined);
    closedPromises.set(client, closed);
  }
  return Promise.race([client.request<T>(apiKey, version, body), closed]);
}

/** Who and what a record is: the value encodes topic, partition and sequence (plus padding). */
function recordValue(topic: string, partition: number, seq: number, pad: number): string {
  return `${topic}:${partition}:${seq}:${'x'.repeat(pad)}`;
}

/** Compacted topics: which records are tombstones (null value; the sequence travels in a header). */
function isTombstone(kind: TopicKind, seq: number): boolean {
  return kind === 'compact' && seq % 8 === 7;
}

function recordKey(kind: TopicKind, partition: number, seq: number): string {
  return kind === 'compact' ? `k${seq % COMPACT_KEYS}` : `${partition}-${seq}`;
}

interface InFlight {
  baseSeq: number;
  count: number;
  bytes: Buffer;
}

/** One idempotent producer per partition, with its own producer id, keeping one batch in flight. */
export class PartitionProducer {
  producerId = -1;
  producerEpoch = 0;
  nextSeq = 0;
  inflight: InFlight | null = null;
  /** seq → offset the broker acknowledged it at. */
  readonly acked = new Map<number, number>();
  /** Compacted topics: key → highest acknowledged seq. */
  readonly latestAckedByKey = new Map<string, number>();
  batchesAcked = 0;
  dedupedRetries = 0;
  /** The batch in flight was found in the log after a kill: its retry must be deduplicated. */
  inflightWritten = false;
  stopped: string | null = null;

  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly kind: TopicKind,
    /**
     * For a partition shared with other producers: names this producer in its record values
     * (instead of the topic) and sends transactional batches when `transactionalId` is set.
     */
    readonly shared: { label: string; transactionalId?: string } | null = null,
  ) {}

  /** What the values of this producer's records start with. */
  get label(): string {
    return this.shared?.label ?? this.topic;
  }

  private nextBatch(random: () => number): InFlight {
    const count = 1 + Math.floor(random() * 20);
    const baseSeq = this.nextSeq;
    const records = Array.from({ length: count }, (_, i) => ({
      key: recordKey(this.kind, this.partition, baseSeq + i),
      value: isTombstone(this.kind, baseSeq + i) ? null : recordValue(this.label, this.partition, baseSeq + i, Math.floor(random() * 120)),
      headers: [{ key: 'seq', value: String(baseSeq + i) }],
    }));
    this.nextSeq += count;
    const transactional = this.shared?.transactionalId !== undefined;
    const bytes = buildRecordBatch(records, { producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence: baseSeq, transactional });
    return { baseSeq, count, bytes };
  }

  async run(ctx: WorkloadContext, violations: string[], finishing: () => boolean): Promise<void> {
    let client: RawClient | null = null;
    while (this.stopped === null) {
      if (!client || client.closed) {
        client = await ctx.connect();
        if (!client) return;
      }
      if (!this.inflight) {
        if (finishing() || ctx.stopping) return;
        this.inflight = this.nextBatch(ctx.random);
      }
      let code: number;
      let baseOffset: number;
      try {
        // The batch bytes are sent as they are on every retry: same producer id, epoch and sequence.
        const req = { ...produceRequest(this.topic, this.partition, this.inflight.bytes, -1), transactionalId: this.shared?.transactionalId ?? null };
        const res = await request(client, API.Produce, 9, req);
        const p = res.body.responses[0].partitionResponses[0];
        code = p.errorCode;
        baseOffset = Number(p.baseOffset);
      } catch {
        client.close();
        continue; // the broker died: the next connection waits for the restart
      }
      if (code === ErrorCode.NONE) {
        const { baseSeq, count } = this.inflight;
        for (let i = 0; i < count; i++) {
          this.acked.set(baseSeq + i, baseOffset + i);
          if (this.kind === 'compact') this.latestAckedByKey.set(recordKey('compact', this.partition, baseSeq + i), baseSeq + i);
        }
        this.batchesAcked++;
        // Pace the producers: enough for group commits and rolls, not so much that reading the
        // log back after each restart dominates a long run.
        await sleep(Math.floor(ctx.random() * 25));
        if (this.inflightWritten) this.dedupedRetries++;
        this.inflightWritten = false;
        this.inflight = null;
      } else if (RETRIABLE.has(code)) {
        await sleep(20);
      } else {
        this.stopped = `${this.topic}-${this.partition}: produce of seq ${this.inflight.baseSeq}..${this.inflight.baseSeq + this.inflight.count - 1} answered ${errorName(code)}`;
        violations.push(this.stopped);
      }
    }
  }
}

/** Commits a rising counter as the group's offset of every partition of COMMIT_TOPIC. */
class Committer {
  counter = 0;
  readonly lastAcked: number[];
  readonly lastAttempted: number[];
  acked = 0;

  constructor(readonly partitions: number) {
    this.lastAcked = new Array<number>(partitions).fill(-1);
    this.lastAttempted = new Array<number>(partitions).fill(-1);
  }

  async run(ctx: WorkloadContext, violations: string[]): Promise<void> {
    let client: RawClient | null = null;
    while (!ctx.stopping) {
      if (!client || client.closed) {
        client = await ctx.connect();
        if (!client) return;
      }
      const value = ++this.counter;
      const partitions = Array.from({ length: this.partitions }, (_, i) => i);
      for (const p of partitions) this.lastAttempted[p] = value;
      try {
        const res = await request(client, API.OffsetCommit, 8, {
          groupId: GROUP,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          retentionTimeMs: -1,
          topics: [
            { name: COMMIT_TOPIC, partitions: partitions.map((p) => ({ partitionIndex: p, committedOffset: value, committedLeaderEpoch: -1, committedMetadata: null })) },
          ],
        });
        for (const p of res.body.topics[0].partitions) {
          if (p.errorCode === ErrorCode.NONE) {
            this.lastAcked[p.partitionIndex] = value;
            this.acked++;
          } else if (!RETRIABLE.has(p.errorCode)) {
            violations.push(`offset commit of ${value} for partition ${p.partitionIndex} answered ${errorName(p.errorCode)}`);
            return;
          }
        }
      } catch {
        client.close();
        continue;
      }
      await sleep(20 + Math.floor(ctx.random() * 60));
    }
  }

  async verify(client: RawClient): Promise<string[]> {
    const res = await request(client, API.OffsetFetch, 7, {
      groupId: GROUP,
      topics: [{ name: COMMIT_TOPIC, partitionIndexes: Array.from({ length: this.partitions }, (_, i) => i) }],
      groups: [],
      requireStable: false,
    });
    const problems: string[] = [];
    if (res.body.errorCode !== ErrorCode.NONE) return [`OffsetFetch answered ${errorName(res.body.errorCode)}`];
    for (const p of res.body.topics[0]?.partitions ?? []) {
      const committed = Number(p.committedOffset);
      const i = p.partitionIndex;
      if (committed < this.lastAcked[i]! || committed > this.lastAttempted[i]!) {
        problems.push(`group offset of ${COMMIT_TOPIC}-${i} is ${committed}; last acknowledged commit ${this.lastAcked[i]}, last attempted ${this.lastAttempted[i]}`);
      }
    }
    return problems;
  }
}

interface VerifyOutcome {
  presentSeqs: Map<number, number>;
  lost: string[];
  duplicates: string[];
  violations: string[];
  records: number;
}

/**
 * Judges one partition's contents against what its producer sent and had acknowledged. In a
 * partition shared by several producers only this producer's records count, and offsets are not
 * expected to be contiguous (the others' records sit between them).
 */
export function judgePartition(producer: PartitionProducer, all: PartitionContents): VerifyOutcome {
  const { topic, partition, kind, label } = producer;
  const name = producer.shared ? `${topic}-${partition} (${label})` : `${topic}-${partition}`;
  const contents = producer.shared ? { ...all, records: all.records.filter((r) => r.value?.startsWith(`${label}:`)) } : all;
  const present = new Map<number, number>(); // seq → offset
  const out: VerifyOutcome = { presentSeqs: present, lost: [], duplicates: [], violations: [], records: contents.records.length };
  const latestPresentByKey = new Map<string, number>();
  let previousOffset = -1;
  let previousSeq = -1;
  for (const r of contents.records) {
    const parts = (r.value ?? '').split(':');
    const seq = r.value === null ? Number(r.headers.seq) : Number(parts[2]);
    if (r.value === null ? !isTombstone(kind, seq) : parts[0] !== label || Number(parts[1]) !== partition || !Number.isInteger(seq) || r.headers.seq !== String(seq)) {
      out.violations.push(`${name}@${r.offset}: a record that was not produced here (${(r.value ?? 'null').slice(0, 60)})`);
      continue;
    }
    if (r.key !== recordKey(kind, partition, seq)) out.violations.push(`${name}@${r.offset}: seq ${seq} has key ${r.key}`);
    if (r.offset <= previousOffset) out.violations.push(`${name}@${r.offset}: offsets go back (previous ${previousOffset})`);
    if (present.has(seq)) out.duplicates.push(`${name} seq ${seq} at offsets ${present.get(seq)} and ${r.offset}`);
    else if (seq < previousSeq) out.violations.push(`${name}@${r.offset}: seq ${seq} after seq ${previousSeq} (order lost)`);
    if (seq >= producer.nextSeq) out.violations.push(`${name}@${r.offset}: seq ${seq} was never sent`);
    const ackedAt = producer.acked.get(seq);
    if (ackedAt !== undefined && ackedAt !== r.offset) out.violations.push(`${name}: seq ${seq} acknowledged at offset ${ackedAt} but found at ${r.offset}`);
    present.set(seq, r.offset);
    if (kind === 'compact') latestPresentByKey.set(r.key!, Math.max(seq, latestPresentByKey.get(r.key!) ?? -1));
    previousOffset = r.offset;
    previousSeq = Math.max(previousSeq, seq);
  }
  const records = contents.records;
  if (kind !== 'retention' && contents.logStartOffset !== 0) out.violations.push(`${name}: log start offset ${contents.logStartOffset} without retention`);
  if (kind !== 'compact' && !producer.shared) {
    // Contiguous offsets from the log start to the high watermark, and a contiguous run of sequences.
    const expected = contents.highWatermark - contents.logStartOffset;
    if (records.length !== expected || (records.length > 0 && records[0]!.offset !== contents.logStartOffset)) {
      out.violations.push(`${name}: ${records.length} records between log start ${contents.logStartOffset} and high watermark ${contents.highWatermark}`);
    }
    for (let i = 1; i < records.length; i++) {
      if (records[i]!.offset !== records[i - 1]!.offset + 1) {
        out.violations.push(`${name}: offset gap ${records[i - 1]!.offset} → ${records[i]!.offset}`);
        break;
      }
    }
  }
  if (kind !== 'compact') {
    for (const [seq, offset] of producer.acked) {
      if (offset >= contents.logStartOffset && !present.has(seq)) out.lost.push(`${name} seq ${seq} (acknowledged at offset ${offset})`);
    }
  } else {
    // The latest acknowledged record of each key (or a later one) is there; after a tombstone,
    // the key may be gone altogether, but an older value must never come back.
    for (const [key, seq] of producer.latestAckedByKey) {
      const latest = latestPresentByKey.get(key) ?? -1;
      if (latest >= seq || (latest === -1 && isTombstone(kind, seq))) continue;
      if (isTombstone(kind, seq)) out.violations.push(`${name} key ${key}: seq ${latest} came back after the tombstone seq ${seq}`);
      else out.lost.push(`${name} key ${key}: latest acknowledged seq ${seq}, latest present ${latest}`);
    }
  }
  return out;
}

export function summarize(r: TortureReport): string {
  const points = Object.entries(r.kills.crashPoints)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  const missed = Object.entries(r.kills.crashPointsNotReached)
    .map(([p, n]) => `${p} ${n}`)
    .join(', ');
  return [
    `torture: seed ${r.seed}, ${r.cycles} cycles in ${(r.durationMs / 1000).toFixed(1)} s, ${r.verifications} verifications`,
    `  acknowledged: ${r.recordsAcknowledged} records in ${r.batchesAcknowledged} batches (${r.retriesDeduplicated} written before a kill and deduplicated on retry), ${r.commitsAcknowledged} offset commits`,
    `  lost: ${r.recordsLost}, duplicates: ${r.duplicates}, violations: ${r.violations.length}`,
    `  kills: ${r.kills.randomDelay} after a random delay; at crash points: ${points || 'none'}; armed but not reached: ${missed || 'none'}; during start-up: ${r.kills.duringStartup}`,
    ...r.extensions.map((e) => `  ${e}`),
    `  final records: ${Object.entries(r.finalRecords)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ')}; clean shutdown exit code ${r.cleanShutdownExitCode}`,
    ...r.violations.slice(0, 20).map((v) => `  ! ${v}`),
    ...r.brokerErrorLogs.slice(0, 10).map((l) => `  broker error: ${l}`),
  ].join('\n');
}

export async function runTorture(opts: TortureOptions): Promise<TortureReport> {
  const started = Date.now();
  // The plan (crash points, delays) has its own generator, so it replays exactly; the workload's
  // draws interleave with timing.
  const random = mulberry32(opts.seed);
  const workloadRandom = mulberry32(opts.seed ^ 0x5bd1e995);
  const progress = opts.progress ?? (() => undefined);
  const crashShare = opts.crashPointShare ?? 0.5;
  const minRun = opts.minRunMs ?? 300;
  const maxRun = opts.maxRunMs ?? 2500;
  const cap = opts.crashPointCapMs ?? 6000;
  const extensions = opts.extensions ?? [];
  const dataDir = tempDir('tributary-torture-');
  const violations: string[] = [];
  const lost = new Set<string>();
  const duplicates = new Set<string>();
  const brokerErrorLogs: string[] = [];
  const report: TortureReport = {
    seed: opts.seed,
    cycles: 0,
    durationMs: 0,
    recordsAcknowledged: 0,
    batchesAcknowledged: 0,
    retriesDeduplicated: 0,
    recordsLost: 0,
    duplicates: 0,
    commitsAcknowledged: 0,
    verifications: 0,
    kills: { randomDelay: 0, crashPoints: {}, crashPointsNotReached: {}, duringStartup: 0 },
    finalRecords: {},
    cleanShutdownExitCode: null,
    extensions: [],
    violations,
    brokerErrorLogs,
  };

  const producers = [
    ...TOPICS.flatMap((t) => Array.from({ length: t.partitions }, (_, p) => new PartitionProducer(t.name, p, t.kind))),
    ...extensions.flatMap((e) => e.producers ?? []),
  ];
  const topics = [...TOPICS, ...extensions.flatMap((e) => e.topics ?? [])];
  const committer = new Committer(TOPICS.find((t) => t.name === COMMIT_TOPIC)!.partitions);
  // The gate: workers wait on it for a broker that is up and verified.
  let port: number | null = null;
  let gate: { promise: Promise<void>; open: () => void } = newGate();
  let stopping = false;
  let finishing = false;
  const ctx: WorkloadContext = {
    async connect() {
      for (;;) {
        if (stopping) return null;
        await gate.promise;
        if (stopping) return null;
        if (port === null) continue;
        try {
          return await RawClient.connect(port);
        } catch {
          await sleep(50);
        }
      }
    },
    get stopping() {
      return stopping;
    },
    random: workloadRandom,
  };

  const collectErrors = (broker: BrokerProcess) => {
    for (const entry of broker.logs) {
      if (typeof entry.level === 'number' && entry.level >= 50) brokerErrorLogs.push(`${String(entry.msg)} ${JSON.stringify(entry.err ?? entry).slice(0, 300)}`);
    }
  };

  /** Reads everything back with fresh connections and judges it; returns false if the broker died meanwhile. */
  const verify = async (broker: BrokerProcess): Promise<boolean> => {
    const client = await RawClient.connect(broker.port);
    try {
      let records = 0;
      for (const producer of producers) {
        let contents: PartitionContents | null = null;
        // Retention may move the log start under the read: read again.
        for (let attempt = 0; attempt < 5 && !contents; attempt++) {
          try {
            contents = await readPartition(client, producer.topic, producer.partition);
          } catch (err) {
            if (!(err instanceof KafkaRequestError && err.code === ErrorCode.OFFSET_OUT_OF_RANGE && producer.kind === 'retention')) throw err;
          }
        }
        if (!contents) throw new Error(`${producer.topic}-${producer.partition}: log start kept moving under the read`);
        const outcome = judgePartition(producer, contents);
        records += outcome.records;
        const found: string[] = [...outcome.violations];
        for (const l of outcome.lost) {
          if (lost.has(l)) continue;
          lost.add(l);
          found.push(`lost: ${l}`);
        }
        for (const d of outcome.duplicates) {
          if (duplicates.has(d)) continue;
          duplicates.add(d);
          found.push(`duplicate: ${d}`);
        }
        for (const v of found.slice(0, 5)) progress(`  ! ${v}`);
        violations.push(...found);
        // A batch in flight at the kill that made it to the log: its retry must be answered as a duplicate.
        if (producer.inflight && outcome.presentSeqs.has(producer.inflight.baseSeq)) producer.inflightWritten = true;
      }
      violations.push(...(await committer.verify(client)));
      for (const ext of extensions) violations.push(...(await ext.verify(client)).map((v) => `${ext.name}: ${v}`));
      report.verifications++;
      progress(`  verified: ${records} records in the log`);
      return true;
    } catch (err) {
      // Killed at its crash point meanwhile (the transaction coordinator writes markers at start-up,
      // retention and the cleaner run): the socket closes a moment before the exit is reported.
      const dead = () => broker.child.exitCode !== null || broker.child.signalCode !== null;
      if (!dead()) await Promise.race([new Promise((resolve) => broker.child.once('exit', resolve)), sleep(3000)]);
      if (dead()) return false;
      throw err;
    } finally {
      client.close();
    }
  };

  const setup = async (broker: BrokerProcess) => {
    const client = await RawClient.connect(broker.port);
    try {
      const res = await request(client, API.CreateTopics, 5, {
        timeoutMs: 10_000,
        validateOnly: false,
        topics: topics.map((t) => ({
          name: t.name,
          numPartitions: t.partitions,
          replicationFactor: 1,
          assignments: [],
          configs: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
        })),
      });
      for (const t of res.body.topics) {
        // TOPIC_ALREADY_EXISTS: a set-up cut by a crash point is being done again.
        if (t.errorCode !== ErrorCode.NONE && t.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS)
          throw new Error(`CreateTopics ${t.name}: ${errorName(t.errorCode)} ${t.errorMessage}`);
      }
      for (const producer of producers) {
        const init = await request(client, API.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
        if (init.body.errorCode !== ErrorCode.NONE) throw new Error(`InitProducerId: ${errorName(init.body.errorCode)}`);
        producer.producerId = Number(init.body.producerId);
        producer.producerEpoch = init.body.producerEpoch;
      }
      for (const ext of extensions) await ext.setup?.(client);
    } finally {
      client.close();
    }
  };

  // A torture stopped from outside (Ctrl-C, a test timeout) must not leave its broker running.
  let current: BrokerProcess | null = null;
  const live = (broker: BrokerProcess) => (current = broker);
  const killCurrent = () => {
    if (current && current.child.exitCode === null && current.child.signalCode === null) current.child.kill('SIGKILL');
  };
  process.once('exit', killCurrent);

  let workers: Promise<void>[] = [];
  const startWorkers = () => {
    workers = [
      ...producers.map((p) => p.run(ctx, violations, () => finishing)),
      committer.run(ctx, violations),
      ...extensions.map((e) => e.start?.(ctx) ?? Promise.resolve()),
    ];
  };

  try {
    for (let cycle = 0; cycle < opts.cycles; cycle++) {
      if (opts.maxDurationMs !== undefined && Date.now() - started > opts.maxDurationMs) {
        progress(`stopping after ${cycle} cycles: the time budget is used up`);
        break;
      }
      const drawn = random() < crashShare ? CRASH_POINTS[Math.floor(random() * CRASH_POINTS.length)]! : null;
      const scheduled = opts.schedule?.[cycle % opts.schedule.length];
      const point: CrashPoint | null = scheduled === undefined ? drawn : scheduled === 'delay' ? null : scheduled;
      const n = point ? 1 + Math.floor(random() * CRASH_POINT_MAX_N[point]) : 0;
      const delay = minRun + Math.floor(random() * (maxRun - minRun));
      const env: Record<string, string> = point ? { TRIBUTARY_CRASH_AT: `${point}:${n}` } : {};
      let broker: BrokerProcess;
      try {
        broker = live(await startBrokerProcess({ dataDir, overrides: BROKER_OVERRIDES, env }));
      } catch (err) {
        // Killed at the crash point while opening the logs: that is a kill too.
        if (point && /before starting/.test(String(err))) {
          report.kills.duringStartup++;
          report.kills.crashPoints[point] = (report.kills.crashPoints[point] ?? 0) + 1;
          report.cycles++;
          progress(`cycle ${cycle}: killed at ${point}:${n} during start-up`);
          continue;
        }
        throw err;
      }
      try {
        if (workers.length === 0) {
          try {
            await setup(broker);
          } catch (err) {
            // Killed at its crash point during the set-up: the next cycle sets up again.
            const dead = () => broker.child.exitCode !== null || broker.child.signalCode !== null;
            if (!dead()) await Promise.race([new Promise((resolve) => broker.child.once('exit', resolve)), sleep(3000)]);
            if (!dead()) throw err;
          }
          if (producers.every((p) => p.producerId >= 0)) startWorkers();
        }
        const verified = workers.length > 0 && (await verify(broker));
        if (verified) {
          port = broker.port;
          gate.open();
        }
        const exited = new Promise<void>((resolve) => {
          if (broker.child.exitCode !== null || broker.child.signalCode !== null) resolve();
          else broker.child.once('exit', () => resolve());
        });
        if (point) {
          const timedOut = await Promise.race([exited.then(() => false), sleep(cap).then(() => true)]);
          if (timedOut) report.kills.crashPointsNotReached[point] = (report.kills.crashPointsNotReached[point] ?? 0) + 1;
          else if (broker.child.signalCode === 'SIGKILL') report.kills.crashPoints[point] = (report.kills.crashPoints[point] ?? 0) + 1;
          else violations.push(`cycle ${cycle}: the broker exited by itself (code ${broker.child.exitCode}, signal ${broker.child.signalCode})`);
        } else {
          await Promise.race([exited, sleep(delay)]);
          if (broker.child.exitCode !== null || broker.child.signalCode !== null) {
            violations.push(`cycle ${cycle}: the broker exited by itself (code ${broker.child.exitCode}, signal ${broker.child.signalCode})`);
          }
          report.kills.randomDelay++;
        }
        // Workers still waiting on the old gate (a cycle whose verification was cut short by its
        // crash point never opened it) go round once and wait on the new one.
        port = null;
        const old = gate;
        gate = newGate();
        old.open();
        await broker.kill();
        collectErrors(broker);
        report.cycles++;
        progress(
          `cycle ${cycle}: ${point ? `crash point ${point}:${n}` : `killed after ${delay} ms`}; ${producers.reduce((s, p) => s + p.acked.size, 0)} records acknowledged so far`,
        );
      } catch (err) {
        await broker.kill();
        collectErrors(broker);
        throw err;
      }
    }

    // Final round: no kill. Let every producer finish its batch in flight (a retry across the last
    // kill), verify, shut down cleanly, and verify the clean restart once more.
    let broker = live(await startBrokerProcess({ dataDir, overrides: BROKER_OVERRIDES }));
    try {
      if (workers.length === 0) {
        await setup(broker);
        startWorkers();
      }
      await verify(broker);
      finishing = true;
      port = broker.port;
      gate.open();
      await waitUntil(() => !producers.some((p) => p.inflight && p.stopped === null), { timeout: 30_000, interval: 50 }).catch(() => undefined); // judged below
      for (const p of producers) if (p.inflight && p.stopped === null) violations.push(`${p.topic}-${p.partition}: batch in flight never acknowledged after the last restart`);
      stopping = true;
      gate.open();
      await Promise.all(workers);
      report.cleanShutdownExitCode = await broker.stop();
      collectErrors(broker);
      broker = live(await startBrokerProcess({ dataDir, overrides: BROKER_OVERRIDES }));
      await verify(broker);
      const client = await RawClient.connect(broker.port);
      try {
        for (const t of topics) {
          let total = 0;
          for (let p = 0; p < t.partitions; p++) total += (await readPartition(client, t.name, p)).records.length;
          report.finalRecords[t.name] = total;
        }
      } finally {
        client.close();
      }
    } finally {
      stopping = true;
      gate.open();
      await broker.stop();
      collectErrors(broker);
      broker.cleanup();
    }
  } finally {
    stopping = true;
    gate.open();
  }
  process.removeListener('exit', killCurrent);
  report.recordsAcknowledged = producers.reduce((s, p) => s + p.acked.size, 0);
  report.batchesAcknowledged = producers.reduce((s, p) => s + p.batchesAcked, 0);
  report.retriesDeduplicated = producers.reduce((s, p) => s + p.dedupedRetries, 0);
  report.commitsAcknowledged = committer.acked;
  report.extensions = extensions.map((e) => e.summary?.() ?? e.name);
  report.recordsLost = lost.size;
  report.duplicates = duplicates.size;
  report.durationMs = Date.now() - started;
  if (violations.length > 100) violations.splice(100);
  return report;
}

function newGate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
