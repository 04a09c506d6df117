import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultLogIo, LogIo } from '../../src/storage/log-io.js';
import { CLEAN_SHUTDOWN_MARKER, LogManager, parsePartitionDirName } from '../../src/storage/log-manager.js';
import { batch, config, readAll, silentLogger, suiteTempDir } from './helpers.js';
import { waitUntil } from '../helpers/wait.js';
import { ManualClock } from '../../src/common/clock.js';

describe('LogManager', () => {
  const root = suiteTempDir('tributary-logmanager-');

  it('parses partition directory names at the last dash', () => {
    assert.deepEqual(parsePartitionDirName('orders-0'), { topic: 'orders', partition: 0 });
    assert.deepEqual(parsePartitionDirName('my-topic-12'), { topic: 'my-topic', partition: 12 });
    assert.equal(parsePartitionDirName('metadata'), null);
    assert.equal(parsePartitionDirName('-1'), null);
  });

  it('writes the clean shutdown marker on close and consumes it on open', async () => {
    const dir = path.join(root, 'marker');
    let manager = await LogManager.open(dir, { logger: silentLogger });
    assert.equal(manager.hadCleanShutdown, false);
    const log = await manager.openLog('orders', 0, config());
    assert.equal(await manager.openLog('orders', 0, config()), log, 'opening twice gives the same log');
    assert.equal(manager.getLog('orders', 0), log);
    assert.equal(manager.getLog('orders', 1), undefined);
    await log.append(batch('a', 2), 0).done;
    await manager.close();
    assert.ok(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_MARKER)));
    assert.ok(fs.existsSync(path.join(dir, 'orders-0', '00000000000000000000.log')));

    manager = await LogManager.open(dir, { logger: silentLogger });
    assert.equal(manager.hadCleanShutdown, true);
    assert.ok(!fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_MARKER)), 'the marker is removed while running');
    const reopened = await manager.openLog('orders', 0, config());
    assert.equal(reopened.logEndOffset, 2);
    assert.deepEqual(await manager.partitionDirs(), [{ topic: 'orders', partition: 0, dir: path.join(dir, 'orders-0') }]);
    // No close: the next open is unclean.
    await reopened.flush();
    const crashed = await LogManager.open(dir, { logger: silentLogger });
    assert.equal(crashed.hadCleanShutdown, false);
    const recovered = await crashed.openLog('orders', 0, config());
    assert.equal((await readAll(recovered)).length, 2);
    await crashed.close();
    await manager.close();
  });

  it('deletes logs, open or not', async () => {
    const dir = path.join(root, 'delete');
    const manager = await LogManager.open(dir, { logger: silentLogger });
    const log = await manager.openLog('gone', 3, config());
    await log.append(batch('x', 1), 0).done;
    await manager.deleteLog('gone', 3);
    assert.equal(fs.existsSync(path.join(dir, 'gone-3')), false);
    assert.equal(manager.getLog('gone', 3), undefined);
    fs.mkdirSync(path.join(dir, 'stale-0'));
    await manager.deleteLog('stale', 0);
    assert.equal(fs.existsSync(path.join(dir, 'stale-0')), false);
    await manager.close();
  });

  it('flushes logs periodically per flush.ms', async () => {
    let fsyncs = 0;
    const io: LogIo = { ...defaultLogIo, fsync: (fd) => (fsyncs++, defaultLogIo.fsync(fd)) };
    // A manual clock: on a busy machine more than flush.ms of real time can pass between opening
    // the log and appending, and the append itself would then fsync.
    const clock = new ManualClock(1_000_000);
    const manager = await LogManager.open(path.join(root, 'periodic'), { logger: silentLogger, io, flushCheckIntervalMs: 20, clock });
    const lazy = await manager.openLog('lazy', 0, config());
    const timed = await manager.openLog('timed', 0, config({ flushIntervalMs: 30 }));
    await lazy.append(batch('l', 1), 0).done;
    await timed.append(batch('t', 1), 0).done;
    assert.equal(fsyncs, 0);
    clock.set(clock.now() + 50);
    await waitUntil(() => fsyncs > 0, { timeout: 5000, message: 'the periodic flush' });
    assert.equal(fsyncs, 1, 'only the log with a short flush.ms was fsynced');
    await manager.close();
  });
});
