// Replication on three broker processes and one etcd: followers fetch from the leader, the ISR
// holds every replica, acks=all waits for it; kill -9 of a leader elects an in-sync follower that
// has every acknowledged record; a restarted broker catches up and rejoins the ISR;
// min.insync.replicas refuses acks=all writes once too few replicas are left.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import type { EtcdProcess } from '../../src/cluster/etcd-process.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { produceRequest } from '../helpers/requests.js';
import { etcdMissing, waitFor, withEtcd } from '../helpers/etcd.js';

const { Kafka, logLevel } = kafkajs;

let etcd: EtcdProcess;
const brokers = new Map<number, BrokerProcess>();
const TOPIC = 'replicated';

async function startNode(nodeId: number, dataDir?: string): Promise<BrokerProcess> {
  const b = await startBrokerProcess({
    dataDir,
    overrides: {
      'node.id': String(nodeId),
      'etcd.endpoints': etcd.endpoint,
      'etcd.prefix': '/replication-test',
      'broker.session.timeout.ms': '3000',
      'replica.lag.time.max.ms': '4000',
      'group.initial.rebalance.delay.ms': '0',
    },
  });
  brokers.set(nodeId, b);
  return b;
}

const alive = () => [...brokers.values()].filter((b) => b.child.exitCode === null && b.child.signalCode === null);

function kafka() {
  return new Kafka({ brokers: alive().map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 15, initialRetryTime: 100, maxRetryTime: 1000 } });
}

interface PartitionView {
  index: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
  replicas: number[];
}

async function partitions(b: BrokerProcess): Promise<PartitionView[]> {
  const c = await RawClient.connect(b.port);
  try {
    const r = await c.request(ApiKey.Metadata, 12, {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: TOPIC }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    return r.body.topics[0].partitions
      .map((p: { partitionIndex: number; leaderId: number; leaderEpoch: number; isrNodes: number[]; replicaNodes: number[] }) => ({
        index: p.partitionIndex,
        leader: p.leaderId,
        leaderEpoch: p.leaderEpoch,
        isr: [...p.isrNodes].sort(),
        replicas: p.replicaNodes,
      }))
      .sort((a: PartitionView, b: PartitionView) => a.index - b.index);
  } finally {
    c.close();
  }
}

async function rawProduce(b: BrokerProcess, partition: number, acks: number): Promise<number> {
  const c = await RawClient.connect(b.port);
  try {
    const r = await c.request(ApiKey.Produce, 9, produceRequest(TOPIC, partition, buildRecordBatch({ records: [{ value: Buffer.from('raw') }] }), acks));
    return r.body.responses[0].partitionResponses[0].errorCode;
  } finally {
    c.close();
  }
}

/** Every value of the topic, read from the beginning by a fresh kafkajs consumer. */
async function readAll(expected: number): Promise<string[]> {
  const consumer = kafka().consumer({ groupId: `reader-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const values: string[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) });
  try {
    await waitFor(`${expected} records read`, () => values.length >= expected, 30_000).catch((err: Error) => {
      throw new Error(`${err.message} (read ${values.length})`);
    });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

before(async () => {
  if (etcdMissing) return;
  etcd = await withEtcd();
  for (const id of [1, 2, 3]) await startNode(id);
});

after(async () => {
  for (const b of brokers.values()) {
    await b.kill();
    b.cleanup();
  }
  await etcd?.close();
});

test('RF=3: acks=all records reach every replica; kill -9 of a leader loses none; the restarted broker rejoins the ISR', { skip: etcdMissing }, async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] });
  await admin.disconnect();
  const any = alive()[0]!;
  await waitFor('every partition has three in-sync replicas', async () => (await partitions(any)).every((p) => p.isr.length === 3 && p.leader > 0), 10_000);

  const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acked: string[] = [];
  for (let i = 0; i < 300; i += 30) {
    const messages = Array.from({ length: 30 }, (_, j) => ({ value: `v${i + j}` }));
    await producer.send({ topic: TOPIC, acks: -1, messages });
    acked.push(...messages.map((m) => m.value));
  }

  // Kill the leader of partition 0: an in-sync follower takes over with every acknowledged record.
  const before0 = (await partitions(any))[0]!;
  const victimId = before0.leader;
  const victim = brokers.get(victimId)!;
  await victim.kill();
  const survivor = alive()[0]!;
  await waitFor(
    'a new leader for partition 0, the dead broker out of the ISR',
    async () => {
      const p = (await partitions(survivor))[0]!;
      return p.leader > 0 && p.leader !== victimId && p.leaderEpoch > before0.leaderEpoch && !p.isr.includes(victimId);
    },
    15_000,
  );
  // Writes go on with two in-sync replicas (min.insync.replicas=2).
  for (let i = 300; i < 450; i += 30) {
    const messages = Array.from({ length: 30 }, (_, j) => ({ value: `v${i + j}` }));
    await producer.send({ topic: TOPIC, acks: -1, messages });
    acked.push(...messages.map((m) => m.value));
  }
  await producer.disconnect();
  const values = await readAll(acked.length);
  assert.deepEqual([...values].sort(), [...acked].sort(), 'every acknowledged record exactly once');

  // The killed broker comes back on its data, catches up from the leaders and rejoins every ISR.
  await startNode(victimId, victim.dataDir);
  await waitFor('the restarted broker is in every ISR again', async () => (await partitions(survivor)).every((p) => p.isr.length === 3), 30_000);
});

test('min.insync.replicas=2: with one replica left acks=all is refused with NOT_ENOUGH_REPLICAS, acks=1 still works', { skip: etcdMissing }, async () => {
  const any = alive()[0]!;
  const p0 = (await partitions(any))[0]!;
  const others = p0.replicas.filter((r) => r !== p0.leader);
  for (const id of others) await brokers.get(id)!.kill();
  const leader = brokers.get(p0.leader)!;
  await waitFor('the ISR of partition 0 shrank to its leader', async () => (await partitions(leader))[0]!.isr.length === 1, 15_000);
  assert.equal(await rawProduce(leader, 0, -1), ErrorCode.NOT_ENOUGH_REPLICAS);
  assert.equal(await rawProduce(leader, 0, 1), ErrorCode.NONE);
});
