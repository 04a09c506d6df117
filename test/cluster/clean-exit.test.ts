// A process that embeds Tributary in cluster mode exits by itself once it stopped it (RELIABILITY.md,
// Cluster, found 9): no etcd watch, lease keepalive or reconnect timer may outlive stop(). etcd3
// reconnects a watch stream on timers backing off up to 30 s, so a process kept alive by one
// would miss the bound below. Each case runs test/cluster/fixtures/embedded-child.ts, which
// never calls process.exit.
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { EtcdProcess } from '../../src/cluster/etcd-process.js';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { etcdMissing, withEtcd } from '../helpers/etcd.js';
import { waitUntil } from '../helpers/wait.js';
import { repoRoot } from '../helpers/broker-process.js';

const CHILD = fileURLToPath(new URL('./fixtures/embedded-child.ts', import.meta.url));
/** How long the child may live after its stop() returned: well under etcd3's 30 s backoff. */
const EXIT_BOUND_MS = 10_000;

let etcd: EtcdProcess;
before(async () => {
  if (!etcdMissing) etcd = await withEtcd();
});
after(async () => {
  await etcd?.close();
});

interface Child {
  child: ChildProcess;
  steps: Map<string, { at: number; fields: Record<string, unknown> }>;
  stderr: string[];
  exited: { at: number; code: number | null; signal: NodeJS.Signals | null } | null;
}

function runChild(args: string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const c: Child = { child, steps: new Map(), stderr: [], exited: null };
  createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      const { step, ...fields } = JSON.parse(line) as { step: string };
      c.steps.set(step, { at: performance.now(), fields });
    } catch {
      // a stray line: not a step
    }
  });
  createInterface({ input: child.stderr }).on('line', (line) => c.stderr.push(line));
  child.on('exit', (code, signal) => (c.exited = { at: performance.now(), code, signal }));
  return c;
}

/** Waits for the child's stop(), then for its exit within EXIT_BOUND_MS; returns how long it took (ms). */
async function exitsByItself(c: Child): Promise<number> {
  const tail = () => `; child stderr (last lines): ${c.stderr.slice(-8).join(' | ')}`;
  try {
    await waitUntil(() => c.steps.has('stopped') || c.exited, { timeout: 90_000, interval: 50, message: () => `the child to produce and stop${tail()}` });
    assert.ok(c.steps.has('stopped'), `the child ended before stopping: ${JSON.stringify(c.exited)}${tail()}`);
    const stoppedAt = c.steps.get('stopped')!.at;
    await waitUntil(() => c.exited, { timeout: EXIT_BOUND_MS, interval: 50, message: () => `the child to exit by itself within ${EXIT_BOUND_MS} ms of stop()${tail()}` });
    assert.equal(c.exited!.code, 0, `exit ${JSON.stringify(c.exited)}${tail()}`);
    return c.exited!.at - stoppedAt;
  } finally {
    if (!c.exited) c.child.kill('SIGKILL');
  }
}

test('an embedded startCluster exits by itself after stop()', { skip: etcdMissing, timeout: 120_000 }, async (t) => {
  const c = runChild(['cluster', etcd.endpoint]);
  const ms = await exitsByItself(c);
  assert.equal(c.steps.get('produced')!.fields.partitions, 2);
  t.diagnostic(`startCluster child exited ${Math.round(ms)} ms after stop()`);
});

test('a broker that lost the controller election exits by itself after stop()', { skip: etcdMissing, timeout: 120_000 }, async (t) => {
  const prefix = '/clean-exit-loser';
  let controller: RunningBroker | null = await startBroker({
    storage: 'memory',
    port: 0,
    logger: pino({ level: 'silent' }),
    config: { 'log.level': 'warn', 'etcd.endpoints': etcd.endpoint, 'etcd.prefix': prefix, 'node.id': 1 },
  });
  try {
    await waitUntil(() => controller!.broker.cluster!.controller.active, { message: 'broker 1 elected controller' });
    const c = runChild(['loser', etcd.endpoint, prefix, '2']);
    const ms = await exitsByItself(c);
    assert.deepEqual(c.steps.get('produced')!.fields, { partitions: 2, active: false, controllerId: 1 });
    t.diagnostic(`election loser exited ${Math.round(ms)} ms after stop()`);
    await controller.stop();
    controller = null;
  } finally {
    await controller?.stop();
  }
});
