// JBOD: several log directories. New replicas go to the directory with the fewest partitions,
// a topic spread over two directories comes back whole after a restart, a move between
// directories keeps every record once, and a move a crash interrupted is finished or undone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { LogDirs } from '../../src/storage/log-dirs.js';
import { batch, config, readAll, silentLogger, suiteTempDir } from './helpers.js';

describe('LogDirs (several log.dirs)', () => {
  const root = suiteTempDir('tributary-logdirs-');

  it('places each new partition in the directory with the fewest partitions; a restart finds every one where it was', async () => {
    const a = path.join(root, 'spread', 'a');
    const b = path.join(root, 'spread', 'b');
    // Two partitions in a, before b is added to log.dirs: the next ones fill b first.
    let dirs = await LogDirs.open([a], { logger: silentLogger });
    for (const p of [0, 1]) {
      const log = await dirs.openLog('t', p, config());
      assert.equal(dirs.dirOf('t', p), a);
      await log.append(batch(`p${p}`, 3), 0).done;
    }
    await dirs.close();
    dirs = await LogDirs.open([a, b], { logger: silentLogger });
    for (const p of [2, 3, 4, 5]) await (await dirs.openLog('t', p, config())).append(batch(`p${p}`, 3), 0).done;
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((p) => dirs.dirOf('t', p)),
      [a, a, b, b, a, b],
      'b gets the next two (it had none), then they alternate, ties to the first in log.dirs',
    );
    assert.deepEqual(Object.fromEntries(dirs.partitionCounts()), { [a]: 3, [b]: 3 });
    await dirs.close();
    for (const [p, d] of [
      [0, a],
      [2, b],
      [5, b],
    ] as const)
      assert.ok(fs.existsSync(path.join(d, `t-${p}`, '00000000000000000000.log')));

    dirs = await LogDirs.open([a, b], { logger: silentLogger });
    for (const p of [0, 1, 2, 3, 4, 5]) {
      const log = await dirs.openLog('t', p, config());
      assert.deepEqual(
        (await readAll(log)).map((r) => r.value),
        [`p${p}-0`, `p${p}-1`, `p${p}-2`],
        `partition ${p} survived the restart`,
      );
    }
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((p) => dirs.dirOf('t', p)),
      [a, a, b, b, a, b],
    );
    // A partition deleted frees its place: the next new one goes there.
    await dirs.deleteLog('t', 3);
    assert.equal(dirs.dirOf('t', 3), undefined);
    await dirs.openLog('u', 0, config());
    assert.equal(dirs.dirOf('u', 0), b);
    await dirs.close();
  });

  it('refuses to start when a partition is in two directories', async () => {
    const a = path.join(root, 'dup', 'a');
    const b = path.join(root, 'dup', 'b');
    fs.mkdirSync(path.join(a, 'x-0'), { recursive: true });
    fs.mkdirSync(path.join(b, 'x-0'), { recursive: true });
    await assert.rejects(LogDirs.open([a, b], { logger: silentLogger }), /x-0 is in two log directories/);
  });

  it('moves a closed replica to another directory; it reopens there with every record once and takes appends', async () => {
    const a = path.join(root, 'move', 'a');
    const b = path.join(root, 'move', 'b');
    const dirs = await LogDirs.open([a, b], { logger: silentLogger });
    let log = await dirs.openLog('m', 0, config());
    assert.equal(dirs.dirOf('m', 0), a);
    for (let i = 0; i < 5; i++) await log.append(batch(`m${i}`, 2), 0).done;
    await log.close();
    await dirs.moveLog('m', 0, b);
    assert.equal(dirs.dirOf('m', 0), b);
    assert.ok(!fs.existsSync(path.join(a, 'm-0')), 'nothing is left in the source');
    log = await dirs.openLog('m', 0, config());
    assert.ok(log.dir.startsWith(b));
    await log.append(batch('after', 1), 0).done;
    assert.deepEqual(
      (await readAll(log)).map((r) => [r.offset, r.value]),
      [...Array.from({ length: 10 }, (_, i) => [i, `m${Math.floor(i / 2)}-${i % 2}`]), [10, 'after-0']],
    );
    await dirs.close();
  });

  it('after a crash mid-move (copy across filesystems), the partition is in exactly one directory', async () => {
    const a = path.join(root, 'crash', 'a');
    const b = path.join(root, 'crash', 'b');
    let dirs = await LogDirs.open([a, b], { logger: silentLogger });
    const log = await dirs.openLog('c', 0, config());
    await log.append(batch('c', 4), 0).done;
    await dirs.close();
    // Crash while copying: the copy is dropped, the source stays the replica.
    fs.cpSync(path.join(a, 'c-0'), path.join(b, 'c-0.move'), { recursive: true });
    dirs = await LogDirs.open([a, b], { logger: silentLogger });
    assert.equal(dirs.dirOf('c', 0), a);
    assert.ok(!fs.existsSync(path.join(b, 'c-0.move')));
    await dirs.close();
    // Crash after the source was set aside: the copy becomes the replica, the source goes.
    fs.cpSync(path.join(a, 'c-0'), path.join(b, 'c-0.move'), { recursive: true });
    fs.renameSync(path.join(a, 'c-0'), path.join(a, 'c-0.moved'));
    dirs = await LogDirs.open([a, b], { logger: silentLogger });
    assert.equal(dirs.dirOf('c', 0), b);
    assert.ok(!fs.existsSync(path.join(a, 'c-0.moved')));
    assert.deepEqual(
      (await readAll(await dirs.openLog('c', 0, config()))).map((r) => r.value),
      ['c-0', 'c-1', 'c-2', 'c-3'],
    );
    await dirs.close();
  });
  it('an online move (future replica) interrupted before its switch is dropped and returned to run again; after it, the copy is the replica', async () => {
    const a = path.join(root, 'future', 'a');
    const b = path.join(root, 'future', 'b');
    let dirs = await LogDirs.open([a, b], { logger: silentLogger });
    let src = await dirs.openLog('f', 0, config());
    for (let i = 0; i < 3; i++) await src.append(batch(`f${i}`, 2), 0).done;
    let future = await dirs.createFuture('f', 0, b, config());
    assert.equal(dirs.futureOf('f', 0)?.logDir, b);
    future.appendAsFollower((await src.readForReplica(0, 1 << 20)).records!);
    await future.flush();
    // Stopped (or crashed) before the switch: the source stays, the copy goes, the move is pending.
    await dirs.close();
    assert.ok(fs.existsSync(path.join(b, 'f-0.future')) && fs.existsSync(path.join(b, 'f-0')));
    dirs = await LogDirs.open([a, b], { logger: silentLogger });
    assert.equal(dirs.dirOf('f', 0), a);
    assert.ok(!fs.existsSync(path.join(b, 'f-0')) && !fs.existsSync(path.join(b, 'f-0.future')));
    assert.deepEqual(dirs.takePendingMoves(), [{ topic: 'f', partition: 0, logDir: b }]);
    // Crashed after the source was renamed aside, before the marker went: the copy is the replica.
    src = await dirs.openLog('f', 0, config());
    future = await dirs.createFuture('f', 0, b, config());
    future.appendAsFollower((await src.readForReplica(0, 1 << 20)).records!);
    await future.flush();
    await dirs.close();
    fs.renameSync(path.join(a, 'f-0'), path.join(a, 'f-0.moved'));
    dirs = await LogDirs.open([a, b], { logger: silentLogger });
    assert.equal(dirs.dirOf('f', 0), b);
    assert.deepEqual(dirs.takePendingMoves(), []);
    assert.ok(!fs.existsSync(path.join(a, 'f-0.moved')) && !fs.existsSync(path.join(b, 'f-0.future')));
    assert.deepEqual(
      (await readAll(await dirs.openLog('f', 0, config()))).map((r) => r.value),
      ['f0-0', 'f0-1', 'f1-0', 'f1-1', 'f2-0', 'f2-1'],
    );
    // A committed switch: exactly one copy, in the target.
    const moved = await dirs.openLog('f', 0, config());
    const back = await dirs.createFuture('f', 0, a, config());
    back.appendAsFollower((await moved.readForReplica(0, 1 << 20)).records!);
    await back.flush();
    await dirs.commitFuture('f', 0, moved);
    assert.equal(dirs.dirOf('f', 0), a);
    assert.deepEqual(
      fs.readdirSync(b).filter((n) => n.startsWith('f-0')),
      [],
    );
    assert.deepEqual(
      fs.readdirSync(a).filter((n) => n.startsWith('f-0')),
      ['f-0'],
    );
    await dirs.close();
  });
});
