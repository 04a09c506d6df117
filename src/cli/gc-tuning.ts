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
