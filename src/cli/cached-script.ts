// Compiles and runs one of the build's CommonJS scripts (dist/cli/cli.cjs, dist/cli/cluster.cjs)
// with the V8 code cache the build recorded beside it, as require() would run it. Used by the
// launcher (launcher.ts) for the program, and by the program for cluster mode's packages
// (cluster-packages.ts). See launcher.ts for why, and code-cache.ts for the build id.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { basename, dirname } from 'node:path';
import vm from 'node:vm';
import { BUILD_ID_LENGTH, BUILD_ID_MARK, CODE_CACHE_TRACE_ENV } from './code-cache.js';

/** What became of a script's code cache: taken by V8, refused by V8, of another build, absent. */
export type CodeCacheUse = 'accepted' | 'rejected' | 'stale' | 'missing';

/** The build id that the last line of `source` names ('' if none). */
export function buildIdOf(source: string): string {
  const mark = source.lastIndexOf(BUILD_ID_MARK);
  return mark < 0 ? '' : source.slice(mark + BUILD_ID_MARK.length, mark + BUILD_ID_MARK.length + BUILD_ID_LENGTH);
}

/** The cache at `cachePath` if it was recorded from the build `buildId`, else why not. */
function readCache(cachePath: string, buildId: string): Buffer | 'stale' | 'missing' {
  let file: Buffer;
  try {
    file = readFileSync(cachePath);
  } catch {
    return 'missing'; // not built (or removed): compile from the source
  }
  const ours = buildId.length === BUILD_ID_LENGTH && file.subarray(0, BUILD_ID_LENGTH).toString('latin1') === buildId;
  return ours ? file.subarray(BUILD_ID_LENGTH) : 'stale';
}

/**
 * Runs the CommonJS script at `scriptPath`, compiled with the code cache at `cachePath` when that
 * is of this build (else from the source: slower, never wrong), and returns its exports. With
 * `outputEnv` set in the environment (the build's training runs), writes the cache of everything
 * the process compiled of the script to that path at exit.
 */
export function runCachedScript(scriptPath: string, cachePath: string, outputEnv: string): unknown {
  const source = readFileSync(scriptPath, 'utf8');
  const buildId = buildIdOf(source);
  const cache = readCache(cachePath, buildId);
  const cachedData = typeof cache === 'string' ? undefined : cache;
  // Module.wrap gives the script CommonJS's own function scope (exports, require, module,
  // __filename, __dirname), so it runs as if require() had loaded it.
  const script = new vm.Script(Module.wrap(source), { filename: scriptPath, cachedData });
  if (process.env[CODE_CACHE_TRACE_ENV]) {
    const use: CodeCacheUse = typeof cache === 'string' ? cache : script.cachedDataRejected ? 'rejected' : 'accepted';
    process.stderr.write(`tributary: ${basename(scriptPath)}: code cache ${use}\n`);
  }
  const output = process.env[outputEnv];
  if (output) {
    process.on('exit', () => {
      writeFileSync(`${output}.tmp`, Buffer.concat([Buffer.from(buildId, 'latin1'), script.createCachedData()]));
      renameSync(`${output}.tmp`, output);
    });
  }
  const module = { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run.call(module.exports, module.exports, createRequire(scriptPath), module, scriptPath, dirname(scriptPath));
  return module.exports;
}
