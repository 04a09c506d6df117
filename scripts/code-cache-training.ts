// Records the CLI bundle's V8 code cache (see src/cli/launcher.ts) from a training broker: a
// throwaway broker on loopback starts, takes records with acks=1 and acks=all, serves them to a
// consumer group, and stops; at exit it writes the bytecode of every function it compiled. A
// broker started later deserializes those functions instead of compiling them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CODE_CACHE_OUTPUT_ENV } from '../src/cli/code-cache.js';
import { freeLoopbackPort, loopbackAccepts } from '../src/common/loopback-ports.js';

const DEADLINE_MS = 60_000;

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((res) => child.once('exit', (code) => res(code)));
}

/** Runs the training broker of the launcher `cli` and leaves its code cache at `output`. */
export async function trainCodeCache(cli: string, output: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-code-cache-'));
  const port = await freeLoopbackPort();
  const bootstrap = `127.0.0.1:${port}`;
  const broker = spawn(
    process.execPath,
    [cli, 'broker', '--override', `listeners=PLAINTEXT://${bootstrap}`, '--override', 'http.listeners=http://127.0.0.1:0', '--override', `log.dirs=${join(dir, 'data')}`],
    { env: { ...process.env, [CODE_CACHE_OUTPUT_ENV]: output }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const killer = setTimeout(() => broker.kill('SIGKILL'), DEADLINE_MS);
  try {
    const started = Date.now();
    while (!(await loopbackAccepts(port))) {
      if (broker.exitCode !== null) throw new Error('the training broker exited during start-up');
      if (Date.now() - started > DEADLINE_MS) throw new Error(`the training broker did not listen on ${bootstrap}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    const client = (args: string[], input = ''): void => {
      const r = spawnSync(process.execPath, [cli, ...args, '--bootstrap-server', bootstrap], { input, timeout: 30_000 });
      if (r.status !== 0) throw new Error(`training: tributary ${args.join(' ')} failed: ${r.stderr.toString()}`);
    };
    client(['produce', 'training', '--acks', '1'], 'a\nb\n');
    client(['produce', 'training', '--acks', 'all', '--idempotent'], 'c\n');
    client(['consume', 'training', '--group', 'training', '--max-messages', '3']);
    broker.kill('SIGTERM');
    const code = await exited(broker);
    if (code !== 0) throw new Error(`the training broker exited with ${code}`);
    if (statSync(output).size === 0) throw new Error(`no code cache at ${output}`);
  } finally {
    clearTimeout(killer);
    broker.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
