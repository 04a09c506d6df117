// Third-party clients against a 3-broker cluster (and one etcd): librdkafka (kcat and
// confluent-kafka-python) and the Java client (Kafka's console producer and consumer, in the
// compat harness's JVM) each produce to a 6-partition RF=3 topic whose leaders sit on all three
// brokers, each bootstrapping from a different single broker, so every client has to follow the
// Metadata routing to the other two. Then each client reads the whole topic back and must see
// every record of every client exactly once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import kafkajs from 'kafkajs';
import type { EtcdProcess } from '../../src/cluster/etcd-process.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { etcdMissing, waitFor, withEtcd } from '../helpers/etcd.js';
import { dumpTopic, runPythonAsync } from '../helpers/python-clients.js';
import { javaSetup, Tools, type ToolResult } from '../compat/java/harness.js';

const { Kafka, logLevel } = kafkajs;
const TOPIC = 'across';
const PARTITIONS = 6;
const PER_CLIENT = 120;

const kcatMissing = spawnSync('kcat', ['-V']).status === 0 ? false : 'kcat not installed (apt-get install kcat)';
const skip = etcdMissing || kcatMissing;

let etcd: EtcdProcess;
const brokers: BrokerProcess[] = [];

before(async () => {
  if (skip) return;
  etcd = await withEtcd();
  for (const id of [1, 2, 3]) {
    brokers.push(
      await startBrokerProcess({
        overrides: {
          'node.id': String(id),
          'etcd.endpoints': etcd.endpoint,
          'etcd.prefix': '/third-party-test',
          'broker.session.timeout.ms': '3000',
          'group.initial.rebalance.delay.ms': '0',
        },
      }),
    );
  }
  const admin = new Kafka({ brokers: brokers.map((b) => b.bootstrap), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor: 3 }] });
    await waitFor(
      'every partition has a leader and three in-sync replicas, leaders on all three brokers',
      async () => {
        const meta = await admin.fetchTopicMetadata({ topics: [TOPIC] });
        const parts = meta.topics[0]?.partitions ?? [];
        return parts.length === PARTITIONS && parts.every((p) => p.leader > 0 && p.isr.length === 3) && new Set(parts.map((p) => p.leader)).size === 3;
      },
      15_000,
    );
  } finally {
    await admin.disconnect();
  }
});

after(async () => {
  for (const b of brokers) {
    await b.kill();
    b.cleanup();
  }
  await etcd?.close();
});

/** Every value the topic holds, by librdkafka (dump_topic.py), bootstrapping from `b`. */
function valuesVia(b: BrokerProcess): { values: string[]; partitions: Set<number> } {
  const records = dumpTopic(b.bootstrap, TOPIC);
  return { values: records.map((r) => r.value ?? ''), partitions: new Set(records.map((r) => r.partition)) };
}

function assertEachOnce(values: string[], prefix: string, n: number, who: string): void {
  const mine = values.filter((v) => v.startsWith(prefix));
  const distinct = new Set(mine);
  assert.equal(distinct.size, n, `${who}: ${distinct.size} of ${n} distinct ${prefix}* values`);
  assert.equal(mine.length, n, `${who}: ${mine.length - n} duplicated ${prefix}* values`);
}

test('confluent-kafka-python: an idempotent acks=all producer and an assigned consumer through broker 2', { skip }, async () => {
  // confluent_roundtrip.py writes value-<i> to partition i % 6 through broker 2 only, then reads
  // every partition from offset 0 and checks offsets are dense and in order.
  const r = await runPythonAsync('confluent_roundtrip.py', [brokers[1]!.bootstrap, TOPIC, String(PER_CLIENT), String(PARTITIONS)]);
  assert.equal(r.status, 0, r.output);
  assert.deepEqual(r.summary, { produced: PER_CLIENT, consumed: PER_CLIENT, ok: true });
  const { values, partitions } = valuesVia(brokers[2]!);
  assertEachOnce(values, 'value-', PER_CLIENT, 'dump after confluent-kafka-python');
  assert.equal(partitions.size, PARTITIONS);
});

test('kcat produces through broker 1 to all six partitions; librdkafka reads them through broker 2', { skip }, () => {
  // -p -1 with keys: librdkafka's consistent_random partitioner spreads the keys over the partitions.
  const input = Array.from({ length: PER_CLIENT }, (_, i) => `key-${i}:kcat-${i}`).join('\n') + '\n';
  const r = spawnSync('kcat', ['-b', brokers[0]!.bootstrap, '-P', '-t', TOPIC, '-K', ':', '-X', 'acks=all'], { input, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  const { values, partitions } = valuesVia(brokers[1]!);
  assertEachOnce(values, 'kcat-', PER_CLIENT, 'dump after kcat');
  assertEachOnce(values, 'value-', PER_CLIENT, 'dump after kcat');
  assert.equal(partitions.size, PARTITIONS, 'the keys landed on every partition');
  // kcat reads the topic back too (through broker 3), to its end (-e).
  const c = spawnSync('kcat', ['-b', brokers[2]!.bootstrap, '-C', '-t', TOPIC, '-o', 'beginning', '-e', '-f', '%p %s\n'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(c.status, 0, c.stderr);
  const lines = c.stdout.split('\n').filter((l) => l !== '');
  assertEachOnce(
    lines.map((l) => l.split(' ')[1]!),
    'kcat-',
    PER_CLIENT,
    'kcat consumer',
  );
  assert.equal(new Set(lines.map((l) => l.split(' ')[0])).size, PARTITIONS);
});

test(
  'the Java client (console producer via broker 3, console consumer via broker 1) reads all three clients’ records',
  { skip: skip || (typeof javaSetup() === 'string' ? (javaSetup() as string) : false) },
  async () => {
    const setup = javaSetup();
    assert.ok(typeof setup !== 'string');
    const tools = await Tools.start(setup);
    const ok = (r: ToolResult, what: string) => {
      assert.equal(r.exit, 0, `${what} exited ${r.exit}\nstdout:\n${r.out.slice(-2000)}\nstderr:\n${r.err.slice(-3000)}`);
      return r.out;
    };
    try {
      const input = Array.from({ length: PER_CLIENT }, (_, i) => `jkey-${i}:java-${i}`).join('\n') + '\n';
      ok(
        await tools.run(
          'org.apache.kafka.tools.ConsoleProducer',
          [
            '--bootstrap-server',
            brokers[2]!.bootstrap,
            '--topic',
            TOPIC,
            '--reader-property',
            'parse.key=true',
            '--reader-property',
            'key.separator=:',
            '--producer-property',
            'acks=all',
          ],
          input,
        ),
        'console producer',
      );
      const total = PER_CLIENT * 3;
      const out = ok(
        await tools.run('org.apache.kafka.tools.consumer.ConsoleConsumer', [
          '--bootstrap-server',
          brokers[0]!.bootstrap,
          '--topic',
          TOPIC,
          '--from-beginning',
          '--max-messages',
          String(total),
          '--timeout-ms',
          '30000',
          '--formatter-property',
          'print.partition=true',
        ]),
        'console consumer',
      );
      const lines = out.split('\n').filter((l) => l.trim() !== '');
      // print.partition=true prints "Partition:<n>\t<value>".
      const values = lines.map((l) => l.split('\t').pop()!);
      assert.equal(lines.length, total, `the Java consumer read ${lines.length} of ${total}`);
      for (const prefix of ['kcat-', 'value-', 'java-']) assertEachOnce(values, prefix, PER_CLIENT, 'Java consumer');
      assert.equal(new Set(lines.map((l) => l.split('\t')[0])).size, PARTITIONS, 'the Java consumer read every partition');
      // And librdkafka sees the Java producer's records too.
      const { values: dumped } = valuesVia(brokers[0]!);
      assertEachOnce(dumped, 'java-', PER_CLIENT, 'dump after the Java producer');
    } finally {
      await tools.close();
    }
  },
);

test('DescribeConfigs of a cluster broker: values given with --override are STATIC_BROKER_CONFIG, others DEFAULT_CONFIG', { skip }, async () => {
  const admin = new Kafka({ brokers: [brokers[0]!.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const r = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 4 /* BROKER */, name: '2', configNames: ['node.id', 'etcd.endpoints', 'broker.session.timeout.ms', 'num.partitions'] }],
    });
    const view = Object.fromEntries(r.resources[0]!.configEntries.map((e) => [e.configName, [e.configValue, (e as { configSource?: number }).configSource]]));
    // 4 STATIC_BROKER_CONFIG, 5 DEFAULT_CONFIG (kafkajs asks DescribeConfigs v1+, which has the source).
    assert.deepEqual(view, {
      'node.id': ['2', 4],
      'etcd.endpoints': [etcd.endpoint, 4],
      'broker.session.timeout.ms': ['3000', 4],
      'num.partitions': ['1', 5],
    });
  } finally {
    await admin.disconnect();
  }
});
