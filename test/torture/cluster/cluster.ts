// The cluster under torture: an etcd of three members (or one) and three broker processes of the
// compiled build on loopback, each behind proxies the torture controls (see proxy.ts): clients
// and the other brokers reach a broker only through its listener proxy (its advertised address),
// and a broker reaches each etcd member only through its own proxy to that member (etcd.endpoints
// lists them all). The harness itself talks to the brokers' real
// ports, so it can always look at the cluster, whatever the faults.
import { startEtcdCluster, type EtcdCluster, type EtcdMember } from '../../../src/cluster/etcd-process.js';
import { ApiKey } from '../../../src/protocol/generated/index.js';
import { ErrorCode, errorName } from '../../../src/protocol/errors.js';
import { startBrokerProcess, tempDir, type BrokerProcess } from '../../helpers/broker-process.js';
import { RawClient } from '../../helpers/raw-client.js';
import { waitUntil } from '../../helpers/wait.js';
import { TcpProxy } from './proxy.js';
import { createServer } from 'node:net';
import { rmSync } from 'node:fs';

export interface PartitionState {
  topic: string;
  partition: number;
  errorCode: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
}

export interface ClusterView {
  controller: number;
  brokers: number[];
  partitions: PartitionState[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export class Node {
  proc: BrokerProcess | null = null;
  paused = false;
  isolated = false;
  /** Cut off from etcd only (partition-etcd): its view of the metadata may be stale. */
  etcdCut = false;
  /** Cut off from the other brokers only, both ways (partition-peers). */
  peersCut = false;
  /** Every process this node ran, for their error logs and exit codes. */
  readonly past: BrokerProcess[] = [];

  constructor(
    readonly id: number,
    readonly realPort: number,
    readonly proxy: TcpProxy,
    /** One per etcd member, in member order. */
    readonly etcdProxies: TcpProxy[],
    readonly dataDir: string,
  ) {}

  get running(): boolean {
    return this.proc !== null && this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  /** Up, not paused and not cut off: its answers reflect the cluster. */
  get healthy(): boolean {
    return this.running && !this.paused && !this.isolated && !this.etcdCut && !this.peersCut;
  }

  get pid(): number | null {
    return this.running ? (this.proc!.child.pid ?? null) : null;
  }
}

export class Cluster {
  readonly nodes: Node[] = [];
  private etcd!: EtcdCluster;
  private readonly prefix = '/torture';

  constructor(
    private readonly size: number,
    private readonly brokerOverrides: Record<string, string>,
    private readonly etcdMembers = 3,
  ) {}

  async start(): Promise<void> {
    this.etcd = await startEtcdCluster({ members: this.etcdMembers });
    const etcdPorts = this.etcd.endpoints.map((e) => Number(new URL(e).port));
    for (let id = 1; id <= this.size; id++) {
      const pids = () => this.nodes.map((n) => n.pid).filter((p): p is number => p !== null);
      const realPort = await freePort();
      const proxy = new TcpProxy(await freePort(), realPort, pids);
      await proxy.start();
      const etcdProxies: TcpProxy[] = [];
      for (const port of etcdPorts) {
        const etcdProxy = new TcpProxy(await freePort(), port);
        await etcdProxy.start();
        etcdProxies.push(etcdProxy);
      }
      this.nodes.push(new Node(id, realPort, proxy, etcdProxies, tempDir(`tributary-cluster-torture-${id}-`)));
    }
    for (const n of this.nodes) await this.startNode(n);
  }

  get bootstrap(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.proxy.port}`);
  }

  node(id: number): Node {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  async startNode(n: Node): Promise<void> {
    const overrides: Record<string, string> = {
      'node.id': String(n.id),
      listeners: `PLAINTEXT://127.0.0.1:${n.realPort}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${n.proxy.port}`,
      'etcd.endpoints': n.etcdProxies.map((p) => `http://127.0.0.1:${p.port}`).join(','),
      'etcd.prefix': this.prefix,
      ...this.brokerOverrides,
    };
    // A restart right after a kill: etcd may still hold the dead incarnation's registration
    // until its lease expires ("already live"); try again until it is gone.
    let fatal: unknown = null;
    const started = await waitUntil(
      async () => {
        try {
          return await startBrokerProcess({ dataDir: n.dataDir, overrides });
        } catch (err) {
          if (/already live/.test(String(err))) return null;
          fatal = err; // anything else (a stale build, a crash at start-up) is not waited out
          return 'failed' as const;
        }
      },
      { timeout: 30_000, interval: 250, message: `broker ${n.id} to start` },
    );
    if (started === 'failed') throw fatal;
    const proc = started;
    n.proc = proc;
    n.past.push(proc);
    n.paused = false;
  }

  kill(n: Node): Promise<void> {
    const proc = n.proc;
    if (!proc) return Promise.resolve();
    n.paused = false;
    return proc.kill();
  }

  /** SIGTERM (a controlled shutdown) and the exit code. */
  async stop(n: Node): Promise<number | null> {
    const proc = n.proc;
    if (!proc || !n.running) return null;
    if (n.paused) this.resume(n);
    return proc.stop();
  }

  pause(n: Node): void {
    n.proc?.child.kill('SIGSTOP');
    n.paused = true;
  }

  resume(n: Node): void {
    n.proc?.child.kill('SIGCONT');
    n.paused = false;
  }

  /** Cuts a broker off: from clients, from the other brokers (both ways) and from etcd. */
  isolate(n: Node): void {
    n.isolated = true;
    n.proxy.cutAll();
    for (const p of n.etcdProxies) p.cutAll();
    const pid = n.pid;
    if (pid !== null) for (const other of this.nodes) if (other !== n) other.proxy.cutFrom(pid);
  }

  heal(n: Node): void {
    n.isolated = false;
    n.etcdCut = false;
    n.peersCut = false;
    n.proxy.heal();
    for (const p of n.etcdProxies) p.heal();
    for (const other of this.nodes) if (other !== n && !other.isolated) other.proxy.heal();
  }

  /** Cuts a broker off from etcd only: clients and the other brokers still reach it, and it them. */
  cutFromEtcd(n: Node): void {
    n.etcdCut = true;
    for (const p of n.etcdProxies) p.cutAll();
  }

  /**
   * Cuts a broker off from the other brokers, both ways: their connections to its listener proxy
   * and its connections to theirs. Clients still reach it and it still reaches etcd.
   */
  cutFromPeers(n: Node): void {
    n.peersCut = true;
    const pid = n.pid;
    for (const other of this.nodes) {
      if (other === n) continue;
      const otherPid = other.pid;
      if (otherPid !== null) n.proxy.cutFrom(otherPid);
      if (pid !== null) other.proxy.cutFrom(pid);
    }
  }

  /** SIGKILL of every etcd member (no clean shutdown), awaited. */
  async killEtcd(): Promise<void> {
    await Promise.all(this.etcd.members.map((m) => m.kill()));
  }

  /** Starts every etcd member again on its ports and data dir (after killEtcd): together, as a quorum needs. */
  async restartEtcd(): Promise<void> {
    await Promise.all(this.etcd.members.filter((m) => !m.running).map((m) => m.restart()));
  }

  get etcdMemberCount(): number {
    return this.etcd.members.length;
  }

  etcdMember(index: number): EtcdMember {
    return this.etcd.members[index]!;
  }

  /** The index of the etcd member that is the Raft leader (-1: none known). */
  etcdLeader(): Promise<number> {
    return this.etcd.leader();
  }

  /** Metadata v12 for `topics` from a healthy broker's real port (not through its proxy). */
  async view(topics: string[], from?: Node): Promise<ClusterView> {
    const asked = from ?? this.nodes.find((n) => n.healthy);
    if (!asked) throw new Error('no healthy broker to ask');
    const c = await RawClient.connect(asked.realPort);
    try {
      const r = await c.request(
        ApiKey.Metadata,
        12,
        {
          topics: topics.map((name) => ({ topicId: '00000000-0000-0000-0000-000000000000', name })),
          allowAutoTopicCreation: false,
          includeClusterAuthorizedOperations: false,
          includeTopicAuthorizedOperations: false,
        },
        3000,
      );
      const partitions: PartitionState[] = [];
      for (const t of r.body.topics) {
        for (const p of t.partitions) {
          partitions.push({
            topic: t.name,
            partition: p.partitionIndex,
            errorCode: p.errorCode,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch,
            replicas: [...p.replicaNodes].sort(),
            isr: [...p.isrNodes].sort(),
          });
        }
      }
      partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      return { controller: r.body.controllerId, brokers: r.body.brokers.map((b: { nodeId: number }) => b.nodeId).sort(), partitions };
    } finally {
      c.close();
    }
  }

  /** ListOffsets latest (the high watermark; read_committed: the LSO) and earliest of a partition, asked of its leader. */
  async offsets(n: Node, topic: string, partition: number): Promise<{ highWatermark: number; lastStable: number; logStart: number }> {
    const c = await RawClient.connect(n.realPort);
    try {
      const ask = async (timestamp: number, isolationLevel = 0) => {
        const r = await c.request(
          ApiKey.ListOffsets,
          7,
          { replicaId: -1, isolationLevel, timeoutMs: 0, topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }] },
          3000,
        );
        const p = r.body.topics[0].partitions[0];
        if (p.errorCode !== ErrorCode.NONE) throw new Error(`ListOffsets ${topic}-${partition} on broker ${n.id}: ${errorName(p.errorCode)}`);
        return Number(p.offset);
      };
      return { highWatermark: await ask(-1), lastStable: await ask(-1, 1), logStart: await ask(-2) };
    } finally {
      c.close();
    }
  }

  /** Creates topics through a healthy broker (retrying while the controller settles). */
  async createTopics(topics: { name: string; partitions: number; replicationFactor: number; configs: Record<string, string> }[]): Promise<void> {
    await waitUntil(
      async () => {
        const n = this.nodes.find((x) => x.healthy)!;
        const c = await RawClient.connect(n.realPort);
        try {
          const r = await c.request(
            ApiKey.CreateTopics,
            7,
            {
              timeoutMs: 10_000,
              validateOnly: false,
              topics: topics.map((t) => ({
                name: t.name,
                numPartitions: t.partitions,
                replicationFactor: t.replicationFactor,
                assignments: [],
                configs: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
              })),
            },
            15_000,
          );
          for (const t of r.body.topics) {
            if (t.errorCode !== ErrorCode.NONE && t.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS)
              throw new Error(`CreateTopics ${t.name}: ${errorName(t.errorCode)} ${t.errorMessage}`);
          }
          return true;
        } finally {
          c.close();
        }
      },
      { timeout: 30_000, interval: 250, message: 'the topics to be created' },
    );
  }

  /** Ends everything: SIGCONT, SIGKILL, proxies, etcd, data dirs. */
  async destroy(keepData = false): Promise<void> {
    for (const n of this.nodes) {
      if (n.paused) this.resume(n);
      if (n.running) await this.kill(n);
      await n.proxy.close();
      for (const p of n.etcdProxies) await p.close();
      if (!keepData) rmSync(n.dataDir, { recursive: true, force: true });
    }
    await this.etcd?.close();
  }

  /** Synchronous last resort for process exit: no broker or etcd survives the torture. */
  killAllNow(): void {
    for (const n of this.nodes) {
      for (const p of n.past) {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      }
    }
    for (const m of this.etcd?.members ?? []) if (m.running) m.child.kill('SIGKILL');
  }
}
