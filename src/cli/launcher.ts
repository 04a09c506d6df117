// The command line's entry point in the build (dist/cli/tributary.js, what `npm start` and
// bin/tributary.js run): it compiles the bundled program (dist/cli/cli.cjs) with the V8 code
// cache the build wrote beside it (dist/cli/cli.v8cache), then runs it.
//
// Why: a broker's cold start was mostly V8 parsing and compiling ~1.2 MB of JavaScript, and
// Node 20 keeps no compile cache of its own (module.enableCompileCache came in Node 22), nor
// lets an ES module be compiled from cached data. A CommonJS script can be: vm.Script accepts
// V8's cached bytecode. The build records the cache from a training broker (see
// scripts/code-cache-training.ts), so the functions a broker runs to start and to serve its first
// requests are deserialized instead of compiled: the first produce comes ~40 ms sooner.
//
// V8 checks the cache against its version, its flags and the source's length, and compiles from
// the source when any differs; the build id (code-cache.ts) rules out a cache of another build (another Node, a V8 flag such as --max-old-space-size on node's command
// line): slower to start, never wrong. This file imports nothing of the program, so it stays tiny.
// Cluster mode's packages are a second script with its own cache, loaded by the program only in
// cluster mode (cluster-packages.ts).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCachedScript } from './cached-script.js';
import { CODE_CACHE_OUTPUT_ENV } from './code-cache.js';

/** The exports of src/cli/main.ts, the program bundled as CommonJS. */
interface Program {
  main(argv: string[]): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const program = runCachedScript(join(here, 'cli.cjs'), join(here, 'cli.v8cache'), CODE_CACHE_OUTPUT_ENV) as Program;
await program.main(process.argv);
