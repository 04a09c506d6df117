// KIP-932 share groups with the Java KafkaShareConsumer (kafka-clients 4.4) against a Tributary
// broker process (ShareMember.java): two members share a topic and every record is delivered and
// acknowledged once; a member that dies holding records sees them redelivered to another after
// the acquisition lock expires, with delivery count 2; records released up to the delivery limit
// land in the group's dead-letter topic (a Tributary extension) with their source headers; and
// a broker killed with kill -9 comes back with the share-partition state (acknowledged records
// stay acknowledged, delivery counts survive).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBrokerProcess, tempDir, type BrokerProcess } from '../../helpers/broker-process.js';
import { RawClient } from '../../helpers/raw-client.js';
import { createTopic, fetchOne, produceRequest } from '../../helpers/requests.js';
import { waitUntil } from '../../helpers/wait.js';
import { cli } from '../../helpers/cli.js';
import { buildRecordBatch } from '../../../src/protocol/records/record-batch-builder.js';
import { decodeBatchRecords } from '../../../src/protocol/records/records.js';
import { splitBatches } from '../../../src/protocol/records/record-batch.js';
import { ApiKey } from '../../../src/protocol/generated/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { javaSetup, shareDeliveries, spawnJava, type JavaProcess } from './harness.js';

const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;

describe('Java KafkaShareConsumer (KIP-932 share groups)', { skip }, () => {
  let broker: BrokerProcess;
  let raw: RawClient;
  const dataDir = tempDir();
  const members: JavaProcess[] = [];
  const overrides = { 'num.partitions': '1', 'group.share.heartbeat.interval.ms': '500' };

  before(async () => {
    broker = await startBrokerProcess({ dataDir, overrides });
    raw = await RawClient.connect(broker.port);
  });
  after(async () => {
    for (const m of members) await m.kill();
    raw?.close();
    await broker?.stop();
    broker?.cleanup();
  });

  function member(group: string, topic: string, action: 'accept' | 'release' | 'reject' | 'hold'): JavaProcess {
    if (typeof setup === 'string') throw new Error(setup);
    const p = spawnJava(`${setup.classes}:${setup.cp.k4}`, 'tributary.compat.ShareMember', [broker.bootstrap, group, topic, action]);
    members.push(p);
    return p;
  }

  async function groupConfigs(group: string, configs: Record<string, string>): Promise<void> {
    const r = await raw.request(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [{ resourceType: 32, resourceName: group, configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value })) }],
      validateOnly: false,
    });
    assert.equal(r.body.responses[0].errorCode, ErrorCode.NONE, JSON.stringify(r.body));
  }

  async function produce(topic: string, partition: number, values: string[]): Promise<void> {
    const r = await raw.request(ApiKey.Produce, 9, produceRequest(topic, partition, buildRecordBatch(values.map((value) => ({ value })))));
    assert.equal(r.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  }

  async function describeGroup(group: string) {
    const r = await raw.request(ApiKey.ShareGroupDescribe, 1, { groupIds: [group], includeAuthorizedOperations: false });
    return r.body.groups[0] as { errorCode: number; groupState: string; members: { memberId: string; assignment: { topicPartitions: { partitions: number[] }[] } }[] };
  }

  test('two members share a topic: every record delivered, acknowledged ones never again', async () => {
    const topic = 'sq-two';
    await createTopic(raw, topic, 3);
    await groupConfigs('sg-two', { 'share.auto.offset.reset': 'earliest' });
    const values: string[] = [];
    for (let p = 0; p < 3; p++) {
      const batch = Array.from({ length: 20 }, (_, i) => `p${p}-${i}`);
      values.push(...batch);
      await produce(topic, p, batch);
    }
    const a = member('sg-two', topic, 'accept');
    const b = member('sg-two', topic, 'accept');
    // Both members are in the group with partitions of their own.
    await waitUntil(
      async () => {
        const g = await describeGroup('sg-two');
        return g.errorCode === 0 && g.members.length === 2 && g.members.every((m) => m.assignment.topicPartitions.some((t) => t.partitions.length > 0));
      },
      { timeout: 60_000, message: 'two members with assignments' },
    );
    await waitUntil(() => new Set([...shareDeliveries(a), ...shareDeliveries(b)].map((d) => d.value)).size === values.length, {
      timeout: 60_000,
      message: 'every record delivered',
    });
    // More records once both are in: they are shared out too.
    const more = Array.from({ length: 30 }, (_, i) => `late-${i}`);
    for (let p = 0; p < 3; p++) await produce(topic, p, more.slice(p * 10, p * 10 + 10));
    await waitUntil(() => new Set([...shareDeliveries(a), ...shareDeliveries(b)].map((d) => d.value)).size === values.length + more.length, {
      timeout: 60_000,
      message: 'late records delivered',
    });
    await a.ask('close', /^CLOSED$/, 30_000);
    await b.ask('close', /^CLOSED$/, 30_000);
    const all = [...shareDeliveries(a), ...shareDeliveries(b)];
    // Each record exactly once (nothing was released), all with delivery count 1.
    assert.equal(all.length, values.length + more.length, 'no record delivered twice');
    assert.ok(all.every((d) => d.deliveryCount === 1));
    const g = await describeGroup('sg-two');
    assert.equal(g.groupState, 'Empty');
    const list = await raw.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['share'] });
    assert.ok(list.body.groups.some((x: { groupId: string; groupType: string }) => x.groupId === 'sg-two' && x.groupType === 'share'));
    const offsets = await raw.request(ApiKey.DescribeShareGroupOffsets, 1, { groups: [{ groupId: 'sg-two', topics: null }] });
    const parts = offsets.body.groups[0].topics[0].partitions as { startOffset: number; lag: number }[];
    assert.deepEqual(
      parts.map((p) => [p.startOffset, p.lag]),
      [
        [30, 0],
        [30, 0],
        [30, 0],
      ],
    );
    // The CLI: list, describe, and a reset of an empty group's start offsets (dry run, then applied).
    const boot = ['--bootstrap-server', broker.bootstrap];
    const listed = await cli(['share-groups', 'list', ...boot]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.ok(listed.stdout.split('\n').includes('sg-two'));
    const described = await cli(['share-groups', 'describe', 'sg-two', '--json', ...boot]);
    assert.equal(described.code, 0, described.stderr);
    const d = JSON.parse(described.stdout) as { state: string; offsets: { topic: string; partition: number; startOffset: number; lag: number }[] }[];
    assert.equal(d[0]!.state, 'Empty');
    assert.deepEqual(
      d[0]!.offsets.map((o) => [o.partition, o.startOffset, o.lag]),
      [
        [0, 30, 0],
        [1, 30, 0],
        [2, 30, 0],
      ],
    );
    const reset = await cli(['share-groups', 'reset', 'sg-two', '--topic', topic, '--partition', '1', '--to-offset', '5', '--execute', ...boot]);
    assert.equal(reset.code, 0, reset.stderr);
    const offs = await cli(['share-groups', 'offsets', 'sg-two', '--json', ...boot]);
    assert.deepEqual(
      (JSON.parse(offs.stdout) as { partition: number; startOffset: number; lag: number }[]).map((o) => [o.partition, o.startOffset, o.lag]),
      [
        [0, 30, 0],
        [1, 5, 25],
        [2, 30, 0],
      ],
    );
    // A member now gets partition 1's records from offset 5 again (delivery count 1: new state epoch).
    const c = member('sg-two', topic, 'accept');
    await waitUntil(() => shareDeliveries(c).length >= 25, { timeout: 60_000, message: 'records after the reset' });
    await c.ask('close', /^CLOSED$/, 30_000);
    assert.deepEqual(
      shareDeliveries(c)
        .map((x) => `${x.partition}:${x.offset}`)
        .sort(),
      Array.from({ length: 25 }, (_, i) => `1:${i + 5}`).sort(),
    );
  });

  test('a member that dies holding records: they come back after the lock, delivery count 2', async () => {
    const topic = 'sq-crash';
    await createTopic(raw, topic, 1);
    await groupConfigs('sg-crash', { 'share.auto.offset.reset': 'earliest', 'share.record.lock.duration.ms': '2000' });
    await produce(topic, 0, ['c0', 'c1', 'c2', 'c3', 'c4']);
    const holder = member('sg-crash', topic, 'hold');
    await holder.waitForLine(/^HOLDING$/, 60_000);
    const held = shareDeliveries(holder);
    assert.ok(held.length > 0);
    assert.ok(held.every((d) => d.deliveryCount === 1));
    await holder.kill();
    const taker = member('sg-crash', topic, 'accept');
    await waitUntil(() => shareDeliveries(taker).length >= 5, { timeout: 60_000, message: 'records redelivered' });
    await taker.ask('close', /^CLOSED$/, 30_000);
    const got = shareDeliveries(taker);
    for (const h of held) {
      const again = got.find((d) => d.offset === h.offset);
      assert.ok(again, `offset ${h.offset} redelivered`);
      assert.equal(again.deliveryCount, 2, `offset ${h.offset} delivery count`);
    }
    assert.deepEqual([...new Set(got.map((d) => d.value))].sort(), ['c0', 'c1', 'c2', 'c3', 'c4']);
  });

  test('released up to the delivery limit: the record goes to the dead-letter topic with its headers', async () => {
    const topic = 'sq-dlq';
    await createTopic(raw, topic, 1);
    await createTopic(raw, 'sq-dlq-dead', 1);
    await groupConfigs('sg-dlq', { 'share.auto.offset.reset': 'earliest', 'share.delivery.count.limit': '3', 'tributary.share.dlq.topic': 'sq-dlq-dead' });
    await produce(topic, 0, ['poison']);
    const m = member('sg-dlq', topic, 'release');
    await waitUntil(() => shareDeliveries(m).length >= 3, { timeout: 60_000, message: 'three deliveries' });
    let dead: { value: string; headers: Record<string, string> }[] = [];
    await waitUntil(
      async () => {
        const r = await raw.request(ApiKey.Fetch, 12, fetchOne('sq-dlq-dead', 0, 0));
        const records = r.body.responses[0].partitions[0].records as Buffer | null;
        dead = [];
        for (const batch of records ? splitBatches(records) : []) {
          for (const rec of decodeBatchRecords(batch)) {
            dead.push({ value: rec.value?.toString() ?? '', headers: Object.fromEntries(rec.headers.map((h) => [h.key, h.value?.toString() ?? ''])) });
          }
        }
        return dead.length > 0;
      },
      { timeout: 30_000, message: 'a dead-lettered record' },
    );
    await m.ask('close', /^CLOSED$/, 30_000);
    assert.deepEqual(
      shareDeliveries(m).map((d) => d.deliveryCount),
      [1, 2, 3],
      'delivered up to the limit, then no more',
    );
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.value, 'poison');
    assert.equal(dead[0]!.headers['tributary.dlq.source.topic'], topic);
    assert.equal(dead[0]!.headers['tributary.dlq.source.partition'], '0');
    assert.equal(dead[0]!.headers['tributary.dlq.source.offset'], '0');
    assert.equal(dead[0]!.headers['tributary.dlq.delivery.count'], '3');
    assert.equal(dead[0]!.headers['tributary.dlq.group'], 'sg-dlq');
  });

  test('a released record comes back only after tributary.share.release.delay.ms', async () => {
    const topic = 'sq-delay';
    await createTopic(raw, topic, 1);
    await groupConfigs('sg-delay', { 'share.auto.offset.reset': 'earliest', 'share.delivery.count.limit': '2', 'tributary.share.release.delay.ms': '1500' });
    await produce(topic, 0, ['later']);
    const m = member('sg-delay', topic, 'release');
    await m.waitForLine(/^RECORD 0 0 1 later$/, 60_000);
    const released = performance.now();
    await m.waitForLine(/^RECORD 0 0 2 later$/, 30_000);
    const waited = performance.now() - released;
    await m.ask('close', /^CLOSED$/, 30_000);
    assert.ok(waited >= 1400, `redelivered after ${Math.round(waited)} ms`);
  });

  test('share-partition state survives kill -9 of the broker', async () => {
    const topic = 'sq-durable';
    await createTopic(raw, topic, 1);
    await groupConfigs('sg-durable', { 'share.auto.offset.reset': 'earliest' });
    await produce(
      topic,
      0,
      Array.from({ length: 10 }, (_, i) => `d${i}`),
    );
    const first = member('sg-durable', topic, 'accept');
    await waitUntil(() => shareDeliveries(first).length >= 10, { timeout: 60_000, message: 'first ten delivered' });
    // Its last acknowledgement is answered before it closes.
    await first.waitForLine(
      /^ACKED$/,
      10_000,
      first
        .lines()
        .map((l) => l.startsWith('RECORD '))
        .lastIndexOf(true),
    );
    await first.ask('close', /^CLOSED$/, 30_000);
    await produce(
      topic,
      0,
      Array.from({ length: 5 }, (_, i) => `e${i}`),
    );
    const holder = member('sg-durable', topic, 'hold');
    await holder.waitForLine(/^HOLDING$/, 60_000);
    const held = shareDeliveries(holder);
    assert.ok(held.length > 0 && held.every((d) => d.offset >= 10));
    // Crash: the broker and the member together.
    await broker.kill();
    await holder.kill();
    raw.close();
    broker = await startBrokerProcess({ dataDir, overrides });
    raw = await RawClient.connect(broker.port);
    const after = member('sg-durable', topic, 'accept');
    await waitUntil(() => shareDeliveries(after).length >= 5, { timeout: 60_000, message: 'records after the restart' });
    await after.ask('close', /^CLOSED$/, 30_000);
    const got = shareDeliveries(after);
    assert.deepEqual(
      got.map((d) => d.offset),
      [10, 11, 12, 13, 14],
      'acknowledged records are not delivered again',
    );
    for (const d of got) assert.equal(d.deliveryCount, held.some((h) => h.offset === d.offset) ? 2 : 1, `delivery count of ${d.offset}`);
  });
});
