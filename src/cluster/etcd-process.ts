// Starts a throwaway etcd on free loopback ports with its own data dir: one member for
// startCluster, `tributary dev-cluster` and most cluster tests, or several (startEtcdCluster) for
// the tests and torture of a quorum losing a member. Production clusters run their own etcd
// (README: "A 3-node cluster").
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
export async function serving(endpoint: string, name: string): Promise<boolean> {
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

/** The flags of one throwaway member on 127.0.0.1: small and with quick elections. */
function memberFlags(m: { name: string; dataDir: string; endpoint: string; peer: string; initialCluster: string }): string[] {
  return [
    '--name',
    m.name,
    '--data-dir',
    m.dataDir,
    '--listen-client-urls',
    m.endpoint,
    '--advertise-client-urls',
    m.endpoint,
    '--listen-peer-urls',
    m.peer,
    '--initial-advertise-peer-urls',
    m.peer,
    '--initial-cluster',
    m.initialCluster,
    '--log-level',
    'error',
    '--heartbeat-interval',
    '50',
    '--election-timeout',
    '500',
    '--quota-backend-bytes',
    String(256 * 1024 * 1024),
  ];
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
    args = memberFlags({ name, dataDir: join(dataDir, 'etcd'), endpoint, peer, initialCluster: `${name}=${peer}` });
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

/** One member of a throwaway etcd cluster (startEtcdCluster). */
export interface EtcdMember {
  readonly name: string;
  /** Its client URL. */
  readonly endpoint: string;
  readonly child: ChildProcess;
  /** Neither exited nor killed. */
  readonly running: boolean;
  /** SIGSTOP: the member keeps its sockets but answers nothing, its peers included. */
  pause(): void;
  resume(): void;
  /** SIGKILL (no clean shutdown), awaited. */
  kill(): Promise<void>;
  /** Starts it again on its ports and data dir (after kill), awaited until it serves. */
  restart(): Promise<void>;
}

export interface EtcdCluster {
  readonly members: EtcdMember[];
  /** Every member's client URL, in member order (what etcd.endpoints lists). */
  readonly endpoints: string[];
  dataDir: string;
  /** The index of the member that is the Raft leader, asked of the running members; -1 if none knows. */
  leader(): Promise<number>;
  /** Kills every member and removes the data dir (unless it was given). */
  close(): Promise<void>;
}

/**
 * A throwaway etcd cluster of `members` members on loopback (distinct client and peer ports,
 * one --initial-cluster), each with its own data dir under one temp dir. Resolves once every
 * member serves.
 */
export async function startEtcdCluster(opts: { members?: number; dataDir?: string; binary?: string; timeoutMs?: number } = {}): Promise<EtcdCluster> {
  const binary = opts.binary ?? findEtcd();
  if (!binary) throw new Error("etcd not found: install Debian's etcd-server (apt-get install etcd-server) or set ETCD_BIN");
  const count = opts.members ?? 3;
  const ownDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'tributary-etcd-cluster-'));
  const token = `tributary-dev-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`;
  const timeoutMs = opts.timeoutMs ?? 20_000;

  interface Slot {
    name: string;
    endpoint: string;
    peer: string;
    dir: string;
    child: ChildProcess | null;
    stderr: string;
  }
  let slots: Slot[] = [];
  const choosePorts = async () => {
    const taken = new Set<number>();
    const port = async () => {
      let p = await freeLoopbackPort();
      while (taken.has(p)) p = await freeLoopbackPort();
      taken.add(p);
      return p;
    };
    slots = [];
    for (let i = 0; i < count; i++) {
      const name = `${token}-${i}`;
      slots.push({ name, endpoint: `http://127.0.0.1:${await port()}`, peer: `http://127.0.0.1:${await port()}`, dir: join(dataDir, `etcd-${i}`), child: null, stderr: '' });
    }
  };
  const args = (s: Slot) => [
    ...memberFlags({ name: s.name, dataDir: s.dir, endpoint: s.endpoint, peer: s.peer, initialCluster: slots.map((x) => `${x.name}=${x.peer}`).join(',') }),
    '--initial-cluster-token',
    token,
    '--initial-cluster-state',
    'new',
  ];
  const spawnMember = (s: Slot): ChildProcess => {
    s.stderr = '';
    const child = spawn(binary, args(s), { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d: Buffer) => {
      s.stderr = (s.stderr + d.toString()).slice(-4000);
    });
    s.child = child;
    return child;
  };
  /** Waits until `s` serves; false if it exited first. */
  const awaitServing = async (s: Slot): Promise<boolean> => {
    const deadline = systemClock.now() + timeoutMs;
    while (!(await serving(s.endpoint, s.name))) {
      if (s.child!.exitCode !== null) return false;
      if (systemClock.now() > deadline) {
        s.child!.kill('SIGKILL');
        throw new Error(`etcd member ${s.name} did not become healthy at ${s.endpoint}: ${s.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
  };
  const killSlot = async (s: Slot): Promise<void> => {
    const child = s.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };
  // As startEtcd: the first start may lose a port race; nothing is bootstrapped yet, so it starts
  // over on new ports and fresh data dirs.
  for (let attempt = 1; ; attempt++) {
    await choosePorts();
    for (const s of slots) spawnMember(s);
    const up = await Promise.all(slots.map((s) => awaitServing(s).catch(() => false)));
    if (up.every(Boolean)) break;
    const why = slots.map((s) => `${s.name}: exit ${s.child?.exitCode} ${s.stderr}`).join('\n');
    await Promise.all(slots.map(killSlot));
    for (const s of slots) rmSync(s.dir, { recursive: true, force: true });
    if (attempt === 3) throw new Error(`the etcd cluster did not start:\n${why}`);
  }

  const members: EtcdMember[] = slots.map((s) => ({
    name: s.name,
    endpoint: s.endpoint,
    get child() {
      return s.child!;
    },
    get running() {
      return s.child !== null && s.child.exitCode === null && s.child.signalCode === null;
    },
    pause: () => void s.child?.kill('SIGSTOP'),
    resume: () => void s.child?.kill('SIGCONT'),
    kill: () => killSlot(s),
    restart: async () => {
      spawnMember(s);
      if (!(await awaitServing(s))) throw new Error(`etcd member ${s.name} exited with ${s.child!.exitCode}: ${s.stderr}`);
    },
  }));
  return {
    members,
    endpoints: slots.map((s) => s.endpoint),
    dataDir,
    leader: async () => {
      for (const s of slots) {
        if (!s.child || s.child.exitCode !== null || s.child.signalCode !== null) continue;
        try {
          const res = await fetch(`${s.endpoint}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
          const body = (await res.json()) as { leader?: string };
          if (!body.leader || body.leader === '0') continue;
          const list = await fetch(`${s.endpoint}/v3/cluster/member/list`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
          const ms = ((await list.json()) as { members?: { ID?: string; name?: string }[] }).members ?? [];
          const leaderName = ms.find((m) => m.ID === body.leader)?.name;
          const index = slots.findIndex((x) => x.name === leaderName);
          if (index >= 0) return index;
        } catch {
          // a paused or dying member: ask the next
        }
      }
      return -1;
    },
    close: async () => {
      for (const s of slots) s.child?.kill('SIGCONT');
      await Promise.all(slots.map(killSlot));
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
