// Metadata never names a leader the same answer does not list as a live broker (Kafka's
// MetadataCache rule: LEADER_NOT_AVAILABLE and leader -1 instead). Three broker processes and one
// etcd: the controller (broker 1, a long session) is stopped with SIGSTOP, then the partition's
// leader (broker 2, a short session) is killed. Its registration lapses while no controller can move
// its leadership: broker 3 then knows broker 2 is gone but still has it as the leader. Named as
// leader there, kafkajs dropped broker 2 from its pool, created fetchers only for listed brokers and
// never fetched the partition again, with no error to make it look again: the cluster torture's
// stalled consumers (RELIABILITY.md "Cluster", found 8). With the error, kafkajs retries its
// metadata until the controller (resumed) has moved the leadership to broker 3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { metadataRequest } from '../helpers/requests.js';
import { etcdMissing, waitFor } from '../helpers/etcd.js';
import { suiteCluster } from '../helpers/process-cluster.js';

const { Kafka, logLevel } = kafkajs;

const TOPIC = 'live-leader';

/** The controller's session outlasts the test's window; the victim's lapses quickly. */
const SESSION_MS: Record<number, string> = { 1: '30000', 2: '2000', 3: '3000' };

// Broker 1 first: it becomes the controller.
const cluster = suiteCluster({
  prefix: '/metadata-live-leader',
  nodeIds: [1, 2, 3],
  config: (nodeId) => ({
    'broker.session.timeout.ms': SESSION_MS[nodeId]!,
    'replica.lag.time.max.ms': '10000',
    'auto.leader.rebalance.enable': 'false',
  }),
});
const { brokers } = cluster;

interface View {
  brokers: number[];
  controller: number;
  partition: { errorCode: number; leaderId: number; leaderEpoch: number; replicaNodes: number[]; isrNodes: number[] } | undefined;
}

async function metadata(b: BrokerProcess, version = 12): Promise<View> {
  const c = await RawClient.connect(b.port);
  try {
    const r = await c.request(ApiKey.Metadata, version, metadataRequest([TOPIC]));
    return {
      brokers: r.body.brokers.map((x: { nodeId: number }) => x.nodeId).sort(),
      controller: r.body.controllerId,
      partition: r.body.topics[0]?.partitions[0],
    };
  } finally {
    c.close();
  }
}

test('a leader whose registration lapsed is answered LEADER_NOT_AVAILABLE, never named', { skip: etcdMissing, timeout: 90_000 }, async () => {
  const [one, two, three] = [brokers.get(1)!, brokers.get(2)!, brokers.get(3)!];
  await waitFor('all three registered, broker 1 the controller', async () => {
    const v = await metadata(three);
    return v.brokers.length === 3 && v.controller === 1;
  });
  const creator = new Kafka({ brokers: [three.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await creator.connect();
  await creator.createTopics({ topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [2, 3] }] }] });
  await creator.disconnect();
  // A client connected only to broker 3 (never to the stopped broker 1), whose error lines show
  // the Metadata answers it was refused with.
  const told: string[] = [];
  const admin = new Kafka({
    brokers: [three.bootstrap],
    logLevel: logLevel.ERROR,
    logCreator: () => (e) => void told.push(String(e.log.error ?? '')),
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 500 },
  }).admin();
  try {
    await waitFor('broker 2 leads, both replicas in sync', async () => {
      const p = (await metadata(three)).partition;
      return p?.leaderId === 2 && p.isrNodes.length === 2;
    });
    const epoch = (await metadata(three)).partition!.leaderEpoch;

    // No controller can act while broker 1 is stopped (its session, 30 s, keeps the controller's
    // seat); broker 2's registration lapses 2 s after its kill.
    one.child.kill('SIGSTOP');
    await two.kill();
    await waitFor('broker 3 no longer lists broker 2', async () => !(await metadata(three)).brokers.includes(2), 20_000);

    // Kafka's answer: no leader named, the partition's state otherwise as it is.
    for (const version of [4, 12]) {
      const v = await metadata(three, version);
      assert.deepEqual(v.brokers, [1, 3], `v${version}: the live brokers`);
      assert.equal(v.partition?.errorCode, ErrorCode.LEADER_NOT_AVAILABLE, `v${version}: the leader is not live`);
      assert.equal(v.partition?.leaderId, -1, `v${version}: no leader named`);
      assert.deepEqual([...v.partition.replicaNodes].sort(), [2, 3], `v${version}: the replicas`);
      if (version >= 7) assert.equal(v.partition?.leaderEpoch, epoch, 'the leader epoch unchanged');
    }
    const c = await RawClient.connect(three.port);
    try {
      const d = await c.request(ApiKey.DescribeTopicPartitions, 0, { topics: [{ name: TOPIC }], responsePartitionLimit: 10, cursor: null });
      const p = d.body.topics[0].partitions[0];
      assert.equal(p.errorCode, ErrorCode.LEADER_NOT_AVAILABLE, 'DescribeTopicPartitions: the leader is not live');
      assert.equal(p.leaderId, -1);
    } finally {
      c.close();
    }

    // A client asking now retries (kafkajs does on LEADER_NOT_AVAILABLE) until the resumed
    // controller has moved the leadership: it never gets broker 2, which it has no address for.
    await admin.connect();
    const asked = admin.fetchTopicMetadata({ topics: [TOPIC] });
    await waitFor('kafkajs was told the partition has no leader', () => told.some((e) => /no leader/i.test(e)));
    one.child.kill('SIGCONT');
    const { topics } = await asked;
    assert.equal(topics[0]?.partitions[0]?.leader, 3, 'kafkajs learns the new leader, broker 3');
    const after = await metadata(three);
    assert.equal(after.partition?.errorCode, ErrorCode.NONE);
    assert.equal(after.partition?.leaderId, 3);
  } finally {
    one.child.kill('SIGCONT');
    await admin.disconnect();
  }
});
