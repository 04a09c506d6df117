// Regression (found by the 1M-frame protocol fuzz run, seed 777): DeleteRecords (or retention)
// removing segments while the cleaner read them made the clean fail with "segment ... is closed"
// and an error log line. The clean now aborts quietly; the next round starts over.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cleanLog } from '../../src/storage/log-cleaner.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { config, listDir, openLog, silentLogger, suiteTempDir } from './helpers.js';

describe('log cleaner and concurrent segment removal', () => {
  const root = suiteTempDir('tributary-cleaner-race-');

  it('DeleteRecords during a clean aborts the clean instead of failing it', async () => {
    for (let attempt = 0; attempt < 6; attempt++) {
      const log = await openLog(path.join(root, `race-${attempt}`), config({ segmentBytes: 16 * 1024, cleanupPolicy: ['compact', 'delete'], retentionMs: -1 }));
      for (let i = 0; i < 3000; i++) await log.append(buildRecordBatch([{ key: `k${i % 50}`, value: `value-${i}`.padEnd(40, '.') }]), 0).done;
      await log.flush();
      await log.applyRetention();
      assert.ok(log.segmentCount > 10);
      const cleaning = cleanLog(log, { checkpoint: 0, maxMapEntries: 100_000, logger: silentLogger });
      // Let the cleaner get into the segments, then remove most of them under it.
      for (let i = 0; i < attempt * 20; i++) await new Promise((r) => setImmediate(r));
      await log.deleteRecords(log.highWatermark - 10);
      const result = await cleaning; // must not throw
      assert.equal(typeof result.aborted, 'boolean');
      assert.ok(!listDir(log.dir).some((f) => f.endsWith('.cleaned') || f.endsWith('.swap')), 'no cleaner output left behind');
      // The log is still readable from its new start, and a later clean goes through.
      assert.ok((await log.read(log.logStartOffset, 1 << 20)).records);
      const again = await cleanLog(log, { checkpoint: 0, maxMapEntries: 100_000, logger: silentLogger });
      assert.equal(again.aborted, false);
      await log.close();
    }
  });
});
