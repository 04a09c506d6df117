// KIP-932 share sessions: a member's ShareFetch/ShareAcknowledge conversation with one broker.
// Epoch 0 opens (or reopens) the session with the partitions the request names; each later
// request carries the next epoch, adds the partitions it names and drops its forgotten ones;
// epoch -1 is the member's last request and closes the session (what it still holds is released).
// A session also ends when the connection its member last used closes (handlers/share.ts).
import { ErrorCode } from '../../protocol/errors.js';

export const FINAL_EPOCH = -1;

export interface ShareSession {
  groupId: string;
  memberId: string;
  /** The epoch the next request must carry. */
  epoch: number;
  /** "topicId:partition" */
  partitions: Set<string>;
  /** When it was last used (monotonic ms). */
  lastUsed: number;
  /** The connection the member used last (its close ends the session); set by the handlers. */
  connection?: object;
}

/** A session idle this long may be evicted when the cache is full (its member vanished without ending it). */
const EVICTABLE_IDLE_MS = 120_000;

export class ShareSessions {
  private readonly sessions = new Map<string, ShareSession>();

  constructor(
    private readonly maxSessions: number,
    private readonly monotonicMs: () => number,
  ) {}

  private key(groupId: string, memberId: string): string {
    return `${groupId}\u0000${memberId}`;
  }

  get(groupId: string, memberId: string): ShareSession | undefined {
    return this.sessions.get(this.key(groupId, memberId));
  }

  /**
   * Checks a request's epoch against the member's session and moves it on: the session, or the
   * error code (SHARE_SESSION_NOT_FOUND, INVALID_SHARE_SESSION_EPOCH, SHARE_SESSION_LIMIT_REACHED).
   * `fetch` says whether the request is a ShareFetch (only it may open a session).
   */
  advance(groupId: string, memberId: string, epoch: number, fetch: boolean, add: string[], forget: string[]): ShareSession | number {
    const k = this.key(groupId, memberId);
    let s = this.sessions.get(k);
    if (epoch === 0) {
      if (!fetch) return ErrorCode.INVALID_SHARE_SESSION_EPOCH;
      if (!s && this.sessions.size >= this.maxSessions && !this.evictIdle()) return ErrorCode.SHARE_SESSION_LIMIT_REACHED;
      s = { groupId, memberId, epoch: 1, partitions: new Set(add), lastUsed: this.monotonicMs() };
      this.sessions.set(k, s);
      return s;
    }
    if (!s) return ErrorCode.SHARE_SESSION_NOT_FOUND;
    if (epoch === FINAL_EPOCH) {
      this.sessions.delete(k);
      return s;
    }
    if (epoch !== s.epoch) return ErrorCode.INVALID_SHARE_SESSION_EPOCH;
    s.lastUsed = this.monotonicMs();
    s.epoch = s.epoch === 2147483647 ? 1 : s.epoch + 1;
    for (const p of add) s.partitions.add(p);
    for (const p of forget) s.partitions.delete(p);
    return s;
  }

  /** Drops the least recently used session if it has been idle long enough; whether one went. */
  private evictIdle(): boolean {
    let oldest: [string, ShareSession] | undefined;
    for (const e of this.sessions) if (!oldest || e[1].lastUsed < oldest[1].lastUsed) oldest = e;
    if (!oldest || this.monotonicMs() - oldest[1].lastUsed < EVICTABLE_IDLE_MS) return false;
    this.sessions.delete(oldest[0]);
    return true;
  }

  /** Drops every session of a member (it left its group). */
  remove(groupId: string, memberId: string): void {
    this.sessions.delete(this.key(groupId, memberId));
  }

  get size(): number {
    return this.sessions.size;
  }
}
