// Transactions V2 (KIP-890 part 2) with the Java client 4.x against a Tributary broker process.
// The broker finalizes transaction.version=2, so the client runs V2 by itself (checked from its
// TransactionManager): no AddPartitionsToTxn (Produce v12+ adds partitions), no AddOffsetsToTxn
// (TxnOffsetCommit v5+), and EndTxn v5 bumps the epoch at every transaction. Checked: committed
// and aborted transactions read back with read_committed, alongside a V1 client (kafkajs) on the
// same topic; offsets committed in a transaction; zombie fencing; and a kill -9 of the broker in
// the middle of a V2 transaction.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { RawClient } from '../../helpers/raw-client.js';
import { createTopic } from '../../helpers/requests.js';
import { ApiKey } from '../../../src/protocol/generated/index.js';
import { javaSetup, spawnJava, type JavaProcess } from './harness.js';

const { Kafka, logLevel } = kafkajs;
const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;

const OVERRIDES = {
  'num.partitions': '1',
  'transaction.state.log.num.partitions': '3',
  'offsets.topic.num.partitions': '3',
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': '500',
};

/** "COMMITTED p 1000 3" → { pid: 1000, epoch: 3 }. */
function ids(line: string): { pid: number; epoch: number } {
  const parts = line.split(' ');
  return { pid: Number(parts.at(-2)), epoch: Number(parts.at(-1)) };
}

function values(line: string): string[] {
  const rest = line.split(' ')[2] ?? '';
  return rest === '' ? [] : rest.split(',').sort();
}

const range = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('Java client 4.x with transactions V2', { skip }, () => {
  let broker: BrokerProcess;
  let raw: RawClient;
  let driver: JavaProcess;
  const ask = (command: string, re: RegExp, timeoutMs = 40_000) => driver.ask(command, new RegExp(`^(${re.source}|ERROR .*)`), timeoutMs);

  before(async () => {
    broker = await startBrokerProcess({ overrides: OVERRIDES });
    raw = await RawClient.connect(broker.port);
    for (const t of ['v2-mixed', 'v2-fence', 'v2-offsets']) await createTopic(raw, t, 3);
    if (typeof setup === 'string') throw new Error(setup);
    driver = spawnJava(`${setup.classes}:${setup.cp.k4}`, 'tributary.compat.TxnDriver', [broker.bootstrap]);
  });
  after(async () => {
    await driver?.kill();
    raw?.close();
    await broker?.stop();
    broker?.cleanup();
  });

  test('ApiVersions finalizes transaction.version=2 and offers the V2 versions', async () => {
    const r = await raw.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    assert.deepEqual(r.body.supportedFeatures, [{ name: 'transaction.version', minVersion: 0, maxVersion: 2 }]);
    assert.deepEqual(r.body.finalizedFeatures, [{ name: 'transaction.version', minVersionLevel: 2, maxVersionLevel: 2 }]);
    assert.ok(r.body.finalizedFeaturesEpoch >= 0);
    const max = new Map<number, number>(r.body.apiKeys.map((k: { apiKey: number; maxVersion: number }) => [k.apiKey, k.maxVersion]));
    assert.equal(max.get(ApiKey.EndTxn), 5);
    // Produce v13 and TxnOffsetCommit v6 name topics by id (KIP-516, KIP-1319), V2 as well.
    assert.equal(max.get(ApiKey.Produce), 13);
    assert.equal(max.get(ApiKey.TxnOffsetCommit), 6);
  });

  test('committed and aborted V2 transactions next to a V1 client (kafkajs), read back read_committed', async () => {
    const ready = await ask('init a v2-mixed-a', /READY a .*/);
    assert.match(ready, /^READY a tv2=true /, 'the Java client runs transactions V2');
    let last = ids(ready);

    const kafka = new Kafka({ clientId: 'v1-side', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const v1 = kafka.producer({ transactionalId: 'v2-mixed-kjs', maxInFlightRequests: 1, idempotent: true });
    await v1.connect();
    // The V1 client runs its transactions while the V2 one runs its own.
    const v1Side = (async () => {
      for (let i = 0; i < 3; i++) {
        const t = await v1.transaction();
        await t.send({ topic: 'v2-mixed', messages: [0, 1, 2].map((p) => ({ value: `kjs${i}-${p}`, partition: p })) });
        if (i === 1) await t.abort();
        else await t.commit();
      }
    })();
    try {
      for (let i = 0; i < 4; i++) {
        const commit = i !== 2;
        const line = await ask(`${commit ? 'commit' : 'abort'} a v2-mixed 9 t${i}`, /(COMMITTED|ABORTED) a .*/);
        assert.match(line, commit ? /^COMMITTED/ : /^ABORTED/);
        const now = ids(line);
        // EndTxn v5 bumped the epoch, and the client took it from the response.
        assert.deepEqual(now, { pid: last.pid, epoch: last.epoch + 1 }, `transaction ${i}`);
        last = now;
      }
      await v1Side;
    } finally {
      await v1.disconnect();
    }
    const read = await ask('read v2-mixed', /READ .*/);
    const expected = [...range('t0', 9), ...range('t1', 9), ...range('t3', 9), ...['kjs0', 'kjs2'].flatMap((k) => [0, 1, 2].map((p) => `${k}-${p}`))].sort();
    assert.deepEqual(values(read), expected);

    // The coordinator's view: the V2 producer id at the bumped epoch, nothing open.
    const d = await raw.request(ApiKey.DescribeTransactions, 0, { transactionalIds: ['v2-mixed-a'] });
    const state = d.body.transactionStates[0];
    assert.equal(state.transactionState, 'CompleteCommit');
    assert.equal(Number(state.producerId), last.pid);
    assert.equal(state.producerEpoch, last.epoch);
  });

  test('sendOffsetsToTransaction without AddOffsetsToTxn (TxnOffsetCommit v5+)', async () => {
    assert.match(await ask('init o v2-offsets-tx', /READY o .*/), /tv2=true/);
    assert.match(await ask('offsets o v2-offsets-group v2-offsets 1 42', /OFFSETS o .*/), /^OFFSETS/);
    assert.equal(await ask('committed v2-offsets-group v2-offsets 1', /OFFSET .*/), 'OFFSET 42');
    assert.match(await ask('close o', /CLOSED o/), /CLOSED/);
  });

  test('zombie fencing: a new instance aborts the open V2 transaction and fences the old one', async () => {
    assert.match(await ask('init z1 v2-fence-tx', /READY z1 .*/), /tv2=true/);
    assert.match(await ask('commit z1 v2-fence 3 before', /COMMITTED z1 .*/), /^COMMITTED/);
    assert.match(await ask('open z1 v2-fence 5 zombie', /OPEN z1 .*/), /^OPEN/);
    // The new instance's initTransactions aborts the zombie's transaction under a bumped epoch.
    const z2 = ids(await ask('init z2 v2-fence-tx', /READY z2 .*/));
    assert.match(await ask('commit z2 v2-fence 4 winner', /COMMITTED z2 .*/), /^COMMITTED/);
    // The zombie cannot commit (nor write) any more.
    assert.match(await ask('resume z1 v2-fence 2 late', /COMMITTED z1 .*/), /^ERROR z1 .*(Fenced|InvalidProducerEpoch)/);
    assert.deepEqual(values(await ask('read v2-fence', /READ .*/)), [...range('before', 3), ...range('winner', 4)].sort());
    assert.ok(z2.epoch >= 2);
    await ask('close z1', /CLOSED z1/);
    await ask('close z2', /CLOSED z2/);
  });

  test('kill -9 of the broker during a V2 transaction: the open one is aborted, committed data stays', async () => {
    await createTopic(raw, 'v2-crash', 3);
    assert.match(await ask('init k1 v2-crash-tx 60000', /READY k1 .*/), /tv2=true/);
    assert.match(await ask('commit k1 v2-crash 6 kept', /COMMITTED k1 .*/), /^COMMITTED/);
    assert.match(await ask('open k1 v2-crash 6 lost', /OPEN k1 .*/), /^OPEN/);
    raw.close();
    await broker.kill();
    broker = await startBrokerProcess({ dataDir: broker.dataDir, port: broker.port, overrides: OVERRIDES });
    raw = await RawClient.connect(broker.port);
    // A new instance of the producer: its initTransactions aborts what the crash left open.
    await ask('close k1', /CLOSED k1/, 20_000);
    assert.match(await ask('init k2 v2-crash-tx', /READY k2 .*/, 60_000), /tv2=true/);
    assert.match(await ask('commit k2 v2-crash 6 after', /COMMITTED k2 .*/), /^COMMITTED/);
    assert.deepEqual(values(await ask('read v2-crash', /READ .*/)), [...range('kept', 6), ...range('after', 6)].sort());
    await ask('close k2', /CLOSED k2/);
  });
});
