// auto.leader.rebalance.enable on two broker processes and one etcd: after a failover moved a
// partition's leadership away from its preferred replica, the controller's periodic check
// (leader.imbalance.check.interval.seconds) moves it back once that replica is in sync again,
// without any admin request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { partitionViews, type PartitionView } from '../helpers/cluster-metadata.js';
import { etcdMissing, waitFor } from '../helpers/etcd.js';
import { suiteCluster } from '../helpers/process-cluster.js';

const { Kafka, logLevel } = kafkajs;

const cluster = suiteCluster({
  prefix: '/leader-rebalance-test',
  nodeIds: [1, 2],
  config: () => ({
    'broker.session.timeout.ms': '3000',
    'replica.lag.time.max.ms': '4000',
    'leader.imbalance.check.interval.seconds': '1',
    'leader.imbalance.per.broker.percentage': '10',
  }),
});
const { brokers } = cluster;
const TOPIC = 'balanced';

/** Each partition's leader and ISR as broker `b` sees them, by partition index. */
function leaders(b: BrokerProcess): Promise<PartitionView[]> {
  return partitionViews(b.port, TOPIC);
}

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
  await cluster.startNode(1, one.dataDir);
  await waitFor('broker 1 is in sync again', async () => (await leaders(two)).every((l) => l.isr.length === 2), 30_000);
  await waitFor('broker 1 leads partition 0 again', async () => (await leaders(two))[0]!.leader === 1, 15_000);
  assert.equal((await leaders(two))[1]!.leader, 2);
  // The broker's log lines reach us a little after the change they describe.
  await waitFor('the controller logged the periodic rebalance', () =>
    [...brokers.values()].some((b) => b.logs.some((l) => l.msg === 'controller: leadership moved back to preferred replicas')),
  );
});
