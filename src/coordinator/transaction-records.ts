// The records the transaction coordinator writes to __transaction_state, one per transactional
// id (compaction keeps the latest). Big-endian, version-prefixed, with Kafka's int16-length
// strings, following the layout of Kafka's own transaction log (key v0, value v0):
//
//   key   v0: transactional id string
//   value v0: producer id int64, producer epoch int16, timeout ms int32, state int8,
//             partitions nullable array of { topic string, partitions array of int32 },
//             last update timestamp int64, start timestamp int64
//   value v1: the same fields, flexible (compact strings and arrays, tagged fields), with the
//             transactions V2 tags: 0 previous producer id int64, 1 next producer id int64,
//             2 client transaction version int16 (3, the next producer epoch, is KIP-939's)
//
// Values are written as v1 while the finalized transaction.version is 1 or more, as Kafka 4
// does, and as v0 (without the tags) at level 0; both are read.
// A null value is a tombstone: the transactional id expired and is forgotten.
import { Reader, Writer } from '../protocol/primitives.js';
import { partitionForGroup } from './records.js';

/** A transactional id's state, as the transaction log stores it (Kafka's TransactionState). */
export type TxnState = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort' | 'Dead' | 'PrepareEpochFence';

const KEY_VERSION = 0;
const VALUE_V0 = 0;
const VALUE_V1 = 1;
const TAG_PREVIOUS_PRODUCER_ID = 0;
const TAG_NEXT_PRODUCER_ID = 1;
const TAG_CLIENT_TRANSACTION_VERSION = 2;

/** Kafka's numeric codes for the persisted states. */
const STATE_CODES: Record<TxnState, number> = {
  Empty: 0,
  Ongoing: 1,
  PrepareCommit: 2,
  PrepareAbort: 3,
  CompleteCommit: 4,
  CompleteAbort: 5,
  Dead: 6,
  PrepareEpochFence: 7,
};
const STATES_BY_CODE = new Map(Object.entries(STATE_CODES).map(([name, code]) => [code, name as TxnState]));

export interface TxnLogValue {
  producerId: number;
  producerEpoch: number;
  timeoutMs: number;
  state: TxnState;
  /** topic → partitions */
  partitions: Map<string, number[]>;
  lastUpdateTimestamp: number;
  startTimestamp: number;
  /** The producer id before the last transition that changed it (transactions V2 overflow), or -1. */
  previousProducerId: number;
  /** The producer id the transaction moves to once complete (an exhausted epoch, V2), or -1. */
  nextProducerId: number;
  /** 2 when the client runs transactions V2 (an epoch bump per transaction), else 0. */
  clientTransactionVersion: number;
}

export function encodeTxnKey(transactionalId: string): Buffer {
  const w = new Writer(32);
  w.int16(KEY_VERSION);
  w.string(transactionalId);
  return w.finish();
}

/** The transactional id of a key, or null for a version this broker does not know. */
export function decodeTxnKey(buf: Buffer): string | null {
  const r = new Reader(buf);
  if (r.int16() !== KEY_VERSION) return null;
  return r.string();
}

export function encodeTxnValue(v: TxnLogValue, flexible = true): Buffer {
  if (!flexible) return encodeTxnValueV0(v);
  const w = new Writer(64);
  w.int16(VALUE_V1);
  w.int64(v.producerId);
  w.int16(v.producerEpoch);
  w.int32(v.timeoutMs);
  w.int8(STATE_CODES[v.state]);
  w.compactArrayLength(v.partitions.size);
  for (const [topic, partitions] of v.partitions) {
    w.compactString(topic);
    w.compactArrayLength(partitions.length);
    for (const p of partitions) w.int32(p);
    w.uvarint(0);
  }
  w.int64(v.lastUpdateTimestamp);
  w.int64(v.startTimestamp);
  // Tagged fields, in tag order; a field at its default is left out.
  const tags: [number, (w: Writer) => void][] = [];
  if (v.previousProducerId !== -1) tags.push([TAG_PREVIOUS_PRODUCER_ID, (t) => t.int64(v.previousProducerId)]);
  if (v.nextProducerId !== -1) tags.push([TAG_NEXT_PRODUCER_ID, (t) => t.int64(v.nextProducerId)]);
  if (v.clientTransactionVersion !== 0) tags.push([TAG_CLIENT_TRANSACTION_VERSION, (t) => t.int16(v.clientTransactionVersion)]);
  w.uvarint(tags.length);
  for (const [tag, write] of tags) {
    w.uvarint(tag);
    const start = w.length;
    write(w);
    w.insertSizeAt(start);
  }
  return w.finish();
}

function encodeTxnValueV0(v: TxnLogValue): Buffer {
  const w = new Writer(64);
  w.int16(VALUE_V0);
  w.int64(v.producerId);
  w.int16(v.producerEpoch);
  w.int32(v.timeoutMs);
  w.int8(STATE_CODES[v.state]);
  w.int32(v.partitions.size);
  for (const [topic, partitions] of v.partitions) {
    w.string(topic);
    w.int32(partitions.length);
    for (const p of partitions) w.int32(p);
  }
  w.int64(v.lastUpdateTimestamp);
  w.int64(v.startTimestamp);
  return w.finish();
}

export function decodeTxnValue(buf: Buffer): TxnLogValue | null {
  const r = new Reader(buf);
  const version = r.int16();
  if (version !== VALUE_V0 && version !== VALUE_V1) return null;
  const flexible = version === VALUE_V1;
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const timeoutMs = r.int32();
  const state = STATES_BY_CODE.get(r.int8());
  if (!state) return null;
  const partitions = new Map<string, number[]>();
  const topics = flexible ? r.compactNullableArrayLength() : r.nullableArrayLength();
  for (let i = 0; i < topics; i++) {
    const topic = flexible ? r.compactString() : r.string();
    const list: number[] = [];
    for (let j = 0, n = flexible ? r.compactArrayLength() : r.arrayLength(); j < n; j++) list.push(r.int32());
    if (flexible) r.skipTaggedFields();
    partitions.set(topic, list);
  }
  const value: TxnLogValue = {
    producerId,
    producerEpoch,
    timeoutMs,
    state,
    partitions,
    lastUpdateTimestamp: r.int64(),
    startTimestamp: r.int64(),
    previousProducerId: -1,
    nextProducerId: -1,
    clientTransactionVersion: 0,
  };
  if (flexible) {
    for (let n = r.uvarint(); n > 0; n--) {
      const tag = r.uvarint();
      const size = r.uvarint();
      const end = r.limit(size);
      if (tag === TAG_PREVIOUS_PRODUCER_ID) value.previousProducerId = r.int64();
      else if (tag === TAG_NEXT_PRODUCER_ID) value.nextProducerId = r.int64();
      else if (tag === TAG_CLIENT_TRANSACTION_VERSION) value.clientTransactionVersion = r.int16();
      else r.skip(size);
      r.unlimit(end);
    }
  }
  return value;
}

/** The __transaction_state partition that coordinates a transactional id, as Kafka computes it. */
export function partitionForTransactionalId(transactionalId: string, partitions: number): number {
  // Kafka hashes transactional ids exactly as it hashes group ids.
  return partitionForGroup(transactionalId, partitions);
}
