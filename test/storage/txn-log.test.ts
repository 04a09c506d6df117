// Transactions in the partition log: the last stable offset, markers and their fencing, the
// aborted-transaction index (kept, persisted, rebuilt, deleted with its segment).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { readBatchHeader, splitBatches, isControl, isTransactional } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { defaultLogIo, type LogIo } from '../../src/storage/log-io.js';
import { config, listDir, openLog, suiteTempDir } from './helpers.js';

function hasCode(code: number) {
  return (err: unknown) => err instanceof KafkaError && err.code === code;
}

/** A transactional batch of `count` records from producer `pid` at `seq`. */
function tbatch(pid: number, seq: number, count = 1, epoch = 0, transactional = true): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ key: `k${(seq + i) % 3}`, value: `p${pid}-s${seq + i}` }));
  return buildRecordBatch(records, { producerId: pid, producerEpoch: epoch, baseSequence: seq, transactional });
}

function plain(value: string): Buffer {
  return buildRecordBatch([{ key: value, value }]);
}

async function marker(log: PartitionLog, pid: number, commit: boolean, epoch = 0, coordinatorEpoch = 0) {
  const r = log.appendTxnMarker({ producerId: pid, producerEpoch: epoch, coordinatorEpoch, commit }, 0);
  await r.done;
  return r;
}

describe('transactions in the partition log', () => {
  const root = suiteTempDir('tributary-txnlog-');

  it('holds the last stable offset at the first open transaction until its marker', async () => {
    const log = await openLog(path.join(root, 'lso-0'), config());
    await log.append(plain('a'), 0).done; // 0
    assert.equal(log.lastStableOffset, 1);
    await log.append(tbatch(7, 0, 2), 0).done; // 1-2
    await log.append(plain('b'), 0).done; // 3
    await log.append(tbatch(8, 0), 0).done; // 4
    assert.equal(log.highWatermark, 5);
    assert.equal(log.lastStableOffset, 1);
    assert.deepEqual(
      log.ongoingTransactions().map((t) => [t.producerId, t.firstOffset]),
      [
        [7, 1],
        [8, 4],
      ],
    );
    const m = await marker(log, 7, true); // 5
    assert.equal(m.baseOffset, 5);
    assert.equal(log.lastStableOffset, 4);
    await marker(log, 8, false); // 6
    assert.equal(log.lastStableOffset, 7);
    assert.equal(log.highWatermark, 7);
    assert.deepEqual(log.ongoingTransactions(), []);
    // The marker batch: control + transactional, producer fields, base sequence -1, one record.
    const read = await log.read(5, 1 << 20);
    const batches = [...splitBatches(read.records!)];
    assert.equal(batches.length, 2);
    const header = readBatchHeader(batches[0]!);
    assert.ok(isControl(header.attributes) && isTransactional(header.attributes));
    assert.deepEqual([header.producerId, header.producerEpoch, header.baseSequence, header.recordCount], [7, 0, -1, 1]);
    const [record] = decodeBatchRecords(batches[0]!);
    assert.deepEqual([...record!.key!], [0, 0, 0, 1]); // version 0, COMMIT
    assert.deepEqual([...record!.value!], [0, 0, 0, 0, 0, 0]); // version 0, coordinator epoch 0
    assert.equal(decodeBatchRecords(batches[1]!)[0]!.key!.readInt16BE(2), 0); // ABORT
    assert.deepEqual(log.abortedTransactions(0, 7), [{ producerId: 8, firstOffset: 4 }]);
    assert.deepEqual(log.abortedTransactions(0, 4), []); // the range ends before the transaction
    assert.deepEqual(log.abortedTransactions(7, 7), []); // starts after its marker
    await log.close();
  });

  it('does not move the LSO past a transaction before its marker is acknowledged', async () => {
    const log = await openLog(path.join(root, 'unacked-0'), config());
    await log.append(tbatch(3, 0), 0).done;
    const m = log.appendTxnMarker({ producerId: 3, producerEpoch: 0, coordinatorEpoch: 1, commit: true }, 0);
    // Assigned, not yet written: the transaction is no longer open, but not decided for readers.
    assert.deepEqual(log.ongoingTransactions(), []);
    assert.equal(log.lastStableOffset, 0);
    await m.done;
    assert.equal(log.lastStableOffset, 2);
    await log.close();
  });

  it('a transactions V2 marker must carry an epoch above the open transaction (a stale retry cannot end it)', async () => {
    const log = await openLog(path.join(root, 'tv2-marker'), config());
    const v2 = (epoch: number, commit: boolean) => log.appendTxnMarker({ producerId: 8, producerEpoch: epoch, coordinatorEpoch: 0, commit, transactionVersion: 2 }, 0);
    await log.append(tbatch(8, 0, 2, 3), 0).done;
    // The marker of the transaction at epoch 3 carries epoch 4 (EndTxn v5's bump).
    await v2(4, true).done;
    // A retry of that marker with nothing open is harmless; the next transaction runs at epoch 4.
    await v2(4, true).done;
    await log.append(tbatch(8, 0, 1, 4), 0).done;
    // Now the same stale marker would end the new transaction: refused (V1 markers are not held to it).
    assert.throws(() => v2(4, true), hasCode(ErrorCode.INVALID_PRODUCER_EPOCH));
    assert.ok(log.producerState.get(8)!.ongoingTxnFirstOffset >= 0, 'the transaction is still open');
    await v2(5, false).done;
    assert.equal(log.producerState.get(8)!.ongoingTxnFirstOffset, -1);
    await log.close();
  });

  it('fences markers with an old producer epoch or coordinator epoch', async () => {
    const log = await openLog(path.join(root, 'fence-0'), config());
    await log.append(tbatch(5, 0, 1, 2), 0).done;
    assert.throws(() => log.appendTxnMarker({ producerId: 5, producerEpoch: 1, coordinatorEpoch: 0, commit: true }, 0), hasCode(ErrorCode.INVALID_PRODUCER_EPOCH));
    await marker(log, 5, false, 2, 4);
    assert.throws(() => log.appendTxnMarker({ producerId: 5, producerEpoch: 2, coordinatorEpoch: 3, commit: true }, 0), hasCode(ErrorCode.TRANSACTION_COORDINATOR_FENCED));
    // KIP-890: the marker may carry the bumped epoch; later data uses it from sequence 0.
    await log.append(tbatch(5, 0, 1, 3), 0).done;
    await marker(log, 5, true, 4, 4);
    assert.equal(log.producerState.get(5)!.epoch, 4);
    assert.equal(log.producerState.get(5)!.coordinatorEpoch, 4);
    assert.throws(() => log.append(tbatch(5, 1, 1, 3), 0), hasCode(ErrorCode.INVALID_PRODUCER_EPOCH));
    await log.append(tbatch(5, 0, 1, 4), 0).done;
    // A marker for a producer with no open transaction is written and ends nothing.
    const stray = await marker(log, 99, false);
    assert.equal(stray.lastOffset, log.logEndOffset - 1);
    assert.deepEqual(log.abortedTransactions(0, log.logEndOffset), [{ producerId: 5, firstOffset: 0 }]);
    assert.equal(log.lastStableOffset, log.ongoingTransactions()[0]!.firstOffset);
    await log.close();
  });

  it('refuses a non-transactional batch from a producer with an open transaction', async () => {
    const log = await openLog(path.join(root, 'mixed-0'), config());
    await log.append(tbatch(6, 0), 0).done;
    assert.throws(() => log.append(tbatch(6, 1, 1, 0, false), 0), hasCode(ErrorCode.INVALID_TXN_STATE));
    await marker(log, 6, true);
    await log.append(tbatch(6, 1, 1, 0, false), 0).done;
    await log.close();
  });

  it('persists the aborted index per segment and rebuilds it when missing or torn', async () => {
    const dir = path.join(root, 'persist-0');
    const cfg = config({ segmentBytes: 400 });
    let log = await openLog(dir, cfg);
    const expected: { producerId: number; firstOffset: number }[] = [];
    for (let i = 0; i < 12; i++) {
      const pid = 100 + (i % 3);
      const first = log.logEndOffset;
      await log.append(tbatch(pid, Math.floor(i / 3) * 2, 2), 0).done;
      await log.append(plain(`x${i}`), 0).done;
      const abort = i % 2 === 0;
      await marker(log, pid, !abort);
      if (abort) expected.push({ producerId: pid, firstOffset: first });
    }
    // One transaction left open across the close.
    const openFirst = log.logEndOffset;
    await log.append(tbatch(200, 0, 3), 0).done;
    assert.ok(log.segmentCount > 4, `segments: ${log.segmentCount}`);
    const end = log.logEndOffset;
    assert.deepEqual(log.abortedTransactions(0, end), expected);
    await log.close();
    const txnFiles = listDir(dir).filter((f) => f.endsWith('.txnindex'));
    assert.equal(txnFiles.length, log.segmentCount);

    log = await openLog(dir, cfg, { hadCleanShutdown: true });
    assert.deepEqual(log.abortedTransactions(0, end), expected);
    assert.equal(log.lastStableOffset, openFirst);
    await log.close();

    // Damage: one index missing, one torn, one with a flipped byte; and an unclean shutdown.
    const files = listDir(dir).filter((f) => f.endsWith('.txnindex'));
    fs.rmSync(path.join(dir, files[1]!));
    const torn = path.join(dir, files[2]!);
    fs.truncateSync(torn, Math.max(0, fs.statSync(torn).size - 5));
    const flipped = path.join(dir, files[3]!);
    const data = fs.readFileSync(flipped);
    data[data.length - 1]! ^= 0xff;
    fs.writeFileSync(flipped, data);
    for (const f of listDir(dir).filter((f) => f.endsWith('.snapshot'))) fs.rmSync(path.join(dir, f));
    log = await openLog(dir, cfg, { hadCleanShutdown: false });
    assert.deepEqual(log.abortedTransactions(0, end), expected);
    assert.equal(log.lastStableOffset, openFirst);
    for (let from = 0; from < end; from += 3) {
      const want = expected.filter((t) => t.firstOffset < end && log.abortedTransactions(from, end).some((a) => a.firstOffset === t.firstOffset));
      assert.deepEqual(log.abortedTransactions(from, end), want);
    }
    // The rebuilt indexes of sealed segments were written back.
    assert.equal(listDir(dir).filter((f) => f.endsWith('.txnindex')).length, log.segmentCount - 1);
    await marker(log, 200, false);
    assert.equal(log.lastStableOffset, log.highWatermark);
    assert.deepEqual(log.abortedTransactions(openFirst, log.logEndOffset), [{ producerId: 200, firstOffset: openFirst }]);
    await log.close();
  });

  it('retention and DeleteRecords delete a segment with its aborted index', async () => {
    const dir = path.join(root, 'retention-0');
    const cfg = config({ segmentBytes: 300, retentionBytes: 600 });
    const log = await openLog(dir, cfg);
    for (let i = 0; i < 10; i++) {
      await log.append(tbatch(300 + i, 0, 2), 0).done;
      await marker(log, 300 + i, false);
    }
    const basesBefore = log.segmentBaseOffsets;
    await log.flush();
    const result = await log.applyRetention();
    assert.ok(result.deletedSegments > 0);
    const gone = basesBefore.slice(0, result.deletedSegments).map((b) => String(b).padStart(20, '0'));
    const files = listDir(dir);
    assert.ok(files.filter((f) => f.endsWith('.txnindex')).length > 0);
    for (const stem of gone) assert.ok(!files.some((f) => f.startsWith(stem)), `${stem} files remain: ${files}`);
    assert.ok(!files.some((f) => f.endsWith('.deleted')));
    await log.deleteRecords(log.highWatermark);
    await log.applyRetention();
    const firstBase = log.segmentBaseOffsets[0]!;
    for (const f of listDir(dir).filter((f) => f.endsWith('.txnindex'))) assert.ok(Number(f.slice(0, 20)) >= firstBase);
    await log.close();
  });

  it('truncation drops the aborted entries and transactions above the cut', async () => {
    const log = await openLog(path.join(root, 'truncate-0'), config());
    await log.append(tbatch(9, 0, 2), 0).done; // 0-1
    await marker(log, 9, false); // 2
    await log.append(tbatch(10, 0), 0).done; // 3
    await log.truncateTo(2);
    assert.deepEqual(log.abortedTransactions(0, 10), []);
    assert.equal(log.lastStableOffset, 0);
    assert.deepEqual(
      log.ongoingTransactions().map((t) => t.producerId),
      [9],
    );
    await marker(log, 9, false);
    assert.deepEqual(log.abortedTransactions(0, 10), [{ producerId: 9, firstOffset: 0 }]);
    await log.close();
  });

  it('a marker whose write fails is taken back: the transaction is open again', async () => {
    let failWrites = false;
    const io: LogIo = {
      ...defaultLogIo,
      writev: (fd, buffers, position) => {
        if (failWrites) throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
        return defaultLogIo.writev(fd, buffers, position);
      },
    };
    const log = await openLog(path.join(root, 'rollback-0'), config(), { io });
    await log.append(tbatch(11, 0, 2), 0).done; // 0-1
    failWrites = true;
    const m = log.appendTxnMarker({ producerId: 11, producerEpoch: 0, coordinatorEpoch: 2, commit: false }, 0);
    await assert.rejects(m.done, hasCode(ErrorCode.KAFKA_STORAGE_ERROR));
    failWrites = false;
    assert.equal(log.logEndOffset, 2);
    assert.equal(log.lastStableOffset, 0);
    assert.deepEqual(
      log.ongoingTransactions().map((t) => [t.producerId, t.firstOffset, t.coordinatorEpoch]),
      [[11, 0, -1]],
    );
    assert.deepEqual(log.abortedTransactions(0, 10), []);
    // The coordinator retries the marker.
    const retry = await marker(log, 11, false, 0, 2);
    assert.equal(retry.baseOffset, 2);
    assert.equal(log.lastStableOffset, 3);
    assert.deepEqual(log.abortedTransactions(0, 10), [{ producerId: 11, firstOffset: 0 }]);
    await log.close();
  });

  it('the LSO is never below the log start offset', async () => {
    const log = await openLog(path.join(root, 'start-0'), config({ segmentBytes: 200 }));
    await log.append(tbatch(12, 0), 0).done; // 0, stays open
    for (let i = 0; i < 6; i++) await log.append(plain(`p${i}`), 0).done;
    await log.flush();
    await log.applyRetention(); // lets rolled segments seal
    assert.equal(log.lastStableOffset, 0);
    await log.deleteRecords(4);
    assert.equal(log.lastStableOffset, 4);
    await marker(log, 12, true);
    assert.equal(log.lastStableOffset, log.highWatermark);
    await log.close();
  });
});
