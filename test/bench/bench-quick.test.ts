import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../helpers/broker-process.js';

// Checks the harness produces a well-formed result file; speed itself is never asserted here.
test('npm run bench -- --quick writes a well-formed result file', () => {
  const out = tempDir('tributary-bench-out-');
  try {
    const r = spawnSync('npm', ['run', '--silent', 'bench', '--', '--quick', '--only', 'produce,consume,latency', '--out', out], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 240_000,
    });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('.json'));
    assert.ok(json, `a JSON result in ${files.join(', ')}`);
    assert.ok(files.some((f) => f.endsWith('.md')), 'a Markdown table');
    const doc = JSON.parse(readFileSync(join(out, json), 'utf8')) as {
      quick: boolean;
      machine: { cpus: number };
      results: { workload: string; target: string; metrics: Record<string, number> }[];
    };
    assert.equal(doc.quick, true);
    assert.ok(doc.machine.cpus >= 1);
    const workloads = new Set(doc.results.map((x) => x.workload));
    for (const w of ['footprint', 'produce 1p 100B acks=1', 'produce 1p 100B acks=all', 'produce 6p 100B acks=1', 'consume 1p 100B', 'e2e latency 1000/s']) {
      assert.ok(workloads.has(w), `workload ${w} reported`);
    }
    for (const res of doc.results) {
      for (const [k, v] of Object.entries(res.metrics)) assert.ok(Number.isFinite(v) && v >= 0, `${res.workload} ${k} = ${v}`);
    }
    const consumed = doc.results.find((x) => x.workload === 'consume 1p 100B')!;
    assert.equal(consumed.metrics.records, 200_000, 'the consumer read back every pre-filled record');
    const latency = doc.results.find((x) => x.workload === 'e2e latency 1000/s')!;
    assert.equal(latency.metrics.received, latency.metrics.sent, 'every latency probe came back');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
