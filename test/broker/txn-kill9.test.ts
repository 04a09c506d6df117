// A transaction open when the broker is killed with SIGKILL: after the restart the last stable
// offset is still at the transaction's first offset (and read_committed sees nothing of it)
// until a marker is written; retried transactional and idempotent batches are still
// deduplicated; the aborted-transaction index survives the crashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startBroker } from '../../src/index.js';
import { TestBroker } from '../helpers/broker.js';
import { tempDir } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetchRequest, produceOk } from '../helpers/requests.js';
import { dataRecordValues } from '../helpers/records.js';
import { ApiKey, type FetchResponsePartitionData } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';

const topic = 'txn-crash';

function txnBatch(pid: number, seq: number, value: string): Buffer {
  return buildRecordBatch([{ value: value.padEnd(200, '.') }], { producerId: pid, producerEpoch: 0, baseSequence: seq, transactional: true });
}

function idemBatch(pid: number, seq: number, value: string): Buffer {
  return buildRecordBatch([{ value: value.padEnd(200, '.') }], { producerId: pid, producerEpoch: 0, baseSequence: seq });
}

const produce = (c: RawClient, records: Buffer, transactionalId: string | null) => produceOk(c, topic, 0, records, transactionalId);

async function fetch(c: RawClient, offset: number, isolationLevel: number): Promise<FetchResponsePartitionData> {
  const r = await c.request(
    ApiKey.Fetch,
    12,
    fetchRequest({ isolationLevel, maxBytes: 1 << 24, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 24 }] }] }),
  );
  return r.body.responses[0].partitions[0];
}

async function producerId(c: RawClient): Promise<number> {
  const r = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
  assert.equal(r.body.errorCode, ErrorCode.NONE);
  return Number(r.body.producerId);
}

test('kill -9 with an open transaction: the LSO stays at its first offset until a marker, retries are deduplicated', async (t) => {
  const dataDir = tempDir('tributary-txn-kill9-');
  const config = { 'log.segment.bytes': 1500 };
  const proc = new TestBroker({ process: true, dataDir, config });
  t.after(() => proc.dispose());
  try {
    // Phase 1 (in process): an aborted and a committed transaction, then a clean stop.
    let embedded = await startBroker({ dataDir, config });
    // Phase 1 writes its markers through the storage API, not through the coordinator.
    embedded.broker.verifyTransactionalProduce = undefined;
    let c = await RawClient.connect(embedded.port);
    await createTopic(c, topic, 1);
    const early = await producerId(c);
    const earlyFirst = await produce(c, txnBatch(early, 0, 'early-0'), 'tx-early');
    await produce(c, txnBatch(early, 1, 'early-1'), 'tx-early');
    await embedded.broker.partition(topic, 0)!.writeTxnMarker({ producerId: early, producerEpoch: 0, coordinatorEpoch: 0, commit: false }).done;
    await produce(c, txnBatch(early, 2, 'early-2'), 'tx-early');
    await embedded.broker.partition(topic, 0)!.writeTxnMarker({ producerId: early, producerEpoch: 0, coordinatorEpoch: 0, commit: true }).done;
    // The transaction left open in phase 2 is a real one: the process broker's coordinator checks
    // (KIP-890) that its partition was added before it takes the data.
    const init = await c.request(ApiKey.InitProducerId, 4, { transactionalId: 'tx-open', transactionTimeoutMs: 600_000, producerId: -1, producerEpoch: -1 });
    assert.equal(init.body.errorCode, ErrorCode.NONE);
    assert.equal(init.body.producerEpoch, 0);
    const pidTxn = Number(init.body.producerId);
    const added = await c.request(ApiKey.AddPartitionsToTxn, 3, {
      transactions: [],
      v3AndBelowTransactionalId: 'tx-open',
      v3AndBelowProducerId: pidTxn,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [{ name: topic, partitions: [0] }],
    });
    assert.equal(added.body.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, ErrorCode.NONE);
    const pidIdem = await producerId(c);
    c.close();
    await embedded.stop();

    // Phase 2 (a broker process): a transaction left open, idempotent data around it, kill -9.
    await proc.start();
    c = await RawClient.connect(proc.port);
    await produce(c, idemBatch(pidIdem, 0, 'idem-0'), null);
    let txnFirst = -1;
    let lastTxnOffset = -1;
    let lastIdemOffset = -1;
    for (let i = 0; i < 8; i++) {
      lastTxnOffset = await produce(c, txnBatch(pidTxn, i, `open-${i}`), 'tx-open');
      if (i === 0) txnFirst = lastTxnOffset;
      lastIdemOffset = await produce(c, idemBatch(pidIdem, i + 1, `idem-${i + 1}`), null);
    }
    const end = lastIdemOffset + 1;
    let data = await fetch(c, 0, 0);
    assert.equal(Number(data.lastStableOffset), txnFirst);
    c.close();
    await proc.kill();

    // Phase 3: restart after the crash.
    await proc.restart();
    c = await RawClient.connect(proc.port);
    data = await fetch(c, 0, 0);
    assert.equal(Number(data.highWatermark), end);
    assert.equal(Number(data.lastStableOffset), txnFirst, 'the open transaction still holds the LSO');
    const committed = await fetch(c, 0, 1);
    assert.equal(Number(committed.lastStableOffset), txnFirst);
    const visible = dataRecordValues(committed.records).map((v) => v.replace(/\.+$/, ''));
    assert.ok(!visible.some((v) => v.startsWith('open-')), `read_committed saw ${visible}`);
    assert.ok(visible.includes('idem-0') && visible.includes('early-2'));
    assert.deepEqual(
      committed.abortedTransactions!.map((t) => [Number(t.producerId), Number(t.firstOffset)]),
      [[early, earlyFirst]],
    );
    // Retries of the last batches come back with their original offsets, nothing is written.
    assert.equal(await produce(c, txnBatch(pidTxn, 7, 'open-7'), 'tx-open'), lastTxnOffset);
    assert.equal(await produce(c, idemBatch(pidIdem, 8, 'idem-8'), null), lastIdemOffset);
    assert.equal(Number((await fetch(c, 0, 0)).highWatermark), end);
    const describe = await c.request(ApiKey.DescribeProducers, 0, { topics: [{ name: topic, partitionIndexes: [0] }] });
    const open = describe.body.topics[0].partitions[0].activeProducers.find((p: any) => Number(p.producerId) === pidTxn);
    assert.equal(Number(open.currentTxnStartOffset), txnFirst);
    c.close();
    await proc.kill();

    // Phase 4 (in process again, after a second crash): the marker ends the transaction.
    embedded = await startBroker({ dataDir, config });
    c = await RawClient.connect(embedded.port);
    const partition = embedded.broker.partition(topic, 0)!;
    assert.equal(partition.log.lastStableOffset, txnFirst);
    const marker = partition.writeTxnMarker({ producerId: pidTxn, producerEpoch: 0, coordinatorEpoch: 0, commit: false });
    await marker.done;
    data = await fetch(c, txnFirst, 1);
    assert.equal(Number(data.lastStableOffset), marker.lastOffset + 1);
    // The aborted data is delivered now, with the transaction to drop it by.
    assert.equal(dataRecordValues(data.records)[0]!.replace(/\.+$/, ''), 'open-0');
    assert.deepEqual(
      data.abortedTransactions!.map((t) => [Number(t.producerId), Number(t.firstOffset)]),
      [[pidTxn, txnFirst]],
    );
    data = await fetch(c, 0, 1);
    assert.deepEqual(data.abortedTransactions!.map((t) => Number(t.producerId))[0], early);
    c.close();
    await embedded.stop();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
