import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { suiteBroker } from '../helpers/broker.js';
import { runPython } from '../helpers/python-clients.js';

function kcat(args: string[], input?: string): string {
  const r = spawnSync('kcat', args, { encoding: 'utf8', input, timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('consumer groups with librdkafka, kafka-python and kcat', () => {
  const broker = suiteBroker({ process: true, config: { 'group.initial.rebalance.delay.ms': '0', 'num.partitions': '4' } });

  test('confluent-kafka-python, eager range assignment: two consumers split the partitions', () => {
    const r = runPython('groups_confluent.py', ['split', broker.bootstrap, 'py-range', 'py-range-group', 'range']);
    assert.equal(r.status, 0, r.output);
    // Eager: the first member gives up everything before the new assignment.
    assert.deepEqual(r.summary, { ok: true, consumed: 400, committed: [100, 100, 100, 100], firstMemberRevoked: [4] });
  });

  test('confluent-kafka-python, cooperative-sticky: only the moved partitions are revoked', () => {
    const r = runPython('groups_confluent.py', ['split', broker.bootstrap, 'py-coop', 'py-coop-group', 'cooperative-sticky']);
    assert.equal(r.status, 0, r.output);
    assert.deepEqual(r.summary, { ok: true, consumed: 400, committed: [100, 100, 100, 100], firstMemberRevoked: [2] });
  });

  test('confluent-kafka-python static membership: a restart keeps the assignment, the other member sees no rebalance', () => {
    const r = runPython('groups_confluent.py', ['static', broker.bootstrap, 'py-static', 'py-static-group']);
    assert.equal(r.status, 0, r.output);
    assert.equal(r.summary.sameAssignment, true, r.output);
    assert.equal(r.summary.otherAssignCallbacks, 0, r.output);
    assert.equal(r.summary.otherRevokeCallbacks, 0, r.output);
  });

  test('confluent-kafka-python: AdminClient.list_groups and consumer lag', () => {
    const r = runPython('groups_confluent.py', ['lag', broker.bootstrap, 'py-lag', 'py-lag-group']);
    assert.equal(r.status, 0, r.output);
    assert.deepEqual(r.summary, {
      ok: true,
      group: { id: 'py-lag-group', state: 'Stable', protocol_type: 'consumer', protocol: 'range', members: 1 },
      lag: [0, 0, 20, 25],
    });
  });

  test('kafka-python: group consumption, commit, admin list/describe/offsets/delete', () => {
    kcat(['-P', '-b', broker.bootstrap, '-t', 'kp-groups', '-K:'], Array.from({ length: 120 }, (_, i) => `k${i}:v${i}`).join('\n') + '\n');
    const c = runPython('groups_kafka_python.py', ['consume', broker.bootstrap, 'kp-groups', 'kp-group', '120']);
    assert.equal(c.status, 0, c.output);
    assert.equal(c.summary.consumed, 120);
    assert.equal(c.summary.distinct, 120);
    const committed = c.summary.committed as number[];
    assert.equal(
      committed.reduce((a, b) => a + b, 0),
      120,
    );
    const a = runPython('groups_kafka_python.py', ['admin', broker.bootstrap, 'kp-groups', 'kp-group']);
    assert.equal(a.status, 0, a.output);
    assert.deepEqual(a.summary, { ok: true, listed: [['kp-group', 'consumer']], state: 'Empty', protocolType: 'consumer', members: 0, committed, listedAfterDelete: 0 });
  });

  test('kcat balanced consumer (-G) reads everything, and a rerun resumes after the commits', () => {
    kcat(['-P', '-b', broker.bootstrap, '-t', 'kcat-groups', '-p', '0'], Array.from({ length: 50 }, (_, i) => `a${i}`).join('\n') + '\n');
    kcat(['-P', '-b', broker.bootstrap, '-t', 'kcat-groups', '-p', '3'], Array.from({ length: 50 }, (_, i) => `b${i}`).join('\n') + '\n');
    const args = ['-b', broker.bootstrap, '-G', 'kcat-group', 'kcat-groups', '-X', 'auto.offset.reset=earliest', '-X', 'session.timeout.ms=6000', '-e', '-q'];
    const first = kcat(args).trim().split('\n').filter(Boolean);
    assert.equal(first.length, 100);
    assert.equal(new Set(first).size, 100);
    const again = kcat(args).trim().split('\n').filter(Boolean);
    assert.deepEqual(again, [], 'the second run starts at the committed offsets');
  });
});
