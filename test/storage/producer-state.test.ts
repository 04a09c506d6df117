import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { ProducerStateManager } from '../../src/storage/producer-state.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { readBatchHeader } from '../../src/protocol/records/record-batch.js';
import { config, listDir, openLog, readAll, suiteTempDir } from './helpers.js';

function hasCode(code: number) {
  return (err: unknown) => err instanceof KafkaError && err.code === code;
}

/** An idempotent batch of `count` records starting at sequence `seq`. */
function pbatch(producerId: number, epoch: number, seq: number, count = 1, extra: { transactional?: boolean } = {}): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ value: `p${producerId}-e${epoch}-s${seq + i}` }));
  return buildRecordBatch(records, { producerId, producerEpoch: epoch, baseSequence: seq, ...extra });
}

describe('idempotent producers', () => {
  const root = suiteTempDir();

  it('returns the original offsets for duplicates and writes nothing', async () => {
    const log = await openLog(path.join(root, 'dup-0'), config());
    const first = log.append(pbatch(1, 0, 0, 3), 0);
    const second = log.append(pbatch(1, 0, 3, 2), 0);
    await Promise.all([first.done, second.done]);
    const retry = log.append(pbatch(1, 0, 0, 3), 0);
    assert.equal(retry.duplicate, true);
    assert.equal(retry.baseOffset, 0);
    assert.equal(retry.lastOffset, 2);
    await retry.done;
    const retry2 = log.append(pbatch(1, 0, 3, 2), 0);
    assert.deepEqual([retry2.duplicate, retry2.baseOffset, retry2.lastOffset], [true, 3, 4]);
    assert.equal(log.logEndOffset, 5);
    // A retry within the same turn, before anything is written, also waits for the original.
    const fresh = log.append(pbatch(1, 0, 5, 1), 0);
    const sameTurn = log.append(pbatch(1, 0, 5, 1), 0);
    assert.equal(sameTurn.duplicate, true);
    assert.equal(sameTurn.baseOffset, fresh.baseOffset);
    assert.equal(log.highWatermark, 5);
    await sameTurn.done;
    assert.equal(log.highWatermark, 6);
    // The last five batches are remembered; older retries are out of order.
    for (let seq = 6; seq < 12; seq++) await log.append(pbatch(1, 0, seq), 0).done;
    assert.equal(log.append(pbatch(1, 0, 7), 0).duplicate, true);
    assert.throws(() => log.append(pbatch(1, 0, 6), 0), hasCode(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
    assert.equal((await readAll(log)).length, 12);
    await log.close();
  });

  it('rejects gaps, fences old epochs and requires sequence 0 for a new epoch', async () => {
    const log = await openLog(path.join(root, 'order-0'), config());
    await log.append(pbatch(7, 2, 100, 5), 0).done; // unknown producer: any sequence is accepted
    assert.throws(() => log.append(pbatch(7, 2, 106), 0), hasCode(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
    assert.throws(() => log.append(pbatch(7, 2, 104), 0), hasCode(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
    await log.append(pbatch(7, 2, 105), 0).done;
    assert.throws(() => log.append(pbatch(7, 1, 106), 0), hasCode(ErrorCode.INVALID_PRODUCER_EPOCH));
    assert.throws(() => log.append(pbatch(7, 3, 5), 0), hasCode(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
    await log.append(pbatch(7, 3, 0, 2), 0).done;
    assert.throws(() => log.append(pbatch(7, 2, 106), 0), hasCode(ErrorCode.INVALID_PRODUCER_EPOCH));
    await log.append(pbatch(7, 3, 2), 0).done;
    // Batches without a producer id are never checked.
    await log.append(buildRecordBatch([{ value: 'plain' }]), 0).done;
    assert.equal(log.logEndOffset, 10);
    await log.close();
  });

  it('wraps sequences after 2147483647', async () => {
    const log = await openLog(path.join(root, 'wrap-0'), config());
    await log.append(pbatch(9, 0, 2147483645, 3), 0).done; // 2147483645..2147483647
    await log.append(pbatch(9, 0, 0, 2), 0).done;
    assert.equal(log.producerState.get(9)!.batches.at(-1)!.lastSeq, 1);
    // A batch crossing the wrap: its last sequence wraps too.
    const crossing = await openLog(path.join(root, 'wrap-1'), config());
    await crossing.append(pbatch(9, 0, 2147483646, 4), 0).done; // ..2147483647, 0, 1
    assert.equal(crossing.producerState.get(9)!.batches[0]!.lastSeq, 1);
    await crossing.append(pbatch(9, 0, 2), 0).done;
    await log.close();
    await crossing.close();
  });

  it('checks all batches of one append before writing any', async () => {
    const log = await openLog(path.join(root, 'atomic-0'), config());
    await log.append(pbatch(3, 0, 0), 0).done;
    const records = Buffer.concat([pbatch(3, 0, 1), pbatch(4, 0, 0), pbatch(3, 0, 5)]);
    assert.throws(() => log.append(records, 0), hasCode(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
    assert.equal(log.logEndOffset, 1);
    assert.equal(log.producerState.get(4), undefined);
    const ok = log.append(Buffer.concat([pbatch(3, 0, 1), pbatch(3, 0, 2, 2)]), 0);
    assert.deepEqual([ok.baseOffset, ok.lastOffset], [1, 3]);
    await ok.done;
    await log.close();
  });

  it('tracks the first offset of an ongoing transaction', async () => {
    const log = await openLog(path.join(root, 'txn-0'), config());
    await log.append(buildRecordBatch([{ value: 'x' }]), 0).done;
    await log.append(pbatch(11, 0, 0, 2, { transactional: true }), 0).done;
    await log.append(pbatch(11, 0, 2, 1, { transactional: true }), 0).done;
    assert.equal(log.producerState.get(11)!.ongoingTxnFirstOffset, 1);
    await log.close();
  });

  it('survives a clean close and an unclean reopen', async () => {
    const dir = path.join(root, 'persist-0');
    const cfg = config({ segmentBytes: 600 });
    let log = await openLog(dir, cfg);
    for (let seq = 0; seq < 30; seq++) await log.append(pbatch(21, 4, seq), 0).done;
    for (let seq = 0; seq < 3; seq++) await log.append(pbatch(22, 0, seq * 2, 2), 0).done;
    assert.ok(log.segmentCount > 3);
    await log.close();
    assert.ok(listDir(dir).some((f) => f === '00000000000000000036.snapshot'));

    log = await openLog(dir, cfg, { hadCleanShutdown: true });
    const dup = log.append(pbatch(21, 4, 29), 0);
    assert.deepEqual([dup.duplicate, dup.baseOffset], [true, 29]);
    assert.equal(log.append(pbatch(22, 0, 4, 2), 0).duplicate, true);
    assert.throws(() => log.append(pbatch(21, 3, 30), 0), hasCode(ErrorCode.INVALID_PRODUCER_EPOCH));
    assert.throws(() => log.append(pbatch(22, 0, 7), 0), hasCode(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
    await log.append(pbatch(21, 4, 30), 0).done; // offset 36
    await log.append(pbatch(21, 4, 31), 0).done; // offset 37
    // No close: the next open is unclean and replays from the latest snapshot.
    await log.flush();

    const again = await openLog(dir, cfg, { hadCleanShutdown: false });
    const retry = again.append(pbatch(21, 4, 31), 0);
    assert.deepEqual([retry.duplicate, retry.baseOffset], [true, 37]);
    assert.throws(() => again.append(pbatch(21, 4, 33), 0), hasCode(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
    await again.append(pbatch(21, 4, 32), 0).done;
    await again.close();
    await log.close().catch(() => {});
  });

  it('rebuilds state from the log when snapshots are missing or damaged', async () => {
    const dir = path.join(root, 'nosnap-0');
    const cfg = config({ segmentBytes: 600 });
    const log = await openLog(dir, cfg);
    for (let seq = 0; seq < 20; seq++) await log.append(pbatch(31, 1, seq), 0).done;
    await log.close();
    const snapshots = listDir(dir).filter((f) => f.endsWith('.snapshot'));
    const newest = path.join(dir, snapshots.at(-1)!);
    const data = fs.readFileSync(newest);
    data[data.length - 1]! ^= 1;
    fs.writeFileSync(newest, data);
    let reopened = await openLog(dir, cfg, { hadCleanShutdown: true });
    assert.equal(reopened.append(pbatch(31, 1, 19), 0).duplicate, true);
    await reopened.close();
    for (const f of listDir(dir).filter((f) => f.endsWith('.snapshot'))) fs.rmSync(path.join(dir, f));
    reopened = await openLog(dir, cfg, { hadCleanShutdown: false });
    assert.equal(reopened.append(pbatch(31, 1, 17), 0).duplicate, true);
    await reopened.append(pbatch(31, 1, 20), 0).done;
    await reopened.close();
  });

  it('forgets truncated batches', async () => {
    const log = await openLog(path.join(root, 'truncate-0'), config({ segmentBytes: 500 }));
    for (let seq = 0; seq < 10; seq++) await log.append(pbatch(41, 0, seq), 0).done;
    await log.truncateTo(6);
    assert.equal(log.logEndOffset, 6);
    assert.equal(log.producerState.get(41)!.batches.at(-1)!.lastSeq, 5);
    await log.append(pbatch(41, 0, 6), 0).done;
    await log.close();
  });

  it('snapshots round-trip through the manager', () => {
    const manager = new ProducerStateManager();
    const header = readBatchHeader(pbatch(5, 2, 10, 3));
    header.baseOffset = 40;
    manager.apply(header);
    const copy = new ProducerStateManager();
    assert.equal(copy.loadSnapshot(manager.snapshot(43)), 43);
    assert.deepEqual(copy.get(5), manager.get(5));
    const damaged = manager.snapshot(43);
    damaged[damaged.length - 3]! ^= 8;
    assert.equal(copy.loadSnapshot(damaged), null);
  });
});
