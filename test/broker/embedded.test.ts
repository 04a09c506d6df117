import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import kafkajs from 'kafkajs';
import { startBroker } from '../../src/index.js';
import { tempDir } from '../helpers/broker-process.js';
import { waitUntil } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

test('two embedded brokers in one process serve clients and release every handle on stop', async () => {
  const before = new Set(process.getActiveResourcesInfo());
  const dirs = [tempDir(), tempDir()];
  const brokers = await Promise.all(dirs.map((dataDir) => startBroker({ port: 0, dataDir })));
  try {
    assert.notEqual(brokers[0]!.port, brokers[1]!.port);
    for (const [i, b] of brokers.entries()) {
      assert.equal(b.bootstrap, `127.0.0.1:${b.port}`);
      const kafka = new Kafka({ clientId: `embedded-${i}`, brokers: [b.bootstrap], logLevel: logLevel.NOTHING });
      const producer = kafka.producer();
      await producer.connect();
      const [res] = await producer.send({ topic: 'embedded', messages: [{ value: `hello from ${i}` }] });
      await producer.disconnect();
      assert.equal(res!.errorCode, 0);
      const admin = kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets('embedded');
      await admin.disconnect();
      assert.equal(offsets[0]!.high, '1');
    }
  } finally {
    await Promise.all(brokers.map((b) => b.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  // Closed sockets and timers disappear from the active list within a tick or two.
  const handles = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap' || r === 'Timeout');
  const beforeCount = [...before].filter((r) => r === 'TCPServerWrap' || r === 'Timeout').length;
  await waitUntil(() => handles().length <= beforeCount, { timeout: 2000, interval: 10 }).catch(() => undefined);
  const leftovers = handles();
  assert.ok(leftovers.length <= beforeCount, `handles left after stop: ${leftovers.join(', ')}`);
});
