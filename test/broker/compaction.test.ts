// Log compaction against a real broker process: 100k records over 1k keys plus tombstones,
// produced with kafkajs in every codec; after cleaning, a librdkafka consumer from the beginning
// sees exactly the latest value of each live key at its original offset. The broker is killed
// (SIGKILL) while the cleaner is at work, and nothing live is lost on restart.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';
import kafkajs, { Kafka, logLevel } from 'kafkajs';
import { withBroker } from '../helpers/broker.js';
import { dumpTopic } from '../helpers/python-clients.js';
import { registerKafkajsCodecs } from '../helpers/kafkajs-codecs.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetchOne } from '../helpers/requests.js';
import { elapse, waitUntil } from '../helpers/wait.js';
import { ApiKey, type FetchResponse } from '../../src/protocol/generated/index.js';
import { splitBatches } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';

const { CompressionTypes } = kafkajs;
const TOPIC = 'compacted';
const KEYS = 1000;
const RECORDS = 100_000;
const PER_SEND = 1000;
const TOMBSTONED = 100;
const SEGMENT_MS = 600;

type Dumped = { partition: number; offset: number; key: string | null; value: string | null };

/** Every record of partition 0, read with our own Fetch (cheap enough to poll; librdkafka judges at the end). */
async function readTopic(port: number, topic: string): Promise<Dumped[]> {
  const c = await RawClient.connect(port);
  try {
    const out: Dumped[] = [];
    let offset = 0;
    for (let guard = 0; guard < 10_000; guard++) {
      const r = await c.request<FetchResponse>(ApiKey.Fetch, 12, fetchOne(topic, 0, offset, { maxBytes: 4 * 1024 * 1024 }));
      const p = r.body.responses[0]!.partitions[0]!;
      if (p.errorCode !== 0) throw new Error(`fetch at ${offset}: error ${p.errorCode}`);
      const records = p.records && p.records.length > 0 ? [...splitBatches(p.records)].flatMap((b) => decodeBatchRecords(b)) : [];
      for (const rec of records)
        if (rec.offset >= offset) out.push({ partition: 0, offset: rec.offset, key: rec.key?.toString() ?? null, value: rec.value?.toString() ?? null });
      if (records.length === 0 || offset >= p.highWatermark) break;
      offset = records[records.length - 1]!.offset + 1;
      if (offset >= p.highWatermark) break;
    }
    return out;
  } finally {
    c.close();
  }
}

function dirBytes(dir: string): number {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .reduce((sum, f) => sum + fs.statSync(join(dir, f)).size, 0);
}

describe('log compaction through a real broker', () => {
  const overrides = { 'log.cleaner.backoff.ms': '100', 'log.retention.check.interval.ms': '1000', 'group.initial.rebalance.delay.ms': '0' };

  test('100k records over 1k keys plus tombstones: the latest value per live key survives, at its offset, across a kill -9 mid-clean', { timeout: 180_000 }, async (t) => {
    registerKafkajsCodecs();
    // Produced with the cleaner off, so that the first clean is a big one to interrupt.
    const broker = await withBroker(t, { process: true, config: { ...overrides, 'log.cleaner.enable': 'false' } });
    const { dataDir } = broker;
    const kafka = new Kafka({ clientId: 'compaction-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    await createTopic(broker, TOPIC, 1, {
      'cleanup.policy': 'compact',
      'segment.bytes': '100000',
      'segment.ms': SEGMENT_MS,
      'min.cleanable.dirty.ratio': '0.01',
      'delete.retention.ms': '1000',
    });

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
    // Past segment.ms, one more record rolls the segment holding the tombstones: all of it is
    // cleanable. Not a wait for a condition: segment.ms runs on the broker process's real clock.
    await elapse(SEGMENT_MS + 200);
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
    await broker.restart({ 'log.cleaner.enable': 'true' });
    const sawCleanerFiles = await waitUntil(() => fs.readdirSync(dir).some((f) => f.endsWith('.cleaned') || f.endsWith('.swap')), { timeout: 20_000, interval: 2 }).catch(
      () => false,
    );
    await broker.kill();
    assert.ok(sawCleanerFiles, 'the cleaner started writing');

    await broker.restart({ 'log.cleaner.enable': 'true' });
    // Tombstones go once delete.retention.ms has passed after they were cleaned (a second pass).
    let broken: unknown = null;
    await waitUntil(
      async () => {
        const now = await readTopic(broker.port, TOPIC);
        // Whatever the stage, every live key's latest value is there at its offset.
        const byKey = new Map(now.map((r) => [r.key, r]));
        try {
          for (const e of expected) assert.deepEqual(byKey.get(e.key), e, `key ${e.key} is intact`);
        } catch (err) {
          broken = err;
          return true;
        }
        return JSON.stringify(now) === JSON.stringify(expected);
      },
      { timeout: 60_000, interval: 200, message: 'the log to be compacted down to the live keys' },
    ).catch(() => undefined); // a timeout is judged by librdkafka's reading below
    assert.ifError(broken);
    const seen = dumpTopic(broker.bootstrap, TOPIC).map(({ partition, offset, key, value }) => ({ partition, offset, key, value }));
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
