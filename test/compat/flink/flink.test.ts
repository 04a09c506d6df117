// Apache Flink 2.2 with its Kafka connector (flink-connector-kafka 5.0.0-2.2) against a Tributary
// broker process, in a local mini-cluster: a bounded KafkaSource and an exactly-once KafkaSink
// (src/tributary/compat/FlinkKafkaJob.java). Maven resolves pom.xml's dependencies into ~/.m2;
// javac compiles once per content hash into ~/.cache/tributary/compat-flink/<hash>/. Without
// Java, Maven or Maven Central the test is skipped with the reason.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { mavenProgram, missingJavaTool } from '../maven-program.js';
import { repoRoot, startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';

const dir = join(repoRoot, 'test/compat/flink');
const source = join(dir, 'src/tributary/compat/FlinkKafkaJob.java');

/** The classpath (compiled job first), or why the test cannot run here. */
function setup(): string {
  const missing = missingJavaTool(dir);
  if (missing) return `SKIP: ${missing}`;
  return mavenProgram(dir, [source], 'compat-flink', "Flink's dependencies");
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
