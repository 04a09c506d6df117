import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { suiteBroker } from '../helpers/broker.js';
import { waitUntil } from '../helpers/wait.js';
import { Admin } from '../../src/client/admin.js';
import { Cluster } from '../../src/client/cluster.js';
import { Producer } from '../../src/client/producer.js';
import { Consumer, type ConsumerRecord } from '../../src/client/consumer.js';
import { KafkaClientError } from '../../src/client/errors.js';
import { murmur2, partitionForKey } from '../../src/client/partitioner.js';
import { ApiKey } from '../../src/protocol/generated/index.js';

const { Kafka, logLevel, Partitioners } = kafkajs;

const broker = suiteBroker();
let cluster: Cluster;
let admin: Admin;

before(async () => {
  await broker.ready;
  cluster = new Cluster({ bootstrap: broker.bootstrap });
  admin = new Admin(cluster);
});
after(() => cluster.close());

const isKafkaError = (type: string) => (e: unknown) => e instanceof KafkaClientError && e.type === type;

async function readAll(topic: string, start: Parameters<Consumer['assign']>[1] = 'earliest', partitions?: number[]): Promise<ConsumerRecord[]> {
  const c = new Consumer(cluster);
  await c.assign(topic, start, partitions);
  const out: ConsumerRecord[] = [];
  for await (const r of c.records()) out.push(r);
  await c.close();
  return out;
}

test('murmur2 partitioner picks the partition the Java-compatible kafkajs partitioner picks', () => {
  const theirs = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: 7 }, (_, i) => ({ partitionId: i, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
  for (let i = 0; i < 500; i++) {
    const key = `key-${i}-${'x'.repeat(i % 9)}`;
    const expected = theirs({ topic: 't', partitionMetadata, message: { key, value: 'v' } });
    assert.equal(partitionForKey(Buffer.from(key), 7), expected, key);
  }
  assert.equal(typeof murmur2(Buffer.alloc(0)), 'number');
});

test('admin: create, list, describe, add partitions, delete topics', async () => {
  await admin.createTopics([{ name: 'adm-a', partitions: 3, replicationFactor: 1, configs: { 'retention.ms': '3600000' } }, { name: 'adm-b' }]);
  await assert.rejects(admin.createTopics([{ name: 'adm-a', partitions: 1 }]), isKafkaError('TOPIC_ALREADY_EXISTS'));
  const names = await admin.listTopics();
  assert.ok(names.includes('adm-a') && names.includes('adm-b'));
  const [a] = await admin.describeTopics(['adm-a']);
  assert.equal(a!.partitions.length, 3);
  for (const p of a!.partitions) {
    assert.ok(p.leader >= 0);
    assert.deepEqual(p.isr, [p.leader]);
  }
  await assert.rejects(admin.describeTopics(['adm-none']), isKafkaError('UNKNOWN_TOPIC_OR_PARTITION'));
  await admin.createPartitions('adm-a', 5);
  assert.equal((await admin.describeTopics(['adm-a']))[0]!.partitions.length, 5);
  await admin.deleteTopics(['adm-b']);
  assert.ok(!(await admin.listTopics()).includes('adm-b'));
  await assert.rejects(admin.deleteTopics(['adm-b']), isKafkaError('UNKNOWN_TOPIC_OR_PARTITION'));
});

test('admin: describe and alter topic configs (incremental and the AlterConfigs fallback)', async () => {
  await admin.createTopics([{ name: 'cfg', partitions: 1, configs: { 'retention.ms': '3600000' } }]);
  let entries = await admin.describeConfigs({ type: 'topic', name: 'cfg' });
  const ret = entries.find((e) => e.name === 'retention.ms')!;
  assert.equal(ret.value, '3600000');
  assert.equal(ret.source, 'DYNAMIC_TOPIC_CONFIG');
  await admin.alterConfigs({ type: 'topic', name: 'cfg' }, { set: { 'segment.bytes': '1048576' }, delete: ['retention.ms'] });
  entries = await admin.describeConfigs({ type: 'topic', name: 'cfg' }, ['segment.bytes', 'retention.ms']);
  assert.equal(entries.find((e) => e.name === 'segment.bytes')!.value, '1048576');
  assert.notEqual(entries.find((e) => e.name === 'retention.ms')!.source, 'DYNAMIC_TOPIC_CONFIG');
  await assert.rejects(admin.alterConfigs({ type: 'topic', name: 'cfg' }, { set: { 'retention.ms': 'soon' } }), isKafkaError('INVALID_CONFIG'));

  // Pretend the broker lacks IncrementalAlterConfigs: the fallback keeps existing dynamic values.
  const conn = await cluster.controllerConnection();
  const saved = conn.brokerVersions.get(ApiKey.IncrementalAlterConfigs)!;
  conn.brokerVersions.delete(ApiKey.IncrementalAlterConfigs);
  try {
    await admin.alterConfigs({ type: 'topic', name: 'cfg' }, { set: { 'cleanup.policy': 'compact' } });
  } finally {
    conn.brokerVersions.set(ApiKey.IncrementalAlterConfigs, saved);
  }
  entries = await admin.describeConfigs({ type: 'topic', name: 'cfg' });
  assert.equal(entries.find((e) => e.name === 'cleanup.policy')!.value, 'compact');
  assert.equal(entries.find((e) => e.name === 'segment.bytes')!.value, '1048576');
});

test('produce keyed records with headers and every codec, then consume them back', async () => {
  await admin.createTopics([{ name: 'pc', partitions: 4 }]);
  for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) {
    const producer = new Producer(cluster, { compression, lingerMs: 5 });
    const metas = await producer.send(
      'pc',
      Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `${compression}-${i}`, headers: { codec: compression, n: String(i) } })),
    );
    await producer.close();
    for (const [i, m] of metas.entries()) assert.equal(m.partition, partitionForKey(Buffer.from(`k${i}`), 4));
  }
  const records = await readAll('pc');
  assert.equal(records.length, 100);
  for (const r of records) {
    const i = Number(r.key!.toString().slice(1));
    assert.equal(r.partition, partitionForKey(r.key!, 4));
    const codec = r.headers.find((h) => h.key === 'codec')!.value!.toString();
    assert.equal(r.value!.toString(), `${codec}-${i}`);
    assert.equal(r.headers.find((h) => h.key === 'n')!.value!.toString(), String(i));
  }
  // Per partition, offsets are contiguous from 0.
  for (let p = 0; p < 4; p++) {
    const offs = records.filter((r) => r.partition === p).map((r) => r.offset);
    assert.deepEqual(
      offs,
      offs.map((_, i) => i),
    );
  }
});

test('explicit partition, acks 0/1/-1, batching by count, and unknown partitions', async () => {
  await admin.createTopics([{ name: 'acks', partitions: 2 }]);
  for (const acks of [0, 1, -1] as const) {
    const producer = new Producer(cluster, { acks, batchRecords: 3, lingerMs: 50 });
    const metas = await producer.send(
      'acks',
      Array.from({ length: 7 }, (_, i) => ({ value: `a${acks}-${i}`, partition: 1 })),
    );
    await producer.close();
    assert.ok(metas.every((m) => m.partition === 1));
    if (acks !== 0)
      assert.deepEqual(
        metas
          .map((m) => m.offset)
          .slice(1)
          .map((o, i) => o - metas[i]!.offset),
        [1, 1, 1, 1, 1, 1],
      );
  }
  const records = await readAll('acks', 'earliest', [1]);
  assert.deepEqual(records.map((r) => r.value!.toString()).sort(), ['0', '1', '-1'].flatMap((a) => Array.from({ length: 7 }, (_, i) => `a${a}-${i}`)).sort());
  const p = new Producer(cluster);
  await assert.rejects(p.produce('acks', { value: 'x', partition: 9 }), isKafkaError('UNKNOWN_TOPIC_OR_PARTITION'));
  await p.close();
});

test('consume from an offset, a timestamp, the end with follow, and bounded by maxMessages', async () => {
  await admin.createTopics([{ name: 'pos', partitions: 1 }]);
  const producer = new Producer(cluster);
  const t0 = Date.now();
  await producer.send(
    'pos',
    Array.from({ length: 10 }, (_, i) => ({ value: `v${i}`, timestamp: t0 + i * 1000 })),
  );
  assert.deepEqual(
    (await readAll('pos', { offset: 7 })).map((r) => r.offset),
    [7, 8, 9],
  );
  assert.deepEqual(
    (await readAll('pos', { timestamp: t0 + 4500 })).map((r) => r.offset),
    [5, 6, 7, 8, 9],
  );
  assert.deepEqual(await readAll('pos', { timestamp: t0 + 99_000 }), []);
  const ts = await admin.listOffsets('pos', t0 + 2000);
  assert.equal(ts[0]!.offset, 2);
  assert.deepEqual(
    (await admin.listOffsets('pos', 'latest')).map((o) => o.offset),
    [10],
  );
  assert.deepEqual(
    (await admin.listOffsets('pos', 'earliest')).map((o) => o.offset),
    [0],
  );
  const c0 = new Consumer(cluster);
  await assert.rejects(c0.assign('pos', { offset: 11 }), isKafkaError('OFFSET_OUT_OF_RANGE'));
  await assert.rejects(c0.assign('nope-topic'), isKafkaError('UNKNOWN_TOPIC_OR_PARTITION'));

  const c = new Consumer(cluster, { maxWaitMs: 2000 });
  await c.assign('pos', 'latest');
  const got: string[] = [];
  const reading = (async () => {
    for await (const r of c.records({ follow: true, maxMessages: 2 })) got.push(r.value!.toString());
  })();
  await waitUntil(() => broker.parkedFetches('pos', 0) > 0, { message: "the consumer's long poll" });
  await producer.send('pos', [{ value: 'late-1' }, { value: 'late-2' }, { value: 'late-3' }]);
  await reading;
  assert.deepEqual(got, ['late-1', 'late-2']);
  await c.close();
  await producer.close();
});

test('group admin: list, describe with lag, reset offsets, delete (when the broker has group APIs)', async (t) => {
  const conn = await cluster.anyConnection();
  const needed = [
    ApiKey.FindCoordinator,
    ApiKey.JoinGroup,
    ApiKey.SyncGroup,
    ApiKey.ListGroups,
    ApiKey.DescribeGroups,
    ApiKey.OffsetFetch,
    ApiKey.OffsetCommit,
    ApiKey.DeleteGroups,
  ];
  const missing = needed.filter((k) => !conn.supports(k));
  if (missing.length > 0) {
    t.skip(`broker does not advertise group APIs yet (missing keys ${missing.join(', ')})`);
    return;
  }
  await admin.createTopics([{ name: 'grp', partitions: 2 }]);
  const producer = new Producer(cluster);
  await producer.send(
    'grp',
    Array.from({ length: 10 }, (_, i) => ({ value: `g${i}`, partition: i % 2 })),
  );
  await producer.close();

  const kafka = new Kafka({ clientId: 'grp-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: 'cg1', sessionTimeout: 10_000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic: 'grp', fromBeginning: true });
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          seen++;
          if (Number(message.offset) < 2) await consumer.commitOffsets([{ topic: 'grp', partition, offset: String(Number(message.offset) + 1) }]);
          if (seen === 10) resolve();
        },
      })
      .catch(reject);
  });
  const groups = await admin.listGroups();
  assert.ok(groups.some((g) => g.groupId === 'cg1'));
  const [desc] = await admin.describeGroups(['cg1']);
  assert.equal(desc!.state, 'Stable');
  assert.equal(desc!.members.length, 1);
  assert.deepEqual(desc!.members[0]!.assignment, [{ topic: 'grp', partitions: [0, 1] }]);
  const committed = await admin.fetchOffsets('cg1');
  assert.deepEqual(
    committed.map((c) => [c.topic, c.partition, c.offset]),
    [
      ['grp', 0, 2],
      ['grp', 1, 2],
    ],
  );
  await assert.rejects(admin.deleteGroups(['cg1']), isKafkaError('NON_EMPTY_GROUP'));
  await consumer.disconnect();

  await admin.commitOffsets('cg1', [{ topic: 'grp', partition: 0, offset: 5 }]);
  assert.deepEqual(
    (await admin.fetchOffsets('cg1', [{ topic: 'grp', partitions: [0] }])).map((c) => c.offset),
    [5],
  );
  await admin.deleteGroups(['cg1']);
  assert.ok(!(await admin.listGroups()).some((g) => g.groupId === 'cg1'));
});

test('records produced before metadata arrives keep call order, and flush waits for them', async () => {
  await admin.createTopics([{ name: 'order', partitions: 1 }]);
  const producer = new Producer(new Cluster({ bootstrap: broker.bootstrap }), { lingerMs: 10_000, batchRecords: 7 });
  const pending = Array.from({ length: 50 }, (_, i) => producer.produce('order', { value: `o${i}` }));
  await producer.flush();
  const metas = await Promise.all(pending);
  assert.deepEqual(
    metas.map((m) => m.offset),
    metas.map((_, i) => i),
  );
  await producer.close();
  await producer.cluster.close();
  assert.deepEqual(
    (await readAll('order')).map((r) => r.value!.toString()),
    Array.from({ length: 50 }, (_, i) => `o${i}`),
  );
});

test('the consumer fetches by topic id (Fetch v13+) and by name (v12 and below)', async () => {
  await admin.createTopics([{ name: 'fv', partitions: 1 }]);
  const producer = new Producer(cluster);
  await producer.send('fv', [{ value: 'a' }, { value: 'b' }]);
  await producer.close();
  const conn = await cluster.leaderConnection('fv', 0);
  assert.ok(conn.pickVersion(ApiKey.Fetch) >= 13, 'the broker offers topic-id fetches');
  assert.deepEqual(
    (await readAll('fv')).map((r) => [r.topic, r.value!.toString()]),
    [
      ['fv', 'a'],
      ['fv', 'b'],
    ],
  );
  const saved = conn.brokerVersions.get(ApiKey.Fetch)!;
  conn.brokerVersions.set(ApiKey.Fetch, { minVersion: saved.minVersion, maxVersion: 12 });
  try {
    assert.deepEqual(
      (await readAll('fv')).map((r) => [r.topic, r.value!.toString()]),
      [
        ['fv', 'a'],
        ['fv', 'b'],
      ],
    );
  } finally {
    conn.brokerVersions.set(ApiKey.Fetch, saved);
  }
});
