// auto.leader.rebalance.enable on two broker processes and one etcd: after a failover moved a
// partition's leadership away from its preferred replica, the controller's periodic check
// (leader.imbalance.check.interval.seconds) moves it back once that replica is in sync again,
// without any admin request.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import type { EtcdProcess } from '../../src/cluster/etcd-process.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { etcdMissing, waitFor, withEtcd } from '../helpers/etcd.js';

const { Kafka, logLevel } = kafkajs;

let etcd: EtcdProcess;
const brokers = new Map<number, BrokerProcess>();
const TOPIC = 'balanced';

async function startNode(nodeId: number, dataDir?: string): Promise<BrokerProcess> {
  const b = await startBrokerProcess({
    dataDir,
    overrides: {
      'node.id': String(nodeId),
      'etcd.endpoints': etcd.endpoint,
      'etcd.prefix': '/leader-rebalance-test',
      'broker.session.timeout.ms': '3000',
      'replica.lag.time.max.ms': '4000',
      'leader.imbalance.check.interval.seconds': '1',
      'leader.imbalance.per.broker.percentage': '10',
    },
  });
  brokers.set(nodeId, b);
  return b;
}

async function leaders(b: BrokerProcess): Promise<{ leader: number; isr: number[] }[]> {
  const c = await RawClient.connect(b.port);
  try {
    const r = await c.request(ApiKey.Metadata, 12, {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: TOPIC }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    return r.body.topics[0].partitions
      .sort((a: { partitionIndex: number }, b: { partitionIndex: number }) => a.partitionIndex - b.partitionIndex)
      .map((p: { leaderId: number; isrNodes: number[] }) => ({ leader: p.leaderId, isr: p.isrNodes }));
  } finally {
    c.close();
  }
}

before(async () => {
  if (etcdMissing) return;
  etcd = await withEtcd();
  for (const id of [1, 2]) await startNode(id);
});

after(async () => {
  for (const b of brokers.values()) {
    await b.kill();
    b.cleanup();
  }
  await etcd?.close();
});

test('the controller moves leadership back to the preferred replica once it is in sync again', { skip: etcdMissing }, async () => {
  const admin = new Kafka({ brokers: [brokers.get(1)!.bootstrap, brokers.get(2)!.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: TOPIC,
        replicaAssignment: [
          { partition: 0, replicas: [1, 2] },
          { partition: 1, replicas: [2, 1] },
        ],
      },
    ],
  });
  await admin.disconnect();
  const two = brokers.get(2)!;
  await waitFor('each partition led by its preferred replica, both in sync', async () => {
    const ls = await leaders(two);
    return ls[0]!.leader === 1 && ls[1]!.leader === 2 && ls.every((l) => l.isr.length === 2);
  });

  const one = brokers.get(1)!;
  await one.kill();
  await waitFor('broker 2 leads both partitions', async () => (await leaders(two)).every((l) => l.leader === 2), 15_000);
  await startNode(1, one.dataDir);
  await waitFor('broker 1 is in sync again', async () => (await leaders(two)).every((l) => l.isr.length === 2), 30_000);
  await waitFor('broker 1 leads partition 0 again', async () => (await leaders(two))[0]!.leader === 1, 15_000);
  assert.equal((await leaders(two))[1]!.leader, 2);
  // The broker's log lines reach us a little after the change they describe.
  await waitFor('the controller logged the periodic rebalance', () =>
    [...brokers.values()].some((b) => b.logs.some((l) => l.msg === 'controller: leadership moved back to preferred replicas')),
  );
});
