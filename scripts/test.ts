// `npm test`, `npm run test:unit`, `npm run test:process`: runs test/*/*.test.ts with node --test in
// two groups.
//
// - unit: everything that runs inside the test process (codecs, storage, coordinators, config, the
//   client, brokers started in-process with withBroker/suiteBroker). Run in parallel.
// - process: tests that spawn processes (a broker of the compiled build, the tributary CLI, kcat,
//   Python clients, the benchmark, fuzzing and crash torture) or measure a process's memory and
//   latency. They run few at a time, so that their timing bounds mean something on a small machine.
//   The caller builds dist/ first (npm scripts do: `npm run build`).
//
// Usage: tsx scripts/test.ts unit|process|all [file or folder filter ...]
// Environment: TEST_CONCURRENCY_UNIT (default: the core count, at least 2), TEST_CONCURRENCY_PROCESS
// (default 2), TEST_TIMEOUT_MS (default per file: 300000 unit, 600000 process).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

/**
 * The process tests: whole folders (ending in '/') or files. Every other test file is a unit test.
 * A new test that spawns a process or asserts a process's memory or latency belongs here.
 */
const PROCESS_TESTS = [
  'test/bench/',
  'test/cli/',
  'test/clients/',
  'test/cluster/cluster.test.ts',
  'test/cluster/clean-exit.test.ts',
  'test/cluster/coordinator-failover.test.ts',
  'test/http/',
  'test/cluster/etcd-metadata.test.ts',
  'test/cluster/etcd-quorum.test.ts',
  'test/cluster/etcd-no-quorum.test.ts',
  'test/cluster/etcd-lost-answer.test.ts',
  'test/cluster/replication.test.ts',
  'test/cluster/reassignment.test.ts',
  'test/cluster/update-features.test.ts',
  'test/cluster/leader-rebalance.test.ts',
  'test/cluster/controlled-shutdown.test.ts',
  'test/cluster/isr-expansion.test.ts',
  'test/cluster/third-party-clients.test.ts',
  'test/compat/',
  'test/fuzz/',
  'test/torture/',
  'test/broker/bad-input.test.ts',
  'test/security/cluster-security.test.ts',
  'test/security/third-party-clients.test.ts',
  'test/broker/compaction.test.ts',
  'test/broker/compression-bomb.test.ts',
  'test/broker/crash-recovery.test.ts',
  'test/broker/disk-full-tmpfs.test.ts',
  'test/broker/hand-corruption.test.ts',
  'test/broker/jbod.test.ts',
  'test/broker/alter-log-dirs.test.ts',
  'test/broker/log-dir-failure.test.ts',
  'test/broker/network.test.ts',
  'test/broker/overload-connections.test.ts',
  'test/broker/overload-memory-pool.test.ts',
  'test/broker/overload-memory.test.ts',
  'test/broker/overload-quotas.test.ts',
  'test/broker/overload-slow-clients.test.ts',
  'test/broker/retention.test.ts',
  'test/broker/txn-kill9.test.ts',
  'test/coordinator/restart.test.ts',
  'test/storage/kill9.test.ts',
];

function isProcessTest(file: string): boolean {
  return PROCESS_TESTS.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p));
}

/** Every *.test.ts under test/ (test/compat/ nests a folder deeper). */
function testFiles(dir = 'test'): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) files.push(...testFiles(path));
    else if (entry.name.endsWith('.test.ts')) files.push(path);
  }
  return files.sort();
}

function run(files: string[], concurrency: number, timeoutMs: number): Promise<number> {
  if (files.length === 0) return Promise.resolve(0);
  const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${timeoutMs}`, ...files];
  console.log(`node ${args.slice(0, 5).join(' ')} <${files.length} files>`);
  return new Promise((done) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
    child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

const [group = 'all', ...filters] = process.argv.slice(2);
if (!['unit', 'process', 'all'].includes(group)) {
  console.error('usage: tsx scripts/test.ts unit|process|all [file or folder filter ...]');
  process.exit(2);
}
const selected = testFiles().filter((f) => filters.length === 0 || filters.some((x) => f.startsWith(relative(root, resolve(x)))));
const unit = selected.filter((f) => !isProcessTest(f));
const proc = selected.filter((f) => isProcessTest(f));
const unitConcurrency = Number(process.env.TEST_CONCURRENCY_UNIT ?? Math.max(2, availableParallelism()));
const processConcurrency = Number(process.env.TEST_CONCURRENCY_PROCESS ?? 2);
const timeout = (fallback: number) => Number(process.env.TEST_TIMEOUT_MS ?? fallback);

let failed = false;
const started = performance.now();
if (group !== 'process') failed = (await run(unit, unitConcurrency, timeout(300_000))) !== 0 || failed;
if (group !== 'unit') failed = (await run(proc, processConcurrency, timeout(600_000))) !== 0 || failed;
console.log(`${group} tests: ${((performance.now() - started) / 1000).toFixed(1)} s${failed ? ', FAILED' : ''}`);
process.exit(failed ? 1 : 0);
