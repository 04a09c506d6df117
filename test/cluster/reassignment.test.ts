// Operations on three broker processes and one etcd, through the `tributary` CLI: a partition
// reassignment from brokers [1,2] to [2,3] under an acks=all producer (no acknowledged record
// lost, the new replica byte-identical, the old one's log deleted), and a preferred leader
// election after a failover puts leadership back on the first replica; a reassignment replaced
// while in progress keeps the replica it abandons until cancelled back (KRaft).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { tempDir, type BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { partitionViews, type PartitionView } from '../helpers/cluster-metadata.js';
import { cli } from '../helpers/cli.js';
import { etcdMissing, waitFor } from '../helpers/etcd.js';
import { suiteCluster } from '../helpers/process-cluster.js';

const { Kafka, logLevel } = kafkajs;

const cluster = suiteCluster({
  prefix: '/reassignment-test',
  nodeIds: [1, 2, 3],
  config: () => ({
    'broker.session.timeout.ms': '3000',
    'replica.lag.time.max.ms': '4000',
    'group.initial.rebalance.delay.ms': '0',
    // The periodic rebalance would race the explicit election below (its own test: leader-rebalance.test.ts).
    'auto.leader.rebalance.enable': 'false',
  }),
});
const { brokers } = cluster;
const scratch = tempDir('tributary-reassign-');

const bootstrap = () =>
  cluster
    .alive()
    .map((b) => b.bootstrap)
    .join(',');

function kafka() {
  return new Kafka({ brokers: cluster.alive().map((b) => b.bootstrap), logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
}

function partitions(b: BrokerProcess, topic: string): Promise<PartitionView[]> {
  return partitionViews(b.port, topic);
}

/** The concatenated segment files of a partition's log on one broker ('' when it has none). */
function logBytes(b: BrokerProcess, topic: string, partition: number): Buffer {
  const dir = join(b.dataDir, `${topic}-${partition}`);
  if (!existsSync(dir)) return Buffer.alloc(0);
  const segments = readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort();
  return Buffer.concat(segments.map((f) => readFileSync(join(dir, f))));
}

after(() => rmSync(scratch, { recursive: true, force: true }));

test('reassigning [1,2] to [2,3] under acks=all keeps every acknowledged record; broker 3 ends byte-identical, broker 1 drops its log', { skip: etcdMissing }, async () => {
  const TOPIC = 'moved';
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      {
        topic: TOPIC,
        replicaAssignment: [
          { partition: 0, replicas: [1, 2] },
          { partition: 1, replicas: [2, 1] },
        ],
        configEntries: [{ name: 'min.insync.replicas', value: '2' }],
      },
    ],
  });
  await admin.disconnect();
  await waitFor('both partitions have two in-sync replicas', async () => (await partitions(cluster.alive()[0]!, TOPIC)).every((p) => p.isr.length === 2 && p.leader > 0));

  // A producer writing until told to stop (bounded in count), acks=all, idempotent. One partition
  // per send: kafkajs 2.2 drops the part of a send whose partition's leadership moved onto a
  // broker that already answered that send (sendMessages skips brokers with a response).
  const producer = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acked: string[] = [];
  const sendMeta = new Map<number, string>();
  let stop = false;
  const writing = (async () => {
    for (let batch = 0; batch < 2000 && !stop; batch++) {
      const messages = Array.from({ length: 20 }, (_, j) => ({ value: `m${batch}-${j}-${'x'.repeat(200)}` }));
      const meta = await producer.send({ topic: TOPIC, acks: -1, messages: messages.map((m) => ({ ...m, partition: batch % 2 })) });
      sendMeta.set(batch, JSON.stringify(meta));
      acked.push(...messages.map((m) => m.value));
    }
  })();
  await waitFor('some records acknowledged before the move', () => acked.length >= 400, 20_000);

  // --generate proposes a placement over brokers 2 and 3, changing nothing.
  const topicsFile = join(scratch, 'topics.json');
  writeFileSync(topicsFile, JSON.stringify({ version: 1, topics: [{ topic: TOPIC }] }));
  const gen = await cli(['reassign-partitions', '--bootstrap-server', bootstrap(), '--topics-to-move-json-file', topicsFile, '--broker-list', '2,3', '--generate']);
  assert.equal(gen.code, 0, gen.stderr);
  const proposal = JSON.parse(gen.stdout.split('Proposed partition reassignment configuration\n')[1]!) as { partitions: { partition: number; replicas: number[] }[] };
  assert.deepEqual(
    proposal.partitions.map((p) => [...p.replicas].sort().join(',')),
    ['2,3', '2,3'],
  );

  const file = join(scratch, 'move.json');
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      partitions: [
        { topic: TOPIC, partition: 0, replicas: [2, 3], log_dirs: ['any', 'any'] },
        { topic: TOPIC, partition: 1, replicas: [3, 2] },
      ],
    }),
  );
  const exec = await cli(['reassign-partitions', '--bootstrap-server', bootstrap(), '--reassignment-json-file', file, '--execute', '--throttle', '50000000']);
  assert.equal(exec.code, 0, exec.stderr);
  assert.match(exec.stdout, /Current partition replica assignment\n\n\{"version":1,"partitions":\[\{"topic":"moved","partition":0,"replicas":\[1,2\]/);
  assert.match(exec.stdout, /Successfully started partition reassignments for moved-0,moved-1/);

  await waitFor(
    'both partitions moved to brokers 2 and 3, all in sync',
    async () => {
      const ps = await partitions(brokers.get(2)!, TOPIC);
      return ps.every((p) => [...p.replicas].sort().join(',') === '2,3' && p.isr.join(',') === '2,3');
    },
    30_000,
  );
  assert.deepEqual(
    (await partitions(brokers.get(2)!, TOPIC)).map((p) => p.replicas),
    [
      [2, 3],
      [3, 2],
    ],
  );
  const verify = await cli(['reassign-partitions', '--bootstrap-server', bootstrap(), '--reassignment-json-file', file, '--verify']);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stdout, /Reassignment of partition moved-0 is completed\.\nReassignment of partition moved-1 is completed\./);
  assert.match(verify.stdout, /Clearing topic-level throttles on topic moved/);

  // Writes continue after the move, then stop.
  const movedAt = acked.length;
  await waitFor('records acknowledged after the move', () => acked.length >= movedAt + 200, 20_000);
  stop = true;
  await writing;
  await producer.disconnect();

  const consumer = kafka().consumer({ groupId: 'reassign-reader' });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  const seen = new Map<string, number>();
  await consumer.run({ eachMessage: async ({ message }) => void seen.set(message.value!.toString(), (seen.get(message.value!.toString()) ?? 0) + 1) });
  try {
    await waitFor(`all ${acked.length} acknowledged records read`, () => acked.every((v) => seen.has(v)), 30_000).catch((err: Error) => {
      const missing = acked.filter((v) => !seen.has(v));
      const b = Number(/^m(\d+)/.exec(missing[0] ?? '')?.[1]);
      throw new Error(
        `${err.message}: batch ${b} meta ${sendMeta.get(b)}; ${missing.length} missing, e.g. ${missing
          .slice(0, 3)
          .map((v) => v.slice(0, 12))
          .join(' ')}; read ${seen.size}`,
      );
    });
  } finally {
    await consumer.disconnect();
  }
  assert.deepEqual(
    acked.filter((v) => seen.get(v) !== 1),
    [],
    'every acknowledged record exactly once',
  );

  for (const p of [0, 1]) {
    await waitFor(`broker 1 deleted moved-${p}`, () => !existsSync(join(brokers.get(1)!.dataDir, `${TOPIC}-${p}`)));
    await waitFor(`brokers 2 and 3 hold identical logs of moved-${p}`, () => {
      const a = logBytes(brokers.get(2)!, TOPIC, p);
      return a.length > 0 && a.equals(logBytes(brokers.get(3)!, TOPIC, p));
    });
  }

  // Nothing left to cancel.
  const cancel = await cli(['reassign-partitions', '--bootstrap-server', bootstrap(), '--reassignment-json-file', file, '--cancel']);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.match(cancel.stdout, /None of the specified partition reassignments are active for: moved-0,moved-1/);
});

/**
 * A one-partition topic on broker 2 with 100 records of ~500 bytes, then kafka-reassign-partitions
 * moving it to broker 3 with a 1 byte/s throttle, so the move stays in progress. Returns the
 * reassignment file (for --verify and --cancel).
 */
async function startThrottledMove(topic: string): Promise<string> {
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [2] }] }] });
  await admin.disconnect();
  await waitFor('the partition has a leader', async () => (await partitions(brokers.get(2)!, topic))[0]!.leader === 2);
  const producer = kafka().producer();
  await producer.connect();
  for (let i = 0; i < 10; i++) await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, j) => ({ value: `${topic}-${i}-${j}-${'y'.repeat(500)}` })) });
  await producer.disconnect();
  const file = join(scratch, `${topic}.json`);
  writeFileSync(file, JSON.stringify({ version: 1, partitions: [{ topic, partition: 0, replicas: [3] }] }));
  const exec = await cli(['reassign-partitions', '--bootstrap-server', bootstrap(), '--reassignment-json-file', file, '--execute', '--throttle', '1']);
  assert.equal(exec.code, 0, exec.stderr);
  return file;
}

test('a reassignment to a broker that cannot catch up stays in progress and cancels back', { skip: etcdMissing }, async () => {
  const TOPIC = 'stuck';
  // A 1 byte/s throttle on the new replica: it cannot catch up, the reassignment stays open.
  const file = await startThrottledMove(TOPIC);

  const c = await RawClient.connect(brokers.get(2)!.port);
  try {
    const listed = await c.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 1000, topics: null });
    const entry = listed.body.topics.find((t: { name: string }) => t.name === TOPIC);
    assert.deepEqual(entry?.partitions, [{ partitionIndex: 0, replicas: [3, 2], addingReplicas: [3], removingReplicas: [2] }]);
  } finally {
    c.close();
  }
  const verify = await cli(['reassign-partitions', '--bootstrap-server', bootstrap(), '--reassignment-json-file', file, '--verify']);
  assert.match(verify.stdout, /Reassignment of partition stuck-0 is still in progress\./);
  // The throttle holds broker 3 back: one batch (a fetch returns at least one), then nothing.
  const copied = logBytes(brokers.get(3)!, TOPIC, 0).length;
  assert.ok(copied < logBytes(brokers.get(2)!, TOPIC, 0).length, `the throttled replica copied ${copied} bytes`);

  const cancel = await cli(['reassign-partitions', '--bootstrap-server', bootstrap(), '--reassignment-json-file', file, '--cancel']);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.match(cancel.stdout, /Successfully cancelled partition reassignment for: stuck-0/);
  await waitFor('back on broker 2 alone, broker 3 dropped its copy', async () => {
    const p = (await partitions(brokers.get(2)!, TOPIC))[0]!;
    return p.replicas.join(',') === '2' && p.leader === 2 && !existsSync(join(brokers.get(3)!.dataDir, `${TOPIC}-0`));
  });
});

test('a preferred leader election after a failover puts leadership back on the first replica', { skip: etcdMissing }, async () => {
  const TOPIC = 'elect';
  const admin = kafka().admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [1, 2, 3] }] }] });
  await admin.disconnect();
  await waitFor('broker 1 leads with three in-sync replicas', async () => {
    const p = (await partitions(brokers.get(2)!, TOPIC))[0]!;
    return p.leader === 1 && p.isr.length === 3;
  });
  const noop = await cli(['leader-election', '--bootstrap-server', bootstrap(), '--election-type', 'preferred', '--topic', TOPIC, '--partition', '0']);
  assert.equal(noop.code, 0, noop.stderr);
  assert.match(noop.stdout, /Valid replica already elected for partitions elect-0/);

  const victim = brokers.get(1)!;
  await victim.kill();
  await waitFor(
    'another broker leads',
    async () => {
      const p = (await partitions(brokers.get(2)!, TOPIC))[0]!;
      return p.leader > 1 && !p.isr.includes(1);
    },
    15_000,
  );
  const under = await cli(['topics', 'describe', '--bootstrap-server', bootstrap(), '--under-replicated-partitions', TOPIC]);
  assert.equal(under.code, 0, under.stderr);
  assert.match(under.stdout, /Topic: elect\tPartition: 0\tLeader: [23]\tReplicas: 1,2,3\tIsr: /);
  const refused = await cli(['leader-election', '--bootstrap-server', bootstrap(), '--election-type', 'preferred', '--topic', TOPIC, '--partition', '0']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stdout, /Error completing leader election \(PREFERRED\) for partition: elect-0: PREFERRED_LEADER_NOT_AVAILABLE/);

  await cluster.startNode(1, victim.dataDir);
  await waitFor('broker 1 is back in the ISR', async () => (await partitions(brokers.get(2)!, TOPIC))[0]!.isr.length === 3, 30_000);
  const none = await cli(['topics', 'describe', '--bootstrap-server', bootstrap(), '--under-replicated-partitions', TOPIC]);
  assert.equal(none.stdout, '');
  const before0 = (await partitions(brokers.get(2)!, TOPIC))[0]!;
  assert.notEqual(before0.leader, 1, 'no automatic rebalance in this cluster');

  const elected = await cli(['leader-election', '--bootstrap-server', bootstrap(), '--election-type', 'PREFERRED', '--all-topic-partitions']);
  assert.equal(elected.code, 0, elected.stderr);
  assert.match(elected.stdout, /Successfully completed leader election \(PREFERRED\) for partitions .*elect-0/);
  const after0 = (await partitions(brokers.get(2)!, TOPIC))[0]!;
  assert.equal(after0.leader, 1);
  assert.ok(after0.leaderEpoch > before0.leaderEpoch);

  // An unclean election is not needed where a live leader exists. A broker that is not the
  // controller forwards the request to it; a request that was already forwarded is refused.
  const controllerId = await (async () => {
    const c = await RawClient.connect(brokers.get(2)!.port);
    try {
      return (
        await c.request(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })
      ).body.controllerId as number;
    } finally {
      c.close();
    }
  })();
  const other = cluster.alive().find((b) => b !== brokers.get(controllerId))!;
  for (const clientId of ['raw-test', 'tributary-inter-broker']) {
    const c = await RawClient.connect(other.port);
    c.clientId = clientId;
    try {
      const r = await c.request(ApiKey.ElectLeaders, 2, { electionType: 1, topicPartitions: [{ topic: TOPIC, partitions: [0] }], timeoutMs: 1000 });
      if (clientId === 'raw-test') {
        assert.equal(r.body.errorCode, ErrorCode.NONE);
        assert.equal(r.body.replicaElectionResults[0].partitionResult[0].errorCode, ErrorCode.ELECTION_NOT_NEEDED);
      } else assert.equal(r.body.errorCode, ErrorCode.NOT_CONTROLLER);
    } finally {
      c.close();
    }
  }
});

// KRaft computes a new reassignment from the current, merged, replicas: the broker the abandoned
// one was adding stays a replica (removing) until the new target is in sync, and a cancellation
// goes back to the merged replicas, that broker included.
test('a reassignment replaced while in progress keeps the replica it abandons, and cancels back to the merged replicas', { skip: etcdMissing }, async () => {
  const TOPIC = 'redirected';
  // Throttled to 1 byte/s at the leader: no new replica catches up while the throttle is on (it
  // runs last: a partition left mid-reassignment would fail the preferred election of all partitions).
  const file = await startThrottledMove(TOPIC);
  const started = (await partitions(brokers.get(2)!, TOPIC))[0]!;

  const c = await RawClient.connect(brokers.get(2)!.port);
  try {
    const replaced = await c.request(ApiKey.AlterPartitionReassignments, 0, {
      timeoutMs: 1000,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, replicas: [1] }] }],
    });
    assert.equal(replaced.body.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    const listed = await c.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 1000, topics: null });
    const entry = listed.body.topics.find((t: { name: string }) => t.name === TOPIC);
    assert.deepEqual(entry?.partitions, [{ partitionIndex: 0, replicas: [1, 2, 3], addingReplicas: [1], removingReplicas: [2, 3] }]);
  } finally {
    c.close();
  }
  await waitFor('broker 1 sees itself a replica', async () => (await partitions(brokers.get(1)!, TOPIC))[0]!.replicas.join(',') === '1,2,3');
  const redirected = (await partitions(brokers.get(2)!, TOPIC))[0]!;
  assert.deepEqual([redirected.leader, redirected.leaderEpoch], [2, started.leaderEpoch], 'replicas only joined: the same leader epoch');
  assert.equal((await partitions(brokers.get(3)!, TOPIC))[0]!.replicas.join(','), '1,2,3', 'broker 3 is still a (removing) replica');

  // Cancelled (the tool also removes the throttle): back to [2,3]; broker 1 leaves, broker 3 stays and catches up.
  const cancel = await cli(['reassign-partitions', '--bootstrap-server', bootstrap(), '--reassignment-json-file', file, '--cancel']);
  assert.equal(cancel.code, 0, cancel.stderr);
  await waitFor(
    'back on brokers 2 and 3, both in sync; broker 1 dropped its copy',
    async () => {
      const p = (await partitions(brokers.get(2)!, TOPIC))[0]!;
      return p.replicas.join(',') === '2,3' && p.isr.length === 2 && p.leader === 2 && !existsSync(join(brokers.get(1)!.dataDir, `${TOPIC}-0`));
    },
    30_000,
  );
  const cancelled = (await partitions(brokers.get(2)!, TOPIC))[0]!;
  assert.equal(cancelled.leaderEpoch, started.leaderEpoch + 1, 'a replica removed: a new leader epoch');
  await waitFor('broker 3 holds the same log as broker 2', () => logBytes(brokers.get(3)!, TOPIC, 0).equals(logBytes(brokers.get(2)!, TOPIC, 0)));
});
