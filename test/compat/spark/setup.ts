// Spark's part of the compat layer: Maven resolves pom.xml's dependencies into ~/.m2 (offline
// first), javac compiles src/ once per content hash into ~/.cache/tributary/compat-spark/<hash>/.
// sparkSetup() returns the classpath, or `SKIP: <why>` when Java, Maven or Maven Central is
// missing. Run directly (`node --import tsx test/compat/spark/setup.ts`), it only prepares: .ci/run
// does so before the tests, so that the first resolve (about 280 MB of jars) is not timed as a test.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const sparkDir = import.meta.dirname;
const source = join(sparkDir, 'src/tributary/compat/SparkKafkaJob.java');

function run(cmd: string, args: string[], timeoutMs: number): { ok: boolean; output: string } {
  const r = spawnSync(cmd, args, { cwd: sparkDir, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/**
 * The classpath (the compiled program first), or `SKIP: <why>`. In CI (.ci/run installs Java and
 * Maven) a missing tool is an error; an unreachable Maven Central skips there too, as every part
 * of the compat layer does.
 */
export function sparkSetup(): string {
  if (process.env.TRIBUTARY_SKIP_JAVA) return 'SKIP: TRIBUTARY_SKIP_JAVA is set';
  for (const [cmd, arg] of [
    ['java', '-version'],
    ['javac', '-version'],
    ['mvn', '-v'],
  ] as const) {
    if (run(cmd, [arg], 60_000).ok) continue;
    const why = `no \`${cmd}\` on PATH (apt-get install ${cmd === 'mvn' ? 'maven' : 'default-jdk-headless'})`;
    if (process.env.CI) throw new Error(`${why}: .ci/run installs it`);
    return `SKIP: ${why}`;
  }
  const hash = createHash('sha256')
    .update(readFileSync(join(sparkDir, 'pom.xml')))
    .update(readFileSync(source))
    .digest('hex')
    .slice(0, 16);
  const cache = join(homedir(), '.cache', 'tributary', 'compat-spark', hash);
  const cpFile = join(cache, 'cp.txt');
  if (!existsSync(join(cache, 'ready'))) {
    rmSync(cache, { recursive: true, force: true });
    mkdirSync(cache, { recursive: true });
    const args = ['-q', '-B', '-Dstyle.color=never', 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`];
    // Offline first (a warm ~/.m2 needs no network), then from Maven Central.
    if (!run('mvn', ['-o', ...args], 300_000).ok) {
      const online = run('mvn', args, 590_000);
      if (!online.ok) {
        const why = online.output
          .split('\n')
          .filter((l) => l.includes('ERROR'))
          .slice(0, 2)
          .join(' ')
          .slice(0, 400);
        return `SKIP: Maven could not resolve Spark's dependencies (Maven Central unreachable?): ${why}`;
      }
    }
    const classes = join(cache, 'classes.tmp');
    const javac = run('javac', ['-nowarn', '-encoding', 'UTF-8', '-d', classes, '-cp', readFileSync(cpFile, 'utf8').trim(), source], 300_000);
    if (!javac.ok) throw new Error(`javac failed:\n${javac.output}`);
    renameSync(classes, join(cache, 'classes'));
    writeFileSync(join(cache, 'ready'), new Date().toISOString());
  }
  return `${join(cache, 'classes')}:${readFileSync(cpFile, 'utf8').trim()}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const cp = sparkSetup();
  if (cp.startsWith('SKIP: ')) {
    console.log(`spark: ${cp}`);
    process.exitCode = 1;
  } else console.log(`spark: ${cp.split(':').length - 1} jars resolved, program compiled`);
}
