// How the compat layer builds its Java programs: Maven resolves a pom.xml's dependencies into
// ~/.m2 (offline first: a warm ~/.m2 needs no network), then javac compiles the sources once per
// content hash into ~/.cache/tributary/<cacheName>/<hash>/, marked ready only when whole.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function runTool(cmd: string, args: string[], timeoutMs: number, cwd: string): { ok: boolean; output: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** Why the Java programs cannot be built here (java, javac or mvn missing), or undefined. */
export function missingJavaTool(cwd: string): string | undefined {
  for (const [cmd, arg, pkg] of [
    ['java', '-version', 'default-jdk-headless'],
    ['javac', '-version', 'default-jdk-headless'],
    ['mvn', '-v', 'maven'],
  ] as const) {
    if (!runTool(cmd, [arg], 60_000, cwd).ok) return `no \`${cmd}\` on PATH (apt-get install ${pkg})`;
  }
  return undefined;
}

/**
 * Writes the classpath of the pom in `cwd` (with `mvnArgs`, e.g. a profile) to `cpFile`: undefined
 * once it is there, else Maven's first errors (Maven Central unreachable, most likely).
 */
export function resolveClasspath(cwd: string, mvnArgs: string[], cpFile: string): string | undefined {
  const args = ['-q', '-B', '-Dstyle.color=never', ...mvnArgs, 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`];
  if (runTool('mvn', ['-o', ...args], 300_000, cwd).ok) return undefined;
  const online = runTool('mvn', args, 590_000, cwd);
  if (online.ok) return undefined;
  return online.output
    .split('\n')
    .filter((l) => l.includes('ERROR'))
    .slice(0, 2)
    .join(' ')
    .slice(0, 400);
}

/** Compiles `sources` against `classpath` into `<cache>/classes` and marks the cache ready. */
export function compileInto(cache: string, classpath: string, sources: string[], cwd: string): void {
  const classes = join(cache, 'classes.tmp');
  const javac = runTool('javac', ['-nowarn', '-encoding', 'UTF-8', '-d', classes, '-cp', classpath, ...sources], 300_000, cwd);
  if (!javac.ok) throw new Error(`javac failed:\n${javac.output}`);
  renameSync(classes, join(cache, 'classes'));
  writeFileSync(join(cache, 'ready'), new Date().toISOString());
}

/** The cache directory of a program: its pom and sources hashed. */
export function programCache(cacheName: string, files: string[]): string {
  const hash = createHash('sha256');
  for (const f of files) hash.update(readFileSync(f));
  return join(homedir(), '.cache', 'tributary', cacheName, hash.digest('hex').slice(0, 16));
}

/**
 * The classpath (the compiled program first) of the one-pom program in `dir`, or `SKIP: <why>`
 * when Maven cannot resolve its dependencies (`what` names them in that message).
 */
export function mavenProgram(dir: string, sources: string[], cacheName: string, what: string): string {
  const cache = programCache(cacheName, [join(dir, 'pom.xml'), ...sources]);
  const cpFile = join(cache, 'cp.txt');
  if (!existsSync(join(cache, 'ready'))) {
    rmSync(cache, { recursive: true, force: true });
    mkdirSync(cache, { recursive: true });
    const why = resolveClasspath(dir, [], cpFile);
    if (why !== undefined) return `SKIP: Maven could not resolve ${what} (Maven Central unreachable?): ${why}`;
    compileInto(cache, readFileSync(cpFile, 'utf8').trim(), sources, dir);
  }
  return `${join(cache, 'classes')}:${readFileSync(cpFile, 'utf8').trim()}`;
}
