// Log compaction against a real broker process: 100k records over 1k keys plus tombstones,
// produced with kafkajs in every codec; after cleaning, a librdkafka consumer from the beginning
// sees exactly the latest value of each live key at its original offset. The broker is killed
// (SIGKILL) while the cleaner is at work, and nothing live is lost on restart.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { startBrokerProcess, tempDir, type BrokerProcess } from '../helpers/broker-process.js';
import { dumpTopic } from '../helpers/python-clients.js';
import { registerKafkajsCodecs } from '../helpers/kafkajs-codecs.js';

const { CompressionTypes } = kafkajs;
const TOPIC = 'compacted';
const KEYS = 1000;
const RECORDS = 100_000;
const PER_SEND = 1000;
const TOMBSTONED = 100;

type Dumped = { partition: number; offset: number; key: string | null; value: string | null };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function dirBytes(dir: string): number {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .reduce((sum, f) => sum + fs.statSync(join(dir, f)).size, 0);
}

describe('log compaction through a real broker', () => {
  const dataDir = tempDir('tributary-compaction-');
  let broker: BrokerProcess | undefined;
  const overrides = { 'log.cleaner.backoff.ms': '100', 'log.retention.check.interval.ms': '1000', 'group.initial.rebalance.delay.ms': '0' };

  after(async () => {
    await broker?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('100k records over 1k keys plus tombstones: the latest value per live key survives, at its offset, across a kill -9 mid-clean', { timeout: 180_000 }, async () => {
    registerKafkajsCodecs();
    // Produced with the cleaner off, so that the first clean is a big one to interrupt.
    broker = await startBrokerProcess({ dataDir, overrides: { ...overrides, 'log.cleaner.enable': 'false' } });
    const kafka = new Kafka({ clientId: 'compaction-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        {
          topic: TOPIC,
          numPartitions: 1,
          configEntries: Object.entries({
            'cleanup.policy': 'compact',
            'segment.bytes': '100000',
            'segment.ms': '1500',
            'min.cleanable.dirty.ratio': '0.01',
            'delete.retention.ms': '1500',
          }).map(([name, value]) => ({ name, value })),
        },
      ],
    });
    await admin.disconnect();

    const producer = kafka.producer();
    await producer.connect();
    const codecs = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.LZ4, CompressionTypes.ZSTD];
    for (let s = 0; s < RECORDS / PER_SEND; s++) {
      const messages = Array.from({ length: PER_SEND }, (_, i) => {
        const n = s * PER_SEND + i;
        return { key: `key-${n % KEYS}`, value: `value-${n}` };
      });
      const [meta] = await producer.send({ topic: TOPIC, messages, compression: codecs[s % codecs.length] });
      assert.equal(Number(meta!.baseOffset), s * PER_SEND, 'offsets are assigned in order');
    }
    const [tomb] = await producer.send({
      topic: TOPIC,
      messages: Array.from({ length: TOMBSTONED }, (_, k) => ({ key: `key-${k}`, value: null })),
    });
    assert.equal(Number(tomb!.baseOffset), RECORDS);
    // Past segment.ms, one more record rolls the segment holding the tombstones: all of it is cleanable.
    await sleep(1700);
    const [marker] = await producer.send({ topic: TOPIC, messages: [{ key: 'marker', value: 'last' }] });
    const markerOffset = Number(marker!.baseOffset);
    assert.equal(markerOffset, RECORDS + TOMBSTONED);
    await producer.disconnect();

    const expected: Dumped[] = [];
    for (let k = TOMBSTONED; k < KEYS; k++) {
      const n = RECORDS - KEYS + k;
      expected.push({ partition: 0, offset: n, key: `key-${k}`, value: `value-${n}` });
    }
    expected.push({ partition: 0, offset: markerOffset, key: 'marker', value: 'last' });

    const dir = join(dataDir, `${TOPIC}-0`);
    assert.equal(await broker.stop(), 0);
    const sizeBefore = dirBytes(dir);
    assert.ok(sizeBefore > 1_000_000, `${sizeBefore} bytes before cleaning`);

    // With the cleaner on, kill the broker as soon as the cleaner has output on disk.
    broker = await startBrokerProcess({ dataDir, overrides });
    const deadline = Date.now() + 20_000;
    let sawCleanerFiles = false;
    while (Date.now() < deadline) {
      if (fs.readdirSync(dir).some((f) => f.endsWith('.cleaned') || f.endsWith('.swap'))) {
        sawCleanerFiles = true;
        break;
      }
      await sleep(2);
    }
    await broker.kill();
    assert.ok(sawCleanerFiles, 'the cleaner started writing');

    broker = await startBrokerProcess({ dataDir, overrides });
    // Tombstones go once delete.retention.ms has passed after they were cleaned (a second pass).
    let seen: Dumped[] = [];
    const until = Date.now() + 60_000;
    for (;;) {
      seen = dumpTopic(broker.bootstrap, TOPIC).map(({ partition, offset, key, value }) => ({ partition, offset, key, value }));
      if (JSON.stringify(seen) === JSON.stringify(expected) || Date.now() > until) break;
      // Whatever the stage, every live key's latest value is there at its offset.
      const byKey = new Map(seen.map((r) => [r.key, r]));
      for (const e of expected) assert.deepEqual(byKey.get(e.key), e, `key ${e.key} is intact`);
      await sleep(1000);
    }
    assert.equal(seen.length, expected.length);
    assert.deepEqual(seen, expected);
    assert.ok(!fs.readdirSync(dir).some((f) => /\.(cleaned|swap|deleted)$/.test(f)), 'no cleaner leftovers');
    assert.ok(dirBytes(dir) < sizeBefore / 10, `the log shrank from ${sizeBefore} to ${dirBytes(dir)} bytes`);
    assert.ok(broker.logs.some((l) => l.msg === 'log cleaner compacted segments'));

    // kafkajs reads the compacted log (gaps, re-encoded batches) the same way.
    const reader = new Kafka({ clientId: 'compaction-reader', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const consumer = reader.consumer({ groupId: 'compaction-check' });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    const consumed: Dumped[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kafkajs read ${consumed.length} of ${expected.length} records`)), 30_000);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          consumed.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? null, value: message.value?.toString() ?? null });
          if (consumed.length >= expected.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    assert.deepEqual(consumed, expected);
  });
});
