// The records the transaction coordinator writes to __transaction_state, one per transactional
// id (compaction keeps the latest). Big-endian, version-prefixed, with Kafka's int16-length
// strings, following the layout of Kafka's own transaction log (key v0, value v0):
//
//   key   v0: transactional id string
//   value v0: producer id int64, producer epoch int16, timeout ms int32, state int8,
//             partitions nullable array of { topic string, partitions array of int32 },
//             last update timestamp int64, start timestamp int64
//
// A null value is a tombstone: the transactional id expired and is forgotten.
import { Reader, Writer } from '../protocol/primitives.js';
import { partitionForGroup } from './records.js';

/** A transactional id's state, as the transaction log stores it (Kafka's TransactionState). */
export type TxnState = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort' | 'Dead' | 'PrepareEpochFence';

const KEY_VERSION = 0;
const VALUE_VERSION = 0;

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

export function encodeTxnValue(v: TxnLogValue): Buffer {
  const w = new Writer(64);
  w.int16(VALUE_VERSION);
  w.int64(v.producerId);
  w.int16(v.producerEpoch);
  w.int32(v.timeoutMs);
  w.int8(STATE_CODES[v.state]);
  w.arrayLength(v.partitions.size);
  for (const [topic, partitions] of v.partitions) {
    w.string(topic);
    w.arrayLength(partitions.length);
    for (const p of partitions) w.int32(p);
  }
  w.int64(v.lastUpdateTimestamp);
  w.int64(v.startTimestamp);
  return w.finish();
}

export function decodeTxnValue(buf: Buffer): TxnLogValue | null {
  const r = new Reader(buf);
  if (r.int16() !== VALUE_VERSION) return null;
  const producerId = r.int64();
  const producerEpoch = r.int16();
  const timeoutMs = r.int32();
  const state = STATES_BY_CODE.get(r.int8());
  if (!state) return null;
  const partitions = new Map<string, number[]>();
  const topics = r.nullableArrayLength();
  for (let i = 0; i < topics; i++) {
    const topic = r.string();
    const list: number[] = [];
    for (let j = 0, n = r.arrayLength(); j < n; j++) list.push(r.int32());
    partitions.set(topic, list);
  }
  return { producerId, producerEpoch, timeoutMs, state, partitions, lastUpdateTimestamp: r.int64(), startTimestamp: r.int64() };
}

/** The __transaction_state partition that coordinates a transactional id, as Kafka computes it. */
export function partitionForTransactionalId(transactionalId: string, partitions: number): number {
  // Kafka hashes transactional ids exactly as it hashes group ids.
  return partitionForGroup(transactionalId, partitions);
}
