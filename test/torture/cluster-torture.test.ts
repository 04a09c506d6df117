// A short Jepsen-style cluster torture (see cluster/harness.ts and RELIABILITY.md "Cluster"):
// three broker processes and etcd, RF=3 with min.insync.replicas=2, idempotent acks=all
// producers, a consumer group and transactions, through one fault of each kind. The run is a
// child process (`npm run torture -- --cluster`, the same command that replays it): a client
// library's stray rejection (kafkajs's consumer has one) must not fail this test by itself;
// the run records it and is judged on its report.
//
// Every violation fails it: loss, duplicates, replicas differing below the HW, the log's
// transactions, committed offsets going back, read_committed missing a committed transaction or
// reading part of one, an ISR not whole again, and the kafkajs group not reading every
// acknowledged record within 60 s of the end (RELIABILITY.md "Cluster" lists what each of these
// found and how it was fixed; the last is found 8).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { etcdMissing } from '../helpers/etcd.js';
import { repoRoot } from '../helpers/dist.js';
import { summarizeCluster, type ClusterTortureReport, type Fault } from './cluster/harness.js';

const SEED = Number(process.env.TORTURE_SEED ?? 15);
// The etcd and asymmetric faults (kill-etcd, partition-etcd, partition-peers) are left to the
// long runs: with them this run took 59 s instead of 44 s once, and their checks wait on etcd
// writes and ISR shrinks that a loaded CI machine may slow past their margins (RELIABILITY.md).
const SCHEDULE: Fault[] = ['kill-leader', 'pause-leader', 'partition', 'kill-controller', 'rolling-restart', 'reassign'];
// One etcd member, as before the torture's default became three: with three this run took 46 s
// instead of 38 s (seed 15, load 9-11). test/cluster/etcd-quorum.test.ts covers brokers on three
// members in npm test; the member faults are left to the long runs.

interface Outcome {
  report: ClusterTortureReport;
  code: number | null;
  summary: string;
}

let outcome: Promise<Outcome> | null = null;

function runOnce(signal: AbortSignal): Promise<Outcome> {
  outcome ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cluster-torture-'));
    const json = join(dir, 'report.json');
    const args = ['--cluster', '--seed', String(SEED), '--cycles', String(SCHEDULE.length), '--schedule', SCHEDULE.join(','), '--session-ms', '3000', '--etcd-members', '1'];
    args.push('--min-run-ms', '300', '--max-run-ms', '900', '--json', json);
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/torture/run.ts', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      // Cut short (a timeout): SIGINT makes the run exit, and its exit hook kills its brokers and etcd.
      signal.addEventListener('abort', () => child.kill('SIGINT'));
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      let report: ClusterTortureReport;
      try {
        report = JSON.parse(readFileSync(json, 'utf8')) as ClusterTortureReport;
      } catch {
        throw new Error(`the torture wrote no report (exit code ${code}):\n${output.slice(-6000)}`);
      }
      const summary = summarizeCluster(report);
      // The run's own log: its cycles with their faults, then the summary.
      console.log(output.trimEnd());
      return { report, code, summary };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return outcome;
}

test(
  `cluster torture: ${SCHEDULE.join(', ')} (seed ${SEED}): nothing lost or duplicated, no invariant broken, every record read`,
  { skip: etcdMissing, timeout: 300_000 },
  async (t) => {
    const { report, summary } = await runOnce(t.signal);
    assert.equal(report.cycles, SCHEDULE.length, summary);
    assert.ok(report.recordsAcknowledged > 1000, `records were acknowledged\n${summary}`);
    for (const p of report.producers) {
      if (!p.skipped) assert.ok(p.acknowledged > 0, `producer ${p.name} got acknowledgements\n${summary}`);
      else if (process.env.CI) assert.fail(`producer ${p.name} skipped in CI: ${p.skipped}`);
    }
    assert.equal(report.recordsLost, 0, summary);
    assert.equal(report.duplicates, 0, summary);
    assert.deepEqual(report.violations, [], summary);
    // Every partition of both topics was compared on its other two replicas.
    assert.ok(report.replicasCompared >= 2 * 6, `replicas compared\n${summary}`);
    assert.ok(report.leaderElections >= 4, `the faults moved leaders\n${summary}`);
    assert.ok(report.commitObservations > 0, summary);
    assert.ok(report.transactions.committed > 0 && report.transactions.aborted > 0, summary);
    assert.ok(
      Object.values(report.shutdownExitCodes).every((c) => c === 0),
      summary,
    );
  },
);
