import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { suiteBroker, withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const { Kafka, logLevel, ConfigResourceTypes } = kafkajs;
const TOPIC = 2;
const BROKER = 4;

describe('topic and broker configuration APIs', () => {
  const broker = suiteBroker({ config: { 'log.retention.hours': 48 } });
  let kafka: InstanceType<typeof Kafka>;
  before(() => {
    kafka = new Kafka({ clientId: 'configs-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  });

  async function topicConfig(topic: string, name: string) {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const res = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [name] }] });
      const entry = res.resources[0]!.configEntries.find((c: { configName: string }) => c.configName === name);
      assert.ok(entry, `config ${name} is described`);
      return entry;
    } finally {
      await admin.disconnect();
    }
  }

  test('DescribeConfigs reports values with their sources and broker synonyms', async () => {
    await createTopic(broker, 'cfg', 1, { 'segment.bytes': '1048576' });
    const seg = await topicConfig('cfg', 'segment.bytes');
    assert.equal(seg.configValue, '1048576');
    assert.equal(seg.configSource, 1, 'DYNAMIC_TOPIC_CONFIG');
    const ret = await topicConfig('cfg', 'retention.ms');
    assert.equal(ret.configValue, String(48 * 3600_000), 'follows log.retention.hours');
    assert.equal(ret.configSource, 4, 'STATIC_BROKER_CONFIG');
    assert.equal(ret.configSynonyms[0]?.configName, 'log.retention.hours');
  });

  test('AlterConfigs replaces overrides, persists, and survives a restart', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg', configEntries: [{ name: 'retention.ms', value: '60000' }] }],
    });
    await assert.rejects(
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
      (err: any) => err.type === 'INVALID_CONFIG' || err.errors?.[0]?.type === 'INVALID_CONFIG' || /INVALID_CONFIG|Invalid value/.test(String(err)),
    );
    await admin.disconnect();
    assert.equal((await topicConfig('cfg', 'retention.ms')).configValue, '60000');
    assert.equal((await topicConfig('cfg', 'segment.bytes')).configValue, '1073741824', 'legacy AlterConfigs dropped the other override');

    await broker.restart();
    kafka = new Kafka({ clientId: 'configs-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    assert.equal((await topicConfig('cfg', 'retention.ms')).configValue, '60000');
  });

  test('IncrementalAlterConfigs SET/DELETE/APPEND/SUBTRACT, validateOnly, and broker dynamic configs', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      const alter = (resourceType: number, resourceName: string, configs: { name: string; configOperation: number; value: string | null }[], validateOnly = false) =>
        c.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType, resourceName, configs }], validateOnly });
      let r = await alter(TOPIC, 'cfg', [{ name: 'cleanup.policy', configOperation: 2, value: 'compact' }]);
      assert.equal(r.body.responses[0].errorCode, ErrorCode.NONE);
      assert.equal((await topicConfig('cfg', 'cleanup.policy')).configValue, 'delete,compact');
      r = await alter(TOPIC, 'cfg', [{ name: 'cleanup.policy', configOperation: 3, value: 'delete' }]);
      assert.equal((await topicConfig('cfg', 'cleanup.policy')).configValue, 'compact');
      r = await alter(TOPIC, 'cfg', [{ name: 'retention.ms', configOperation: 2, value: '5' }]);
      assert.equal(r.body.responses[0].errorCode, ErrorCode.INVALID_CONFIG, 'APPEND on a non-list');
      r = await alter(TOPIC, 'cfg', [{ name: 'max.message.bytes', configOperation: 0, value: '5000' }], true);
      assert.equal(r.body.responses[0].errorCode, ErrorCode.NONE);
      assert.equal((await topicConfig('cfg', 'max.message.bytes')).configValue, '1048588', 'validateOnly changed nothing');
      r = await alter(TOPIC, 'cfg', [{ name: 'retention.ms', configOperation: 1, value: null }]);
      assert.equal((await topicConfig('cfg', 'retention.ms')).configValue, String(48 * 3600_000));
      r = await alter(TOPIC, 'nope', [{ name: 'retention.ms', configOperation: 0, value: '1' }]);
      assert.equal(r.body.responses[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

      r = await alter(BROKER, '1', [{ name: 'log.retention.ms', configOperation: 0, value: '120000' }]);
      assert.equal(r.body.responses[0].errorCode, ErrorCode.NONE);
      assert.equal((await topicConfig('cfg', 'retention.ms')).configValue, '120000', 'topic default follows the dynamic broker config');
      r = await alter(BROKER, '1', [{ name: 'node.id', configOperation: 0, value: '7' }]);
      assert.equal(r.body.responses[0].errorCode, ErrorCode.INVALID_CONFIG, 'static configs are read-only');
    } finally {
      c.close();
    }
  });

  test('--entity-default sets cluster-wide dynamic defaults under DYNAMIC_DEFAULT_BROKER_CONFIG; a broker-level value wins', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      await createTopic(c, 'cfg-levels', 1);
      const alter = async (resourceName: string, configs: { name: string; configOperation: number; value: string | null }[]) => {
        const r = await c.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: BROKER, resourceName, configs }], validateOnly: false });
        assert.equal(r.body.responses[0].errorCode, ErrorCode.NONE, `alter ${resourceName || '<default>'}`);
      };
      /** [value, source, synonyms] of one config of a resource. */
      const describe = async (resourceType: number, resourceName: string, key: string) => {
        const r = await c.request(ApiKey.DescribeConfigs, 4, {
          resources: [{ resourceType, resourceName, configurationKeys: [key] }],
          includeSynonyms: true,
          includeDocumentation: false,
        });
        const e = r.body.results[0].configs[0];
        return [e.value, e.configSource, e.synonyms.map((s: any) => `${s.source}:${s.name}=${s.value}`)];
      };
      // 2 DYNAMIC_BROKER_CONFIG, 3 DYNAMIC_DEFAULT_BROKER_CONFIG, 4 STATIC_BROKER_CONFIG, 5 DEFAULT_CONFIG.
      await alter('1', [{ name: 'log.retention.ms', configOperation: 1, value: null }]);
      await alter('', [{ name: 'log.retention.ms', configOperation: 0, value: '1000000' }]);
      assert.deepEqual(await describe(BROKER, '', 'log.retention.ms'), ['1000000', 3, ['3:log.retention.ms=1000000']]);
      assert.deepEqual(await describe(BROKER, '1', 'log.retention.ms'), ['1000000', 3, ['3:log.retention.ms=1000000']]);
      assert.deepEqual(await describe(TOPIC, 'cfg-levels', 'retention.ms'), [
        '1000000',
        3,
        ['3:log.retention.ms=1000000', '4:log.retention.hours=48', '5:log.retention.hours=168'],
      ]);

      await alter('1', [{ name: 'log.retention.ms', configOperation: 0, value: '2000000' }]);
      assert.deepEqual(await describe(BROKER, '1', 'log.retention.ms'), ['2000000', 2, ['2:log.retention.ms=2000000', '3:log.retention.ms=1000000']]);
      // The default resource leaves out what only this broker has.
      assert.deepEqual(await describe(BROKER, '', 'log.retention.ms'), ['1000000', 3, ['3:log.retention.ms=1000000']]);
      assert.equal((await topicConfig('cfg-levels', 'retention.ms')).configValue, '2000000');

      // Removing the broker's own value falls back to the default; removing that to the static value.
      await alter('1', [{ name: 'log.retention.ms', configOperation: 1, value: null }]);
      assert.equal((await topicConfig('cfg-levels', 'retention.ms')).configValue, '1000000');
      await alter('', [{ name: 'log.retention.ms', configOperation: 1, value: null }]);
      assert.deepEqual(await describe(TOPIC, 'cfg-levels', 'retention.ms'), [String(48 * 3600_000), 4, ['4:log.retention.hours=48', '5:log.retention.hours=168']]);
      assert.deepEqual(await describe(BROKER, '', 'log.retention.ms'), [null, 5, []]);
    } finally {
      c.close();
    }
  });

  test('the replication throttles kafka-reassign-partitions sets and clears are accepted', async () => {
    // --verify and --execute --throttle write these; Kafka accepts them on any cluster (they only
    // matter with followers). Unknown names used to fail the whole reassign --verify.
    const c = await RawClient.connect(broker.port);
    try {
      const alter = (resourceType: number, resourceName: string, configs: { name: string; configOperation: number; value: string | null }[]) =>
        c.request(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType, resourceName, configs }], validateOnly: false });
      let r = await alter(BROKER, '1', [
        { name: 'leader.replication.throttled.rate', configOperation: 0, value: '1000000' },
        { name: 'follower.replication.throttled.rate', configOperation: 0, value: '1000000' },
        { name: 'replica.alter.log.dirs.io.max.bytes.per.second', configOperation: 0, value: '1000000' },
      ]);
      assert.equal(r.body.responses[0].errorCode, ErrorCode.NONE, r.body.responses[0].errorMessage);
      r = await alter(TOPIC, 'cfg', [
        { name: 'leader.replication.throttled.replicas', configOperation: 0, value: '0:1' },
        { name: 'follower.replication.throttled.replicas', configOperation: 0, value: '*' },
      ]);
      assert.equal(r.body.responses[0].errorCode, ErrorCode.NONE, r.body.responses[0].errorMessage);
      assert.equal((await topicConfig('cfg', 'leader.replication.throttled.replicas')).configValue, '0:1');
      r = await alter(BROKER, '1', [
        { name: 'leader.replication.throttled.rate', configOperation: 1, value: null },
        { name: 'follower.replication.throttled.rate', configOperation: 1, value: null },
        { name: 'replica.alter.log.dirs.io.max.bytes.per.second', configOperation: 1, value: null },
      ]);
      assert.equal(r.body.responses[0].errorCode, ErrorCode.NONE);
      r = await alter(TOPIC, 'cfg', [
        { name: 'leader.replication.throttled.replicas', configOperation: 1, value: null },
        { name: 'follower.replication.throttled.replicas', configOperation: 1, value: null },
      ]);
      assert.equal(r.body.responses[0].errorCode, ErrorCode.NONE);
      assert.equal((await topicConfig('cfg', 'leader.replication.throttled.replicas')).configValue, '');
    } finally {
      c.close();
    }
  });

  test('CreatePartitions grows a topic and refuses to shrink it; DescribeLogDirs sizes partitions', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createPartitions({ topicPartitions: [{ topic: 'cfg', count: 3 }] });
      const meta = await admin.fetchTopicMetadata({ topics: ['cfg'] });
      assert.equal(meta.topics[0]!.partitions.length, 3);
      await assert.rejects(admin.createPartitions({ topicPartitions: [{ topic: 'cfg', count: 2 }] }), /partitions/i);
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic: 'cfg', messages: [{ value: 'x'.repeat(1000), partition: 2 }] });
      await producer.disconnect();
    } finally {
      await admin.disconnect();
    }
    const c = await RawClient.connect(broker.port);
    try {
      const r = await c.request(ApiKey.DescribeLogDirs, 4, { topics: [{ topic: 'cfg', partitions: [0, 2] }] });
      const dir = r.body.results[0];
      assert.equal(dir.errorCode, ErrorCode.NONE);
      assert.ok(dir.totalBytes > 0 && dir.usableBytes > 0);
      const parts = dir.topics[0].partitions;
      assert.equal(parts.length, 2);
      assert.equal(parts.find((p: any) => p.partitionIndex === 0).partitionSize, 0);
      assert.ok(parts.find((p: any) => p.partitionIndex === 2).partitionSize > 1000);
    } finally {
      c.close();
    }
  });

  test('ElectLeaders and partition reassignments answer as a single-replica cluster', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      const e = await c.request(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: 'cfg', partitions: [0, 99] }], timeoutMs: 1000 });
      const results = e.body.replicaElectionResults[0].partitionResult;
      assert.equal(results.find((p: any) => p.partitionId === 0).errorCode, ErrorCode.ELECTION_NOT_NEEDED);
      assert.equal(results.find((p: any) => p.partitionId === 99).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      const all = await c.request(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: null, timeoutMs: 1000 });
      assert.deepEqual(all.body.replicaElectionResults, []);

      const a = await c.request(ApiKey.AlterPartitionReassignments, 0, {
        timeoutMs: 1000,
        topics: [
          {
            name: 'cfg',
            partitions: [
              { partitionIndex: 0, replicas: [1] },
              { partitionIndex: 1, replicas: [1, 2] },
              { partitionIndex: 2, replicas: null },
              { partitionIndex: 42, replicas: [1] },
            ],
          },
        ],
      });
      const codes = a.body.responses[0].partitions.map((p: any) => p.errorCode);
      assert.deepEqual(codes, [ErrorCode.NONE, ErrorCode.INVALID_REPLICA_ASSIGNMENT, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
      const l = await c.request(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 1000, topics: null });
      assert.equal(l.body.errorCode, ErrorCode.NONE);
      assert.deepEqual(l.body.topics, []);
    } finally {
      c.close();
    }
  });
});

describe('DescribeConfigs: values given at start-up', () => {
  test('an --override and a TRIBUTARY_* variable are STATIC_BROKER_CONFIG, with Kafka synonyms', async (t) => {
    // A process: the subject is how the command line and the environment reach the config.
    const broker = await withBroker(t, {
      process: true,
      config: { 'log.cleaner.delete.retention.ms': '3600000', 'num.partitions': '2' },
      env: { TRIBUTARY_LOG_SEGMENT_BYTES: '2097152' },
    });
    const c = await RawClient.connect(broker.port);
    try {
      await createTopic(c, 'static-cfg', 1);
      const r = await c.request(ApiKey.DescribeConfigs, 4, {
        resources: [
          {
            resourceType: BROKER,
            resourceName: '1',
            configurationKeys: ['log.segment.bytes', 'log.cleaner.delete.retention.ms', 'num.partitions', 'listeners', 'log.flush.interval.ms'],
          },
          { resourceType: TOPIC, resourceName: 'static-cfg', configurationKeys: ['segment.bytes', 'delete.retention.ms', 'retention.ms'] },
        ],
        includeSynonyms: true,
        includeDocumentation: false,
      });
      const view = (res: any) =>
        Object.fromEntries(res.configs.map((e: any) => [e.name, [e.value, e.configSource, e.synonyms.map((s: any) => `${s.source}:${s.name}=${s.value}`)]]));
      const [brokerRes, topicRes] = r.body.results;
      assert.equal(brokerRes.errorCode, ErrorCode.NONE);
      // 2 DYNAMIC_BROKER_CONFIG, 4 STATIC_BROKER_CONFIG, 5 DEFAULT_CONFIG.
      assert.deepEqual(view(brokerRes), {
        'log.segment.bytes': ['2097152', 4, ['4:log.segment.bytes=2097152', '5:log.segment.bytes=1073741824']],
        'log.cleaner.delete.retention.ms': ['3600000', 4, ['4:log.cleaner.delete.retention.ms=3600000', '5:log.cleaner.delete.retention.ms=86400000']],
        'num.partitions': ['2', 4, ['4:num.partitions=2', '5:num.partitions=1']],
        listeners: [`PLAINTEXT://127.0.0.1:0`, 4, [`4:listeners=PLAINTEXT://127.0.0.1:0`, '5:listeners=PLAINTEXT://127.0.0.1:9092']],
        'log.flush.interval.ms': [null, 5, []],
      });
      // A topic without overrides inherits them: the source of the first synonym, the default
      // listed after the static value it hides.
      assert.deepEqual(view(topicRes), {
        'segment.bytes': ['2097152', 4, ['4:log.segment.bytes=2097152', '5:log.segment.bytes=1073741824']],
        'delete.retention.ms': ['3600000', 4, ['4:log.cleaner.delete.retention.ms=3600000', '5:log.cleaner.delete.retention.ms=86400000']],
        'retention.ms': ['604800000', 5, ['5:log.retention.hours=168']],
      });
    } finally {
      c.close();
    }
  });
});
