// The transaction coordinator in-process: an in-memory __transaction_state, a manual clock and a
// recording marker writer, so every state transition and its persisted form can be checked.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import type { CoordinatorLogger } from '../../src/coordinator/ports.js';
import { ManualClock } from '../../src/common/clock.js';
import type { CoordinatorRecord } from '../../src/coordinator/records.js';
import { TransactionCoordinator, type MarkerRequest } from '../../src/coordinator/transaction-coordinator.js';
import { decodeTxnKey, decodeTxnValue, encodeTxnValue, partitionForTransactionalId } from '../../src/coordinator/transaction-records.js';
import { ALL_OWNED, type PartitionOwnership } from '../../src/coordinator/coordinator-partitions.js';
import { listTransactionsHandler } from '../../src/broker/handlers/list-transactions.js';
import { describeTransactionsHandler } from '../../src/broker/handlers/describe-transactions.js';
import type { RequestContext } from '../../src/broker/api.js';
import type { DescribeTransactionsResponse, ListTransactionsResponse } from '../../src/protocol/generated/index.js';

const clock = new ManualClock(1_000_000);

interface Harness {
  coordinator: TransactionCoordinator;
  log: { partition: number; records: CoordinatorRecord[] }[];
  markers: MarkerRequest[];
  /** Markers fail this many more times before succeeding. */
  failMarkers: { count: number };
  /** Set: every __transaction_state append fails with it. */
  failAppends: { error: Error | null };
  nextId: { value: number };
}

function harness(
  options: { log?: Harness['log']; maxTimeoutMs?: number; transactionVersion?: () => number; ownership?: PartitionOwnership; logger?: CoordinatorLogger } = {},
): Harness {
  const log = options.log ?? [];
  const markers: MarkerRequest[] = [];
  const failMarkers = { count: 0 };
  const failAppends: { error: Error | null } = { error: null };
  const nextId = { value: 1000 };
  const coordinator = new TransactionCoordinator({
    numPartitions: () => 50,
    store: {
      append: async (partition, records) => {
        if (failAppends.error) throw failAppends.error;
        log.push({ partition, records });
      },
      ensureReady: async () => undefined,
    },
    clock,
    nextProducerId: async () => nextId.value++,
    writeMarkers: async (m) => {
      if (failMarkers.count > 0) {
        failMarkers.count--;
        throw new Error('disk full');
      }
      // Copy: the coordinator clears its partition map once the transaction completes.
      markers.push({ ...m, partitions: new Map([...m.partitions].map(([t, ps]) => [t, new Set(ps)])) });
    },
    partitionExists: (topic, partition) => topic !== 'missing' && partition < 3,
    maxTimeoutMs: options.maxTimeoutMs ?? 900_000,
    transactionalIdExpirationMs: 7 * 24 * 3600_000,
    ...(options.transactionVersion ? { transactionVersion: options.transactionVersion } : {}),
    ...(options.ownership ? { ownership: options.ownership } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return { coordinator, log, markers, failMarkers, failAppends, nextId };
}

/** A new coordinator replaying everything `h` wrote, as a restart would. */
function restart(h: Harness): Harness {
  const again = harness({ log: h.log });
  for (const entry of h.log) for (const r of entry.records) again.coordinator.replayRecord(r.key, r.value);
  return again;
}

function lastValue(h: Harness, id: string) {
  const entry = [...h.log].reverse().find((e) => decodeTxnKey(e.records[0]!.key) === id)!;
  return entry.records[0]!.value === null ? null : decodeTxnValue(entry.records[0]!.value);
}

const T = (name: string, ...partitions: number[]) => ({ name, partitions });

describe('transaction coordinator', () => {
  test('InitProducerId allocates an id at epoch 0, then bumps the epoch for each new producer instance', async () => {
    const h = harness();
    const first = await h.coordinator.initProducerId('tx-a', 60_000);
    assert.deepEqual(first, { errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 0 });
    const second = await h.coordinator.initProducerId('tx-a', 60_000);
    assert.deepEqual(second, { errorCode: ErrorCode.NONE, producerId: 1000, producerEpoch: 1 });
    const other = await h.coordinator.initProducerId('tx-b', 60_000);
    assert.equal(other.producerId, 1001);
    // Every state is written to the id's own __transaction_state partition before the answer.
    assert.equal(h.log[0]!.partition, partitionForTransactionalId('tx-a', 50));
    assert.equal(lastValue(h, 'tx-a')!.producerEpoch, 1);
    assert.equal(lastValue(h, 'tx-a')!.state, 'Empty');
  });

  test('InitProducerId refuses a bad timeout, an empty id and a stale (v3+) producer id/epoch', async () => {
    const h = harness({ maxTimeoutMs: 10_000 });
    assert.equal((await h.coordinator.initProducerId('tx', 10_001)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    assert.equal((await h.coordinator.initProducerId('tx', 0)).errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    assert.equal((await h.coordinator.initProducerId('', 1000)).errorCode, ErrorCode.INVALID_REQUEST);
    const a = await h.coordinator.initProducerId('tx', 10_000);
    await h.coordinator.initProducerId('tx', 10_000); // another instance bumps to epoch 1
    assert.equal((await h.coordinator.initProducerId('tx', 10_000, a.producerId, a.producerEpoch)).errorCode, ErrorCode.PRODUCER_FENCED);
    const resumed = await h.coordinator.initProducerId('tx', 10_000, a.producerId, 1);
    assert.deepEqual(resumed, { errorCode: ErrorCode.NONE, producerId: a.producerId, producerEpoch: 2 });
  });

  test('the finalized transaction.version picks the log value format: v0 at level 0, v1 from 1', async () => {
    let level = 0;
    const h = harness({ transactionVersion: () => level });
    const { producerId, producerEpoch } = await h.coordinator.initProducerId('tx-tv', 60_000);
    await h.coordinator.addPartitions('tx-tv', producerId, producerEpoch, [T('t', 0, 1)]);
    const version = (i: number) => h.log[i]!.records[0]!.value!.readInt16BE(0);
    assert.deepEqual([version(0), version(1)], [0, 0]);
    // A v0 value reads back whole, also after a restart.
    assert.deepEqual([...lastValue(h, 'tx-tv')!.partitions.get('t')!].sort(), [0, 1]);
    assert.equal(restart(h).coordinator.describe('tx-tv').state, 'Ongoing');
    level = 1;
    assert.equal(await h.coordinator.endTransaction('tx-tv', producerId, producerEpoch, true), ErrorCode.NONE);
    assert.ok(
      h.log.slice(2).every((e) => e.records[0]!.value!.readInt16BE(0) === 1),
      'v1 once the level is 1',
    );
  });

  test('AddPartitionsToTxn starts the transaction; unknown partitions fail the whole request', async () => {
    const h = harness();
    const { producerId, producerEpoch } = await h.coordinator.initProducerId('tx', 60_000);
    const bad = await h.coordinator.addPartitions('tx', producerId, producerEpoch, [T('t', 0), T('missing', 0)]);
    assert.deepEqual(bad, [
      { name: 't', results: [{ partition: 0, errorCode: ErrorCode.OPERATION_NOT_ATTEMPTED }] },
      { name: 'missing', results: [{ partition: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
    ]);
    assert.equal(h.coordinator.describe('tx').state, 'Empty');
    const ok = await h.coordinator.addPartitions('tx', producerId, producerEpoch, [T('t', 0, 1)]);
    assert.deepEqual(ok, [
      {
        name: 't',
        results: [
          { partition: 0, errorCode: 0 },
          { partition: 1, errorCode: 0 },
        ],
      },
    ]);
    const d = h.coordinator.describe('tx');
    assert.equal(d.state, 'Ongoing');
    assert.equal(d.startTimestamp, clock.now());
    assert.deepEqual(d.topics, [{ topic: 't', partitions: [0, 1] }]);
    // Adding partitions already in the transaction writes nothing.
    const before = h.log.length;
    await h.coordinator.addPartitions('tx', producerId, producerEpoch, [T('t', 1)]);
    assert.equal(h.log.length, before);
    assert.equal((await h.coordinator.addPartitions('tx', producerId + 1, producerEpoch, [T('t', 2)]))[0]!.results[0]!.errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.equal((await h.coordinator.addPartitions('nope', producerId, producerEpoch, [T('t', 2)]))[0]!.results[0]!.errorCode, ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  });

  test('KIP-890 verification accepts only partitions of the ongoing transaction at the current epoch', async () => {
    const h = harness();
    const { producerId, producerEpoch } = await h.coordinator.initProducerId('tx', 60_000);
    // Kafka's coordinator answers: TRANSACTION_ABORTABLE for a partition not in the transaction,
    // PRODUCER_FENCED for another epoch (the partition leader translates per API version).
    assert.equal(h.coordinator.verifyPartition('tx', producerId, producerEpoch, 't', 0), ErrorCode.TRANSACTION_ABORTABLE);
    await h.coordinator.addPartitions('tx', producerId, producerEpoch, [T('t', 0)]);
    assert.equal(h.coordinator.verifyPartition('tx', producerId, producerEpoch, 't', 0), ErrorCode.NONE);
    assert.equal(h.coordinator.verifyPartition('tx', producerId, producerEpoch, 't', 1), ErrorCode.TRANSACTION_ABORTABLE);
    assert.equal(h.coordinator.verifyPartition('tx', producerId, producerEpoch - 1, 't', 0), ErrorCode.PRODUCER_FENCED);
    assert.equal(h.coordinator.verifyPartition('tx', producerId + 5, producerEpoch, 't', 0), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    assert.equal(h.coordinator.verifyPartition('other', producerId, producerEpoch, 't', 0), ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  });

  test('transactions V2: EndTxn bumps the epoch of every transaction; retries, empty aborts, and the value layout', async () => {
    const h = harness();
    const { producerId, producerEpoch } = await h.coordinator.initProducerId('v2', 60_000);
    const added = await h.coordinator.addPartitions('v2', producerId, producerEpoch, [T('t', 0, 1)], 2);
    assert.equal(added[0]!.results[0]!.errorCode, ErrorCode.NONE);
    const ended = await h.coordinator.endTransactionV2('v2', producerId, producerEpoch, true);
    assert.deepEqual(ended, { errorCode: ErrorCode.NONE, producerId, producerEpoch: producerEpoch + 1 });
    assert.equal(h.markers[0]!.producerEpoch, producerEpoch + 1, 'the markers carry the bumped epoch');
    const prepared = decodeTxnValue(h.log.at(-2)!.records[0]!.value!)!;
    assert.equal(prepared.state, 'PrepareCommit');
    assert.equal(prepared.clientTransactionVersion, 2, 'the V2 transaction is recorded as such');
    assert.equal(lastValue(h, 'v2')!.state, 'CompleteCommit');
    // A retry with the epoch before the bump gets the same answer; a commit at the new epoch has nothing to commit.
    assert.deepEqual(await h.coordinator.endTransactionV2('v2', producerId, producerEpoch, true), ended);
    assert.equal((await h.coordinator.endTransactionV2('v2', producerId, producerEpoch + 1, true)).errorCode, ErrorCode.INVALID_TXN_STATE);
    // An abort with no partition added (the implicit add failed) still bumps the epoch, writing no marker.
    const empty = await h.coordinator.endTransactionV2('v2', producerId, producerEpoch + 1, false);
    assert.deepEqual(empty, { errorCode: ErrorCode.NONE, producerId, producerEpoch: producerEpoch + 2 });
    assert.equal(h.markers.length, 1);
    assert.equal((await h.coordinator.endTransactionV2('v2', producerId, producerEpoch, false)).errorCode, ErrorCode.PRODUCER_FENCED, 'an older epoch');
    // A restart reads the v1 values back.
    const again = restart(h);
    assert.equal(again.coordinator.describe('v2').producerEpoch, producerEpoch + 2);
    assert.equal(again.coordinator.transactions.get('v2')!.clientTransactionVersion, 2);
  });

  test('transactions V2: an exhausted epoch moves the producer to a new id at epoch 0', async () => {
    const h = harness();
    const first = await h.coordinator.initProducerId('wrap', 60_000);
    // Bring the id to the last epoch a client may hold.
    const md = h.coordinator.transactions.get('wrap')!;
    md.apply({ ...md.value(), producerEpoch: 32766 });
    await h.coordinator.addPartitions('wrap', first.producerId, 32766, [T('t', 0)], 2);
    const ended = await h.coordinator.endTransactionV2('wrap', first.producerId, 32766, true);
    assert.equal(ended.errorCode, ErrorCode.NONE);
    assert.notEqual(ended.producerId, first.producerId);
    assert.equal(ended.producerEpoch, 0);
    assert.equal(h.markers[0]!.producerId, first.producerId);
    assert.equal(h.markers[0]!.producerEpoch, 32767, 'the markers take the very last epoch of the old id');
    assert.equal(h.coordinator.describe('wrap').producerId, ended.producerId);
    // The retry under the old id is recognised; the new id works.
    assert.deepEqual(await h.coordinator.endTransactionV2('wrap', first.producerId, 32766, true), ended);
    await h.coordinator.addPartitions('wrap', ended.producerId, 0, [T('t', 1)], 2);
    assert.deepEqual(await h.coordinator.endTransactionV2('wrap', ended.producerId, 0, false), { errorCode: ErrorCode.NONE, producerId: ended.producerId, producerEpoch: 1 });
    // InitProducerId from the producer that held the old id at the last epoch is not fenced.
    const resumed = await h.coordinator.initProducerId('wrap', 60_000, ended.producerId, 1);
    assert.deepEqual(resumed, { errorCode: ErrorCode.NONE, producerId: ended.producerId, producerEpoch: 2 });
  });

  test('EndTxn writes Prepare, the markers, then Complete; retries get the same answer', async () => {
    const h = harness();
    const { producerId, producerEpoch } = await h.coordinator.initProducerId('tx', 60_000);
    assert.equal(await h.coordinator.endTransaction('tx', producerId, producerEpoch, true), ErrorCode.INVALID_TXN_STATE, 'nothing to end');
    await h.coordinator.addPartitions('tx', producerId, producerEpoch, [T('t', 0, 2), T('u', 1)]);
    assert.equal(await h.coordinator.endTransaction('tx', producerId, producerEpoch, true), ErrorCode.NONE);
    assert.equal(h.markers.length, 1);
    assert.equal(h.markers[0]!.commit, true);
    assert.equal(h.markers[0]!.producerEpoch, producerEpoch);
    assert.deepEqual(
      [...h.markers[0]!.partitions].map(([t, ps]) => [t, [...ps]]),
      [
        ['t', [0, 2]],
        ['u', [1]],
      ],
    );
    const states = h.log.map((e) => decodeTxnValue(e.records[0]!.value!)!.state);
    assert.deepEqual(states, ['Empty', 'Ongoing', 'PrepareCommit', 'CompleteCommit']);
    // The Prepare record carries the partitions (a restart must know where markers go).
    assert.equal(decodeTxnValue(h.log[2]!.records[0]!.value!)!.partitions.get('t')!.length, 2);
    assert.equal(h.coordinator.describe('tx').state, 'CompleteCommit');
    assert.equal(await h.coordinator.endTransaction('tx', producerId, producerEpoch, true), ErrorCode.NONE, 'a retried commit');
    assert.equal(await h.coordinator.endTransaction('tx', producerId, producerEpoch, false), ErrorCode.INVALID_TXN_STATE);
    // The next transaction starts from CompleteCommit.
    await h.coordinator.addPartitions('tx', producerId, producerEpoch, [T('t', 1)]);
    assert.equal(await h.coordinator.endTransaction('tx', producerId, producerEpoch, false), ErrorCode.NONE);
    assert.equal(h.markers[1]!.commit, false);
    assert.deepEqual([...h.markers[1]!.partitions.get('t')!], [1]);
  });

  test('a second producer fences the first: its transaction is aborted under a bumped epoch', async () => {
    const h = harness();
    const zombie = await h.coordinator.initProducerId('tx', 60_000);
    await h.coordinator.addPartitions('tx', zombie.producerId, zombie.producerEpoch, [T('t', 0)]);
    const first = await h.coordinator.initProducerId('tx', 60_000);
    assert.equal(first.errorCode, ErrorCode.CONCURRENT_TRANSACTIONS);
    await h.coordinator.idle();
    assert.equal(h.markers.length, 1);
    assert.equal(h.markers[0]!.commit, false);
    assert.equal(h.markers[0]!.producerEpoch, zombie.producerEpoch + 1, 'the abort marker carries the fencing epoch');
    const next = await h.coordinator.initProducerId('tx', 60_000);
    assert.deepEqual(next, { errorCode: ErrorCode.NONE, producerId: zombie.producerId, producerEpoch: zombie.producerEpoch + 2 });
    assert.equal(await h.coordinator.endTransaction('tx', zombie.producerId, zombie.producerEpoch, true), ErrorCode.PRODUCER_FENCED);
    assert.equal((await h.coordinator.addPartitions('tx', zombie.producerId, zombie.producerEpoch, [T('t', 1)]))[0]!.results[0]!.errorCode, ErrorCode.PRODUCER_FENCED);
    assert.equal(h.coordinator.verifyPartition('tx', zombie.producerId, zombie.producerEpoch, 't', 0), ErrorCode.PRODUCER_FENCED);
  });

  test('a transaction older than its timeout is aborted (and its producer fenced)', async () => {
    const h = harness();
    const p = await h.coordinator.initProducerId('tx', 5_000);
    await h.coordinator.addPartitions('tx', p.producerId, p.producerEpoch, [T('t', 0)]);
    clock.set(clock.now() + 4_000);
    h.coordinator.abortTimedOut();
    await h.coordinator.idle();
    assert.equal(h.markers.length, 0, 'not yet timed out');
    clock.set(clock.now() + 2_000);
    h.coordinator.abortTimedOut();
    await h.coordinator.idle();
    assert.equal(h.markers.length, 1);
    assert.equal(h.markers[0]!.commit, false);
    assert.equal(h.coordinator.describe('tx').state, 'CompleteAbort');
    assert.equal(h.coordinator.describe('tx').producerEpoch, p.producerEpoch + 1);
    assert.equal(await h.coordinator.endTransaction('tx', p.producerId, p.producerEpoch, true), ErrorCode.PRODUCER_FENCED);
  });

  test('markers that fail are retried until written; the outcome never changes', async () => {
    const h = harness();
    const p = await h.coordinator.initProducerId('tx', 60_000);
    await h.coordinator.addPartitions('tx', p.producerId, p.producerEpoch, [T('t', 0)]);
    h.failMarkers.count = 1;
    assert.equal(await h.coordinator.endTransaction('tx', p.producerId, p.producerEpoch, true), ErrorCode.NONE);
    assert.equal(h.markers.length, 1);
    assert.equal(h.markers[0]!.commit, true);
    assert.equal(h.coordinator.describe('tx').state, 'CompleteCommit');
  });

  test('a restart rebuilds every transactional id and finishes a decided transaction', async () => {
    const h = harness();
    const a = await h.coordinator.initProducerId('ongoing', 60_000);
    await h.coordinator.addPartitions('ongoing', a.producerId, a.producerEpoch, [T('t', 0)]);
    const b = await h.coordinator.initProducerId('decided', 60_000);
    await h.coordinator.addPartitions('decided', b.producerId, b.producerEpoch, [T('t', 1), T('u', 2)]);
    // The crash hits after the PrepareCommit record, before any marker: append it by hand.
    const prepared = { ...lastValue(h, 'decided')!, state: 'PrepareCommit' as const };
    h.log.push({ partition: 0, records: [{ key: h.log.at(-1)!.records[0]!.key, value: encodeTxnValue(prepared) }] });

    const again = restart(h);
    assert.equal(again.coordinator.describe('ongoing').state, 'Ongoing');
    assert.deepEqual(again.coordinator.describe('ongoing').topics, [{ topic: 't', partitions: [0] }]);
    assert.equal(again.coordinator.describe('decided').state, 'PrepareCommit');
    again.coordinator.finishLoading();
    await again.coordinator.idle();
    assert.equal(again.markers.length, 1);
    assert.equal(again.markers[0]!.commit, true);
    assert.deepEqual([...again.markers[0]!.partitions.keys()], ['t', 'u']);
    assert.equal(again.coordinator.describe('decided').state, 'CompleteCommit');
    // The ongoing one is left to its timeout, and then aborted.
    assert.equal(again.coordinator.describe('ongoing').state, 'Ongoing');
    clock.set(clock.now() + 61_000);
    again.coordinator.abortTimedOut();
    await again.coordinator.idle();
    assert.equal(again.coordinator.describe('ongoing').state, 'CompleteAbort');
  });

  test('ListTransactions filters by state, producer id and duration; DescribeTransactions knows unknown ids', async () => {
    const h = harness();
    const a = await h.coordinator.initProducerId('a', 60_000);
    const b = await h.coordinator.initProducerId('b', 60_000);
    await h.coordinator.addPartitions('b', b.producerId, b.producerEpoch, [T('t', 0)]);
    clock.set(clock.now() + 1_000);
    assert.deepEqual(
      h.coordinator
        .list([], [])
        .map((t) => t.transactionalId)
        .sort(),
      ['a', 'b'],
    );
    assert.deepEqual(
      h.coordinator.list(['Ongoing'], []).map((t) => t.transactionalId),
      ['b'],
    );
    assert.deepEqual(
      h.coordinator.list([], [a.producerId]).map((t) => t.transactionalId),
      ['a'],
    );
    assert.deepEqual(
      h.coordinator.list([], [], 500).map((t) => t.transactionalId),
      ['b'],
    );
    assert.deepEqual(h.coordinator.list([], [], 5_000), []);
    assert.equal(h.coordinator.describe('zzz').errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  });

  test('a transactional id too long for a key string (over 32767 UTF-8 bytes) is UNKNOWN_SERVER_ERROR and leaves nothing', async () => {
    const h = harness();
    const long = 'x'.repeat(40_000);
    for (let i = 0; i < 2; i++)
      assert.deepEqual(await h.coordinator.initProducerId(long, 60_000), { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, producerId: -1, producerEpoch: -1 });
    assert.equal(h.coordinator.describe(long).errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    assert.deepEqual(h.coordinator.list([], []), []);
    assert.equal(h.log.length, 0);
  });

  test('transactional ids idle past transactional.id.expiration.ms are tombstoned', async () => {
    const h = harness();
    await h.coordinator.initProducerId('old', 60_000);
    const busy = await h.coordinator.initProducerId('busy', 60_000);
    await h.coordinator.addPartitions('busy', busy.producerId, busy.producerEpoch, [T('t', 0)]);
    clock.set(clock.now() + 8 * 24 * 3600_000);
    await h.coordinator.expireTransactionalIds();
    assert.equal(h.coordinator.describe('old').errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    assert.equal(lastValue(h, 'old'), null, 'a tombstone was written');
    assert.equal(h.coordinator.describe('busy').state, 'Ongoing', 'an open transaction is not expired');
    assert.equal(restart(h).coordinator.describe('old').errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
  });
});

describe('the admin APIs while the coordinator cannot answer (as Kafka 4.4)', () => {
  /** ListTransactions and DescribeTransactions through their handlers, as a client sees them. */
  function admin(h: Harness) {
    const broker = { transactionCoordinator: h.coordinator, security: { transactionalId: () => true } };
    const ctx = { broker, conn: {}, apiVersion: 2 } as unknown as RequestContext;
    return {
      list: async (transactionalIdPattern: string | null = null) =>
        (await listTransactionsHandler.handle(ctx, {
          stateFilters: ['Ongoing', 'Nope'],
          producerIdFilters: [],
          durationFilter: -1,
          transactionalIdPattern,
        })) as ListTransactionsResponse,
      describe: async (...transactionalIds: string[]) =>
        ((await describeTransactionsHandler.handle(ctx, { transactionalIds })) as DescribeTransactionsResponse).transactionStates.map((t) => t.errorCode),
    };
  }

  test('once shut down: ListTransactions and DescribeTransactions are COORDINATOR_NOT_AVAILABLE, the others NOT_COORDINATOR', async () => {
    const h = harness();
    const p = await h.coordinator.initProducerId('tx', 60_000);
    await h.coordinator.addPartitions('tx', p.producerId, p.producerEpoch, [T('t', 0)]);
    const { list, describe: describeIds } = admin(h);
    const before = await list();
    assert.equal(before.errorCode, ErrorCode.NONE);
    assert.deepEqual(before.unknownStateFilters, ['Nope']);
    assert.deepEqual(
      before.transactionStates.map((t) => t.transactionalId),
      ['tx'],
    );
    assert.deepEqual(await describeIds('tx', '', 'unknown'), [ErrorCode.NONE, ErrorCode.INVALID_REQUEST, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND]);
    h.coordinator.shutdown();
    // Kafka gates only these two on TransactionCoordinator.isActive, before anything else
    // (the pattern is not even compiled).
    const after = await list('(');
    assert.equal(after.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.deepEqual(after.transactionStates, []);
    assert.deepEqual(await describeIds('tx', '', 'unknown'), [ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.COORDINATOR_NOT_AVAILABLE]);
    // The others meet a state manager whose partitions were dropped: NOT_COORDINATOR.
    assert.equal((await h.coordinator.initProducerId('tx', 60_000)).errorCode, ErrorCode.NOT_COORDINATOR);
    assert.deepEqual(await h.coordinator.addPartitions('tx', p.producerId, p.producerEpoch, [T('t', 1)]), [
      { name: 't', results: [{ partition: 1, errorCode: ErrorCode.NOT_COORDINATOR }] },
    ]);
    assert.equal(h.coordinator.verifyPartition('tx', p.producerId, p.producerEpoch, 't', 0), ErrorCode.NOT_COORDINATOR);
    assert.equal(await h.coordinator.endTransaction('tx', p.producerId, p.producerEpoch, true), ErrorCode.NOT_COORDINATOR);
    // FindCoordinator's wait for the coordinator: the client looks again.
    await assert.rejects(h.coordinator.ready('tx'), (e: unknown) => e instanceof KafkaError && e.code === ErrorCode.COORDINATOR_NOT_AVAILABLE);
  });

  test('while any partition loads, ListTransactions is COORDINATOR_LOAD_IN_PROGRESS; DescribeTransactions only for ids there', async () => {
    const loadingPartition = partitionForTransactionalId('loading', 50);
    const state = { loading: true };
    const h = harness({
      ownership: {
        ...ALL_OWNED,
        status: (index) => (state.loading && index === loadingPartition ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE),
        loading: () => state.loading,
      },
    });
    const other = ['a', 'b', 'c'].find((id) => partitionForTransactionalId(id, 50) !== loadingPartition)!;
    const p = await h.coordinator.initProducerId(other, 60_000);
    await h.coordinator.addPartitions(other, p.producerId, p.producerEpoch, [T('t', 0)]);
    const { list, describe: describeIds } = admin(h);
    // The whole list is refused, not listed without the loading partition's ids; even a bad
    // pattern waits for the load (Kafka compiles it after this check).
    for (const pattern of [null, '(']) {
      const r = await list(pattern);
      assert.equal(r.errorCode, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      assert.deepEqual([r.unknownStateFilters, r.transactionStates], [[], []]);
    }
    assert.deepEqual(await describeIds(other, 'loading'), [ErrorCode.NONE, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
    state.loading = false;
    assert.deepEqual(
      (await list()).transactionStates.map((t) => t.transactionalId),
      [other],
    );
    assert.equal((await list('(')).errorCode, ErrorCode.INVALID_REGULAR_EXPRESSION);
  });
});

describe("a failed __transaction_state write, as Kafka 4.4's TransactionStateManager maps its error", () => {
  test('not the leader or a failed log directory: NOT_COORDINATOR; too few replicas or a timeout: COORDINATOR_NOT_AVAILABLE; too large: UNKNOWN_SERVER_ERROR', async () => {
    // Logged as a warning when the client just retries (a fault or failover under way), an
    // error otherwise; not at all when the partition moved.
    const logged: string[] = [];
    const logger = { info: () => {}, warn: (_: object, msg: string) => logged.push(`warn: ${msg}`), error: (_: object, msg: string) => logged.push(`error: ${msg}`) };
    const h = harness({ logger });
    const cases: [number, number, string[]][] = [
      [ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NOT_COORDINATOR, []],
      [ErrorCode.KAFKA_STORAGE_ERROR, ErrorCode.NOT_COORDINATOR, []],
      [ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.COORDINATOR_NOT_AVAILABLE, ['warn: writing transaction state failed']],
      [ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, ErrorCode.COORDINATOR_NOT_AVAILABLE, ['warn: writing transaction state failed']],
      [ErrorCode.REQUEST_TIMED_OUT, ErrorCode.COORDINATOR_NOT_AVAILABLE, ['warn: writing transaction state failed']],
      [ErrorCode.RECORD_LIST_TOO_LARGE, ErrorCode.UNKNOWN_SERVER_ERROR, ['error: writing transaction state failed']],
    ];
    for (const [written, answered, logs] of cases) {
      logged.length = 0;
      h.failAppends.error = new KafkaError(written, 'the write failed');
      assert.equal((await h.coordinator.initProducerId('tx-fail', 60_000)).errorCode, answered, `written ${written}`);
      assert.deepEqual(logged, logs, `written ${written}`);
    }
    h.failAppends.error = null;
    assert.equal((await h.coordinator.initProducerId('tx-fail', 60_000)).errorCode, ErrorCode.NONE);
  });
});
