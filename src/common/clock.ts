// The one clock of the broker. Everything that reads the time (log roll, flush and retention,
// the cleaner's horizons, producer-id expiry, group and transaction timeouts, fetch long polls,
// connection idle and read timeouts, quotas) gets it from an injected Clock; only this file reads
// Date.now() and the monotonic timer. Tests pass a ManualClock and move time themselves.
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Wall-clock time, ms since the epoch: timestamps, deadlines, timeouts. */
  now(): number;
  /** A monotonic high-resolution time in ms (fractional): only to measure how long work took. */
  monotonicMs(): number;
  /** Runs fn after ms of this clock's time; returns a cancel function. */
  schedule(ms: number, fn: () => void): () => void;
}

/** The real time. Its timers are unref'd: a pending timeout never keeps the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonicMs: () => performance.now(),
  schedule(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

/** Lets pending promise callbacks run (a few turns of the event loop). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A clock that only moves when told to: for tests. monotonicMs() follows now(). */
export class ManualClock implements Clock {
  private timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  private seq = 0;

  constructor(private time = 0) {}

  now(): number {
    return this.time;
  }

  monotonicMs(): number {
    return this.time;
  }

  schedule(ms: number, fn: () => void): () => void {
    const t = { at: this.time + ms, seq: this.seq++, fn, cancelled: false };
    this.timers.push(t);
    return () => {
      t.cancelled = true;
    };
  }

  /** Sets the time without firing timers (a test that follows record timestamps). */
  set(ms: number): void {
    this.time = ms;
  }

  /** Moves time forward by ms, firing due timers in order and letting promises settle between. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.time = due.at;
      due.cancelled = true;
      due.fn();
    }
    this.timers = this.timers.filter((t) => !t.cancelled);
    this.time = end;
    await settle();
  }
}
