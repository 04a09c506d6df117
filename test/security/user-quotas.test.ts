// Quotas by authenticated user: a producer_byte_rate quota on user alice throttles what alice
// produces after SASL, and not bob's identical traffic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBroker } from '../helpers/broker.js';
import { Connection } from '../../src/client/connection.js';
import { ApiKey, type ProduceResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';

test('a user quota applies to the SASL principal of that name only', async (t) => {
  const broker = await withBroker(t, {
    config: {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="a" user_bob="b";',
    },
  });
  const connect = (user: string, password: string) =>
    Connection.connect({ host: '127.0.0.1', port: broker.port, security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: user, password } } });
  const alice = await connect('alice', 'a');
  const bob = await connect('bob', 'b');
  try {
    const q = await alice.request<{ entries: { errorCode: number }[] }>(ApiKey.AlterClientQuotas, {
      entries: [{ entity: [{ entityType: 'user', entityName: 'alice' }], ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }] }],
      validateOnly: false,
    });
    assert.equal(q.entries[0]!.errorCode, ErrorCode.NONE);
    await broker.broker.createTopic('quota-topic', 1, {});
    const produce = async (c: Connection) => {
      const batch = buildRecordBatch([{ key: null, value: Buffer.alloc(64 * 1024, 1) }]);
      const res = await c.request<ProduceResponse>(ApiKey.Produce, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 5000,
        topicData: [{ name: 'quota-topic', topicId: '00000000-0000-0000-0000-000000000000', partitionData: [{ index: 0, records: batch }] }],
      });
      assert.equal(res.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
      return res.throttleTimeMs;
    };
    assert.equal(await produce(bob), 0, 'bob has no quota');
    assert.ok((await produce(alice)) > 0, "alice's 64 KiB is far above her 1 KiB/s");
    assert.equal(await produce(bob), 0, 'still none for bob');
  } finally {
    alice.close();
    bob.close();
  }
});
