// `tributary transactions`: list, describe, the producers of a partition, and aborting a hanging
// transaction by hand (what kafka-transactions.sh does); the CLI runs as a process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { assertOneLineError, cli } from '../helpers/cli.js';
import { RawClient } from '../helpers/raw-client.js';
import { produceRequest } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';

const broker = suiteBroker({ config: { 'transaction.state.log.num.partitions': 3 } });
let c: RawClient;
let bs: string[];

before(async () => {
  await broker.ready;
  bs = ['--bootstrap-server', broker.bootstrap];
  c = await RawClient.connect(broker.port);
});
after(() => c?.close());

async function lastStableOffset(): Promise<{ lso: number; hw: number }> {
  const offsets = async (isolationLevel: number) => {
    const r = await c.request(ApiKey.ListOffsets, 5, {
      replicaId: -1,
      isolationLevel,
      timeoutMs: 0,
      topics: [{ name: 'cli-tx', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
    });
    return Number(r.body.topics[0].partitions[0].offset);
  };
  return { lso: await offsets(1), hw: await offsets(0) };
}

test('list, describe, producers and abort of a hanging transaction', async () => {
  assert.equal((await cli(['topics', 'create', 'cli-tx', '--partitions', '1', ...bs])).code, 0);
  // A plain record at offset 0, then a transaction that is never ended, from offset 1.
  const plain = await c.request(ApiKey.Produce, 9, produceRequest('cli-tx', 0, buildRecordBatch([{ value: 'plain' }])));
  assert.equal(plain.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  const init = await c.request(ApiKey.InitProducerId, 4, { transactionalId: 'cli-open', transactionTimeoutMs: 600_000, producerId: -1, producerEpoch: -1 });
  const { producerId, producerEpoch } = init.body;
  await c.request(ApiKey.AddPartitionsToTxn, 3, {
    transactions: [],
    v3AndBelowTransactionalId: 'cli-open',
    v3AndBelowProducerId: producerId,
    v3AndBelowProducerEpoch: producerEpoch,
    v3AndBelowTopics: [{ name: 'cli-tx', partitions: [0] }],
  });
  const records = buildRecordBatch([{ value: 'open-1' }, { value: 'open-2' }], { transactional: true, producerId, producerEpoch, baseSequence: 0 });
  const txnWrite = await c.request(ApiKey.Produce, 9, { ...produceRequest('cli-tx', 0, records), transactionalId: 'cli-open' });
  assert.equal(txnWrite.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  await c.request(ApiKey.InitProducerId, 4, { transactionalId: 'cli-idle', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
  assert.deepEqual(await lastStableOffset(), { lso: 1, hw: 3 });

  const list = await cli(['transactions', 'list', ...bs]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`^cli-open +${producerId} +Ongoing *$`, 'm'));
  assert.match(list.stdout, /^cli-idle +\d+ +Empty *$/m);
  const ongoing = await cli(['transactions', 'list', '--state', 'Ongoing', ...bs]);
  assert.match(ongoing.stdout, /cli-open/);
  assert.doesNotMatch(ongoing.stdout, /cli-idle/);

  const described = await cli(['transactions', 'describe', 'cli-open', '--json', ...bs]);
  assert.equal(described.code, 0, described.stderr);
  const [d] = JSON.parse(described.stdout) as Array<{ state: string; producerId: number; timeoutMs: number; partitions: unknown }>;
  assert.equal(d!.state, 'Ongoing');
  assert.equal(d!.producerId, producerId);
  assert.equal(d!.timeoutMs, 600_000);
  assert.deepEqual(d!.partitions, [{ topic: 'cli-tx', partitions: [0] }]);
  assertOneLineError(await cli(['transactions', 'describe', 'no-such-id', ...bs]), 'TRANSACTIONAL_ID_NOT_FOUND');

  const producers = await cli(['transactions', 'producers', '--topic', 'cli-tx', '--partition', '0', ...bs]);
  assert.equal(producers.code, 0, producers.stderr);
  assert.match(producers.stdout, new RegExp(`^${producerId} +${producerEpoch} +1 +\\d+ +- +1 *$`, 'm'), producers.stdout);

  assertOneLineError(await cli(['transactions', 'abort', '--topic', 'cli-tx', '--partition', '0', '--start-offset', '0', ...bs]), 'INVALID_TXN_STATE');
  const aborted = await cli(['transactions', 'abort', '--topic', 'cli-tx', '--partition', '0', '--start-offset', '1', ...bs]);
  assert.equal(aborted.code, 0, aborted.stderr);
  assert.match(aborted.stdout, new RegExp(`Aborted the transaction of producer ${producerId}`));
  assert.deepEqual(await lastStableOffset(), { lso: 4, hw: 4 }, 'the ABORT marker released the last stable offset');
  const after = await cli(['transactions', 'producers', '--topic', 'cli-tx', '--partition', '0', ...bs]);
  assert.match(after.stdout, new RegExp(`^${producerId} .* - *$`, 'm'), 'no open transaction left');
});
