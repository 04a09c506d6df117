// `npm run bench`: the benchmark harness (src/bench/harness.ts), also `tributary perf`.
import { Command } from 'commander';
import { defineBenchOptions, runBench, type BenchOptions } from '../src/bench/harness.js';

const program = defineBenchOptions(new Command('bench')).parse();
runBench(program.opts<BenchOptions>()).catch((err) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`);
  process.exit(1);
});
