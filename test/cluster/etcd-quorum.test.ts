// Brokers on a three-member etcd, as real deployments run it (README: "A 3-node cluster"), one
// member lost at a time: killed (kill -9) or paused (SIGSTOP), the Raft leader or a follower,
// for longer than twice the session timeout. A quorum is still up, so nothing may show: no broker
// loses its lease and registers again, no partition changes leader, every leader keeps taking
// writes, and metadata changes still reach every broker (its watch on the lost member moves on).
// One exception is etcd's, not Tributary's: an etcd before 3.5.13 may revoke every lease when a
// paused Raft leader wakes (etcdRevokesLeasesOnLeaderResume); then the brokers must heal.
// The cluster torture draws the same faults (kill-etcd-member, pause-etcd-member; RELIABILITY.md).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { withRawClient } from '../helpers/raw-client.js';
import { metadataRequest, produceRequest } from '../helpers/requests.js';
import { etcdMissing, etcdRevokesLeasesOnLeaderResume, waitFor } from '../helpers/etcd.js';
import { suiteCluster } from '../helpers/process-cluster.js';

const SESSION_MS = 3000;
const cluster = suiteCluster({
  prefix: '/etcd-quorum-test',
  nodeIds: [1, 2, 3],
  etcdMembers: 3,
  config: () => ({ 'broker.session.timeout.ms': String(SESSION_MS), 'group.initial.rebalance.delay.ms': '0' }),
});
const { brokers } = cluster;
const TOPIC = 'quorum';

interface View {
  brokers: number[];
  partitions: { index: number; errorCode: number; leader: number; leaderEpoch: number }[];
}

async function view(nodeId: number, topic = TOPIC): Promise<View> {
  const r = await withRawClient(brokers.get(nodeId)!, (c) => c.request(ApiKey.Metadata, 12, metadataRequest([topic])));
  return {
    brokers: r.body.brokers.map((b: { nodeId: number }) => b.nodeId).sort(),
    partitions: (r.body.topics[0]?.partitions ?? []).map((p: { partitionIndex: number; errorCode: number; leaderId: number; leaderEpoch: number }) => ({
      index: p.partitionIndex,
      errorCode: p.errorCode,
      leader: p.leaderId,
      leaderEpoch: p.leaderEpoch,
    })),
  };
}

/** Produce (acks=1) to partition `p` at its leader: the error's name, or null. */
async function produce(leader: number, p: number): Promise<string | null> {
  const r = await withRawClient(brokers.get(leader)!, (c) =>
    c.request(ApiKey.Produce, 9, produceRequest(TOPIC, p, buildRecordBatch({ records: [{ value: Buffer.from('quorum') }] }), 1)),
  );
  const code = r.body.responses[0].partitionResponses[0].errorCode as number;
  return code === ErrorCode.NONE ? null : errorName(code);
}

/** Creates `name`; `fresh`: it must not exist yet, so only NONE will do (found 20: not TOPIC_ALREADY_EXISTS for our own retried write). */
async function createTopic(name: string, partitions: number, fresh = false): Promise<void> {
  const r = await withRawClient(brokers.get(1)!, (c) =>
    c.request(
      ApiKey.CreateTopics,
      7,
      { timeoutMs: 10_000, validateOnly: false, topics: [{ name, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [] }] },
      15_000,
    ),
  );
  const t = r.body.topics[0];
  assert.ok(t.errorCode === ErrorCode.NONE || (!fresh && t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS), `CreateTopics ${name}: ${errorName(t.errorCode)} ${t.errorMessage}`);
}

const lostLease = (): string[] =>
  [...brokers.entries()].flatMap(([id, b]) => b.logs.filter((l) => /lost the etcd lease|registered again/.test(String(l.msg))).map(() => `broker ${id}`));

/** One member lost: `lose` takes it away and returns after the loss; `restore` brings it back. */
interface MemberLoss {
  lose(): Promise<void>;
  restore(): Promise<void>;
  /** etcd itself may revoke every lease when the member comes back (a paused Raft leader on an affected etcd). */
  etcdMayRevoke: boolean;
}

const leadersOf = (v: View): string[] => v.partitions.map((p) => `${p.index}: leader ${p.leader} epoch ${p.leaderEpoch}`);

/**
 * Runs `fault` while producing to every partition's leader every 100 ms. While the member is gone
 * and for 1.5 s after it is back nothing may change: leaders and epochs, registrations, no
 * refusal. Where etcd's own bug may revoke the leases at the member's return, what must hold
 * after it is what a Kafka user expects after lost broker sessions: the cluster heals by itself.
 */
async function unnoticed(t: TestContext, what: string, fault: MemberLoss): Promise<void> {
  await createTopic(TOPIC, 3);
  await waitFor('every broker registered and every partition led', async () => {
    for (const id of [1, 2, 3]) {
      const v = await view(id);
      if (v.brokers.length !== 3 || v.partitions.length !== 3 || !v.partitions.every((p) => p.errorCode === ErrorCode.NONE && p.leader > 0)) return false;
    }
    return true;
  });
  const before = leadersOf(await view(1));
  const leaders = (await view(1)).partitions.map((p) => p.leader);
  const lostBefore = lostLease().length;
  const refusals: string[] = [];
  let producing = true;
  const load = (async () => {
    while (producing) {
      for (let p = 0; p < 3; p++) {
        const err = await produce(leaders[p]!, p).catch((e: unknown) => String(e));
        if (err) refusals.push(`${TOPIC}-${p} at ${leaders[p]}: ${err}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  let refusedWhileGone: string[];
  let lostWhileGone: string[];
  let leadersWhileGone: string[];
  try {
    try {
      await fault.lose();
      leadersWhileGone = leadersOf(await view(1));
      refusedWhileGone = [...refusals];
      lostWhileGone = lostLease().slice(lostBefore);
    } finally {
      await fault.restore();
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
  } finally {
    producing = false;
    await load;
  }
  assert.deepEqual(leadersWhileGone, before, `${what}: a partition changed leader while the member was gone`);
  assert.deepEqual(lostWhileGone, [], `${what}: a broker lost its lease while the member was gone`);
  assert.deepEqual(refusedWhileGone, [], `${what}: a leader refused writes while the member was gone`);
  const lostAfter = lostLease().slice(lostBefore);
  if (fault.etcdMayRevoke && lostAfter.length > 0) {
    t.diagnostic(`${what}: etcd revoked leases when the member came back (${[...new Set(lostAfter)].join(', ')}); checking that the cluster heals`);
    await waitFor(
      'every broker registered again, every partition led and taking writes',
      async () => {
        const views = await Promise.all([1, 2, 3].map((id) => view(id)));
        for (const v of views) {
          if (v.brokers.length !== 3 || !v.partitions.every((p) => p.errorCode === ErrorCode.NONE && p.leader > 0)) return false;
        }
        // Settled: every broker names the same leaders (the next test starts from a still cluster).
        if (new Set(views.map((v) => leadersOf(v).join())).size !== 1) return false;
        const now = views[0]!.partitions;
        for (const p of now) if ((await produce(p.leader, p.index).catch((e: unknown) => String(e))) !== null) return false;
        return true;
      },
      30_000,
    );
    return;
  }
  assert.deepEqual(leadersOf(await view(1)), before, `${what}: a partition changed leader after the member came back`);
  assert.deepEqual(lostAfter, [], `${what}: a broker lost its lease and registered again`);
  assert.deepEqual(refusals, [], `${what}: a leader refused writes`);
}

/** While the member is lost: a topic created through broker 1 is seen by every broker within 5 s. */
async function topicReachesEveryone(name: string): Promise<void> {
  await createTopic(name, 1, true);
  for (const id of [1, 2, 3]) {
    await waitFor(
      `broker ${id} sees topic ${name}`,
      async () => {
        const v = await view(id, name);
        return v.partitions.length === 1 && v.partitions[0]!.errorCode === ErrorCode.NONE && v.partitions[0]!.leader > 0;
      },
      5000,
    );
  }
}

const LOST_MS = 2 * SESSION_MS + 1500;

for (const role of ['leader', 'follower'] as const) {
  test(`kill -9 of the etcd ${role} (a quorum left) for twice the session timeout: nothing changes for the brokers`, { skip: etcdMissing, timeout: 90_000 }, async (t) => {
    const etcd = cluster.etcdCluster;
    const leader = await etcd.leader();
    assert.ok(leader >= 0, 'etcd has a leader');
    const victim = etcd.members[role === 'leader' ? leader : (leader + 1) % 3]!;
    const topic = `during-kill-${role}`;
    await unnoticed(t, `kill -9 of the etcd ${role}`, {
      lose: async () => {
        await victim.kill();
        const started = Date.now();
        await topicReachesEveryone(topic);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, LOST_MS - (Date.now() - started))));
      },
      restore: () => victim.restart(),
      // A killed leader comes back as a follower of a later term: it revokes nothing.
      etcdMayRevoke: false,
    });
  });

  test(`SIGSTOP of the etcd ${role} (a quorum left) for twice the session timeout: nothing changes for the brokers`, { skip: etcdMissing, timeout: 90_000 }, async (t) => {
    const etcd = cluster.etcdCluster;
    const leader = await etcd.leader();
    assert.ok(leader >= 0, 'etcd has a leader');
    const victim = etcd.members[role === 'leader' ? leader : (leader + 1) % 3]!;
    const topic = `during-pause-${role}`;
    await unnoticed(t, `SIGSTOP of the etcd ${role}`, {
      lose: async () => {
        victim.pause();
        const started = Date.now();
        await topicReachesEveryone(topic);
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, LOST_MS - (Date.now() - started))));
      },
      restore: async () => victim.resume(),
      etcdMayRevoke: role === 'leader' && etcdRevokesLeasesOnLeaderResume(),
    });
  });
}
