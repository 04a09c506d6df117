// Transactional data through the wire: Produce accepts transactional batches (with a
// transactional id), markers are written through the storage API of an in-process broker, and
// Fetch / ListOffsets answer read_committed and read_uncommitted as Kafka does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetchRequest } from '../helpers/requests.js';
import { dataRecordValues } from '../helpers/records.js';
import { elapse, waitUntil } from '../helpers/wait.js';
import { ApiKey, type FetchResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import type { TransactionalProduceCheck } from '../../src/broker/broker.js';

const READ_UNCOMMITTED = 0;
const READ_COMMITTED = 1;

function txnBatch(producerId: number, epoch: number, seq: number, values: string[]): Buffer {
  return buildRecordBatch(
    values.map((value) => ({ value })),
    { producerId, producerEpoch: epoch, baseSequence: seq, transactional: true },
  );
}

describe('transactional produce and read_committed fetch', () => {
  let running: RunningBroker;
  let c: RawClient;
  const topic = 'txn-fetch';

  before(async () => {
    running = await startBroker({ storage: 'memory' });
    // These tests write markers through the storage API, without the transaction coordinator, so
    // its KIP-890 check is switched off (test/broker/transactions-protocol.test.ts covers it).
    running.broker.verifyTransactionalProduce = undefined;
    c = await RawClient.connect(running.port);
    await createTopic(c, topic, 2);
  });
  after(async () => {
    c.close();
    await running.stop();
  });

  async function producerId(): Promise<number> {
    const r = await c.request(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
    assert.equal(r.body.errorCode, ErrorCode.NONE);
    return Number(r.body.producerId);
  }

  async function produce(partition: number, records: Buffer, transactionalId: string | null = 'tx-app', version = 9) {
    const r = await c.request(ApiKey.Produce, version, {
      transactionalId,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
    });
    return r.body.responses[0].partitionResponses[0];
  }

  async function fetch(partition: number, offset: number, isolationLevel: number, version = 12, extra: { maxWaitMs?: number; minBytes?: number } = {}) {
    const r = await c.request<FetchResponse>(
      ApiKey.Fetch,
      version,
      fetchRequest({ isolationLevel, maxWaitMs: extra.maxWaitMs ?? 0, minBytes: extra.minBytes ?? 1, topics: [{ topic, partitions: [{ partition, fetchOffset: offset }] }] }),
    );
    return r.body.responses[0]!.partitions[0]!;
  }

  function partitionOf(index: number) {
    return running.broker.partition(topic, index)!;
  }

  test('read_committed sees data only below the LSO, with the aborted transactions of the range', async () => {
    const pidA = await producerId();
    const pidB = await producerId();
    assert.equal((await produce(0, buildRecordBatch([{ value: 'plain-0' }]), null)).errorCode, ErrorCode.NONE); // 0
    const a1 = await produce(0, txnBatch(pidA, 0, 0, ['a-0', 'a-1'])); // 1-2
    assert.equal(a1.errorCode, ErrorCode.NONE, a1.errorMessage);
    assert.equal(Number(a1.baseOffset), 1);
    assert.equal((await produce(0, txnBatch(pidB, 0, 0, ['b-0']))).errorCode, ErrorCode.NONE); // 3

    let uncommitted = await fetch(0, 0, READ_UNCOMMITTED);
    assert.deepEqual(dataRecordValues(uncommitted.records), ['plain-0', 'a-0', 'a-1', 'b-0']);
    assert.equal(Number(uncommitted.highWatermark), 4);
    assert.equal(Number(uncommitted.lastStableOffset), 1);
    assert.equal(uncommitted.abortedTransactions, null);

    let committed = await fetch(0, 0, READ_COMMITTED);
    assert.deepEqual(dataRecordValues(committed.records), ['plain-0']);
    assert.equal(Number(committed.lastStableOffset), 1);
    assert.deepEqual(committed.abortedTransactions, []);
    // At the LSO there is nothing yet, and no error.
    committed = await fetch(0, 1, READ_COMMITTED);
    assert.equal(committed.errorCode, ErrorCode.NONE);
    assert.equal(committed.records!.length, 0);

    // A parked read_committed fetch wakes when the marker makes data stable, not on uncommitted appends.
    const parked = fetch(0, 1, READ_COMMITTED, 12, { maxWaitMs: 5000 });
    await waitUntil(() => partitionOf(0).parkedFetches > 0, { message: 'the read_committed fetch to park' });
    await partitionOf(0).writeTxnMarker({ producerId: pidA, producerEpoch: 0, coordinatorEpoch: 0, commit: false }).done; // 4
    committed = await parked;
    // pidB's transaction (from 3) is still open: only A's aborted data is below the LSO.
    assert.equal(Number(committed.lastStableOffset), 3);
    assert.deepEqual(dataRecordValues(committed.records), ['a-0', 'a-1']);
    assert.deepEqual(
      committed.abortedTransactions!.map((t) => [Number(t.producerId), Number(t.firstOffset)]),
      [[pidA, 1]],
    );

    await partitionOf(0).writeTxnMarker({ producerId: pidB, producerEpoch: 0, coordinatorEpoch: 0, commit: true }).done; // 5
    committed = await fetch(0, 0, READ_COMMITTED);
    assert.equal(Number(committed.lastStableOffset), 6);
    assert.equal(Number(committed.highWatermark), 6);
    assert.deepEqual(dataRecordValues(committed.records), ['plain-0', 'a-0', 'a-1', 'b-0']);
    assert.deepEqual(
      committed.abortedTransactions!.map((t) => [Number(t.producerId), Number(t.firstOffset)]),
      [[pidA, 1]],
    );
    // From past A's marker, A's transaction is not reported.
    committed = await fetch(0, 5, READ_COMMITTED);
    assert.deepEqual(committed.abortedTransactions, []);
    uncommitted = await fetch(0, 0, READ_UNCOMMITTED);
    assert.equal(Number(uncommitted.lastStableOffset), 6);

    // The old fetch version (v4) carries the LSO and the aborted list too.
    const v4 = await fetch(0, 0, READ_COMMITTED, 4);
    assert.equal(Number(v4.lastStableOffset), 6);
    assert.equal(v4.abortedTransactions!.length, 1);
  });

  test('ListOffsets LATEST answers the LSO for read_committed and the high watermark otherwise', async () => {
    const pid = await producerId();
    await produce(1, buildRecordBatch([{ value: 'p' }]), null); // 0
    await produce(1, txnBatch(pid, 0, 0, ['t'])); // 1
    const latest = async (isolationLevel: number) => {
      const r = await c.request(ApiKey.ListOffsets, 7, {
        replicaId: -1,
        isolationLevel,
        topics: [{ name: topic, partitions: [{ partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }],
        timeoutMs: 5000,
      });
      return Number(r.body.topics[0].partitions[0].offset);
    };
    assert.equal(await latest(READ_UNCOMMITTED), 2);
    assert.equal(await latest(READ_COMMITTED), 1);
    await partitionOf(1).writeTxnMarker({ producerId: pid, producerEpoch: 0, coordinatorEpoch: 0, commit: true }).done;
    assert.equal(await latest(READ_COMMITTED), 3);
  });

  test('Produce refuses transactional data without a transactional id, and mixed batches', async () => {
    const pid = await producerId();
    const noId = await produce(1, txnBatch(pid, 0, 0, ['x']), null);
    assert.equal(noId.errorCode, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    const mixed = Buffer.concat([txnBatch(pid, 0, 0, ['x']), buildRecordBatch([{ value: 'y' }], { producerId: pid, producerEpoch: 0, baseSequence: 1 })]);
    const before = partitionOf(1).log.logEndOffset;
    assert.equal((await produce(1, mixed)).errorCode, ErrorCode.INVALID_RECORD);
    assert.equal(partitionOf(1).log.logEndOffset, before);
    // Data of an open transaction cannot be followed by non-transactional data from the same producer.
    assert.equal((await produce(1, txnBatch(pid, 0, 0, ['x']))).errorCode, ErrorCode.NONE);
    const plainAfter = await produce(1, buildRecordBatch([{ value: 'y' }], { producerId: pid, producerEpoch: 0, baseSequence: 1 }), null);
    assert.equal(plainAfter.errorCode, ErrorCode.INVALID_TXN_STATE);
    await partitionOf(1).writeTxnMarker({ producerId: pid, producerEpoch: 0, coordinatorEpoch: 0, commit: false }).done;
  });

  test('the KIP-890 hook is asked before a transactional append and can refuse it', async () => {
    const pid = await producerId();
    const asked: TransactionalProduceCheck[] = [];
    running.broker.verifyTransactionalProduce = async (check) => {
      asked.push(check);
      await elapse(10); // a slow check: the append must wait for the answer
      return check.baseSequence === 0 ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE;
    };
    try {
      const end = partitionOf(1).log.logEndOffset;
      const ok = await produce(1, txnBatch(pid, 0, 0, ['v']), 'tx-hook');
      assert.equal(ok.errorCode, ErrorCode.NONE);
      assert.equal(Number(ok.baseOffset), end);
      const refused = await produce(1, txnBatch(pid, 0, 1, ['w']), 'tx-hook');
      assert.equal(refused.errorCode, ErrorCode.INVALID_TXN_STATE);
      assert.equal(partitionOf(1).log.logEndOffset, end + 1);
      // Non-transactional data is not checked.
      await produce(1, buildRecordBatch([{ value: 'z' }]), null);
      assert.deepEqual(
        asked.map((a) => [a.transactionalId, a.producerId, a.producerEpoch, a.baseSequence, a.topic, a.partition]),
        [
          ['tx-hook', pid, 0, 0, topic, 1],
          ['tx-hook', pid, 0, 1, topic, 1],
        ],
      );
    } finally {
      running.broker.verifyTransactionalProduce = undefined;
    }
    await partitionOf(1).writeTxnMarker({ producerId: pid, producerEpoch: 0, coordinatorEpoch: 0, commit: true }).done;
  });

  test('DescribeProducers lists each producer with its open transaction', async () => {
    const t = 'txn-describe';
    await createTopic(c, t, 1);
    const idem = await producerId();
    const txn = await producerId();
    const send = async (records: Buffer, transactionalId: string | null) => {
      const res = await c.request(ApiKey.Produce, 9, { transactionalId, acks: -1, timeoutMs: 5000, topicData: [{ name: t, partitionData: [{ index: 0, records }] }] });
      assert.equal(res.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    };
    await send(buildRecordBatch([{ value: 'i0' }, { value: 'i1' }], { producerId: idem, producerEpoch: 0, baseSequence: 0, baseTimestamp: 1000 }), null); // 0-1
    await send(txnBatch(txn, 0, 0, ['t0']), 'tx-describe'); // 2
    const describe = async () => {
      const res = await c.request(ApiKey.DescribeProducers, 0, {
        topics: [
          { name: t, partitionIndexes: [0, 7] },
          { name: 'no-such-topic', partitionIndexes: [0] },
        ],
      });
      return res.body.topics;
    };
    const versions = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'txn-test', clientSoftwareVersion: '1' });
    const advertised = versions.body.apiKeys.find((k: any) => k.apiKey === ApiKey.DescribeProducers);
    assert.deepEqual([advertised?.minVersion, advertised?.maxVersion], [0, 0]);
    let topics = await describe();
    assert.equal(topics[0].partitions[1].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal(topics[1].partitions[0].errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const p0 = topics[0].partitions[0];
    assert.equal(p0.errorCode, ErrorCode.NONE);
    const byId = new Map<number, any>(p0.activeProducers.map((p: any) => [Number(p.producerId), p]));
    assert.equal(byId.size, 2);
    assert.deepEqual(
      [byId.get(idem).producerEpoch, byId.get(idem).lastSequence, Number(byId.get(idem).lastTimestamp), Number(byId.get(idem).currentTxnStartOffset)],
      [0, 1, 1000, -1],
    );
    assert.deepEqual([byId.get(txn).lastSequence, Number(byId.get(txn).currentTxnStartOffset), byId.get(txn).coordinatorEpoch], [0, 2, -1]);
    await running.broker.partition(t, 0)!.writeTxnMarker({ producerId: txn, producerEpoch: 0, coordinatorEpoch: 3, commit: true }).done;
    topics = await describe();
    const after = topics[0].partitions[0].activeProducers.find((p: any) => Number(p.producerId) === txn);
    assert.deepEqual([Number(after.currentTxnStartOffset), after.coordinatorEpoch], [-1, 3]);
  });

  test('a parked read_committed fetch is not completed by data of an open transaction', async () => {
    const pid = await producerId();
    const end = partitionOf(1).log.logEndOffset;
    assert.equal(partitionOf(1).log.lastStableOffset, end);
    // Its own connection: responses on one connection come in request order.
    const waiter = await RawClient.connect(running.port);
    let settled = false;
    const parked = waiter
      .request<FetchResponse>(
        ApiKey.Fetch,
        12,
        fetchRequest({ isolationLevel: READ_COMMITTED, maxWaitMs: 4000, minBytes: 1, topics: [{ topic, partitions: [{ partition: 1, fetchOffset: end }] }] }),
      )
      .then((r) => {
        settled = true;
        return r.body.responses[0]!.partitions[0]!;
      });
    await waitUntil(() => partitionOf(1).parkedFetches > 0, { message: 'the read_committed fetch to park' });
    assert.equal((await produce(1, txnBatch(pid, 0, 0, ['pending']))).errorCode, ErrorCode.NONE);
    // The append woke the fetch, which found nothing below the LSO and parked again. Not a wait
    // for a condition: time in which a wrongly answered fetch would show up.
    await waitUntil(() => partitionOf(1).parkedFetches > 0, { message: 'the fetch to park again' });
    await elapse(400);
    assert.equal(settled, false);
    await partitionOf(1).writeTxnMarker({ producerId: pid, producerEpoch: 0, coordinatorEpoch: 0, commit: true }).done;
    const data = await parked;
    waiter.close();
    assert.deepEqual(dataRecordValues(data.records), ['pending']);
    assert.equal(Number(data.lastStableOffset), end + 2);
  });
});
