// A log opened after a clean shutdown and not changed before the next one closes without
// writing anything (a broker with thousands of idle partitions shuts down without thousands of
// fsyncs); the first change removes the active segment's index files first, so a crash after it
// rebuilds them instead of trusting stale ones, and a clean close writes them again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { batch, config, openLog, readAll, inTempDir } from './helpers.js';

/** Every file of `dir` with its inode and modification time. */
function fingerprint(dir: string): Map<string, string> {
  return new Map(
    fs
      .readdirSync(dir)
      .sort()
      .map((name) => {
        const st = fs.statSync(path.join(dir, name));
        return [name, `${st.ino}:${st.mtimeMs}:${st.size}`];
      }),
  );
}

const cfg = () => config({ indexIntervalBytes: 1 });

async function logWithData(dir: string): Promise<void> {
  const log = await openLog(dir, cfg());
  log.assignEpoch(2, 0);
  for (let i = 0; i < 5; i++) await log.append(batch(`a${i}`, 3), 2).done;
  await log.close();
}

describe('closing a log that was not changed since a clean open', () => {
  it('writes nothing, and the log reopens whole', async () => {
    await inTempDir(async (dir) => {
      await logWithData(dir);
      const before = fingerprint(dir);
      assert.ok(
        [...before.keys()].some((name) => name.endsWith('.index')),
        'the close wrote the active index',
      );
      const log = await openLog(dir, cfg());
      assert.deepEqual(fingerprint(dir), before, 'opening removed nothing');
      assert.equal((await readAll(log)).length, 15);
      await log.close();
      assert.deepEqual(fingerprint(dir), before, 'closing an untouched log rewrote nothing');
      const again = await openLog(dir, cfg());
      assert.equal(again.logEndOffset, 15);
      assert.equal(again.latestEpoch, 2);
      assert.deepEqual(
        (await readAll(again)).map((r) => r.offset),
        Array.from({ length: 15 }, (_, i) => i),
      );
      await again.close();
    });
  });

  it('the first append removes the stale active index files; a crash then rebuilds them', async () => {
    await inTempDir(async (dir) => {
      await logWithData(dir);
      const log = await openLog(dir, cfg());
      await log.append(batch('b', 4), 2).done;
      assert.ok(!fs.existsSync(path.join(dir, '00000000000000000000.index')), 'the index went before the data was written');
      // Crash: no close.
      const again = await openLog(dir, cfg(), { hadCleanShutdown: false });
      assert.equal(again.logEndOffset, 19);
      const values = (await readAll(again)).map((r) => r.value);
      assert.equal(values.length, 19);
      assert.deepEqual(values.slice(15), ['b-0', 'b-1', 'b-2', 'b-3']);
      // Every offset is found through the rebuilt index.
      for (let offset = 0; offset < 19; offset++) {
        const read = await again.read(offset, 1);
        assert.ok(read.records, `offset ${offset} is readable`);
      }
      await again.close();
      await log.close().catch(() => undefined);
    });
  });

  it('a log changed after a clean open writes its index files and snapshot again at close', async () => {
    await inTempDir(async (dir) => {
      await logWithData(dir);
      const log = await openLog(dir, cfg());
      await log.append(batch('c', 2, { producerId: 9, producerEpoch: 0, baseSequence: 0 }), 2).done;
      await log.close();
      assert.ok(fs.existsSync(path.join(dir, '00000000000000000000.index')));
      assert.ok(fs.existsSync(path.join(dir, '00000000000000000017.snapshot')), 'a snapshot at the new log end');
      const again = await openLog(dir, cfg());
      assert.equal(again.logEndOffset, 17);
      // The producer's state came back from the snapshot: a retry is still a duplicate.
      const retry = again.append(batch('c', 2, { producerId: 9, producerEpoch: 0, baseSequence: 0 }), 2);
      assert.equal(retry.duplicate, true);
      await again.close();
    });
  });
});
