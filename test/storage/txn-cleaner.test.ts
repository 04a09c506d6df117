// The log cleaner and transactions: records of aborted transactions go (and never shadow older
// committed values), markers stay until nothing of their transaction is left and delete.retention.ms
// passed, nothing at or above the last stable offset is touched.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cleanLog } from '../../src/storage/log-cleaner.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { isControl, readBatchHeader, splitBatches } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';
import { config, listDir, openLog, silentLogger, suiteTempDir } from './helpers.js';
import { ManualClock } from '../../src/common/clock.js';

interface Rec {
  offset: number;
  key: string;
  value: string;
}

/** Data records and the offsets of control batches below the high watermark. */
async function contents(log: PartitionLog): Promise<{ data: Rec[]; markers: number[] }> {
  const data: Rec[] = [];
  const markers: number[] = [];
  let offset = log.logStartOffset;
  for (let guard = 0; guard < 10_000 && offset < log.highWatermark; guard++) {
    const { records } = await log.read(offset, 1 << 20);
    if (!records) break;
    for (const b of splitBatches(records, { rejectPartialTail: true })) {
      const header = readBatchHeader(b);
      const last = header.baseOffset + header.lastOffsetDelta;
      if (last >= offset) {
        if (isControl(header.attributes)) markers.push(header.baseOffset);
        else for (const r of decodeBatchRecords(b)) data.push({ offset: r.offset, key: r.key!.toString(), value: r.value!.toString() });
      }
      offset = Math.max(offset, last + 1);
    }
  }
  return { data, markers };
}

const compactConfig = (overrides: Partial<LogConfig> = {}): LogConfig => config({ segmentBytes: 500, cleanupPolicy: ['compact'], retentionMs: -1, ...overrides });

function txn(pid: number, seq: number, key: string, value: string): Buffer {
  return buildRecordBatch([{ key, value }], { producerId: pid, producerEpoch: 0, baseSequence: seq, transactional: true });
}

async function settle(log: PartitionLog): Promise<void> {
  await log.flush();
  await log.applyRetention();
}

describe('log cleaner with transactions', () => {
  const root = suiteTempDir('tributary-txn-cleaner-');

  it('removes aborted records, keeps committed ones and every marker younger than delete.retention.ms', async () => {
    const dir = path.join(root, 'aborted');
    const log = await openLog(dir, compactConfig());
    const committed = new Map<string, string>();
    let markers = 0;
    for (let i = 0; i < 24; i++) {
      const key = `k${i % 4}`;
      if (i % 3 === 0) {
        // Plain data.
        await log.append(buildRecordBatch([{ key, value: `plain-${i}` }]), 0).done;
        committed.set(key, `plain-${i}`);
        continue;
      }
      const pid = 500 + (i % 2);
      const seq = log.producerState.get(pid)?.batches.at(-1)?.lastSeq ?? -1;
      await log.append(txn(pid, seq + 1, key, `txn-${i}`), 0).done;
      const commit = i % 3 === 1;
      await log.appendTxnMarker({ producerId: pid, producerEpoch: 0, coordinatorEpoch: 0, commit }, 0).done;
      markers++;
      if (commit) committed.set(key, `txn-${i}`);
    }
    // Filler so that everything above is in sealed segments below the active one.
    for (let i = 0; i < 8; i++) await log.append(buildRecordBatch([{ key: `filler${i}`, value: 'f'.repeat(60) }]), 0).done;
    await settle(log);
    const before = await contents(log);
    assert.ok(before.data.some((r) => r.value.startsWith('txn-') && !committed.has(r.value)));

    const result = await cleanLog(log, { checkpoint: 0, maxMapEntries: 100_000, logger: silentLogger });
    assert.equal(result.aborted, false);
    const after = await contents(log);
    // Markers stay, all of them.
    assert.equal(after.markers.length, markers);
    assert.deepEqual(after.markers, before.markers);
    // The latest committed value of each key survived; no aborted value is left.
    const cleanedTo = result.cleanedTo;
    const aborted = new Set(before.data.filter((r) => r.value.startsWith('txn-') && ![...committed.values()].includes(r.value)).map((r) => r.value));
    for (const [key, value] of committed) {
      const kept = after.data.filter((r) => r.key === key && r.offset < cleanedTo);
      assert.deepEqual(
        kept.map((r) => r.value),
        [value],
        `key ${key}`,
      );
    }
    for (const r of after.data) if (r.offset < cleanedTo) assert.ok(!aborted.has(r.value), `aborted ${r.value} kept`);
    // The aborted index still answers for the range (markers and their entries were kept).
    assert.ok(log.abortedTransactions(0, log.highWatermark).length > 0);
    // A reopen (clean, then after removing the txn indexes) gives the same answers.
    const abortedBefore = log.abortedTransactions(0, log.highWatermark);
    await log.close();
    // The swapped-in segments carry their aborted index to disk.
    const kept = await openLog(dir, compactConfig(), { hadCleanShutdown: true });
    assert.deepEqual(kept.abortedTransactions(0, kept.highWatermark), abortedBefore);
    await kept.close();
    for (const f of listDir(dir).filter((f) => f.endsWith('.txnindex'))) fs.rmSync(path.join(dir, f));
    const reopened = await openLog(dir, compactConfig(), { hadCleanShutdown: true });
    assert.deepEqual(await contents(reopened), after);
    assert.equal(reopened.lastStableOffset, reopened.highWatermark);
    // Rebuilt from what is left: transactions whose data the cleaner removed entirely have
    // nothing left to filter and are not found again (as in Kafka); the others are.
    const rebuilt = reopened.abortedTransactions(0, reopened.highWatermark);
    assert.ok(rebuilt.length >= 1 && rebuilt.length <= abortedBefore.length);
    for (const t of rebuilt) assert.ok(abortedBefore.some((b) => b.producerId === t.producerId && b.firstOffset <= t.firstOffset));
    await reopened.close();
  });

  it('cleans only below the last stable offset', async () => {
    const dir = path.join(root, 'open');
    const log = await openLog(dir, compactConfig());
    await log.append(buildRecordBatch([{ key: 'a', value: 'old' }]), 0).done;
    await log.append(txn(600, 0, 'a', 'open-txn'), 0).done; // stays open
    for (let i = 0; i < 20; i++) await log.append(buildRecordBatch([{ key: 'a', value: `v${i}`.padEnd(60, '.') }]), 0).done;
    await settle(log);
    assert.ok(log.segmentCount > 3);
    assert.equal(log.lastStableOffset, 1);
    const result = await cleanLog(log, { checkpoint: 0, maxMapEntries: 100_000, logger: silentLogger });
    assert.equal(result.segmentsBefore, 0, 'nothing is cleanable while the transaction at 1 is open');
    const after = await contents(log);
    assert.deepEqual(
      after.data.slice(0, 2).map((r) => r.value),
      ['old', 'open-txn'],
    );
    await log.appendTxnMarker({ producerId: 600, producerEpoch: 0, coordinatorEpoch: 0, commit: false }, 0).done;
    for (let i = 0; i < 8; i++) await log.append(buildRecordBatch([{ key: `f${i}`, value: 'f'.repeat(60) }]), 0).done;
    await settle(log);
    const second = await cleanLog(log, { checkpoint: 0, maxMapEntries: 100_000, logger: silentLogger });
    assert.ok(second.segmentsBefore > 0);
    const final = await contents(log);
    assert.ok(!final.data.some((r) => r.value === 'open-txn'));
    assert.ok(!final.data.some((r) => r.value === 'old'));
    await log.close();
  });
  it('removes markers whose transaction left nothing, once older than delete.retention.ms', async () => {
    const dir = path.join(root, 'markers');
    const clock = new ManualClock(1_000_000);
    const log = await openLog(dir, compactConfig({ deleteRetentionMs: 1000 }), { clock });
    const seqs = new Map<number, number>();
    const send = async (pid: number, key: string, value: string, commit: boolean): Promise<number> => {
      const seq = seqs.get(pid) ?? 0;
      seqs.set(pid, seq + 1);
      await log.append(txn(pid, seq, key, value), 0).done;
      const marker = log.appendTxnMarker({ producerId: pid, producerEpoch: 0, coordinatorEpoch: 0, commit }, 0);
      await marker.done;
      return marker.baseOffset;
    };
    const plain = (key: string, value: string) => log.append(buildRecordBatch([{ key, value }]), 0).done;
    const supersededCommit = await send(700, 'a', 'a1', true);
    await plain('a', 'a2');
    const abortMarker = await send(700, 'b', 'b1', false);
    const retainedCommit = await send(700, 'c', 'c1', true);
    const latestOf700 = await send(700, 'd', 'd1', true);
    const latestOf701 = await send(701, 'e', 'e1', true);
    await plain('e', 'e2');
    for (let i = 0; i < 8; i++) await plain(`filler${i}`, 'f'.repeat(60));
    await settle(log);
    assert.ok(log.abortedTransactions(0, log.highWatermark).some((t) => t.producerId === 700));

    // Within delete.retention.ms every marker stays.
    await cleanLog(log, { checkpoint: 0, maxMapEntries: 100_000, logger: silentLogger });
    assert.deepEqual((await contents(log)).markers, [supersededCommit, abortMarker, retainedCommit, latestOf700, latestOf701]);

    clock.set(clock.now() + 2000);
    const result = await cleanLog(log, { checkpoint: 0, maxMapEntries: 100_000, logger: silentLogger });
    assert.equal(result.aborted, false);
    const after = await contents(log);
    assert.deepEqual(
      after.markers,
      [retainedCommit, latestOf700, latestOf701],
      "gone: the commit whose only record was superseded, and the abort whose data was removed; kept: markers of retained data, and a producer's latest batch",
    );
    assert.deepEqual(
      after.data.filter((r) => !r.key.startsWith('filler')).map((r) => `${r.key}=${r.value}`),
      ['a=a2', 'c=c1', 'd=d1', 'e=e2'],
    );
    assert.deepEqual(log.abortedTransactions(0, log.highWatermark), [], 'the removed ABORT marker took its index entry along');
    assert.equal(log.lastStableOffset, log.highWatermark);
    await log.close();
    const reopened = await openLog(dir, compactConfig({ deleteRetentionMs: 1000 }), { clock });
    assert.deepEqual(await contents(reopened), after);
    assert.equal(reopened.lastStableOffset, reopened.highWatermark, 'no transaction looks open after a replay');
    await reopened.close();
  });
});
