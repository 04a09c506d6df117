// Keeps one etcd lease alive by its id, owned by Tributary rather than etcd3's Lease.
//
// etcd3's Lease gives a lease up for lost once it has not renewed it for twice its TTL, whatever
// the reason: with etcd itself down (killed, restarting) every broker then registered again,
// although etcd restores its leases on restart and renews them to their full TTL, so the old
// registrations were still there; each broker waited a TTL for its own old key to expire and came
// back as a new incarnation, which the controller fences for one pass: every partition went
// leaderless at once after an etcd restart (RELIABILITY.md, Cluster). A KRaft broker that cannot
// reach the quorum keeps retrying its heartbeat with the same broker epoch and is never fenced
// for it: a new active controller gives every registered broker a fresh session. Here the lease
// is given up only when etcd itself answers that it is gone (TTL 0); until then the keeper keeps
// trying, every 250 ms while etcd does not answer.
//
// With several etcd members, one that stopped answering (SIGSTOP, a hung host) keeps its TCP
// connection: a keepalive sent there would wait its whole timeout while the lease runs out,
// though the rest of the quorum would renew it (RELIABILITY.md, Cluster, found 17). A member
// that answers can hang the same way: a follower forwards a keepalive to the Raft leader, and with
// the leader stopped that forward waits seconds. So a keepalive waits at most a sixth of the TTL,
// and one that timed out is cancelled without being half-closed first: etcd3's pool then counts a
// failure against that member and the next keepalive goes at once to another one. Renewals are
// sent every third of the TTL, so after a renewal two more members can each fail a whole attempt
// (a follower stuck forwarding, then the stopped leader) and a third attempt still renews before
// the lease could run out (found 19).
//
// The keeper also says until when the lease is certainly still valid in etcd: the send time of
// the last keepalive etcd answered (or of the grant) plus the TTL. Real time on purpose, not an
// injected Clock: etcd counts the TTL in real time.
//
// Each keepalive is one short stream (write the id, read one answer, end), so nothing is left
// open between them, and close() ends the one under way and the pause: no timer outlives it.
import { EventEmitter } from 'node:events';
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';
import { systemClock } from '../common/clock.js';

export interface LeaseKeeperEvents {
  /** etcd answered that the lease no longer exists: it expired or was revoked. */
  lost: [];
}

/** The least time between two keepalives when etcd does not answer (no spinning on a refusal). */
const RETRY_MS = 250;

export class LeaseKeeper extends EventEmitter<LeaseKeeperEvents> {
  private closed = false;
  private stream: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse> | null = null;
  private wake: (() => void) | null = null;
  private renewedUntil: number;

  constructor(
    private readonly client: Etcd3,
    readonly id: string,
    private readonly ttlSeconds: number,
    /** How long one keepalive may wait for etcd's answer (at most a sixth of the TTL, see above). */
    timeoutMs: number,
    /** When the lease's grant was sent (ms since epoch, real time). */
    grantSentAt: number,
  ) {
    super();
    this.timeoutMs = Math.min(timeoutMs, Math.max(RETRY_MS, (ttlSeconds * 1000) / 6));
    this.renewedUntil = grantSentAt + ttlSeconds * 1000;
  }

  private readonly timeoutMs: number;

  /** Until when (ms since epoch, real time) the lease is certainly still valid in etcd. */
  get validUntil(): number {
    return this.renewedUntil;
  }

  /** Whether the lease is certainly still valid in etcd at `now`. */
  valid(now = systemClock.now()): boolean {
    return now < this.renewedUntil;
  }

  /** Starts renewing: the first keepalive at once, then every third of the TTL. */
  start(): void {
    void this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.closed) {
      const sentAt = systemClock.now();
      let ttl: number | null = null;
      try {
        ttl = await this.keepAliveOnce();
      } catch {
        // etcd unreachable or slow: try again soon, the lease may well be alive in etcd
      }
      if (this.closed) return;
      if (ttl === 0) {
        this.closed = true;
        this.emit('lost');
        return;
      }
      if (ttl !== null) {
        this.renewedUntil = Math.max(this.renewedUntil, sentAt + this.ttlSeconds * 1000);
        await this.pause((this.ttlSeconds * 1000) / 3);
      } else {
        // After a timeout at once (to another member); after a quick refusal not before RETRY_MS.
        await this.pause(Math.max(0, sentAt + RETRY_MS - systemClock.now()));
      }
    }
  }

  /** One keepalive: the TTL etcd answers (0: the lease is gone). */
  private async keepAliveOnce(): Promise<number> {
    const stream = await this.client.leaseClient.leaseKeepAlive();
    if (this.closed) {
      shut(stream);
      return -1;
    }
    this.stream = stream;
    let timedOut = false;
    try {
      return await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          // Cancelled while still writable: etcd3 counts it against the member (see above).
          timedOut = true;
          stream.cancel();
          reject(new Error(`etcd did not answer a keepalive of lease ${this.id} within ${this.timeoutMs} ms`));
        }, this.timeoutMs);
        const settle = (): void => clearTimeout(timer);
        stream.on('data', (res: ILeaseKeepAliveResponse) => {
          settle();
          resolve(Number(res.TTL));
        });
        stream.on('error', (err: Error) => {
          settle();
          reject(err);
        });
        stream.on('end', () => {
          settle();
          reject(new Error('the keepalive stream ended'));
        });
        stream.write({ ID: this.id });
      });
    } finally {
      this.stream = null;
      if (!timedOut) shut(stream);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    }).finally(() => {
      this.wake = null;
    });
  }

  /** Stops renewing (the lease then expires by itself after its TTL); nothing stays running. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.removeAllListeners();
    if (this.stream) shut(this.stream);
    this.wake?.();
  }
}

/** Half-closes, then cancels (as PrefixWatch does, so etcd3's pool does not count a failed host). */
function shut(stream: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>): void {
  try {
    stream.end();
  } catch {
    // already ended
  }
  stream.cancel();
}
