// Brokers on a three-member etcd that loses its quorum for longer than twice the session timeout:
// two members killed (kill -9, the Raft leader among them) with one left up, or every member
// paused at once (SIGSTOP). etcd answers no write and no lease renewal meanwhile, so the brokers
// behave as with etcd gone (leaders stop past their lease; ARCHITECTURE.md, "When something goes
// away"). What a Kafka user expects of a cluster whose metadata quorum was lost and came back: no
// acknowledged write lost, and the cluster back by itself once etcd has a quorum again, every
// partition led with its whole ISR and taking acks=all writes, with nobody touching the brokers.
// (RELIABILITY.md, Cluster, "Not covered yet" named both shapes.)
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { withRawClient } from '../helpers/raw-client.js';
import { metadataRequest, produceRequest } from '../helpers/requests.js';
import { etcdMissing, waitFor } from '../helpers/etcd.js';
import { suiteCluster } from '../helpers/process-cluster.js';
import { readWholeTopic } from '../helpers/topic-reader.js';

const SESSION_MS = 3000;
const cluster = suiteCluster({
  prefix: '/etcd-no-quorum-test',
  nodeIds: [1, 2, 3],
  etcdMembers: 3,
  config: () => ({ 'broker.session.timeout.ms': String(SESSION_MS), 'min.insync.replicas': '2' }),
});
const { brokers } = cluster;
const PARTITIONS = 3;
const LOST_MS = 2 * SESSION_MS + 1500;
const STABLE_MS = SESSION_MS + 1000;

const lostLease = (): string[] =>
  [...brokers.entries()].flatMap(([id, b]) => b.logs.filter((l) => /lost the etcd lease|registered again/.test(String(l.msg))).map(() => `broker ${id}`));

interface PartitionView {
  index: number;
  errorCode: number;
  leader: number;
  leaderEpoch: number;
  isr: number[];
}

async function view(nodeId: number, topic: string): Promise<{ brokers: number[]; partitions: PartitionView[] }> {
  const r = await withRawClient(brokers.get(nodeId)!, (c) => c.request(ApiKey.Metadata, 12, metadataRequest([topic])));
  return {
    brokers: r.body.brokers.map((b: { nodeId: number }) => b.nodeId).sort(),
    partitions: (r.body.topics[0]?.partitions ?? []).map((p: { partitionIndex: number; errorCode: number; leaderId: number; leaderEpoch: number; isrNodes: number[] }) => ({
      index: p.partitionIndex,
      errorCode: p.errorCode,
      leader: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      isr: [...p.isrNodes].sort(),
    })),
  };
}

/** Every broker lists all three, and every partition of `topic` has a leader and its whole ISR. */
async function wholeEverywhere(topic: string): Promise<boolean> {
  for (const id of [1, 2, 3]) {
    const v = await view(id, topic).catch(() => null);
    if (!v || v.brokers.length !== 3 || v.partitions.length !== PARTITIONS) return false;
    if (!v.partitions.every((p) => p.errorCode === ErrorCode.NONE && p.leader > 0 && p.isr.length === 3)) return false;
  }
  return true;
}

/** Produce (acks=all) of one record to partition `p` at broker `at`: its offset, or the error's name. */
async function produce(at: number, topic: string, p: number, value: string): Promise<{ offset: number } | { error: string }> {
  try {
    const r = await withRawClient(brokers.get(at)!, (c) =>
      c.request(ApiKey.Produce, 9, produceRequest(topic, p, buildRecordBatch({ records: [{ value: Buffer.from(value) }] }), -1), 8000),
    );
    const pr = r.body.responses[0].partitionResponses[0];
    const code = pr.errorCode as number;
    return code === ErrorCode.NONE ? { offset: Number(pr.baseOffset) } : { error: errorName(code) };
  } catch (err) {
    return { error: String(err) };
  }
}

/** How etcd loses its quorum and gets it back. */
interface QuorumLoss {
  what: string;
  /** Takes the quorum away. */
  lose(): Promise<void>;
  /** Gives etcd a quorum again (returns once it has one). */
  restoreQuorum(): Promise<void>;
  /** Brings back whatever restoreQuorum left out (also after a failure). */
  restoreAll(): Promise<void>;
}

/**
 * Produces with acks=all to every partition all along, takes etcd's quorum away for twice the
 * session timeout and more, gives it back, and checks what a Kafka user expects: every partition
 * led again with its whole ISR and taking writes within 30 s, without touching a broker, and every
 * acknowledged record in the log once, at its offset.
 */
async function quorumLostAndBack(t: TestContext, topic: string, fault: QuorumLoss): Promise<void> {
  const create = await withRawClient(brokers.get(1)!, (c) =>
    c.request(
      ApiKey.CreateTopics,
      7,
      { timeoutMs: 10_000, validateOnly: false, topics: [{ name: topic, numPartitions: PARTITIONS, replicationFactor: 3, assignments: [], configs: [] }] },
      15_000,
    ),
  );
  assert.equal(create.body.topics[0].errorCode, ErrorCode.NONE, create.body.topics[0].errorMessage);
  await waitFor('every partition led with its whole ISR on every broker', () => wholeEverywhere(topic), 30_000);

  // acks=all to each partition's leader (as Metadata last named it) every 100 ms, all along.
  const acknowledged = new Map<string, { partition: number; offset: number }>();
  const refusals = new Map<string, number>();
  const leaders = (await view(1, topic)).partitions.map((p) => p.leader);
  let producing = true;
  let seq = 0;
  const load = (async () => {
    while (producing) {
      for (let p = 0; p < PARTITIONS; p++) {
        const value = `${p}:${seq++}`;
        const r = await produce(leaders[p]!, topic, p, value);
        if ('offset' in r) acknowledged.set(value, { partition: p, offset: r.offset });
        else {
          refusals.set(r.error, (refusals.get(r.error) ?? 0) + 1);
          const v = await view(1 + (seq % 3), topic).catch(() => null);
          const now = v?.partitions.find((x) => x.index === p)?.leader;
          if (now && now > 0) leaders[p] = now;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();

  const lostBefore = lostLease().length;
  const epochsBefore = (await view(1, topic)).partitions.map((p) => p.leaderEpoch);
  try {
    await waitFor('some writes acknowledged before the loss', () => acknowledged.size >= 3 * PARTITIONS);
    const acknowledgedBefore = acknowledged.size;
    await fault.lose();
    await new Promise((resolve) => setTimeout(resolve, LOST_MS));
    const acknowledgedWhileLost = acknowledged.size;
    // A quorum again. Nobody touches the brokers.
    await fault.restoreQuorum();
    const quorumAt = Date.now();
    // Whole, and staying whole for a session timeout and more: etcd expiring leases on its
    // return (and the brokers registering again) happens after the first moments.
    let wholeSince = 0;
    await waitFor(
      `${fault.what}: every partition led again with its whole ISR on every broker for ${STABLE_MS} ms, once etcd has a quorum`,
      async () => {
        if (!(await wholeEverywhere(topic))) wholeSince = 0;
        else wholeSince ||= Date.now();
        return wholeSince > 0 && Date.now() - wholeSince >= STABLE_MS;
      },
      30_000,
    );
    const back = wholeSince - quorumAt;
    const written = new Set<number>();
    await waitFor(
      `${fault.what}: every partition takes acks=all writes again`,
      async () => {
        const v = await view(1, topic);
        for (const p of v.partitions) {
          if (written.has(p.index)) continue;
          const r = await produce(p.leader, topic, p.index, `after:${p.index}`);
          if ('offset' in r) {
            acknowledged.set(`after:${p.index}`, { partition: p.index, offset: r.offset });
            written.add(p.index);
          }
        }
        return written.size === PARTITIONS;
      },
      30_000,
    );
    t.diagnostic(
      `${fault.what}: acknowledged ${acknowledgedBefore} before the loss, ${acknowledgedWhileLost - acknowledgedBefore} while etcd had no quorum; ` +
        `led with whole ISRs ${back} ms after the quorum returned; refusals ${JSON.stringify(Object.fromEntries(refusals))}; ` +
        `leader epochs ${epochsBefore.join(',')} -> ${(await view(1, topic)).partitions.map((p) => p.leaderEpoch).join(',')}; ` +
        `leases lost (registered again): ${lostLease().length - lostBefore}`,
    );
  } finally {
    producing = false;
    await load;
    await fault.restoreAll();
  }

  // No acknowledged write lost: each is in the log once, where it was acknowledged.
  const records = await readWholeTopic(brokers.get(1)!.bootstrap, topic);
  const found = new Map<string, { partition: number; offset: number }[]>();
  for (const r of records) {
    const v = r.value?.toString() ?? '';
    found.set(v, [...(found.get(v) ?? []), { partition: r.partition, offset: r.offset }]);
  }
  const lost = [...acknowledged].filter(([v, at]) => {
    const copies = found.get(v) ?? [];
    return copies.length !== 1 || copies[0]!.partition !== at.partition || copies[0]!.offset !== at.offset;
  });
  assert.deepEqual(lost.slice(0, 10), [], `${fault.what}: ${lost.length} of ${acknowledged.size} acknowledged records missing, moved or duplicated`);
}

test(
  'two of three etcd members killed past twice the session timeout: no acknowledged write lost; back by itself with a quorum',
  { skip: etcdMissing, timeout: 120_000 },
  async (t) => {
    const etcd = cluster.etcdCluster;
    const raftLeader = await etcd.leader();
    assert.ok(raftLeader >= 0, 'etcd has a leader');
    // The Raft leader and a follower; one follower stays up, alone.
    const victims = [etcd.members[raftLeader]!, etcd.members[(raftLeader + 1) % 3]!];
    await quorumLostAndBack(t, 'two-killed', {
      what: 'two of three members killed',
      lose: async () => {
        await Promise.all(victims.map((m) => m.kill()));
      },
      restoreQuorum: () => victims[1]!.restart(),
      restoreAll: async () => {
        for (const m of victims) if (!m.running) await m.restart();
      },
    });
  },
);

test('every etcd member paused at once past twice the session timeout: no acknowledged write lost; back by itself', { skip: etcdMissing, timeout: 120_000 }, async (t) => {
  const etcd = cluster.etcdCluster;
  // On waking, etcd may expire the leases whose time passed: the registrations and the campaign
  // go, the brokers register again and a controller is elected anew.
  await quorumLostAndBack(t, 'all-paused', {
    what: 'every member paused',
    lose: async () => {
      for (const m of etcd.members) m.pause();
    },
    restoreQuorum: async () => {
      for (const m of etcd.members) m.resume();
      await waitFor('etcd has a leader again', async () => (await etcd.leader()) >= 0, 20_000);
    },
    restoreAll: async () => {
      for (const m of etcd.members) m.resume();
    },
  });
});
