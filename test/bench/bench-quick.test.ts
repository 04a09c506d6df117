import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../helpers/broker-process.js';

interface Doc {
  quick: boolean;
  machine: { cpus: number };
  versions: { kafka?: string };
  settings: Record<string, string>;
  samples: { workload: string; target: string; round: number; metrics: Record<string, number> }[];
  rows: { workload: string; metric: string; ratio?: { median: number; min: number; max: number; n: number } }[];
}

const readDoc = (dir: string, file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as Doc;

/**
 * How many records a 1-partition consumer of `target` reads in `round`: the round's largest
 * 1-partition topic of 100 B, franz-go's where Go built its load generator, else 100,000.
 */
function filledRecords(doc: Doc, target: string, round: number): number {
  const franzGo = doc.samples.find((s) => s.workload === 'produce 1p 100B acks=1 (franz-go)' && s.target === target && s.round === round);
  return Math.max(100_000, franzGo?.metrics.records ?? 0);
}

function assertWellFormed(doc: Doc): void {
  for (const res of doc.samples) {
    for (const [k, v] of Object.entries(res.metrics)) assert.ok(Number.isFinite(v) && v >= 0, `${res.workload} ${res.target} ${k} = ${v}`);
  }
}

// Checks the harness produces a well-formed result file; speed itself is never asserted here.
test('npm run bench -- --quick writes a well-formed result file', () => {
  const out = tempDir('tributary-bench-out-');
  try {
    const r = spawnSync('npm', ['run', '--silent', 'bench', '--', '--quick', '--only', 'produce,consume,latency', '--out', out], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('.json'));
    assert.ok(json, `a JSON result in ${files.join(', ')}`);
    assert.ok(
      files.some((f) => f.endsWith('.md')),
      'a Markdown table',
    );
    const doc = readDoc(out, json);
    assert.equal(doc.quick, true);
    assert.ok(doc.machine.cpus >= 1);
    const workloads = new Set(doc.samples.map((x) => x.workload));
    for (const w of ['footprint', 'produce 1p 100B acks=1 (kcat)', 'produce 6p 1KiB acks=all (kcat)', 'consume 1p 100B (kcat)', 'e2e latency 1000/s (librdkafka)']) {
      assert.ok(workloads.has(w), `workload ${w} reported`);
    }
    assertWellFormed(doc);
    for (const consumed of doc.samples.filter((x) => x.workload === 'consume 1p 100B (kcat)')) {
      assert.equal(consumed.metrics.records, filledRecords(doc, consumed.target, consumed.round), 'the consumer read back every pre-filled record');
    }
    for (const latency of doc.samples.filter((x) => x.workload === 'e2e latency 1000/s (librdkafka)')) {
      assert.equal(latency.metrics.received, latency.metrics.sent, 'every latency probe came back');
    }
    // Two measured rounds after the warm-up.
    assert.deepEqual([...new Set(doc.samples.filter((x) => x.workload.startsWith('produce')).map((x) => x.round))].sort(), [1, 2]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

// The Kafka half: Apache Kafka resolved from Maven Central (cached in ~/.cache/tributary and
// ~/.m2), started and stopped by the harness, the same short load alternated on both. Skipped,
// with the reason, where Maven or Java is missing or Maven Central cannot be reached.
test('npm run bench -- --quick --against kafka reports ratios against Apache Kafka', async (t) => {
  for (const tool of ['mvn', 'java']) {
    if (spawnSync(tool, ['-version'], { encoding: 'utf8' }).error) return t.skip(`${tool} is not installed: the Kafka side-by-side smoke is skipped`);
  }
  const out = tempDir('tributary-bench-kafka-');
  try {
    const r = spawnSync('npm', ['run', '--silent', 'bench', '--', '--quick', '--against', 'kafka', '--rounds', '1', '--only', 'produce,consume,latency,tls', '--out', out], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 600_000,
    });
    if (r.status !== 0 && /Maven could not resolve|cannot run mvn/.test(r.stderr)) {
      return t.skip(`Apache Kafka could not be resolved from Maven Central, the Kafka side-by-side smoke is skipped: ${r.stderr.trim().split('\n').pop()}`);
    }
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    const json = readdirSync(out).find((f) => f.endsWith('.json'));
    assert.ok(json, 'a JSON result');
    const doc = readDoc(out, json);
    assert.match(doc.versions.kafka ?? '', /^4\./);
    assert.equal(doc.settings['group.initial.rebalance.delay.ms'], '0');
    assertWellFormed(doc);
    for (const w of ['produce 1p 100B acks=1 (ProducerPerformance)', 'consume 1p 100B (ConsumerPerformance)', 'e2e latency, 1 in flight, 100 B (EndToEndLatency)']) {
      for (const target of ['tributary', 'kafka']) {
        assert.ok(
          doc.samples.some((s) => s.workload === w && s.target === target),
          `${w} on ${target}`,
        );
      }
    }
    for (const s of doc.samples.filter((x) => x.workload === 'consume 1p 100B (ConsumerPerformance)')) {
      assert.equal(s.metrics.records, filledRecords(doc, s.target, s.round), `${s.target}: ConsumerPerformance read every record`);
    }
    // Each broker's request counts (Tributary's /metrics, Kafka's JMX): produces were answered,
    // and every round trip took at least one fetch.
    for (const s of doc.samples.filter((x) => x.workload === 'e2e latency, 1 in flight, 100 B (EndToEndLatency)')) {
      assert.ok(s.metrics.fetches_per_round! >= 1, `${s.target}: fetches per round trip`);
      assert.ok(s.metrics.produce_requests! > 0, `${s.target}: the Produce requests answered`);
    }
    for (const s of doc.samples.filter((x) => x.workload === 'produce 1p 100B acks=1 (ProducerPerformance)')) {
      assert.ok(s.metrics.produce_requests! > 0, `${s.target}: the Produce requests answered`);
    }
    // TLS: both brokers' SSL listeners took kcat's records, and franz-go's (where Go built it),
    // which it read back whole.
    const withFranzGo = doc.samples.some((s) => s.workload.endsWith('(franz-go)'));
    for (const target of ['tributary', 'kafka']) {
      const tls = (w: string) => doc.samples.find((s) => s.workload === w && s.target === target);
      assert.ok(tls('tls produce 6p 1KiB acks=1 (kcat)'), `TLS kcat produce on ${target}`);
      if (!withFranzGo) continue;
      const produced = tls('tls produce 6p 1KiB acks=1 (franz-go)');
      assert.ok(produced && produced.metrics.records! > 0, `TLS franz-go produce on ${target}`);
      assert.equal(tls('tls consume 6p 1KiB (franz-go)')?.metrics.records, produced.metrics.records, `TLS franz-go consume on ${target}`);
    }
    const ratio = doc.rows.find((x) => x.workload === 'produce 1p 100B acks=1 (ProducerPerformance)' && x.metric === 'records_per_s')?.ratio;
    assert.ok(ratio && ratio.median > 0 && ratio.n === 1, 'a throughput ratio, paired by round');
    const fp = doc.samples.filter((x) => x.workload === 'footprint');
    assert.equal(fp.length, 2);
    for (const f of fp) assert.ok(f.metrics.cold_start_to_first_produce_ms! > 0 && f.metrics.idle_rss_mib! > 0, `${f.target} footprint`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
