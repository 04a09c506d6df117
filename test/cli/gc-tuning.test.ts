import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER_CODE_CACHE_OUTPUT_ENV, CODE_CACHE_OUTPUT_ENV } from '../../src/cli/code-cache.js';
import { BROKER_HEAP_GROWING_PERCENT, tuneBrokerHeap } from '../../src/cli/gc-tuning.js';

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
