// The leader-epoch checkpoint: what is persisted, when it is rewritten, and what a bad file gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { LeaderEpochCache } from '../../src/storage/leader-epoch-cache.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { LEADER_EPOCH_CHECKPOINT } from '../../src/storage/file-names.js';

const logger = pino({ level: 'silent' });

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'epochs-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('assign persists (synced or not) and survives a reload; truncations rewrite only on change', () =>
  withDir((dir) => {
    const file = join(dir, LEADER_EPOCH_CHECKPOINT);
    const cache = LeaderEpochCache.load(dir, logger);
    assert.equal(cache.latestEpoch, -1);
    assert.equal(cache.assign(0, 0, 'unsynced'), true);
    assert.equal(readFileSync(file, 'utf8'), '0\n1\n0 0\n', 'an unsynced write is still a whole checkpoint');
    assert.equal(cache.assign(0, 5), false, 'not newer than the latest epoch');
    cache.assign(3, 10);
    assert.deepEqual(LeaderEpochCache.load(dir, logger).entries, [
      { epoch: 0, startOffset: 0 },
      { epoch: 3, startOffset: 10 },
    ]);

    // Opening a log truncates both ends; when that changes nothing, nothing is written.
    rmSync(file);
    cache.truncateFromStart(0);
    cache.truncateFromEnd(100);
    assert.equal(existsSync(file), false, 'unchanged: no rewrite (it costs two fsyncs per partition at every start)');
    cache.truncateFromStart(4);
    assert.equal(readFileSync(file, 'utf8'), '0\n2\n0 4\n3 10\n');
    cache.truncateFromEnd(10);
    assert.deepEqual(LeaderEpochCache.load(dir, logger).entries, [{ epoch: 0, startOffset: 4 }]);
  }));

test('a malformed checkpoint loads as an empty cache', () =>
  withDir((dir) => {
    writeFileSync(join(dir, LEADER_EPOCH_CHECKPOINT), '0\n2\n3 10\n1 4\n');
    assert.deepEqual(LeaderEpochCache.load(dir, logger).entries, []);
  }));

test('unsynced assignments are made durable by syncIfNeeded, once, and a failed fsync is retried', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'epochs-'));
  try {
    const file = join(dir, LEADER_EPOCH_CHECKPOINT);
    const cache = LeaderEpochCache.load(dir, logger);
    cache.assign(2, 0, 'unsynced');
    cache.assign(5, 40, 'unsynced');
    assert.equal(readFileSync(file, 'utf8'), '0\n2\n2 0\n5 40\n', 'written at once, fsynced later');
    await cache.syncIfNeeded();
    rmSync(file);
    await cache.syncIfNeeded(); // nothing unsynced: does not touch the (now missing) file
    cache.assign(7, 90, 'unsynced');
    rmSync(file);
    await assert.rejects(cache.syncIfNeeded(), (err: Error & { code?: number }) => err.code === ErrorCode.KAFKA_STORAGE_ERROR);
    cache.persist();
    await cache.syncIfNeeded(); // still owed: retried, and now the file is there
    assert.deepEqual(LeaderEpochCache.load(dir, logger).entries.at(-1), { epoch: 7, startOffset: 90 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
