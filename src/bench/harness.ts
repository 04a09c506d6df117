// Benchmark harness: the same workloads against a Tributary it starts itself and, with
// `--against kafka`, against an Apache Kafka it resolves from Maven Central and starts itself
// (src/bench/kafka.ts), or against other brokers already running (--bootstrap).
//
// Runs alternate (round 0 is a warm-up and discarded; then A B A B ...), so background load on a
// shared machine hits both brokers alike; each figure is reported as the median of its rounds,
// and, for two brokers, as the median ratio with its min-max spread over the rounds.
//
// Load generators: Apache Kafka's own ProducerPerformance, ConsumerPerformance and
// EndToEndLatency (kafka-tools, `java -cp`, when Kafka is resolved), librdkafka (kcat and its
// Python binding) and franz-go (src/bench/franz-go, when Go is installed). The client's CPU
// seconds (GNU time) are reported next to the broker's (/proc/<pid>/stat) for every workload, so
// it shows when the client, not the broker, was the limit.
// Every workload is bounded in records and seconds; everything binds to 127.0.0.1.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync, existsSync } from 'node:fs';
import { tmpdir, cpus, totalmem, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { Admin } from '../client/admin.js';
import { buildFranzGoLoadGen, franzGoArgs, parseFranzGo } from './franz-go.js';
import { rawProduceToFetchLatency } from './raw-latency.js';
import { formatKafka, javaTool, KAFKA_HEAP, kafkaOutput, resolveKafka, sslKeystore, startKafkaProcess, type KafkaInstall, type KafkaNode } from './kafka.js';
import { makeServerPki, type ServerPki } from './tls.js';
import { newClusterId } from '../common/cluster-id.js';
import { findEtcd, startEtcd } from '../cluster/etcd-process.js';
import { kafkaRequestCounts, requestsPerRound, summed, tributaryRequestCounts, type RequestCounts } from './request-counts.js';
import { systemClock } from '../common/clock.js';
import { freeLoopbackPort, loopbackAccepts } from '../common/loopback-ports.js';

// src/bench or dist/bench: the package root is two levels up either way.
const packageRoot = resolve(import.meta.dirname, '..', '..');
const CLK_TCK = 100;

/** Settings given explicitly to every broker this harness starts (Kafka's names, the same values). */
export const SHARED_SETTINGS: Record<string, string> = {
  'num.partitions': '1',
  'default.replication.factor': '1',
  'auto.create.topics.enable': 'true',
  'group.initial.rebalance.delay.ms': '0',
  'offsets.topic.replication.factor': '1',
  'offsets.topic.num.partitions': '50',
  'transaction.state.log.replication.factor': '1',
  'transaction.state.log.min.isr': '1',
  'min.insync.replicas': '1',
  // Flush policy: never forced, the OS page cache decides (Kafka's default), on both.
  'log.flush.interval.messages': '9223372036854775807',
  'log.flush.interval.ms': '9223372036854775807',
  'log.segment.bytes': '1073741824',
  'log.retention.hours': '168',
};

/** The cluster workload: SHARED_SETTINGS with these on top, on every node of both clusters. */
export const CLUSTER_SETTINGS: Record<string, string> = {
  'default.replication.factor': '3',
  'min.insync.replicas': '2',
  'offsets.topic.replication.factor': '3',
  'transaction.state.log.replication.factor': '3',
  'transaction.state.log.min.isr': '2',
};
const CLUSTER_SIZE = 3;
const CLUSTER_PARTITIONS = 6;
/**
 * How long every broker has been idle when its idle RSS is read: past the start-up transients
 * of both runtimes (V8 shrinks the heap its module loading grew some 8 s after start; a JVM
 * finishes its start-up compilation), so that the figure is the steady state of an idle broker.
 */
const IDLE_SETTLE_MS = 10_000;

interface Broker {
  label: string;
  bootstrap: string;
  /** Set for brokers this harness started: CPU, RSS and start-up are measured only there. */
  pid?: number;
  /** A cluster: every broker process; CPU and RSS are summed over them (pid is the first). */
  pids?: number[];
  /** Processes beside the brokers (Tributary's etcd), measured and reported on their own. */
  aux?: Record<string, number>;
  coldStartMs?: number;
  /** Stops the broker and starts it again on the same data; returns ms to the first produce. */
  restart?: () => Promise<number>;
  /** The Produce and consumer Fetch requests the broker answered so far (summed over a cluster's nodes). */
  requestCounts?: () => Promise<RequestCounts | undefined>;
  stop?: () => Promise<void>;
  /** Its SSL listener (host:port), for the TLS workloads. */
  tlsBootstrap?: string;
}

interface Sample {
  workload: string;
  target: string;
  round: number;
  metrics: Record<string, number>;
}

const progress = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** User + system CPU seconds of a process, all threads (fields 14 and 15 of /proc/<pid>/stat). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

interface Timed {
  wall: number;
  cpu: number;
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Runs a client under /usr/bin/time: wall and CPU seconds of the client. `inputFile` is its stdin. */
function timed(cmd: string, args: string[], opts: { input?: Buffer; inputFile?: string; timeoutMs: number }): Timed {
  const stdin = opts.inputFile === undefined ? undefined : openSync(opts.inputFile, 'r');
  const t0 = systemClock.monotonicMs();
  const r = spawnSync('/usr/bin/time', ['-f', '__TIME__ %U %S', cmd, ...args], {
    input: opts.input,
    stdio: stdin === undefined ? 'pipe' : [stdin, 'pipe', 'pipe'],
    timeout: opts.timeoutMs,
    maxBuffer: 1024 * 1024 * 1024,
    killSignal: 'SIGKILL',
  });
  const wall = (systemClock.monotonicMs() - t0) / 1e3;
  if (stdin !== undefined) closeSync(stdin);
  const stderr = r.stderr?.toString() ?? '';
  const m = /__TIME__ ([\d.]+) ([\d.]+)/.exec(stderr);
  const cpu = m ? Number(m[1]) + Number(m[2]) : NaN;
  if (r.status !== 0)
    progress(
      `${cmd} ${args
        .filter((a) => !a.includes('/'))
        .slice(-8)
        .join(' ')} exited ${r.status}: ${stderr.slice(-400)}`,
    );
  return { wall, cpu, stdout: r.stdout?.toString() ?? '', stderr, status: r.status };
}

const brokerPids = (b: Broker): (number | undefined)[] => b.pids ?? [b.pid];
const sumRss = (b: Broker) => brokerPids(b).reduce<number>((sum, pid) => sum + (pid ? rssMiB(pid) : NaN), 0);

/**
 * Starts counting the brokers' CPU seconds (each node's and the aux processes' too); the function
 * returned adds them, and the client's `cpu` over `wall` seconds, to a workload's metrics.
 */
function cpuMeter(broker: Broker): (client: { wall: number; cpu: number }, metrics: Record<string, number | undefined>) => Record<string, number> {
  const pids = brokerPids(broker);
  const before = pids.map(cpuSeconds);
  const auxBefore = Object.entries(broker.aux ?? {}).map(([name, pid]) => [name, pid, cpuSeconds(pid)] as const);
  return (client, metrics) => {
    const each = pids.map((pid, i) => cpuSeconds(pid) - before[i]!);
    const brokerCpu = each.reduce((a, b) => a + b, 0);
    const defined = Object.fromEntries(Object.entries(metrics).filter((e): e is [string, number] => e[1] !== undefined));
    // A cluster: each node's share too (the partition leaders' and the followers' work).
    const perNode = pids.length > 1 ? Object.fromEntries(each.map((c, i) => [`node${i + 1}_cpu_s`, c])) : {};
    const aux = Object.fromEntries(auxBefore.map(([name, pid, b]) => [`${name}_cpu_s`, cpuSeconds(pid) - b]));
    return {
      ...defined,
      ...perNode,
      ...aux,
      broker_cpu_s: brokerCpu,
      client_cpu_s: client.cpu,
      // Shares of one core over the run: a client near 100 % per thread it uses is the bottleneck.
      broker_cpu_pct: (100 * brokerCpu) / client.wall,
      client_cpu_pct: (100 * client.cpu) / client.wall,
    };
  };
}

/** Runs one client process against a broker and adds broker and client CPU seconds to its metrics. */
function measured(broker: Broker, run: () => { t: Timed; metrics: Record<string, number | undefined> }): Record<string, number> {
  const finish = cpuMeter(broker);
  const { t, metrics } = run();
  return finish(t, metrics);
}

function payloadLines(count: number, size: number): Buffer {
  const line = Buffer.alloc(size + 1, 'x');
  line[size] = 0x0a;
  const out = Buffer.allocUnsafe(count * (size + 1));
  for (let i = 0; i < count; i++) line.copy(out, i * (size + 1));
  return out;
}

/**
 * The same lines in a file under `dir`, written once per count and size and reused: kcat's runs
 * are long enough to measure (up to ~770 MB), too much to hold in the harness's memory.
 */
function payloadFile(dir: string, count: number, size: number): string {
  const file = join(dir, `payload-${count}x${size}`);
  if (existsSync(file)) return file;
  const perChunk = Math.max(1, Math.floor((1 << 20) / (size + 1)));
  const chunk = payloadLines(perChunk, size);
  const fd = openSync(`${file}.tmp`, 'w');
  try {
    for (let left = count; left > 0; left -= perChunk) writeSync(fd, chunk, 0, Math.min(left, perChunk) * (size + 1));
  } finally {
    closeSync(fd);
  }
  renameSync(`${file}.tmp`, file);
  return file;
}

/** Deletes a topic whose records no later workload reads, so that long runs do not fill the disk. */
async function deleteTopic(bootstrap: string, topic: string): Promise<void> {
  const admin = new Admin({ bootstrap, clientId: 'bench', requestTimeoutMs: 120_000 });
  try {
    await admin.deleteTopics([topic], { timeoutMs: 110_000 });
  } catch (err) {
    progress(`  deleting ${topic} failed: ${(err as Error).message}`);
  } finally {
    await admin.close();
  }
}

/** Creates a topic through our own admin client (kcat cannot) and returns how long it took. */
async function createTopic(bootstrap: string, topic: string, partitions: number, replicationFactor = 1, configs?: Record<string, string>): Promise<number> {
  const admin = new Admin({ bootstrap, clientId: 'bench', requestTimeoutMs: 300_000 });
  const t0 = systemClock.now();
  try {
    await admin.createTopics([{ name: topic, partitions, replicationFactor, configs }], { timeoutMs: 280_000 });
  } finally {
    await admin.close();
  }
  return systemClock.now() - t0;
}

/** Waits for the ports, then for one record acknowledged by kcat (acks=all on a cluster); ms since t0. */
async function firstProduce(port: number | number[], t0: number, child: ChildProcess | ChildProcess[], deadlineMs = 120_000): Promise<number> {
  const ports = Array.isArray(port) ? port : [port];
  let exited = false;
  for (const c of Array.isArray(child) ? child : [child]) c.once('exit', () => (exited = true));
  for (const p of ports) {
    while (!(await loopbackAccepts(p))) {
      if (exited) throw new Error('the broker exited during start-up');
      if (systemClock.now() - t0 > deadlineMs) throw new Error(`nothing listens on ${p} after ${deadlineMs} ms`);
      await sleep(10);
    }
  }
  const bootstrap = ports.map((p) => `127.0.0.1:${p}`).join(',');
  for (;;) {
    const r = spawnSync('kcat', ['-b', bootstrap, '-P', '-t', 'bench-startup', '-X', `acks=${ports.length > 1 ? 'all' : '1'}`, '-X', 'message.timeout.ms=10000'], {
      input: 'x\n',
      timeout: 30_000,
    });
    if (r.status === 0) return systemClock.now() - t0;
    if (exited || systemClock.now() - t0 > deadlineMs) throw new Error(`first produce failed: ${r.stderr.toString()}`);
    await sleep(50);
  }
}

function stopChild(child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      res();
    });
    child.kill('SIGTERM');
  });
}

/** Every child this process started, killed on an unexpected exit too (see runBench). */
const children = new Set<ChildProcess>();
function killChildren(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}

/** Starts a Tributary from the compiled build (or the sources) with a fresh data dir. */
async function startTributary(dataDir: string, pki?: ServerPki): Promise<Broker> {
  const compiled = join(packageRoot, 'dist/cli/tributary.js');
  const entry = existsSync(compiled) ? [compiled] : ['--import', 'tsx', join(packageRoot, 'src/cli/tributary.ts')];
  const port = await freeLoopbackPort();
  // A free port: the default 8080 may be taken, and benches run next to other brokers.
  const httpPort = await freeLoopbackPort();
  const sslPort = pki ? await freeLoopbackPort() : undefined;
  const overrides = Object.entries({
    ...SHARED_SETTINGS,
    listeners: `PLAINTEXT://127.0.0.1:${port}${sslPort ? `,SSL://127.0.0.1:${sslPort}` : ''}`,
    ...(pki ? sslKeystore({ keystore: pki.serverP12File, password: pki.p12Password }) : {}),
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'log.dirs': dataDir,
  }).flatMap(([k, v]) => ['--override', `${k}=${v}`]);
  const broker = await managedBroker('tributary', port, () =>
    spawn(process.execPath, [...brokerNodeArgs(), ...entry, 'broker', ...overrides], { stdio: ['ignore', 'ignore', 'inherit'] }),
  );
  broker.requestCounts = () => tributaryRequestCounts(httpPort).catch(() => undefined);
  if (sslPort) broker.tlsBootstrap = `127.0.0.1:${sslPort}`;
  return broker;
}

/**
 * Starts a broker process, measures its time to the first produce, and gives it the stop and
 * restart (same data) the workloads use. `describeFailure` adds the broker's own output to a
 * start-up failure.
 */
async function managedBroker(label: string, port: number, spawnBroker: () => ChildProcess, describeFailure?: () => string): Promise<Broker> {
  const broker: Broker = { label, bootstrap: `127.0.0.1:${port}` };
  let child: ChildProcess;
  const start = async () => {
    const t0 = systemClock.now();
    child = spawnBroker();
    children.add(child);
    try {
      const ms = await firstProduce(port, t0, child);
      broker.pid = child.pid;
      return ms;
    } catch (err) {
      await stopChild(child);
      throw describeFailure ? new Error(`${(err as Error).message}\n${describeFailure()}`) : err;
    }
  };
  broker.coldStartMs = await start();
  broker.stop = async () => {
    await stopChild(child);
    children.delete(child);
  };
  broker.restart = async () => {
    await broker.stop!();
    return start();
  };
  return broker;
}

/** Formats and starts a single-node KRaft Apache Kafka with the shared settings. */
async function startKafka(install: KafkaInstall, dir: string, pki?: ServerPki): Promise<Broker> {
  const node: KafkaNode = {
    dir,
    port: await freeLoopbackPort(),
    controllerPort: await freeLoopbackPort(),
    settings: SHARED_SETTINGS,
    jmxPort: await freeLoopbackPort(),
    ssl: pki ? { port: await freeLoopbackPort(), keystore: pki.serverP12File, password: pki.p12Password } : undefined,
  };
  formatKafka(install, node);
  const broker = await managedBroker(
    'kafka',
    node.port,
    () => startKafkaProcess(install, node),
    () => kafkaOutput(node),
  );
  broker.requestCounts = () => Promise.resolve(kafkaRequestCounts(install, node.jmxPort!));
  if (node.ssl) broker.tlsBootstrap = `127.0.0.1:${node.ssl.port}`;
  return broker;
}

/**
 * A cluster's processes as one Broker: started together (a topic with replication factor 3 needs
 * all of them registered), cold start is the time to the first record acknowledged with acks=all,
 * CPU and RSS are summed over the nodes. Stopped one by one (controlled shutdowns), then `after`.
 */
async function managedCluster(label: string, ports: number[], spawnAll: () => ChildProcess[], describeFailure: () => string, after: () => Promise<void>): Promise<Broker> {
  const broker: Broker = { label, bootstrap: ports.map((p) => `127.0.0.1:${p}`).join(',') };
  const t0 = systemClock.now();
  const kids = spawnAll();
  for (const c of kids) children.add(c);
  broker.stop = async () => {
    for (const c of kids) {
      await stopChild(c, 30_000);
      children.delete(c);
    }
    await after();
  };
  try {
    broker.coldStartMs = await firstProduce(ports, t0, kids, 240_000);
  } catch (err) {
    await broker.stop();
    throw new Error(`${label} cluster: ${(err as Error).message}\n${describeFailure()}`);
  }
  broker.pids = kids.map((c) => c.pid!);
  broker.pid = broker.pids[0];
  return broker;
}

/**
 * Extra Node options for the Tributary brokers the harness starts, from TRIBUTARY_BENCH_NODE_ARGS
 * (space-separated), e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile them under the load.
 * Node refuses --cpu-prof in NODE_OPTIONS, and that would profile the harness too.
 */
function brokerNodeArgs(): string[] {
  return (process.env.TRIBUTARY_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
}

/** One throwaway etcd (Debian's etcd-server) and CLUSTER_SIZE Tributary processes of the build. */
async function startTributaryCluster(dir: string): Promise<Broker> {
  if (!findEtcd()) throw new Error("the cluster workload needs etcd: install Debian's etcd-server (apt-get install etcd-server) or set ETCD_BIN");
  const compiled = join(packageRoot, 'dist/cli/tributary.js');
  const entry = existsSync(compiled) ? [compiled] : ['--import', 'tsx', join(packageRoot, 'src/cli/tributary.ts')];
  const etcd = await startEtcd({ dataDir: dir });
  children.add(etcd.child);
  const ports: number[] = [];
  const httpPorts: number[] = [];
  for (let i = 0; i < CLUSTER_SIZE; i++) ports.push(await freeLoopbackPort());
  for (let i = 0; i < CLUSTER_SIZE; i++) httpPorts.push(await freeLoopbackPort());
  const errFile = (i: number) => join(dir, `broker${i + 1}.err`);
  const spawnAll = () =>
    ports.map((port, i) => {
      mkdirSync(join(dir, `broker${i + 1}`));
      const overrides = Object.entries({
        ...SHARED_SETTINGS,
        ...CLUSTER_SETTINGS,
        'node.id': String(i + 1),
        'etcd.endpoints': etcd.endpoint,
        'etcd.prefix': '/bench',
        listeners: `PLAINTEXT://127.0.0.1:${port}`,
        'http.listeners': `http://127.0.0.1:${httpPorts[i]}`,
        'log.dirs': join(dir, `broker${i + 1}`),
      }).flatMap(([k, v]) => ['--override', `${k}=${v}`]);
      const fd = openSync(errFile(i), 'w');
      const child = spawn(process.execPath, [...brokerNodeArgs(), ...entry, 'broker', ...overrides], { stdio: ['ignore', 'ignore', fd] });
      closeSync(fd);
      return child;
    });
  const broker = await managedCluster(
    'tributary',
    ports,
    spawnAll,
    () => ports.map((_, i) => `broker ${i + 1}: ${readFileSync(errFile(i), 'utf8').slice(-800)}`).join('\n'),
    async () => {
      await etcd.close();
      children.delete(etcd.child);
    },
  );
  broker.aux = { etcd: etcd.child.pid! };
  broker.requestCounts = async () => summed(await Promise.all(httpPorts.map((p) => tributaryRequestCounts(p).catch(() => undefined))));
  return broker;
}

/** CLUSTER_SIZE combined broker+controller KRaft nodes, one static quorum, one cluster id. */
async function startKafkaCluster(install: KafkaInstall, dir: string): Promise<Broker> {
  const clusterId = newClusterId();
  const nodes: KafkaNode[] = [];
  for (let i = 1; i <= CLUSTER_SIZE; i++) {
    nodes.push({
      dir: join(dir, `node${i}`),
      port: await freeLoopbackPort(),
      controllerPort: await freeLoopbackPort(),
      settings: { ...SHARED_SETTINGS, ...CLUSTER_SETTINGS },
      nodeId: i,
      clusterId,
      jmxPort: await freeLoopbackPort(),
    });
  }
  const voters = nodes.map((n) => `${n.nodeId}@127.0.0.1:${n.controllerPort}`).join(',');
  for (const n of nodes) {
    n.voters = voters;
    mkdirSync(n.dir);
    formatKafka(install, n);
  }
  const broker = await managedCluster(
    'kafka',
    nodes.map((n) => n.port),
    () => nodes.map((n) => startKafkaProcess(install, n)),
    () => nodes.map((n) => `node ${n.nodeId}: ${kafkaOutput(n)}`).join('\n'),
    () => Promise.resolve(),
  );
  broker.requestCounts = () => Promise.resolve(summed(nodes.map((n) => kafkaRequestCounts(install, n.jmxPort!))));
  return broker;
}

// ---- workloads --------------------------------------------------------------------------------

interface ProduceSpec {
  partitions: number;
  size: number;
  acks: '1' | 'all';
}

const specName = (s: ProduceSpec) => `${s.partitions}p ${s.size === 1024 ? '1KiB' : `${s.size}B`} acks=${s.acks}`;

interface Plan {
  quick: boolean;
  kafka?: KafkaInstall;
  only: Set<string>;
  /** Records per produce workload of 100 B (1 KiB runs use a quarter). */
  records: number;
  /** Where kcat's payload files go (removed with the bench's other files). */
  dir: string;
  /** The same for the cluster workload. */
  clusterRecords: number;
  latencyRecords: number;
  latencySeconds: number;
  specs: ProduceSpec[];
  /** The franz-go load generator's binary; unset, its workloads are skipped. */
  franzGo?: string;
  /** The CA and server key store of the brokers' SSL listeners; unset, no TLS workloads. */
  pki?: ServerPki;
}

/** Topics filled by the producer workloads of a round, read back by the consumer workloads. */
interface Filled {
  topic: string;
  partitions: number;
  size: number;
  records: number;
}

const clientProps = (acks: string) => [`acks=${acks}`, 'linger.ms=5', 'batch.size=131072', 'compression.type=none'];

/** ProducerPerformance lines end in "N records sent, X records/sec (Y MB/sec), A ms avg latency, ..." */
function parseProducerPerformance(out: string): { rps: number; mbps: number; avgMs: number; p99Ms: number } | undefined {
  const lines = out
    .trim()
    .split('\n')
    .filter((l) => l.includes('records sent'));
  const m = /records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency.*?([\d.]+) ms 99th/.exec(lines.pop() ?? '');
  return m ? { rps: Number(m[1]), mbps: Number(m[2]), avgMs: Number(m[3]), p99Ms: Number(m[4]) } : undefined;
}

/**
 * Kafka's ProducerPerformance into an existing topic; its metrics, or undefined if it failed.
 * With the Produce requests the broker answered: how the tool batched the records.
 */
async function producerPerformance(
  broker: Broker,
  kafka: KafkaInstall,
  topic: string,
  count: number,
  size: number,
  acks: string,
): Promise<Record<string, number> | undefined> {
  const before = await broker.requestCounts?.();
  const [cmd, args] = javaTool(kafka, 'org.apache.kafka.tools.ProducerPerformance', [
    '--topic',
    topic,
    '--num-records',
    String(count),
    '--record-size',
    String(size),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${broker.bootstrap}`,
    ...clientProps(acks),
  ]);
  let ok = false;
  const metrics = measured(broker, () => {
    const t = timed(cmd, args, { timeoutMs: 240_000 });
    const p = parseProducerPerformance(t.stdout);
    ok = !!p && t.status === 0;
    return { t, metrics: p ? { records_per_s: p.rps, mb_per_s: p.mbps, produce_latency_avg_ms: p.avgMs, produce_latency_p99_ms: p.p99Ms } : {} };
  });
  if (!ok) return undefined;
  const after = await broker.requestCounts?.();
  if (before && after) metrics.produce_requests = after.produce - before.produce;
  return metrics;
}

/** kcat (librdkafka) producing `count` records of `size` bytes; its metrics, or undefined if it failed. */
/** kcat -P of `count` records of `size` bytes; with `tlsCaFile`, to the broker's SSL listener. */
function kcatProduce(broker: Broker, plan: Plan, topic: string, count: number, size: number, acks: string, tlsCaFile?: string): Record<string, number> | undefined {
  const tls = tlsCaFile ? ['security.protocol=ssl', `ssl.ca.location=${tlsCaFile}`] : [];
  const bootstrap = tlsCaFile ? broker.tlsBootstrap! : broker.bootstrap;
  const props = [...clientProps(acks), 'queue.buffering.max.kbytes=262144', ...tls];
  const args = ['-b', bootstrap, '-P', '-t', topic, ...props.flatMap((p) => ['-X', p])];
  const inputFile = payloadFile(plan.dir, count, size);
  let status: number | null = null;
  const metrics = measured(broker, () => {
    const t = timed('kcat', args, { inputFile, timeoutMs: 240_000 });
    status = t.status;
    return { t, metrics: { records_per_s: count / t.wall, mb_per_s: (count * size) / t.wall / 1e6 } };
  });
  return status === 0 ? metrics : undefined;
}

async function produceRound(broker: Broker, plan: Plan, round: number, samples: Sample[], filled: Filled[]): Promise<void> {
  // ProducerPerformance: 4× the records (1.2 M of 100 B, 300,000 of 1 KiB; 1× in --quick). Runs
  // of 300,000 took under a second, mostly the JVM client's start and its JIT warming up, which
  // pulled both brokers' figures to the client's; 4× is 2-4 s per run.
  for (const spec of plan.specs) {
    const count = (plan.quick ? 1 : 4) * (spec.size >= 1024 ? Math.floor(plan.records / 4) : plan.records);
    const topic = `bench-p${spec.partitions}-${spec.size}-${spec.acks}-r${round}-${systemClock.now()}`;
    await createTopic(broker.bootstrap, topic, spec.partitions);
    if (plan.kafka) {
      const metrics = await producerPerformance(broker, plan.kafka, topic, count, spec.size, spec.acks);
      // The consumers read 100 B topics back; the 1 KiB ones (0.3 GB each) go.
      if (spec.size >= 1024) await deleteTopic(broker.bootstrap, topic);
      if (metrics) {
        samples.push({ workload: `produce ${specName(spec)} (ProducerPerformance)`, target: broker.label, round, metrics });
        if (spec.size < 1024) filled.push({ topic, partitions: spec.partitions, size: spec.size, records: count });
        progress(
          `  ${broker.label} r${round} produce ${specName(spec)}: ${Math.round(metrics.records_per_s!)} rec/s, broker CPU ${metrics.broker_cpu_s!.toFixed(2)} s, client CPU ${metrics.client_cpu_s!.toFixed(2)} s`,
        );
      }
    }
  }
  // librdkafka (kcat): the same specs, 10× the records. At 0.3-2 M records/s the 300,000 of the
  // JVM tool's runs took 0.15-0.3 s, kcat's own start and metadata a good part of it.
  for (const spec of plan.specs) {
    const topic = `bench-kcat-p${spec.partitions}-${spec.size}-${spec.acks}-r${round}-${systemClock.now()}`;
    await createTopic(broker.bootstrap, topic, spec.partitions);
    const count = (plan.quick ? 1 : 10) * (spec.size >= 1024 ? Math.floor(plan.records / 4) : plan.records);
    const metrics = kcatProduce(broker, plan, topic, count, spec.size, spec.acks);
    // With Kafka's perf tools, the consumers read ProducerPerformance's topics, not these.
    if (plan.kafka) await deleteTopic(broker.bootstrap, topic);
    if (!metrics) continue;
    samples.push({ workload: `produce ${specName(spec)} (kcat)`, target: broker.label, round, metrics });
    if (!plan.kafka) filled.push({ topic, partitions: spec.partitions, size: spec.size, records: count });
    progress(`  ${broker.label} r${round} kcat produce ${specName(spec)}: ${Math.round(metrics.records_per_s!)} rec/s`);
  }
  if (!plan.franzGo) return;
  // franz-go: the same specs with more records, its runs being that much shorter: 12× (4× in
  // --quick). At 2-4 M records/s, 4× of 100 B (1.2 M) was read back in ~0.3 s, mostly the
  // client's start and first fetches, and one round's spread was wider than the ratios.
  for (const spec of plan.specs) {
    const topic = `bench-franz-p${spec.partitions}-${spec.size}-${spec.acks}-r${round}-${systemClock.now()}`;
    await createTopic(broker.bootstrap, topic, spec.partitions);
    const count = (plan.quick ? 4 : 12) * (spec.size >= 1024 ? Math.floor(plan.records / 4) : plan.records);
    const metrics = franzGoRun(broker, plan.franzGo, topic, { mode: 'produce', records: count, size: spec.size, acks: spec.acks }, spec.size);
    // franz-go's consumer reads the 100 B topics back; the 1 KiB ones (0.9 GB each) go.
    if (spec.size >= 1024) await deleteTopic(broker.bootstrap, topic);
    if (!metrics) continue;
    samples.push({ workload: `produce ${specName(spec)} (franz-go)`, target: broker.label, round, metrics });
    filled.push({ topic, partitions: spec.partitions, size: spec.size, records: count });
    progress(`  ${broker.label} r${round} franz-go produce ${specName(spec)}: ${Math.round(metrics.records_per_s!)} rec/s`);
  }
}

/**
 * One franz-go run; records/s over the client's own clock (from its first record to the last ack
 * or record). With `tlsCaFile`, over the broker's SSL listener.
 */
function franzGoRun(
  broker: Broker,
  binary: string,
  topic: string,
  run: Parameters<typeof franzGoArgs>[2],
  size: number,
  tlsCaFile?: string,
): Record<string, number> | undefined {
  let ok = false;
  const bootstrap = tlsCaFile ? broker.tlsBootstrap! : broker.bootstrap;
  const metrics = measured(broker, () => {
    const t = timed(binary, franzGoArgs(bootstrap, topic, run, tlsCaFile), { timeoutMs: 240_000 });
    const r = parseFranzGo(t.stdout);
    ok = !!r && t.status === 0;
    return { t, metrics: r ? { records_per_s: r.records / r.seconds, mb_per_s: (r.records * size) / r.seconds / 1e6, records: r.records } : {} };
  });
  return ok ? metrics : undefined;
}

/** ConsumerPerformance prints a CSV line: start, end, MB, MB/s, records, records/s, rebalance ms, fetch ms, fetch MB/s, fetch records/s. */
function parseConsumerPerformance(out: string) {
  const line = out
    .trim()
    .split('\n')
    .filter((l) => /^\d{4}-/.test(l))
    .pop();
  if (!line) return undefined;
  const f = line.split(',').map((s) => s.trim());
  return { mb: Number(f[2]), records: Number(f[4]), rebalanceMs: Number(f[6]), fetchMs: Number(f[7]), fetchMbps: Number(f[8]), fetchRps: Number(f[9]) };
}

function consumeRound(broker: Broker, plan: Plan, round: number, samples: Sample[], filled: Filled[]): void {
  // Per partition count, the 100 B topic with the most records (franz-go's 12×, where Go is
  // there): every consumer reads the same records, for seconds rather than the ~0.4 s that
  // 300,000 took, which was mostly the clients' start and first fetches.
  const largest = new Map<number, Filled>();
  for (const f of filled) if (f.size === 100 && f.records >= (largest.get(f.partitions)?.records ?? 0)) largest.set(f.partitions, f);
  const sources = [...largest.values()];
  for (const src of sources) {
    if (plan.kafka) {
      const [cmd, args] = javaTool(plan.kafka, 'org.apache.kafka.tools.ConsumerPerformance', [
        '--bootstrap-server',
        broker.bootstrap,
        '--topic',
        src.topic,
        '--messages',
        String(src.records),
        '--timeout',
        '60000',
        '--group',
        `bench-${systemClock.now()}`,
      ]);
      let got = 0;
      const metrics = measured(broker, () => {
        const t = timed(cmd, args, { timeoutMs: 180_000 });
        const p = parseConsumerPerformance(t.stdout);
        got = p?.records ?? 0;
        return { t, metrics: p ? { records_per_s: p.fetchRps, mb_per_s: p.fetchMbps, group_join_ms: p.rebalanceMs, records: p.records } : {} };
      });
      if (got > 0) {
        samples.push({ workload: `consume ${src.partitions}p 100B (ConsumerPerformance)`, target: broker.label, round, metrics });
        progress(`  ${broker.label} r${round} consume ${src.partitions}p: ${Math.round(metrics.records_per_s!)} rec/s (${got})`);
      }
    }
    if (src.partitions !== 1 && plan.kafka) continue;
    const metrics = measured(broker, () => {
      const t = timed(
        'kcat',
        ['-b', broker.bootstrap, '-C', '-t', src.topic, '-o', 'beginning', '-e', '-q', '-f', '%o\n', '-X', 'fetch.min.bytes=1', '-X', 'fetch.wait.max.ms=500'],
        { timeoutMs: 240_000 },
      );
      const got = t.stdout.split('\n').filter(Boolean).length;
      return { t, metrics: { records_per_s: got / t.wall, mb_per_s: (got * src.size) / t.wall / 1e6, records: got } };
    });
    samples.push({ workload: `consume ${src.partitions}p 100B (kcat)`, target: broker.label, round, metrics });
    progress(`  ${broker.label} r${round} kcat consume ${src.partitions}p: ${Math.round(metrics.records_per_s!)} rec/s (${metrics.records})`);
  }
  if (!plan.franzGo) return;
  for (const src of sources) {
    const metrics = franzGoRun(broker, plan.franzGo, src.topic, { mode: 'consume', records: src.records }, src.size);
    if (!metrics) continue;
    samples.push({ workload: `consume ${src.partitions}p 100B (franz-go)`, target: broker.label, round, metrics });
    progress(`  ${broker.label} r${round} franz-go consume ${src.partitions}p: ${Math.round(metrics.records_per_s!)} rec/s`);
  }
}

/**
 * TLS: each broker's SSL listener (the bench's throwaway CA; a 2048-bit RSA server key; TLS 1.3,
 * which every client here negotiates), the produce settings above. franz-go produces 6 partitions
 * of 1 KiB and reads them back, kcat produces them. Both brokers encrypt every byte in user
 * space: over TLS Kafka's consumers lose sendfile too.
 */
async function tlsRound(broker: Broker, plan: Plan, round: number, samples: Sample[]): Promise<void> {
  if (!plan.pki || !broker.tlsBootstrap) return;
  const caFile = plan.pki.caFile;
  const spec: ProduceSpec = { partitions: 6, size: 1024, acks: '1' };
  const records = Math.floor(plan.records / 4);
  if (plan.franzGo) {
    const topic = `bench-tls-franz-r${round}-${systemClock.now()}`;
    await createTopic(broker.bootstrap, topic, spec.partitions);
    const count = (plan.quick ? 4 : 12) * records;
    const produced = franzGoRun(broker, plan.franzGo, topic, { mode: 'produce', records: count, size: spec.size, acks: spec.acks }, spec.size, caFile);
    if (produced) {
      samples.push({ workload: `tls produce ${specName(spec)} (franz-go)`, target: broker.label, round, metrics: produced });
      progress(`  ${broker.label} r${round} TLS franz-go produce ${specName(spec)}: ${Math.round(produced.records_per_s!)} rec/s`);
      const consumed = franzGoRun(broker, plan.franzGo, topic, { mode: 'consume', records: count }, spec.size, caFile);
      if (consumed) {
        samples.push({ workload: `tls consume ${spec.partitions}p 1KiB (franz-go)`, target: broker.label, round, metrics: consumed });
        progress(`  ${broker.label} r${round} TLS franz-go consume: ${Math.round(consumed.records_per_s!)} rec/s`);
      }
    }
    await deleteTopic(broker.bootstrap, topic);
  }
  const topic = `bench-tls-kcat-r${round}-${systemClock.now()}`;
  await createTopic(broker.bootstrap, topic, spec.partitions);
  const metrics = kcatProduce(broker, plan, topic, (plan.quick ? 1 : 10) * records, spec.size, spec.acks, caFile);
  await deleteTopic(broker.bootstrap, topic);
  if (!metrics) return;
  samples.push({ workload: `tls produce ${specName(spec)} (kcat)`, target: broker.label, round, metrics });
  progress(`  ${broker.label} r${round} TLS kcat produce ${specName(spec)}: ${Math.round(metrics.records_per_s!)} rec/s`);
}

/** The TLS workloads' CA and server key store, under the bench's directory; undefined without openssl. */
function benchPki(root: string): ServerPki | undefined {
  const dir = join(root, 'pki');
  mkdirSync(dir);
  try {
    return makeServerPki(dir);
  } catch (err) {
    progress(`TLS workloads skipped: no certificates (openssl: ${(err as Error).message.split('\n')[0]})`);
    return undefined;
  }
}

/** Which --only group a workload's samples belong to. */
function workloadGroup(workload: string): string {
  for (const group of ['tls', 'consume', 'produce']) if (workload.startsWith(`${group} `)) return group;
  return 'latency';
}

/**
 * EndToEndLatency prints "Avg latency: X ms" and "Percentiles: 50th = a, 99th = b, 99.9th = c"
 * (whole ms). The brokers' request counts around it say how many fetches each round trip took.
 */
async function endToEndLatency(broker: Broker, kafka: KafkaInstall, topic: string, records: number, acks: string): Promise<Record<string, number> | undefined> {
  const before = await broker.requestCounts?.();
  const [cmd, args] = javaTool(kafka, 'org.apache.kafka.tools.EndToEndLatency', [
    '--bootstrap-server',
    broker.bootstrap,
    '--topic',
    topic,
    '--num-records',
    String(records),
    '--producer-acks',
    acks,
    '--record-size',
    '100',
  ]);
  let ok = false;
  const metrics = measured(broker, () => {
    const t = timed(cmd, args, { timeoutMs: 180_000 });
    const avg = /Avg latency: ([\d.]+) ms/.exec(t.stdout);
    const pct = /50th = (\d+), 99th = (\d+), 99.9th = (\d+)/.exec(t.stdout);
    ok = !!avg;
    return { t, metrics: avg ? { avg_ms: Number(avg[1]), p50_ms: Number(pct?.[1]), p99_ms: Number(pct?.[2]), p999_ms: Number(pct?.[3]) } : {} };
  });
  if (!ok) return undefined;
  const after = await broker.requestCounts?.();
  if (before && after) Object.assign(metrics, requestsPerRound(before, after, records));
  return metrics;
}

async function latencyRound(broker: Broker, plan: Plan, round: number, samples: Sample[]): Promise<void> {
  if (plan.kafka) {
    const topic = `bench-e2e-r${round}-${systemClock.now()}`;
    await createTopic(broker.bootstrap, topic, 1);
    const metrics = await endToEndLatency(broker, plan.kafka, topic, plan.latencyRecords, '1');
    if (metrics) {
      samples.push({ workload: `e2e latency, 1 in flight, 100 B (EndToEndLatency)`, target: broker.label, round, metrics });
      progress(`  ${broker.label} r${round} EndToEndLatency avg ${metrics.avg_ms!.toFixed(3)} ms`);
    }
  }
  // The same path with a thin client: raw requests from this process (src/bench/raw-latency.ts).
  const rawTopic = `bench-raw-e2e-r${round}-${systemClock.now()}`;
  await createTopic(broker.bootstrap, rawTopic, 1);
  const finish = cpuMeter(broker);
  const t0 = systemClock.monotonicMs();
  const { client_cpu_s: cpu, ...raw } = await rawProduceToFetchLatency(broker.bootstrap, rawTopic, plan.latencyRecords, 60_000);
  const wall = (systemClock.monotonicMs() - t0) / 1e3;
  samples.push({ workload: 'e2e latency, produce → parked fetch, 100 B (raw requests)', target: broker.label, round, metrics: finish({ wall, cpu }, raw) });
  progress(`  ${broker.label} r${round} raw produce → fetch p50 ${raw.p50_ms.toFixed(3)} ms, p99 ${raw.p99_ms.toFixed(3)} ms`);

  const topic = `bench-latency-r${round}-${systemClock.now()}`;
  await createTopic(broker.bootstrap, topic, 1);
  let parsed: Record<string, number> | undefined;
  const metrics = measured(broker, () => {
    const t = timed('/usr/bin/python3', [join(packageRoot, 'src/bench/latency.py'), broker.bootstrap, topic, '1000', String(plan.latencySeconds)], {
      timeoutMs: (plan.latencySeconds + 60) * 1000,
    });
    try {
      parsed = JSON.parse(t.stdout.trim().split('\n').pop()!) as Record<string, number>;
    } catch {
      parsed = undefined;
    }
    return { t, metrics: parsed ?? {} };
  });
  if (parsed) {
    samples.push({ workload: 'e2e latency 1000/s (librdkafka)', target: broker.label, round, metrics });
    progress(`  ${broker.label} r${round} librdkafka latency p50 ${metrics.p50_ms!.toFixed(2)} ms, p99 ${metrics.p99_ms!.toFixed(2)} ms`);
  }
}

const clusterName = `${CLUSTER_SIZE} brokers RF=3`;

/**
 * The cluster workload: acks=all into topics with replication factor 3 and min.insync.replicas=2
 * over CLUSTER_PARTITIONS partitions (leaders spread over the nodes), then EndToEndLatency with
 * acks=all on one such partition.
 */
async function clusterRound(broker: Broker, plan: Plan, round: number, samples: Sample[]): Promise<void> {
  const configs = { 'min.insync.replicas': CLUSTER_SETTINGS['min.insync.replicas']! };
  for (const size of plan.quick ? [100] : [100, 1024]) {
    const count = size >= 1024 ? Math.floor(plan.clusterRecords / 4) : plan.clusterRecords;
    const spec = specName({ partitions: CLUSTER_PARTITIONS, size, acks: 'all' });
    if (plan.kafka) {
      const topic = `bench-cluster-${size}-r${round}-${systemClock.now()}`;
      await createTopic(broker.bootstrap, topic, CLUSTER_PARTITIONS, 3, configs);
      const metrics = await producerPerformance(broker, plan.kafka, topic, count, size, 'all');
      if (metrics) {
        samples.push({ workload: `${clusterName}: produce ${spec} (ProducerPerformance)`, target: broker.label, round, metrics });
        progress(
          `  ${broker.label} r${round} ${clusterName} produce ${spec}: ${Math.round(metrics.records_per_s!)} rec/s, broker CPU ${metrics.broker_cpu_s!.toFixed(2)} s, client CPU ${metrics.client_cpu_s!.toFixed(2)} s`,
        );
      }
    }
    const topic = `bench-cluster-kcat-${size}-r${round}-${systemClock.now()}`;
    await createTopic(broker.bootstrap, topic, CLUSTER_PARTITIONS, 3, configs);
    const metrics = kcatProduce(broker, plan, topic, count, size, 'all');
    if (metrics) {
      samples.push({ workload: `${clusterName}: produce ${spec} (kcat)`, target: broker.label, round, metrics });
      progress(
        `  ${broker.label} r${round} ${clusterName} kcat produce ${spec}: ${Math.round(metrics.records_per_s!)} rec/s, broker CPU ${metrics.broker_cpu_s!.toFixed(2)} s`,
      );
    }
  }
  if (plan.kafka) {
    const topic = `bench-cluster-e2e-r${round}-${systemClock.now()}`;
    await createTopic(broker.bootstrap, topic, 1, 3, configs);
    const metrics = await endToEndLatency(broker, plan.kafka, topic, plan.latencyRecords, 'all');
    if (metrics) {
      samples.push({ workload: `${clusterName}: e2e latency acks=all, 1 in flight, 100 B (EndToEndLatency)`, target: broker.label, round, metrics });
      progress(`  ${broker.label} r${round} ${clusterName} EndToEndLatency acks=all avg ${metrics.avg_ms!.toFixed(3)} ms`);
    }
  }
}

/** Starts both clusters, alternates clusterRound on them (round 0 dropped), adds their footprints. */
async function clusterPhase(plan: Plan, rounds: number, root: string, clusters: Broker[], samples: Sample[]): Promise<void> {
  progress(`starting ${CLUSTER_SIZE} Tributary brokers and etcd`);
  mkdirSync(join(root, 'tributary-cluster'));
  clusters.push(await startTributaryCluster(join(root, 'tributary-cluster')));
  if (plan.kafka) {
    progress(`formatting and starting ${CLUSTER_SIZE} Apache Kafka ${plan.kafka.version} nodes (KRaft, ${KAFKA_HEAP} heap each)`);
    mkdirSync(join(root, 'kafka-cluster'));
    clusters.push(await startKafkaCluster(plan.kafka, join(root, 'kafka-cluster')));
  }
  await sleep(IDLE_SETTLE_MS);
  for (const c of clusters) {
    const metrics: Record<string, number> = { cold_start_to_first_produce_ms: c.coldStartMs!, idle_rss_mib: sumRss(c) };
    if (c.aux?.etcd) metrics.etcd_rss_mib = rssMiB(c.aux.etcd);
    samples.push({ workload: `${clusterName}: footprint`, target: c.label, round: 1, metrics });
    progress(`${c.label} cluster: cold start ${c.coldStartMs} ms, idle RSS ${metrics.idle_rss_mib!.toFixed(0)} MiB over ${CLUSTER_SIZE} nodes`);
  }
  for (let round = 0; round <= rounds; round++) {
    for (const c of clusters) {
      progress(`${clusterName} ${round === 0 ? 'warm-up' : `round ${round}/${rounds}`}: ${c.label}`);
      const got: Sample[] = [];
      await clusterRound(c, plan, round, got);
      if (round > 0) samples.push(...got);
    }
  }
  for (const c of clusters) samples.find((s) => s.workload === `${clusterName}: footprint` && s.target === c.label)!.metrics.rss_after_load_mib = sumRss(c);
}

async function manyPartitions(broker: Broker, plan: Plan, samples: Sample[]): Promise<void> {
  const partitions = plan.quick ? 500 : 10_000;
  const topic = `bench-many-${systemClock.now()}`;
  progress(`${broker.label}: create a topic with ${partitions} partitions`);
  const cpu0 = cpuSeconds(broker.pid);
  // Apache Kafka's controller refuses more than 10,000 records in one operation (a topic record
  // plus 10,000 partition records is one too many), so every broker gets the same two requests:
  // CreateTopics with half the partitions, then CreatePartitions up to the full count.
  let createMs: number;
  try {
    createMs = await createTopic(broker.bootstrap, topic, partitions / 2);
    const admin = new Admin({ bootstrap: broker.bootstrap, clientId: 'bench', requestTimeoutMs: 300_000 });
    const t0 = systemClock.now();
    try {
      await admin.createPartitions(topic, partitions, { timeoutMs: 280_000 });
    } finally {
      await admin.close();
    }
    createMs += systemClock.now() - t0;
  } catch (err) {
    progress(`  ${broker.label}: creating ${partitions} partitions failed: ${(err as Error).message}`);
    return;
  }
  const createCpu = cpuSeconds(broker.pid) - cpu0;
  const count = plan.quick ? 50_000 : 200_000;
  const metrics = measured(broker, () => {
    const t = timed('kcat', ['-b', broker.bootstrap, '-P', '-t', topic, ...clientProps('1').flatMap((p) => ['-X', p])], {
      input: payloadLines(count, 100),
      timeoutMs: 300_000,
    });
    return { t, metrics: { records_per_s: count / t.wall } };
  });
  const m: Record<string, number> = { create_ms: createMs, create_broker_cpu_s: createCpu, ...metrics };
  if (broker.pid) m.rss_mib = rssMiB(broker.pid);
  samples.push({
    workload: `${partitions} partitions: create (${partitions / 2} + ${partitions / 2}), produce 100 B over them (kcat)`,
    target: broker.label,
    round: 1,
    metrics: m,
  });
  progress(`  created in ${createMs} ms; produce ${Math.round(m.records_per_s!)} rec/s${m.rss_mib ? `, RSS ${m.rss_mib.toFixed(0)} MiB` : ''}`);
}

// ---- report -----------------------------------------------------------------------------------

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

const fmt = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? '–' : Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);

interface Row {
  workload: string;
  metric: string;
  values: (number | undefined)[];
  ratio?: { median: number; min: number; max: number; n: number };
}

function summarize(samples: Sample[], labels: string[]): Row[] {
  const rows: Row[] = [];
  const workloads = [...new Set(samples.map((s) => s.workload))];
  for (const w of workloads) {
    const metrics = [...new Set(samples.filter((s) => s.workload === w).flatMap((s) => Object.keys(s.metrics)))];
    for (const metric of metrics) {
      const of = (label: string) => samples.filter((s) => s.workload === w && s.target === label && Number.isFinite(s.metrics[metric]));
      const values = labels.map((l) => {
        const xs = of(l).map((s) => s.metrics[metric]!);
        return xs.length ? median(xs) : undefined;
      });
      const row: Row = { workload: w, metric, values };
      if (labels.length > 1) {
        // Paired by round: each round's A over the same round's B.
        const a = of(labels[0]!);
        const ratios = a.flatMap((sa) => {
          const sb = of(labels[1]!).find((x) => x.round === sa.round);
          return sb && sb.metrics[metric] ? [sa.metrics[metric]! / sb.metrics[metric]] : [];
        });
        if (ratios.length) row.ratio = { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), n: ratios.length };
      }
      rows.push(row);
    }
  }
  return rows;
}

function markdown(rows: Row[], labels: string[]): string {
  const two = labels.length > 1;
  const head = `| workload | metric | ${labels.join(' | ')}${two ? ` | ${labels[0]} ÷ ${labels[1]} | spread (min–max, n) |` : ' |'}`;
  const lines = [head, `|${' --- |'.repeat(2 + labels.length + (two ? 2 : 0))}`];
  for (const r of rows) {
    const ratio = two ? (r.ratio ? ` | ${r.ratio.median.toFixed(2)}× | ${r.ratio.min.toFixed(2)}–${r.ratio.max.toFixed(2)} (${r.ratio.n}) |` : ' | – | – |') : ' |';
    lines.push(`| ${r.workload} | ${r.metric} | ${r.values.map(fmt).join(' | ')}${ratio}`);
  }
  return lines.join('\n');
}

// ---- entry ------------------------------------------------------------------------------------

export interface BenchOptions {
  quick?: boolean;
  against?: string;
  kafkaVersion?: string;
  rounds?: string;
  resolveOnly?: boolean;
  bootstrap: string[];
  label: string[];
  only: string;
  out: string;
}

/** Declares the harness's options on a command (`npm run bench` and `tributary perf` share them). */
export function defineBenchOptions(cmd: Command): Command {
  const collect = (v: string, prev: string[]) => [...prev, v];
  return cmd
    .description('Throughput, latency and footprint workloads against Tributary and, side by side, Apache Kafka or other brokers')
    .option('--quick', 'short runs (about 3 minutes with --against kafka)')
    .option('--against <broker>', 'also start this broker and alternate runs with it: kafka (resolved from Maven Central)')
    .option('--kafka-version <version>', 'Apache Kafka version for --against kafka (default: the newest 4.x that resolves)')
    .option('--resolve-only', 'with --against kafka: resolve Apache Kafka into the cache, then exit')
    .option('--rounds <n>', 'measured rounds per broker after the warm-up round (default 2)')
    .option('--bootstrap <host:port>', 'another running broker to run the same workloads against (repeatable)', collect, [])
    .option('--label <name>', 'label for each --bootstrap, in order (repeatable)', collect, [])
    .option(
      '--only <workloads>',
      'comma list of: produce,consume,latency,tls,footprint,many,cluster (3 brokers RF=3 acks=all)',
      'produce,consume,latency,tls,footprint,many,cluster',
    )
    .option('--out <dir>', 'where results go', join(process.cwd(), 'bench/results'));
}

export async function runBench(opts: BenchOptions): Promise<void> {
  const quick = !!opts.quick;
  const only = new Set(opts.only.split(','));
  if (opts.against && opts.against !== 'kafka') throw new Error(`--against ${opts.against}: only "kafka" is known`);
  const rounds = Number(opts.rounds ?? 2);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');

  let kafka: KafkaInstall | undefined;
  if (opts.against === 'kafka') {
    kafka = resolveKafka(opts.kafkaVersion, progress);
    progress(`Apache Kafka ${kafka.version} resolved`);
  }
  // Go is optional: without it (or the Go module proxy) the franz-go workloads are skipped.
  const franzGo = only.has('produce') || only.has('consume') || only.has('tls') ? buildFranzGoLoadGen(packageRoot, progress) : undefined;
  if (opts.resolveOnly) return;
  const fullMatrix: ProduceSpec[] = [];
  for (const partitions of [1, 6]) for (const size of [100, 1024]) for (const acks of ['1', 'all'] as const) fullMatrix.push({ partitions, size, acks });
  const root = mkdtempSync(join(tmpdir(), 'tributary-bench-'));
  const pki = only.has('tls') ? benchPki(root) : undefined;
  const plan: Plan = {
    pki,
    quick,
    kafka,
    franzGo,
    only,
    records: quick ? 100_000 : 300_000,
    dir: root,
    clusterRecords: quick ? 50_000 : 300_000,
    latencyRecords: quick ? 1000 : 2000,
    latencySeconds: quick ? 3 : 5,
    specs: quick
      ? [
          { partitions: 1, size: 100, acks: '1' },
          { partitions: 6, size: 1024, acks: 'all' },
        ]
      : fullMatrix,
  };

  // Brokers and JVMs never outlive the harness, also on Ctrl-C or a crash.
  process.once('exit', killChildren);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killChildren();
      process.exit(130);
    });
  }
  const brokers: Broker[] = [];
  const clusters: Broker[] = [];
  const samples: Sample[] = [];
  const t0 = systemClock.now();
  const load0 = loadavg()[0]!;
  // `--only cluster` starts no single-node broker at all.
  const single = [...only].some((w) => w !== 'cluster');
  try {
    if (single) {
      progress('starting Tributary');
      mkdirSync(join(root, 'tributary'));
      brokers.push(await startTributary(join(root, 'tributary'), pki));
      if (kafka) {
        progress(`formatting and starting Apache Kafka ${kafka.version} (KRaft, 1 GiB heap)`);
        mkdirSync(join(root, 'kafka'));
        brokers.push(await startKafka(kafka, join(root, 'kafka'), pki));
      }
      opts.bootstrap.forEach((b, i) => brokers.push({ label: opts.label[i] ?? `broker${i + 1}`, bootstrap: b }));
      await sleep(only.has('footprint') ? IDLE_SETTLE_MS : 2000);
    }
    const labels = single ? brokers.map((b) => b.label) : kafka ? ['tributary', 'kafka'] : ['tributary'];
    for (const b of brokers) {
      if (!b.pid) continue;
      samples.push({
        workload: 'footprint',
        target: b.label,
        round: 1,
        metrics: { cold_start_to_first_produce_ms: b.coldStartMs!, idle_rss_mib: rssMiB(b.pid), idle_cpu_s_since_start: cpuSeconds(b.pid) },
      });
      progress(`${b.label}: cold start ${b.coldStartMs} ms, idle RSS ${rssMiB(b.pid).toFixed(0)} MiB`);
    }

    // A failing workload still leaves the figures gathered so far in the report.
    let failure: Error | undefined;
    try {
      // Round 0 warms up (JIT, page cache, both JVMs) and is dropped; then A B A B.
      for (let round = 0; round <= rounds; round++) {
        for (const b of brokers) {
          progress(`${round === 0 ? 'warm-up' : `round ${round}/${rounds}`}: ${b.label}`);
          const got: Sample[] = [];
          const filled: Filled[] = [];
          if (only.has('produce') || only.has('consume')) await produceRound(b, plan, round, got, filled);
          if (only.has('consume')) consumeRound(b, plan, round, got, filled);
          if (only.has('latency')) await latencyRound(b, plan, round, got);
          if (only.has('tls')) await tlsRound(b, plan, round, got);
          if (round > 0) samples.push(...got.filter((s) => only.has(workloadGroup(s.workload))));
        }
      }

      if (only.has('footprint')) {
        for (const b of brokers) {
          if (!b.pid) continue;
          const fp = samples.find((s) => s.workload === 'footprint' && s.target === b.label)!;
          fp.metrics.rss_after_load_mib = rssMiB(b.pid);
          progress(`${b.label}: restart on its data`);
          fp.metrics.restart_to_first_produce_ms = await b.restart!();
        }
      }
      if (only.has('many')) for (const b of brokers) await manyPartitions(b, plan, samples);
      if (only.has('cluster')) {
        // The single-node brokers are done: out of the way of the clusters.
        for (const b of brokers) await b.stop?.();
        await clusterPhase(plan, rounds, root, clusters, samples);
      }
    } catch (err) {
      failure = err as Error;
      progress(`stopped early: ${failure.message}`);
    }

    const rows = summarize(samples, labels);
    const table = markdown(rows, labels);
    const settings = Object.entries(SHARED_SETTINGS)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    mkdirSync(opts.out, { recursive: true });
    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadavgAtStart: load0,
      loadavgAtEnd: loadavg()[0],
    };
    const clusterSettings = Object.entries(CLUSTER_SETTINGS)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    const kcatV = spawnSync('kcat', ['-V'], { encoding: 'utf8' });
    const kcat = `kcat ${/Version ([^\s]+)/.exec(kcatV.stdout + kcatV.stderr)?.[1] ?? '?'} / librdkafka ${/librdkafka (\d[^\s]*)/.exec(kcatV.stdout + kcatV.stderr)?.[1] ?? '?'}`;
    const java = (spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0] ?? '').trim();
    const doc = {
      date: new Date().toISOString(),
      quick,
      rounds,
      minutes: (systemClock.now() - t0) / 60_000,
      machine,
      versions: { kafka: kafka?.version, java: kafka ? java : undefined, kcat },
      settings: SHARED_SETTINGS,
      clusterSettings: only.has('cluster') ? CLUSTER_SETTINGS : undefined,
      clientSettings: clientProps('<acks>').join(', '),
      brokers: brokers.map(({ label, bootstrap }) => ({ label, bootstrap })),
      rows,
      samples,
    };
    const jsonPath = join(opts.out, `${stamp}.json`);
    writeFileSync(jsonPath, JSON.stringify(doc, null, 2));
    const header = [
      `# Benchmark ${doc.date}${quick ? ' (quick)' : ''}`,
      '',
      `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}; load average ${load0.toFixed(1)} at the start, ${machine.loadavgAtEnd!.toFixed(1)} at the end; ${doc.minutes.toFixed(1)} min.`,
      kafka ? `Apache Kafka ${kafka.version} (${java}), perf tools from kafka-tools ${kafka.version}; ${kcat}.` : `${kcat}.`,
      `Broker settings on every broker started here: ${settings}.`,
      ...(only.has('cluster')
        ? [
            `${clusterName}: ${CLUSTER_SIZE} nodes on 127.0.0.1 per cluster (Tributary: ${CLUSTER_SIZE} brokers and one etcd; Kafka: ${CLUSTER_SIZE} combined broker+controller KRaft nodes, ${KAFKA_HEAP} heap each), started after the single-node brokers stopped; on top of those settings: ${clusterSettings}; topics of ${CLUSTER_PARTITIONS} partitions (1 for latency) with replication factor 3 and min.insync.replicas=2. Broker CPU and RSS are summed over the nodes (nodeN_cpu_s each; etcd_cpu_s is Tributary's etcd, not in broker_cpu_s).`,
          ]
        : []),
      ...(pki
        ? ['TLS workloads: each broker also listens with SSL (PKCS12 key store of a throwaway CA, 2048-bit RSA server key); the clients trust that CA and negotiate TLS 1.3.']
        : []),
      `Client settings: ${doc.clientSettings}. ${rounds} measured round(s) per broker after a discarded warm-up, alternating; values are medians, ratios are per-round pairs.`,
      '',
    ].join('\n');
    writeFileSync(join(opts.out, `${stamp}.md`), `${header}\n${table}\n`);
    process.stdout.write(`${header}\n${table}\n\nresults: ${jsonPath}\n`);
    if (failure) throw failure;
  } finally {
    for (const b of [...brokers, ...clusters]) await b.stop?.();
    rmSync(root, { recursive: true, force: true });
  }
}
