// @confluentinc/kafka-javascript (librdkafka) against brokers embedded in this test process.
// .ci/run installs it (it builds its bundled librdkafka offline); a developer checkout without
// it skips this file, but CI never does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startBroker } from '../../src/index.js';

const require = createRequire(import.meta.url);
let ckjs: any = null;
try {
  ckjs = require('@confluentinc/kafka-javascript');
} catch {
  if (process.env.CI) throw new Error('@confluentinc/kafka-javascript is missing: .ci/run must install it');
}

test(
  '@confluentinc/kafka-javascript produces and consumes (with a group) against two embedded brokers',
  { skip: ckjs ? false : '@confluentinc/kafka-javascript is not installed (see .ci/run)' },
  async () => {
    const { Kafka } = ckjs.KafkaJS;
    const brokers = await Promise.all([startBroker({ port: 0, dataDir: ':memory:' }), startBroker({ port: 0, dataDir: ':memory:' })]);
    try {
      for (const [i, b] of brokers.entries()) {
        const kafka = new Kafka({ kafkaJS: { brokers: [b.bootstrap], logLevel: 0 } });
        const producer = kafka.producer();
        await producer.connect();
        const expected = Array.from({ length: 50 }, (_, j) => ({ key: `k${j}`, value: `broker${i}-v${j}`, n: String(j) }));
        // The client turns the messages it is given into Buffers in place: hand it copies.
        await producer.send({ topic: 'ckjs', messages: expected.map((m) => ({ key: m.key, value: m.value, headers: { n: m.n } })) });
        await producer.disconnect();

        const consumer = kafka.consumer({ kafkaJS: { groupId: `ckjs-${i}`, fromBeginning: true } });
        await consumer.connect();
        await consumer.subscribe({ topic: 'ckjs' });
        const got: { key: string; value: string; n: string }[] = [];
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`only ${got.length} of 50 consumed`)), 30_000);
          consumer.run({
            eachMessage: async ({ message }: any) => {
              got.push({ key: message.key.toString(), value: message.value.toString(), n: message.headers.n.toString() });
              if (got.length === expected.length) {
                clearTimeout(timer);
                resolve();
              }
            },
          });
        });
        await consumer.disconnect();
        assert.deepEqual(
          got.sort((a, b) => Number(a.n) - Number(b.n)),
          expected,
        );
      }
    } finally {
      await Promise.all(brokers.map((b) => b.stop()));
    }
  },
);
