import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { withBroker } from '../helpers/broker.js';
import { dumpTopic } from '../helpers/python-clients.js';
import { createTopic } from '../helpers/requests.js';
import { waitUntil } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

test('kill -9 during acks=all produce keeps every acknowledged record; a torn tail is truncated', async (t) => {
  const topic = 'crash';
  const partitions = 3;
  const broker = await withBroker(t, { process: true, config: { 'log.segment.bytes': 64 * 1024 } });
  const dataDir = broker.dataDir;
  // Idempotent kafkajs producers insist on retries; keep them short so the kill ends the loop fast.
  const kafka = new Kafka({ clientId: 'crash-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 } });
  await createTopic(broker, topic, partitions);

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const acked = new Set<string>();
  let seq = 0;
  let stop = false;
  // Three producers' worth of concurrent sends, each waiting for its ack before the next.
  const loops = Array.from({ length: partitions }, async (_, p) => {
    while (!stop) {
      const values = Array.from({ length: 20 }, () => `rec-${p}-${seq++}`);
      try {
        await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition: p })) });
        for (const v of values) acked.add(v);
      } catch {
        return;
      }
    }
  });
  // Kill while writes are in flight, after a bounded amount of work (3000 records or 10 s).
  await waitUntil(() => acked.size >= 3000, { timeout: 10_000 }).catch(() => undefined);
  await broker.kill();
  stop = true;
  await Promise.all(loops);
  await producer.disconnect().catch(() => undefined);
  assert.ok(acked.size > 0, 'some records were acknowledged before the kill');

  await broker.restart();
  const records = dumpTopic(broker.bootstrap, topic);
  const values = new Set(records.map((r) => r.value));
  for (const v of acked) assert.ok(values.has(v), `acknowledged record ${v} survived`);
  assert.equal(values.size, records.length, 'no record appears twice');
  for (let p = 0; p < partitions; p++) {
    const offsets = records.filter((r) => r.partition === p).map((r) => r.offset);
    assert.deepEqual(
      offsets,
      offsets.map((_, i) => i),
      `partition ${p} offsets are contiguous from 0`,
    );
    const seqs = records.filter((r) => r.partition === p).map((r) => Number(r.value!.split('-')[2]));
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      `partition ${p} keeps send order`,
    );
  }
  const before = records.filter((r) => r.partition === 0).length;

  // Tear the tail of partition 0's last segment by hand: half a batch of garbage.
  await broker.kill();
  const dir = join(dataDir, `${topic}-0`);
  const last = readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort()
    .pop()!;
  const sizeBefore = statSync(join(dir, last)).size;
  const garbage = Buffer.alloc(40, 0x5a);
  garbage.writeBigInt64BE(BigInt(before), 0);
  garbage.writeInt32BE(500, 8);
  appendFileSync(join(dir, last), garbage);

  await broker.restart();
  assert.equal(statSync(join(dir, last)).size, sizeBefore, 'the torn tail was truncated on recovery');
  const kafka2 = new Kafka({ clientId: 'crash-test-2', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const p2 = kafka2.producer();
  await p2.connect();
  const [res] = await p2.send({ topic, acks: -1, messages: [{ value: 'after-recovery', partition: 0 }] });
  await p2.disconnect();
  assert.equal(Number(res!.baseOffset), before, 'appends continue right after the last valid batch');
  const again = dumpTopic(broker.bootstrap, topic).filter((r) => r.partition === 0);
  assert.equal(again.length, before + 1);
  assert.equal(again[again.length - 1]!.value, 'after-recovery');
});
