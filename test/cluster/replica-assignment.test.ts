import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignReplicas, checkManualAssignment } from '../../src/cluster/replica-assignment.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { rng as mulberry32 } from '../helpers/rng.js';

const brokers = (ids: number[], racks?: string[]) => ids.map((nodeId, i) => ({ nodeId, rack: racks ? racks[i]! : null }));

test('leaders go round robin and every partition gets distinct replicas', () => {
  const a = assignReplicas(brokers([1, 2, 3]), 6, 2, { random: () => 0 });
  assert.deepEqual(
    a.map((r) => r[0]),
    [1, 2, 3, 1, 2, 3],
  );
  for (const r of a) assert.equal(new Set(r).size, 2);
  // Followers shift once the round robin wraps, so the pairs differ between rounds.
  assert.notDeepEqual(a.slice(0, 3), a.slice(3, 6));
  const counts = new Map<number, number>();
  for (const r of a) for (const b of r) counts.set(b, (counts.get(b) ?? 0) + 1);
  assert.deepEqual([...counts.values()], [4, 4, 4]);
});

test('replication factor equal to the broker count puts every broker in each partition', () => {
  const rng = mulberry32(7);
  for (const r of assignReplicas(brokers([5, 3, 9]), 10, 3, { random: rng })) assert.deepEqual([...r].sort(), [3, 5, 9]);
});

test('rack-aware placement spreads a partition over racks', () => {
  const bs = brokers([1, 2, 3, 4, 5, 6], ['a', 'a', 'b', 'b', 'c', 'c']);
  const rack = new Map(bs.map((b) => [b.nodeId, b.rack]));
  const rng = mulberry32(42);
  for (const rf of [2, 3]) {
    for (const r of assignReplicas(bs, 12, rf, { random: rng })) assert.equal(new Set(r.map((b) => rack.get(b))).size, rf, `replicas ${r} of rf ${rf}`);
  }
  // More replicas than racks: every rack used, no broker twice.
  for (const r of assignReplicas(bs, 12, 4, { random: rng })) {
    assert.equal(new Set(r).size, 4);
    assert.equal(new Set(r.map((b) => rack.get(b))).size, 3);
  }
});

test('too few brokers, mixed rack information and bad manual assignments are refused with Kafka codes', () => {
  assert.throws(
    () => assignReplicas(brokers([1, 2]), 1, 3),
    (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_REPLICATION_FACTOR,
  );
  assert.throws(
    () =>
      assignReplicas(
        [
          { nodeId: 1, rack: 'a' },
          { nodeId: 2, rack: null },
        ],
        1,
        1,
      ),
    (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_REPLICATION_FACTOR,
  );
  assert.throws(
    () => checkManualAssignment([1, 1], new Set([1, 2])),
    (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.INVALID_REPLICA_ASSIGNMENT,
  );
  assert.throws(
    () => checkManualAssignment([1, 7], new Set([1, 2])),
    (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.BROKER_NOT_AVAILABLE,
  );
  checkManualAssignment([2, 1], new Set([1, 2]));
});

test('CreatePartitions continues the round robin from the existing count', () => {
  const all = assignReplicas(brokers([1, 2, 3]), 6, 1, { random: () => 0 });
  const tail = assignReplicas(brokers([1, 2, 3]), 3, 1, { random: () => 0, firstPartition: 3 });
  assert.deepEqual(tail, all.slice(3));
});
