// `npm run torture -- [--cycles N] [--seed N] [--max-minutes M] [--json file]`: a long crash torture run against a
// broker process. The seed is printed; pass it back with --seed to replay the same kill plan.
// `npm run torture -- --cluster [--cycles N] [--seed N] [--max-minutes M] [--faults a,b | --schedule a,b]
// [--session-ms N] [--min-run-ms N] [--max-run-ms N] [--etcd-members N] [--json file]`: the Jepsen-style
// cluster torture (3 brokers and an etcd of 3 members by default, faults from cluster/harness.ts FAULTS).
import { writeFileSync } from 'node:fs';
import { FAULTS, runClusterTorture, summarizeCluster, type Fault } from './cluster/harness.js';
import { runTorture, summarize } from './harness.js';
import { transactionsExtension } from './transactions.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// Ctrl-C: exit normally, so the harness's exit hook kills the broker it started.
process.once('SIGINT', () => process.exit(130));

const seed = arg('seed') !== undefined ? Number(arg('seed')) : Math.floor(Math.random() * 2 ** 31);
const cycles = Number(arg('cycles') ?? 100);
const json = arg('json');
const maxMinutes = arg('max-minutes') !== undefined ? Number(arg('max-minutes')) : undefined;
if (process.argv.includes('--cluster')) {
  const only = arg('faults')?.split(',') as Fault[] | undefined;
  for (const f of [...(only ?? []), ...(arg('schedule')?.split(',') ?? [])]) {
    if (!FAULTS.includes(f as Fault)) throw new Error(`unknown fault ${f}; one of ${FAULTS.join(', ')}`);
  }
  const clusterCycles = Number(arg('cycles') ?? 30);
  const passed = ['faults', 'schedule', 'session-ms', 'min-run-ms', 'max-run-ms', 'etcd-members'].flatMap((o) => (arg(o) === undefined ? [] : [`--${o} ${arg(o)}`]));
  const replay = ['npm run torture -- --cluster', `--seed ${seed}`, `--cycles ${clusterCycles}`, ...passed].join(' ');
  console.log(`cluster torture: seed ${seed}, ${clusterCycles} cycles (replay: ${replay})`);
  const report = await runClusterTorture({
    seed,
    cycles: clusterCycles,
    maxDurationMs: maxMinutes === undefined ? undefined : maxMinutes * 60_000,
    // --faults a,b: draw among these only; --schedule a,b: these in this order, one per cycle.
    schedule: (arg('schedule')?.split(',') as Fault[] | undefined) ?? (only && only.length === 1 ? only : undefined),
    faults: only,
    etcdMembers: arg('etcd-members') === undefined ? undefined : Number(arg('etcd-members')),
    sessionTimeoutMs: arg('session-ms') === undefined ? undefined : Number(arg('session-ms')),
    minRunMs: arg('min-run-ms') === undefined ? undefined : Number(arg('min-run-ms')),
    maxRunMs: arg('max-run-ms') === undefined ? undefined : Number(arg('max-run-ms')),
    progress: (l) => console.log(l),
  });
  console.log(summarizeCluster(report));
  if (json) writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  const failed = report.recordsLost > 0 || report.duplicates > 0 || report.violations.length > 0;
  console.log(failed ? `FAIL (replay: ${replay})` : 'PASS');
  process.exit(failed ? 1 : 0);
}
console.log(`torture: seed ${seed}, ${cycles} cycles (replay: npm run torture -- --seed ${seed} --cycles ${cycles})`);
const report = await runTorture({
  seed,
  cycles,
  maxDurationMs: maxMinutes === undefined ? undefined : maxMinutes * 60_000,
  progress: (l) => console.log(l),
  extensions: [transactionsExtension()],
});
console.log(summarize(report));
if (json) writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
const failed = report.recordsLost > 0 || report.duplicates > 0 || report.violations.length > 0 || report.brokerErrorLogs.length > 0 || report.cleanShutdownExitCode !== 0;
console.log(failed ? `FAIL (replay with --seed ${seed} --cycles ${cycles})` : 'PASS');
process.exitCode = failed ? 1 : 0;
