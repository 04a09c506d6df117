import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';

// Debian's python3-confluent-kafka and python3-kafka live in the system interpreter.
const PYTHON = '/usr/bin/python3';

function runPython(script: string, args: string[]): { status: number | null; summary: Record<string, unknown>; stderr: string } {
  const r = spawnSync(PYTHON, [join(repoRoot, 'test/clients', script), ...args], { encoding: 'utf8', timeout: 120_000 });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let summary: Record<string, unknown> = {};
  try {
    summary = JSON.parse(last) as Record<string, unknown>;
  } catch {
    summary = { unparsed: r.stdout };
  }
  return { status: r.status, summary, stderr: r.stderr ?? '' };
}

describe('Python clients', () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBrokerProcess({ overrides: { 'num.partitions': '3' } });
  });
  after(async () => {
    await broker.stop();
    broker.cleanup();
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    test(`confluent-kafka-python idempotent round trip (${codec})`, () => {
      const r = runPython('confluent_roundtrip.py', [broker.bootstrap, `ck-${codec}`, '3000', '3', codec]);
      assert.equal(r.status, 0, JSON.stringify(r.summary) + r.stderr);
      assert.deepEqual(r.summary, { produced: 3000, consumed: 3000, ok: true });
    });
  }

  for (const codec of ['none', 'gzip']) {
    test(`kafka-python round trip (${codec})`, () => {
      const r = runPython('kafka_python_roundtrip.py', [broker.bootstrap, `kp-${codec}`, '1000', codec]);
      assert.equal(r.status, 0, JSON.stringify(r.summary) + r.stderr);
      assert.deepEqual(r.summary, { produced: 1000, consumed: 1000, ok: true });
    });
  }
});
