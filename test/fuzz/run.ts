// `npm run fuzz -- [--frames N] [--seed N] [--connections N] [--batch N]`: a long seeded campaign
// against a fresh broker process. The seed is printed; pass it back with --seed to replay.

import { runFuzz, summarize } from './harness.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seed = arg('seed') !== undefined ? Number(arg('seed')) : Math.floor(Math.random() * 2 ** 31);
const frames = Number(arg('frames') ?? 1_000_000);
const connections = Number(arg('connections') ?? 8);
const batch = Number(arg('batch') ?? 1);
const maxRss = Number(arg('max-rss-mib') ?? 600);
console.log(`fuzz: seed ${seed}, ${frames} frames, ${connections} connections, ${batch} frames per write (replay: npm run fuzz -- --seed ${seed} --frames ${frames})`);
const report = await runFuzz({ seed, frames, connections, batch, progress: (l) => console.log(l) });
console.log(summarize(report));
const failed = report.crashed || report.probeFailures > 0 || report.connectFailures > 0 || report.misrouted > 0 || report.badLogs.length > 0 || report.maxRssMiB > maxRss;
console.log(failed ? `FAIL (replay with --seed ${seed})` : 'PASS');
process.exitCode = failed ? 1 : 0;
