// Reading what a Fetch returned, for the raw-frame tests.
import { isControl, readBatchHeader, splitBatches } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';

/**
 * The values of the data records in a Fetch's records (control batches, the transaction markers,
 * skipped), in log order: the transaction tests compare what a reader sees with what was written.
 */
export function dataRecordValues(records: Buffer | null): string[] {
  if (!records || records.length === 0) return [];
  const out: string[] = [];
  for (const batch of splitBatches(records)) {
    if (isControl(readBatchHeader(batch).attributes)) continue;
    for (const r of decodeBatchRecords(batch)) out.push(r.value!.toString());
  }
  return out;
}
