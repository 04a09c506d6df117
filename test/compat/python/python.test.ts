// confluent-kafka-python 2.x and aiokafka from PyPI (requirements.txt beside this file), in the venv
// .ci/run builds under ~/.cache/tributary/venv; Debian's python3-confluent-kafka 1.x stays what
// test/clients/ uses. Without the venv (PyPI unreachable) the tests are skipped with the reason.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { runPythonFile } from '../../helpers/python-clients.js';

const VENV_PYTHON = join(process.env.TRIBUTARY_VENV ?? join(homedir(), '.cache/tributary/venv'), 'bin/python');
const dir = join(repoRoot, 'test/compat/python');

function missing(module: string): string | null {
  if (!existsSync(VENV_PYTHON)) return `no venv at ${VENV_PYTHON} (.ci/run builds it from PyPI)`;
  const r = spawnSync(VENV_PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' });
  return r.status === 0 ? null : `${module} is not installed in the venv (PyPI unreachable?): ${r.stderr.trim().split('\n').pop()}`;
}

// The scripts' summaries are free-form JSON, read field by field below.
const run = async (script: string, args: string[]): Promise<{ status: number | null; summary: any; output: string }> =>
  runPythonFile(VENV_PYTHON, join(dir, script), args, 180_000);

const skipConfluent = missing('confluent_kafka');
const skipAio = missing('aiokafka');
for (const s of [skipConfluent, skipAio]) if (s) console.log(`# SKIP ${s}`);

describe('Python clients from PyPI', () => {
  let broker: BrokerProcess;
  before(async () => {
    if (skipConfluent && skipAio) return;
    broker = await startBrokerProcess({ overrides: { 'log.retention.hours': '72' } });
  });
  after(async () => {
    await broker?.stop();
    broker?.cleanup();
  });

  test('confluent-kafka 2.x: admin APIs, a two-member group, transactions', { skip: skipConfluent ?? false }, async () => {
    const r = await run('confluent2_admin.py', [broker.bootstrap, 'ck2']);
    assert.equal(r.status, 0, r.output);
    const s = r.summary;
    assert.equal(s.version.split('.')[0], '2', r.output);
    assert.deepEqual(s.describe_topic, { partitions: 4, has_id: true, internal: false, leader: 1, isr: [1] });
    assert.equal(s.describe_missing, 'UNKNOWN_TOPIC_OR_PART');
    assert.deepEqual(s.cluster, { nodes: 1, controller: 1, has_id: true });
    // Record i of a partition carries timestamp base + i s: the first at or after base + 5.5 s is 6.
    assert.deepEqual(s.list_offsets, { earliest: 0, latest: 20, max_ts: [19, s.max_ts_expected], for_ts: 6 });
    assert.equal(s.list_offsets_committed, 20);
    assert.equal(s.delete_records, 7);
    assert.equal(s.delete_records_beyond, 'OFFSET_OUT_OF_RANGE');
    assert.equal(s.earliest_after_delete, 7);
    // librdkafka's ConfigSource: 1 DYNAMIC_TOPIC_CONFIG, 4 STATIC_BROKER_CONFIG, 5 DEFAULT_CONFIG.
    assert.deepEqual(s.incremental_set, ['7200000', 1, 'compact']);
    assert.deepEqual(s.incremental_delete, [String(72 * 3600_000), 4, 'compact'], 'back to the broker value given at start-up');
    assert.equal(s.incremental_bad, 'INVALID_CONFIG');
    assert.deepEqual(s.broker_static, ['72', 4, 5]);
    assert.equal(s.group_consumed, true, r.output);
    assert.deepEqual(s.assignment_sizes, [2, 2]);
    assert.deepEqual(s.describe_group, { state: 'STABLE', members: 2, assignor: 'range', simple: false, assigned: 4 });
    assert.equal(s.list_groups_has, true);
    // Partition 0 starts at 7 after delete_records; every partition was read to 20 and committed.
    assert.deepEqual(
      s.group_offsets_all,
      [0, 1, 2, 3].map((p) => [true, p, 20]),
    );
    // A partition the topic does not have answers librdkafka's "no offset" (-1001).
    assert.deepEqual(s.group_offsets_some, [
      [1, 20],
      [9, -1001],
    ]);
    assert.equal(s.delete_live_group, 'NON_EMPTY_GROUP');
    assert.deepEqual(s.alter_group_offsets, [[2, 3, true]]);
    assert.deepEqual(s.after_alter, [3]);
    assert.equal(s.after_delete, 'DEAD');
    assert.deepEqual(s.txn_read_committed, ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9']);
    // The consumer's positions, committed in the transaction: past the 5 committed records of
    // each partition (and maybe past the commit marker).
    assert.equal(s.txn_group_offsets.length, 2, r.output);
    for (const [p, o] of s.txn_group_offsets) assert.ok(o === 5 || o === 6, `partition ${p} offset ${o}`);
    assert.equal(s.delete_topic, true);
  });

  test('confluent-kafka 2.x with group.protocol=consumer (KIP-848): no partition owned twice', { skip: skipConfluent ?? false }, async () => {
    const r = await run('confluent2_kip848.py', [broker.bootstrap, 'k848']);
    assert.equal(r.status, 0, r.output);
    const s = r.summary;
    assert.deepEqual(s.a_alone, [0, 1, 2, 3], r.output);
    assert.deepEqual(s.split, [2, 2], r.output);
    assert.equal(s.consumed, 100, r.output);
    assert.deepEqual(s.committed, [25, 25, 25, 25], r.output);
    assert.deepEqual(s.b_after_leave, [0, 1, 2, 3], r.output);
    assert.deepEqual(s.violations, []);
  });

  test('aiokafka: idempotent produce with every codec, a two-member group, transactions', { skip: skipAio ?? false }, async () => {
    const r = await run('aiokafka_compat.py', [broker.bootstrap, 'aio']);
    assert.equal(r.status, 0, r.output);
    const s = r.summary;
    for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
      assert.deepEqual(s.codecs[codec], { acked: 200, read: 200, distinct: 200, headers: true }, codec);
    }
    assert.deepEqual(s.group, { seen: 400, assignment_sizes: [2, 2], committed: 400, state_after_leave: 'Empty' });
    assert.deepEqual(s.txn_committed, ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9', 'with-offsets']);
    assert.equal(s.txn_uncommitted_count, 21);
    assert.deepEqual(s.txn_offsets, { 'aio-group:0': 42 });
  });
});
