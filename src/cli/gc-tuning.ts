// The garbage collector's tuning for a broker process (the `broker` command only: an embedded
// broker shares its process with someone else's code and leaves V8 as it is).
//
// Why: V8 counts every ArrayBuffer allocated since the last full collection against the old
// generation's limit, and that limit is set from the live heap, which for a broker is small
// (~11 MB). Every socket read is a fresh ArrayBuffer, so under a produce load of a few hundred
// MB/s a full mark-compact ran every ~12 MB of input: about 50 per GB, a fifth of the broker's
// CPU. The record bytes themselves are not on the heap (batches stay opaque buffers, large
// frames come from the data buffer pool), so a larger limit costs little memory: with V8's heap
// growing factor at 4 the same gigabyte took 3 full collections and ~25 % less broker CPU.
// Set once the broker is up, so start-up's own garbage is still collected at the usual pace
// and the idle footprint is unchanged.
import v8 from 'node:v8';
import vm from 'node:vm';
import { systemClock, type Clock } from '../common/clock.js';
import { recordsCodeCache } from './code-cache.js';

/** V8's --heap-growing-percent for a broker: the old generation may grow to 4× its live size. */
export const BROKER_HEAP_GROWING_PERCENT = 300;

/**
 * Applies the broker's heap growing factor unless the operator chose one on node's command line
 * (`node --heap-growing-percent=N …/tributary.js broker`; node refuses it in NODE_OPTIONS), and
 * in the build's code-cache training run. Returns whether it was applied.
 */
export function tuneBrokerHeap(execArgv: readonly string[] = process.execArgv, env: NodeJS.ProcessEnv = process.env): boolean {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return false;
  // V8 keys a code cache on its flags' values: a cache written after this change would be
  // rejected by every broker start (src/cli/launcher.ts).
  if (recordsCodeCache(env)) return false;
  v8.setFlagsFromString(`--heap-growing-percent=${BROKER_HEAP_GROWING_PERCENT}`);
  return true;
}

/**
 * How long after start-up the broker lets V8 resize the young generation: the delay V8's own
 * memory reducer waits after a collection before it looks for an idle heap to shrink.
 */
export const YOUNG_GENERATION_CHECK_MS = 8_000;

/** V8's smallest (and initial) new space on 64-bit: two semi-spaces of 512 KiB. */
const INITIAL_NEW_SPACE_BYTES = 1 << 20;

/**
 * Why: start-up's burst of long-lived allocations (cluster mode's gRPC and etcd client, its
 * first metadata load) makes V8 grow its young generation, ~1 -> 8 MiB, and V8 shrinks it only at
 * a collection that sees a low allocation rate. An idle broker runs no collection at all (its
 * memory reducer is armed by a full collection, and start-up only scavenges), so the grown young
 * generation stayed committed for good: ~7 MiB of each idle cluster broker's ~77 MiB RSS. Once
 * the broker has been up for YOUNG_GENERATION_CHECK_MS, if the young generation grew, one full
 * collection and one scavenge give V8 the chance: the decision to shrink stays V8's (it keeps
 * the space while the broker is busy). A single-node broker's start-up never grows it, and there
 * a forced collection would cost RSS (the collector's threads touch their memory): left alone.
 * Returns a cancel function; does nothing in the code-cache training run.
 */
export function releaseStartupYoungGeneration(clock: Clock = systemClock, env: NodeJS.ProcessEnv = process.env): () => void {
  if (recordsCodeCache(env)) return () => {};
  return clock.schedule(YOUNG_GENERATION_CHECK_MS, () => {
    if (newSpaceBytes() > INITIAL_NEW_SPACE_BYTES) letV8ShrinkYoungGeneration();
  });
}

/** The committed size of V8's new space (the young generation), in bytes. */
export function newSpaceBytes(): number {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/**
 * A full collection, then a scavenge: V8 resizes the new space at the end of a collection from
 * the allocation rate since the previous one, so the first records the idle stretch and the
 * second acts on it. `gc` is reachable without node's --expose-gc (which the launcher cannot
 * pass, and which V8 keys code caches on) from a context created once the flag is set; nothing
 * else sees it.
 */
export function letV8ShrinkYoungGeneration(): void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (options?: { type: 'minor' }) => void;
  gc(); // a full collection (Node 20's V8 takes { type: 'major' } for a scavenge)
  gc({ type: 'minor' });
}
