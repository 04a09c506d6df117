import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { PartitionLog } from '../../src/storage/partition-log.js';
import { batch, config, decodeAll, listDir, openLog, readAll, removeDir, rng, suiteTempDir } from './helpers.js';
import { waitUntil } from '../helpers/wait.js';

const CFG = config({ segmentBytes: 3000, indexIntervalBytes: 256 });

/** Writes `count` batches of 2 records each (values w<i>-0, w<i>-1); returns the closed log's dir. */
async function writeLog(dir: string, count: number, close = true): Promise<PartitionLog> {
  const log = await openLog(dir, CFG);
  for (let i = 0; i < count; i++) await log.append(batch(`w${i}`, 2, { valueSize: 60 }), 0).done;
  if (close) await log.close();
  return log;
}

function segmentFiles(dir: string, suffix: string): string[] {
  return listDir(dir)
    .filter((f) => f.endsWith(suffix))
    .map((f) => path.join(dir, f));
}

function lastSegment(dir: string): string {
  return segmentFiles(dir, '.log').at(-1)!;
}

async function expectPrefix(dir: string, batches: number, hadCleanShutdown = false): Promise<PartitionLog> {
  const log = await openLog(dir, CFG, { hadCleanShutdown });
  assert.equal(log.logEndOffset, batches * 2, 'log ends right before the damage');
  const values = (await readAll(log)).map((r) => r.value.split('.')[0]);
  assert.deepEqual(
    values,
    Array.from({ length: batches * 2 }, (_, i) => `w${i >> 1}-${i & 1}`),
  );
  // Appends continue with contiguous offsets.
  const next = log.append(batch('next', 1), 0);
  assert.equal(next.baseOffset, batches * 2);
  await next.done;
  return log;
}

describe('log recovery', () => {
  const root = suiteTempDir();

  it('cuts garbage and half-written batches off the last segment', async () => {
    const dir = path.join(root, 'garbage-0');
    await writeLog(dir, 30);
    const file = lastSegment(dir);
    fs.appendFileSync(file, Buffer.from('this is not a record batch at all, just junk'));
    let log = await expectPrefix(dir, 30);
    await log.close();

    // Half of a valid batch.
    const half = batch('half', 3);
    fs.appendFileSync(lastSegment(dir), half.subarray(0, Math.floor(half.length / 2)));
    log = await openLog(dir, CFG, { hadCleanShutdown: false });
    assert.equal(log.logEndOffset, 61);
    await log.close();
  });

  it('cuts the log before a batch with a flipped byte', async () => {
    const dir = path.join(root, 'flip-0');
    await writeLog(dir, 30);
    const file = lastSegment(dir);
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r+');
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, size - 10);
    byte[0]! ^= 0x40;
    fs.writeSync(fd, byte, 0, 1, size - 10);
    fs.closeSync(fd);
    const log = await expectPrefix(dir, 29);
    await log.close();
  });

  it('rebuilds missing or torn index files', async () => {
    const dir = path.join(root, 'indexes-0');
    await writeLog(dir, 60);
    const indexes = segmentFiles(dir, '.index');
    assert.ok(indexes.length >= 3);
    const originals = new Map([...indexes, ...segmentFiles(dir, '.timeindex')].map((f) => [f, fs.readFileSync(f)]));
    for (const f of originals.keys()) fs.rmSync(f);
    let log = await expectPrefix(dir, 60, false);
    await log.close();
    // Rebuilt indexes equal the ones written while appending (for all but the last segment).
    for (const [file, data] of originals) {
      if (file.startsWith(lastSegment(dir).replace('.log', ''))) continue;
      assert.ok(fs.readFileSync(file).equals(data), `${path.basename(file)} rebuilt identically`);
    }
    // A torn index (not a multiple of the entry size) is rebuilt too, even after a clean shutdown.
    const first = segmentFiles(dir, '.index')[0]!;
    fs.truncateSync(first, fs.statSync(first).size - 3);
    log = await openLog(dir, CFG, { hadCleanShutdown: true });
    assert.equal(log.logEndOffset, 121);
    for (let offset = 0; offset < 121; offset += 7) {
      const { records } = await log.read(offset, 200, log.highWatermark, true);
      assert.ok(records && records.length > 0);
    }
    await log.close();
  });

  it('does not start a read at an index entry that is off its batch; the index is rebuilt at the next open', async () => {
    const dir = path.join(root, 'index-entry-0');
    await writeLog(dir, 60);
    const index = segmentFiles(dir, '.index')[1]!;
    const data = fs.readFileSync(index);
    assert.ok(data.length >= 16, 'the segment has two index entries or more');
    // Increasing and inside the file, so the index loads; but the first entry no longer points at its batch.
    data.writeInt32BE(data.readInt32BE(4) + 17, 4);
    fs.writeFileSync(index, data);
    const damagedOffset = Number(path.basename(index, '.index')) + data.readInt32BE(0);
    let log = await openLog(dir, CFG, { hadCleanShutdown: true });
    // A read starting in the damaged entry's batch gets that batch, not whatever follows the bad position.
    const { records } = await log.read(damagedOffset, 1, log.highWatermark, true);
    assert.equal(decodeAll(records)[0]!.offset, damagedOffset);
    // The damaged file is removed in the background (markIndexDamaged): a race under load before.
    await waitUntil(() => !fs.existsSync(index), { message: 'the damaged index file to be removed' });
    assert.equal((await readAll(log)).length, 120);
    await log.close();
    log = await openLog(dir, CFG, { hadCleanShutdown: true });
    assert.ok(fs.existsSync(index), 'and rebuilt by the next open');
    assert.equal(decodeAll((await log.read(damagedOffset, 1, log.highWatermark, true)).records)[0]!.offset, damagedOffset);
    await log.close();
  });

  it('truncates at a damaged middle segment whose indexes are missing, dropping later segments', async () => {
    const dir = path.join(root, 'middle-0');
    await writeLog(dir, 60);
    const logs = segmentFiles(dir, '.log');
    const victim = logs[1]!;
    fs.rmSync(victim.replace('.log', '.index'));
    const size = fs.statSync(victim).size;
    // Corrupt the third batch of the second segment.
    const data = fs.readFileSync(victim);
    let pos = 0;
    for (let i = 0; i < 2; i++) pos += data.readInt32BE(pos + 8) + 12;
    data[pos + 70]! ^= 0xff;
    fs.writeFileSync(victim, data);
    assert.ok(size > pos);
    const firstBase = Number(path.basename(victim, '.log'));
    const log = await openLog(dir, CFG, { hadCleanShutdown: false });
    assert.equal(log.logEndOffset, firstBase + 4);
    assert.deepEqual(log.segmentBaseOffsets, [0, firstBase]);
    assert.equal(segmentFiles(dir, '.log').length, 2);
    await log.close();
  });

  it('recovers from a cut at any byte offset (seeded)', async () => {
    const source = path.join(root, 'cut-source');
    const log = await writeLog(source, 40, false);
    const bases = log.segmentBaseOffsets;
    await log.close();
    // Batch boundaries in global byte order.
    const files = segmentFiles(source, '.log');
    const boundaries: Array<{ file: number; position: number; batchesBefore: number }> = [];
    let batches = 0;
    files.forEach((file, fileIndex) => {
      const data = fs.readFileSync(file);
      for (let pos = 0; pos < data.length; pos += data.readInt32BE(pos + 8) + 12) {
        boundaries.push({ file: fileIndex, position: pos, batchesBefore: batches++ });
      }
    });
    assert.equal(batches, 40);
    const random = rng(20240611);
    for (let round = 0; round < 12; round++) {
      const fileIndex = Math.floor(random() * files.length);
      const fileSize = fs.statSync(files[fileIndex]!).size;
      const cut = Math.floor(random() * (fileSize + 1));
      const dir = path.join(root, `cut-${round}`);
      fs.cpSync(source, dir, { recursive: true });
      // A crash leaves the segment being written without index files and nothing after it.
      const target = path.join(dir, path.basename(files[fileIndex]!));
      fs.truncateSync(target, cut);
      for (const suffix of ['.index', '.timeindex']) fs.rmSync(target.replace('.log', suffix), { force: true });
      for (const later of files.slice(fileIndex + 1)) fs.rmSync(path.join(dir, path.basename(later)));
      const whole = boundaries.filter((b) => b.file < fileIndex || (b.file === fileIndex && b.position < cut));
      const complete = whole.filter((b) => {
        if (b.file < fileIndex) return true;
        const data = fs.readFileSync(files[fileIndex]!);
        return b.position + data.readInt32BE(b.position + 8) + 12 <= cut;
      });
      const recovered = await openLog(dir, CFG, { hadCleanShutdown: false });
      assert.equal(recovered.logEndOffset, complete.length * 2, `round ${round}: cut ${cut} of segment ${bases[fileIndex]}`);
      const values = (await readAll(recovered)).map((r) => r.value.split('.')[0]);
      assert.deepEqual(
        values,
        Array.from({ length: complete.length * 2 }, (_, i) => `w${i >> 1}-${i & 1}`),
      );
      await recovered.append(batch('after', 1), 0).done;
      await recovered.close();
      removeDir(dir);
    }
  });

  it('trusts a clean shutdown and reopens without scanning', async () => {
    const dir = path.join(root, 'clean-0');
    await writeLog(dir, 50);
    const log = await expectPrefix(dir, 50, true);
    await log.close();
  });

  it('gets back leader epochs whose checkpoint was written without fsync and lost', async () => {
    const dir = path.join(root, 'epochs-0');
    let log = await openLog(dir, CFG);
    await log.append(batch('one', 2), 1).done;
    await log.append(batch('four', 3), 4).done;
    assert.equal(log.latestEpoch, 4);
    await log.close();
    // New epochs are written to the checkpoint at once but fsynced only with the log's data: a
    // power failure before that can leave the previous checkpoint, and the data unflushed.
    fs.writeFileSync(path.join(dir, 'leader-epoch-checkpoint'), '0\n1\n1 0\n');
    log = await openLog(dir, CFG, { hadCleanShutdown: false });
    assert.equal(log.latestEpoch, 4, 'the rescanned batches carry their epoch');
    assert.deepEqual(log.endOffsetForEpoch(1), { leaderEpoch: 1, endOffset: 2 });
    assert.deepEqual(log.endOffsetForEpoch(4), { leaderEpoch: 4, endOffset: 5 });
    await log.close();
  });

  it('removes leftover temporary files', async () => {
    const dir = path.join(root, 'tmp-0');
    await writeLog(dir, 3);
    fs.writeFileSync(path.join(dir, '00000000000000000003.snapshot.tmp'), 'partial');
    const log = await openLog(dir, CFG, { hadCleanShutdown: false });
    assert.ok(!listDir(dir).some((f) => f.endsWith('.tmp')));
    await log.close();
  });
});
