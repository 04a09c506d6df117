// A producer: records are grouped per partition into v2 record batches (optionally compressed)
// and sent with one Produce request per leader. Keyed records go to the partition Java's default
// partitioner picks (see partitioner.ts); unkeyed records stick to one random partition per topic
// until that batch is sent, as the Java client's sticky partitioner does. Batches are sent when
// they reach `batchRecords` records or `batchBytes` bytes, or `lingerMs` after their first record.
import { ApiKey, type InitProducerIdResponse, type ProduceResponse } from '../protocol/generated/index.js';
import { buildRecordBatch, type BuildBatchOptions, type RecordInput } from '../protocol/records/record-batch-builder.js';
import { compressionTypeFromName, type CompressionName } from '../protocol/records/compression.js';
import { Cluster, type ClusterOptions, type TopicInfo } from './cluster.js';
import { KafkaClientError, throwIfError } from './errors.js';
import { partitionForKey } from './partitioner.js';

export type Acks = 0 | 1 | -1;

export interface ProducerOptions {
  /** 0: no answer; 1: the leader wrote it; -1 (all): every in-sync replica has it. Default -1. */
  acks?: Acks;
  compression?: CompressionName;
  /** How long the broker may wait for replication (acks=-1). */
  timeoutMs?: number;
  /** Send a partition's batch once it holds this many records (default 10000). */
  batchRecords?: number;
  /** ... or this many bytes of keys and values (default 1 MiB). */
  batchBytes?: number;
  /** Wait this long for more records before sending a batch (default 0: next event-loop turn). */
  lingerMs?: number;
  /** Let Metadata create unknown topics when the broker allows it, as Kafka's producers do (default true). */
  allowAutoTopicCreation?: boolean;
  /**
   * Idempotent producer: a producer id from InitProducerId and per-partition sequence numbers,
   * so a retried batch is written once. Needs acks=-1; sends one request at a time.
   */
  idempotent?: boolean;
}

export type HeaderInput = Record<string, string | Buffer | null> | Array<{ key: string; value: string | Buffer | null }>;

export interface ProducerRecord {
  key?: string | Buffer | null;
  value?: string | Buffer | null;
  headers?: HeaderInput;
  /** Explicit partition; otherwise chosen from the key. */
  partition?: number;
  /** CreateTime in ms; default now. */
  timestamp?: number;
}

export interface RecordMetadata {
  topic: string;
  partition: number;
  /** -1 with acks=0 (the broker does not say). */
  offset: number;
  /** The broker's LogAppendTime, or -1 for CreateTime topics. */
  logAppendTime: number;
}

interface Queued {
  record: RecordInput;
  resolve(m: RecordMetadata): void;
  reject(e: Error): void;
}

interface PartitionQueue {
  topic: string;
  partition: number;
  items: Queued[];
  bytes: number;
  failed?: boolean;
}

function toBuffer(v: string | Buffer | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
}

function headerList(h: HeaderInput | undefined): Array<{ key: string; value: Buffer | null }> {
  if (!h) return [];
  if (Array.isArray(h)) return h.map((x) => ({ key: x.key, value: toBuffer(x.value) }));
  return Object.entries(h).map(([key, value]) => ({ key, value: toBuffer(value) }));
}

export class Producer {
  readonly cluster: Cluster;
  private readonly ownsCluster: boolean;
  private readonly opts: Required<Omit<ProducerOptions, 'compression'>> & { compression: CompressionName };
  private producerId: { id: number; epoch: number } | null = null;
  private readonly sequences = new Map<string, number>();
  /** Idempotent sends go one after another, so a retry can never overtake a later batch. */
  private chain: Promise<void> = Promise.resolve();
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly sticky = new Map<string, number>();
  private lingerTimer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly lookups = new Set<Promise<TopicInfo>>();

  constructor(clusterOrOptions: Cluster | ClusterOptions, options: ProducerOptions = {}) {
    this.ownsCluster = !(clusterOrOptions instanceof Cluster);
    this.cluster = clusterOrOptions instanceof Cluster ? clusterOrOptions : new Cluster(clusterOrOptions);
    if (options.compression) compressionTypeFromName(options.compression); // validates the name
    this.opts = {
      acks: options.acks ?? -1,
      compression: options.compression ?? 'none',
      timeoutMs: options.timeoutMs ?? 30_000,
      batchRecords: options.batchRecords ?? 10_000,
      batchBytes: options.batchBytes ?? 1024 * 1024,
      lingerMs: options.lingerMs ?? 0,
      allowAutoTopicCreation: options.allowAutoTopicCreation ?? true,
      idempotent: options.idempotent ?? false,
    };
    if (this.opts.idempotent && this.opts.acks !== -1) throw new KafkaClientError('INVALID_REQUIRED_ACKS', 'an idempotent producer needs acks=-1 (all)');
    if (![0, 1, -1].includes(this.opts.acks)) throw new KafkaClientError('INVALID_REQUIRED_ACKS', `acks must be 0, 1 or -1 (all), got ${options.acks}`);
  }

  /**
   * Queues one record; resolves once its batch is acknowledged (or written, with acks=0). With
   * the topic's metadata cached, the record is queued before this returns, so records keep the
   * order of the calls.
   */
  produce(topic: string, record: ProducerRecord): Promise<RecordMetadata> {
    const cached = this.cluster.topics.get(topic);
    if (cached) {
      try {
        return this.enqueue(cached, topic, record);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const lookup = this.cluster.topic(topic, { allowAutoTopicCreation: this.opts.allowAutoTopicCreation });
    this.lookups.add(lookup);
    const settled = () => this.lookups.delete(lookup);
    lookup.then(settled, settled);
    return lookup.then((info) => this.enqueue(info, topic, record));
  }

  private enqueue(info: TopicInfo, topic: string, record: ProducerRecord): Promise<RecordMetadata> {
    const count = info.partitions.length;
    if (count === 0) throw new KafkaClientError('LEADER_NOT_AVAILABLE', `topic "${topic}" has no partitions yet`);
    const key = toBuffer(record.key);
    let partition: number;
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= count) {
        throw new KafkaClientError('UNKNOWN_TOPIC_OR_PARTITION', `topic "${topic}" has no partition ${record.partition} (it has ${count})`);
      }
      partition = record.partition;
    } else if (key !== null) {
      partition = partitionForKey(key, count);
    } else {
      let p = this.sticky.get(topic);
      if (p === undefined || p >= count) {
        p = Math.floor(Math.random() * count);
        this.sticky.set(topic, p);
      }
      partition = p;
    }
    const value = toBuffer(record.value);
    const headers = headerList(record.headers);
    const id = `${topic}\u0000${partition}`;
    let q = this.queues.get(id);
    if (!q) {
      q = { topic, partition, items: [], bytes: 0 };
      this.queues.set(id, q);
    }
    const queue = q;
    const done = new Promise<RecordMetadata>((resolve, reject) => {
      queue.items.push({ record: { key, value, headers, timestamp: record.timestamp }, resolve, reject });
    });
    queue.bytes += (key?.length ?? 0) + (value?.length ?? 0) + 16;
    if (queue.items.length >= this.opts.batchRecords || queue.bytes >= this.opts.batchBytes) this.drain([id]);
    else this.scheduleLinger();
    return done;
  }

  /** Sends records now (through the same batching) and resolves with each one's metadata. */
  async send(topic: string, records: ProducerRecord[]): Promise<RecordMetadata[]> {
    await this.cluster.topic(topic, { allowAutoTopicCreation: this.opts.allowAutoTopicCreation });
    const pending = records.map((r) => this.produce(topic, r));
    await this.flush();
    return Promise.all(pending);
  }

  private scheduleLinger(): void {
    if (this.lingerTimer) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      this.drain();
    }, this.opts.lingerMs);
  }

  /** Sends every queued batch and waits for all requests in flight. */
  async flush(): Promise<void> {
    // Records still waiting for their topic's metadata are queued first.
    while (this.lookups.size > 0) await Promise.allSettled([...this.lookups]).then(() => new Promise((r) => setImmediate(r)));
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    this.drain();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private drain(ids: string[] = [...this.queues.keys()]): void {
    const ready: PartitionQueue[] = [];
    for (const id of ids) {
      const q = this.queues.get(id);
      if (!q || q.items.length === 0) continue;
      this.queues.delete(id);
      ready.push(q);
      if (this.sticky.get(q.topic) === q.partition) this.sticky.delete(q.topic);
    }
    if (ready.length === 0) return;
    const send = this.opts.idempotent ? (this.chain = this.chain.then(() => this.sendBatches(ready))) : this.sendBatches(ready);
    const p = send.finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async initProducerId(): Promise<{ id: number; epoch: number }> {
    const res = await this.cluster.withRetry(async () => {
      const conn = await this.cluster.anyConnection();
      const r = await conn.request<InitProducerIdResponse>(ApiKey.InitProducerId, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
      throwIfError(r.errorCode, null, 'InitProducerId');
      return r;
    });
    this.sequences.clear();
    return { id: res.producerId, epoch: res.producerEpoch };
  }

  private async sendBatches(queues: PartitionQueue[]): Promise<void> {
    const batches = new Map<PartitionQueue, Buffer>();
    let pid: { id: number; epoch: number } | null = null;
    if (this.opts.idempotent) {
      try {
        pid = this.producerId ??= await this.initProducerId();
      } catch (err) {
        for (const q of queues) for (const i of q.items.splice(0)) i.reject(err as Error);
        return;
      }
    }
    for (const q of queues) {
      try {
        const options: BuildBatchOptions = { compression: this.opts.compression };
        if (pid) {
          const id = `${q.topic}\u0000${q.partition}`;
          const base = this.sequences.get(id) ?? 0;
          Object.assign(options, { producerId: pid.id, producerEpoch: pid.epoch, baseSequence: base });
        }
        batches.set(
          q,
          buildRecordBatch(
            q.items.map((i) => i.record),
            options,
          ),
        );
        if (pid) this.sequences.set(`${q.topic}\u0000${q.partition}`, ((options.baseSequence ?? 0) + q.items.length) % 0x80000000);
      } catch (err) {
        for (const i of q.items.splice(0)) i.reject(err as Error);
      }
    }
    let remaining = [...batches.keys()];
    try {
      await this.cluster.withRetry(async () => {
        const byLeader = new Map<number, PartitionQueue[]>();
        for (const q of remaining) {
          const leader = await this.cluster.leaderOf(q.topic, q.partition);
          byLeader.set(leader, [...(byLeader.get(leader) ?? []), q]);
        }
        const failures: KafkaClientError[] = [];
        await Promise.all(
          [...byLeader].map(async ([leader, qs]) => {
            const done = await this.produceTo(leader, qs, batches);
            failures.push(...done.failures);
          }),
        );
        remaining = remaining.filter((q) => q.items.length > 0);
        if (failures.length > 0) throw failures.find((f) => f.retriable) ?? failures[0]!;
      });
    } catch (err) {
      for (const q of remaining) {
        q.failed = true;
        for (const i of q.items.splice(0)) i.reject(err as Error);
      }
    }
    // A batch that failed for good leaves a gap in its partition's sequence: start over with a
    // new producer id rather than have every later batch refused as out of order.
    if (pid && [...batches.keys()].some((q) => q.failed)) this.producerId = null;
  }

  /** One Produce request to one leader; settles the items of partitions that are done. */
  private async produceTo(leader: number, qs: PartitionQueue[], batches: Map<PartitionQueue, Buffer>): Promise<{ failures: KafkaClientError[] }> {
    const conn = await this.cluster.brokerConnection(leader);
    const byTopic = new Map<string, PartitionQueue[]>();
    for (const q of qs) byTopic.set(q.topic, [...(byTopic.get(q.topic) ?? []), q]);
    const body = {
      transactionalId: null,
      acks: this.opts.acks,
      timeoutMs: this.opts.timeoutMs,
      topicData: [...byTopic].map(([name, list]) => ({ name, partitionData: list.map((q) => ({ index: q.partition, records: batches.get(q)! })) })),
    };
    if (this.opts.acks === 0) {
      await conn.request(ApiKey.Produce, body, { noResponse: true });
      for (const q of qs) for (const i of q.items.splice(0)) i.resolve({ topic: q.topic, partition: q.partition, offset: -1, logAppendTime: -1 });
      return { failures: [] };
    }
    const res = await conn.request<ProduceResponse>(ApiKey.Produce, body, {
      // The broker may hold the answer for up to timeoutMs (acks=all); give it that and a margin.
      timeoutMs: Math.max(this.cluster.options.requestTimeoutMs, this.opts.timeoutMs + 1000),
    });
    const failures: KafkaClientError[] = [];
    for (const t of res.responses) {
      for (const p of t.partitionResponses) {
        const q = byTopic.get(t.name)?.find((x) => x.partition === p.index);
        if (!q) continue;
        try {
          throwIfError(p.errorCode, p.errorMessage, `${t.name}-${p.index}`);
        } catch (err) {
          const e = err as KafkaClientError;
          if (e.retriable) failures.push(e);
          else {
            q.failed = true;
            for (const i of q.items.splice(0)) i.reject(e);
          }
          continue;
        }
        q.items.splice(0).forEach((i, n) => i.resolve({ topic: t.name, partition: p.index, offset: p.baseOffset + n, logAppendTime: p.logAppendTimeMs }));
      }
    }
    return { failures };
  }

  /** Flushes and, when the producer made its own cluster, closes its connections. */
  async close(): Promise<void> {
    await this.flush();
    if (this.ownsCluster) await this.cluster.close();
  }
}
