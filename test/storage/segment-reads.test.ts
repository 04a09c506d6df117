// Where segment reads are made: data this process just wrote is read at once on the event loop
// (its pages are in the page cache), anything older or large goes to the thread pool.
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ChunkedReader } from '../../src/storage/chunked-reader.js';
import type { LogSegment } from '../../src/storage/log-segment.js';
import { NEWEST_BATCH_COPY_MAX_BYTES, SYNC_READ_MAX_BYTES } from '../../src/storage/log-segment.js';
import { batch, config, decodeAll, openLog, suiteTempDir } from './helpers.js';

const valuesOf = (records: Buffer | null) => decodeAll(records).map((r) => r.value);

/** Counts the thread-pool reads (fs.read) and the immediate ones (fs.readSync) made meanwhile. */
function countReads(t: TestContext): { pool: () => number; now: () => number } {
  const pool = t.mock.method(fs, 'read');
  const now = t.mock.method(fs, 'readSync');
  return { pool: () => pool.mock.callCount(), now: () => now.mock.callCount() };
}

describe('segment reads', () => {
  const root = suiteTempDir('tributary-segment-reads-');

  it('reads what this process just wrote without the thread pool', async (t) => {
    const log = await openLog(path.join(root, 'fresh-0'), config());
    try {
      await log.append(batch('a', 3), 0).done;
      await log.append(batch('b', 1), 0).done; // the newest batch alone would come from memory
      const reads = countReads(t);
      const result = await log.read(0, 1 << 20);
      assert.deepEqual(valuesOf(result.records), ['a-0', 'a-1', 'a-2', 'b-0']);
      assert.equal(reads.pool(), 0);
      assert.ok(reads.now() > 0);
    } finally {
      await log.close();
    }
  });

  it('reads data from before the log was opened through the thread pool, newer data at once', async (t) => {
    const dir = path.join(root, 'reopened-0');
    // An index entry for every batch: a read of the new batch starts at it, not in the old bytes.
    const cfg = config({ indexIntervalBytes: 1 });
    const first = await openLog(dir, cfg);
    await first.append(batch('old', 2), 0).done;
    await first.close();
    const log = await openLog(dir, cfg);
    try {
      await log.append(batch('new', 2), 0).done;
      const reads = countReads(t);
      // From offset 0 the read starts in the bytes the previous process wrote.
      const all = await log.read(0, 1 << 20);
      assert.deepEqual(valuesOf(all.records), ['old-0', 'old-1', 'new-0', 'new-1']);
      assert.equal(reads.pool(), 1);
      const pooled = reads.pool();
      const fresh = await log.read(2, 1 << 20);
      assert.deepEqual(valuesOf(fresh.records), ['new-0', 'new-1']);
      assert.equal(reads.pool(), pooled, 'the batch appended by this process is read at once');
    } finally {
      await log.close();
    }
  });

  it('leaves reads larger than the bound to the thread pool', async (t) => {
    const log = await openLog(path.join(root, 'large-0'), config());
    try {
      const big = batch('big', 8, { valueSize: SYNC_READ_MAX_BYTES / 4 });
      assert.ok(big.length > SYNC_READ_MAX_BYTES);
      await log.append(big, 0).done;
      const reads = countReads(t);
      const result = await log.read(0, 1 << 20);
      assert.equal(valuesOf(result.records).length, 8);
      assert.ok(reads.pool() > 0);
    } finally {
      await log.close();
    }
  });
});

describe('reads at the log end', () => {
  const root = suiteTempDir('tributary-tail-reads-');

  it('start at the newest batch, not at the index entry before it', async (t) => {
    const log = await openLog(path.join(root, 'tail-0'), config());
    try {
      // About 2 KiB of small batches: no offset index entry yet (one every 4 KiB).
      for (let i = 0; i < 30; i++) await log.append(batch(`b${i}`), 0).done;
      // Larger than the copy kept in memory: the newest batch is read from the file.
      const newest = batch('newest', 1, { valueSize: NEWEST_BATCH_COPY_MAX_BYTES });
      assert.ok(newest.length > NEWEST_BATCH_COPY_MAX_BYTES);
      await log.append(newest, 0).done;
      const readSync = t.mock.method(fs, 'readSync');
      const result = await log.read(30, 1 << 20);
      assert.deepEqual(result.records, newest);
      const bytesRead = readSync.mock.calls.reduce((sum, call) => sum + ((call.arguments as unknown[])[3] as number), 0);
      assert.equal(bytesRead, newest.length, 'only the newest batch is read');
      // An offset before the newest batch is found through the index, as before.
      assert.equal(valuesOf((await log.read(29, 1 << 20)).records)[0], 'b29-0');
    } finally {
      await log.close();
    }
  });

  it('read a small newest batch from memory, with no file read', async (t) => {
    const log = await openLog(path.join(root, 'copy-0'), config());
    try {
      for (let i = 0; i < 3; i++) await log.append(batch(`b${i}`), 0).done;
      const reads = countReads(t);
      const result = await log.read(3, 1 << 20);
      assert.deepEqual(result.records, null, 'nothing past the log end');
      await log.append(batch('newest', 2), 0).done;
      const tail = await log.read(3, 1 << 20);
      assert.deepEqual(valuesOf(tail.records), ['newest-0', 'newest-1']);
      assert.equal(reads.now() + reads.pool(), 0, 'the newest batch came from memory');
      // Older batches are still read from the file.
      assert.deepEqual(valuesOf((await log.read(2, 1 << 20)).records), ['b2-0', 'newest-0', 'newest-1']);
      assert.ok(reads.now() > 0);
    } finally {
      await log.close();
    }
  });

  it('a rolled segment keeps no copy: its newest batch is read from the file', async (t) => {
    const one = batch('r0').length;
    const log = await openLog(path.join(root, 'copy-rolled-0'), config({ segmentBytes: one * 2 }));
    try {
      for (let i = 0; i < 3; i++) await log.append(batch(`r${i}`), 0).done; // r2 rolls: r1 ends the first segment
      const reads = countReads(t);
      assert.deepEqual(valuesOf((await log.read(2, 1 << 20)).records), ['r2-0'], 'the active segment is served from memory');
      assert.equal(reads.now() + reads.pool(), 0);
      assert.deepEqual(valuesOf((await log.read(1, one)).records), ['r1-0']);
      assert.ok(reads.now() + reads.pool() > 0, 'the rolled segment was read from its file');
    } finally {
      await log.close();
    }
  });

  it('never serve a placed batch from memory before it is written, nor one taken back', async () => {
    const log = await openLog(path.join(root, 'copy-unwritten-0'), config());
    try {
      await log.append(batch('a0'), 0).done;
      await log.append(batch('a1'), 0).done;
      const placed = log.append(batch('a2'), 0);
      // Placed (offset assigned) but not yet written: reads stop at the high watermark before it.
      assert.equal((await log.readForReplica(2, 1 << 20)).records, null);
      await placed.done;
      assert.deepEqual(valuesOf((await log.readForReplica(2, 1 << 20)).records), ['a2-0']);
      // Truncated, then a different batch of the same size at the same place.
      await log.truncateTo(2);
      assert.equal((await log.readForReplica(1, 1 << 20)).records?.length, batch('a1').length);
      await log.append(batch('c2'), 0).done;
      assert.deepEqual(valuesOf((await log.readForReplica(2, 1 << 20)).records), ['c2-0']);
      await log.truncateTo(2);
      assert.deepEqual(valuesOf((await log.readForReplica(1, 1 << 20)).records), ['a1-0']);
    } finally {
      await log.close();
    }
  });

  it('find the right batches after a truncation and new appends', async () => {
    const log = await openLog(path.join(root, 'truncated-0'), config());
    try {
      for (let i = 0; i < 10; i++) await log.append(batch(`a${i}`), 0).done;
      await log.truncateTo(6);
      assert.equal(log.logEndOffset, 6);
      assert.deepEqual(valuesOf((await log.readForReplica(5, 1 << 20)).records), ['a5-0']);
      await log.append(batch('c6'), 0).done;
      await log.append(batch('c7'), 0).done;
      assert.deepEqual(valuesOf((await log.readForReplica(7, 1 << 20)).records), ['c7-0']);
      assert.deepEqual(valuesOf((await log.readForReplica(5, 1 << 20)).records), ['a5-0', 'c6-0', 'c7-0']);
    } finally {
      await log.close();
    }
  });
});

describe('ChunkedReader.peek', () => {
  const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
  const segment = { read: async (position: number, length: number) => data.subarray(position, position + length) } as unknown as LogSegment;

  it('answers from the chunk in memory, and says when a read is needed', async () => {
    const reader = new ChunkedReader(segment, data.length, 40);
    assert.equal(reader.peek(0, 4), undefined, 'nothing read yet');
    assert.deepEqual(await reader.get(10, 4), data.subarray(10, 14));
    assert.deepEqual(reader.peek(20, 10), data.subarray(20, 30), 'inside the chunk read at 10');
    assert.equal(reader.peek(45, 10), undefined, 'past the chunk: a read is needed');
    assert.equal(reader.peek(95, 10), null, 'past the readable region');
    assert.equal(reader.reads, 1);
  });
});
