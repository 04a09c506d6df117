// Reading the control record of a transaction marker (the batch buildControlBatch writes):
// key = version int16 + type int16 (0 ABORT, 1 COMMIT), value = version int16 + coordinator epoch int32.
import type { TxnMarker } from './producer-state.js';
import { decodeBatchRecords } from '../protocol/records/records.js';

const ABORT = 0;
const COMMIT = 1;

/**
 * The marker a control batch carries, or null when its record is not a transaction marker (other
 * control types exist in Kafka) or cannot be decoded: such a batch ends no transaction.
 */
export function parseTxnMarker(batch: Buffer): TxnMarker | null {
  let key: Buffer | null;
  let value: Buffer | null;
  try {
    const records = decodeBatchRecords(batch);
    if (records.length === 0) return null;
    key = records[0]!.key;
    value = records[0]!.value;
  } catch {
    return null;
  }
  if (!key || key.length < 4 || !value || value.length < 6) return null;
  const type = key.readInt16BE(2);
  if (type !== ABORT && type !== COMMIT) return null;
  return { commit: type === COMMIT, coordinatorEpoch: value.readInt32BE(2) };
}
