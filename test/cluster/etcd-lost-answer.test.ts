// A guarded etcd write whose answer is lost after it committed (RELIABILITY.md, Cluster, found
// 20): etcd3 sends the transaction again, its compare no longer holds because of the write
// itself, and the store must still answer the write as made. Each test loses exactly one answer:
// the store reaches etcd through AnswerLosingProxy, which forwards the marked request and
// swallows what comes back until the test, having seen the write in etcd through a store of its
// own, cuts the connection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { Controller } from '../../src/cluster/controller.js';
import type { PartitionState, TopicRecord } from '../../src/cluster/metadata-port.js';
import type { EtcdProcess } from '../../src/cluster/etcd-process.js';
import { etcdMissing, waitFor, withEtcd, withEtcdCluster } from '../helpers/etcd.js';
import { AnswerLosingProxy } from '../helpers/answer-losing-proxy.js';

let etcd: EtcdProcess;
let proxy: AnswerLosingProxy;
const stores: EtcdMetadataStore[] = [];

before(async () => {
  if (etcdMissing) return;
  etcd = await withEtcd();
  proxy = await AnswerLosingProxy.start(etcd.endpoint);
});
after(async () => {
  for (const s of stores) await s.close();
  await proxy?.close();
  await etcd?.close();
});

/** A store on `prefix` that reaches etcd through the proxy, and one that reaches it directly (the test's eyes). */
async function stores2(prefix: string): Promise<{ proxied: EtcdMetadataStore; direct: EtcdMetadataStore }> {
  const proxied = await EtcdMetadataStore.open({ endpoints: [proxy.endpoint], prefix });
  stores.push(proxied);
  const direct = await EtcdMetadataStore.open({ endpoints: [etcd.endpoint], prefix });
  stores.push(direct);
  return { proxied, direct };
}

function topic(name: string, partitions = 1): TopicRecord {
  const assignments: PartitionState[] = Array.from({ length: partitions }, () => ({ replicas: [1], leader: 1, leaderEpoch: 0, isr: [1], partitionEpoch: 0 }));
  return { name, id: randomUUID(), partitions, configs: {}, assignments };
}

/**
 * Runs `write` with the answer to the request carrying `marker` lost (through whichever of
 * `proxies` it goes) once the direct store sees `committed`.
 */
async function losingTheAnswer<T>(
  marker: string | Buffer,
  write: () => Promise<T>,
  committed: () => boolean | Promise<boolean>,
  proxies: AnswerLosingProxy[] = [proxy],
): Promise<T> {
  for (const p of proxies) p.loseAnswersAfter(marker);
  const result = write();
  result.catch(() => undefined);
  try {
    await waitFor('the write committed in etcd', committed, 10_000);
    assert.equal(proxies.filter((p) => p.holding).length, 1, 'the answer was held back');
  } finally {
    for (const p of proxies) p.drop();
  }
  return result;
}

test('CreateTopics whose answer was lost after the topic was created answers it created, not TOPIC_ALREADY_EXISTS', { skip: etcdMissing, timeout: 30_000 }, async () => {
  const { proxied, direct } = await stores2('/lost1');
  const t = topic('held', 3);
  await losingTheAnswer(
    'topics/held',
    () => proxied.createTopic(t),
    () => direct.topic('held')?.id === t.id,
  );
  await waitFor('the creator sees its topic', () => proxied.topic('held')?.id === t.id);
  // A creation by someone else is still refused.
  await assert.rejects(proxied.createTopic(topic('held')), /already exists/);
});

test('with several etcd members, the retry on another member of a CreateTopics whose answer was lost answers it created', { skip: etcdMissing, timeout: 60_000 }, async () => {
  const members = await withEtcdCluster(3);
  const proxies = await Promise.all(members.endpoints.map((e) => AnswerLosingProxy.start(e)));
  const own: EtcdMetadataStore[] = [];
  try {
    const proxied = await EtcdMetadataStore.open({ endpoints: proxies.map((p) => p.endpoint), prefix: '/lost7' });
    own.push(proxied);
    const direct = await EtcdMetadataStore.open({ endpoints: members.endpoints, prefix: '/lost7' });
    own.push(direct);
    const t = topic('held-on-one', 2);
    await losingTheAnswer(
      'topics/held-on-one',
      () => proxied.createTopic(t),
      () => direct.topic('held-on-one')?.id === t.id,
      proxies,
    );
    await waitFor('the creator sees its topic', () => proxied.topic('held-on-one')?.id === t.id);
  } finally {
    for (const s of own) await s.close();
    for (const p of proxies) await p.close();
    await members.close();
  }
});

test('CreatePartitions whose answer was lost after the count was written answers done', { skip: etcdMissing, timeout: 30_000 }, async () => {
  const { proxied, direct } = await stores2('/lost2');
  const t = topic('growing', 2);
  await direct.createTopic(t);
  await waitFor('the proxied store sees the topic', () => proxied.topic('growing') !== undefined);
  const added = [t.assignments![0]!, t.assignments![1]!];
  await losingTheAnswer(
    '"partitions":4',
    () => proxied.setPartitionCount('growing', 4, added),
    () => direct.topic('growing')?.partitions === 4,
  );
});

test("the controller's fenced partition write whose answer was lost counts as written", { skip: etcdMissing, timeout: 30_000 }, async () => {
  const { proxied, direct } = await stores2('/lost3');
  const t = topic('led', 1);
  await direct.createTopic(t);
  // A campaign key standing for the controller's fence.
  const fenceKey = `${direct.keys.election}fence`;
  const made = await direct.client.if(fenceKey, 'Create', '==', 0).then(direct.client.put(fenceKey).value('1')).commit();
  const fence = { key: fenceKey, createRevision: made.header.revision };
  await waitFor('the proxied store sees the topic', () => proxied.partitionRevision(t.id, 0) !== undefined);
  const state: PartitionState = { replicas: [1], leader: -1, leaderEpoch: 1, isr: [1], partitionEpoch: 1 };
  const modRevision = proxied.partitionRevision(t.id, 0)!;
  const written = await losingTheAnswer(
    `partitions/${t.id}/0`,
    () => proxied.writePartitionStates(fence, [{ topicId: t.id, index: 0, state, modRevision }]),
    () => direct.topic('led')?.assignments?.[0]?.leaderEpoch === 1,
  );
  assert.equal(written, true);
  // Refused for real (the revision moved on meanwhile): still false.
  assert.equal(await proxied.writePartitionStates(fence, [{ topicId: t.id, index: 0, state: { ...state, leaderEpoch: 2 }, modRevision }]), false);
});

test("a leader's own ISR change whose answer was lost counts as written", { skip: etcdMissing, timeout: 30_000 }, async () => {
  const { proxied, direct } = await stores2('/lost8');
  await proxied.register({ nodeId: 4, host: '127.0.0.1', port: 9004, rack: null, incarnationId: randomUUID() }, 5);
  const t: TopicRecord = { ...topic('shrinking', 1), assignments: [{ replicas: [4, 5], leader: 4, leaderEpoch: 0, isr: [4, 5], partitionEpoch: 0 }] };
  await direct.createTopic(t);
  await waitFor('the leader sees its partition', () => proxied.partitionRevision(t.id, 0) !== undefined);
  const state: PartitionState = { replicas: [4, 5], leader: 4, leaderEpoch: 0, isr: [4], partitionEpoch: 1 };
  const written = await losingTheAnswer(
    `partitions/${t.id}/0`,
    () => proxied.writeOwnPartitionStates(4, [{ topicId: t.id, index: 0, state, modRevision: proxied.partitionRevision(t.id, 0)! }]),
    () => direct.topic('shrinking')?.assignments?.[0]?.partitionEpoch === 1,
  );
  assert.equal(written, true);
});

test('a broker registration whose answer was lost stands: it is not revoked and made again', { skip: etcdMissing, timeout: 30_000 }, async () => {
  const { proxied, direct } = await stores2('/lost4');
  const reg = { nodeId: 7, host: '127.0.0.1', port: 9007, rack: null, incarnationId: randomUUID() };
  const key = direct.keys.broker(7);
  let committed = '';
  await losingTheAnswer(
    'brokers/7',
    () => proxied.register(reg, 5),
    async () => {
      const kv = (await direct.client.get(key).exec()).kvs[0];
      committed = kv?.create_revision ?? '';
      return kv !== undefined;
    },
  );
  assert.ok(proxied.leaseValid());
  const now = (await direct.client.get(key).exec()).kvs[0];
  assert.equal(now?.create_revision, committed, 'the registration made by the lost attempt is the one that stands');
});

test('a controller campaign whose key creation lost its answer is elected with that key', { skip: etcdMissing, timeout: 30_000 }, async () => {
  const { proxied, direct } = await stores2('/lost5');
  const controller = new Controller(proxied, 1, 5, pino({ level: 'silent' }));
  let committed = '';
  try {
    await losingTheAnswer(
      'election/controller/',
      async () => controller.start(),
      async () => {
        const kvs = (await direct.client.getAll().prefix(direct.keys.election).exec()).kvs;
        committed = kvs[0]?.create_revision ?? '';
        return kvs.length > 0;
      },
    );
    await waitFor('elected', () => controller.active);
    const kvs = (await direct.client.getAll().prefix(direct.keys.election).exec()).kvs;
    assert.deepEqual(
      kvs.map((kv) => kv.create_revision),
      [committed],
      'the campaign key made by the lost attempt is the one that stands',
    );
  } finally {
    await controller.stop();
  }
});

/** The bytes of a request whose only field is int64 field 1 `id` (LeaseRevokeRequest): tag, then the varint. */
function leaseIdField(id: string): Buffer {
  const bytes = [0x08];
  for (let v = BigInt(id); ; v >>= 7n) {
    if (v < 0x80n) {
      bytes.push(Number(v));
      break;
    }
    bytes.push(Number(v & 0x7fn) | 0x80);
  }
  return Buffer.from(bytes);
}

test('UnregisterBroker whose lease revoke lost its answer answers done, not a failure', { skip: etcdMissing, timeout: 30_000 }, async () => {
  const { proxied, direct } = await stores2('/lost6');
  const key = direct.keys.broker(9);
  // Broker 9's registration, as another process made it (its lease kept by nobody here).
  const { ID } = await direct.client.leaseClient.leaseGrant({ TTL: 30, ID: '0' });
  await direct.client
    .put(key)
    .value(JSON.stringify({ nodeId: 9, host: '127.0.0.1', port: 9009, rack: null, incarnationId: randomUUID() }))
    .lease(ID)
    .exec();
  const unregistered = await losingTheAnswer(
    leaseIdField(ID),
    () => proxied.unregisterBroker(9),
    async () => (await direct.client.get(key).exec()).kvs.length === 0,
  );
  assert.equal(unregistered, true);
});
