// A new partition's files are created on its first write off the event loop (LogWriter.createFiles).
// While that runs, its appends wait in order and other logs go on; a failure fails them all as a
// failed write does and leaves nothing behind; a delete or close under way neither leaves a
// directory nor loses what was acknowledged; whatever a crash in the middle leaves reopens cleanly.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { defaultLogIo, type LogIo } from '../../src/storage/log-io.js';
import { CONCURRENT_CREATIONS } from '../../src/storage/log-writer.js';
import { LogManager } from '../../src/storage/log-manager.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { batch, config, inTempDir, openLog, readAll, silentLogger } from './helpers.js';

const deferred = { deferCreation: true } as const;

/**
 * A LogIo whose segment-file creations in the directories named `held` wait until release();
 * with `fail`, the first of them then fails with it.
 */
function holdingIo(held: (dir: string) => boolean, fail?: NodeJS.ErrnoException) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const waiting: string[] = [];
  const io: LogIo = {
    ...defaultLogIo,
    createSegmentFileAsync: async (file) => {
      if (held(path.basename(path.dirname(file)))) {
        waiting.push(file);
        await gate;
        if (fail && waiting.length === 1) throw fail; // the first creation only
      }
      return defaultLogIo.createSegmentFileAsync(file);
    },
  };
  return { io, release, waiting };
}

async function until(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const isStorageError = (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.KAFKA_STORAGE_ERROR;

describe('creating a new log on its first write, off the event loop', { timeout: 60_000 }, () => {
  it('appends made while the files are created wait and are written in order; other logs go on', async () => {
    await inTempDir(async (root) => {
      const held = holdingIo((name) => name === 'slow-0');
      const slow = await openLog(path.join(root, 'slow-0'), config(), { ...deferred, io: held.io });
      const fast = await openLog(path.join(root, 'fast-0'), config(), { ...deferred, io: held.io });
      slow.assignEpoch(2, 0);
      const settled: number[] = [];
      const first = slow.append(batch('a', 2), 2);
      void first.done.then(() => settled.push(first.baseOffset));
      await until('the creation to start', () => held.waiting.length === 1);
      // Further appends, in later turns of the event loop, while the creation is under way.
      const later = [];
      for (const label of ['b', 'c', 'd']) {
        await new Promise((resolve) => setImmediate(resolve));
        const r = slow.append(batch(label, 1), 2);
        void r.done.then(() => settled.push(r.baseOffset));
        later.push(r);
      }
      assert.deepEqual(
        later.map((r) => r.baseOffset),
        [2, 3, 4],
        'offsets are assigned at once, in call order',
      );
      assert.equal(slow.logEndOffset, 5);

      // Another new log is created and written meanwhile.
      await fast.append(batch('f', 1), 0).done;
      assert.equal(fast.highWatermark, 1);
      assert.deepEqual(settled, [], 'nothing of the waiting log is acknowledged before its files exist');
      assert.equal(slow.highWatermark, 0);
      assert.equal(slow.filesCreated, false);

      held.release();
      await Promise.all([first.done, ...later.map((r) => r.done)]);
      assert.deepEqual(settled, [0, 2, 3, 4], 'acknowledged in offset order');
      assert.equal(slow.highWatermark, 5);
      assert.match(fs.readFileSync(path.join(root, 'slow-0', 'leader-epoch-checkpoint'), 'utf8'), /^0\n1\n2 0\n$/);
      const expected = ['a-0', 'a-1', 'b-0', 'c-0', 'd-0'];
      assert.deepEqual(
        (await readAll(slow)).map((rec) => rec.value),
        expected,
      );
      await slow.close();
      await fast.close();
      const again = await openLog(path.join(root, 'slow-0'), config(), deferred);
      assert.deepEqual(
        (await readAll(again)).map((rec) => [rec.offset, rec.value]),
        expected.map((v, i) => [i, v]),
      );
      assert.equal(again.latestEpoch, 2);
      await again.close();
    });
  });

  it('a failed creation fails every waiting append, leaves no directory, and an idempotent retry succeeds', async () => {
    await inTempDir(async (root) => {
      const dir = path.join(root, 'full-0');
      const enospc = Object.assign(new Error('ENOSPC: no space left on device, open'), { code: 'ENOSPC' });
      const held = holdingIo((name) => name === 'full-0', enospc);
      const log = await openLog(dir, config(), { ...deferred, io: held.io });
      const producer = { producerId: 77, producerEpoch: 0 };
      const first = log.append(batch('p', 2, { ...producer, baseSequence: 0 }), 0);
      await until('the creation to start', () => held.waiting.length === 1);
      assert.ok(fs.existsSync(dir), 'the directory is made before the segment file');
      await new Promise((resolve) => setImmediate(resolve));
      const second = log.append(batch('q', 1, { ...producer, baseSequence: 2 }), 0);
      held.release();
      await assert.rejects(first.done, isStorageError);
      await assert.rejects(second.done, isStorageError);
      assert.equal(log.logEndOffset, 0, 'both appends were taken back');
      assert.equal(log.filesCreated, false);
      assert.equal(fs.existsSync(dir), false, 'the half-made directory was removed');

      // The producer retries the same sequences: accepted as new, not duplicates nor out of order.
      const retry = log.append(batch('p', 2, { ...producer, baseSequence: 0 }), 0);
      const retry2 = log.append(batch('q', 1, { ...producer, baseSequence: 2 }), 0);
      await Promise.all([retry.done, retry2.done]);
      assert.equal(retry.baseOffset, 0);
      assert.equal(retry2.baseOffset, 2);
      assert.deepEqual(
        (await readAll(log)).map((rec) => rec.value),
        ['p-0', 'p-1', 'q-0'],
      );
      await log.close();
    });
  });

  it('deleting a log whose creation waits for its turn ends at once and leaves no directory', async () => {
    await inTempDir(async (root) => {
      // Every creation slot is taken by a log held inside its creation: the next one waits its turn.
      const held = holdingIo((name) => name.startsWith('busy-'));
      const m = await LogManager.open(root, { logger: silentLogger, retentionCheckIntervalMs: 0, cleanerEnabled: false, io: held.io });
      const busy = await Promise.all(Array.from({ length: CONCURRENT_CREATIONS }, (_, p) => m.openLog('busy', p, config())));
      const victim = await m.openLog('gone', 0, config());
      const busyAppends = busy.map((log) => log.append(batch('b', 1), 0));
      await until('every slot to be taken', () => held.waiting.length === CONCURRENT_CREATIONS);
      const doomed = victim.append(batch('v', 1), 0);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(fs.existsSync(path.join(root, 'gone-0')), false, 'its creation has not started');
      let deleted = false;
      const deletion = m.deleteLog('gone', 0).then(() => (deleted = true));
      await assert.rejects(doomed.done, (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.NOT_LEADER_OR_FOLLOWER);
      // It leaves the queue: its delete does not wait for the creations queued before it.
      await until('the delete to finish while every slot is still held', () => deleted);
      held.release();
      await deletion;
      await Promise.all(busyAppends.map((r) => r.done));
      assert.equal(fs.existsSync(path.join(root, 'gone-0')), false, 'no directory after the delete');
      // Give a creation that should not be running any chance to make the directory anyway.
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(fs.existsSync(path.join(root, 'gone-0')), false, 'no directory made after the delete either');
      await m.close();
    });
  });

  it('closing a log during its creation writes what waited; deleting one removes its directory', async () => {
    await inTempDir(async (root) => {
      const held = holdingIo(() => true);
      const kept = await openLog(path.join(root, 'kept-0'), config(), { ...deferred, io: held.io });
      const dropped = await openLog(path.join(root, 'dropped-0'), config(), { ...deferred, io: held.io });
      const write = kept.append(batch('k', 3), 0);
      const lost = dropped.append(batch('x', 1), 0);
      await until('both creations to start', () => held.waiting.length === 2);
      const closing = kept.close();
      const deleting = dropped.delete();
      await assert.rejects(lost.done, (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.NOT_LEADER_OR_FOLLOWER);
      held.release();
      await Promise.all([closing, deleting, write.done]);
      assert.equal(fs.existsSync(path.join(root, 'dropped-0')), false, 'the deleted log left nothing');
      const again = await openLog(path.join(root, 'kept-0'), config(), deferred);
      assert.equal(again.logEndOffset, 3, 'the append that waited was written before the close');
      await again.close();
    });
  });

  it('every state a crash during the creation can leave reopens empty and takes writes', async () => {
    await inTempDir(async (root) => {
      const opts = { logger: silentLogger, retentionCheckIntervalMs: 0, cleanerEnabled: false };
      const seg = '00000000000000000000.log';
      const states: Record<string, string[]> = {
        'dir-only': [],
        'segment-made': [seg],
        'checkpoint-torn': [seg, 'leader-epoch-checkpoint.tmp'],
        'checkpoint-written': [seg, 'leader-epoch-checkpoint'],
      };
      for (const [name, files] of Object.entries(states)) {
        const dir = path.join(root, `${name}-0`);
        fs.mkdirSync(dir);
        for (const file of files) fs.writeFileSync(path.join(dir, file), file.startsWith('leader') ? (file.endsWith('.tmp') ? '0\n1\n' : '0\n1\n4 0\n') : '');
      }
      // No clean-shutdown marker: the manager opens after a crash.
      const m = await LogManager.open(root, opts);
      assert.equal(m.hadCleanShutdown, false);
      for (const name of Object.keys(states)) {
        const log = await m.openLog(name, 0, config());
        assert.equal(log.logEndOffset, 0, name);
        assert.equal(log.filesCreated, true, `${name}: its directory is taken as it is`);
        log.assignEpoch(5, 0);
        await log.append(batch(name, 2), 5).done;
      }
      await m.close();
      const m2 = await LogManager.open(root, opts);
      for (const name of Object.keys(states)) {
        const log = await m2.openLog(name, 0, config());
        assert.deepEqual(
          (await readAll(log)).map((rec) => rec.value),
          [`${name}-0`, `${name}-1`],
          name,
        );
        assert.equal(log.latestEpoch, 5, name);
        assert.ok(!fs.existsSync(path.join(root, `${name}-0`, 'leader-epoch-checkpoint.tmp')), `${name}: no temporary file left`);
      }
      await m2.close();
    });
  });

  it('a segment rolled while the files are created gets its file with them', async () => {
    await inTempDir(async (root) => {
      const held = holdingIo((name) => name === 'roll-0');
      const dir = path.join(root, 'roll-0');
      const log = await openLog(dir, config({ segmentBytes: 400 }), { ...deferred, io: held.io });
      const appends = [log.append(batch('r', 1, { valueSize: 150 }), 0)];
      await until('the creation to start', () => held.waiting.length === 1);
      for (let i = 0; i < 3; i++) appends.push(log.append(batch(`s${i}`, 1, { valueSize: 150 }), 0));
      held.release();
      await Promise.all(appends.map((r) => r.done));
      assert.ok(fs.readdirSync(dir).filter((name) => name.endsWith('.log')).length >= 2, 'rolled while the files were pending');
      await log.close();
      const again = await openLog(dir, config({ segmentBytes: 400 }), deferred);
      assert.deepEqual(
        (await readAll(again)).map((rec) => rec.value),
        ['r-0', 's0-0', 's1-0', 's2-0'].map((v) => v.padEnd(150, '.')),
      );
      await again.close();
    });
  });
});
