// The request memory pool's rules, in process: non-strict grants, the small-frame headroom,
// first-come-first-served wake-ups, and -1 as unbounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryPool } from '../../src/network/memory-pool.js';

const MiB = 1024 * 1024;

test('a frame is granted while any budget is left, even past the capacity; then nothing large is', () => {
  const pool = new MemoryPool(8 * MiB);
  assert.equal(pool.tryReserve(6 * MiB), true);
  assert.equal(pool.tryReserve(5 * MiB), true, 'budget was left: granted beyond the capacity (Kafka does the same)');
  assert.equal(pool.usedBytes, 11 * MiB);
  assert.equal(pool.tryReserve(1 * MiB), false);
  pool.release(6 * MiB);
  assert.equal(pool.tryReserve(1 * MiB), true);
});

test('small frames use a headroom of an eighth of the capacity once it is used up', () => {
  const pool = new MemoryPool(8 * MiB);
  assert.equal(pool.tryReserve(8 * MiB), true);
  let small = 0;
  while (pool.tryReserve(64 * 1024) && small < 1000) small++;
  assert.equal(small, 16, '1 MiB of headroom holds sixteen 64 KiB frames');
  assert.equal(pool.tryReserve(64 * 1024 + 1), false, 'a frame above 64 KiB never uses the headroom');
  assert.equal(pool.tryReserve(1), false, 'the headroom is used up too');
});

test('waiters are woken in arrival order, only while budget is left', () => {
  const pool = new MemoryPool(4 * MiB);
  assert.equal(pool.tryReserve(4 * MiB), true);
  const woken: string[] = [];
  for (const name of ['a', 'b', 'c']) {
    pool.wait(() => {
      woken.push(name);
      assert.equal(pool.tryReserve(2 * MiB), true);
    });
  }
  const cancel = pool.wait(() => woken.push('cancelled'));
  cancel();
  pool.release(1 * MiB);
  assert.deepEqual(woken, ['a'], 'a took the freed budget (and more): b and c still wait');
  pool.release(3 * MiB);
  assert.deepEqual(woken, ['a', 'b'], 'b used the budget up again');
  pool.release(2 * MiB);
  assert.deepEqual(woken, ['a', 'b', 'c']);
  assert.equal(pool.waiting, 0);
});

test('-1 is unbounded', () => {
  const pool = new MemoryPool(-1);
  for (let i = 0; i < 100; i++) assert.equal(pool.tryReserve(100 * MiB), true);
  assert.equal(pool.exhausted, false);
});

test('waiters that answer at once and release do not wake each other down the stack', () => {
  const pool = new MemoryPool(1024);
  assert.equal(pool.tryReserve(1024 * 1024), true);
  let woken = 0;
  for (let i = 0; i < 50_000; i++) {
    pool.wait(() => {
      woken++;
      assert.equal(pool.tryReserve(100 * 1024), true);
      pool.release(100 * 1024);
    });
  }
  pool.release(1024 * 1024);
  assert.equal(woken, 50_000);
  assert.equal(pool.usedBytes, 0);
});
