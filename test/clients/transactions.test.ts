// Exactly-once with real clients: librdkafka (confluent-kafka-python) and kafkajs transactional
// producers against a broker process, read back with both isolation levels.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { suiteBroker } from '../helpers/broker.js';
import { runPython } from '../helpers/python-clients.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { elapse, waitUntil } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

interface ReadRecord {
  p: number;
  o: number;
  k: string;
  v: string;
}

function readTopic(bootstrap: string, topic: string, isolation: 'read_committed' | 'read_uncommitted'): { records: ReadRecord[]; ends: Record<string, number> } {
  const r = runPython('txn_confluent.py', ['read', bootstrap, topic, isolation]);
  assert.equal(r.status, 0, r.output);
  assert.ok(Array.isArray(r.summary.records), r.output);
  return r.summary as unknown as { records: ReadRecord[]; ends: Record<string, number> };
}

function keys(records: ReadRecord[]): string[] {
  return records.map((r) => r.k).sort();
}

describe('transactions with real clients', () => {
  const broker = suiteBroker({
    process: true,
    config: {
      'group.initial.rebalance.delay.ms': 0,
      'transaction.abort.timed.out.transaction.cleanup.interval.ms': 500,
      'offsets.topic.num.partitions': 5,
      'transaction.state.log.num.partitions': 5,
    },
  });
  let kafka: InstanceType<typeof Kafka>;
  let admin: ReturnType<InstanceType<typeof Kafka>['admin']>;

  before(async () => {
    kafka = new Kafka({ clientId: 'txn-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
  });
  after(() => admin?.disconnect());

  test('confluent-kafka-python: committed and aborted transactions over 3 partitions, read with both isolation levels', async () => {
    await admin.createTopics({ topics: [{ topic: 'tx-basic', numPartitions: 3 }] });
    const run = runPython('txn_confluent.py', ['commit-abort', broker.bootstrap, 'tx-basic', 'tx-basic-producer']);
    assert.equal(run.status, 0, run.output);

    const committed = readTopic(broker.bootstrap, 'tx-basic', 'read_committed');
    const expected = [...Array.from({ length: 30 }, (_, i) => `c${i}`), 'd0', 'd1', 'd2'].sort();
    assert.deepEqual(keys(committed.records), expected, 'read_committed sees exactly the committed records');
    for (const r of committed.records) assert.ok(r.v.startsWith('committed'), r.v);

    const all = readTopic(broker.bootstrap, 'tx-basic', 'read_uncommitted');
    const aborted = Array.from({ length: 30 }, (_, i) => `a${i}`);
    assert.deepEqual(keys(all.records), [...expected, ...aborted].sort(), 'read_uncommitted also sees the aborted records');
    // Each partition holds 11 data records of three transactions plus one marker per transaction:
    // the markers take offsets that no client ever receives.
    for (const p of [0, 1, 2]) {
      assert.equal(all.ends[String(p)], 24, `partition ${p} end offset`);
      const offsets = all.records.filter((r) => r.p === p).map((r) => r.o);
      assert.equal(offsets.length, 21);
      assert.deepEqual(
        offsets,
        [...offsets].sort((a, b) => a - b),
      );
      assert.equal(offsets.filter((o) => !offsets.includes(o + 1)).length, 3, `three gaps (the markers) in ${offsets.join(',')}`);
    }
  });

  test('zombie fencing: a second producer with the same transactional.id fences the first', async () => {
    await admin.createTopics({ topics: [{ topic: 'tx-fence', numPartitions: 1 }] });
    const run = runPython('txn_confluent.py', ['fence', broker.bootstrap, 'tx-fence', 'tx-fence-id']);
    assert.equal(run.status, 0, run.output);
    const error = run.summary.error as { name: string; fatal: boolean } | null;
    assert.ok(error, `the zombie got no error: ${run.output}`);
    assert.equal(error.name, '_FENCED', run.output);
    assert.equal(error.fatal, true);
    const committed = readTopic(broker.bootstrap, 'tx-fence', 'read_committed');
    assert.deepEqual(keys(committed.records), ['winner'], 'only the new producer committed; the zombie transaction was aborted');
  });

  test('consume-transform-produce with send_offsets_to_transaction survives a processor crash exactly once', async () => {
    await admin.createTopics({
      topics: [
        { topic: 'eos-in', numPartitions: 3 },
        { topic: 'eos-out', numPartitions: 3 },
      ],
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'eos-in',
      messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 3 })),
    });
    await producer.disconnect();

    const crashed = runPython('txn_confluent.py', ['process', broker.bootstrap, 'eos-in', 'eos-out', 'eos-group', 'eos-processor', '120']);
    assert.equal(crashed.status, 3, `the processor should have crashed mid-transaction: ${crashed.output}`);
    const resumed = runPython('txn_confluent.py', ['process', broker.bootstrap, 'eos-in', 'eos-out', 'eos-group', 'eos-processor'], 150_000);
    assert.equal(resumed.status, 0, resumed.output);

    const out = readTopic(broker.bootstrap, 'eos-out', 'read_committed').records;
    assert.equal(out.length, 300, 'every input record is in the output exactly once');
    assert.deepEqual(keys(out), Array.from({ length: 300 }, (_, i) => `k${i}`).sort());
    for (const r of out) assert.equal(r.v, `out:v${r.k.slice(1)}`);
    // The crashed transaction's records are in the log, aborted.
    const everything = readTopic(broker.bootstrap, 'eos-out', 'read_uncommitted').records;
    assert.ok(everything.length > 300, 'the aborted attempt left records only read_uncommitted shows');
    const offsets = await admin.fetchOffsets({ groupId: 'eos-group', topics: ['eos-in'] });
    assert.deepEqual(offsets[0]!.partitions.map((p) => Number(p.offset)).sort(), [100, 100, 100], 'the group offsets committed inside the transactions cover the whole input');
  });

  test('kafkajs: transaction() with sendOffsets commits, abort() leaves nothing visible', async () => {
    await admin.createTopics({
      topics: [
        { topic: 'kjs-tx', numPartitions: 2 },
        { topic: 'kjs-src', numPartitions: 2 },
      ],
    });
    const producer = kafka.producer({ transactionalId: 'kjs-tx-id', maxInFlightRequests: 1, idempotent: true });
    await producer.connect();
    try {
      const committed = await producer.transaction();
      await committed.send({
        topic: 'kjs-tx',
        messages: [
          { key: 'ok-1', value: '1', partition: 0 },
          { key: 'ok-2', value: '2', partition: 1 },
        ],
      });
      await committed.sendOffsets({
        consumerGroupId: 'kjs-group',
        topics: [
          {
            topic: 'kjs-src',
            partitions: [
              { partition: 0, offset: '42' },
              { partition: 1, offset: '7' },
            ],
          },
        ],
      });
      await committed.commit();

      const aborted = await producer.transaction();
      await aborted.send({
        topic: 'kjs-tx',
        messages: [
          { key: 'no-1', value: 'x', partition: 0 },
          { key: 'no-2', value: 'y', partition: 1 },
        ],
      });
      await aborted.sendOffsets({ consumerGroupId: 'kjs-group', topics: [{ topic: 'kjs-src', partitions: [{ partition: 0, offset: '1000' }] }] });
      await aborted.abort();
    } finally {
      await producer.disconnect();
    }
    const offsets = await admin.fetchOffsets({ groupId: 'kjs-group', topics: ['kjs-src'] });
    assert.deepEqual(
      offsets[0]!.partitions.map((p) => [p.partition, p.offset]).sort(),
      [
        [0, '42'],
        [1, '7'],
      ],
      'offsets of the committed transaction only',
    );

    // A kafkajs consumer reads committed data by default (readUncommitted: false).
    const consumer = kafka.consumer({ groupId: 'kjs-reader', readUncommitted: false });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: 'kjs-tx', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.key!.toString()) });
      await waitUntil(() => seen.length >= 2, { timeout: 30_000, message: 'the committed records' }).catch(() => undefined);
      await elapse(1000); // not a wait for a condition: anything aborted would show up by now
    } finally {
      await consumer.disconnect();
    }
    assert.deepEqual(seen.sort(), ['ok-1', 'ok-2']);
    assert.deepEqual(keys(readTopic(broker.bootstrap, 'kjs-tx', 'read_uncommitted').records), ['no-1', 'no-2', 'ok-1', 'ok-2']);
  });

  test('ListTransactions and DescribeTransactions show the coordinator state', async () => {
    const client = await RawClient.connect(broker.port);
    try {
      const list = await client.request(ApiKey.ListTransactions, 1, { stateFilters: ['CompleteCommit', 'Bogus'], producerIdFilters: [], durationFilter: -1 });
      assert.equal(list.body.errorCode, 0);
      assert.deepEqual(list.body.unknownStateFilters, ['Bogus']);
      const ids = (list.body.transactionStates as { transactionalId: string }[]).map((t) => t.transactionalId);
      assert.ok(ids.includes('tx-basic-producer'), ids.join(','));
      assert.ok(ids.includes('kjs-tx-id') === false, 'kjs-tx-id ended with an abort');
      const described = await client.request(ApiKey.DescribeTransactions, 0, { transactionalIds: ['kjs-tx-id', 'no-such-id'] });
      const [kjs, missing] = described.body.transactionStates;
      assert.equal(kjs.errorCode, 0);
      assert.equal(kjs.transactionState, 'CompleteAbort');
      assert.ok(kjs.producerId >= 0);
      assert.deepEqual(kjs.topics, []);
      assert.equal(missing.errorCode, 105, 'TRANSACTIONAL_ID_NOT_FOUND');
    } finally {
      client.close();
    }
  });
});
