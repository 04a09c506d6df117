// How many attempts etcd3 made of one call. etcd3 sends a unary call again after an attempt that
// failed with an error it counts as recoverable (a dropped connection, a deadline, etcd's
// "request timed out" or "leader changed": up to three more attempts, on another member when
// etcd.endpoints lists several), and such an attempt may have committed before its answer was
// lost. A guarded transaction sent again is then refused by its own first write (its compare no
// longer holds), so the store asks, of a refused guarded write, whether an earlier attempt went
// unanswered (RELIABILITY.md, Cluster, found 20).
//
// etcd3 resolves a call's options once per attempt, spreading the call's own options over its
// defaults: a getter among the call's options runs once per attempt, and counts it. (Not an
// AsyncLocalStorage: once one runs, Node 20 installs promise hooks for the whole process, which
// made a promise-heavy loop about five times slower here, the broker's hot path included.)
import type { ComparatorBuilder } from 'etcd3';
import { systemClock } from '../common/clock.js';

/** gRPC call options, as etcd3 takes them. */
export type CallOptions = NonNullable<Parameters<ComparatorBuilder['options']>[0]>;

/** The deadline of one attempt: with several members half the request timeout, so a retry on another one fits. */
export function attemptDeadline(requestTimeoutMs: number, severalMembers: boolean): number {
  return systemClock.now() + (severalMembers ? requestTimeoutMs / 2 : requestTimeoutMs);
}

/** Options for one call that count etcd3's attempts of it; `deadline` gives each attempt's deadline. */
export function countedAttempts(deadline: () => number): { options: CallOptions; attempts: () => number } {
  let sent = 0;
  const options = {
    get deadline(): number {
      sent++;
      return deadline();
    },
  };
  return { options, attempts: () => sent };
}
