// Benchmark harness: the same workloads against a Tributary it starts itself and, with
// --bootstrap, against other Kafka-compatible brokers already running, printed side by side.
//
// The load generator is kcat (librdkafka, native C): one client, one set of settings for every
// broker under test. Its own CPU time is reported so a reader can tell when the client, not the
// broker, was the limit. Every workload is bounded in records and seconds; loopback only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { Admin } from '../client/admin.js';

// src/bench or dist/bench: the package root is two levels up either way.
const packageRoot = resolve(import.meta.dirname, '..', '..');

interface Target {
  label: string;
  bootstrap: string;
  /** Set for the broker this harness started (RSS and start-up are measured only there). */
  pid?: number;
}

interface Result {
  workload: string;
  target: string;
  metrics: Record<string, number>;
}

const progress = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** Runs a command under /usr/bin/time and returns wall and CPU seconds. */
function timed(cmd: string, args: string[], opts: { input?: Buffer; timeoutMs: number }): { wall: number; cpu: number; stdout: string; status: number | null } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '__TIME__ %U %S', cmd, ...args], {
    input: opts.input,
    timeout: opts.timeoutMs,
    maxBuffer: 1024 * 1024 * 1024,
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /__TIME__ ([\d.]+) ([\d.]+)/.exec(r.stderr?.toString() ?? '');
  const cpu = m ? Number(m[1]) + Number(m[2]) : NaN;
  if (r.status !== 0) progress(`${cmd} exited ${r.status}: ${(r.stderr?.toString() ?? '').slice(-400)}`);
  return { wall, cpu, stdout: r.stdout?.toString() ?? '', status: r.status };
}

function payloadLines(count: number, size: number): Buffer {
  const line = Buffer.alloc(size + 1, 'x');
  line[size] = 0x0a;
  const out = Buffer.allocUnsafe(count * (size + 1));
  for (let i = 0; i < count; i++) line.copy(out, i * (size + 1));
  return out;
}

/** Creates a topic through our own admin client (kcat cannot) and returns how long it took. */
async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<number> {
  const admin = new Admin({ bootstrap, clientId: 'bench', requestTimeoutMs: 180_000 });
  const t0 = Date.now();
  try {
    await admin.createTopics([{ name: topic, partitions, replicationFactor: 1 }], { timeoutMs: 120_000 });
  } finally {
    await admin.close();
  }
  return Date.now() - t0;
}

interface ProduceSpec {
  name: string;
  partitions: number;
  size: number;
  count: number;
  acks: string;
  compression: string;
}

function produceWith(target: Target, topic: string, spec: ProduceSpec, timeoutMs: number) {
  const args = ['-b', target.bootstrap, '-P', '-t', topic, '-X', 'linger.ms=5', '-X', 'batch.size=131072', '-X', `acks=${spec.acks}`, '-z', spec.compression, '-X', 'queue.buffering.max.kbytes=262144'];
  const r = timed('kcat', args, { input: payloadLines(spec.count, spec.size), timeoutMs });
  return {
    records_per_s: spec.count / r.wall,
    mb_per_s: (spec.count * spec.size) / r.wall / 1e6,
    client_cpu_pct: (100 * r.cpu) / r.wall,
    seconds: r.wall,
  };
}

async function producerWorkloads(target: Target, quick: boolean, results: Result[]): Promise<void> {
  const n = quick ? 200_000 : 2_000_000;
  const specs: ProduceSpec[] = [
    { name: 'produce 1p 100B acks=1', partitions: 1, size: 100, count: n, acks: '1', compression: 'none' },
    { name: 'produce 1p 100B acks=all', partitions: 1, size: 100, count: n, acks: 'all', compression: 'none' },
    { name: 'produce 1p 100B acks=1 lz4', partitions: 1, size: 100, count: n, acks: '1', compression: 'lz4' },
    { name: 'produce 6p 100B acks=1', partitions: 6, size: 100, count: n, acks: '1', compression: 'none' },
    { name: 'produce 1p 1KiB acks=1', partitions: 1, size: 1024, count: Math.floor(n / 4), acks: '1', compression: 'none' },
  ];
  for (const [i, spec] of specs.entries()) {
    const topic = `bench-produce-${Date.now()}-${i}`;
    await createTopic(target.bootstrap, topic, spec.partitions);
    progress(`${target.label}: ${spec.name} (${spec.count} records)`);
    const m = produceWith(target, topic, spec, quick ? 60_000 : 300_000);
    results.push({ workload: spec.name, target: target.label, metrics: m });
    progress(`  ${Math.round(m.records_per_s)} rec/s, ${m.mb_per_s.toFixed(1)} MB/s, kcat CPU ${m.client_cpu_pct.toFixed(0)}%`);
  }
}

async function consumerWorkload(target: Target, quick: boolean, results: Result[]): Promise<void> {
  const count = quick ? 200_000 : 2_000_000;
  const topic = `bench-consume-${Date.now()}`;
  await createTopic(target.bootstrap, topic, 1);
  progress(`${target.label}: pre-filling ${count} x 100 B`);
  produceWith(target, topic, { name: 'fill', partitions: 1, size: 100, count, acks: '1', compression: 'none' }, 300_000);
  progress(`${target.label}: consume ${count} records`);
  const r = timed('kcat', ['-b', target.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%o\n', '-X', 'fetch.min.bytes=1', '-X', 'fetch.wait.max.ms=500'], { timeoutMs: 300_000 });
  const got = r.stdout.split('\n').filter(Boolean).length;
  const m = { records_per_s: got / r.wall, mb_per_s: (got * 100) / r.wall / 1e6, client_cpu_pct: (100 * r.cpu) / r.wall, records: got };
  results.push({ workload: 'consume 1p 100B', target: target.label, metrics: m });
  progress(`  ${Math.round(m.records_per_s)} rec/s (${got} records), kcat CPU ${m.client_cpu_pct.toFixed(0)}%`);
}

function latencyWorkload(target: Target, quick: boolean, results: Result[]): void {
  const seconds = quick ? 3 : 20;
  progress(`${target.label}: end-to-end latency, 1000 msg/s for ${seconds}s`);
  const r = spawnSync('/usr/bin/python3', [join(packageRoot, 'src/bench/latency.py'), target.bootstrap, `bench-latency-${Date.now()}`, '1000', String(seconds)], {
    encoding: 'utf8',
    timeout: (seconds + 60) * 1000,
  });
  if (r.status !== 0) {
    progress(`latency run failed: ${r.stderr.slice(-400)}`);
    return;
  }
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number>;
  results.push({ workload: 'e2e latency 1000/s', target: target.label, metrics: m });
  progress(`  p50 ${m.p50_ms!.toFixed(2)} ms, p99 ${m.p99_ms!.toFixed(2)} ms, max ${m.max_ms!.toFixed(2)} ms`);
}

async function manyPartitionsWorkload(target: Target, quick: boolean, results: Result[]): Promise<void> {
  const partitions = quick ? 500 : 10_000;
  const topic = `bench-many-${Date.now()}`;
  progress(`${target.label}: create a topic with ${partitions} partitions`);
  const createMs = await createTopic(target.bootstrap, topic, partitions);
  const count = quick ? 50_000 : 500_000;
  const m = produceWith(target, topic, { name: 'many', partitions, size: 100, count, acks: '1', compression: 'none' }, 300_000);
  const metrics: Record<string, number> = { create_ms: createMs, records_per_s: m.records_per_s, client_cpu_pct: m.client_cpu_pct };
  if (target.pid) metrics.rss_mib = rssMiB(target.pid);
  results.push({ workload: `${partitions} partitions`, target: target.label, metrics });
  progress(`  created in ${createMs} ms; produce ${Math.round(m.records_per_s)} rec/s${metrics.rss_mib ? `, RSS ${metrics.rss_mib.toFixed(0)} MiB` : ''}`);
}

/** Starts a Tributary from the compiled build (or the sources) on a free port with a fresh data dir. */
async function startTributary(dataDir: string): Promise<{ child: ChildProcess; bootstrap: string; startMs: number }> {
  const compiled = join(packageRoot, 'dist/cli/tributary.js');
  const args = existsSync(compiled) ? [compiled] : ['--import', 'tsx', join(packageRoot, 'src/cli/tributary.ts')];
  const t0 = Date.now();
  const child = spawn(process.execPath, [...args, 'broker', '--override', 'listeners=PLAINTEXT://127.0.0.1:0', '--override', `log.dirs=${dataDir}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('broker did not start in 30 s')), 30_000);
    // Keep draining the broker's log lines so its stdout never blocks.
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('"broker started"')) return;
      clearTimeout(timer);
      res(Number(String((JSON.parse(line) as { listener: string }).listener).split(':').pop()));
    });
    child.once('exit', (code) => rej(new Error(`broker exited with ${code}`)));
  });
  const bootstrap = `127.0.0.1:${port}`;
  // Cold start: from spawn to the first acknowledged produce.
  const probe = spawnSync('kcat', ['-b', bootstrap, '-P', '-t', 'bench-startup', '-X', 'acks=1'], { input: 'x\n', timeout: 30_000 });
  if (probe.status !== 0) throw new Error(`first produce failed: ${probe.stderr}`);
  return { child, bootstrap, startMs: Date.now() - t0 };
}

function markdown(results: Result[], targets: Target[]): string {
  const workloads = [...new Set(results.map((r) => r.workload))];
  const lines = [`| workload | metric | ${targets.map((t) => t.label).join(' | ')}${targets.length > 1 ? ` | ratio ${targets[0]!.label}/${targets[1]!.label}` : ''} |`];
  lines.push(`| --- | --- | ${targets.map(() => '---').join(' | ')}${targets.length > 1 ? ' | ---' : ''} |`);
  for (const w of workloads) {
    const metrics = [...new Set(results.filter((r) => r.workload === w).flatMap((r) => Object.keys(r.metrics)))];
    for (const m of metrics) {
      const vals = targets.map((t) => results.find((r) => r.workload === w && r.target === t.label)?.metrics[m]);
      const fmt = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));
      const ratio = targets.length > 1 && vals[0] !== undefined && vals[1] ? ` | ${(vals[0] / vals[1]).toFixed(2)}` : targets.length > 1 ? ' | –' : '';
      lines.push(`| ${w} | ${m} | ${vals.map(fmt).join(' | ')}${ratio} |`);
    }
  }
  return lines.join('\n');
}

export interface BenchOptions {
  quick?: boolean;
  bootstrap: string[];
  label: string[];
  only: string;
  out: string;
}

/** Declares the harness's options on a command (`npm run bench` and `tributary perf` share them). */
export function defineBenchOptions(cmd: Command): Command {
  const collect = (v: string, prev: string[]) => [...prev, v];
  return cmd
    .description('Throughput, latency and footprint workloads against Tributary and, optionally, other Kafka brokers')
    .option('--quick', 'short runs (under a minute for Tributary alone)')
    .option('--bootstrap <host:port>', 'another broker to run the same workloads against (repeatable)', collect, [])
    .option('--label <name>', 'label for each --bootstrap, in order (repeatable)', collect, [])
    .option('--only <workloads>', 'comma list of: produce,consume,latency,many', 'produce,consume,latency,many')
    .option('--out <dir>', 'where results go', join(process.cwd(), 'bench/results'));
}

export async function runBench(opts: BenchOptions): Promise<void> {
  const quick = !!opts.quick;
  const only = new Set(opts.only.split(','));

  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-bench-'));
  const results: Result[] = [];
  progress('starting Tributary');
  const trib = await startTributary(dataDir);
  const targets: Target[] = [{ label: 'tributary', bootstrap: trib.bootstrap, pid: trib.child.pid }];
  opts.bootstrap.forEach((b, i) => targets.push({ label: opts.label[i] ?? `broker${i + 1}`, bootstrap: b }));
  try {
    await new Promise((r) => setTimeout(r, 500));
    results.push({ workload: 'footprint', target: 'tributary', metrics: { cold_start_ms: trib.startMs, idle_rss_mib: rssMiB(trib.child.pid!) } });
    for (const target of targets) {
      if (only.has('produce')) await producerWorkloads(target, quick, results);
      if (only.has('consume')) await consumerWorkload(target, quick, results);
      if (only.has('latency')) latencyWorkload(target, quick, results);
      if (target.pid) results.find((r) => r.workload === 'footprint')!.metrics.rss_after_load_mib = rssMiB(target.pid);
      if (only.has('many')) await manyPartitionsWorkload(target, quick, results);
    }
  } finally {
    trib.child.kill('SIGTERM');
    await new Promise((r) => trib.child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(opts.out, { recursive: true });
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  const loadGenerator = spawnSync('kcat', ['-V'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? 'kcat';
  const doc = { date: new Date().toISOString(), quick, machine, loadGenerator, targets: targets.map(({ label, bootstrap }) => ({ label, bootstrap })), results };
  const jsonPath = join(opts.out, `${stamp}.json`);
  writeFileSync(jsonPath, JSON.stringify(doc, null, 2));
  const table = markdown(results, targets);
  writeFileSync(join(opts.out, `${stamp}.md`), `# Benchmark ${doc.date}\n\n${machine.cpus} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; load generator ${loadGenerator}\n\n${table}\n`);
  process.stdout.write(`${table}\n\nresults: ${jsonPath}\n`);
}

