import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { runPython } from '../helpers/python-clients.js';

describe('Python clients', () => {
  const broker = suiteBroker({ process: true, config: { 'num.partitions': '3' } });

  for (const codec of ['none', 'gzip', 'snappy', 'lz4', 'zstd']) {
    test(`confluent-kafka-python idempotent round trip (${codec})`, () => {
      const r = runPython('confluent_roundtrip.py', [broker.bootstrap, `ck-${codec}`, '3000', '3', codec]);
      assert.equal(r.status, 0, r.output);
      assert.deepEqual(r.summary, { produced: 3000, consumed: 3000, ok: true });
    });
  }

  for (const codec of ['none', 'gzip']) {
    test(`kafka-python round trip (${codec})`, () => {
      const r = runPython('kafka_python_roundtrip.py', [broker.bootstrap, `kp-${codec}`, '1000', codec]);
      assert.equal(r.status, 0, r.output);
      assert.deepEqual(r.summary, { produced: 1000, consumed: 1000, ok: true });
    });
  }
});
