// Replication on three broker processes and one etcd: followers fetch from the leader, the ISR
// holds every replica, acks=all waits for it; kill -9 of a leader elects an in-sync follower that
// has every acknowledged record; a restarted broker catches up and rejoins the ISR;
// min.insync.replicas refuses acks=all writes once too few replicas are left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir, type BrokerProcess } from '../helpers/broker-process.js';
import { PYTHON } from '../helpers/python-clients.js';
import { RawClient } from '../helpers/raw-client.js';
import { partitionViews, type PartitionView } from '../helpers/cluster-metadata.js';
import { fetchRequest, produceRequest } from '../helpers/requests.js';
import { etcdMissing, waitFor } from '../helpers/etcd.js';
import { suiteCluster } from '../helpers/process-cluster.js';
import { parseExposition } from '../helpers/prometheus.js';

const { Kafka, logLevel } = kafkajs;

const cluster = suiteCluster({
  prefix: '/replication-test',
  nodeIds: [1, 2, 3],
  config: (nodeId) => ({
    'broker.session.timeout.ms': '3000',
    'replica.lag.time.max.ms': '4000',
    'group.initial.rebalance.delay.ms': '0',
    'broker.rack': `rack-${nodeId}`,
    'replica.selector.class': 'org.apache.kafka.common.replica.RackAwareReplicaSelector',
  }),
});
const { brokers } = cluster;
const TOPIC = 'replicated';

function kafka() {
  return new Kafka({ brokers: cluster.alive().map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 15, initialRetryTime: 100, maxRetryTime: 1000 } });
}

function partitions(b: BrokerProcess): Promise<PartitionView[]> {
  return partitionViews(b.port, TOPIC);
}

/** The sum of the topic's log end offsets (ListOffsets latest on every leader). */
async function endOffsets(): Promise<number> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(TOPIC)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
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

/**
 * Every record of the topic by partition@offset, read from the beginning by a fresh kafkajs
 * consumer until `expected` are in (or 30 s passed: the caller compares). Keyed by position:
 * a consumer may be handed a record twice (a rebalance before its commit); the log holding it
 * twice is what must never happen.
 */
async function readAll(expected: number): Promise<Map<string, string>> {
  const consumer = kafka().consumer({ groupId: `reader-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const records = new Map<string, string>();
  await consumer.run({ eachMessage: async ({ partition, message }) => void records.set(`${partition}@${message.offset}`, message.value!.toString()) });
  try {
    await waitFor(`${expected} records read`, () => records.size >= expected, 30_000).catch(() => undefined);
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Asserts that the log holds each acknowledged value exactly once (`ackedAt`: partition@offset → value). */
function assertExactlyOnce(records: Map<string, string>, acked: string[], prefix: string): void {
  const values = [...records.values()].filter((v) => v.startsWith(prefix));
  const seen = new Set(values);
  const lost = acked.filter((v) => !seen.has(v));
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([v]) => v);
  assert.deepEqual({ lost: lost.slice(0, 20), duplicated: duplicated.slice(0, 20) }, { lost: [], duplicated: [] }, `${lost.length} lost, ${duplicated.length} duplicated`);
}

test('RF=3: acks=all records reach every replica; kill -9 of a leader loses none; the restarted broker rejoins the ISR', { skip: etcdMissing }, async () => {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }] });
  await admin.disconnect();
  const any = cluster.alive()[0]!;
  await waitFor('every partition has three in-sync replicas', async () => (await partitions(any)).every((p) => p.isr.length === 3 && p.leader > 0), 10_000);

  const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acked: string[] = [];
  for (let i = 0; i < 300; i += 30) {
    const messages = Array.from({ length: 30 }, (_, j) => ({ value: `v${i + j}` }));
    await producer.send({ topic: TOPIC, acks: -1, messages });
    acked.push(...messages.map((m) => m.value));
  }
  // Each of those Produce requests was parked until the followers had its records (RemoteTimeMs).
  let parked = 0;
  let remoteMs = 0;
  for (const b of cluster.alive()) {
    const metrics = parseExposition(await (await fetch(`${b.httpUrl}/metrics`)).text());
    parked += metrics.value('kafka_network_requestmetrics_remotetimems_count', { request: 'Produce' }) ?? 0;
    remoteMs += metrics.value('kafka_network_requestmetrics_remotetimems_sum', { request: 'Produce' }) ?? 0;
  }
  assert.ok(parked >= 10, `the acks=all Produce requests (${parked})`);
  assert.ok(remoteMs > 0, 'acks=all waited for the followers');

  // Kill the leader of partition 0: an in-sync follower takes over with every acknowledged record.
  const before0 = (await partitions(any))[0]!;
  const victimId = before0.leader;
  const victim = brokers.get(victimId)!;
  await victim.kill();
  const survivor = cluster.alive()[0]!;
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
  assertExactlyOnce(await readAll(acked.length), acked, 'v');

  // The killed broker comes back on its data, catches up from the leaders and rejoins every ISR.
  await cluster.startNode(victimId, victim.dataDir);
  await waitFor('the restarted broker is in every ISR again', async () => (await partitions(survivor)).every((p) => p.isr.length === 3), 30_000);
});

test('KIP-392: a consumer with client.rack is sent to the in-sync follower in its rack, which serves it', { skip: etcdMissing }, async () => {
  const any = cluster.alive()[0]!;
  const p0 = (await partitions(any))[0]!;
  const follower = p0.isr.find((id) => id !== p0.leader)!;
  const fetchFrom = async (b: BrokerProcess) => {
    const c = await RawClient.connect(b.port);
    try {
      const r = await c.request(ApiKey.Fetch, 11, {
        ...fetchRequest({ topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: 0 }] }] }),
        rackId: `rack-${follower}`,
      });
      return r.body.responses[0].partitions[0] as { errorCode: number; preferredReadReplica: number; records: Buffer | null; highWatermark: number };
    } finally {
      c.close();
    }
  };
  const atLeader = await fetchFrom(brokers.get(p0.leader)!);
  assert.deepEqual([atLeader.errorCode, atLeader.preferredReadReplica, atLeader.records?.length ?? 0], [ErrorCode.NONE, follower, 0]);
  const atFollower = await fetchFrom(brokers.get(follower)!);
  assert.equal(atFollower.errorCode, ErrorCode.NONE);
  assert.ok((atFollower.records?.length ?? 0) > 0, 'the follower serves records');
  // A position past the follower's log end is for the leader to judge: a client sent to the
  // follower (or whose fetch reached it after leadership moved) is sent back, not reset.
  const beyond = async (b: BrokerProcess) => {
    const c = await RawClient.connect(b.port);
    try {
      const r = await c.request(ApiKey.Fetch, 12, fetchRequest({ topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: 1_000_000 }] }] }));
      const d = r.body.responses[0].partitions[0] as { errorCode: number; currentLeader: { leaderId: number } };
      return [d.errorCode, d.currentLeader.leaderId];
    } finally {
      c.close();
    }
  };
  assert.deepEqual(await beyond(brokers.get(follower)!), [ErrorCode.NOT_LEADER_OR_FOLLOWER, p0.leader]);
  assert.equal((await beyond(brokers.get(p0.leader)!))[0], ErrorCode.OFFSET_OUT_OF_RANGE);
  // kafkajs follows the preferred read replica; every record is still read exactly once.
  const consumer = kafka().consumer({ groupId: 'rack-aware', rackId: `rack-${follower}` });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const seen = new Map<string, string>();
  await consumer.run({ eachMessage: async ({ partition, message }) => void seen.set(`${partition}@${message.offset}`, message.value!.toString()) });
  try {
    await waitFor('450 records read through the rack-aware consumer', () => seen.size >= 450, 30_000);
  } finally {
    await consumer.disconnect();
  }
});

test('rolling restart (SIGTERM, controlled shutdown): an idempotent acks=all librdkafka producer loses and duplicates nothing', { skip: etcdMissing }, async () => {
  // librdkafka rather than kafkajs: kafkajs resolves a send whose partition lost its leader
  // mid-request without resending that partition's batch (seen here: the batch is neither
  // acknowledged by the broker nor written again), which a checker would count as a loss.
  const stopFile = join(tempDir('rolling-'), 'stop');
  const child = spawn(
    PYTHON,
    [
      join(repoRoot, 'test/cluster/steady_producer.py'),
      cluster
        .alive()
        .map((b) => b.bootstrap)
        .join(','),
      TOPIC,
      stopFile,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d.toString()));
  child.stderr.on('data', (d) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    for (const id of [1, 2, 3]) {
      const b = brokers.get(id)!;
      const endBefore = await endOffsets();
      await waitFor('the producer writes before the restart', async () => (await endOffsets()) > endBefore + 50, 20_000);
      await b.stop();
      assert.ok(
        b.logs.some((l) => l.msg === 'controlled shutdown: leadership moved and ISRs left' || l.msg === 'controlled shutdown: done'),
        'the broker moved its leaderships away before stopping',
      );
      await cluster.startNode(id, b.dataDir);
      const other = cluster.alive().find((x) => x !== brokers.get(id))!;
      await waitFor(`broker ${id} back in every ISR`, async () => (await partitions(other)).every((p) => p.isr.length === 3), 30_000);
    }
  } finally {
    writeFileSync(stopFile, '');
  }
  assert.equal(await exited, 0, stderr.slice(-2000));
  const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { sent: number; remaining: number; errors: string[]; acked: [string, number, number][] };
  assert.deepEqual([summary.remaining, summary.errors], [0, []], 'every record acknowledged');
  assert.equal(summary.acked.length, summary.sent);
  const records = await readAll(450 + summary.acked.length);
  for (const [value, partition, offset] of summary.acked) assert.equal(records.get(`${partition}@${offset}`), value, `acknowledged ${value} at ${partition}@${offset}`);
  assertExactlyOnce(
    records,
    summary.acked.map(([v]) => v),
    's',
  );
});

test('a broker replaced with an empty disk re-replicates its partitions and rejoins every ISR', { skip: etcdMissing }, async () => {
  const victim = brokers.get(2)!;
  await victim.kill();
  const survivor = cluster.alive()[0]!;
  await waitFor('broker 2 out of every ISR', async () => (await partitions(survivor)).every((p) => !p.isr.includes(2)), 15_000);
  const expected = await endOffsets();
  rmSync(victim.dataDir, { recursive: true, force: true });
  await cluster.startNode(2);
  await waitFor('broker 2 back in every ISR', async () => (await partitions(survivor)).every((p) => p.isr.length === 3), 60_000);
  // Its copy is whole: it can lead every partition alone and serve every record.
  for (const id of [1, 3]) await brokers.get(id)!.stop();
  await waitFor('broker 2 leads every partition', async () => (await partitions(brokers.get(2)!)).every((p) => p.leader === 2), 30_000);
  assert.equal(await endOffsets(), expected);
  for (const id of [1, 3]) await cluster.startNode(id, brokers.get(id)!.dataDir);
  await waitFor('every ISR whole again', async () => (await partitions(brokers.get(2)!)).every((p) => p.isr.length === 3), 30_000);
});

test('min.insync.replicas=2: with one replica left acks=all is refused with NOT_ENOUGH_REPLICAS, acks=1 still works', { skip: etcdMissing }, async () => {
  const any = cluster.alive()[0]!;
  const p0 = (await partitions(any))[0]!;
  const others = p0.replicas.filter((r) => r !== p0.leader);
  for (const id of others) await brokers.get(id)!.kill();
  const leader = brokers.get(p0.leader)!;
  await waitFor('the ISR of partition 0 shrank to its leader', async () => (await partitions(leader))[0]!.isr.length === 1, 15_000);
  assert.equal(await rawProduce(leader, 0, -1), ErrorCode.NOT_ENOUGH_REPLICAS);
  assert.equal(await rawProduce(leader, 0, 1), ErrorCode.NONE);
});
