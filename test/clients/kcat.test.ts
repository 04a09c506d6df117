import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { suiteBroker } from '../helpers/broker.js';

function kcat(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('kcat', args, { input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

describe('kcat (librdkafka)', () => {
  const broker = suiteBroker({ process: true, config: { 'num.partitions': '1' } });

  test('-L lists the broker and an auto-created topic', () => {
    const produce = kcat(['-b', broker.bootstrap, '-P', '-t', 'kcat-meta'], 'hello\n');
    assert.equal(produce.status, 0, produce.stderr);
    const r = kcat(['-b', broker.bootstrap, '-L', '-J']);
    assert.equal(r.status, 0, r.stderr);
    const meta = JSON.parse(r.stdout) as { brokers: { id: number; name: string }[]; topics: { topic: string; partitions: { partition: number; leader: number }[] }[] };
    assert.equal(meta.brokers.length, 1);
    assert.equal(meta.brokers[0]!.name, broker.bootstrap);
    const topic = meta.topics.find((t) => t.topic === 'kcat-meta');
    assert.ok(topic, 'auto-created topic is listed');
    assert.equal(topic.partitions.length, 1);
    assert.equal(topic.partitions[0]!.leader, meta.brokers[0]!.id);
  });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    test(`produce and consume with -z ${codec}`, () => {
      const topic = `kcat-${codec}`;
      const lines = Array.from({ length: 500 }, (_, i) => `key${i}:value-${codec}-${i}`);
      const p = kcat(['-b', broker.bootstrap, '-P', '-t', topic, '-K', ':', '-z', codec, '-X', 'linger.ms=20'], lines.join('\n') + '\n');
      assert.equal(p.status, 0, p.stderr);
      const c = kcat(['-b', broker.bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-f', '%o %k %s\n']);
      assert.equal(c.status, 0, c.stderr);
      const got = c.stdout.trim().split('\n');
      assert.equal(got.length, 500);
      got.forEach((line, i) => assert.equal(line, `${i} key${i} value-${codec}-${i}`));
    });
  }
});
