import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import kafkajs from 'kafkajs';
import { suiteBroker } from '../helpers/broker.js';
import { repoRoot } from '../helpers/dist.js';
import { createTopic } from '../helpers/requests.js';
import { elapse, waitUntil } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;
type Consumer = ReturnType<InstanceType<typeof Kafka>['consumer']>;

const TOPIC = 'group-orders';
const GROUP = 'kafkajs-group';
/** Session timeout of the member that is killed (the broker's minimum is lowered to allow it). */
const CHILD_SESSION_MS = 2000;

const waitFor = (what: string, cond: () => boolean | Promise<boolean>, timeout = 30_000) => waitUntil(cond, { timeout, interval: 50, message: what });

interface Tracked {
  consumer: Consumer;
  /** Partitions of the latest assignment. */
  assigned: number[];
  joins: number;
  seen: { partition: number; offset: number; value: string }[];
}

describe('kafkajs consumer groups', () => {
  const broker = suiteBroker({ process: true, config: { 'group.initial.rebalance.delay.ms': 0, 'group.min.session.timeout.ms': 1000 } });
  let kafka: InstanceType<typeof Kafka>;
  before(() => {
    kafka = new Kafka({ clientId: 'groups-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  });

  async function startConsumer(groupId = GROUP, topic = TOPIC): Promise<Tracked> {
    const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100, retry: { retries: 20 } });
    const t: Tracked = { consumer, assigned: [], joins: 0, seen: [] };
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      t.joins++;
      t.assigned = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommitInterval: 100,
      eachMessage: async ({ partition, message }) => {
        t.seen.push({ partition, offset: Number(message.offset), value: message.value!.toString() });
      },
    });
    return t;
  }

  const balanced = (members: Tracked[], each: number) => () => {
    const all = members.flatMap((m) => m.assigned);
    return members.every((m) => m.assigned.length === each) && new Set(all).size === 6;
  };

  async function produce(from: number, count: number, topic = TOPIC): Promise<string[]> {
    const producer = kafka.producer();
    await producer.connect();
    const values: string[] = [];
    try {
      const messages = [];
      for (let i = from; i < from + count; i++) {
        values.push(`m-${i}`);
        messages.push({ key: `k-${i}`, value: `m-${i}`, partition: i % 6 });
      }
      await producer.send({ topic, messages });
    } finally {
      await producer.disconnect();
    }
    return values;
  }

  test('three consumers share six partitions, survive a departure and resume from commits', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const members: Tracked[] = [];
    try {
      await createTopic(broker, TOPIC, 6);
      for (let i = 0; i < 3; i++) members.push(await startConsumer());
      await waitFor('each consumer to own two partitions', balanced(members, 2));
      await waitFor('a stable group of three', async () => {
        const d = (await admin.describeGroups([GROUP])).groups[0]!;
        return d.state === 'Stable' && d.members.length === 3;
      });

      const first = await produce(0, 300);
      const consumedValues = () => new Set(members.flatMap((m) => m.seen.map((s) => s.value)));
      await waitFor('all of the first batch consumed', () => first.every((v) => consumedValues().has(v)));
      // Every message went to the consumer that owns its partition.
      for (const m of members) for (const s of m.seen) assert.ok(m.assigned.includes(s.partition), `partition ${s.partition} consumed by its owner`);

      // One consumer leaves: its two partitions move to the other two.
      const leaving = members.pop()!;
      await leaving.consumer.disconnect();
      await waitFor('the remaining two to own three partitions each', balanced(members, 3), 20_000);

      const second = await produce(300, 300);
      const everything = [...first, ...second];
      await waitFor('all messages consumed after the rebalance', () => {
        const seen = new Set([...members, leaving].flatMap((m) => m.seen.map((s) => s.value)));
        return everything.every((v) => seen.has(v));
      });

      // Commits land asynchronously; wait until the group has committed everything.
      const endOffsets = new Map((await admin.fetchTopicOffsets(TOPIC)).map((p) => [p.partition, p.high]));
      await waitFor('committed offsets to reach the log end', async () => {
        const committed = (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0]!.partitions;
        return committed.length === 6 && committed.every((p) => p.offset === endOffsets.get(p.partition));
      });
      for (const m of members) await m.consumer.disconnect();
      members.length = 0;
      await waitFor('the group to be empty', async () => (await admin.describeGroups([GROUP])).groups[0]!.state === 'Empty');

      // A new consumer of the group starts at the committed offsets: only new messages arrive.
      const third = await produce(600, 60);
      const fresh = await startConsumer();
      members.push(fresh);
      await waitFor('the new messages', () => third.every((v) => fresh.seen.some((s) => s.value === v)));
      // Not a wait for a condition: time for a redelivery of a committed message to show up.
      await elapse(500);
      assert.deepEqual(fresh.seen.map((s) => s.value).sort(), [...third].sort(), 'no committed message is delivered again');

      // DeleteGroups refuses a group with members, then removes the group and its offsets.
      await assert.rejects(admin.deleteGroups([GROUP]), (err: any) => err.groups?.[0]?.error?.type === 'NON_EMPTY_GROUP');
      await fresh.consumer.disconnect();
      members.length = 0;
      await waitFor('the group to be empty again', async () => (await admin.describeGroups([GROUP])).groups[0]!.state === 'Empty');
      const deleted = await admin.deleteGroups([GROUP]);
      assert.deepEqual(
        deleted.map((d) => [d.groupId, d.errorCode]),
        [[GROUP, 0]],
      );
      assert.ok(!(await admin.listGroups()).groups.some((g) => g.groupId === GROUP));
      const offsets = (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0]!.partitions;
      assert.ok(
        offsets.every((p) => p.offset === '-1'),
        'a deleted group has no committed offsets',
      );
    } finally {
      for (const m of members) await m.consumer.disconnect().catch(() => undefined);
      await admin.disconnect();
    }
  });

  test('a killed member is expired after its session timeout and its partitions move', async () => {
    const topic = 'group-crash';
    const groupId = 'kafkajs-crash-group';
    const admin = kafka.admin();
    await admin.connect();
    const members: Tracked[] = [];
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'test/clients/kafkajs-group-member.ts'), broker.bootstrap, groupId, topic, String(CHILD_SESSION_MS)],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((r) => child.once('exit', r));
    const childState = { assigned: [] as number[], values: [] as string[] };
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as { assigned?: number[]; value?: string };
      if (msg.assigned) childState.assigned = [...msg.assigned].sort((a, b) => a - b);
      if (msg.value) childState.values.push(msg.value);
    });
    try {
      await createTopic(broker, topic, 6);
      for (let i = 0; i < 2; i++) members.push(await startConsumer(groupId, topic));
      await waitFor('a 2/2/2 split with the child process', () => {
        const all = [...members.flatMap((m) => m.assigned), ...childState.assigned];
        return childState.assigned.length === 2 && members.every((m) => m.assigned.length === 2) && new Set(all).size === 6;
      });
      const first = await produce(0, 120, topic);
      const seen = () => new Set([...members.flatMap((m) => m.seen.map((s) => s.value)), ...childState.values]);
      await waitFor('the first messages', () => first.every((v) => seen().has(v)));
      // Every member, the child too, commits what it consumed (20 records per partition).
      await waitFor('the members to commit the first messages', async () => {
        const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions;
        return committed.length === 6 && committed.every((p) => p.offset === '20');
      });

      child.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();
      await waitFor("the survivors to take over the killed member's partitions", balanced(members, 3), 20_000);
      const took = Date.now() - killedAt;
      assert.ok(took < CHILD_SESSION_MS + 5000, `rebalanced ${took} ms after the kill (session timeout ${CHILD_SESSION_MS} ms)`);

      const second = await produce(120, 120, topic);
      await waitFor('every message after the crash', () => [...first, ...second].every((v) => seen().has(v)));
      // Only what the killed member had not committed may come twice.
      const survivorValues = members.flatMap((m) => m.seen.map((s) => s.value));
      const duplicates = survivorValues.filter((v) => childState.values.includes(v));
      assert.deepEqual(duplicates, [], 'the killed member had committed all it consumed: nothing comes twice');
      assert.equal(new Set(survivorValues).size, survivorValues.length, 'the survivors see no duplicates among themselves');
    } finally {
      child.kill('SIGKILL');
      for (const m of members) await m.consumer.disconnect().catch(() => undefined);
      await admin.disconnect();
    }
  });
});
