// A TCP proxy in front of one etcd member that loses the answer of one call on demand: armed with
// a marker (bytes the call's request carries, such as a key or a value), it forwards the client's
// chunk that contains it and from then on passes nothing etcd sends back, until `drop()` cuts
// every connection. The call reaches etcd and commits, and its caller sees only a dropped
// connection, as when an etcd member dies after committing and before answering; etcd3 then
// sends the call again through a new connection, which is forwarded as usual.
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export class AnswerLosingProxy {
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private marker: Buffer | null = null;
  /** True from the marked request until drop(): etcd's answers are swallowed. */
  holding = false;

  private constructor(
    private readonly server: Server,
    private readonly targetPort: number,
  ) {}

  /** A proxy on a free loopback port in front of the etcd at `target` (http://127.0.0.1:port). */
  static async start(target: string): Promise<AnswerLosingProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new AnswerLosingProxy(server, Number(new URL(target).port));
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  /** The endpoint to give etcd clients. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Loses etcd's answers from the first request that carries `marker` on. */
  loseAnswersAfter(marker: string | Buffer): void {
    this.marker = Buffer.from(marker);
  }

  /** Cuts every connection (the calls in flight fail) and forwards normally again. */
  drop(): void {
    this.marker = null;
    this.holding = false;
    for (const p of [...this.pairs]) {
      p.client.destroy();
      p.upstream.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
    const pair = { client, upstream };
    this.pairs.add(pair);
    const close = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const s of [client, upstream]) {
      s.setNoDelay(true);
      s.on('error', close);
      s.on('close', close);
    }
    client.on('data', (chunk: Buffer) => {
      if (this.marker && chunk.includes(this.marker)) {
        this.marker = null;
        this.holding = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!this.holding) client.write(chunk);
    });
  }
}
