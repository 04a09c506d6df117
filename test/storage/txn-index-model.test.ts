// found 10: the aborted-transaction index and the last stable offset of a replica, checked
// against a model computed from the batches themselves, while the replica goes through what a
// cluster does to it: appends as a follower in chunks, truncations of a divergent suffix (in
// the middle of transactions, at markers, across segments), clean and unclean reopenings.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { isControl, isTransactional, readBatchHeader, splitBatches } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';
import { config, openLog, rng, suiteTempDir } from './helpers.js';

const CFG = config({ segmentBytes: 1200, indexIntervalBytes: 128 });

interface ModelBatch {
  baseOffset: number;
  lastOffset: number;
  producerId: number;
  transactional: boolean;
  /** 'commit' | 'abort' for a marker. */
  marker: 'commit' | 'abort' | null;
}

/** The batches of a log, as written, from its bytes. */
function modelBatches(records: Buffer): ModelBatch[] {
  const out: ModelBatch[] = [];
  for (const bytes of splitBatches(records, { rejectPartialTail: false })) {
    const h = readBatchHeader(bytes);
    let marker: ModelBatch['marker'] = null;
    if (isControl(h.attributes)) {
      const rec = decodeBatchRecords(bytes)[0]!;
      marker = rec.key!.readInt16BE(2) === 1 ? 'commit' : 'abort';
    }
    out.push({ baseOffset: h.baseOffset, lastOffset: h.baseOffset + h.lastOffsetDelta, producerId: h.producerId, transactional: isTransactional(h.attributes), marker });
  }
  return out;
}

/** Aborted transactions and the first open one of the batches below `end`. */
function model(batches: readonly ModelBatch[], end: number) {
  const open = new Map<number, number>();
  const aborted: Array<{ producerId: number; firstOffset: number; lastOffset: number }> = [];
  for (const b of batches) {
    if (b.baseOffset >= end) break;
    if (b.marker) {
      const first = open.get(b.producerId);
      if (first !== undefined && b.marker === 'abort') aborted.push({ producerId: b.producerId, firstOffset: first, lastOffset: b.lastOffset });
      open.delete(b.producerId);
    } else if (b.transactional && !open.has(b.producerId)) open.set(b.producerId, b.baseOffset);
  }
  const firstOpen = open.size > 0 ? Math.min(...open.values()) : null;
  return { aborted, firstOpen };
}

const key = (t: { producerId: number; firstOffset: number }) => `${t.producerId}@${t.firstOffset}`;

async function check(log: PartitionLog, batches: readonly ModelBatch[], what: string): Promise<void> {
  const end = log.logEndOffset;
  const m = model(batches, end);
  const hw = log.highWatermark;
  const expectedLso = m.firstOpen !== null && m.firstOpen < hw ? m.firstOpen : hw;
  assert.ok(log.lastStableOffset <= expectedLso, `${what}: LSO ${log.lastStableOffset} past the first open transaction (expected ≤ ${expectedLso})`);
  // Every range a read_committed fetch may ask about.
  for (let from = log.logStartOffset; from < end; from += 3) {
    for (let to = from + 1; to <= end; to += 5) {
      const want = m.aborted
        .filter((t) => t.lastOffset >= from && t.firstOffset < to)
        .map(key)
        .sort();
      const got = log.abortedTransactions(from, to).map(key).sort();
      assert.deepEqual(got, want, `${what}: aborted transactions of [${from}, ${to})`);
    }
  }
}

/** A leader log: two transactional producers, interleaved, with epoch bumps, commits and aborts. */
async function writeLeader(log: PartitionLog, seed: number, txns: number): Promise<void> {
  const random = rng(seed);
  const producers = [
    { id: 7, epoch: 0, seq: 0, open: false },
    { id: 8, epoch: 0, seq: 0, open: false },
  ];
  let n = 0;
  for (let step = 0; n < txns && step < txns * 20; step++) {
    const p = producers[Math.floor(random() * producers.length)]!;
    const r = random();
    if (!p.open || r < 0.6) {
      const count = 1 + Math.floor(random() * 3);
      const records = Array.from({ length: count }, (_, i) => ({ key: null, value: `p${p.id}-e${p.epoch}-s${p.seq + i}`.padEnd(30, '.') }));
      await log.append(buildRecordBatch(records, { producerId: p.id, producerEpoch: p.epoch, baseSequence: p.seq, transactional: true }), 0).done;
      p.seq += count;
      p.open = true;
    } else if (r < 0.9) {
      await log.appendTxnMarker({ producerId: p.id, producerEpoch: p.epoch, coordinatorEpoch: 0, commit: random() < 0.5 }, 0).done;
      p.open = false;
      n++;
    } else {
      // A producer restarted: the coordinator aborts with a bumped epoch; the new epoch starts at 0.
      p.epoch++;
      await log.appendTxnMarker({ producerId: p.id, producerEpoch: p.epoch, coordinatorEpoch: 0, commit: false }, 0).done;
      p.open = false;
      p.seq = 0;
      n++;
    }
    if (random() < 0.2) await log.append(buildRecordBatch([{ key: null, value: 'plain' }]), 0).done;
  }
}

describe('aborted-transaction index against a model (found 10)', () => {
  const root = suiteTempDir('tributary-txnmodel-');

  // TXN_MODEL_SEEDS=60 for a longer search.
  for (const seed of Array.from({ length: Number(process.env.TXN_MODEL_SEEDS ?? 6) }, (_, i) => i + 1)) {
    it(`a follower through appends, truncations and reopenings keeps it (seed ${seed})`, async () => {
      const leader = await openLog(path.join(root, `leader-${seed}`), CFG);
      await writeLeader(leader, seed, 40);
      const batches: ModelBatch[] = [];
      while (batches.length === 0 || batches.at(-1)!.lastOffset + 1 < leader.logEndOffset) {
        const read = await leader.readForReplica(batches.length === 0 ? 0 : batches.at(-1)!.lastOffset + 1, 1 << 20);
        batches.push(...modelBatches(read.records!));
      }
      const dir = path.join(root, `follower-${seed}`);
      let follower = await openLog(dir, CFG);
      follower.holdHighWatermark(0);
      const random = rng(seed * 7919);
      for (let step = 0; step < 60 && follower.logEndOffset < leader.logEndOffset; step++) {
        const r = random();
        if (r < 0.6 || follower.logEndOffset === 0) {
          const read = await leader.readForReplica(follower.logEndOffset, 100 + Math.floor(random() * 600));
          await follower.appendAsFollower(Buffer.from(read.records!)).done;
          follower.setHighWatermark(follower.logEndOffset - Math.floor(random() * 3));
          await check(follower, batches, `seed ${seed} step ${step} append`);
        } else if (r < 0.8) {
          const target = Math.max(follower.highWatermark, follower.logEndOffset - 1 - Math.floor(random() * 12));
          await follower.truncateTo(target);
          await check(follower, batches, `seed ${seed} step ${step} truncate to ${target}`);
        } else {
          const clean = random() < 0.5;
          if (clean) await follower.close();
          else await follower.abandon();
          follower = await openLog(dir, CFG, { hadCleanShutdown: clean });
          follower.holdHighWatermark(0);
          follower.setHighWatermark(follower.logEndOffset);
          await check(follower, batches, `seed ${seed} step ${step} reopen (${clean ? 'clean' : 'unclean'})`);
        }
      }
      follower.setHighWatermark(follower.logEndOffset);
      await check(follower, batches, `seed ${seed} end`);
      await follower.close();
      await leader.close();
    });
  }
});

describe('a truncation does not expose half-rebuilt transaction state (found 10)', () => {
  const root = suiteTempDir('tributary-txntrunc-');

  it('while truncateTo runs, reads see the aborted transaction and an LSO held at the open one', async () => {
    const leader = await openLog(path.join(root, 'leader'), CFG);
    const txn = (pid: number, seq: number) =>
      buildRecordBatch([{ key: null, value: `t${pid}-${seq}` }], { producerId: pid, producerEpoch: 0, baseSequence: seq, transactional: true });
    await leader.append(txn(7, 0), 0).done; // 0
    await leader.append(txn(7, 1), 0).done; // 1
    await leader.append(buildRecordBatch([{ key: null, value: 'plain' }]), 0).done; // 2
    await leader.appendTxnMarker({ producerId: 7, producerEpoch: 0, coordinatorEpoch: 0, commit: false }, 0).done; // 3: ABORT
    await leader.append(txn(8, 0), 0).done; // 4: left open
    for (let i = 0; i < 4; i++) await leader.append(buildRecordBatch([{ key: null, value: `plain-${i}` }]), 0).done; // 5-8
    const read = await leader.readForReplica(0, 1 << 20);
    const follower = await openLog(path.join(root, 'follower'), CFG);
    follower.holdHighWatermark(0);
    await follower.appendAsFollower(Buffer.from(read.records!)).done;
    follower.setHighWatermark(7);
    const expected = [{ producerId: 7, firstOffset: 0 }];
    assert.equal(follower.lastStableOffset, 4);
    assert.deepEqual(follower.abortedTransactions(0, 7), expected);

    // A divergent suffix cut at 7: the data below stays, and so must what a read_committed
    // fetch is told about it, at every moment of the truncation.
    let done = false;
    const truncation = follower.truncateTo(7).finally(() => (done = true));
    const seen: string[] = [];
    for (let turns = 0; !done && turns < 10_000; turns++) {
      const lso = follower.lastStableOffset;
      const aborted = follower.abortedTransactions(0, 7);
      if (lso > 4) seen.push(`LSO ${lso} past the open transaction at 4`);
      if (JSON.stringify(aborted) !== JSON.stringify(expected)) seen.push(`aborted transactions ${JSON.stringify(aborted)}`);
      await new Promise((r) => setImmediate(r));
    }
    await truncation;
    assert.deepEqual([...new Set(seen)], [], 'what reads saw during the truncation');
    assert.equal(follower.logEndOffset, 7);
    assert.equal(follower.lastStableOffset, 4);
    assert.deepEqual(follower.abortedTransactions(0, 7), expected);
    await follower.close();
    await leader.close();
  });
});
