import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CLUSTER_CODE_CACHE_OUTPUT_ENV, CODE_CACHE_OUTPUT_ENV } from '../../src/cli/code-cache.js';
import { BROKER_HEAP_GROWING_PERCENT, releaseStartupYoungGeneration, tuneBrokerHeap, YOUNG_GENERATION_CHECK_MS } from '../../src/cli/gc-tuning.js';
import type { Clock } from '../../src/common/clock.js';

describe('the broker process heap tuning', () => {
  it("leaves V8's heap growing factor to an operator who chose one", () => {
    assert.equal(tuneBrokerHeap(['--heap-growing-percent=50']), false);
    assert.equal(tuneBrokerHeap(['--heap_growing_percent=50']), false);
    assert.equal(tuneBrokerHeap(['--max-old-space-size=512', '--heap-growing-percent', '50']), false);
  });

  it('leaves it in the code-cache training run, whose cache must match an untuned start', () => {
    assert.equal(tuneBrokerHeap([], { [CODE_CACHE_OUTPUT_ENV]: '/tmp/cli.v8cache' }), false);
    assert.equal(tuneBrokerHeap([], { [CLUSTER_CODE_CACHE_OUTPUT_ENV]: '/tmp/cluster.v8cache' }), false);
  });

  it('sets it otherwise', () => {
    assert.equal(BROKER_HEAP_GROWING_PERCENT, 300);
    // Other flags are no choice of the growing factor (nor a prefix of its name).
    assert.equal(tuneBrokerHeap(['--trace-gc', '--heap-growing-percentile=1'], {}), true);
  });
});

describe("the release of start-up's young generation", () => {
  /** A clock that only records what is scheduled. */
  function recordingClock(): Clock & { scheduled: number[] } {
    const scheduled: number[] = [];
    return { scheduled, now: () => 0, monotonicMs: () => 0, schedule: (ms) => (scheduled.push(ms), () => {}) };
  }

  it('is checked once, YOUNG_GENERATION_CHECK_MS after start-up', () => {
    const clock = recordingClock();
    releaseStartupYoungGeneration(clock, {});
    assert.deepEqual(clock.scheduled, [YOUNG_GENERATION_CHECK_MS]);
  });

  it('is left out of the code-cache training run, which must not change V8 flags', () => {
    const clock = recordingClock();
    releaseStartupYoungGeneration(clock, { [CODE_CACHE_OUTPUT_ENV]: '/tmp/cli.v8cache' });
    assert.deepEqual(clock.scheduled, []);
  });

  it('lets V8 shrink a young generation that a burst grew, once the process has idled', () => {
    // In a process of its own: the burst of survivors grows the new space as a cluster broker's
    // start-up does, and V8's allocation-rate window (5 s) must see only the idle stretch.
    const script = `
      import { letV8ShrinkYoungGeneration, newSpaceBytes } from './src/cli/gc-tuning.ts';
      let keep = [];
      for (let i = 0; i < 100_000; i++) keep.push({ i });
      keep = undefined;
      const grown = newSpaceBytes();
      setTimeout(() => {
        const idle = newSpaceBytes();
        letV8ShrinkYoungGeneration();
        console.log(JSON.stringify({ grown, idle, after: newSpaceBytes(), exposed: typeof globalThis.gc }));
      }, 5_500);
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(child.status, 0, child.stderr);
    const { grown, idle, after, exposed } = JSON.parse(child.stdout.trim().split('\n').pop()!);
    assert.ok(grown > 1 << 20, `the burst grew the new space (${grown} bytes)`);
    assert.equal(idle, grown, 'idling alone never shrinks it: no collection runs');
    assert.ok(after < idle, `shrunk: ${after} bytes, from ${idle}`);
    assert.equal(exposed, 'undefined', "gc stays out of the program's own global scope");
  });
});
