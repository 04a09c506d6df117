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
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { BUILD_ID_LENGTH, BUILD_ID_MARK, CODE_CACHE_OUTPUT_ENV } from './code-cache.js';

/** The exports of src/cli/main.ts, the program bundled as CommonJS. */
interface Program {
  main(argv: string[]): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
const programPath = join(here, 'cli.cjs');

/** The cache recorded from this build of the bundle, if there is one. */
function readCache(buildId: string): Buffer | undefined {
  let file: Buffer;
  try {
    file = readFileSync(join(here, 'cli.v8cache'));
  } catch {
    return undefined; // not built (or removed): compile from the source
  }
  return buildId.length === BUILD_ID_LENGTH && file.subarray(0, BUILD_ID_LENGTH).toString('latin1') === buildId ? file.subarray(BUILD_ID_LENGTH) : undefined;
}

function loadProgram(): Program {
  const source = readFileSync(programPath, 'utf8');
  const mark = source.lastIndexOf(BUILD_ID_MARK);
  const buildId = mark < 0 ? '' : source.slice(mark + BUILD_ID_MARK.length, mark + BUILD_ID_MARK.length + BUILD_ID_LENGTH);
  // Module.wrap gives the script CommonJS's own function scope (exports, require, module,
  // __filename, __dirname), so the bundle runs as if require() had loaded it.
  const script = new vm.Script(Module.wrap(source), { filename: programPath, cachedData: readCache(buildId) });
  const output = process.env[CODE_CACHE_OUTPUT_ENV];
  if (output) {
    process.on('exit', () => {
      writeFileSync(`${output}.tmp`, Buffer.concat([Buffer.from(buildId, 'latin1'), script.createCachedData()]));
      renameSync(`${output}.tmp`, output);
    });
  }
  const module = { exports: {} as Program };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(programPath), module, programPath, here);
  return module.exports;
}

await loadProgram().main(process.argv);
