import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { defaultLogIo, LogIo } from '../../src/storage/log-io.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { isLogAppendTime, readBatchHeader, splitBatches, validateBatch } from '../../src/protocol/records/record-batch.js';
import { batch, batchOffsets, config, decodeAll, listDir, openLog, readAll, suiteTempDir } from './helpers.js';
import { ManualClock } from '../../src/common/clock.js';

function hasCode(code: number) {
  return (err: unknown) => err instanceof KafkaError && err.code === code;
}

describe('PartitionLog append and read', () => {
  const root = suiteTempDir();

  it('delete and close wait for an exclusive task (a cleaner swap) still writing into the directory', async () => {
    for (const end of ['delete', 'close'] as const) {
      const dir = path.join(root, `exclusive-${end}`);
      const log = await openLog(dir, config());
      await log.append(batch('a'), 0).done;
      let wrote = false;
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const swap = log.runExclusive(async () => {
        await held;
        // A swap past its commit point renames and writes files in the log directory.
        await fs.promises.writeFile(path.join(dir, 'late-index.tmp'), 'x');
        wrote = true;
      });
      // The task goes on only once delete/close has been called.
      const ending = end === 'delete' ? log.delete() : log.close();
      release();
      await ending;
      assert.equal(wrote, true, `${end} waited for the exclusive task`);
      await swap;
      assert.equal(fs.existsSync(dir), end === 'close', end === 'delete' ? 'the directory is gone after the task' : 'close keeps the directory');
    }
  });

  it('assigns contiguous offsets and reads back across segment rolls', async () => {
    const dir = path.join(root, 'rolls-0');
    const log = await openLog(dir, config({ segmentBytes: 2000, indexIntervalBytes: 300 }));
    const results = [];
    for (let i = 0; i < 60; i++) {
      const r = log.append(batch(`b${i}`, (i % 3) + 1, { valueSize: 40 }), 0);
      results.push(r);
      if (i % 7 === 0) await r.done;
    }
    await Promise.all(results.map((r) => r.done));
    let expected = 0;
    for (const [i, r] of results.entries()) {
      assert.equal(r.baseOffset, expected, `batch ${i}`);
      assert.equal(r.lastOffset, expected + (i % 3));
      assert.equal(r.logAppendTime, -1);
      expected = r.lastOffset + 1;
    }
    assert.equal(log.logEndOffset, expected);
    assert.equal(log.highWatermark, expected);
    assert.ok(log.segmentCount >= 4, `rolled into ${log.segmentCount} segments`);
    // No segment is larger than segment.bytes, and segment files are named by base offset.
    for (const base of log.segmentBaseOffsets) {
      const file = path.join(dir, `${String(base).padStart(20, '0')}.log`);
      assert.ok(fs.statSync(file).size <= 2000);
    }
    const all = await readAll(log, 500);
    assert.equal(all.length, expected);
    assert.deepEqual(
      all.map((r) => r.offset),
      Array.from({ length: expected }, (_, i) => i),
    );
    assert.equal(all[0]!.value.startsWith('b0-0'), true);
    // Every offset can be fetched directly; the first batch returned contains it.
    for (let offset = 0; offset < expected; offset++) {
      const { records } = await log.read(offset, 300, log.highWatermark, true);
      const decoded = decodeAll(records);
      assert.ok(
        decoded.some((r) => r.offset === offset),
        `offset ${offset}`,
      );
      assert.ok(decoded[0]!.offset <= offset);
      assert.ok(decoded[0]!.offset > offset - 3, 'lands on the batch containing the offset');
    }
    await log.close();
  });

  it('returns only whole batches within maxBytes, and one oversized batch with minOneBatch', async () => {
    const log = await openLog(path.join(root, 'sizes-0'), config());
    const small = batch('small', 1);
    const big = batch('big', 1, { valueSize: 5000 });
    const sizes = [small.length, big.length];
    await log.append(small, 0).done;
    await log.append(big, 0).done;
    await log.append(batch('tail', 1), 0).done;

    let r = await log.read(0, sizes[0]! + 10, log.highWatermark, true);
    assert.deepEqual(batchOffsets(r.records), [0], 'the big batch does not fit after the small one');
    r = await log.read(1, 100, log.highWatermark, true);
    assert.deepEqual(batchOffsets(r.records), [1], 'minOneBatch returns the whole oversized batch');
    assert.equal(r.records!.length, sizes[1]);
    r = await log.read(1, 100, log.highWatermark, false);
    assert.equal(r.records, null, 'without minOneBatch nothing fits');
    r = await log.read(0, 1 << 20, log.highWatermark, true);
    assert.deepEqual(batchOffsets(r.records), [0, 1, 2]);
    // maxOffset (exclusive) caps the batches returned.
    r = await log.read(0, 1 << 20, 2, true);
    assert.deepEqual(batchOffsets(r.records), [0, 1]);
    // Every returned buffer splits into whole, valid batches.
    for (let max = 1; max < sizes[0]! + sizes[1]! + 200; max += 37) {
      const res = await log.read(0, max, log.highWatermark, true);
      for (const b of splitBatches(res.records!, { rejectPartialTail: true })) validateBatch(b);
    }
    await log.close();
  });

  it('answers empty at the high watermark and OFFSET_OUT_OF_RANGE outside the log', async () => {
    const log = await openLog(path.join(root, 'range-0'), config());
    let r = await log.read(0, 1000, log.highWatermark, true);
    assert.equal(r.records, null);
    await log.append(batch('a', 3), 0).done;
    r = await log.read(3, 1000, log.highWatermark, true);
    assert.equal(r.records, null);
    assert.equal(r.highWatermark, 3);
    await assert.rejects(log.read(4, 1000, log.highWatermark, true), hasCode(ErrorCode.OFFSET_OUT_OF_RANGE));
    await assert.rejects(log.read(-1, 1000, log.highWatermark, true), hasCode(ErrorCode.OFFSET_OUT_OF_RANGE));
    // Between the high watermark and the log end: empty, not an error.
    const pending = log.append(batch('b', 1), 0);
    assert.equal(log.logEndOffset, 4);
    assert.equal(log.highWatermark, 3);
    r = await log.read(3, 1000, log.highWatermark, true);
    assert.equal(r.records, null);
    await pending.done;
    r = await log.read(3, 1000, log.highWatermark, true);
    assert.deepEqual(batchOffsets(r.records), [3]);
    await log.close();
  });

  it('rejects corrupt produce input without assigning offsets', async () => {
    const log = await openLog(path.join(root, 'corrupt-0'), config());
    const good = batch('g', 2);
    const bad = batch('b', 1);
    bad[bad.length - 2]! ^= 1;
    assert.throws(() => log.append(Buffer.concat([good, bad]), 0), hasCode(ErrorCode.CORRUPT_MESSAGE));
    assert.throws(() => log.append(Buffer.concat([good, bad.subarray(0, 20)]), 0), hasCode(ErrorCode.CORRUPT_MESSAGE));
    assert.equal(log.logEndOffset, 0);
    const ok = log.append(Buffer.concat([batch('x', 2), batch('y', 3)]), 0);
    assert.equal(ok.baseOffset, 0);
    assert.equal(ok.lastOffset, 4);
    await ok.done;
    await log.close();
    const tiny = await openLog(path.join(root, 'corrupt-1'), config({ segmentBytes: 1000 }));
    assert.throws(() => tiny.append(batch('huge', 1, { valueSize: 3000 }), 0), hasCode(ErrorCode.RECORD_LIST_TOO_LARGE));
    await tiny.close();
  });

  it('rolls on segment.ms and when the offset index is full', async () => {
    const clock = new ManualClock(1_000_000);
    const log = await openLog(path.join(root, 'time-0'), config({ segmentMs: 1000 }), { clock });
    await log.append(batch('a', 1), 0).done;
    clock.set(clock.now() + 500);
    await log.append(batch('b', 1), 0).done;
    assert.equal(log.segmentCount, 1);
    clock.set(clock.now() + 600);
    await log.append(batch('c', 1), 0).done;
    assert.deepEqual(log.segmentBaseOffsets, [0, 2]);
    await log.close();

    const small = await openLog(path.join(root, 'index-full-0'), config({ segmentIndexBytes: 24, indexIntervalBytes: 1 }));
    // Same timestamp everywhere: only the offset index fills up. 3 entries fit; entries start
    // from the second batch, so each segment holds 4 batches.
    for (let i = 0; i < 20; i++) await small.append(batch(`i${i}`, 1, { baseTimestamp: 5000 }), 0).done;
    assert.deepEqual(small.segmentBaseOffsets, [0, 4, 8, 12, 16]);
    assert.equal((await readAll(small)).length, 20);
    await small.close();
    // Rising timestamps: the time index (2 entries of 12 bytes) fills first.
    const timed = await openLog(path.join(root, 'index-full-1'), config({ segmentIndexBytes: 24, indexIntervalBytes: 1 }));
    for (let i = 0; i < 12; i++) await timed.append(batch(`t${i}`, 1, { baseTimestamp: 5000 + i }), 0).done;
    assert.deepEqual(timed.segmentBaseOffsets, [0, 3, 6, 9]);
    await timed.close();
  });

  it('group-commits the appends of one event-loop turn in one writev', async () => {
    const log = await openLog(path.join(root, 'group-0'), config());
    const before = { ...log.ioStats };
    const results = Array.from({ length: 200 }, (_, i) => log.append(batch(`g${i}`, 2), 0));
    assert.deepEqual(
      results.map((r) => r.baseOffset),
      Array.from({ length: 200 }, (_, i) => i * 2),
    );
    assert.equal(log.highWatermark, 0, 'nothing is written before the turn ends');
    await Promise.all(results.map((r) => r.done));
    assert.equal(log.ioStats.writevCalls - before.writevCalls, 1);
    assert.equal(log.ioStats.groupCommits - before.groupCommits, 1);
    assert.equal(log.ioStats.fsyncs - before.fsyncs, 0, 'no fsync under the default flush policy');
    assert.equal(log.highWatermark, 400);
    const all = await readAll(log);
    assert.equal(all[399]!.value, 'g199-1');
    // Two separate turns: two writes.
    await log.append(batch('t1', 1), 0).done;
    await log.append(batch('t2', 1), 0).done;
    assert.equal(log.ioStats.writevCalls - before.writevCalls, 3);
    await log.close();
  });

  it('acknowledges an append in the turn of its group commit, not a turn later', async () => {
    const log = await openLog(path.join(root, 'ack-turn-0'), config());
    try {
      const appended = log.append(batch('a', 1), 0);
      let acked = false;
      void appended.done.then(() => (acked = true));
      // Queued after the group commit's own setImmediate: it runs once that write's promise
      // continuations have (Node runs them between immediates).
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(acked, true, 'the append is acknowledged before the next immediate');
      assert.equal(log.highWatermark, 1);
    } finally {
      await log.close();
    }
  });

  it('fsyncs per flush.messages and shares one fsync per group', async () => {
    let fsyncs = 0;
    const io: LogIo = { ...defaultLogIo, fsync: (fd) => (fsyncs++, defaultLogIo.fsync(fd)) };
    const log = await openLog(path.join(root, 'flush-0'), config({ flushIntervalMessages: 1 }), { io });
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(batch(`f${i}`, 1), 0).done));
    assert.equal(fsyncs, 1, 'one fsync for the whole group');
    await log.append(batch('x', 1), 0).done;
    assert.equal(fsyncs, 2);
    await log.close();

    fsyncs = 0;
    const lazy = await openLog(path.join(root, 'flush-1'), config({ flushIntervalMessages: 10 }), { io });
    for (let i = 0; i < 9; i++) await lazy.append(batch(`l${i}`, 1), 0).done;
    assert.equal(fsyncs, 0);
    await lazy.append(batch('l9', 1), 0).done;
    assert.equal(fsyncs, 1, 'the tenth message triggers the fsync');
    await lazy.close();

    fsyncs = 0;
    const clock = new ManualClock(0);
    const timed = await openLog(path.join(root, 'flush-2'), config({ flushIntervalMs: 100 }), { io, clock });
    await timed.append(batch('t0', 1), 0).done;
    assert.equal(fsyncs, 0);
    clock.set(150);
    await timed.flushIfDue(clock.now());
    assert.equal(fsyncs, 1, 'the periodic check fsyncs after flush.ms');
    await timed.flushIfDue(clock.now());
    assert.equal(fsyncs, 1, 'nothing new to fsync');
    clock.set(400);
    await timed.append(batch('t1', 1), 0).done;
    assert.equal(fsyncs, 2, 'an append after flush.ms waits for an fsync');
    await timed.close();
  });

  it('stamps LogAppendTime with a valid CRC', async () => {
    const now = 1_700_000_123_456;
    const log = await openLog(path.join(root, 'lat-0'), config({ messageTimestampType: 'LogAppendTime' }), { clock: new ManualClock(now) });
    const r = log.append(batch('a', 3, { baseTimestamp: 5 }), 0);
    assert.equal(r.logAppendTime, now);
    await r.done;
    const { records } = await log.read(0, 10000, log.highWatermark, true);
    const [b] = [...splitBatches(records!)];
    const h = validateBatch(b!);
    assert.ok(isLogAppendTime(h.attributes));
    assert.equal(h.maxTimestamp, now);
    assert.deepEqual(
      decodeAll(records).map((x) => x.timestamp),
      [now, now, now],
    );
    assert.deepEqual(await log.offsetForTimestamp(now), { offset: 0, timestamp: now });
    assert.deepEqual(await log.maxTimestampOffset(), { offset: 0, timestamp: now });
    await log.close();
  });

  it('stamps the partition leader epoch and keeps the epoch cache', async () => {
    const dir = path.join(root, 'epochs-0');
    const log = await openLog(dir, config());
    assert.equal(log.latestEpoch, -1);
    assert.deepEqual(log.endOffsetForEpoch(0), { leaderEpoch: -1, endOffset: -1 });
    await log.append(batch('a', 2), 1).done; // 0-1, epoch 1
    await log.append(batch('b', 2), 1).done; // 2-3
    await log.append(batch('c', 2), 3).done; // 4-5, epoch 3
    await log.append(batch('d', 2), 5).done; // 6-7, epoch 5
    const { records } = await log.read(4, 1 << 20, log.highWatermark, true);
    assert.equal(readBatchHeader(records!).partitionLeaderEpoch, 3);
    assert.equal(log.latestEpoch, 5);
    assert.deepEqual(log.leaderEpochCache.entries, [
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 4 },
      { epoch: 5, startOffset: 6 },
    ]);
    assert.deepEqual(log.endOffsetForEpoch(5), { leaderEpoch: 5, endOffset: 8 }, 'latest epoch: the log end');
    assert.deepEqual(log.endOffsetForEpoch(3), { leaderEpoch: 3, endOffset: 6 });
    assert.deepEqual(log.endOffsetForEpoch(4), { leaderEpoch: 3, endOffset: 6 }, 'unknown middle epoch: the previous one');
    assert.deepEqual(log.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 4 });
    assert.deepEqual(log.endOffsetForEpoch(0), { leaderEpoch: 0, endOffset: 0 }, 'older than all: start of the first');
    assert.deepEqual(log.endOffsetForEpoch(6), { leaderEpoch: -1, endOffset: -1 }, 'newer than all');
    assert.deepEqual(log.endOffsetForEpoch(-1), { leaderEpoch: -1, endOffset: -1 });
    assert.equal(log.epochForOffset(5), 3);
    assert.equal(log.epochForOffset(7), 5);
    await log.close();
    const text = fs.readFileSync(path.join(dir, 'leader-epoch-checkpoint'), 'utf8');
    assert.equal(text, '0\n3\n1 0\n3 4\n5 6\n');
    const reopened = await openLog(dir, config());
    assert.equal(reopened.latestEpoch, 5);
    assert.deepEqual(reopened.endOffsetForEpoch(3), { leaderEpoch: 3, endOffset: 6 });
    await reopened.truncateTo(5);
    assert.equal(reopened.logEndOffset, 4, 'the batch straddling the target goes entirely');
    assert.deepEqual(reopened.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }], 'epoch 3 started at 4: gone');
    assert.deepEqual(
      (await readAll(reopened)).map((r) => r.offset),
      [0, 1, 2, 3],
    );
    const again = reopened.append(batch('e', 1), 3);
    assert.equal(again.baseOffset, 4);
    await again.done;
    await reopened.close();
  });

  it('drops an epoch without records at open without rewriting the checkpoint', async () => {
    const dir = path.join(root, 'epoch-idle-0');
    const log = await openLog(dir, config());
    await log.append(batch('a', 2), 1).done;
    log.assignEpoch(2, log.logEndOffset); // became leader again, nothing appended since
    await log.close();
    const file = path.join(dir, 'leader-epoch-checkpoint');
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n2\n1 0\n2 2\n');
    const inode = fs.statSync(file).ino;

    const reopened = await openLog(dir, config());
    assert.deepEqual(reopened.leaderEpochCache.entries, [{ epoch: 1, startOffset: 0 }], 'epoch 2 holds no record: dropped');
    assert.equal(fs.statSync(file).ino, inode, 'the checkpoint was not rewritten at open (an atomic write replaces the file)');
    reopened.assignEpoch(3, reopened.logEndOffset);
    assert.equal(fs.readFileSync(file, 'utf8'), '0\n2\n1 0\n3 2\n', 'the next write leaves the dropped epoch out');
    const appended = reopened.append(batch('b', 1), 3);
    await appended.done;
    await reopened.close();

    const again = await openLog(dir, config());
    assert.deepEqual(again.leaderEpochCache.entries, [
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 2 },
    ]);
    assert.deepEqual(again.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 2 });
    await again.close();
  });

  it('finds offsets by timestamp exactly inside multi-record batches', async () => {
    for (const compression of ['none', 'zstd'] as const) {
      const log = await openLog(path.join(root, `ts-${compression}-0`), config({ segmentBytes: 1500, indexIntervalBytes: 200 }));
      // Timestamps not monotonic inside batches; each batch has 5 records.
      const expected: Array<{ offset: number; timestamp: number }> = [];
      let offset = 0;
      for (let b = 0; b < 40; b++) {
        const base = 10_000 + b * 100;
        const stamps = [base + 30, base + 10, base + 50, base + 20, base + 40];
        const records = stamps.map((t, i) => ({ value: `v${b}-${i}-${'p'.repeat(20)}`, timestamp: t }));
        await log.append(buildRecordBatch(records, { compression }), 0).done;
        for (const t of stamps) expected.push({ offset: offset++, timestamp: t });
      }
      assert.ok(log.segmentCount > 2);
      const firstAtOrAfter = (ts: number) => expected.find((e) => e.timestamp >= ts) ?? null;
      for (const target of [0, 10_000, 10_011, 10_015, 10_030, 10_031, 10_049, 10_050, 10_051, 11_234, 13_945, 13_950, 13_951]) {
        assert.deepEqual(await log.offsetForTimestamp(target), firstAtOrAfter(target), `${compression} target ${target}`);
      }
      assert.deepEqual(await log.maxTimestampOffset(), { offset: 39 * 5 + 2, timestamp: 13_950 });
      await log.close();
      const reopened = await openLog(path.join(root, `ts-${compression}-0`), config({ segmentBytes: 1500, indexIntervalBytes: 200 }));
      assert.deepEqual(await reopened.offsetForTimestamp(12_345), firstAtOrAfter(12_345));
      assert.deepEqual(await reopened.maxTimestampOffset(), { offset: 39 * 5 + 2, timestamp: 13_950 });
      await reopened.close();
    }
    const empty = await openLog(path.join(root, 'ts-empty-0'), config());
    assert.deepEqual(await empty.maxTimestampOffset(), { offset: -1, timestamp: -1 });
    assert.equal(await empty.offsetForTimestamp(0), null);
    await empty.close();
  });

  it('keeps segment files, indexes and a snapshot after close', async () => {
    const dir = path.join(root, 'files-0');
    const log = await openLog(dir, config({ segmentBytes: 1000, indexIntervalBytes: 100 }));
    for (let i = 0; i < 20; i++) await log.append(batch(`f${i}`, 1, { valueSize: 100 }), 0).done;
    const bases = log.segmentBaseOffsets;
    await log.close();
    const files = listDir(dir);
    for (const base of bases) {
      const stem = String(base).padStart(20, '0');
      assert.ok(files.includes(`${stem}.log`));
      assert.ok(files.includes(`${stem}.index`));
      assert.ok(files.includes(`${stem}.timeindex`));
    }
    assert.ok(files.includes(`${String(20).padStart(20, '0')}.snapshot`));
    assert.ok(files.filter((f) => f.endsWith('.snapshot')).length <= 3);
    const index = fs.readFileSync(path.join(dir, `${String(bases[0]).padStart(20, '0')}.index`));
    assert.ok(index.length > 0 && index.length % 8 === 0);
    const reopened = await openLog(dir, config({ segmentBytes: 1000, indexIntervalBytes: 100 }));
    assert.equal(reopened.logEndOffset, 20);
    assert.equal((await readAll(reopened)).length, 20);
    await reopened.close();
  });

  it('deletes its directory', async () => {
    const dir = path.join(root, 'delete-0');
    const log = await openLog(dir, config());
    await log.append(batch('x', 1), 0).done;
    await log.delete();
    assert.equal(fs.existsSync(dir), false);
    assert.throws(
      () => log.append(batch('y', 1), 0),
      (e: unknown) => e instanceof KafkaError,
    );
  });
});

describe('PartitionLog I/O failures', () => {
  const root = suiteTempDir();

  function enospc(): Error {
    return Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  }

  it('fails the appends of a failed write, truncates back and keeps serving', async () => {
    let failWrites = 0;
    let partial = false;
    const io: LogIo = {
      ...defaultLogIo,
      writev(fd, buffers, position) {
        if (failWrites > 0) {
          failWrites--;
          if (partial) {
            // Half of the data makes it to the file before the disk fills up.
            const all = Buffer.concat(buffers);
            fs.writeSync(fd, all, 0, Math.floor(all.length / 2), position);
          }
          throw enospc();
        }
        return defaultLogIo.writev(fd, buffers, position);
      },
    };
    const dir = path.join(root, 'enospc-0');
    const log = await openLog(dir, config({ segmentBytes: 800 }), { io });
    for (let i = 0; i < 5; i++) await log.append(batch(`ok${i}`, 2, { valueSize: 50 }), 0).done;
    const sizeBefore = log.sizeInBytes;
    for (const mode of [false, true]) {
      partial = mode;
      failWrites = 1;
      const failing = Array.from({ length: 6 }, (_, i) => log.append(batch(`lost${i}`, 2, { valueSize: 50 }), 0));
      assert.equal(failing[0]!.baseOffset, 10);
      const outcomes = await Promise.allSettled(failing.map((r) => r.done));
      for (const o of outcomes) {
        assert.equal(o.status, 'rejected');
        assert.ok(hasCode(ErrorCode.KAFKA_STORAGE_ERROR)(o.reason));
      }
      assert.equal(log.logEndOffset, 10);
      assert.equal(log.highWatermark, 10);
      assert.equal(log.sizeInBytes, sizeBefore);
      assert.deepEqual(
        (await readAll(log)).map((r) => r.value.slice(0, 5)),
        Array.from({ length: 10 }, (_, i) => `ok${i >> 1}-${i & 1}`),
      );
    }
    assert.equal(log.ioStats.rollbacks, 2);
    // The log goes on with contiguous offsets, and the files hold no trace of the failed data.
    const next = log.append(batch('after', 1), 0);
    assert.equal(next.baseOffset, 10);
    await next.done;
    await log.close();
    const reopened = await openLog(dir, config({ segmentBytes: 800 }), { hadCleanShutdown: false });
    const values = (await readAll(reopened)).map((r) => r.value);
    assert.equal(values.length, 11);
    assert.ok(values[10]!.startsWith('after-0'));
    await reopened.close();
  });

  it('fails appends waiting for a failed fsync and truncates them away', async () => {
    let failSync = false;
    const io: LogIo = {
      ...defaultLogIo,
      fsync: (fd) => (failSync ? Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' })) : defaultLogIo.fsync(fd)),
    };
    const dir = path.join(root, 'eio-0');
    const log = await openLog(dir, config({ flushIntervalMessages: 1 }), { io });
    await log.append(batch('a', 1), 0).done;
    failSync = true;
    const failed = log.append(batch('b', 1), 0);
    await assert.rejects(failed.done, hasCode(ErrorCode.KAFKA_STORAGE_ERROR));
    assert.equal(log.logEndOffset, 1);
    assert.equal(log.highWatermark, 1);
    failSync = false;
    const ok = log.append(batch('c', 1), 0);
    assert.equal(ok.baseOffset, 1);
    await ok.done;
    assert.deepEqual(
      (await readAll(log)).map((r) => r.value),
      ['a-0', 'c-0'],
    );
    await log.close();
  });

  it('undoes a roll when the write into the new segment fails', async () => {
    let failWrites = 0;
    const io: LogIo = {
      ...defaultLogIo,
      writev: (fd, buffers, position) => {
        if (failWrites-- > 0) throw enospc();
        return defaultLogIo.writev(fd, buffers, position);
      },
    };
    const dir = path.join(root, 'roll-fail-0');
    const log = await openLog(dir, config({ segmentBytes: 500 }), { io });
    await log.append(batch('a', 1, { valueSize: 300 }), 0).done;
    failWrites = 1;
    const [x, y] = [log.append(batch('b', 1, { valueSize: 300 }), 0), log.append(batch('c', 1, { valueSize: 300 }), 0)];
    assert.deepEqual(log.segmentBaseOffsets, [0, 1, 2]);
    await assert.rejects(x.done);
    await assert.rejects(y.done);
    assert.deepEqual(log.segmentBaseOffsets, [0, 1], 'the new empty segment at the high watermark stays');
    assert.deepEqual(
      listDir(dir).filter((f) => f.endsWith('.log')),
      ['00000000000000000000.log', '00000000000000000001.log'],
    );
    await log.append(batch('d', 1, { valueSize: 300 }), 0).done;
    assert.deepEqual(
      (await readAll(log)).map((r) => r.value.slice(0, 3)),
      ['a-0', 'd-0'],
    );
    await log.close();
  });
});
