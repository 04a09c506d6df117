// Idempotent-producer bookkeeping for one partition: per producer id, the epoch and the metadata
// of its last few batches, so retries are recognised and gaps in sequences rejected. Entries
// are replaced, never mutated, which makes an append cheap to undo.
import { crc32c } from '@node-rs/crc32';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { readInt64, writeInt64 } from '../protocol/records/int64.js';
import { BatchHeader, isControl, isTransactional } from '../protocol/records/record-batch.js';

/** How many batches per producer are remembered for duplicate detection. */
export const MAX_CACHED_BATCHES = 5;
const INT32_MAX = 2147483647;

export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  /** The batch maxTimestamp as stored (the LogAppendTime when the log stamps it). */
  timestamp: number;
}

export interface ProducerEntry {
  readonly producerId: number;
  readonly epoch: number;
  /** Oldest first, at most MAX_CACHED_BATCHES. */
  readonly batches: readonly BatchMetadata[];
  /** First offset of the transaction in progress, or -1. */
  readonly ongoingTxnFirstOffset: number;
  readonly coordinatorEpoch: number;
  readonly lastTimestamp: number;
}

/** What to restore to take back one applied batch. */
export interface ProducerUndo {
  producerId: number;
  previous: ProducerEntry | undefined;
  /** Set when the batch was a marker that ended a transaction. */
  completed?: CompletedTxn;
}

/** What a transaction marker says, from its control record. */
export interface TxnMarker {
  commit: boolean;
  coordinatorEpoch: number;
}

/** A transaction ended by a marker: its data spans [firstOffset, lastOffset], lastOffset being the marker. */
export interface CompletedTxn {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
  aborted: boolean;
}

/** A transaction in progress on this partition. */
export interface OngoingTxn {
  producerId: number;
  producerEpoch: number;
  coordinatorEpoch: number;
  firstOffset: number;
}

/** Sequence numbers are int32 and wrap from 2147483647 to 0. */
export function lastSequenceOf(header: BatchHeader): number {
  const last = header.baseSequence + header.lastOffsetDelta;
  return last > INT32_MAX ? last - INT32_MAX - 1 : last;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (lastSeq === INT32_MAX && nextSeq === 0);
}

/**
 * The maps of a manager without producers (most partitions of a broker never see one: an empty
 * Map costs 200 bytes). Shared, so never written: put() gives the manager maps of its own first.
 */
class SharedEmptyMap<K, V> extends Map<K, V> {
  override set(): this {
    throw new Error('the shared empty map of a producer state manager is read-only');
  }
}
const NO_PRODUCERS: Map<number, ProducerEntry> = new SharedEmptyMap();
const NO_ONGOING: Map<number, number> = new SharedEmptyMap();

export class ProducerStateManager {
  private producers = NO_PRODUCERS;
  /** producerId → first offset, for the producers with a transaction in progress. */
  private ongoing = NO_ONGOING;

  get size(): number {
    return this.producers.size;
  }

  /**
   * producer.id.expiration.ms: forgets producers with no open transaction whose last batch is
   * older than `expirationMs` (by batch timestamp, as Kafka does), so that every producer that
   * ever wrote does not stay in memory and in every snapshot forever. Returns how many went.
   */
  removeExpired(now: number, expirationMs: number): number {
    let removed = 0;
    for (const [producerId, entry] of this.producers) {
      if (entry.ongoingTxnFirstOffset < 0 && now - entry.lastTimestamp >= expirationMs) {
        this.producers.delete(producerId);
        removed++;
      }
    }
    return removed;
  }

  get(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  entries(): IterableIterator<ProducerEntry> {
    return this.producers.values();
  }

  clear(): void {
    this.producers.clear();
    this.ongoing.clear();
  }

  /**
   * Takes over `other`'s state in one step (`other` must not be used afterwards). A rebuild
   * (after a truncation) replays into a fresh manager and swaps it in, so that readers of the
   * last stable offset never see a half-replayed state in between.
   */
  replaceWith(other: ProducerStateManager): void {
    this.producers = other.producers;
    this.ongoing = other.ongoing;
  }

  /** The first offset of the oldest transaction in progress, or null when none is. */
  firstOngoingOffset(): number | null {
    let first: number | null = null;
    for (const offset of this.ongoing.values()) if (first === null || offset < first) first = offset;
    return first;
  }

  /** The transactions in progress, oldest first. */
  ongoingTransactions(): OngoingTxn[] {
    const out: OngoingTxn[] = [];
    for (const [producerId, firstOffset] of this.ongoing) {
      const entry = this.producers.get(producerId)!;
      out.push({ producerId, producerEpoch: entry.epoch, coordinatorEpoch: entry.coordinatorEpoch, firstOffset });
    }
    return out.sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /**
   * Checks a transaction marker against the producer's state, as Kafka's fencing does: an epoch
   * below the producer's (a zombie coordinator's marker for an old producer) is
   * INVALID_PRODUCER_EPOCH, a coordinator epoch below the last marker's is
   * TRANSACTION_COORDINATOR_FENCED. A higher epoch is accepted (KIP-890 bumps it at the marker).
   * A transactions V2 marker (`transactionVersion` 2) always carries the epoch after the data's, so
   * one at the epoch of an open transaction is a stale retry of the previous transaction's marker
   * and would end the new one: INVALID_PRODUCER_EPOCH (at that epoch with nothing open, it is the
   * harmless retry of a marker already written).
   */
  checkMarker(producerId: number, producerEpoch: number, coordinatorEpoch: number, transactionVersion = 0): void {
    const stored = this.producers.get(producerId);
    if (!stored) return;
    if (transactionVersion >= 2 && producerEpoch === stored.epoch && stored.ongoingTxnFirstOffset >= 0) {
      throw new KafkaError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `transactions V2 marker for producer ${producerId} has epoch ${producerEpoch}, not above the epoch of its open transaction`,
      );
    }
    if (producerEpoch < stored.epoch) {
      throw new KafkaError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `transaction marker for producer ${producerId} has epoch ${producerEpoch}, older than the current epoch ${stored.epoch}`,
      );
    }
    if (coordinatorEpoch < stored.coordinatorEpoch) {
      throw new KafkaError(
        ErrorCode.TRANSACTION_COORDINATOR_FENCED,
        `transaction marker for producer ${producerId} has coordinator epoch ${coordinatorEpoch}, older than ${stored.coordinatorEpoch}`,
      );
    }
  }

  private put(entry: ProducerEntry): void {
    if (this.producers === NO_PRODUCERS) {
      this.producers = new Map();
      this.ongoing = new Map();
    }
    this.producers.set(entry.producerId, entry);
    if (entry.ongoingTxnFirstOffset >= 0) this.ongoing.set(entry.producerId, entry.ongoingTxnFirstOffset);
    else this.ongoing.delete(entry.producerId);
  }

  /**
   * Checks the batches of one append, in order, against the current state and against each
   * other, without changing anything. Returns the cached metadata of the first batch that
   * duplicates one already in the log (the append then writes nothing), or null when all
   * batches may be appended. Throws INVALID_PRODUCER_EPOCH or OUT_OF_ORDER_SEQUENCE_NUMBER.
   */
  check(headers: readonly BatchHeader[]): BatchMetadata | null {
    // Effect of earlier batches of this same append: producerId → [epoch, lastSeq].
    let pending: Map<number, [number, number]> | undefined;
    for (const header of headers) {
      const producerId = header.producerId;
      if (producerId < 0) continue;
      const stored = this.producers.get(producerId);
      const staged = pending?.get(producerId);
      const epoch = staged ? staged[0] : stored?.epoch;
      if (epoch !== undefined && header.producerEpoch < epoch) {
        throw new KafkaError(ErrorCode.INVALID_PRODUCER_EPOCH, `producer ${producerId} epoch ${header.producerEpoch} is older than the current epoch ${epoch}`);
      }
      const control = isControl(header.attributes);
      if (!control && !isTransactional(header.attributes) && !staged && stored && stored.ongoingTxnFirstOffset >= 0 && stored.epoch === header.producerEpoch) {
        throw new KafkaError(
          ErrorCode.INVALID_TXN_STATE,
          `producer ${producerId} sent a non-transactional batch while its transaction from offset ${stored.ongoingTxnFirstOffset} is open`,
        );
      }
      if (!control && header.baseSequence >= 0) {
        const lastSeq = lastSequenceOf(header);
        if (!staged && stored && stored.epoch === header.producerEpoch) {
          const duplicate = stored.batches.find((b) => b.firstSeq === header.baseSequence && b.lastSeq === lastSeq);
          if (duplicate) return duplicate;
        }
        if (epoch !== undefined) {
          if (header.producerEpoch !== epoch) {
            if (header.baseSequence !== 0) {
              throw new KafkaError(
                ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                `producer ${producerId} new epoch ${header.producerEpoch} must start at sequence 0, not ${header.baseSequence}`,
              );
            }
          } else {
            const currentLastSeq = staged ? staged[1] : (stored?.batches.at(-1)?.lastSeq ?? -1);
            if (!inSequence(currentLastSeq, header.baseSequence)) {
              throw new KafkaError(
                ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                `producer ${producerId} epoch ${header.producerEpoch}: sequence ${header.baseSequence} does not follow ${currentLastSeq}`,
              );
            }
          }
        }
        (pending ??= new Map()).set(producerId, [header.producerEpoch, lastSeq]);
      } else {
        const previousLast = staged ? staged[1] : (stored?.batches.at(-1)?.lastSeq ?? -1);
        const sameEpoch = epoch === header.producerEpoch;
        (pending ??= new Map()).set(producerId, [header.producerEpoch, sameEpoch ? previousLast : -1]);
      }
    }
    return null;
  }

  /**
   * Records a batch whose offsets are assigned (header.baseOffset is final). No checks: call
   * check() first, or use this directly when replaying the log. Returns how to undo it.
   * `marker` is the content of a control batch's record (a control batch without it, or with a
   * record that is not a transaction marker, changes nothing but the epoch).
   */
  apply(header: BatchHeader, marker: TxnMarker | null = null): ProducerUndo | null {
    const producerId = header.producerId;
    if (producerId < 0) return null;
    const previous = this.producers.get(producerId);
    const sameEpoch = previous !== undefined && previous.epoch === header.producerEpoch;
    const firstOffset = header.baseOffset;
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    let batches: readonly BatchMetadata[] = sameEpoch ? previous.batches : [];
    // A transaction survives an epoch bump by its marker (KIP-890), so it is not tied to the epoch.
    let ongoingTxnFirstOffset = previous?.ongoingTxnFirstOffset ?? -1;
    let coordinatorEpoch = previous?.coordinatorEpoch ?? -1;
    let completed: CompletedTxn | undefined;
    if (isControl(header.attributes)) {
      if (marker) {
        if (ongoingTxnFirstOffset >= 0) {
          completed = { producerId, firstOffset: ongoingTxnFirstOffset, lastOffset, aborted: !marker.commit };
        }
        ongoingTxnFirstOffset = -1;
        coordinatorEpoch = marker.coordinatorEpoch;
      }
    } else {
      if (header.baseSequence >= 0) {
        const metadata: BatchMetadata = {
          firstSeq: header.baseSequence,
          lastSeq: lastSequenceOf(header),
          firstOffset,
          lastOffset,
          timestamp: header.maxTimestamp,
        };
        batches = [...batches.slice(-(MAX_CACHED_BATCHES - 1)), metadata];
      }
      if (isTransactional(header.attributes) && ongoingTxnFirstOffset < 0) ongoingTxnFirstOffset = firstOffset;
    }
    this.put({
      producerId,
      epoch: header.producerEpoch,
      batches,
      ongoingTxnFirstOffset,
      coordinatorEpoch,
      lastTimestamp: Math.max(previous?.lastTimestamp ?? -1, header.maxTimestamp),
    });
    return completed ? { producerId, previous, completed } : { producerId, previous };
  }

  undo(undo: ProducerUndo): void {
    if (undo.previous) this.put(undo.previous);
    else {
      this.producers.delete(undo.producerId);
      this.ongoing.delete(undo.producerId);
    }
  }

  // --- snapshots ----------------------------------------------------------------------------
  // Layout (big-endian): magic "TRPS", version int16, crc32c uint32 of everything after it,
  // offset int64, producer count int32, then per producer: id int64, epoch int16,
  // coordinatorEpoch int32, ongoingTxnFirstOffset int64, lastTimestamp int64, batch count int8,
  // and per batch: firstSeq int32, lastSeq int32, firstOffset int64, lastOffset int64, timestamp int64.

  /** Serialises the state as of `offset` (every batch below it applied, none above). */
  snapshot(offset: number): Buffer {
    let size = SNAPSHOT_HEADER_SIZE;
    for (const entry of this.producers.values()) size += PRODUCER_SIZE + entry.batches.length * BATCH_SIZE;
    const out = Buffer.alloc(size);
    SNAPSHOT_MAGIC.copy(out, 0);
    out.writeInt16BE(SNAPSHOT_VERSION, 4);
    writeInt64(out, offset, 10);
    out.writeInt32BE(this.producers.size, 18);
    let pos = SNAPSHOT_HEADER_SIZE;
    for (const entry of this.producers.values()) {
      writeInt64(out, entry.producerId, pos);
      out.writeInt16BE(entry.epoch, pos + 8);
      out.writeInt32BE(entry.coordinatorEpoch, pos + 10);
      writeInt64(out, entry.ongoingTxnFirstOffset, pos + 14);
      writeInt64(out, entry.lastTimestamp, pos + 22);
      out.writeInt8(entry.batches.length, pos + 30);
      pos += PRODUCER_SIZE;
      for (const b of entry.batches) {
        out.writeInt32BE(b.firstSeq, pos);
        out.writeInt32BE(b.lastSeq, pos + 4);
        writeInt64(out, b.firstOffset, pos + 8);
        writeInt64(out, b.lastOffset, pos + 16);
        writeInt64(out, b.timestamp, pos + 24);
        pos += BATCH_SIZE;
      }
    }
    out.writeUInt32BE(crc32c(out.subarray(10)) >>> 0, 6);
    return out;
  }

  /** Replaces the state with a snapshot's; returns its offset, or null if it is not valid. */
  loadSnapshot(data: Buffer): number | null {
    if (data.length < SNAPSHOT_HEADER_SIZE || !data.subarray(0, 4).equals(SNAPSHOT_MAGIC)) return null;
    if (data.readInt16BE(4) !== SNAPSHOT_VERSION) return null;
    if (data.readUInt32BE(6) !== crc32c(data.subarray(10)) >>> 0) return null;
    const offset = readInt64(data, 10);
    const count = data.readInt32BE(18);
    const producers = new Map<number, ProducerEntry>();
    let pos = SNAPSHOT_HEADER_SIZE;
    for (let i = 0; i < count; i++) {
      if (pos + PRODUCER_SIZE > data.length) return null;
      const producerId = readInt64(data, pos);
      const batchCount = data.readInt8(pos + 30);
      const entryEnd = pos + PRODUCER_SIZE + batchCount * BATCH_SIZE;
      if (batchCount < 0 || entryEnd > data.length) return null;
      const batches: BatchMetadata[] = [];
      for (let b = 0, p = pos + PRODUCER_SIZE; b < batchCount; b++, p += BATCH_SIZE) {
        batches.push({
          firstSeq: data.readInt32BE(p),
          lastSeq: data.readInt32BE(p + 4),
          firstOffset: readInt64(data, p + 8),
          lastOffset: readInt64(data, p + 16),
          timestamp: readInt64(data, p + 24),
        });
      }
      producers.set(producerId, {
        producerId,
        epoch: data.readInt16BE(pos + 8),
        coordinatorEpoch: data.readInt32BE(pos + 10),
        ongoingTxnFirstOffset: readInt64(data, pos + 14),
        lastTimestamp: readInt64(data, pos + 22),
        batches,
      });
      pos = entryEnd;
    }
    if (pos !== data.length) return null;
    this.clear();
    for (const entry of producers.values()) this.put(entry);
    return offset;
  }
}

const SNAPSHOT_MAGIC = Buffer.from('TRPS', 'latin1');
const SNAPSHOT_VERSION = 1;
const SNAPSHOT_HEADER_SIZE = 22;
const PRODUCER_SIZE = 31;
const BATCH_SIZE = 32;
