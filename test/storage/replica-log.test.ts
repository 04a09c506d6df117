// What replication needs of the partition log: a high watermark held by a replication layer,
// appendAsFollower keeping the leader's batches byte for byte (and rebuilding producer state,
// the aborted-transaction index and the leader epochs from them), and truncation of a divergent
// suffix followed by a re-append.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { readBatchHeader, splitBatches } from '../../src/protocol/records/record-batch.js';
import { batch, config, decodeAll, openLog, readAll, suiteTempDir } from './helpers.js';

const CFG = config({ segmentBytes: 2048, indexIntervalBytes: 256 });

function hasCode(code: number) {
  return (err: unknown) => err instanceof KafkaError && err.code === code;
}

function tbatch(pid: number, seq: number, count = 1, epoch = 0): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ key: `k${seq + i}`, value: `p${pid}-s${seq + i}` }));
  return buildRecordBatch(records, { producerId: pid, producerEpoch: epoch, baseSequence: seq, transactional: true });
}

function idem(pid: number, seq: number, count = 1): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ key: `i${seq + i}`, value: `idem-${pid}-${seq + i}` }));
  return buildRecordBatch(records, { producerId: pid, producerEpoch: 0, baseSequence: seq });
}

/** The bytes of every segment file, concatenated in offset order. */
function logBytes(dir: string): Buffer {
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort();
  return Buffer.concat(files.map((f) => fs.readFileSync(path.join(dir, f))));
}

/** Copies what `leader` has durably to `follower` the way a fetcher would, `maxBytes` per round. */
async function replicate(leader: PartitionLog, follower: PartitionLog, maxBytes = 700): Promise<number> {
  let rounds = 0;
  while (follower.logEndOffset < leader.durableEndOffset) {
    assert.ok(rounds++ < 10_000, 'replication makes progress');
    const read = await leader.readForReplica(follower.logEndOffset, maxBytes);
    assert.ok(read.records, `the leader returns data at ${follower.logEndOffset}`);
    // A copy, as it would arrive off the network.
    await follower.appendAsFollower(Buffer.from(read.records)).done;
    follower.setHighWatermark(read.highWatermark);
  }
  return rounds;
}

/** A leader log with epochs 0 and 3, idempotent, transactional (committed, aborted, open) and plain data. */
async function writeLeader(log: PartitionLog): Promise<void> {
  await log.append(batch('a', 5), 0).done;
  await log.append(idem(100, 0, 3), 0).done;
  await log.append(tbatch(7, 0, 2), 0).done;
  await log.append(idem(100, 3, 2), 0).done;
  await log.appendTxnMarker({ producerId: 7, producerEpoch: 0, coordinatorEpoch: 0, commit: true }, 0).done;
  await log.append(tbatch(8, 0, 4), 3).done;
  for (let i = 0; i < 20; i++) await log.append(batch(`b${i}`, 3, { valueSize: 40 }), 3).done;
  await log.appendTxnMarker({ producerId: 8, producerEpoch: 0, coordinatorEpoch: 1, commit: false }, 3).done;
  await log.append(tbatch(9, 0, 2), 3).done; // left open
}

describe('replica logs', () => {
  const root = suiteTempDir('tributary-replica-');

  it('a held high watermark stops reads, timestamps and the LSO; setHighWatermark moves it within the durable end', async () => {
    const log = await openLog(path.join(root, 'hw-0'), CFG);
    await log.append(batch('x', 4), 0).done;
    assert.equal(log.highWatermark, 4, 'a single-node leader: the HW follows the durable end');
    const moves: number[] = [];
    log.onHighWatermark((hw) => moves.push(hw));
    log.holdHighWatermark();
    assert.equal(log.highWatermarkHeld, true);
    await log.append(batch('y', 3), 0).done;
    await log.append(tbatch(5, 0, 2), 0).done;
    assert.equal(log.logEndOffset, 9);
    assert.equal(log.durableEndOffset, 9);
    assert.equal(log.highWatermark, 4, 'held where it was');
    assert.equal(log.lastStableOffset, 4);
    assert.deepEqual(
      decodeAll((await log.read(0, 1 << 20)).records).map((r) => r.offset),
      [0, 1, 2, 3],
      'consumers read below the HW only',
    );
    assert.equal((await log.read(4, 1 << 20)).records, null, 'an offset between HW and LEO is in range but empty');
    assert.deepEqual(
      decodeAll((await log.readForReplica(4, 1 << 20)).records).map((r) => r.offset),
      [4, 5, 6, 7, 8],
      'followers read up to the durable end',
    );
    assert.equal(await log.offsetForTimestamp(0).then((t) => t?.offset), 0);
    await assert.rejects(log.deleteRecords(6), hasCode(ErrorCode.OFFSET_OUT_OF_RANGE), 'DeleteRecords stops at the HW');

    assert.equal(log.setHighWatermark(100), 9, 'clamped to the durable end');
    assert.equal(log.highWatermark, 9);
    assert.equal(log.lastStableOffset, 7, 'the open transaction holds the LSO below the HW');
    assert.equal(log.setHighWatermark(6), 6, 'a follower may learn a lower HW');
    assert.ok(log.lastStableOffset <= log.highWatermark);
    assert.equal(log.setHighWatermark(-5), 0, 'clamped to the log start');
    assert.deepEqual(moves, [9, 6, 0]);

    log.releaseHighWatermark();
    assert.equal(log.highWatermark, 9, 'released: back at the durable end');
    await log.append(batch('z'), 0).done;
    assert.equal(log.highWatermark, 10);
    await log.close();
  });

  it('an ABORT marker keeps the LSO until the held HW passes it', async () => {
    const log = await openLog(path.join(root, 'hw-txn-0'), CFG);
    log.holdHighWatermark();
    await log.append(tbatch(5, 0, 2), 0).done; // 0-1
    await log.appendTxnMarker({ producerId: 5, producerEpoch: 0, coordinatorEpoch: 0, commit: false }, 0).done; // 2
    log.setHighWatermark(2);
    assert.equal(log.lastStableOffset, 0, 'the marker is not under the HW yet: the transaction is not decided for readers');
    log.setHighWatermark(3);
    assert.equal(log.lastStableOffset, 3);
    assert.deepEqual(log.abortedTransactions(0, 3), [{ producerId: 5, firstOffset: 0 }]);
    await log.close();
  });

  it('a follower built from the leader is byte-identical, with the same producer state, LSO, aborted index and epochs', async () => {
    const leader = await openLog(path.join(root, 'leader-0'), CFG);
    await writeLeader(leader);
    const follower = await openLog(path.join(root, 'follower-0'), CFG);
    follower.holdHighWatermark();
    const rounds = await replicate(leader, follower);
    assert.ok(rounds > 3, `several fetch rounds (${rounds})`);
    assert.equal(follower.logEndOffset, leader.logEndOffset);
    assert.equal(follower.highWatermark, leader.highWatermark);
    assert.equal(follower.lastStableOffset, leader.lastStableOffset);
    assert.ok(leader.lastStableOffset < leader.highWatermark, 'the open transaction holds both LSOs');
    assert.deepEqual(follower.abortedTransactions(0, follower.logEndOffset), leader.abortedTransactions(0, leader.logEndOffset));
    assert.equal(follower.abortedTransactions(0, follower.logEndOffset).length, 1);
    assert.deepEqual(follower.ongoingTransactions(), leader.ongoingTransactions());
    assert.deepEqual([...follower.producerState.entries()], [...leader.producerState.entries()]);
    assert.deepEqual(follower.leaderEpochCache.entries, leader.leaderEpochCache.entries);
    for (const epoch of [0, 1, 3, 4]) assert.deepEqual(follower.endOffsetForEpoch(epoch), leader.endOffsetForEpoch(epoch));
    assert.deepEqual(follower.segmentBaseOffsets, leader.segmentBaseOffsets, 'segments roll at the same offsets');
    await leader.close();
    await follower.close();
    assert.ok(logBytes(path.join(root, 'follower-0')).equals(logBytes(path.join(root, 'leader-0'))), 'segment files are byte-identical');

    // The follower's producer state serves a leader it becomes: a retry of the idempotent batch is a duplicate.
    const promoted = await openLog(path.join(root, 'follower-0'), CFG, { hadCleanShutdown: false });
    assert.equal(promoted.lastStableOffset, promoted.ongoingTransactions()[0]!.firstOffset);
    const retry = promoted.append(idem(100, 3, 2), 4);
    assert.equal(retry.duplicate, true);
    assert.throws(() => promoted.append(idem(100, 9), 4), hasCode(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER));
    await promoted.close();
  });

  it('refuses corrupt batches and offsets that go back, appending nothing', async () => {
    const leader = await openLog(path.join(root, 'leader-1'), CFG);
    await leader.append(batch('a', 3), 2).done;
    await leader.append(batch('b', 2), 2).done;
    const all = Buffer.from((await leader.readForReplica(0, 1 << 20)).records!);
    const follower = await openLog(path.join(root, 'follower-1'), CFG);

    const corrupt = Buffer.from(all);
    corrupt[corrupt.length - 3]! ^= 0xff; // a record byte of the second batch: inside the CRC
    assert.throws(() => follower.appendAsFollower(corrupt), hasCode(ErrorCode.CORRUPT_MESSAGE));
    assert.equal(follower.logEndOffset, 0, 'all or nothing');

    const [first, second] = [...splitBatches(all)];
    await follower.appendAsFollower(Buffer.from(first!)).done;
    assert.throws(() => follower.appendAsFollower(Buffer.from(first!)), hasCode(ErrorCode.OFFSET_OUT_OF_RANGE), 'a batch again');
    assert.throws(() => follower.appendAsFollower(Buffer.concat([second!, first!])), hasCode(ErrorCode.OFFSET_OUT_OF_RANGE), 'offsets going back inside one append');
    // A trailing partial batch (a fetch cut at its byte limit) is left for the next fetch.
    const r = follower.appendAsFollower(Buffer.concat([second!, first!.subarray(0, 30)]));
    await r.done;
    assert.deepEqual([r.firstOffset, r.lastOffset, r.batches], [3, 4, 1]);
    assert.equal(readBatchHeader(second!).partitionLeaderEpoch, 2, "the leader's epoch is kept");
    assert.equal(follower.latestEpoch, 2);
    await leader.close();
    await follower.close();
  });

  it("keeps gaps of a compacted leader: offsets are the leader's, not renumbered", async () => {
    const follower = await openLog(path.join(root, 'follower-gap-0'), CFG);
    const b1 = buildRecordBatch([{ key: 'k', value: 'v' }], { baseOffset: 0, partitionLeaderEpoch: 1 });
    const b2 = buildRecordBatch([{ key: 'k', value: 'w' }], { baseOffset: 10, partitionLeaderEpoch: 1 });
    await follower.appendAsFollower(Buffer.concat([b1, b2])).done;
    assert.equal(follower.logEndOffset, 11);
    follower.setHighWatermark(11);
    assert.deepEqual(
      (await readAll(follower)).map((r) => r.offset),
      [0, 10],
    );
    await follower.close();
  });

  it("a follower below the leader's log start restarts empty there, and survives a crash", async () => {
    const dir = path.join(root, 'follower-full-0');
    const persisted: number[] = [];
    const follower = await openLog(dir, CFG, { persistLogStartOffset: async (o) => void persisted.push(o) });
    follower.holdHighWatermark();
    await follower.append(tbatch(60, 0, 3), 5).done; // an open transaction, epoch 5
    for (let i = 0; i < 30; i++) await follower.append(batch(`old${i}`, 2, { valueSize: 40 }), 5).done;
    follower.setHighWatermark(follower.durableEndOffset);
    assert.ok(follower.segmentCount > 1);
    await assert.rejects(follower.truncateFullyAndStartAt(-1), hasCode(ErrorCode.OFFSET_OUT_OF_RANGE));

    await follower.truncateFullyAndStartAt(500);
    assert.deepEqual(persisted, [500], 'the new log start is checkpointed');
    assert.deepEqual(
      [follower.logStartOffset, follower.logEndOffset, follower.durableEndOffset, follower.highWatermark, follower.lastStableOffset],
      [500, 500, 500, 500, 500],
    );
    assert.deepEqual(follower.segmentBaseOffsets, [500]);
    assert.deepEqual(follower.ongoingTransactions(), []);
    assert.deepEqual(follower.leaderEpochCache.entries, []);
    const leaderBatch = buildRecordBatch([{ key: 'k', value: 'new' }], { baseOffset: 500, partitionLeaderEpoch: 7 });
    await follower.appendAsFollower(leaderBatch).done;
    follower.setHighWatermark(501);
    assert.deepEqual(
      (await readAll(follower)).map((r) => [r.offset, r.value]),
      [[500, 'new']],
    );
    assert.deepEqual(follower.leaderEpochCache.entries, [{ epoch: 7, startOffset: 500 }]);
    await follower.close();

    // Recovery (as after a crash) agrees with the checkpointed start and the files.
    const reopened = await openLog(dir, CFG, { hadCleanShutdown: false, logStartOffsetCheckpoint: 500 });
    assert.deepEqual([reopened.logStartOffset, reopened.logEndOffset, reopened.latestEpoch], [500, 501, 7]);
    assert.deepEqual(reopened.ongoingTransactions(), []);
    await reopened.close();
  });

  it('truncating at the log end drops an epoch that starts there with no batch (a leadership lost before any write)', async () => {
    const log = await openLog(path.join(root, 'empty-epoch'), config());
    await log.append(batch('a', 3), 5).done;
    log.assignEpoch(6, log.logEndOffset);
    assert.equal(log.latestEpoch, 6);
    await log.truncateTo(log.logEndOffset);
    assert.deepEqual([log.latestEpoch, log.logEndOffset], [5, 3], 'epoch 6 had nothing: the last fetched epoch is 5 again');
    await log.close();
  });

  it("truncates a divergent suffix (epochs, producer state, aborted index, LSO) and re-appends the leader's", async () => {
    // The true leader: epoch 0 data, then epoch 2 data.
    const common = Array.from({ length: 10 }, (_, i) => batch(`c${i}`, 3, { valueSize: 40 }));
    const leader = await openLog(path.join(root, 'leader-2'), CFG);
    for (const b of common) await leader.append(Buffer.from(b), 0).done;
    const divergence = leader.logEndOffset; // 30
    await leader.append(idem(300, 0, 2), 2).done;
    for (let i = 0; i < 10; i++) await leader.append(batch(`d${i}`, 2, { valueSize: 40 }), 2).done;

    // A follower that had the common prefix, then led epoch 1 and wrote a suffix nobody else has:
    // an aborted transaction, an open one, idempotent data.
    const follower = await openLog(path.join(root, 'follower-2'), CFG);
    follower.holdHighWatermark();
    const prefix = await openLog(path.join(root, 'prefix-2'), CFG);
    for (const b of common) await prefix.append(Buffer.from(b), 0).done;
    await replicate(prefix, follower);
    await prefix.close();
    follower.releaseHighWatermark();
    await follower.append(tbatch(40, 0, 3), 1).done;
    await follower.appendTxnMarker({ producerId: 40, producerEpoch: 0, coordinatorEpoch: 0, commit: false }, 1).done;
    await follower.append(tbatch(41, 0, 2), 1).done;
    for (let i = 0; i < 40; i++) await follower.append(idem(300, i * 2, 2), 1).done;
    assert.ok(follower.segmentCount > 2);
    assert.equal(follower.abortedTransactions(divergence, follower.logEndOffset).length, 1);
    assert.equal(follower.ongoingTransactions().length, 1);
    assert.equal(follower.latestEpoch, 1);

    // Becoming a follower of epoch 2: OffsetForLeaderEpoch(1) on the leader says where epoch 1 ends.
    follower.holdHighWatermark();
    const end = leader.endOffsetForEpoch(1);
    assert.deepEqual(end, { leaderEpoch: 0, endOffset: divergence });
    await follower.truncateTo(end.endOffset);
    assert.equal(follower.logEndOffset, divergence);
    assert.equal(follower.highWatermark, divergence);
    assert.equal(follower.latestEpoch, 0, 'epoch 1 is gone from the cache');
    assert.deepEqual(follower.ongoingTransactions(), [], 'the open transaction of the suffix is gone');
    assert.equal(follower.lastStableOffset, divergence);
    assert.deepEqual(follower.abortedTransactions(0, Number.MAX_SAFE_INTEGER), [], 'the aborted index forgot the suffix');
    assert.equal(follower.producerState.get(300), undefined, "the suffix's idempotent producer is forgotten");

    await replicate(leader, follower);
    assert.equal(follower.logEndOffset, leader.logEndOffset);
    assert.deepEqual(follower.leaderEpochCache.entries, leader.leaderEpochCache.entries);
    assert.deepEqual([...follower.producerState.entries()], [...leader.producerState.entries()]);
    assert.deepEqual(await readAll(follower), await readAll(leader));
    await leader.close();
    await follower.close();
    assert.ok(logBytes(path.join(root, 'follower-2')).equals(logBytes(path.join(root, 'leader-2'))), 'identical after truncation and re-append');

    // And after a crash the follower recovers the same state from its files.
    const reopened = await openLog(path.join(root, 'follower-2'), CFG, { hadCleanShutdown: false });
    assert.equal(reopened.latestEpoch, 2);
    assert.deepEqual(reopened.ongoingTransactions(), []);
    await reopened.close();
  });
});
