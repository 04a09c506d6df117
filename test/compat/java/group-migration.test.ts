// KIP-848 online migration with the Java client 4.x against a Tributary broker process
// (group.consumer.migration.policy=bidirectional, the default): a classic group on a topic of 6
// partitions is upgraded member by member to group.protocol=consumer, then downgraded back to
// classic. After each step every partition is owned by exactly one member (from the members'
// rebalance listeners); every record is consumed at least once and the committed offsets reach
// the end of every partition. GroupMember.java is the member program of consumer-protocol.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { RawClient } from '../../helpers/raw-client.js';
import { createTopic, produceRequest } from '../../helpers/requests.js';
import { waitUntil } from '../../helpers/wait.js';
import { buildRecordBatch } from '../../../src/protocol/records/record-batch-builder.js';
import { ApiKey } from '../../../src/protocol/generated/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { javaSetup, spawnJava, type JavaProcess } from './harness.js';
import { GroupOwnership as Ownership } from '../../helpers/group-ownership.js';

const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;

const TOPIC = 'migrate';
const PARTITIONS = 6;
const PER_PARTITION = 10;

describe('Java client: online upgrade and downgrade between classic and consumer groups', { skip }, () => {
  let broker: BrokerProcess;
  let raw: RawClient;
  const members: JavaProcess[] = [];
  before(async () => {
    broker = await startBrokerProcess({
      overrides: { 'num.partitions': '1', 'group.consumer.heartbeat.interval.ms': '300', 'group.initial.rebalance.delay.ms': '0' },
    });
    raw = await RawClient.connect(broker.port);
  });
  after(async () => {
    for (const m of members) await m.kill();
    raw?.close();
    await broker?.stop();
    broker?.cleanup();
  });

  async function produce(): Promise<void> {
    for (let p = 0; p < PARTITIONS; p++) {
      const batch = buildRecordBatch(Array.from({ length: PER_PARTITION }, (_, i) => ({ value: `p${p}-${i}` })));
      const r = await raw.request(ApiKey.Produce, 9, produceRequest(TOPIC, p, batch));
      assert.equal(r.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    }
  }

  async function groupType(): Promise<string> {
    const r = await raw.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
    const g = (r.body.groups as { groupId: string; groupType: string }[]).find((x) => x.groupId === 'gm');
    return g?.groupType ?? 'none';
  }

  async function committedAt(end: number): Promise<boolean> {
    const r = await raw.request(ApiKey.OffsetFetch, 9, {
      groupId: '',
      topics: [],
      requireStable: false,
      groups: [{ groupId: 'gm', memberId: null, memberEpoch: -1, topics: null }],
    });
    const parts = r.body.groups[0].topics.flatMap((t: { partitions: { committedOffset: number }[] }) => t.partitions);
    return parts.length === PARTITIONS && parts.every((p: { committedOffset: number }) => p.committedOffset === end);
  }

  test('rolling upgrade to group.protocol=consumer, then downgrade to classic', async () => {
    if (typeof setup === 'string') throw new Error(setup);
    const java = setup;
    await createTopic(raw, TOPIC, PARTITIONS);
    await produce();
    const own = new Ownership();
    const procs = new Map<string, JavaProcess>();
    const start = (name: string, protocol: 'classic' | 'consumer') => {
      const p = spawnJava(`${java.classes}:${java.cp.k4}`, 'tributary.compat.GroupMember', [broker.bootstrap, 'gm', TOPIC, protocol]);
      members.push(p);
      procs.set(name, p);
      own.watch(name, p);
    };
    const stop = async (name: string) => {
      await procs.get(name)!.ask('close', /^CLOSED/, 30_000);
      own.forget(name);
      procs.delete(name);
    };
    /** Every partition owned by exactly one of the live members, each of them owning some. */
    const settled = async (step: string) => {
      const names = [...procs.keys()];
      await waitUntil(() => names.every((n) => own.of(n).length > 0) && names.reduce((n, m) => n + own.of(m).length, 0) === PARTITIONS && own.owner.size === PARTITIONS, {
        timeout: 60_000,
        message: () => `${step}: ${names.map((n) => `${n}=${own.of(n).join(',')}`).join(' ')}`,
      });
    };

    start('c1', 'classic');
    start('c2', 'classic');
    await settled('classic group');
    assert.equal(await groupType(), 'classic');
    // Upgrade, one member at a time.
    start('k1', 'consumer');
    await settled('k1 joined the classic group');
    assert.equal(await groupType(), 'consumer');
    await stop('c1');
    await settled('c1 left');
    start('k2', 'consumer');
    await settled('k2 joined');
    await stop('c2');
    await settled('c2 left: consumer members only');
    await waitUntil(() => own.records.size === PARTITIONS * PER_PARTITION, { timeout: 60_000, message: () => `all records consumed (${own.records.size})` });
    await waitUntil(() => committedAt(PER_PARTITION), { timeout: 30_000, message: 'committed offsets at the end after the upgrade' });
    // Downgrade, one member at a time: the group turns classic when the last consumer-protocol member leaves.
    start('c3', 'classic');
    await settled('c3 joined the consumer group');
    await stop('k1');
    await settled('k1 left');
    start('c4', 'classic');
    await settled('c4 joined');
    await stop('k2');
    await settled('k2 left: classic members only');
    await waitUntil(async () => (await groupType()) === 'classic', { timeout: 20_000, message: 'the group is classic again' });
    await settled('after the downgrade');
    await produce();
    await waitUntil(() => own.records.size === 2 * PARTITIONS * PER_PARTITION, { timeout: 60_000, message: () => `all records consumed (${own.records.size})` });
    await waitUntil(() => committedAt(2 * PER_PARTITION), { timeout: 30_000, message: 'committed offsets at the end after the downgrade' });
    await stop('c3');
    await stop('c4');
    assert.deepStrictEqual(own.violations, []);
  });
});
