// The compiled build (dist/) that process tests spawn: `node dist/cli/tributary.js`, the bundled
// CLI, starts in a fraction of the time tsx takes. A stale build must never be tested silently,
// so the first spawn of a test process checks that every compiled source is at least as new as its
// source, and the CLI bundle at least as new as every source (it holds them all).
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

/** Sources that tsconfig.build.json leaves out (never built). */
const NOT_BUILT = join('protocol', 'codegen');
/** Sources built only into the CLI bundle (scripts/bundle-cli.ts), which holds every source. */
const BUNDLE_ONLY = 'cli';
const CLI_BUNDLE = join('cli', 'cli.cjs');

let checked: string | null = null;

function staleFiles(): string[] {
  const src = join(repoRoot, 'src');
  const dist = join(repoRoot, 'dist');
  const stale: string[] = [];
  let newestSource = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(src, path);
      if (rel === NOT_BUILT || rel.startsWith(NOT_BUILT + '/')) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        newestSource = Math.max(newestSource, statSync(path).mtimeMs);
        if (rel.startsWith(BUNDLE_ONLY + '/')) continue;
        const out = join(dist, rel.replace(/\.ts$/, '.js'));
        let outTime: number;
        try {
          outTime = statSync(out).mtimeMs;
        } catch {
          stale.push(`${rel} (not compiled)`);
          continue;
        }
        if (statSync(path).mtimeMs > outTime) stale.push(rel);
      }
    }
  };
  walk(src);
  let bundleTime = 0;
  try {
    bundleTime = statSync(join(dist, CLI_BUNDLE)).mtimeMs;
  } catch {
    stale.push(`${CLI_BUNDLE} (not bundled)`);
  }
  if (bundleTime > 0 && bundleTime < newestSource) stale.push(`${CLI_BUNDLE} (the CLI bundle)`);
  return stale;
}

/**
 * The compiled entry point of a source file (e.g. 'cli/tributary.js'), after checking once per
 * process that dist/ is not older than src/. Throws with the fix (`npm run build`) when it is.
 */
export function compiled(entry = 'cli/tributary.js'): string {
  if (checked === null) {
    const stale = staleFiles();
    if (stale.length > 0) {
      const list = stale.slice(0, 5).join(', ') + (stale.length > 5 ? `, and ${stale.length - 5} more` : '');
      throw new Error(`dist/ is older than src/ (${list}): run \`npm run build\` before the process tests (npm test and npm run test:process do)`);
    }
    checked = join(repoRoot, 'dist');
  }
  return join(checked, entry);
}
