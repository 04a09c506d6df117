// Regression (found by the protocol fuzzer, seed 2): produce checks a batch's CRC but does not
// decompress it, so a client can store a compressed batch whose records section is garbage. The
// log cleaner failed on it at every round ("log cleaning failed"), so the partition was never
// compacted again. Such a batch is now kept as it is and the rest of the log is compacted.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cleanLog } from '../../src/storage/log-cleaner.js';
import { CompressionType } from '../../src/protocol/records/compression.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { BatchField, computeBatchCrc, readBatchHeader } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';
import { config, openLog, readBatches, silentLogger, suiteTempDir } from './helpers.js';

describe('log cleaner and undecodable batches', () => {
  const root = suiteTempDir('tributary-cleaner-corrupt-');

  for (const [name, codec] of [
    ['gzip', CompressionType.GZIP],
    ['zstd', CompressionType.ZSTD],
    ['none', CompressionType.NONE],
  ] as const) {
    it(`keeps a ${name} batch whose records cannot be decoded and compacts the rest`, async () => {
      const log = await openLog(path.join(root, name), config({ segmentBytes: 600, cleanupPolicy: ['compact'], retentionMs: -1 }));
      // A batch with a valid CRC over a garbled records section, as a client can produce it.
      const bad = buildRecordBatch([{ key: 'x', value: 'payload-that-gets-garbled' }], { compression: codec });
      for (let i = BatchField.records; i < bad.length; i++) bad[i] = 0x5a;
      bad.writeUInt32BE(computeBatchCrc(bad), BatchField.crc);
      await log.append(Buffer.from(bad), 0).done;
      for (let i = 0; i < 40; i++) await log.append(buildRecordBatch([{ key: `k${i % 3}`, value: `v${i}` }]), 0).done;
      await log.flush();
      await log.applyRetention();
      assert.ok(log.segmentCount > 2);

      const result = await cleanLog(log, { checkpoint: 0, maxMapEntries: 1000, logger: silentLogger });
      assert.equal(result.aborted, false);
      assert.ok(result.recordsRemoved > 0, 'the decodable records were compacted');
      const batches = await readBatches(log);
      const first = batches[0]!;
      assert.equal(readBatchHeader(first).baseOffset, 0);
      assert.deepEqual(first.subarray(BatchField.magic), bad.subarray(BatchField.magic), 'the undecodable batch is kept byte for byte');
      const keys = batches.slice(1).flatMap((b) => decodeBatchRecords(b).map((r) => r.key!.toString()));
      assert.ok(keys.length < 40);
      await log.close();
    });
  }
});
