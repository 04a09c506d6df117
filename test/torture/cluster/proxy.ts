// A loopback TCP proxy the cluster torture controls: one in front of each broker's listener (its
// advertised address, so clients and the other brokers reach it only through the proxy) and one
// in front of etcd for each broker (its etcd.endpoints). Cutting a proxy drops every connection
// through it and resets new ones at once: to the broker behind it, the network is gone.
//
// A broker's own outgoing connections to its peers go through the peers' proxies. To cut them too,
// a proxy can be told which process ids are cut off: on accept it finds the process that owns the
// connecting socket (/proc/net/tcp gives the socket's inode, /proc/<pid>/fd who holds it) and
// resets the connection if it is one of them; `cutFrom` also drops such connections already open.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** The inode of the loopback TCP socket from local port `port` to `toPort` (the connecting side), or null. */
function socketInode(port: number, toPort: number): string | null {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const portOf = (address: string) => parseInt(address.slice(address.lastIndexOf(':') + 1), 16);
      if (portOf(fields[1]!) === port && portOf(fields[2]!) === toPort) return fields[9]!;
    }
  }
  return null;
}

/** Whether process `pid` holds the socket with this inode. */
function holds(pid: number, inode: string): boolean {
  const wanted = `socket:[${inode}]`;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) === wanted) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket; remotePort: number; pid: number | null }>();
  private cut = false;
  private readonly cutPids = new Set<number>();
  /** Connections reset because the proxy or their process was cut. */
  refused = 0;

  constructor(
    readonly port: number,
    private readonly targetPort: number,
    /** Processes whose connections this proxy attributes (for cutFrom); empty: no attribution. */
    private readonly knownPids: () => number[] = () => [],
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    client.setNoDelay(true);
    const remotePort = client.remotePort ?? 0;
    const pid = this.cutPids.size > 0 || this.knownPids().length > 0 ? this.ownerOf(remotePort) : null;
    if (this.cut || (pid !== null && this.cutPids.has(pid))) {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
    upstream.setNoDelay(true);
    const pair = { client, upstream, remotePort, pid };
    this.pairs.add(pair);
    const close = () => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** The known process holding the connecting end of a connection from `remotePort`, or null. */
  private ownerOf(remotePort: number): number | null {
    const inode = socketInode(remotePort, this.port);
    return inode ? (this.knownPids().find((p) => holds(p, inode)) ?? null) : null;
  }

  /** Drops every connection and resets new ones until heal(). */
  cutAll(): void {
    this.cut = true;
    for (const p of [...this.pairs]) {
      p.client.resetAndDestroy();
      p.upstream.destroy();
      this.pairs.delete(p);
    }
  }

  /** Drops the connections of process `pid` and resets its new ones until heal(). */
  cutFrom(pid: number): void {
    this.cutPids.add(pid);
    for (const p of [...this.pairs]) {
      // A connection accepted before its process was known (a broker starting opens its
      // fetchers before the harness has its pid) is attributed now, while it is still open.
      if (p.pid === null) p.pid = this.ownerOf(p.remotePort);
      if (p.pid !== pid) continue;
      p.client.resetAndDestroy();
      p.upstream.destroy();
      this.pairs.delete(p);
    }
  }

  heal(): void {
    this.cut = false;
    this.cutPids.clear();
  }

  async close(): Promise<void> {
    this.cutAll();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
