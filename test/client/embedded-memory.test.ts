import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startBroker, Admin, Producer, Consumer, type ConsumerRecord } from '../../src/index.js';

test("startBroker({ dataDir: ':memory:' }) and storage: 'memory' use a throwaway directory removed on stop", async () => {
  const brokers = await Promise.all([startBroker({ dataDir: ':memory:' }), startBroker({ storage: 'memory' })]);
  try {
    for (const b of brokers) {
      assert.ok(existsSync(b.dataDir));
      assert.notEqual(b.dataDir, ':memory:');
      const admin = new Admin({ bootstrap: b.bootstrap });
      await admin.createTopics([{ name: 'mem', partitions: 2 }]);
      await admin.close();
      const producer = new Producer({ bootstrap: b.bootstrap });
      await producer.send('mem', [
        { key: 'a', value: '1' },
        { key: 'b', value: '2' },
      ]);
      await producer.close();
      const consumer = new Consumer({ bootstrap: b.bootstrap });
      await consumer.assign('mem');
      const got: ConsumerRecord[] = [];
      for await (const r of consumer.records()) got.push(r);
      await consumer.close();
      assert.deepEqual(got.map((r) => r.value!.toString()).sort(), ['1', '2']);
    }
    assert.notEqual(brokers[0].dataDir, brokers[1].dataDir);
  } finally {
    await Promise.all(brokers.map((b) => b.stop()));
  }
  for (const b of brokers) assert.equal(existsSync(b.dataDir), false, `${b.dataDir} should be gone`);
  await brokers[0].stop(); // a second stop is harmless
});
