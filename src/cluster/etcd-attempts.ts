// How many attempts etcd3 made of the calls of one metadata change. etcd3 sends a unary call
// again after an attempt that failed with an error it counts as recoverable (a dropped
// connection, a deadline, etcd's "request timed out" or "leader changed": up to three more
// attempts, on another member when etcd.endpoints lists several), and such an attempt may have
// committed before its answer was lost. A guarded transaction sent again is then refused by its
// own first write (its compare no longer holds), so the store asks, of a refused guarded write,
// whether an earlier attempt went unanswered (RELIABILITY.md, Cluster, found 20).
//
// etcd3 asks its defaultCallOptions once for each attempt that reaches a member, inside the
// asynchronous context of the call that started it: that is where attempts are counted.
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<{ sent: number }>();

/** Runs `fn`, counting the attempts etcd3 sends of the unary calls it makes. */
export async function countingAttempts<T>(fn: () => Promise<T>): Promise<{ value: T; attempts: number }> {
  const counter = { sent: 0 };
  const value = await current.run(counter, fn);
  return { value, attempts: counter.sent };
}

/** Called from etcd3's defaultCallOptions: one more attempt of the call under way, if counted. */
export function noteAttempt(): void {
  const counter = current.getStore();
  if (counter) counter.sent++;
}
