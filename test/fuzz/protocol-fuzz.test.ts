// A seeded 100,000-frame protocol fuzzing campaign against a real broker process (see
// RELIABILITY.md). Replay a failure with `npm run fuzz -- --seed <seed> --frames 100000`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runFuzz, summarize } from './harness.js';

const SEED = Number(process.env.FUZZ_SEED ?? 1125);
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000);
const MAX_RSS_MIB = 600;

test(`protocol fuzzing: ${FRAMES} mutated frames (seed ${SEED}) neither crash, hang nor bloat the broker`, { timeout: 300_000 }, async () => {
  const report = await runFuzz({ seed: SEED, frames: FRAMES });
  const summary = summarize(report);
  console.log(summary);
  assert.equal(report.frames, FRAMES, summary);
  assert.equal(report.crashed, false, `broker crashed\n${summary}`);
  assert.equal(report.exitCode, 0, `broker did not shut down cleanly\n${summary}`);
  assert.ok(report.probes >= 5, `the probe ran throughout\n${summary}`);
  assert.equal(report.probeFailures, 0, `ApiVersions probe not answered within 5 s\n${summary}`);
  assert.equal(report.connectFailures, 0, `fuzzing connections refused\n${summary}`);
  assert.equal(report.misrouted, 0, `responses that answer no outstanding request\n${summary}`);
  assert.deepEqual(report.badLogs, [], `error or unhandled-rejection log lines\n${summary}`);
  assert.deepEqual(report.handlerExceptions, {}, `a handler threw something other than a protocol or Kafka error\n${summary}`);
  assert.equal(report.stderr, '', `the broker wrote to stderr (an exception stack?)\n${summary}`);
  assert.ok(report.maxRssMiB < MAX_RSS_MIB, `max RSS ${report.maxRssMiB} MiB\n${summary}`);
  // Most frames are malformed and close their connection; the rest are answered.
  assert.ok(report.closedByBroker > FRAMES / 4 && report.responses > FRAMES / 10, summary);
});
