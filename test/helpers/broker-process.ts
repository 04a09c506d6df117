import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { compiled, repoRoot } from './dist.js';

export { repoRoot };

export interface BrokerProcess {
  child: ChildProcess;
  port: number;
  bootstrap: string;
  /** The HTTP listener's base URL (a free loopback port unless `http.listeners` is overridden); null when off. */
  httpUrl: string | null;
  dataDir: string;
  /** Every log line the broker printed (parsed JSON). */
  logs: Record<string, unknown>[];
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
  /** SIGKILL, no cleanup: what a crash looks like. */
  kill(): Promise<void>;
  /** Removes the data dir. */
  cleanup(): void;
}

/**
 * How long a broker process may take to listen. It starts in about a second; on a machine at
 * load 15-30 (CI next to parallel builds) a start with log recovery took over 20 s.
 */
const START_TIMEOUT_MS = 60_000;

export function tempDir(prefix = 'tributary-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Starts a real broker process from the compiled build (dist/, checked not to be stale) on a free
 * loopback port and waits until it listens. Reuse `dataDir` to restart a broker on the same data.
 * Tests use withBroker/suiteBroker (./broker.ts), which stop it and remove its data afterwards.
 */
export async function startBrokerProcess(
  opts: {
    dataDir?: string;
    overrides?: Record<string, string>;
    port?: number;
    /** Extra environment variables (e.g. TRIBUTARY_CRASH_AT). */ env?: Record<string, string>;
  } = {},
): Promise<BrokerProcess> {
  const dataDir = opts.dataDir ?? tempDir();
  const overrides: Record<string, string> = {
    listeners: `PLAINTEXT://127.0.0.1:${opts.port ?? 0}`,
    'log.dirs': dataDir,
    // Never the default 8080: tests run side by side.
    'http.listeners': 'http://127.0.0.1:0',
    ...opts.overrides,
  };
  const args = [compiled('cli/tributary.js'), 'broker'];
  for (const [k, v] of Object.entries(overrides)) args.push('--override', `${k}=${v}`);
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ? { ...process.env, ...opts.env } : process.env });
  const logs: Record<string, unknown>[] = [];
  // TRIBUTARY_TEST_LOG_DIR (diagnosis only): every broker's log lines are also appended to
  // <dir>/<log dir name>.log, kept after the test removes its data.
  const mirror = process.env.TRIBUTARY_TEST_LOG_DIR;
  if (mirror) {
    mkdirSync(mirror, { recursive: true });
    child.stdout.pipe(createWriteStream(join(mirror, `${basename(dataDir)}.log`), { flags: 'a' }));
  }
  let httpUrl: string | null = null;
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => {
      // Not left running behind a failed test (it may still come up later on a loaded machine).
      child.kill('SIGKILL');
      rej(new Error(`broker did not start in ${START_TIMEOUT_MS / 1000} s; stderr: ${stderr}`));
    }, START_TIMEOUT_MS);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'http listener started') httpUrl = String(entry.url);
      if (entry.msg === 'broker started') {
        clearTimeout(timer);
        res(Number(String(entry.listener).split(':').pop()));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`broker exited with ${code} before starting; stderr: ${stderr}`));
    });
  });
  return {
    child,
    port,
    bootstrap: `127.0.0.1:${port}`,
    httpUrl,
    dataDir,
    logs,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
