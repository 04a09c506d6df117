import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { LOG_START_OFFSET_CHECKPOINT } from '../../src/storage/file-names.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { formatStartOffsets, parseStartOffsets } from '../../src/storage/log-start-offset-checkpoint.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { batch, config, listDir, openLog, readAll, silentLogger, suiteTempDir } from './helpers.js';
import { waitUntil } from '../helpers/wait.js';
import { ManualClock } from '../../src/common/clock.js';

function isKafkaError(code: number) {
  return (err: unknown) => err instanceof KafkaError && err.code === code;
}

/** Appends one ~170-byte batch per timestamp (the clock follows the timestamps). */
async function appendAt(log: PartitionLog, clock: ManualClock, timestamps: number[], label = 'r'): Promise<void> {
  for (const ts of timestamps) {
    clock.set(ts);
    await log.append(batch(`${label}${ts}`, 1, { valueSize: 100, baseTimestamp: ts }), 0).done;
  }
}

const logFiles = (dir: string) => listDir(dir).filter((f) => f.endsWith('.log'));

describe('retention and the log start offset', () => {
  const root = suiteTempDir('tributary-retention-');

  // ~170-byte batches with 400-byte segments: two batches per segment.
  const small = { segmentBytes: 400 };

  it('deletes closed segments whose largest timestamp is past retention.ms, oldest first', async () => {
    const dir = path.join(root, 'time');
    const c = new ManualClock(1000);
    const log = await openLog(dir, config({ ...small, retentionMs: 2500 }), { clock: c });
    await appendAt(log, c, [1000, 2000, 3000, 4000, 5000, 6000]);
    assert.deepEqual(log.segmentBaseOffsets, [0, 2, 4]);

    let result = await log.applyRetention(6000);
    assert.deepEqual(result, { deletedSegments: 1, deletedBytes: result.deletedBytes, logStartOffset: 2 });
    assert.ok(result.deletedBytes > 300);
    assert.deepEqual(log.segmentBaseOffsets, [2, 4]);
    assert.equal(log.logStartOffset, 2);
    assert.deepEqual(logFiles(dir), ['00000000000000000002.log', '00000000000000000004.log']);
    assert.ok(!listDir(dir).some((f) => f.startsWith('00000000000000000000.')), 'no file of the deleted segment is left');
    await assert.rejects(log.read(1, 1024), isKafkaError(ErrorCode.OFFSET_OUT_OF_RANGE));
    assert.deepEqual(
      (await readAll(log)).map((r) => r.offset),
      [2, 3, 4, 5],
    );

    // A segment whose largest timestamp is recent stops the pass even if later ones are old.
    result = await log.applyRetention(6000);
    assert.equal(result.deletedSegments, 0);

    // retention.ms = -1: nothing expires.
    log.updateConfig(config({ ...small, retentionMs: -1 }));
    assert.equal((await log.applyRetention(1e12)).deletedSegments, 0);
    await log.close();
  });

  it('rolls the active segment when the whole log expired and empties out at the log end', async () => {
    const dir = path.join(root, 'expired');
    const c = new ManualClock(1000);
    const log = await openLog(dir, config({ ...small, retentionMs: 1000 }), { clock: c });
    await appendAt(log, c, [1000, 1100, 1200, 1300, 1400]);
    assert.deepEqual(log.segmentBaseOffsets, [0, 2, 4]);

    // Only the active segment is recent: the closed ones go, the active one stays.
    assert.equal((await log.applyRetention(2300)).deletedSegments, 1);
    assert.deepEqual(log.segmentBaseOffsets, [2, 4]);

    const result = await log.applyRetention(10_000);
    assert.equal(result.deletedSegments, 2);
    assert.equal(log.logStartOffset, 5);
    assert.equal(log.logEndOffset, 5);
    assert.equal(log.highWatermark, 5);
    assert.deepEqual(log.segmentBaseOffsets, [5]);
    assert.deepEqual(logFiles(dir), ['00000000000000000005.log']);
    assert.deepEqual(await readAll(log), []);
    const empty = await log.read(5, 1024);
    assert.equal(empty.records, null);
    assert.equal(empty.logStartOffset, 5);

    // An empty active segment is never rolled again; appends continue at the log end.
    assert.equal((await log.applyRetention(1e9)).deletedSegments, 0);
    c.set(20_000);
    const appended = log.append(batch('after', 2, { baseTimestamp: 20_000 }), 0);
    await appended.done;
    assert.equal(appended.baseOffset, 5);
    assert.deepEqual(
      (await readAll(log)).map((r) => r.offset),
      [5, 6],
    );
    await log.close();

    const reopened = await openLog(dir, config({ ...small, retentionMs: 1000 }), { clock: c });
    assert.equal(reopened.logStartOffset, 5);
    assert.equal(reopened.logEndOffset, 7);
    await reopened.close();
  });

  it('deletes the oldest segments while what remains stays at least retention.bytes', async () => {
    const dir = path.join(root, 'size');
    const c = new ManualClock(1000);
    const log = await openLog(dir, config({ ...small, retentionMs: -1, retentionBytes: 700 }), { clock: c });
    await appendAt(
      log,
      c,
      Array.from({ length: 11 }, (_, i) => 1000 + i),
    );
    const before = log.segmentBaseOffsets;
    assert.deepEqual(before, [0, 2, 4, 6, 8, 10]);
    const segmentSize = log.sizeInBytes / 5.5;
    const result = await log.applyRetention(c.now());
    // 11 batches ≈ 1870 bytes; segments of ≈ 340: dropping three leaves ≈ 850 ≥ 700, a fourth would leave ≈ 510.
    assert.equal(result.deletedSegments, 3);
    assert.deepEqual(log.segmentBaseOffsets, [6, 8, 10]);
    assert.ok(log.sizeInBytes >= 700 && log.sizeInBytes - segmentSize * 2 < 700, `size ${log.sizeInBytes}`);
    assert.equal(log.logStartOffset, 6);

    // A long produce loop stays bounded.
    for (let round = 0; round < 10; round++) {
      await appendAt(
        log,
        c,
        Array.from({ length: 8 }, (_, i) => 2000 + round * 10 + i),
      );
      await log.applyRetention(c.now());
      assert.ok(log.sizeInBytes <= 700 + 2 * 400, `size ${log.sizeInBytes} after round ${round}`);
    }
    assert.equal(log.logEndOffset, 91);
    await log.close();
  });

  it('never deletes by time or size when cleanup.policy is compact only', async () => {
    const dir = path.join(root, 'compact');
    const c = new ManualClock(1000);
    const log = await openLog(dir, config({ ...small, retentionMs: 1, retentionBytes: 0, cleanupPolicy: ['compact'] }), { clock: c });
    await appendAt(log, c, [1000, 1001, 1002, 1003, 1004]);
    assert.equal((await log.applyRetention(1e9)).deletedSegments, 0);
    assert.deepEqual(log.segmentBaseOffsets, [0, 2, 4]);
    await assert.rejects(log.deleteRecords(2), isKafkaError(ErrorCode.POLICY_VIOLATION));

    // compact,delete does delete.
    log.updateConfig(config({ ...small, retentionMs: 1, cleanupPolicy: ['compact', 'delete'] }));
    assert.equal((await log.applyRetention(1e9)).deletedSegments, 3);
    assert.equal(log.logStartOffset, 5);
    await log.close();
  });

  it('DeleteRecords moves the start, removes whole segments below it and checks its bounds', async () => {
    const dir = path.join(root, 'delete-records');
    const c = new ManualClock(1000);
    const log = await openLog(dir, config({ ...small, retentionMs: -1 }), { clock: c });
    await appendAt(log, c, [1000, 1001, 1002, 1003, 1004, 1005, 1006]);
    assert.deepEqual(log.segmentBaseOffsets, [0, 2, 4, 6]);

    await assert.rejects(log.deleteRecords(8), isKafkaError(ErrorCode.OFFSET_OUT_OF_RANGE));
    await assert.rejects(log.deleteRecords(-2), isKafkaError(ErrorCode.OFFSET_OUT_OF_RANGE));
    assert.equal(await log.deleteRecords(3), 3);
    assert.equal(log.logStartOffset, 3);
    assert.deepEqual(log.segmentBaseOffsets, [2, 4, 6], 'the segment holding offset 3 stays');
    await assert.rejects(log.read(2, 1024), isKafkaError(ErrorCode.OFFSET_OUT_OF_RANGE));
    assert.deepEqual(
      (await readAll(log)).map((r) => r.offset),
      [3, 4, 5, 6],
    );
    const ts = await log.offsetForTimestamp(0);
    assert.equal(ts?.offset, 3, 'timestamp lookups start at the log start');

    assert.equal(await log.deleteRecords(1), 3, 'an offset below the start changes nothing');
    assert.equal(await log.deleteRecords(4), 4);
    assert.deepEqual(log.segmentBaseOffsets, [4, 6]);
    assert.equal(await log.deleteRecords(-1), 7, '-1 is the high watermark');
    assert.deepEqual(log.segmentBaseOffsets, [6], 'the active segment stays');
    assert.equal(log.logEndOffset, 7);
    const appended = log.append(batch('x', 1), 0);
    await appended.done;
    assert.equal(appended.baseOffset, 7);
    assert.equal(appended.logStartOffset, 7);
    await log.close();
  });

  it('keeps idempotent producers working across deleted segments', async () => {
    const dir = path.join(root, 'idempotent');
    const c = new ManualClock(1000);
    const log = await openLog(dir, config({ ...small, retentionMs: 500 }), { clock: c });
    const idem = (seq: number, ts: number) => batch(`p${seq}`, 1, { valueSize: 100, baseTimestamp: ts, producerId: 7, producerEpoch: 0, baseSequence: seq });
    for (let seq = 0; seq < 5; seq++) {
      c.set(1000 + seq);
      await log.append(idem(seq, c.now()), 0).done;
    }
    c.set(5000);
    await log.applyRetention(5000);
    assert.equal(log.logStartOffset, 5);
    // The retry of the last batch is still recognised, and the next sequence is accepted.
    const retry = log.append(idem(4, 1004), 0);
    assert.equal(retry.duplicate, true);
    assert.equal(retry.baseOffset, 4);
    const next = log.append(idem(5, 5000), 0);
    await next.done;
    assert.equal(next.baseOffset, 5);
    await log.close();
    const reopened = await openLog(dir, config({ ...small, retentionMs: 500 }), { clock: c });
    assert.throws(() => reopened.append(idem(7, 5001), 0), isKafkaError(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
    await reopened.append(idem(6, 5001), 0).done;
    await reopened.close();
  });
});

describe('log start offset checkpoint', () => {
  const root = suiteTempDir('tributary-lso-');

  const small = config({ segmentBytes: 400, retentionMs: -1 });

  it('formats and parses Kafka-style checkpoint text', () => {
    const entries = new Map([
      ['orders-0', { topic: 'orders', partition: 0, offset: 42 }],
      ['my-topic-3', { topic: 'my-topic', partition: 3, offset: 7 }],
    ]);
    const text = formatStartOffsets(entries);
    assert.equal(text, '0\n2\norders 0 42\nmy-topic 3 7\n');
    assert.deepEqual(parseStartOffsets(text), entries);
    assert.equal(parseStartOffsets('0\n2\norders 0 42\n'), null, 'count mismatch');
    assert.equal(parseStartOffsets('1\n0\n'), null, 'unknown version');
    assert.equal(parseStartOffsets('0\n1\norders 0 -1\n'), null);
  });

  it('persists DeleteRecords across a clean and an unclean restart', async () => {
    const dir = path.join(root, 'restart');
    const c = new ManualClock(1000);
    let manager = await LogManager.open(dir, { logger: silentLogger, clock: c, retentionCheckIntervalMs: 0 });
    const log = await manager.openLog('orders', 0, small);
    await appendAt(log, c, [1000, 1001, 1002, 1003, 1004, 1005]);
    assert.equal(await log.deleteRecords(3), 3);
    assert.equal(fs.readFileSync(path.join(dir, LOG_START_OFFSET_CHECKPOINT), 'utf8'), '0\n1\norders 0 3\n');
    await manager.close();

    manager = await LogManager.open(dir, { logger: silentLogger, clock: c, retentionCheckIntervalMs: 0 });
    assert.equal(manager.hadCleanShutdown, true);
    let reopened = await manager.openLog('orders', 0, small);
    assert.equal(reopened.logStartOffset, 3);
    assert.deepEqual(
      (await readAll(reopened)).map((r) => r.offset),
      [3, 4, 5],
    );
    assert.equal(await reopened.deleteRecords(5), 5);
    // No close: a crash.
    const crashed = await LogManager.open(dir, { logger: silentLogger, clock: c, retentionCheckIntervalMs: 0 });
    assert.equal(crashed.hadCleanShutdown, false);
    reopened = await crashed.openLog('orders', 0, small);
    assert.equal(reopened.logStartOffset, 5);
    assert.equal(reopened.logEndOffset, 6);
    await assert.rejects(reopened.read(4, 1024), isKafkaError(ErrorCode.OFFSET_OUT_OF_RANGE));
    assert.deepEqual(
      (await readAll(reopened)).map((r) => r.offset),
      [5],
    );
    await crashed.close();
    await manager.close().catch(() => undefined);
  });

  it('finishes a deletion interrupted by a crash, and never resurrects deleted offsets', async () => {
    const dir = path.join(root, 'interrupted');
    const c = new ManualClock(1000);
    let manager = await LogManager.open(dir, { logger: silentLogger, clock: c, retentionCheckIntervalMs: 0 });
    const log = await manager.openLog('t', 0, small);
    await appendAt(log, c, [1000, 1001, 1002, 1003, 1004, 1005]);
    await manager.close();
    const pdir = path.join(dir, 't-0');
    assert.deepEqual(logFiles(pdir), ['00000000000000000000.log', '00000000000000000002.log', '00000000000000000004.log']);

    // The crash came after the checkpoint said 4, with segment 0 half renamed and segment 2 untouched.
    fs.writeFileSync(path.join(dir, LOG_START_OFFSET_CHECKPOINT), '0\n1\nt 0 4\n');
    fs.renameSync(path.join(pdir, '00000000000000000000.log'), path.join(pdir, '00000000000000000000.log.deleted'));
    manager = await LogManager.open(dir, { logger: silentLogger, clock: c, retentionCheckIntervalMs: 0 });
    let reopened = await manager.openLog('t', 0, small);
    assert.equal(reopened.logStartOffset, 4);
    assert.deepEqual(reopened.segmentBaseOffsets, [4]);
    assert.deepEqual(logFiles(pdir), ['00000000000000000004.log']);
    assert.ok(!listDir(pdir).some((f) => /^0{19}[02]\.(log|index|timeindex)/.test(f)), `leftovers of deleted segments: ${listDir(pdir).join(' ')}`);
    assert.deepEqual(
      (await readAll(reopened)).map((r) => r.offset),
      [4, 5],
    );
    await manager.close();

    // A checkpoint beyond the recovered log end: the log restarts empty at the start offset.
    fs.writeFileSync(path.join(dir, LOG_START_OFFSET_CHECKPOINT), '0\n1\nt 0 9\n');
    manager = await LogManager.open(dir, { logger: silentLogger, clock: c, retentionCheckIntervalMs: 0 });
    reopened = await manager.openLog('t', 0, small);
    assert.equal(reopened.logStartOffset, 9);
    assert.equal(reopened.logEndOffset, 9);
    assert.deepEqual(logFiles(pdir), ['00000000000000000009.log']);
    const appended = reopened.append(batch('z', 1), 0);
    await appended.done;
    assert.equal(appended.baseOffset, 9);
    await manager.close();
  });

  it('does not let a damaged segment below the start cut the log after a crash', async () => {
    const dir = path.join(root, 'damaged-below');
    const c = new ManualClock(1000);
    let manager = await LogManager.open(dir, { logger: silentLogger, clock: c, retentionCheckIntervalMs: 0 });
    const log = await manager.openLog('d', 0, small);
    await appendAt(log, c, [1000, 1001, 1002, 1003, 1004, 1005]);
    await manager.close();
    const pdir = path.join(dir, 'd-0');
    // Segment 0 is below the checkpointed start, has lost its indexes and is garbage; no clean marker.
    fs.writeFileSync(path.join(dir, LOG_START_OFFSET_CHECKPOINT), '0\n1\nd 0 3\n');
    fs.rmSync(path.join(dir, '.kafka_cleanshutdown'));
    fs.rmSync(path.join(pdir, '00000000000000000000.index'));
    const fd = fs.openSync(path.join(pdir, '00000000000000000000.log'), 'r+');
    fs.writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, 0);
    fs.closeSync(fd);
    manager = await LogManager.open(dir, { logger: silentLogger, clock: c, retentionCheckIntervalMs: 0 });
    assert.equal(manager.hadCleanShutdown, false);
    const reopened = await manager.openLog('d', 0, small);
    assert.equal(reopened.logStartOffset, 3);
    assert.equal(reopened.logEndOffset, 6);
    assert.deepEqual(
      (await readAll(reopened)).map((r) => r.offset),
      [3, 4, 5],
    );
    await manager.close();
  });

  it('runs retention on a schedule through the log manager and forgets deleted topics', async () => {
    const dir = path.join(root, 'manager');
    const c = new ManualClock(1000);
    const manager = await LogManager.open(dir, { logger: silentLogger, clock: c, retentionCheckIntervalMs: 20 });
    const log = await manager.openLog('timed', 0, config({ segmentBytes: 400, retentionMs: 1000 }));
    await appendAt(log, c, [1000, 1001, 1002]);
    c.set(5000);
    await waitUntil(() => log.logStartOffset >= 3, { timeout: 5000, message: 'the retention timer' });
    assert.equal(log.logStartOffset, 3, 'the timer ran retention');
    assert.equal(log.logEndOffset, 3);
    assert.match(fs.readFileSync(path.join(dir, LOG_START_OFFSET_CHECKPOINT), 'utf8'), /^timed 0 3$/m);

    await manager.deleteLog('timed', 0);
    assert.doesNotMatch(fs.readFileSync(path.join(dir, LOG_START_OFFSET_CHECKPOINT), 'utf8'), /timed/);
    const again = await manager.openLog('timed', 0, config());
    assert.equal(again.logStartOffset, 0);
    assert.equal(await manager.runRetention(), 0);
    await manager.close();
  });

  it('checkpoints every log of a retention pass over many partitions', async () => {
    const dir = path.join(root, 'many');
    const c = new ManualClock(1000);
    let manager = await LogManager.open(dir, { logger: silentLogger, clock: c, retentionCheckIntervalMs: 0 });
    const cfg = config({ segmentBytes: 400, retentionMs: 1000 });
    for (let p = 0; p < 40; p++) {
      const log = await manager.openLog('many', p, cfg);
      await appendAt(log, c, [1000, 1001, 1002 + p]);
    }
    c.set(2500);
    assert.equal(await manager.runRetention(), 80, 'two segments of each log (the active one rolled)');
    const lines = fs.readFileSync(path.join(dir, LOG_START_OFFSET_CHECKPOINT), 'utf8').trim().split('\n');
    assert.equal(lines[1], '40');
    await manager.close();
    manager = await LogManager.open(dir, { logger: silentLogger, clock: c, retentionCheckIntervalMs: 0 });
    for (let p = 0; p < 40; p++) {
      const log = await manager.openLog('many', p, cfg);
      assert.equal(log.logStartOffset, 3, `partition ${p}`);
      assert.equal(log.logEndOffset, 3);
    }
    await manager.close();
  });

  it('serves reads racing a deletion with data or OFFSET_OUT_OF_RANGE, never a storage error', async () => {
    const dir = path.join(root, 'race');
    const c = new ManualClock(1000);
    const log = await openLog(dir, config({ segmentBytes: 400, retentionMs: -1 }), { clock: c });
    await appendAt(
      log,
      c,
      Array.from({ length: 20 }, (_, i) => 1000 + i),
    );
    const reads = Array.from({ length: 20 }, (_, i) =>
      log.read(i, 4096).then(
        (r) => (r.records ? 'data' : 'empty'),
        (err: unknown) => (err instanceof KafkaError ? err.code : String(err)),
      ),
    );
    await log.deleteRecords(15);
    const outcomes = await Promise.all(reads);
    for (const outcome of outcomes) assert.ok(outcome === 'data' || outcome === ErrorCode.OFFSET_OUT_OF_RANGE, `read gave ${outcome}`);
    assert.deepEqual(log.segmentBaseOffsets, [14, 16, 18]);
    await log.close();
  });
});
