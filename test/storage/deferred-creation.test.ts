// Logs of new partitions opened with deferCreation (what LogManager does): nothing is created on
// disk until the first write, a log never written leaves nothing behind, and every acknowledged
// record survives a clean close and a crash all the same.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultLogIo, type LogIo } from '../../src/storage/log-io.js';
import { CLEAN_SHUTDOWN_MARKER, LogManager } from '../../src/storage/log-manager.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { batch, config, openLog, readAll, inTempDir, silentLogger } from './helpers.js';

const deferred = { deferCreation: true } as const;

describe('logs whose files are created on their first write', () => {
  it('a log never written creates nothing, closes without files and reopens empty', async () => {
    await inTempDir(async (root) => {
      const dir = path.join(root, 't-0');
      const log = await openLog(dir, config(), deferred);
      log.assignEpoch(0, 0);
      assert.equal(fs.existsSync(dir), false, 'no directory before the first write');
      assert.equal(log.filesCreated, false);
      assert.deepEqual(await readAll(log), []);
      assert.equal((await log.read(0, 1024)).records, null);
      await log.flush();
      await log.applyRetention();
      await log.close();
      assert.equal(fs.existsSync(dir), false, 'closing a log never written writes nothing');
      const again = await openLog(dir, config(), { ...deferred, hadCleanShutdown: false });
      assert.equal(again.logEndOffset, 0);
      assert.equal(again.logStartOffset, 0);
      await again.close();
    });
  });

  it('the first append creates the directory, the segment and the epoch checkpoint; data survives a clean close', async () => {
    await inTempDir(async (root) => {
      const dir = path.join(root, 't-1');
      const log = await openLog(dir, config(), deferred);
      log.assignEpoch(3, 0);
      const r = log.append(batch('a', 5), 3);
      await r.done;
      assert.equal(log.filesCreated, true);
      assert.ok(fs.existsSync(path.join(dir, '00000000000000000000.log')));
      assert.match(fs.readFileSync(path.join(dir, 'leader-epoch-checkpoint'), 'utf8'), /^0\n1\n3 0\n$/);
      await log.close();
      const again = await openLog(dir, config(), deferred);
      assert.equal(again.logEndOffset, 5);
      assert.equal(again.latestEpoch, 3);
      assert.deepEqual(
        (await readAll(again)).map((rec) => rec.value),
        ['a-0', 'a-1', 'a-2', 'a-3', 'a-4'],
      );
      await again.close();
    });
  });

  it('acknowledged records of a log created on its first write survive a crash', async () => {
    await inTempDir(async (root) => {
      const dir = path.join(root, 't-2');
      const log = await openLog(dir, config({ flushIntervalMessages: 1 }), deferred);
      log.assignEpoch(1, 0);
      await log.append(batch('b', 2), 1).done;
      await log.append(batch('c', 1), 1).done;
      // No close: the process "dies" here; the next open recovers the files as they are.
      const again = await openLog(dir, config(), { ...deferred, hadCleanShutdown: false });
      assert.equal(again.logEndOffset, 3);
      assert.equal(again.latestEpoch, 1);
      assert.deepEqual(
        (await readAll(again)).map((rec) => rec.value),
        ['b-0', 'b-1', 'c-0'],
      );
      await again.close();
      await log.close().catch(() => undefined);
    });
  });

  it('a failure to create the files fails the append with KAFKA_STORAGE_ERROR; the next append creates them', async () => {
    await inTempDir(async (root) => {
      const dir = path.join(root, 't-3');
      let failures = 1;
      const io: LogIo = {
        ...defaultLogIo,
        createSegmentFileAsync: (file) => {
          if (failures-- > 0) return Promise.reject(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' }));
          return defaultLogIo.createSegmentFileAsync(file);
        },
      };
      const log = await openLog(dir, config(), { ...deferred, io });
      const first = log.append(batch('x', 1), 0);
      await assert.rejects(first.done, (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.KAFKA_STORAGE_ERROR);
      assert.equal(log.logEndOffset, 0, 'the failed append was taken back');
      await log.append(batch('y', 2), 0).done;
      assert.deepEqual(
        (await readAll(log)).map((rec) => [rec.offset, rec.value]),
        [
          [0, 'y-0'],
          [1, 'y-1'],
        ],
      );
      await log.close();
    });
  });

  it('truncateFullyAndStartAt on a log never written creates it at the new start', async () => {
    await inTempDir(async (root) => {
      const dir = path.join(root, 't-4');
      const log = await openLog(dir, config(), deferred);
      await log.truncateFullyAndStartAt(42);
      assert.equal(log.filesCreated, true);
      await log.append(batch('z', 1), 0).done;
      await log.close();
      const again = await openLog(dir, config(), deferred);
      assert.equal(again.logStartOffset, 42);
      assert.equal(again.logEndOffset, 43);
      await again.close();
    });
  });

  it('a missing directory with a start offset checkpointed is created at once, starting there', async () => {
    await inTempDir(async (root) => {
      const dir = path.join(root, 't-5');
      const log = await openLog(dir, config(), { ...deferred, logStartOffsetCheckpoint: 10 });
      assert.equal(log.filesCreated, true);
      assert.equal(log.logStartOffset, 10);
      assert.equal(log.logEndOffset, 10);
      await log.append(batch('s', 1), 0).done;
      await log.close();
      const again = await openLog(dir, config(), { ...deferred, logStartOffsetCheckpoint: 10 });
      assert.equal(again.logEndOffset, 11);
      await again.close();
    });
  });

  it('a log manager opens thousands of new logs without touching the disk and shuts down cleanly', async () => {
    await inTempDir(async (root) => {
      const opts = { logger: silentLogger, retentionCheckIntervalMs: 0, cleanerEnabled: false };
      const m = await LogManager.open(root, opts);
      const logs = await Promise.all(Array.from({ length: 2000 }, (_, p) => m.openLog('wide', p, config())));
      for (const log of logs) log.assignEpoch(0, 0);
      await logs[7]!.append(batch('w', 1), 0).done;
      await m.close();
      assert.ok(fs.existsSync(path.join(root, CLEAN_SHUTDOWN_MARKER)));
      const dirs = fs.readdirSync(root).filter((name) => name.startsWith('wide-'));
      assert.deepEqual(dirs, ['wide-7'], 'only the partition written has a directory');
      // The topic is still in the metadata: reopening every partition finds the written one
      // whole and the others empty, as they were.
      const m2 = await LogManager.open(root, opts);
      assert.equal(m2.hadCleanShutdown, true);
      const reopened = await Promise.all(Array.from({ length: 2000 }, (_, p) => m2.openLog('wide', p, config())));
      assert.equal(reopened[7]!.logEndOffset, 1);
      assert.equal(reopened.filter((log) => log.logEndOffset !== 0).length, 1);
      await m2.close();
    });
  });
});
