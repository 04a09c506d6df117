// Controlled shutdown and the ISR, on three broker processes and one etcd: a broker stopping
// with SIGTERM leaves every ISR and stays out, though its fetchers run until it stops (Kafka's
// leaders refuse a replica in controlled shutdown, Partition.isReplicaIsrEligible). Added back,
// it is in those ISRs when it goes, and acks=all writes wait for it until the controller sees its
// registration gone. The leaders' logs tell: that window is short on a clean stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../helpers/raw-client.js';
import { partitionViews } from '../helpers/cluster-metadata.js';
import { etcdMissing, waitFor } from '../helpers/etcd.js';
import { suiteCluster } from '../helpers/process-cluster.js';

const cluster = suiteCluster({
  prefix: '/controlled-shutdown-test',
  nodeIds: [1, 2, 3],
  // Far longer than the test: only the controlled shutdown takes a replica out of an ISR.
  config: () => ({ 'broker.session.timeout.ms': '3000', 'replica.lag.time.max.ms': '120000' }),
});
const TOPIC = 'stopping';

test('a broker in controlled shutdown leaves every ISR and is not added back while it still fetches', { skip: etcdMissing }, async () => {
  const first = cluster.brokers.get(1)!;
  const c = await RawClient.connect(first.port);
  try {
    const r = await c.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: TOPIC, numPartitions: 6, replicationFactor: 3, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    assert.equal(r.body.topics[0].errorCode, ErrorCode.NONE, r.body.topics[0].errorMessage ?? undefined);
  } finally {
    c.close();
  }
  await waitFor('every partition has three in-sync replicas', async () => (await partitionViews(first.port, TOPIC)).every((p) => p.isr.length === 3 && p.leader > 0), 15_000);

  const stopping = cluster.brokers.get(3)!;
  await stopping.stop();
  assert.ok(
    stopping.logs.some((l) => l.msg === 'controlled shutdown: leadership moved and ISRs left'),
    'the broker left its ISRs before stopping',
  );
  await waitFor('broker 3 out of every ISR', async () => (await partitionViews(first.port, TOPIC)).every((p) => !p.isr.includes(3) && p.leader !== 3), 5_000);
  // Not added back by a fetch of its last moments: no leader wrote an ISR with it again.
  const readded = [1, 2].flatMap((id) => cluster.brokers.get(id)!.logs.filter((l) => l.msg === 'replication: ISR expand' && (l.to as number[]).includes(3)));
  assert.deepEqual(readded, [], 'leaders added the stopping broker back');

  // Restarted, it is a broker like any other: it rejoins every ISR.
  await cluster.startNode(3, stopping.dataDir);
  await waitFor('broker 3 back in every ISR', async () => (await partitionViews(first.port, TOPIC)).every((p) => p.isr.length === 3), 30_000);
});
