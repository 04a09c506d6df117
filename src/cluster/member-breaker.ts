// Which etcd member a call may go to, when etcd.endpoints lists several (etcd3's per-host fault
// policy). etcd3 picks a member at random for each call and, by default, keeps one out only after
// three failures in a row, each a whole deadline long when the member hangs (SIGSTOP, a hung
// host: its TCP connection stays up): calls kept stalling on it although the rest of the quorum
// served (RELIABILITY.md, Cluster, found 17). Here one failure etcd3 counts as recoverable (a
// deadline, a cancelled or refused call) keeps the member out for `openMs`; etcd3 then tries the
// next member at once, and a call after that time tries the member again. `openMs` 0 never keeps
// it out (a single member: there is no other to ask, and a call must reach it as soon as it is
// back).
//
// etcd3 asks the policy only for execute(); its own (cockatiel's circuit breaker) is not used so
// that cluster mode loads no second copy of that package beside the one bundled in etcd3.
import { isRecoverableError, type IOptions } from 'etcd3';
import { systemClock } from '../common/clock.js';

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

export class MemberBreaker {
  private openUntil = 0;

  constructor(private readonly openMs: number) {}

  /** Whether calls go to this member now. */
  get open(): boolean {
    return systemClock.now() < this.openUntil;
  }

  async execute<T>(fn: (context: { signal: AbortSignal; attempt: number }) => PromiseLike<T> | T): Promise<T> {
    if (this.open) throw new Error('this etcd member failed a moment ago; another one is asked');
    try {
      return await fn({ signal: new AbortController().signal, attempt: 0 });
    } catch (err) {
      if (err instanceof Error && isRecoverableError(err)) this.openUntil = systemClock.now() + this.openMs;
      throw err;
    }
  }

  /** As etcd3's options take it. */
  asPolicy(): HostPolicy {
    return this as unknown as HostPolicy;
  }
}
