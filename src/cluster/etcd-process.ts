// Starts a throwaway single-member etcd on free loopback ports with its own data dir: for
// startCluster, `tributary dev-cluster` and the cluster tests. Production clusters run their own
// etcd (README: "A 3-node cluster").
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { systemClock } from '../common/clock.js';
import { freeLoopbackPort } from '../common/loopback-ports.js';

export interface EtcdProcess {
  /** The client URL, e.g. http://127.0.0.1:23791 */
  endpoint: string;
  dataDir: string;
  child: ChildProcess;
  /** SIGSTOP: etcd stops answering but keeps its sockets (what a hung etcd looks like). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops etcd (SIGTERM, then SIGKILL after 5 s) and keeps its data dir. */
  stop(): Promise<void>;
  /** Starts etcd again on the same ports and data (after stop()). */
  restart(): Promise<void>;
  /** stop() and removes the data dir (unless it was given). */
  close(): Promise<void>;
}

/** The etcd binary: $ETCD_BIN, else `etcd` on PATH, else Debian's /usr/bin/etcd. Null if none. */
export function findEtcd(): string | null {
  const candidates = [process.env.ETCD_BIN, ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'etcd')), '/usr/bin/etcd'];
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return null;
}

/**
 * True once the etcd at `endpoint` is healthy and is the member called `name`. The name check
 * matters because the ports come from freeLoopbackPort(): between probing a port and etcd binding it,
 * another etcd (a parallel test, another dev cluster) may take the same port, our etcd then
 * exits on EADDRINUSE, and a bare /health would be answered by the other one.
 */
async function serving(endpoint: string, name: string): Promise<boolean> {
  try {
    const health = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    if (((await health.json()) as { health?: string }).health !== 'true') return false;
    const list = await fetch(`${endpoint}/v3/cluster/member/list`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
    const body = (await list.json()) as { members?: { name?: string }[] };
    return (body.members ?? []).some((m) => m.name === name);
  } catch {
    return false;
  }
}

export async function startEtcd(opts: { dataDir?: string; binary?: string; timeoutMs?: number } = {}): Promise<EtcdProcess> {
  const binary = opts.binary ?? findEtcd();
  if (!binary) throw new Error("etcd not found: install Debian's etcd-server (apt-get install etcd-server) or set ETCD_BIN");
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'tributary-etcd-'));
  // A name of its own, so that serving() can tell this etcd from another one on the same port;
  // derived from the data dir so that a later start on the same data keeps it.
  const name = `tributary-dev-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`;
  let endpoint = '';
  let args: string[] = [];
  const choosePorts = async () => {
    const clientPort = await freeLoopbackPort();
    let peerPort = await freeLoopbackPort();
    while (peerPort === clientPort) peerPort = await freeLoopbackPort();
    endpoint = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    args = [
      '--name',
      name,
      '--data-dir',
      join(dataDir, 'etcd'),
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `${name}=${peer}`,
      '--log-level',
      'error',
      // Small and quick for a local throwaway member.
      '--heartbeat-interval',
      '50',
      '--election-timeout',
      '500',
      '--quota-backend-bytes',
      String(256 * 1024 * 1024),
    ];
  };
  let child!: ChildProcess;
  let stderr = '';
  /** Starts etcd on the chosen ports; false if it exited first (e.g. a port was taken meanwhile). */
  const launch = async (): Promise<boolean> => {
    stderr = '';
    child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const deadline = systemClock.now() + (opts.timeoutMs ?? 15_000);
    while (!(await serving(endpoint, name))) {
      if (child.exitCode !== null) return false;
      if (systemClock.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`etcd did not become healthy at ${endpoint}: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
  };
  // The first start may lose a port race. If etcd's data dir did not exist before, nothing was
  // bootstrapped that remembers the ports, so it starts over on new ones.
  const fresh = !existsSync(join(dataDir, 'etcd'));
  for (let attempt = 1; ; attempt++) {
    await choosePorts();
    if (await launch()) break;
    if (attempt === 3 || !fresh) throw new Error(`etcd exited with ${child.exitCode}: ${stderr}`);
    rmSync(join(dataDir, 'etcd'), { recursive: true, force: true });
  }
  const restart = async () => {
    if (!(await launch())) throw new Error(`etcd exited with ${child.exitCode}: ${stderr}`);
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return {
    get endpoint() {
      return endpoint;
    },
    dataDir,
    get child() {
      return child;
    },
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop,
    restart,
    close: async () => {
      await stop();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
