// The coordinators' compacted internal topics (__consumer_offsets, __transaction_state): created
// lazily on first use, appended to as ordinary record batches, and replayed from the start when
// this broker becomes a partition's leader. Both coordinators go through this one place.
import type { CoordinatorHost, CoordinatorLogger, CoordinatorTopic } from './ports.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { buildRecordBatch } from '../protocol/records/record-batch-builder.js';
import { isControl, isTransactional, lastOffsetOf, readBatchHeader, splitBatches, type BatchHeader } from '../protocol/records/record-batch.js';
import { decodeBatchRecordsAsync } from '../protocol/records/records.js';
import type { CoordinatorRecord } from './records.js';

/** The producer of a transactional coordinator write (TxnOffsetCommit). */
export interface TxnProducer {
  producerId: number;
  producerEpoch: number;
}

export class InternalTopic {
  private creating: Promise<CoordinatorTopic> | null = null;

  constructor(
    private readonly host: CoordinatorHost,
    readonly name: string,
    /** The broker config holding the partition count used at creation. */
    private readonly partitionsConfig: string,
    /** The broker config holding the replication factor used at creation. */
    private readonly replicationConfig: string,
    private readonly overrides: Record<string, string>,
  ) {}

  get numPartitions(): number {
    // Once the topic exists its partition count rules, whatever the config says now.
    return this.host.topics.get(this.name)?.partitions.length ?? this.host.config.int(this.partitionsConfig);
  }

  /** The topic, created (once, even under concurrent callers) if it does not exist yet. */
  ensureTopic(): Promise<CoordinatorTopic> {
    const existing = this.host.topics.get(this.name);
    if (existing) return Promise.resolve(existing);
    if (!this.creating) {
      const partitions = this.host.config.int(this.partitionsConfig);
      this.creating = this.host
        .createTopic(this.name, partitions, this.overrides, { replicationFactor: this.host.config.int(this.replicationConfig) })
        .catch(async (err: unknown) => {
          // Cluster mode: another broker created it first; it arrives here through the metadata watch.
          if (!(err instanceof KafkaError && err.code === ErrorCode.TOPIC_ALREADY_EXISTS)) throw err;
          const deadline = this.host.clock.now() + 10_000;
          for (;;) {
            const t = this.host.topics.get(this.name);
            if (t) return t;
            if (this.host.clock.now() > deadline) throw err;
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        })
        .finally(() => {
          this.creating = null;
        });
    }
    return this.creating;
  }

  /** Appends records to one partition; the order of calls is the order in the log. */
  append(partition: number, records: CoordinatorRecord[], producer?: TxnProducer): Promise<void> {
    const topic = this.host.topics.get(this.name);
    // Synchronous when the topic exists, so the log order is the order of calls.
    if (topic) return this.appendTo(topic, partition, records, producer);
    return this.ensureTopic().then((t) => this.appendTo(t, partition, records, producer));
  }

  private appendTo(topic: CoordinatorTopic, partition: number, records: CoordinatorRecord[], producer?: TxnProducer): Promise<void> {
    if (!topic.partitions[partition]) return Promise.reject(new KafkaError(ErrorCode.NOT_COORDINATOR, `${this.name} has no partition ${partition} here`));
    // Through the same gate as a produce: a broker whose lease may have run out (a zombie leader)
    // writes nothing, and its coordinator answers NOT_COORDINATOR.
    const p = this.host.leaderPartition(this.name, partition);
    if (typeof p === 'number') return Promise.reject(new KafkaError(p, `cannot write ${this.name}-${partition} as its leader now`));
    try {
      const batch = buildRecordBatch(
        records.map((r) => ({ key: r.key, value: r.value })),
        // Coordinator writes carry no sequence: the coordinator itself never retries a batch.
        // Stamped with the broker's clock (the builder alone would read the wall clock).
        { baseTimestamp: this.host.clock.now(), ...(producer ? { transactional: true, producerId: producer.producerId, producerEpoch: producer.producerEpoch } : {}) },
      );
      return p.append(batch).done;
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

export interface ReplayVisitor {
  /** A data record; `header` tells whether it was written inside a transaction. */
  record(key: Buffer | null, value: Buffer | null, header: BatchHeader): void;
  /** A transaction marker of producer `header.producerId`. */
  marker?(header: BatchHeader, commit: boolean): void;
}

/** Control record key: version int16, type int16 (0 = ABORT, 1 = COMMIT). */
function isCommitMarker(key: Buffer | null): boolean {
  return key !== null && key.length >= 4 && key.readInt16BE(2) === 1;
}

/**
 * Reads one partition of an internal topic from its start to its log end and hands each record
 * to the visitor in log order; stops as soon as `current()` turns false (the load was superseded),
 * and from then on hands nothing more. Returns how many records were visited.
 */
export async function replayInternalPartition(
  topic: CoordinatorTopic,
  index: number,
  visitor: ReplayVisitor,
  logger: CoordinatorLogger,
  current: () => boolean = () => true,
): Promise<number> {
  const partition = topic.partitions[index];
  if (!partition) return 0;
  let offset = partition.logStartOffset;
  let count = 0;
  while (offset < partition.logEndOffset && current()) {
    const read = await partition.read({ fetchOffset: offset, maxBytes: 1 << 20, isolation: 'log_end' });
    if (!read.records) break;
    for (const batch of splitBatches(read.records)) {
      const header = readBatchHeader(batch);
      const next = lastOffsetOf(header) + 1;
      const records = await decodeBatchRecordsAsync(batch);
      // Checked after every await: what a superseded load would apply belongs to nobody.
      if (!current()) return count;
      if (isControl(header.attributes)) {
        if (isTransactional(header.attributes) && records[0]) visitor.marker?.(header, isCommitMarker(records[0].key));
      } else {
        for (const record of records) {
          if (record.offset < offset) continue;
          try {
            visitor.record(record.key, record.value, header);
            count++;
          } catch (err) {
            // A record this broker cannot read must not keep it from loading.
            logger.warn({ err, topic: topic.name, partition: index, offset: record.offset }, 'skipping an unreadable coordinator record');
          }
        }
      }
      offset = Math.max(offset, next);
    }
  }
  return count;
}
