// Records the CLI bundle's V8 code cache (see src/cli/launcher.ts) from a training broker: a
// throwaway broker on loopback starts, takes records with acks=1 and acks=all, serves them to a
// consumer group, and stops; at exit it writes the bytecode of every function it compiled. A
// broker started later deserializes those functions instead of compiling them. Cluster mode's
// script (cluster.cjs) gets its cache from the same run of a broker in cluster mode, on a throwaway
// etcd; where no etcd is installed, from loading the script only (its packages' start-up code).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { CLUSTER_CODE_CACHE_OUTPUT_ENV, CODE_CACHE_OUTPUT_ENV } from '../src/cli/code-cache.js';
import { findEtcd, startEtcd } from '../src/cluster/etcd-process.js';
import { freeLoopbackPort, loopbackAccepts } from '../src/common/loopback-ports.js';

const DEADLINE_MS = 60_000;

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((res) => child.once('exit', (code) => res(code)));
}

/** Runs the training broker of the launcher `cli` and leaves its code cache at `output`. */
export async function trainCodeCache(cli: string, output: string): Promise<void> {
  await trainingRun(cli, CODE_CACHE_OUTPUT_ENV, output, {});
}

/**
 * Runs a training broker of the launcher `cli` in cluster mode and leaves the code cache of
 * cluster.cjs, the script beside `cli`, at `output`.
 */
export async function trainClusterCodeCache(cli: string, output: string): Promise<void> {
  if (!findEtcd()) {
    console.warn('note: no etcd (apt-get install etcd-server): the cluster-mode code cache covers loading etcd3 only');
    return loadOnce(join(dirname(cli), 'cluster.cjs'), output);
  }
  const etcd = await startEtcd();
  try {
    await trainingRun(cli, CLUSTER_CODE_CACHE_OUTPUT_ENV, output, { 'node.id': '1', 'etcd.endpoints': etcd.endpoint, 'etcd.prefix': '/code-cache-training' });
  } finally {
    await etcd.close();
  }
}

/** Loads cluster.cjs in a process of its own, which writes its code cache to `output` at exit. */
function loadOnce(script: string, output: string): void {
  const cachedScript = resolve(import.meta.dirname, '..', 'src', 'cli', 'cached-script.ts');
  const code = `import { runCachedScript } from ${JSON.stringify(cachedScript)}; runCachedScript(${JSON.stringify(script)}, '', ${JSON.stringify(CLUSTER_CODE_CACHE_OUTPUT_ENV)});`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    env: { ...process.env, [CLUSTER_CODE_CACHE_OUTPUT_ENV]: output },
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`loading ${script} failed: ${r.stderr.toString()}`);
  if (statSync(output).size === 0) throw new Error(`no code cache at ${output}`);
}

async function trainingRun(cli: string, outputEnv: string, output: string, overrides: Record<string, string>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-code-cache-'));
  const port = await freeLoopbackPort();
  const bootstrap = `127.0.0.1:${port}`;
  const args = [
    cli,
    'broker',
    '--override',
    `listeners=PLAINTEXT://${bootstrap}`,
    '--override',
    'http.listeners=http://127.0.0.1:0',
    '--override',
    `log.dirs=${join(dir, 'data')}`,
  ];
  for (const [key, value] of Object.entries(overrides)) args.push('--override', `${key}=${value}`);
  const broker = spawn(process.execPath, args, { env: { ...process.env, [outputEnv]: output }, stdio: ['ignore', 'ignore', 'inherit'] });
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
