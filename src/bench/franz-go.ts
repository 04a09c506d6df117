// The franz-go load generator (src/bench/franz-go/main.go) for the benchmark: built with the
// local Go toolchain, its modules from the Go module proxy, into the cache outside the repository
// (~/.cache/tributary/franz-go-loadgen-<hash of its sources>). Go's client spends a fraction of
// the CPU per record that the JVM's perf tools do, so on two cores its produce runs measure the
// broker rather than the load generator. Without Go, or without the proxy, its workloads are
// skipped with the reason.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot } from './kafka.js';

const SOURCES = ['main.go', 'go.mod', 'go.sum'];

/** The load generator's path, built if needed; undefined (with the reason logged) when it cannot be. */
export function buildFranzGoLoadGen(packageRoot: string, log: (msg: string) => void): string | undefined {
  const dir = join(packageRoot, 'src', 'bench', 'franz-go');
  const hash = createHash('sha256');
  for (const f of SOURCES) hash.update(readFileSync(join(dir, f)));
  const binary = join(cacheRoot(), `franz-go-loadgen-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(cacheRoot(), { recursive: true });
  log('building the franz-go load generator (go build; modules from the Go module proxy)');
  const r = spawnSync('go', ['build', '-o', binary, '.'], {
    cwd: dir,
    env: { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    log('franz-go workloads skipped: the go toolchain is not installed');
    return undefined;
  }
  if (r.status !== 0) {
    log(`franz-go workloads skipped: go build failed (${(r.stderr || String(r.error)).trim().slice(-300)})`);
    return undefined;
  }
  return binary;
}

/**
 * Arguments of one produce run (`acks` 1 or all) or consume run (every partition, from the start,
 * no group); with `tlsCaFile`, over TLS, trusting that CA.
 */
export function franzGoArgs(
  bootstrap: string,
  topic: string,
  run: { mode: 'produce'; records: number; size: number; acks: string } | { mode: 'consume'; records: number },
  tlsCaFile?: string,
): string[] {
  const args = ['-brokers', bootstrap, '-topic', topic, '-mode', run.mode, '-records', String(run.records), '-timeout', '180s'];
  if (run.mode === 'produce') args.push('-size', String(run.size), '-acks', run.acks);
  if (tlsCaFile) args.push('-tls-ca', tlsCaFile);
  return args;
}

/** The load generator's JSON line: records done and seconds taken. */
export function parseFranzGo(stdout: string): { records: number; seconds: number } | undefined {
  try {
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { records?: number; seconds?: number; failed?: number; error?: string };
    if (typeof r.records !== 'number' || typeof r.seconds !== 'number' || r.seconds <= 0 || r.error || (r.failed ?? 0) > 0) return undefined;
    return { records: r.records, seconds: r.seconds };
  } catch {
    return undefined;
  }
}
