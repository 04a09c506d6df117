import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { dumpTopic } from '../helpers/python-clients.js';
import { registerKafkajsCodecs } from '../helpers/kafkajs-codecs.js';

const { Kafka, CompressionTypes, logLevel } = kafkajs;

describe('kafkajs', () => {
  let broker: BrokerProcess;
  let kafka: InstanceType<typeof Kafka>;
  before(async () => {
    registerKafkajsCodecs();
    broker = await startBrokerProcess();
    kafka = new Kafka({ clientId: 'tributary-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await broker.stop();
    broker.cleanup();
  });

  test('admin creates a 3-partition topic and refuses bad ones', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      assert.equal(await admin.createTopics({ topics: [{ topic: 'admin-made', numPartitions: 3 }], waitForLeaders: true }), true);
      assert.equal(await admin.createTopics({ topics: [{ topic: 'admin-made', numPartitions: 3 }] }), false, 'second create reports it already exists');
      const meta = await admin.fetchTopicMetadata({ topics: ['admin-made'] });
      assert.equal(meta.topics[0]!.partitions.length, 3);
      const failsWith = (type: string) => (err: any) => {
        assert.equal(err.errors?.[0]?.type, type);
        return true;
      };
      await assert.rejects(admin.createTopics({ topics: [{ topic: 'bad name!', numPartitions: 1 }] }), failsWith('INVALID_TOPIC_EXCEPTION'));
      await assert.rejects(admin.createTopics({ topics: [{ topic: 'too-replicated', numPartitions: 1, replicationFactor: 3 }] }), failsWith('INVALID_REPLICATION_FACTOR'));
      await assert.rejects(
        admin.createTopics({ topics: [{ topic: 'bad-config', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
        failsWith('INVALID_CONFIG'),
      );
      assert.ok((await admin.listTopics()).includes('admin-made'));
      await admin.deleteTopics({ topics: ['admin-made'] });
      assert.ok(!(await admin.listTopics()).includes('admin-made'));
    } finally {
      await admin.disconnect();
    }
  });

  const codecs: [string, number][] = [
    ['none', CompressionTypes.None],
    ['gzip', CompressionTypes.GZIP],
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
    ['zstd', CompressionTypes.ZSTD],
  ];
  for (const [name, compression] of codecs) {
    test(`10,000 keyed messages with headers, ${name}, come back in order per partition`, async () => {
      const topic = `kjs-${name}`;
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
      await admin.disconnect();

      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      const total = 10_000;
      for (let start = 0; start < total; start += 1000) {
        const messages = Array.from({ length: 1000 }, (_, j) => {
          const i = start + j;
          return { key: `key-${i}`, value: `value-${i}`, partition: i % 3, headers: { seq: String(i), codec: name } };
        });
        await producer.send({ topic, compression, acks: -1, messages });
      }
      await producer.disconnect();

      const admin2 = kafka.admin();
      await admin2.connect();
      const offsets = await admin2.fetchTopicOffsets(topic);
      await admin2.disconnect();
      assert.deepEqual(offsets.map((o) => Number(o.high)).sort(), [3333, 3333, 3334]);

      const records = dumpTopic(broker.bootstrap, topic);
      assert.equal(records.length, total);
      for (let p = 0; p < 3; p++) {
        const mine = records.filter((r) => r.partition === p);
        mine.forEach((r, idx) => {
          const i = p + idx * 3;
          assert.equal(r.offset, idx);
          assert.equal(r.key, `key-${i}`);
          assert.equal(r.value, `value-${i}`);
          assert.deepEqual(r.headers, { seq: String(i), codec: name });
        });
      }
    });
  }
});
