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

  it('runs a full collection, then a scavenge, with gc kept out of the global scope', () => {
    // In a process of its own, whose collections a PerformanceObserver sees. Whether V8 then
    // shrinks the young generation is V8's call, from its allocation rate (seen here: 8 -> 1 MiB
    // after a burst and 5.5 s idle, but not on a loaded CI machine), so only our part is asserted.
    const script = `
      import { PerformanceObserver, constants } from 'node:perf_hooks';
      import { letV8ShrinkYoungGeneration } from './src/cli/gc-tuning.ts';
      const kinds = [];
      const observer = new PerformanceObserver((list) => kinds.push(...list.getEntries().map((e) => e.detail.kind)));
      observer.observe({ entryTypes: ['gc'] });
      setTimeout(() => {
        kinds.length = 0;
        letV8ShrinkYoungGeneration();
        setTimeout(() => {
          observer.disconnect();
          const name = (k) => (k === constants.NODE_PERFORMANCE_GC_MAJOR ? 'major' : k === constants.NODE_PERFORMANCE_GC_MINOR ? 'minor' : String(k));
          console.log(JSON.stringify({ kinds: kinds.map(name), exposed: typeof globalThis.gc }));
        }, 100);
      }, 100);
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(child.status, 0, child.stderr);
    const { kinds, exposed } = JSON.parse(child.stdout.trim().split('\n').pop()!);
    assert.deepEqual(kinds, ['major', 'minor']);
    assert.equal(exposed, 'undefined', "gc stays out of the program's own global scope");
  });
});
