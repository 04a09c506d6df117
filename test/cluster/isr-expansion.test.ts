// A leader's ISR expansion through its own proposal path (Partition → Broker.proposeIsr →
// EtcdMetadataStore.writeOwnPartitionStates), against a real etcd with two brokers in this process.
// The leader judges a caught-up follower eligible from its view of the registrations, which may
// lag behind etcd; a hook on the leader's store makes the follower enter controlled shutdown right
// after that judgement and before the write, so the write must fail on the registration compare.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/index.js';
import type { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import type { EtcdProcess } from '../../src/cluster/etcd-process.js';
import type { PartitionState } from '../../src/cluster/metadata-port.js';
import { etcdMissing, waitFor, withEtcd } from '../helpers/etcd.js';

const { Kafka, logLevel } = kafkajs;

let etcd: EtcdProcess | undefined;
const brokers: RunningBroker[] = [];

before(async () => {
  if (etcdMissing) return;
  etcd = await withEtcd();
  for (const id of [1, 2]) {
    brokers.push(
      await startBroker({
        storage: 'memory',
        config: {
          'node.id': id,
          'etcd.endpoints': etcd.endpoint,
          'etcd.prefix': '/isr-expansion',
          'log.level': 'fatal',
          'broker.session.timeout.ms': 3000,
          'replica.lag.time.max.ms': 4000,
          'auto.leader.rebalance.enable': false,
        },
      }),
    );
  }
});
after(async () => {
  for (const b of [...brokers].reverse()) await b.stop().catch(() => undefined);
  await etcd?.close();
});

function storeOf(b: RunningBroker): EtcdMetadataStore {
  const store = b.broker.cluster?.store;
  assert.ok(store, 'the broker runs in cluster mode');
  return store;
}

test("a leader's ISR expansion fails when the follower enters controlled shutdown after the leader judged it eligible", { skip: etcdMissing }, async () => {
  const [leader, follower] = [storeOf(brokers[0]!), storeOf(brokers[1]!)];
  const admin = new Kafka({ brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'joining', replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }] });
  await admin.disconnect();
  const view = (): PartitionState | undefined => leader.topic('joining')?.assignments?.[0];
  await waitFor('broker 1 leads with both replicas in sync', () => view()?.leader === 1 && view()?.isr.length === 2);
  const topicId = leader.topic('joining')!.id;

  // The hook: the first expansion that adds broker 2 is preceded by broker 2 entering controlled
  // shutdown, after the leader read broker 2's registration revision from its view.
  const write = leader.writeOwnPartitionStates.bind(leader);
  const expansions: { judged: string; written: boolean }[] = [];
  leader.writeOwnPartitionStates = async (nodeId, updates, registrations = []) => {
    const adds2 = updates.some((u) => u.state.isr.includes(2) && !leader.topic('joining')?.assignments?.[0]?.isr.includes(2));
    if (!adds2 || expansions.length > 0) return write(nodeId, updates, registrations);
    assert.equal(await follower.updateRegistration({ inControlledShutdown: true }), true);
    const written = await write(nodeId, updates, registrations);
    expansions.push({ judged: registrations.find((r) => r.nodeId === 2)?.modRevision ?? 'not named', written });
    return written;
  };

  // Broker 2 leaves the ISR (the leader's own guarded shrink); it is caught up, so the leader's
  // next look at its fetch proposes it back.
  const s = view()!;
  const shrunk: PartitionState = { ...s, isr: [1], partitionEpoch: s.partitionEpoch + 1 };
  assert.equal(await write(1, [{ topicId, index: 0, state: shrunk, modRevision: leader.partitionRevision(topicId, 0)! }]), true);
  await waitFor('the leader proposed broker 2 back', () => expansions.length === 1);
  assert.equal(expansions[0]!.written, false, 'the registration changed after the leader judged it: the expansion is refused');
  await waitFor('the leader sees broker 2 shutting down', () => leader.liveBrokers().find((b) => b.nodeId === 2)?.inControlledShutdown === true);
  assert.notEqual(leader.brokerRevision(2), expansions[0]!.judged);
  const stored = (await leader.client.get(leader.keys.partition(topicId, 0)).json()) as PartitionState;
  assert.deepEqual(stored.isr, [1], 'broker 2, shutting down, is not in the ISR');
});
