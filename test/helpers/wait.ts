// Waiting for a condition instead of sleeping: poll it until it holds or a deadline passes.
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** Give up after this many milliseconds (default 10 s). */
  timeout?: number;
  /** Poll every this many milliseconds (default 20). */
  interval?: number;
  /** What is being waited for, for the timeout's error message. */
  message?: string | (() => string);
}

/**
 * Polls `condition` until it returns a truthy value and returns that value. A condition that
 * throws counts as not yet true (its last error is in the timeout's message). Throws when the
 * condition has not held within `timeout` ms; the condition is tried once more at the deadline, so
 * a slow machine never fails a wait that a last look would have passed.
 */
export async function waitUntil<T>(condition: () => T | Promise<T>, options: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeout = options.timeout ?? 10_000;
  const interval = options.interval ?? 20;
  const deadline = performance.now() + timeout;
  let last: unknown;
  let lastError: unknown;
  for (;;) {
    const expired = performance.now() >= deadline;
    try {
      last = await condition();
      lastError = undefined;
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    if (expired) break;
    await delay(Math.min(interval, Math.max(0, deadline - performance.now())));
  }
  const what = typeof options.message === 'function' ? options.message() : (options.message ?? 'condition');
  const detail = lastError !== undefined ? `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}` : `; last value: ${String(last)}`;
  throw new Error(`timed out after ${timeout} ms waiting for ${what}${detail}`, { cause: lastError });
}

/**
 * Lets time pass on purpose: for tests that check that something does NOT happen within a period,
 * or whose subject is a timeout of the real clock (a child process or a third-party client, which
 * a manual clock cannot drive). Never use it to wait for something to happen: use waitUntil.
 */
export function elapse(ms: number): Promise<void> {
  return delay(ms);
}

/**
 * Whether `promise` settles within the current macrotask turn plus a few, no timers involved: for
 * tests of what resolves at once (a local write) and what must wait for something (the ISR).
 */
export async function settledWithinTurns(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
}
