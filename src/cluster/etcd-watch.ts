// One etcd watch on its own gRPC stream, owned by Tributary rather than etcd3's WatchManager.
//
// etcd3's WatchManager reconnects a broken stream by itself on timers (an exponential backoff
// up to 30 s) and keeps doing so after its client is closed while a watch is attached, so a
// process that stopped its brokers could stay alive that long (RELIABILITY.md, Cluster, found 9).
// Here a watch never reconnects: a broken stream (an error, an end, a cancel by the server) is
// reported once with 'broken', and its owner reads the metadata again and opens a new watch
// (EtcdMetadataStore.resync), which it does anyway after any break. close() ends the stream and
// leaves no timer behind, so closing every watch before the client leaves nothing running.
import { EventEmitter } from 'node:events';
import { Range, type Etcd3, type IDuplexStream, type IKeyValue, type IWatchRequest, type IWatchResponse } from 'etcd3';

export interface PrefixWatchEvents {
  put: [kv: IKeyValue];
  delete: [kv: IKeyValue];
  /** The stream failed or the server cancelled the watch: no more events will come. */
  broken: [err: Error];
}

export class PrefixWatch extends EventEmitter<PrefixWatchEvents> {
  private closed = false;
  private broken = false;

  private constructor(private readonly stream: IDuplexStream<IWatchRequest, IWatchResponse>) {
    super();
  }

  /**
   * Watches every key under `prefix` from `startRevision`. Resolves once etcd created the watch;
   * rejects (and leaves nothing open) if it refuses it or does not answer within `timeoutMs`.
   */
  static async open(client: Etcd3, prefix: string, startRevision: string, timeoutMs: number): Promise<PrefixWatch> {
    const stream = await client.watchClient.watch();
    const watch = new PrefixWatch(stream);
    const range = Range.prefix(prefix);
    await new Promise<void>((resolve, reject) => {
      let created = false;
      const timer = setTimeout(() => fail(new Error(`etcd did not create the watch of ${prefix} within ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        if (created) {
          watch.markBroken(err);
          return;
        }
        created = true;
        watch.shutStream();
        reject(err);
      };
      stream.on('data', (res: IWatchResponse) => {
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

  private markBroken(err: Error): void {
    if (this.closed || this.broken) return;
    this.broken = true;
    this.shutStream();
    this.emit('broken', err);
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
    this.removeAllListeners();
    if (!this.broken) this.shutStream();
  }
}
