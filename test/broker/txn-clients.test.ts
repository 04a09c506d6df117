// Real consumers against transactional data: kafkajs and librdkafka (confluent-kafka-python)
// with read_committed drop aborted records and stop at the last stable offset; with
// read_uncommitted they see everything. The data is produced with raw requests and the markers
// written through the storage API of an in-process broker (the coordinator is not involved).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic } from '../helpers/requests.js';
import { runPythonAsync } from '../helpers/python-clients.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { elapse, waitUntil } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

describe('consumers with an isolation level', () => {
  let running: RunningBroker;
  let c: RawClient;
  const topic = 'txn-clients';
  const committedValues = ['plain-0', 'commit-0', 'commit-1', 'plain-1', 'late-commit'];
  const allValues = ['plain-0', 'abort-0', 'commit-0', 'abort-1', 'commit-1', 'plain-1', 'late-commit', 'open-0', 'plain-2'];

  before(async () => {
    running = await startBroker({ storage: 'memory' });
    // Markers come from the storage API here, so the coordinator's KIP-890 check is off.
    running.broker.verifyTransactionalProduce = undefined;
    c = await RawClient.connect(running.port);
    await createTopic(c, topic, 1);
    const pid = async () =>
      Number((await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 })).body.producerId);
    const aborter = await pid();
    const committer = await pid();
    const late = await pid();
    const opener = await pid();
    const seqs = new Map<number, number>();
    const send = async (producerId: number | null, value: string) => {
      const options = producerId === null ? {} : { producerId, producerEpoch: 0, baseSequence: seqs.get(producerId) ?? 0, transactional: true };
      if (producerId !== null) seqs.set(producerId, (seqs.get(producerId) ?? 0) + 1);
      const res = await c.request(ApiKey.Produce, 9, {
        transactionalId: producerId === null ? null : `tx-${producerId}`,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{ name: topic, partitionData: [{ index: 0, records: buildRecordBatch([{ value }], options) }] }],
      });
      assert.equal(res.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    };
    const marker = (producerId: number, commit: boolean) =>
      running.broker.partition(topic, 0)!.writeTxnMarker({ producerId, producerEpoch: 0, coordinatorEpoch: 0, commit }).done;
    await send(null, 'plain-0');
    await send(aborter, 'abort-0');
    await send(committer, 'commit-0');
    await send(aborter, 'abort-1');
    await send(committer, 'commit-1');
    await marker(aborter, false);
    await marker(committer, true);
    await send(null, 'plain-1');
    await send(late, 'late-commit');
    await marker(late, true);
    await send(opener, 'open-0'); // never decided: read_committed stops here
    await send(null, 'plain-2');
  });
  after(async () => {
    c.close();
    await running.stop();
  });

  async function kafkajsRead(readUncommitted: boolean, expected: number): Promise<string[]> {
    const kafka = new Kafka({ clientId: 'txn-kafkajs', brokers: [running.bootstrap], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `txn-kafkajs-${readUncommitted}`, readUncommitted, maxWaitTimeInMs: 100 });
    const seen: string[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
      // Wait for what should arrive, then a little longer to catch anything extra (not a wait for
      // a condition: time in which a record that must not be read would show up).
      await waitUntil(() => seen.length >= expected, { timeout: 20_000, message: () => `${expected} records (${seen.length} read)` }).catch(() => undefined);
      await elapse(500);
    } finally {
      await consumer.disconnect();
    }
    return seen;
  }

  test('kafkajs read_committed skips aborted records and the open transaction', async () => {
    assert.deepEqual(await kafkajsRead(false, committedValues.length), committedValues);
  });

  test('kafkajs read_uncommitted sees every data record', async () => {
    assert.deepEqual(await kafkajsRead(true, allValues.length), allValues);
  });

  test('librdkafka (confluent-kafka-python) honours isolation.level', async () => {
    const committed = await runPythonAsync('txn_consume.py', [running.bootstrap, topic, 'read_committed']);
    assert.equal(committed.status, 0, committed.output);
    assert.deepEqual(committed.summary.values, committedValues);
    const uncommitted = await runPythonAsync('txn_consume.py', [running.bootstrap, topic, 'read_uncommitted']);
    assert.equal(uncommitted.status, 0, uncommitted.output);
    assert.deepEqual(uncommitted.summary.values, allValues);
  });
});
