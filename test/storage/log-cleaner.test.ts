import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLEANER_OFFSET_CHECKPOINT, cleanLog, CleanResult } from '../../src/storage/log-cleaner.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { LogManager } from '../../src/storage/log-manager.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { buildRecordBatch, RecordInput } from '../../src/protocol/records/record-batch-builder.js';
import { Attribute, compressionOf, readBatchHeader, splitBatches } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';
import { config, listDir, openLog, readBatches, silentLogger, suiteTempDir } from './helpers.js';
import { waitUntil } from '../helpers/wait.js';
import { ManualClock } from '../../src/common/clock.js';

interface Rec {
  offset: number;
  key: string | null;
  value: string | null;
}

/** Every record below the high watermark, tolerating empty (cleaned) batches. */
async function readRecords(log: PartitionLog): Promise<Rec[]> {
  const start = log.logStartOffset;
  return (await readBatches(log)).flatMap((b) =>
    decodeBatchRecords(b)
      .filter((r) => r.offset >= start)
      .map((r) => ({ offset: r.offset, key: r.key?.toString() ?? null, value: r.value?.toString() ?? null })),
  );
}

/** The expected result of a clean that mapped [0, cleanedTo): the latest record per key below it. */
function expectedAfterClean(all: Rec[], cleanedTo: number, dropTombstones = false): Rec[] {
  const latest = new Map<string, number>();
  for (const r of all) if (r.key !== null && r.offset < cleanedTo) latest.set(r.key, r.offset);
  return all.filter((r) => {
    if (r.offset >= cleanedTo || r.key === null) return true;
    if (latest.get(r.key) !== r.offset) return false;
    return !(dropTombstones && r.value === null);
  });
}

const compactConfig = (overrides: Partial<LogConfig> = {}): LogConfig => config({ segmentBytes: 600, cleanupPolicy: ['compact'], retentionMs: -1, ...overrides });

async function appendRecords(log: PartitionLog, records: RecordInput[], options: Parameters<typeof buildRecordBatch>[1] = {}): Promise<void> {
  await log.append(buildRecordBatch(records, options), 0).done;
}

/** Lets rolled segments finish sealing (retention waits for that and deletes nothing here). */
async function settle(log: PartitionLog): Promise<void> {
  await log.flush();
  await log.applyRetention();
}

function clean(log: PartitionLog, checkpoint = 0, maxMapEntries = 100_000): Promise<CleanResult> {
  return cleanLog(log, { checkpoint, maxMapEntries, logger: silentLogger });
}

describe('log cleaner', () => {
  const root = suiteTempDir('tributary-cleaner-');

  it('keeps the latest record per key with its original offset; gaps stay visible', async () => {
    const dir = path.join(root, 'latest');
    const log = await openLog(dir, compactConfig());
    for (let i = 0; i < 60; i++) await appendRecords(log, [{ key: `k${i % 5}`, value: `v${i}` }]);
    await settle(log);
    assert.ok(log.segmentCount > 3);
    const before = await readRecords(log);
    const activeBase = log.segmentBaseOffsets.at(-1)!;
    const activeBytes = fs.readFileSync(path.join(dir, `${String(activeBase).padStart(20, '0')}.log`));

    const result = await clean(log);
    assert.equal(result.aborted, false);
    assert.equal(result.cleanedTo, activeBase, 'everything up to the active segment was cleanable');
    const after = await readRecords(log);
    assert.deepEqual(after, expectedAfterClean(before, result.cleanedTo));
    assert.ok(after.length < before.length);
    // Below the active segment exactly one record per key is left, at its original offset.
    const cleaned = after.filter((r) => r.offset < activeBase);
    assert.deepEqual(cleaned.map((r) => r.key).sort(), ['k0', 'k1', 'k2', 'k3', 'k4']);
    for (const r of cleaned) assert.equal(r.value, `v${r.offset}`);
    // The active segment is untouched.
    assert.deepEqual(fs.readFileSync(path.join(dir, `${String(activeBase).padStart(20, '0')}.log`)), activeBytes);
    // Replaced files are removed in the background once no read holds them: wait, bounded.
    const leftovers = () => listDir(dir).filter((f) => f.endsWith('.cleaned') || f.endsWith('.swap') || f.endsWith('.deleted'));
    await waitUntil(() => leftovers().length === 0, { timeout: 10_000, message: () => `the replaced files to go (${leftovers().join(', ')})` });
    // Reading from an offset in a gap starts at the next record kept.
    const gap = before.find((r) => !after.some((a) => a.offset === r.offset))!;
    const { records } = await log.read(gap.offset, 1 << 20);
    const first = decodeBatchRecords([...splitBatches(records!)][0]!).filter((r) => r.offset >= gap.offset)[0]!;
    assert.ok(first.offset > gap.offset);

    // A second clean with nothing dirty changes nothing; the data survives a reopen.
    const again = await clean(log, result.cleanedTo);
    assert.deepEqual(await readRecords(log), after);
    assert.equal(again.recordsRemoved, 0);
    await log.close();
    const reopened = await openLog(dir, compactConfig(), { hadCleanShutdown: false });
    assert.deepEqual(await readRecords(reopened), after);
    await reopened.close();
  });

  it('keeps records without a key', async () => {
    const log = await openLog(path.join(root, 'keyless'), compactConfig());
    for (let i = 0; i < 30; i++) await appendRecords(log, [{ key: i % 3 === 0 ? null : 'k', value: `v${i}` }]);
    await settle(log);
    const before = await readRecords(log);
    const result = await clean(log);
    const after = await readRecords(log);
    assert.deepEqual(after, expectedAfterClean(before, result.cleanedTo));
    assert.equal(after.filter((r) => r.key === null).length, 10);
    await log.close();
  });

  it('keeps tombstones until delete.retention.ms after they were cleaned, then removes them', async () => {
    const c = new ManualClock(1_000_000);
    const log = await openLog(path.join(root, 'tombstones'), compactConfig({ deleteRetentionMs: 10_000 }), { clock: c });
    for (let i = 0; i < 20; i++) await appendRecords(log, [{ key: `k${i % 4}`, value: `v${i}` }], { baseTimestamp: c.now() });
    await appendRecords(log, [{ key: 'k1', value: null }], { baseTimestamp: c.now() });
    for (let i = 0; i < 20; i++) await appendRecords(log, [{ key: `x${i % 2}`, value: `w${i}` }], { baseTimestamp: c.now() });
    await settle(log);
    const before = await readRecords(log);
    const tombstoneOffset = before.find((r) => r.key === 'k1' && r.value === null)!.offset;

    let result = await clean(log);
    assert.ok(result.cleanedTo > tombstoneOffset);
    let after = await readRecords(log);
    assert.deepEqual(after, expectedAfterClean(before, result.cleanedTo));
    assert.ok(
      after.some((r) => r.offset === tombstoneOffset && r.value === null),
      'the tombstone is kept at first',
    );
    assert.ok(!after.some((r) => r.key === 'k1' && r.value !== null), 'older values of its key are gone');
    assert.equal(result.earliestTombstoneHorizon, c.now() + 10_000);
    // The batch carries the delete horizon; the record keeps its timestamp.
    const tombstoneBatch = (await readBatches(log)).find((b) => decodeBatchRecords(b).some((r) => r.offset === tombstoneOffset))!;
    assert.ok(readBatchHeader(tombstoneBatch).attributes & Attribute.deleteHorizon);
    assert.equal(decodeBatchRecords(tombstoneBatch).find((r) => r.offset === tombstoneOffset)!.timestamp, 1_000_000);

    c.set(c.now() + 9_000);
    result = await clean(log, result.cleanedTo);
    assert.ok(
      (await readRecords(log)).some((r) => r.offset === tombstoneOffset),
      'still kept before delete.retention.ms',
    );

    c.set(c.now() + 2_000);
    result = await clean(log, result.cleanedTo);
    after = await readRecords(log);
    assert.ok(!after.some((r) => r.key === 'k1'), 'the tombstone is gone after delete.retention.ms');
    assert.deepEqual(after, expectedAfterClean(before, result.cleanedTo, true));
    assert.equal(result.earliestTombstoneHorizon, -1);
    await log.close();
  });

  for (const codec of ['lz4', 'zstd', 'gzip', 'snappy'] as const) {
    it(`cleans ${codec} batches and recompresses them with the same codec`, async () => {
      const log = await openLog(path.join(root, `codec-${codec}`), compactConfig({ segmentBytes: 2000 }));
      for (let b = 0; b < 20; b++) {
        const records = Array.from({ length: 10 }, (_, i) => ({ key: `k${(b * 10 + i) % 7}`, value: `value-${b}-${i}`.padEnd(40, '.') }));
        await appendRecords(log, records, { compression: codec });
      }
      await settle(log);
      const before = await readRecords(log);
      const result = await clean(log);
      assert.ok(result.recordsRemoved > 0);
      const after = await readRecords(log);
      assert.deepEqual(after, expectedAfterClean(before, result.cleanedTo));
      for (const b of await readBatches(log)) {
        if (readBatchHeader(b).recordCount > 0) assert.equal(compressionOf(readBatchHeader(b).attributes), ['none', 'gzip', 'snappy', 'lz4', 'zstd'].indexOf(codec));
      }
      await log.close();
    });
  }

  it('leaves segments younger than min.compaction.lag.ms alone', async () => {
    const c = new ManualClock(1_000_000);
    const log = await openLog(path.join(root, 'lag'), compactConfig({ minCompactionLagMs: 5_000 }), { clock: c });
    for (let i = 0; i < 20; i++) await appendRecords(log, [{ key: 'k', value: `old${i}` }], { baseTimestamp: c.now() });
    c.set(c.now() + 10_000);
    for (let i = 0; i < 20; i++) await appendRecords(log, [{ key: 'k', value: `new${i}` }], { baseTimestamp: c.now() });
    await settle(log);
    const before = await readRecords(log);
    const firstNew = before.find((r) => r.value === 'new0')!.offset;
    const result = await clean(log);
    assert.ok(result.cleanedTo <= firstNew, 'the clean stops before the young segments');
    const after = await readRecords(log);
    assert.deepEqual(after, expectedAfterClean(before, result.cleanedTo));
    assert.equal(after.filter((r) => r.value!.startsWith('new')).length, 20);
    assert.equal(after.filter((r) => r.value!.startsWith('old')).length, 1 + before.filter((r) => r.value!.startsWith('old') && r.offset >= result.cleanedTo).length);
    await log.close();
  });

  it('converges over several rounds with a tiny offset map', async () => {
    const dir = path.join(root, 'tiny-map');
    const log = await openLog(dir, compactConfig());
    for (let i = 0; i < 120; i++) await appendRecords(log, [{ key: `k${(i * 7) % 13}`, value: `v${i}` }]);
    await settle(log);
    const before = await readRecords(log);
    const activeBase = log.segmentBaseOffsets.at(-1)!;
    let checkpoint = 0;
    let rounds = 0;
    while (checkpoint < activeBase) {
      const result = await clean(log, checkpoint, 3);
      assert.ok(result.cleanedTo > checkpoint, 'every round makes progress');
      checkpoint = result.cleanedTo;
      rounds++;
      assert.ok(rounds < 100);
    }
    assert.ok(rounds > 3, `took ${rounds} rounds`);
    // A final full-map clean changes nothing more: the rounds reached the same result.
    const converged = await readRecords(log);
    assert.deepEqual(converged, expectedAfterClean(before, activeBase));
    await log.close();
  });

  it('keeps the last batch of an idempotent producer, emptied, so its sequence state survives', async () => {
    const log = await openLog(path.join(root, 'producer'), compactConfig());
    for (let i = 0; i < 10; i++) {
      await appendRecords(log, [{ key: 'p', value: `p${i}` }], { producerId: 7, producerEpoch: 0, baseSequence: i });
    }
    for (let i = 0; i < 20; i++) await appendRecords(log, [{ key: 'p', value: `q${i}` }]);
    await settle(log);
    await clean(log);
    const batches = (await readBatches(log)).map((b) => readBatchHeader(b));
    const producerBatches = batches.filter((h) => h.producerId === 7);
    assert.equal(producerBatches.length, 1);
    assert.equal(producerBatches[0]!.recordCount, 0);
    assert.equal(producerBatches[0]!.baseSequence, 9);
    assert.equal(producerBatches[0]!.baseOffset, 9);
    await log.close();
  });

  it('serves reads and takes appends while it cleans', async () => {
    const log = await openLog(path.join(root, 'race'), compactConfig());
    for (let i = 0; i < 200; i++) await appendRecords(log, [{ key: `k${i % 10}`, value: `v${i}` }]);
    await settle(log);
    const before = await readRecords(log);
    const cleaning = clean(log);
    const reads: Array<Promise<unknown>> = [];
    const appends: Array<Promise<void>> = [];
    for (let i = 0; i < 50; i++) {
      reads.push(log.read(i * 3, 4096));
      appends.push(log.append(buildRecordBatch([{ key: 'new', value: `n${i}` }]), 0).done);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const result = await cleaning;
    await Promise.all(appends);
    for (const r of await Promise.allSettled(reads)) assert.equal(r.status, 'fulfilled');
    const after = await readRecords(log);
    assert.deepEqual(after.slice(0, -50), expectedAfterClean(before, result.cleanedTo));
    assert.deepEqual(
      after.slice(-50).map((r) => r.value),
      Array.from({ length: 50 }, (_, i) => `n${i}`),
    );
    await log.close();
  });

  it('a crash mid-clean leaves a consistent log: .cleaned files are dropped, .swap files completed', async () => {
    const dirA = path.join(root, 'crash-a');
    const log = await openLog(dirA, compactConfig());
    for (let i = 0; i < 60; i++) await appendRecords(log, [{ key: `k${i % 6}`, value: `v${i}` }]);
    await settle(log);
    const before = await readRecords(log);
    const bases = log.segmentBaseOffsets;
    await log.close();

    // Clean a copy, to get what a cleaned segment looks like.
    const dirB = path.join(root, 'crash-b');
    fs.cpSync(dirA, dirB, { recursive: true });
    const copy = await openLog(dirB, compactConfig());
    const result = await cleanLog(copy, { checkpoint: 0, maxMapEntries: 1000, logger: silentLogger });
    // A second pass merges the now small segments.
    await cleanLog(copy, { checkpoint: result.cleanedTo, maxMapEntries: 1000, logger: silentLogger });
    const cleanedView = await readRecords(copy);
    const cleanedBases = copy.segmentBaseOffsets;
    await copy.close();
    assert.ok(cleanedBases.length < bases.length, 'segments were merged');
    const firstEnd = cleanedBases[1]!;

    // Crash before the commit point: a .cleaned file next to intact segments.
    const stem = (o: number) => String(o).padStart(20, '0');
    fs.copyFileSync(path.join(dirB, `${stem(0)}.log`), path.join(dirA, `${stem(0)}.log.cleaned`));
    let reopened = await openLog(dirA, compactConfig(), { hadCleanShutdown: false });
    assert.deepEqual(await readRecords(reopened), before, 'nothing changed');
    assert.ok(!listDir(dirA).some((f) => f.endsWith('.cleaned')));
    await reopened.close();

    // Crash after the commit point: the swap file exists, some old files are already .deleted.
    fs.copyFileSync(path.join(dirB, `${stem(0)}.log`), path.join(dirA, `${stem(0)}.log.${stem(firstEnd)}.swap`));
    fs.renameSync(path.join(dirA, `${stem(0)}.log`), path.join(dirA, `${stem(0)}.log.deleted`));
    reopened = await openLog(dirA, compactConfig(), { hadCleanShutdown: false });
    assert.ok(!listDir(dirA).some((f) => f.endsWith('.swap') || f.endsWith('.deleted')));
    const after = await readRecords(reopened);
    // The first group is cleaned, the rest is as it was; nothing live is lost.
    assert.deepEqual(
      after,
      before.filter((r) => r.offset >= firstEnd || cleanedView.some((c) => c.offset === r.offset)),
    );
    const latest = (recs: Rec[]) => new Map(recs.map((r) => [r.key, r.value]));
    assert.deepEqual(latest(after), latest(before));
    // Cleaning again finishes the job.
    await cleanLog(reopened, { checkpoint: 0, maxMapEntries: 1000, logger: silentLogger });
    assert.deepEqual(await readRecords(reopened), expectedAfterClean(before, result.cleanedTo));
    await reopened.close();
  });

  it('the log manager picks dirty compacted logs and checkpoints how far they are cleaned', async () => {
    const logDir = path.join(root, 'manager');
    let manager = await LogManager.open(logDir, { logger: silentLogger, cleanerBackoffMs: 0, retentionCheckIntervalMs: 0 });
    const compacted = await manager.openLog('c', 0, compactConfig({ minCleanableDirtyRatio: 0.3 }));
    const plain = await manager.openLog('d', 0, config({ segmentBytes: 600 }));
    for (let i = 0; i < 40; i++) {
      await appendRecords(compacted, [{ key: `k${i % 3}`, value: `v${i}` }]);
      await appendRecords(plain, [{ key: `k${i % 3}`, value: `v${i}` }]);
    }
    await settle(compacted);
    await settle(plain);
    const plainBefore = await readRecords(plain);
    const results = await manager.runCleaner();
    assert.equal(results.length, 1);
    const cleanedTo = results[0]!.cleanedTo;
    assert.equal(cleanedTo, compacted.segmentBaseOffsets.at(-1));
    assert.equal(manager.cleanerCheckpoint('c', 0), cleanedTo);
    assert.deepEqual(await readRecords(plain), plainBefore, 'a delete-policy log is never compacted');
    assert.deepEqual(await manager.runCleaner(), [], 'nothing dirty is left');
    const text = fs.readFileSync(path.join(logDir, CLEANER_OFFSET_CHECKPOINT), 'utf8');
    assert.match(text, new RegExp(`^c 0 ${cleanedTo}$`, 'm'));
    await manager.close();
    manager = await LogManager.open(logDir, { logger: silentLogger, cleanerBackoffMs: 0, retentionCheckIntervalMs: 0 });
    assert.equal(manager.cleanerCheckpoint('c', 0), cleanedTo);
    await manager.deleteLog('c', 0);
    assert.equal(manager.cleanerCheckpoint('c', 0), 0);
    await manager.close();
  });

  it('the log manager cleans again when kept tombstones reach their horizon, and when dirty data is overdue', async () => {
    const c = new ManualClock(1_000_000);
    const manager = await LogManager.open(path.join(root, 'manager-horizon'), { logger: silentLogger, cleanerBackoffMs: 0, clock: c });
    const cfg = compactConfig({ deleteRetentionMs: 5_000, minCleanableDirtyRatio: 0.99, maxCompactionLagMs: 60_000 });
    // Opened through the manager with its clock.
    const log = await manager.openLog('h', 0, cfg);
    for (let i = 0; i < 30; i++) await appendRecords(log, [{ key: `k${i % 3}`, value: i % 3 === 0 && i > 20 ? null : `v${i}` }], { baseTimestamp: c.now() });
    for (let i = 0; i < 10; i++) await appendRecords(log, [{ key: 'other', value: `o${i}` }], { baseTimestamp: c.now() });
    await settle(log);
    let results = await manager.runCleaner();
    assert.equal(results.length, 1, 'all dirty: cleaned');
    assert.ok(
      (await readRecords(log)).some((r) => r.key === 'k0' && r.value === null),
      'the tombstone is kept for now',
    );
    assert.deepEqual(await manager.runCleaner(), [], 'nothing to do before the horizon');
    c.set(c.now() + 5_001);
    results = await manager.runCleaner();
    assert.equal(results.length, 1, 'the horizon passed: cleaned again');
    assert.ok(!(await readRecords(log)).some((r) => r.key === 'k0'), 'the tombstone is gone');
    assert.deepEqual(await manager.runCleaner(), []);

    for (let i = 0; i < 8; i++) await appendRecords(log, [{ key: 'other', value: `p${i}` }], { baseTimestamp: c.now() });
    await settle(log);
    assert.deepEqual(await manager.runCleaner(), [], 'below the dirty ratio and not overdue');
    c.set(c.now() + 61_000);
    results = await manager.runCleaner();
    assert.equal(results.length, 1, 'overdue: cleaned whatever the ratio');
    assert.ok(results[0]!.recordsRemoved > 0);
    await manager.close();
  });
});
