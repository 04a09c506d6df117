// A consumer of explicitly assigned partitions (no group membership): positions from the
// beginning, the end, an offset or a timestamp; sessionless Fetch requests, one per leader,
// long-polled in follow mode; batches decoded (and decompressed) into records.
import { ApiKey, type FetchResponse } from '../protocol/generated/index.js';
import { ZERO_UUID } from '../protocol/primitives.js';
import { isControl, lastOffsetOf, readBatchHeader, splitBatches, BATCH_HEADER_SIZE } from '../protocol/records/record-batch.js';
import { decodeBatchRecordsAsync } from '../protocol/records/records.js';
import { Admin } from './admin.js';
import { Cluster, type ClusterOptions } from './cluster.js';
import { KafkaClientError, throwIfError } from './errors.js';

/** Where to start: the log start, the log end, an offset, or the first record at or after a timestamp (ms). */
export type StartPosition = 'earliest' | 'latest' | { offset: number } | { timestamp: number };

export interface ConsumerOptions {
  /** Longest a fetch waits at the log end for data (default 500 ms). */
  maxWaitMs?: number;
  /** Upper bound on one Fetch response (default 50 MiB). */
  maxBytes?: number;
  /** Upper bound per partition per fetch (default 1 MiB; the first batch always comes whole). */
  partitionMaxBytes?: number;
}

export interface ConsumerRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: string; value: Buffer | null }>;
}

export interface ConsumeOptions {
  /** Keep waiting for new records at the log end instead of stopping there. */
  follow?: boolean;
  /** Stop after this many records. */
  maxMessages?: number;
  signal?: AbortSignal;
}

interface Assigned {
  topic: string;
  partition: number;
  /** The next offset to fetch. */
  position: number;
  /** The next offset to hand out (behind `position` while fetched records wait in the buffer). */
  consumed: number;
  /** Where a non-follow read stops: the log end when the partition was assigned. */
  end: number;
}

// Fetch v13+ names topics by id only: used when metadata gave every fetched topic an id.
const FETCH_MAX_BY_NAME = 12;

export class Consumer {
  readonly cluster: Cluster;
  private readonly ownsCluster: boolean;
  private readonly admin: Admin;
  private readonly opts: Required<ConsumerOptions>;
  private readonly assigned: Assigned[] = [];
  /** Fetched records not yet handed out (records() may stop in the middle of a fetch). */
  private buffer: ConsumerRecord[] = [];
  private bufferAt = 0;
  private closedFlag = false;

  constructor(clusterOrOptions: Cluster | ClusterOptions, options: ConsumerOptions = {}) {
    this.ownsCluster = !(clusterOrOptions instanceof Cluster);
    this.cluster = clusterOrOptions instanceof Cluster ? clusterOrOptions : new Cluster(clusterOrOptions);
    this.admin = new Admin(this.cluster);
    this.opts = {
      maxWaitMs: options.maxWaitMs ?? 500,
      maxBytes: options.maxBytes ?? 50 * 1024 * 1024,
      partitionMaxBytes: options.partitionMaxBytes ?? 1024 * 1024,
    };
  }

  /**
   * Assigns partitions of a topic (all of them when none are named) at a start position.
   * UNKNOWN_TOPIC_OR_PARTITION for a topic or partition that does not exist; OFFSET_OUT_OF_RANGE
   * for an offset outside the log.
   */
  async assign(topic: string, start: StartPosition = 'earliest', partitions?: number[]): Promise<void> {
    const info = await this.cluster.topic(topic, { refresh: true });
    const all = info.partitions.map((p) => p.partition);
    const wanted = partitions ?? all;
    for (const p of wanted) {
      if (!all.includes(p)) throw new KafkaClientError('UNKNOWN_TOPIC_OR_PARTITION', `topic "${topic}" has no partition ${p} (it has ${all.length})`);
    }
    const [earliest, latest] = await Promise.all([this.admin.listOffsets(topic, 'earliest', wanted), this.admin.listOffsets(topic, 'latest', wanted)]);
    const lo = new Map(earliest.map((o) => [o.partition, o.offset]));
    const hi = new Map(latest.map((o) => [o.partition, o.offset]));
    let byTime: Map<number, number> | null = null;
    if (typeof start === 'object' && 'timestamp' in start) {
      const found = await this.admin.listOffsets(topic, start.timestamp, wanted);
      byTime = new Map(found.map((o) => [o.partition, o.offset]));
    }
    for (const partition of wanted) {
      const end = hi.get(partition)!;
      let position: number;
      if (start === 'earliest') position = lo.get(partition)!;
      else if (start === 'latest') position = end;
      else if ('offset' in start) {
        position = start.offset;
        if (position < lo.get(partition)! || position > end) {
          throw new KafkaClientError('OFFSET_OUT_OF_RANGE', `offset ${position} is outside ${topic}-${partition}'s range ${lo.get(partition)}..${end}`);
        }
      } else {
        const o = byTime!.get(partition)!;
        position = o < 0 ? end : o; // no record that recent: start at the end
      }
      const existing = this.assigned.find((a) => a.topic === topic && a.partition === partition);
      if (existing) Object.assign(existing, { position, consumed: position, end });
      else this.assigned.push({ topic, partition, position, consumed: position, end });
      this.dropBuffered(topic, partition);
    }
  }

  /** Stops reading these partitions of a topic (all of them when none are named). */
  unassign(topic: string, partitions?: number[]): void {
    for (let i = this.assigned.length - 1; i >= 0; i--) {
      const a = this.assigned[i]!;
      if (a.topic === topic && (!partitions || partitions.includes(a.partition))) {
        this.assigned.splice(i, 1);
        this.dropBuffered(a.topic, a.partition);
      }
    }
  }

  private dropBuffered(topic: string, partition: number): void {
    this.buffer = this.buffer.slice(this.bufferAt).filter((r) => r.topic !== topic || r.partition !== partition);
    this.bufferAt = 0;
  }

  /** Per assigned partition, the offset after the last record handed out (what a commit should store). */
  positions(): Array<{ topic: string; partition: number; offset: number }> {
    return this.assigned.map((a) => ({ topic: a.topic, partition: a.partition, offset: a.consumed }));
  }

  /**
   * Yields records of the assigned partitions. Without `follow` it stops once every partition
   * reached the end it had when assigned; with it, it long-polls for new records until
   * `maxMessages`, the signal, or close().
   */
  async *records(opts: ConsumeOptions = {}): AsyncGenerator<ConsumerRecord> {
    let yielded = 0;
    const max = opts.maxMessages ?? Infinity;
    let failures = 0;
    while (!this.closedFlag && !opts.signal?.aborted && yielded < max) {
      if (this.bufferAt >= this.buffer.length) {
        // Everything fetched was handed out: positions past control batches count as consumed.
        this.buffer = [];
        this.bufferAt = 0;
        for (const a of this.assigned) a.consumed = a.position;
        const active = opts.follow ? this.assigned : this.assigned.filter((a) => a.position < a.end);
        if (active.length === 0) return;
        try {
          this.buffer = await this.fetchOnce(active, opts.follow ? this.opts.maxWaitMs : Math.min(this.opts.maxWaitMs, 100));
          failures = 0;
        } catch (err) {
          if (!(err instanceof KafkaClientError) || !err.retriable || ++failures > this.cluster.options.retries) throw err;
          await new Promise((r) => setTimeout(r, this.cluster.options.retryBackoffMs * failures));
          await this.cluster.refreshMetadata(null).catch(() => undefined);
        }
        continue;
      }
      const r = this.buffer[this.bufferAt++]!;
      const a = this.assigned.find((x) => x.topic === r.topic && x.partition === r.partition);
      if (!a) continue; // unassigned since the fetch
      a.consumed = r.offset + 1;
      yielded++;
      yield r;
    }
  }

  private async fetchOnce(active: Assigned[], maxWaitMs: number): Promise<ConsumerRecord[]> {
    const byLeader = new Map<number, Assigned[]>();
    for (const a of active) {
      const leader = await this.cluster.leaderOf(a.topic, a.partition);
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), a]);
    }
    const results = await Promise.all([...byLeader].map(([leader, parts]) => this.fetchFrom(leader, parts, maxWaitMs)));
    return results.flat();
  }

  private async fetchFrom(leader: number, parts: Assigned[], maxWaitMs: number): Promise<ConsumerRecord[]> {
    const conn = await this.cluster.brokerConnection(leader);
    const byTopic = new Map<string, Assigned[]>();
    for (const a of parts) byTopic.set(a.topic, [...(byTopic.get(a.topic) ?? []), a]);
    const ids = new Map<string, string>();
    for (const topic of byTopic.keys()) ids.set(topic, this.cluster.topics.get(topic)?.topicId ?? ZERO_UUID);
    const byId = [...ids.values()].every((id) => id !== ZERO_UUID);
    const names = new Map([...ids].map(([name, id]) => [id, name]));
    const { version, body: res } = await conn.requestWithVersion<FetchResponse>(
      ApiKey.Fetch,
      (v: number) => ({
        clusterId: null,
        replicaId: -1,
        replicaState: { replicaId: -1, replicaEpoch: -1 },
        maxWaitMs,
        minBytes: 1,
        maxBytes: this.opts.maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [...byTopic].map(([topic, list]) => ({
          topic: v >= 13 ? '' : topic,
          topicId: v >= 13 ? ids.get(topic)! : ZERO_UUID,
          partitions: list.map((a) => ({
            partition: a.partition,
            currentLeaderEpoch: -1,
            fetchOffset: a.position,
            lastFetchedEpoch: -1,
            logStartOffset: -1,
            partitionMaxBytes: this.opts.partitionMaxBytes,
            replicaDirectoryId: ZERO_UUID,
          })),
        })),
        forgottenTopicsData: [],
        rackId: '',
      }),
      { maxVersion: byId ? undefined : FETCH_MAX_BY_NAME, timeoutMs: this.cluster.options.requestTimeoutMs + maxWaitMs },
    );
    throwIfError(res.errorCode, null, 'Fetch');
    const out: ConsumerRecord[] = [];
    for (const t of res.responses) {
      const topic = version >= 13 ? (names.get(t.topicId) ?? '') : t.topic;
      for (const p of t.partitions) {
        const a = byTopic.get(topic)?.find((x) => x.partition === p.partitionIndex);
        if (!a) continue;
        throwIfError(p.errorCode, null, `${topic}-${p.partitionIndex} at offset ${a.position}`);
        if (!p.records || p.records.length === 0) continue;
        for (const bytes of splitBatches(p.records, { rejectPartialTail: false })) {
          if (bytes.length < BATCH_HEADER_SIZE) break;
          const header = readBatchHeader(bytes);
          const last = lastOffsetOf(header);
          if (last < a.position) continue;
          if (!isControl(header.attributes)) {
            for (const r of await decodeBatchRecordsAsync(bytes)) {
              if (r.offset < a.position) continue;
              out.push({ topic, partition: a.partition, offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers });
            }
          }
          a.position = last + 1;
        }
      }
    }
    return out;
  }

  /** Stops records() after the fetch in flight; closes the connections this consumer opened. */
  async close(): Promise<void> {
    this.closedFlag = true;
    if (this.ownsCluster) await this.cluster.close();
  }
}
