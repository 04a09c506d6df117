// One etcd watch on its own gRPC stream, owned by Tributary rather than etcd3's WatchManager.
//
// etcd3's WatchManager reconnects a broken stream by itself on timers (an exponential backoff
// up to 30 s) and keeps doing so after its client is closed while a watch is attached, so a
// process that stopped its brokers could stay alive that long (RELIABILITY.md, Cluster, found 9).
// Here a watch never reconnects: a broken stream (an error, an end, a cancel by the server) is
// reported once with 'broken', and its owner reads the metadata again and opens a new watch
// (EtcdMetadataStore.resync), which it does anyway after any break. close() ends the stream and
// leaves no timer behind, so closing every watch before the client leaves nothing running.
//
// A watch on a member that stopped answering (SIGSTOP, a hung host: its TCP connection stays
// up) never errors: it just goes silent, and the broker's view would stay stale for as long as
// the member is gone, although the rest of the quorum serves (RELIABILITY.md, Cluster, found
// 17). So the watch asks etcd for a progress notification every `probe.intervalMs` (etcd >= 3.4
// answers at once with its revision) and counts itself broken when no answer of any kind came
// within `probe.timeoutMs`; the stream is then cancelled without being half-closed first, which
// makes etcd3's pool count a failure against that member, so the next watch goes to another one.
import { EventEmitter } from 'node:events';
import { systemClock } from '../common/clock.js';
import { Range, type Etcd3, type IDuplexStream, type IKeyValue, type IWatchRequest, type IWatchResponse } from 'etcd3';

export interface PrefixWatchEvents {
  put: [kv: IKeyValue];
  delete: [kv: IKeyValue];
  /** The stream failed or the server cancelled the watch: no more events will come. */
  broken: [err: Error];
}

/** The liveness probe of a watch: a progress request every `intervalMs`, answered within `timeoutMs`. */
export interface WatchProbe {
  intervalMs: number;
  timeoutMs: number;
}

export class PrefixWatch extends EventEmitter<PrefixWatchEvents> {
  private closed = false;
  private broken = false;
  private probeTimer: NodeJS.Timeout | null = null;
  /** When the progress request not answered yet was sent (0: none outstanding). */
  private probeSentAt = 0;

  private constructor(private readonly stream: IDuplexStream<IWatchRequest, IWatchResponse>) {
    super();
  }

  /** Any answer on the stream shows the member alive. */
  private heard(): void {
    this.probeSentAt = 0;
  }

  private startProbe(probe: WatchProbe): void {
    this.probeTimer = setInterval(() => {
      if (this.closed || this.broken) return;
      const now = systemClock.now();
      if (this.probeSentAt !== 0) {
        if (now - this.probeSentAt < probe.timeoutMs) return;
        this.markBroken(new Error(`the etcd member of the watch did not answer a progress request within ${probe.timeoutMs} ms`), true);
        return;
      }
      this.probeSentAt = now;
      try {
        this.stream.write({ progress_request: {} });
      } catch (err) {
        this.markBroken(err as Error);
      }
    }, probe.intervalMs);
    this.probeTimer.unref();
  }

  /**
   * Watches every key under `prefix` from `startRevision`. Resolves once etcd created the watch;
   * rejects (and leaves nothing open) if it refuses it or does not answer within `timeoutMs`.
   */
  static async open(client: Etcd3, prefix: string, startRevision: string, timeoutMs: number, probe?: WatchProbe): Promise<PrefixWatch> {
    const stream = await client.watchClient.watch();
    const watch = new PrefixWatch(stream);
    const range = Range.prefix(prefix);
    await new Promise<void>((resolve, reject) => {
      let created = false;
      // Unanswered: the member is stalled, and the stream is cancelled as failed (see above).
      const timer = setTimeout(() => fail(new Error(`etcd did not create the watch of ${prefix} within ${timeoutMs} ms`), true), timeoutMs);
      const fail = (err: Error, stalled = false): void => {
        clearTimeout(timer);
        if (created) {
          watch.markBroken(err);
          return;
        }
        created = true;
        if (stalled) stream.cancel();
        else watch.shutStream();
        reject(err);
      };
      stream.on('data', (res: IWatchResponse) => {
        watch.heard();
        if (!created) {
          if (!res.created) return;
          if (res.canceled) {
            fail(new Error(`etcd refused the watch of ${prefix}: ${res.cancel_reason || 'cancelled'}`));
            return;
          }
          created = true;
          clearTimeout(timer);
          resolve();
          return;
        }
        watch.onResponse(res);
      });
      stream.on('error', (err: Error) => fail(err));
      stream.on('end', () => fail(new Error(`the watch stream of ${prefix} ended`)));
      stream.write({ create_request: { key: range.start, range_end: range.end, start_revision: startRevision, progress_notify: true } });
    });
    if (probe) watch.startProbe(probe);
    return watch;
  }

  private onResponse(res: IWatchResponse): void {
    if (this.closed || this.broken) return;
    if (res.canceled) {
      // Compaction past our revision, or the server dropping the watch: etcd never resumes it.
      this.markBroken(new Error(`etcd cancelled the watch: ${res.cancel_reason || 'no reason given'} (compact revision ${res.compact_revision})`));
      return;
    }
    for (const e of res.events ?? []) {
      if (e.type === 'Put') this.emit('put', e.kv);
      else this.emit('delete', e.kv);
    }
  }

  /** `stalled`: the member does not answer, so the stream is cancelled as failed (see above). */
  private markBroken(err: Error, stalled = false): void {
    if (this.closed || this.broken) return;
    this.broken = true;
    this.stopProbe();
    if (stalled) this.stream.cancel();
    else this.shutStream();
    this.emit('broken', err);
  }

  private stopProbe(): void {
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  /**
   * Half-closes then cancels the call: etcd drops every watch of a stream that ends. end() comes
   * first so etcd3's connection pool does not count the cancel as a failed host.
   */
  private shutStream(): void {
    try {
      this.stream.end();
    } catch {
      // already ended
    }
    this.stream.cancel();
  }

  /** Stops the watch; no event is emitted after this, and nothing of it stays running. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopProbe();
    this.removeAllListeners();
    if (!this.broken) this.shutStream();
  }
}
