// The JSON admin API under /api/v1 of a broker process, beyond what the browser test covers:
// pagination of long lists, Kafka's errors as HTTP statuses, browsing by time, produce with a base64
// payload, resetting offsets of a group with live members (refused, as Kafka does), configs, and a
// transaction left open by a real transactional producer (kafkajs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { waitUntil } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

describe('admin API', () => {
  let broker: BrokerProcess;
  let kafka: InstanceType<typeof Kafka>;
  before(async () => {
    broker = await startBrokerProcess({ overrides: { 'group.initial.rebalance.delay.ms': '0' } });
    kafka = new Kafka({ clientId: 'admin-api-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await broker?.stop();
    broker?.cleanup();
  });

  const call = async <T = Record<string, unknown>>(path: string, method = 'GET', body?: unknown) => {
    const res = await fetch(`${broker.httpUrl}/api/v1/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as T };
  };

  test('topics and partitions paginate; Kafka errors are HTTP statuses', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await call('topics', 'POST', { name: `page-${i}`, partitions: 1 })).status, 201);
    assert.equal((await call('topics', 'POST', { name: 'wide', partitions: 250 })).status, 201);
    const p1 = await call<{ total: number; offset: number; limit: number; topics: { name: string }[] }>('topics?search=page-&limit=2&offset=2');
    assert.deepEqual([p1.body.total, p1.body.offset, p1.body.limit], [5, 2, 2]);
    assert.deepEqual(
      p1.body.topics.map((t) => t.name),
      ['page-2', 'page-3'],
    );
    const wide = await call<{ total: number; partitions: { partition: number; leader: number; isr: number[] }[] }>('topics/wide?offset=240&limit=100');
    assert.equal(wide.body.total, 250);
    assert.deepEqual(
      wide.body.partitions.map((p) => p.partition),
      Array.from({ length: 10 }, (_, i) => 240 + i),
    );
    assert.deepEqual(wide.body.partitions[0]!.isr, [1]);

    const dup = await call('topics', 'POST', { name: 'page-0', partitions: 1 });
    assert.deepEqual([dup.status, dup.body.errorCode], [400, 'TOPIC_ALREADY_EXISTS']);
    const badConfig = await call('topics', 'POST', { name: 'bad', configs: { 'cleanup.policy': 'sometimes' } });
    assert.deepEqual([badConfig.status, badConfig.body.errorCode], [400, 'INVALID_CONFIG']);
    assert.equal((await call('topics/nope')).status, 404);
    assert.deepEqual((await call('topics/nope', 'DELETE')).body.errorCode, 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal((await call('topics/page-0/messages', 'POST', { partition: 7, value: 'x' })).status, 404, 'no partition 7');
  });

  test('produce (base64 too), and browse by time and offset', async () => {
    await call('topics', 'POST', { name: 'timeline', partitions: 1 });
    const producer = kafka.producer();
    await producer.connect();
    const t0 = Date.now() - 60_000;
    // Three records with known CreateTime timestamps a minute apart.
    await producer.send({ topic: 'timeline', messages: [0, 1, 2].map((i) => ({ value: `v${i}`, timestamp: String(t0 + i * 20_000) })) });
    await producer.disconnect();
    const bin = Buffer.from([0, 1, 2, 250, 255]);
    const produced = await call<{ offset: number }>('topics/timeline/messages', 'POST', { value: bin.toString('base64'), key: 'AA==', encoding: 'base64' });
    assert.deepEqual([produced.status, produced.body.offset], [201, 3]);
    type Page = { messages: { offset: number; key: string | null; value: string }[]; latestOffset: number };
    const at = await call<Page>(`topics/timeline/messages?timestamp=${t0 + 10_000}`);
    assert.deepEqual(
      at.body.messages.map((m) => m.offset),
      [1, 2, 3],
      'from the first record at or after the time',
    );
    assert.equal(Buffer.from(at.body.messages[2]!.value, 'base64').compare(bin), 0);
    const iso = await call<Page>(`topics/timeline/messages?timestamp=${encodeURIComponent(new Date(t0 + 30_000).toISOString())}&limit=1`);
    assert.deepEqual(
      iso.body.messages.map((m) => m.offset),
      [2],
    );
    const newest = await call<Page>('topics/timeline/messages?limit=2');
    assert.deepEqual(
      newest.body.messages.map((m) => m.offset),
      [2, 3],
    );
    assert.equal((await call('topics/timeline/messages?timestamp=yesterday')).status, 400);
  });

  test('a reset is refused while the group has members; configs change through the API', async () => {
    const consumer = kafka.consumer({ groupId: 'busy', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.subscribe({ topic: 'timeline', fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });
    await joined;
    try {
      const g = await call<{ state: string; members: { clientId: string; assignment: { topic: string; partitions: number[] }[] }[] }>('groups/busy');
      assert.equal(g.body.state, 'Stable');
      assert.deepEqual(g.body.members[0]!.assignment, [{ topic: 'timeline', partitions: [0] }]);
      const reset = await call('groups/busy/offsets/reset', 'POST', { topic: 'timeline', to: 'earliest' });
      assert.equal(reset.status, 409, JSON.stringify(reset.body));
      assert.match(String(reset.body.error), /active members/);
    } finally {
      await consumer.disconnect();
    }
    const ok = await call<{ offsets: { partition: number; offset: number }[] }>('groups/busy/offsets/reset', 'POST', { topic: 'timeline', to: 'offset', offset: 99 });
    assert.deepEqual(ok.body.offsets, [{ partition: 0, offset: 4 }], 'clamped to the log end, as kafka-consumer-groups does');

    assert.equal((await call('configs/topic/timeline', 'POST', { set: { 'retention.ms': '7200000' } })).status, 200);
    const c = await call<{ configs: { name: string; value: string; source: string }[] }>('configs/topic/timeline?search=retention.ms');
    assert.deepEqual(
      c.body.configs.filter((x) => x.name === 'retention.ms').map((x) => [x.name, x.value, x.source]),
      [['retention.ms', '7200000', 'DYNAMIC_TOPIC_CONFIG']],
    );
    const bad = await call('configs/topic/timeline', 'POST', { set: { 'retention.ms': 'soon' } });
    assert.deepEqual([bad.status, bad.body.errorCode], [400, 'INVALID_CONFIG']);
  });

  test('an open transaction is listed with its partitions', async () => {
    const producer = kafka.producer({ transactionalId: 'api-txn', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    const txn = await producer.transaction();
    try {
      await txn.send({ topic: 'timeline', messages: [{ value: 'uncommitted' }] });
      type Txns = { transactions: { transactionalId: string; state: string; partitions: unknown[]; hanging: boolean; durationMs: number | null }[] };
      const listed = await waitUntil(async () => {
        const r = await call<Txns>('transactions?state=Ongoing');
        return r.body.transactions.find((t) => t.transactionalId === 'api-txn');
      });
      assert.deepEqual(listed.partitions, [{ topic: 'timeline', partition: 0 }]);
      assert.equal(listed.hanging, false);
      assert.ok(listed.durationMs !== null && listed.durationMs >= 0);
      // The partition's side: the producer's open transaction, not hanging (the coordinator has it).
      type Open = { hanging: number; partitions: { topic: string; partition: number; transactionalId: string | null; hanging: boolean; startOffset: number }[] };
      const open = await call<Open>('transactions/partitions');
      assert.equal(open.body.hanging, 0);
      assert.deepEqual(
        open.body.partitions.map((o) => [o.topic, o.partition, o.transactionalId, o.hanging]),
        [['timeline', 0, 'api-txn', false]],
      );
    } finally {
      await txn.abort();
      await producer.disconnect();
    }
    await waitUntil(async () => (await call<{ total: number }>('transactions/partitions')).body.total === 0, { message: 'closed by the abort marker' });
  });
});
