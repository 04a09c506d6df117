// `npm run torture -- [--cycles N] [--seed N] [--max-minutes M] [--json file]`: a long crash torture run against a
// broker process. The seed is printed; pass it back with --seed to replay the same kill plan.
import { writeFileSync } from 'node:fs';
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
