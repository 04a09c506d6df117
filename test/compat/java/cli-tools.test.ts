// Kafka's command-line tools (kafka-tools 4.4, the classes the bin/*.sh scripts run) against a
// Tributary broker process. One JVM runs every command (ToolRunner.java); each case checks the
// output a Kafka broker gives, or the effect through another tool.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { javaSetup, Tools, type ToolResult } from './harness.js';

const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;

const T = 'org.apache.kafka.tools.';
const TOPICS = `${T}TopicCommand`;
const PRODUCER = `${T}ConsoleProducer`;
const CONSUMER = `${T}consumer.ConsoleConsumer`;
const GROUPS = `${T}consumer.group.ConsumerGroupCommand`;
const CONFIGS = `${T}ConfigCommand`;

function ok(r: ToolResult, what: string): string {
  assert.equal(r.exit, 0, `${what} exited ${r.exit}\nstdout:\n${r.out}\nstderr:\n${r.err.slice(-3000)}`);
  return r.out;
}

describe('Kafka CLI tools', { skip }, () => {
  let broker: BrokerProcess;
  let tools: Tools;
  let bs: string[];
  let tmp: string;
  const run = (main: string, args: string[], stdin = '') => tools.run(main, [...bs, ...args], stdin);

  before(async () => {
    if (typeof setup === 'string') return;
    broker = await startBrokerProcess();
    bs = ['--bootstrap-server', broker.bootstrap];
    tmp = mkdtempSync(join(tmpdir(), 'tributary-cli-'));
    tools = await Tools.start(setup);
  });
  after(async () => {
    await tools?.close();
    await broker?.stop();
    broker?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('kafka-topics: create, list, describe, alter, delete', async () => {
    assert.match(
      ok(await run(TOPICS, ['--create', '--topic', 'cli-topic', '--partitions', '3', '--replication-factor', '1', '--config', 'retention.ms=1000000']), 'create'),
      /^Created topic cli-topic\.$/m,
    );
    const dup = await run(TOPICS, ['--create', '--topic', 'cli-topic', '--partitions', '1']);
    assert.notEqual(dup.exit, 0);
    assert.match(dup.out + dup.err, /Topic 'cli-topic' already exists/);
    assert.match(ok(await run(TOPICS, ['--list']), 'list'), /^cli-topic$/m);
    const d = ok(await run(TOPICS, ['--describe', '--topic', 'cli-topic']), 'describe');
    assert.match(d, /^Topic: cli-topic\tTopicId: \S{22}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention\.ms=1000000$/m);
    for (const p of [0, 1, 2]) assert.match(d, new RegExp(`^\\tTopic: cli-topic\\tPartition: ${p}\\tLeader: 1\\tReplicas: 1\\tIsr: 1\\tElr: \\tLastKnownElr: $`, 'm'));
    ok(await run(TOPICS, ['--alter', '--topic', 'cli-topic', '--partitions', '5']), 'alter');
    assert.match(ok(await run(TOPICS, ['--describe', '--topic', 'cli-topic']), 'describe'), /PartitionCount: 5/);
    const shrink = await run(TOPICS, ['--alter', '--topic', 'cli-topic', '--partitions', '2']);
    assert.notEqual(shrink.exit, 0);
    assert.match(shrink.out + shrink.err, /partitions|InvalidPartitions/i);
    const missing = await run(TOPICS, ['--describe', '--topic', 'no-such-topic']);
    assert.equal(missing.exit, 1);
    assert.match(missing.out, /Topic 'no-such-topic' does not exist as expected/);
    ok(await run(TOPICS, ['--delete', '--topic', 'cli-topic']), 'delete');
    assert.doesNotMatch(ok(await run(TOPICS, ['--list']), 'list'), /^cli-topic$/m);
  });

  test('console producer and consumer: keys, headers, groups', async () => {
    ok(await run(TOPICS, ['--create', '--topic', 'cli-console', '--partitions', '1']), 'create');
    ok(
      await run(
        PRODUCER,
        ['--topic', 'cli-console', '--reader-property', 'parse.key=true', '--reader-property', 'key.separator=:', '--reader-property', 'parse.headers=true'],
        'h1:v1\tk1:one\nh2:v2\tk2:two\nh3:v3\tk3:three\n',
      ),
      'producer',
    );
    const out = ok(
      await run(CONSUMER, [
        '--topic',
        'cli-console',
        '--from-beginning',
        '--max-messages',
        '3',
        '--timeout-ms',
        '30000',
        '--formatter-property',
        'print.key=true',
        '--formatter-property',
        'print.headers=true',
        '--formatter-property',
        'print.offset=true',
        '--group',
        'cli-group',
      ]),
      'consumer',
    );
    assert.deepEqual(out.trim().split('\n'), ['Offset:0\th1:v1\tk1\tone', 'Offset:1\th2:v2\tk2\ttwo', 'Offset:2\th3:v3\tk3\tthree']);
    // The group committed its position: nothing left for it.
    const again = await run(CONSUMER, ['--topic', 'cli-console', '--max-messages', '1', '--timeout-ms', '3000', '--group', 'cli-group']);
    assert.equal(again.out.trim(), '');
    assert.match(again.err, /Processed a total of 0 messages/);
  });

  test('kafka-consumer-groups: list, describe, reset offsets, delete', async () => {
    ok(await run(TOPICS, ['--create', '--topic', 'cli-groups', '--partitions', '2']), 'create');
    const lines = Array.from({ length: 10 }, (_, i) => `v${i}`).join('\n');
    ok(
      await run(PRODUCER, ['--topic', 'cli-groups', '--command-property', 'partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner'], `${lines}\n`),
      'producer',
    );
    ok(await run(CONSUMER, ['--topic', 'cli-groups', '--from-beginning', '--max-messages', '10', '--timeout-ms', '30000', '--group', 'cli-g']), 'consumer');
    assert.match(ok(await run(GROUPS, ['--list']), 'list'), /^cli-g$/m);
    const listState = ok(await run(GROUPS, ['--list', '--state']), 'list --state');
    assert.match(listState, /^cli-g\s+Empty\s*$/m);
    const describe = await run(GROUPS, ['--describe', '--group', 'cli-g']);
    const d = ok(describe, 'describe');
    assert.match(describe.err, /Consumer group 'cli-g' has no active members\./);
    assert.match(d, /^GROUP/m);
    assert.match(d, /GROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID\s+HOST\s+CLIENT-ID/);
    const rows = d.split('\n').filter((l) => l.startsWith('cli-g '));
    assert.equal(rows.length, 2, d);
    let total = 0;
    for (const r of rows) {
      const [, topic, , current, end, lag] = r.trim().split(/\s+/);
      assert.equal(topic, 'cli-groups');
      assert.equal(current, end);
      assert.equal(lag, '0');
      total += Number(end);
    }
    assert.equal(total, 10);
    const dry = ok(await run(GROUPS, ['--reset-offsets', '--group', 'cli-g', '--topic', 'cli-groups', '--to-earliest']), 'reset dry run');
    assert.match(dry, /GROUP\s+TOPIC\s+PARTITION\s+NEW-OFFSET/);
    assert.match(ok(await run(GROUPS, ['--describe', '--group', 'cli-g']), 'describe'), /cli-groups\s+\d\s+(\d+)\s+\1\s+0/, 'a dry run changes nothing');
    const exec = ok(await run(GROUPS, ['--reset-offsets', '--group', 'cli-g', '--topic', 'cli-groups:0', '--to-offset', '1', '--execute']), 'reset execute');
    assert.match(exec, /cli-g\s+cli-groups\s+0\s+1/);
    const after = ok(await run(GROUPS, ['--describe', '--group', 'cli-g', '--offsets']), 'describe');
    assert.match(after, /cli-g\s+cli-groups\s+0\s+1\s+(\d+)\s+(\d+)/);
    const m = /cli-g\s+cli-groups\s+0\s+1\s+(\d+)\s+(\d+)/.exec(after)!;
    assert.equal(Number(m[2]), Number(m[1]) - 1, 'lag after the reset');
    ok(await run(GROUPS, ['--reset-offsets', '--group', 'cli-g', '--all-topics', '--shift-by', '-100', '--execute']), 'shift-by clamps to the log start');
    assert.match(ok(await run(GROUPS, ['--describe', '--group', 'cli-g']), 'describe'), /cli-groups\s+1\s+0\s+/);
    const del = ok(await run(GROUPS, ['--delete', '--group', 'cli-g']), 'delete');
    assert.match(del, /Deletion of requested consumer groups \('cli-g'\) was successful\./);
    // DescribeGroups v6 (KIP-1043) answers GROUP_ID_NOT_FOUND for a group that is gone.
    const gone = await run(GROUPS, ['--describe', '--group', 'cli-g']);
    assert.match(gone.out + gone.err, /GroupIdNotFoundException: Group cli-g not found\./);
  });

  test('kafka-configs: topic and broker configs', async () => {
    ok(await run(TOPICS, ['--create', '--topic', 'cli-configs', '--partitions', '1']), 'create');
    assert.match(
      ok(
        await run(CONFIGS, ['--entity-type', 'topics', '--entity-name', 'cli-configs', '--alter', '--add-config', 'retention.ms=5000,cleanup.policy=[compact,delete]']),
        'alter',
      ),
      /Completed updating config for topic cli-configs\./,
    );
    const d = ok(await run(CONFIGS, ['--entity-type', 'topics', '--entity-name', 'cli-configs', '--describe']), 'describe');
    assert.match(d, /Dynamic configs for topic cli-configs are:/);
    assert.match(d, /^\s+retention\.ms=5000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention\.ms=5000, DEFAULT_CONFIG:log\.retention\.hours=168\}$/m);
    assert.match(
      d,
      /^\s+cleanup\.policy=compact,delete sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:cleanup\.policy=compact,delete, DEFAULT_CONFIG:log\.cleanup\.policy=delete\}$/m,
    );
    ok(await run(CONFIGS, ['--entity-type', 'topics', '--entity-name', 'cli-configs', '--alter', '--delete-config', 'retention.ms']), 'delete-config');
    assert.doesNotMatch(ok(await run(CONFIGS, ['--entity-type', 'topics', '--entity-name', 'cli-configs', '--describe']), 'describe'), /retention\.ms/);
    const bad = await run(CONFIGS, ['--entity-type', 'topics', '--entity-name', 'cli-configs', '--alter', '--add-config', 'retention.ms=soon']);
    assert.notEqual(bad.exit, 0);
    const all = ok(await run(CONFIGS, ['--entity-type', 'brokers', '--entity-name', '1', '--describe', '--all']), 'broker --all');
    assert.match(all, /All configs for broker 1 are:/);
    assert.match(all, /^\s+num\.partitions=1 sensitive=false synonyms=\{.*DEFAULT_CONFIG:num\.partitions=1\}$/m);
    ok(await run(CONFIGS, ['--entity-type', 'brokers', '--entity-name', '1', '--alter', '--add-config', 'log.retention.ms=86400000']), 'broker dynamic config');
    assert.match(
      ok(await run(CONFIGS, ['--entity-type', 'brokers', '--entity-name', '1', '--describe']), 'describe broker'),
      /Dynamic configs for broker 1 are:\n\s+log\.retention\.ms=86400000 sensitive=false synonyms=\{DYNAMIC_BROKER_CONFIG:log\.retention\.ms=86400000/,
    );
    ok(await run(CONFIGS, ['--entity-type', 'brokers', '--entity-name', '1', '--alter', '--delete-config', 'log.retention.ms']), 'remove broker config');
    assert.doesNotMatch(ok(await run(CONFIGS, ['--entity-type', 'brokers', '--entity-name', '1', '--describe']), 'describe broker'), /log\.retention\.ms/);
    ok(await run(CONFIGS, ['--entity-type', 'clients', '--entity-name', 'cli-client', '--alter', '--add-config', 'producer_byte_rate=1024']), 'client quota');
    assert.match(
      ok(await run(CONFIGS, ['--entity-type', 'clients', '--entity-name', 'cli-client', '--describe']), 'describe quota'),
      /Quota configs for client-id 'cli-client' are producer_byte_rate=1024\.0/,
    );
  });

  test('kafka-configs --entity-type client-metrics: a subscription described as DYNAMIC_CLIENT_METRICS_CONFIG', async () => {
    const subscription = ['--entity-type', 'client-metrics', '--entity-name', 'cli-metrics'];
    ok(await run(CONFIGS, [...subscription, '--alter', '--add-config', 'metrics=org.apache.kafka.producer.,interval.ms=2000']), 'alter');
    const d = ok(await run(CONFIGS, [...subscription, '--describe']), 'describe');
    // The tool lists the configs whose source is the subscription's own (not `match`, a default).
    assert.match(
      d,
      /Dynamic configs for client-metric cli-metrics are:\n\s+interval\.ms=2000 sensitive=false synonyms=\{\}\n\s+metrics=org\.apache\.kafka\.producer\. sensitive=false synonyms=\{\}\n$/,
    );
  });

  test('kafka-configs --entity-type groups: streams and consumer group configs within the broker bounds', async () => {
    const group = ['--entity-type', 'groups', '--entity-name', 'cli-streams-app'];
    assert.match(
      ok(
        await run(CONFIGS, [...group, '--alter', '--add-config', 'streams.num.standby.replicas=2,streams.session.timeout.ms=50000,consumer.heartbeat.interval.ms=6000']),
        'alter',
      ),
      /Completed updating config for group cli-streams-app\./,
    );
    const d = ok(await run(CONFIGS, [...group, '--describe']), 'describe');
    assert.match(d, /Dynamic configs for group cli-streams-app are:/);
    assert.match(
      d,
      /^\s+streams\.num\.standby\.replicas=2 sensitive=false synonyms=\{DYNAMIC_GROUP_CONFIG:streams\.num\.standby\.replicas=2, DEFAULT_CONFIG:group\.streams\.num\.standby\.replicas=0\}$/m,
    );
    assert.match(d, /^\s+streams\.session\.timeout\.ms=50000 sensitive=false/m);
    assert.match(d, /^\s+consumer\.heartbeat\.interval\.ms=6000 sensitive=false/m);
    // Outside group.streams.max.standby.replicas (2) and group.streams.min/max.session.timeout.ms.
    const tooMany = await run(CONFIGS, [...group, '--alter', '--add-config', 'streams.num.standby.replicas=3']);
    assert.notEqual(tooMany.exit, 0);
    assert.match(tooMany.out + tooMany.err, /InvalidConfigurationException: streams\.num\.standby\.replicas must be less than or equal to 2/);
    const tooShort = await run(CONFIGS, [...group, '--alter', '--add-config', 'streams.session.timeout.ms=1000']);
    assert.notEqual(tooShort.exit, 0);
    assert.match(tooShort.out + tooShort.err, /streams\.session\.timeout\.ms must be in the range 45000 to 60000 inclusive\./);
    const unknown = await run(CONFIGS, [...group, '--alter', '--add-config', 'streams.no.such.config=1']);
    assert.notEqual(unknown.exit, 0);
    ok(await run(CONFIGS, [...group, '--alter', '--delete-config', 'streams.num.standby.replicas,streams.session.timeout.ms,consumer.heartbeat.interval.ms']), 'delete');
    const all = ok(await run(CONFIGS, [...group, '--describe', '--all']), 'describe --all');
    assert.match(all, /^\s+streams\.num\.standby\.replicas=0 sensitive=false synonyms=\{DEFAULT_CONFIG:group\.streams\.num\.standby\.replicas=0\}$/m);
  });

  test('kafka-configs --entity-default: cluster-wide dynamic broker defaults under the broker level', async () => {
    ok(await run(CONFIGS, ['--entity-type', 'brokers', '--entity-default', '--alter', '--add-config', 'log.retention.ms=86400000']), 'cluster default');
    try {
      assert.match(
        ok(await run(CONFIGS, ['--entity-type', 'brokers', '--entity-default', '--describe']), 'describe default'),
        /log\.retention\.ms=86400000 sensitive=false synonyms=\{DYNAMIC_DEFAULT_BROKER_CONFIG:log\.retention\.ms=86400000\}/,
      );
      // The broker inherits the default; its own value wins over it, and lists it as a synonym.
      assert.match(
        ok(await run(CONFIGS, ['--entity-type', 'brokers', '--entity-name', '1', '--describe', '--all']), 'describe broker --all'),
        /^\s+log\.retention\.ms=86400000 sensitive=false synonyms=\{DYNAMIC_DEFAULT_BROKER_CONFIG:log\.retention\.ms=86400000\}$/m,
      );
      ok(await run(CONFIGS, ['--entity-type', 'brokers', '--entity-name', '1', '--alter', '--add-config', 'log.retention.ms=3600000']), 'broker level');
      assert.match(
        ok(await run(CONFIGS, ['--entity-type', 'brokers', '--entity-name', '1', '--describe']), 'describe broker'),
        /log\.retention\.ms=3600000 sensitive=false synonyms=\{DYNAMIC_BROKER_CONFIG:log\.retention\.ms=3600000, DYNAMIC_DEFAULT_BROKER_CONFIG:log\.retention\.ms=86400000\}/,
      );
    } finally {
      await run(CONFIGS, ['--entity-type', 'brokers', '--entity-name', '1', '--alter', '--delete-config', 'log.retention.ms']);
      await run(CONFIGS, ['--entity-type', 'brokers', '--entity-default', '--alter', '--delete-config', 'log.retention.ms']);
    }
  });

  test('kafka-delete-records and kafka-get-offsets', async () => {
    ok(await run(TOPICS, ['--create', '--topic', 'cli-offsets', '--partitions', '2']), 'create');
    ok(
      await run(PRODUCER, ['--topic', 'cli-offsets', '--command-property', 'partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner'], 'a\nb\nc\nd\ne\nf\n'),
      'producer',
    );
    const latest = ok(await run(`${T}GetOffsetShell`, ['--topic', 'cli-offsets']), 'get-offsets');
    assert.deepEqual(latest.trim().split('\n').sort(), ['cli-offsets:0:3', 'cli-offsets:1:3']);
    const file = join(tmp, 'delete.json');
    writeFileSync(file, JSON.stringify({ version: 1, partitions: [{ topic: 'cli-offsets', partition: 0, offset: 2 }] }));
    const del = ok(await run(`${T}DeleteRecordsCommand`, ['--offset-json-file', file]), 'delete-records');
    assert.match(del, /partition: cli-offsets-0\tlow_watermark: 2/);
    const earliest = ok(await run(`${T}GetOffsetShell`, ['--topic', 'cli-offsets', '--time', '-2']), 'get-offsets earliest');
    assert.deepEqual(earliest.trim().split('\n').sort(), ['cli-offsets:0:2', 'cli-offsets:1:0']);
    const maxTs = ok(await run(`${T}GetOffsetShell`, ['--topic-partitions', 'cli-offsets:1', '--time', '-3']), 'get-offsets max timestamp');
    assert.match(maxTs.trim(), /^cli-offsets:1:[0-2]$/);
  });

  test('kafka-transactions: list, describe, describe-producers, find-hanging', async () => {
    ok(await run(TOPICS, ['--create', '--topic', 'cli-txn', '--partitions', '1']), 'create');
    ok(await run('tributary.compat.TxnProduce', ['cli-txn', 'cli-txn-id', 'x', 'y']), 'transactional producer');
    const list = ok(await run(`${T}TransactionsCommand`, ['list']), 'list');
    assert.match(list, /TransactionalId\s+Coordinator\s+ProducerId\s+TransactionState/);
    assert.match(list, /^cli-txn-id\s+1\s+\d+\s+(CompleteCommit|Empty)\s*$/m);
    const d = ok(await run(`${T}TransactionsCommand`, ['describe', '--transactional-id', 'cli-txn-id']), 'describe');
    assert.match(d, /CoordinatorId\s+TransactionalId\s+ProducerId\s+ProducerEpoch\s+TransactionState/);
    assert.match(d, /^1\s+cli-txn-id\s+\d+\s+\d+\s+(CompleteCommit|Empty)/m);
    const p = ok(await run(`${T}TransactionsCommand`, ['describe-producers', '--topic', 'cli-txn', '--partition', '0']), 'describe-producers');
    assert.match(p, /ProducerId\s+ProducerEpoch\s+LatestCoordinatorEpoch\s+LastSequence\s+LastTimestamp\s+CurrentTransactionStartOffset/);
    // Transactions V2: the COMMIT marker bumped the epoch, which leaves no last sequence (-1), as in Kafka.
    assert.match(p, /^\d+\s+\d+\s+-?\d+\s+-?\d+\s+\d+\s+None\s*$/m);
    const h = ok(await run(`${T}TransactionsCommand`, ['find-hanging', '--broker-id', '1']), 'find-hanging');
    assert.match(h, /Topic\s+Partition\s+ProducerId\s+ProducerEpoch\s+CoordinatorEpoch\s+StartOffset\s+LastTimestamp\s+Duration\(min\)/);
    assert.equal(h.trim().split('\n').length, 1, `no hanging transaction: ${h}`);
  });

  test('kafka-log-dirs, kafka-leader-election, kafka-reassign-partitions', async () => {
    ok(await run(TOPICS, ['--create', '--topic', 'cli-admin', '--partitions', '2']), 'create');
    ok(await run(PRODUCER, ['--topic', 'cli-admin'], 'hello\n'), 'producer');
    const ld = ok(await run(`${T}LogDirsCommand`, ['--describe', '--topic-list', 'cli-admin']), 'log-dirs');
    const json = JSON.parse(ld.split('\n').find((l) => l.startsWith('{'))!) as {
      version: number;
      brokers: { broker: number; logDirs: { logDir: string; error: string | null; partitions: { partition: string; size: number }[] }[] }[];
    };
    assert.equal(json.version, 1);
    assert.equal(json.brokers[0]!.broker, 1);
    const parts = json.brokers[0]!.logDirs[0]!.partitions.map((x) => x.partition).sort();
    assert.deepEqual(parts, ['cli-admin-0', 'cli-admin-1']);
    assert.equal(json.brokers[0]!.logDirs[0]!.error, null);
    const le = ok(await run(`${T}LeaderElectionCommand`, ['--election-type', 'preferred', '--topic', 'cli-admin', '--partition', '0']), 'leader-election');
    assert.match(le, /Valid replica already elected for partitions cli-admin-0/);
    const moveFile = join(tmp, 'move.json');
    writeFileSync(moveFile, JSON.stringify({ version: 1, topics: [{ topic: 'cli-admin' }] }));
    const gen = ok(await run(`${T}reassign.ReassignPartitionsCommand`, ['--generate', '--topics-to-move-json-file', moveFile, '--broker-list', '1']), 'reassign --generate');
    assert.match(gen, /Current partition replica assignment/);
    assert.match(gen, /Proposed partition reassignment configuration/);
    const proposed = gen
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop()!;
    const planFile = join(tmp, 'plan.json');
    writeFileSync(planFile, proposed);
    const exec = ok(await run(`${T}reassign.ReassignPartitionsCommand`, ['--execute', '--reassignment-json-file', planFile]), 'reassign --execute');
    assert.match(exec, /Successfully started partition reassignments? for cli-admin-0,cli-admin-1/);
    const verify = ok(await run(`${T}reassign.ReassignPartitionsCommand`, ['--verify', '--reassignment-json-file', planFile]), 'reassign --verify');
    assert.match(verify, /Reassignment of partition cli-admin-0 is completed\./);
    assert.match(verify, /Reassignment of partition cli-admin-1 is completed\./);
  });

  test('kafka-verifiable-producer and kafka-verifiable-consumer', async () => {
    ok(await run(TOPICS, ['--create', '--topic', 'cli-verifiable', '--partitions', '3']), 'create');
    const p = ok(await run(`${T}VerifiableProducer`, ['--topic', 'cli-verifiable', '--max-messages', '300', '--acks', '-1']), 'verifiable producer');
    const pev = p
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = pev.find((e) => e.name === 'tool_data');
    assert.equal(done?.sent, 300);
    assert.equal(done?.acked, 300);
    assert.equal(pev.filter((e) => e.name === 'producer_send_error').length, 0);
    const c = ok(
      await run(`${T}VerifiableConsumer`, ['--topic', 'cli-verifiable', '--group-id', 'cli-verifiable-g', '--max-messages', '300', '--reset-policy', 'earliest']),
      'verifiable consumer',
    );
    const cev = c
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, any>);
    const consumed = cev.filter((e) => e.name === 'records_consumed').reduce((n, e) => n + (e.count as number), 0);
    assert.equal(consumed, 300);
    const commits = cev.filter((e) => e.name === 'offsets_committed');
    assert.ok(commits.length > 0 && commits.every((e) => e.success === true), JSON.stringify(commits));
    assert.ok(cev.some((e) => e.name === 'partitions_assigned' && e.partitions.length === 3));
    // Committed offsets exist for the partitions that got records (the sticky partitioner may
    // have put all 300 in one): each at the log end, adding up to 300.
    const lag = ok(await run(GROUPS, ['--describe', '--group', 'cli-verifiable-g', '--offsets']), 'describe');
    const rows = lag
      .split('\n')
      .filter((l) => l.startsWith('cli-verifiable-g '))
      .map((l) => l.trim().split(/\s+/));
    assert.ok(rows.length >= 1, lag);
    for (const r of rows) assert.deepEqual([r[3], r[5]], [r[4], '0'], lag);
    assert.equal(
      rows.reduce((n, r) => n + Number(r[3]), 0),
      300,
      lag,
    );
  });
});
