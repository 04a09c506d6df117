// A short crash torture run (see harness.ts and RELIABILITY.md): a broker process killed with
// SIGKILL at random points and at named crash points, restarted on the same data each time.
// Replay a failure with `npm run torture -- --seed <seed> --cycles <cycles>`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runTorture, summarize } from './harness.js';
import { transactionsExtension } from './transactions.js';

const SEED = Number(process.env.TORTURE_SEED ?? 8);
// Every crash point once, and random delays around them.
const SCHEDULE = ['delay', 'append', 'written', 'roll', 'seal', 'delay', 'retention', 'clean', 'offset-commit', 'recovery', 'delay'] as const;
const CYCLES = Number(process.env.TORTURE_CYCLES ?? SCHEDULE.length);

test(`crash torture: ${CYCLES} kill -9 cycles (seed ${SEED}) lose, duplicate and reorder nothing acknowledged`, { timeout: 180_000 }, async () => {
  const report = await runTorture({ seed: SEED, cycles: CYCLES, schedule: [...SCHEDULE], maxRunMs: 1500, crashPointCapMs: 4000, extensions: [transactionsExtension()] });
  const summary = summarize(report);
  console.log(summary);
  assert.equal(report.cycles, CYCLES, summary);
  assert.ok(report.recordsAcknowledged > 500, `records were acknowledged\n${summary}`);
  assert.ok(report.verifications >= CYCLES - 1, `the log was read back after (almost) every restart\n${summary}`);
  assert.equal(report.recordsLost, 0, summary);
  assert.equal(report.duplicates, 0, summary);
  assert.deepEqual(report.violations, [], summary);
  assert.deepEqual(report.brokerErrorLogs, [], summary);
  assert.equal(report.cleanShutdownExitCode, 0, summary);
  assert.ok(report.commitsAcknowledged > 0, summary);
  const reached = Object.keys(report.kills.crashPoints).length;
  assert.ok(reached >= 5, `most crash points were reached (${reached})\n${summary}`);
});
