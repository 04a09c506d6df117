// Apache Flink 2.2 with its Kafka connector (flink-connector-kafka 5.0.0-2.2) against a Tributary
// broker process, in a local mini-cluster: a bounded KafkaSource and an exactly-once KafkaSink
// (src/tributary/compat/FlinkKafkaJob.java). Maven resolves pom.xml's dependencies into ~/.m2;
// javac compiles once per content hash into ~/.cache/tributary/compat-flink/<hash>/. Without
// Java, Maven or Maven Central the test is skipped with the reason.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';

const dir = join(repoRoot, 'test/compat/flink');
const source = join(dir, 'src/tributary/compat/FlinkKafkaJob.java');

function run(cmd: string, args: string[], timeoutMs: number): { ok: boolean; output: string } {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

/** The classpath (compiled job first), or why the test cannot run here. */
function setup(): string {
  if (!run('java', ['-version'], 30_000).ok || !run('javac', ['-version'], 30_000).ok) return 'SKIP: no java/javac on PATH';
  if (!run('mvn', ['-v'], 60_000).ok) return 'SKIP: no mvn on PATH';
  const hash = createHash('sha256')
    .update(readFileSync(join(dir, 'pom.xml')))
    .update(readFileSync(source))
    .digest('hex')
    .slice(0, 16);
  const cache = join(homedir(), '.cache', 'tributary', 'compat-flink', hash);
  const cpFile = join(cache, 'cp.txt');
  if (!existsSync(join(cache, 'ready'))) {
    rmSync(cache, { recursive: true, force: true });
    mkdirSync(cache, { recursive: true });
    const args = ['-q', '-B', 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`];
    // Offline first (a warm ~/.m2 needs no network), then from Maven Central.
    if (!run('mvn', ['-o', ...args], 300_000).ok) {
      const online = run('mvn', args, 590_000);
      if (!online.ok)
        return `SKIP: Maven could not resolve Flink's dependencies (Maven Central unreachable?): ${online.output
          .split('\n')
          .filter((l) => l.includes('ERROR'))
          .slice(0, 2)
          .join(' ')
          .slice(0, 400)}`;
    }
    const classes = join(cache, 'classes.tmp');
    const javac = run('javac', ['-nowarn', '-encoding', 'UTF-8', '-d', classes, '-cp', readFileSync(cpFile, 'utf8').trim(), source], 300_000);
    if (!javac.ok) throw new Error(`javac failed:\n${javac.output}`);
    renameSync(classes, join(cache, 'classes'));
    writeFileSync(join(cache, 'ready'), new Date().toISOString());
  }
  return `${join(cache, 'classes')}:${readFileSync(cpFile, 'utf8').trim()}`;
}

// What Flink's own launch scripts open up on Java 17.
const OPENS = ['java.util', 'java.lang', 'java.lang.reflect', 'java.io', 'java.net', 'java.nio', 'sun.nio.ch', 'java.util.concurrent', 'java.time', 'java.text'].map(
  (p) => `--add-opens=java.base/${p}=ALL-UNNAMED`,
);

function runJob(cp: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('java', ['-Xmx768m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', ...OPENS, '-cp', cp, 'tributary.compat.FlinkKafkaJob', ...args], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.toString()));
    child.stderr.on('data', (d) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const cp = process.env.TRIBUTARY_SKIP_JAVA ? 'SKIP: TRIBUTARY_SKIP_JAVA is set' : setup();
const skip = cp.startsWith('SKIP: ') ? `flink: ${cp.slice(6)}` : false;
if (skip) console.log(`# SKIP ${skip}`);

describe('Apache Flink 2.2 Kafka connector', { skip }, () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBrokerProcess();
  });
  after(async () => {
    await broker?.stop();
    broker?.cleanup();
  });

  test('a KafkaSource and an exactly-once KafkaSink in a mini-cluster: every record once, committed', async () => {
    const r = await runJob(cp, [broker.bootstrap, 'flink-in', 'flink-out', '3000'], 300_000);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr.slice(-6000)}`);
    assert.equal(summary.committed, 3000, r.stdout);
    assert.equal(summary.distinct, 3000);
    assert.equal(summary.upper, true);
    // Nothing but committed transactions: read_uncommitted sees exactly as much.
    assert.equal(summary.uncommitted, 3000);
    assert.ok(summary.txnIds > 0, 'the sink wrote through transactional ids');
    assert.equal(summary.openTxns, 0, 'no transaction left open');
  });
});
