// Fetch against a broker (in this process, so that a test can see a long poll parked): long
// polls, byte limits, KIP-227 fetch sessions and topic ids, at an old (v4), a flexible by-name
// (v12) and topic-id (v13+) version.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic as createTopicVia, fetchRequest, produceOk } from '../helpers/requests.js';
import { waitUntil } from '../helpers/wait.js';
import { ApiKey, apiByKey, type FetchRequest, type FetchResponse, type FetchResponsePartitionData } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Reader } from '../../src/protocol/primitives.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { readBatchHeader, splitBatches } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';

/** The values of every record in a Fetch response's record set, in order. */
function valuesOf(records: Buffer | null): string[] {
  if (!records || records.length === 0) return [];
  const out: string[] = [];
  for (const batch of splitBatches(records)) for (const r of decodeBatchRecords(batch)) out.push(r.value!.toString());
  return out;
}

function batchesOf(records: Buffer | null): Buffer[] {
  if (!records || records.length === 0) return [];
  return [...splitBatches(records)];
}

function only(res: FetchResponse): FetchResponsePartitionData {
  assert.equal(res.errorCode, ErrorCode.NONE);
  assert.equal(res.responses.length, 1, 'one topic in the response');
  assert.equal(res.responses[0]!.partitions.length, 1, 'one partition in the response');
  return res.responses[0]!.partitions[0]!;
}

/** Partitions present in a response, as "topic-or-id:partition" keys. */
function presentPartitions(res: FetchResponse, byId: boolean): string[] {
  const out: string[] = [];
  for (const t of res.responses) for (const p of t.partitions) out.push(`${byId ? t.topicId : t.topic}:${p.partitionIndex}`);
  return out.sort();
}

describe('Fetch', () => {
  const broker = suiteBroker();
  let client: RawClient;
  let nextCorrelation = 100_000;

  const createTopic = (name: string, partitions: number) => createTopicVia(client, name, partitions);

  /** Waits until a long poll is parked on the partition. */
  const parked = (topic: string, partition = 0) => waitUntil(() => broker.parkedFetches(topic, partition) > 0, { message: `a fetch parked on ${topic}-${partition}` });

  async function produce(topic: string, partition: number, values: string[], via: RawClient = client): Promise<number> {
    return produceOk(via, topic, partition, buildRecordBatch({ records: values.map((v) => ({ value: v })) }));
  }

  async function fetch(version: number, req: FetchRequest, timeoutMs = 10_000): Promise<FetchResponse> {
    const correlationId = nextCorrelation++;
    const pending = client.nextFrame(timeoutMs);
    client.writeRaw(RawClient.frame(ApiKey.Fetch, version, correlationId, req));
    const r = new Reader(await pending);
    assert.equal(r.int32(), correlationId);
    if (version >= 12) r.skipTaggedFields();
    return apiByKey.get(ApiKey.Fetch)!.decodeResponse(r, version) as FetchResponse;
  }

  before(async () => {
    client = await RawClient.connect(broker.port);
  });
  after(() => client?.close());

  for (const version of [4, 12]) {
    test(`v${version}: a long poll at the log end returns as soon as a produce lands`, async () => {
      const topic = `longpoll-v${version}`;
      await createTopic(topic, 1);
      await produce(topic, 0, ['before']);
      const producer = await RawClient.connect(broker.port);
      try {
        const started = Date.now();
        const pending = fetch(version, fetchRequest({ maxWaitMs: 3000, minBytes: 1, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 1 }] }] }));
        let answeredAt = 0;
        void pending.then(() => (answeredAt = Date.now()));
        await parked(topic);
        assert.equal(answeredAt, 0, 'the fetch is parked while there is nothing to return');
        await produce(topic, 0, ['wake-up', 'and-more'], producer);
        const producedAt = Date.now();
        const res = await pending;
        const waited = Date.now() - producedAt;
        assert.ok(waited < 1500, `answered ${waited} ms after the produce, long before maxWaitMs`);
        assert.ok(Date.now() - started < 2800, 'returned before maxWaitMs');
        const p = only(res);
        assert.equal(p.errorCode, ErrorCode.NONE);
        assert.equal(p.highWatermark, 3);
        assert.deepEqual(valuesOf(p.records), ['wake-up', 'and-more']);
      } finally {
        producer.close();
      }
    });

    test(`v${version}: a long poll with nothing arriving returns empty after maxWaitMs`, async () => {
      const topic = `idlepoll-v${version}`;
      await createTopic(topic, 1);
      await produce(topic, 0, ['only']);
      const maxWaitMs = 1200;
      const started = Date.now();
      const res = await fetch(version, fetchRequest({ maxWaitMs, minBytes: 1, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 1 }] }] }));
      const took = Date.now() - started;
      assert.ok(took >= maxWaitMs - 100, `waited ${took} ms, about maxWaitMs`);
      assert.ok(took < maxWaitMs + 3000, `did not hang: ${took} ms`);
      const p = only(res);
      assert.equal(p.errorCode, ErrorCode.NONE);
      assert.equal(p.highWatermark, 1);
      assert.equal(valuesOf(p.records).length, 0);
    });

    test(`v${version}: minBytes=0 or data already there answers at once`, async () => {
      const topic = `nowait-v${version}`;
      await createTopic(topic, 1);
      await produce(topic, 0, ['x']);
      let started = Date.now();
      let res = await fetch(version, fetchRequest({ maxWaitMs: 3000, minBytes: 1, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0 }] }] }));
      assert.ok(Date.now() - started < 1500);
      assert.deepEqual(valuesOf(only(res).records), ['x']);
      started = Date.now();
      res = await fetch(version, fetchRequest({ maxWaitMs: 3000, minBytes: 0, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 1 }] }] }));
      assert.ok(Date.now() - started < 1500, 'minBytes=0 does not wait');
      assert.deepEqual(valuesOf(only(res).records), []);
    });
  }

  test('a long poll over two partitions wakes on a produce to either one', async () => {
    const topic = 'longpoll-two';
    await createTopic(topic, 2);
    const producer = await RawClient.connect(broker.port);
    try {
      const pending = fetch(
        12,
        fetchRequest({
          maxWaitMs: 3000,
          minBytes: 1,
          topics: [
            {
              topic,
              partitions: [
                { partition: 0, fetchOffset: 0 },
                { partition: 1, fetchOffset: 0 },
              ],
            },
          ],
        }),
      );
      await parked(topic, 0);
      await parked(topic, 1);
      await produce(topic, 1, ['p1'], producer);
      const producedAt = Date.now();
      const res = await pending;
      assert.ok(Date.now() - producedAt < 1500);
      const parts = res.responses[0]!.partitions;
      assert.deepEqual(valuesOf(parts.find((p) => p.partitionIndex === 1)!.records), ['p1']);
      assert.deepEqual(valuesOf(parts.find((p) => p.partitionIndex === 0)!.records), []);
    } finally {
      producer.close();
    }
  });

  describe('byte limits return whole batches', () => {
    const topic = 'limits';
    let sizes: number[] = [];

    before(async () => {
      await createTopic(topic, 2);
      // Five batches of three ~200-byte records each, on both partitions.
      for (let b = 0; b < 5; b++) {
        await produce(
          topic,
          0,
          [0, 1, 2].map((i) => `b${b}-r${i}-`.padEnd(200, 'x')),
        );
        await produce(
          topic,
          1,
          [0, 1, 2].map((i) => `p1-b${b}-r${i}-`.padEnd(200, 'y')),
        );
      }
      const res = await fetch(12, fetchRequest({ topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0 }] }] }));
      sizes = batchesOf(only(res).records).map((b) => b.length);
      assert.equal(sizes.length, 5, 'five batches stored');
    });

    for (const version of [4, 12]) {
      test(`v${version}: partitionMaxBytes cuts at a batch boundary`, async () => {
        const limit = sizes[0]! + sizes[1]! + Math.floor(sizes[2]! / 2);
        const res = await fetch(version, fetchRequest({ topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: limit }] }] }));
        const p = only(res);
        const batches = batchesOf(p.records);
        assert.equal(batches.length, 2, 'two whole batches');
        assert.equal(p.records!.length, sizes[0]! + sizes[1]!, 'no partial batch');
        assert.deepEqual(
          batches.map((b) => readBatchHeader(b).baseOffset),
          [0, 3],
        );
        assert.equal(valuesOf(p.records).length, 6);
        assert.equal(p.highWatermark, 15);
      });

      test(`v${version}: a limit below the first batch still returns exactly that batch`, async () => {
        const res = await fetch(version, fetchRequest({ topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 4, partitionMaxBytes: 10 }] }] }));
        const p = only(res);
        const batches = batchesOf(p.records);
        assert.equal(batches.length, 1);
        assert.equal(readBatchHeader(batches[0]!).baseOffset, 3, 'the batch containing offset 4');
        assert.equal(p.records!.length, sizes[1]);
      });

      test(`v${version}: the response maxBytes bounds all partitions together`, async () => {
        // Room for one and a half batches: partition 0 gets one (KIP-74), partition 1 none.
        const res = await fetch(
          version,
          fetchRequest({
            maxBytes: Math.floor(sizes[0]! * 1.5),
            topics: [
              {
                topic,
                partitions: [
                  { partition: 0, fetchOffset: 0 },
                  { partition: 1, fetchOffset: 0 },
                ],
              },
            ],
          }),
        );
        const parts = res.responses[0]!.partitions;
        assert.equal(parts.length, 2);
        const p0 = parts.find((p) => p.partitionIndex === 0)!;
        const p1 = parts.find((p) => p.partitionIndex === 1)!;
        assert.equal(batchesOf(p0.records).length, 1);
        assert.equal(batchesOf(p1.records).length, 0);
        assert.equal(p1.errorCode, ErrorCode.NONE);
        assert.equal(p1.highWatermark, 15);

        // A response limit below the first batch still returns that batch whole.
        const tiny = await fetch(version, fetchRequest({ maxBytes: 1, topics: [{ topic, partitions: [{ partition: 1, fetchOffset: 0 }] }] }));
        assert.equal(batchesOf(only(tiny).records).length, 1);
      });
    }

    test('partitions read at once keep the in-order limits: one oversized first batch per response', async () => {
      // Partition 0 has nothing at the fetch offset; partitions 1 and 2 start with one batch
      // larger than their limit, partition 3 with batches that fit. In order, partition 1 is the
      // first with data and returns its batch whole (KIP-74); partition 2 then returns nothing.
      const wide = 'limits-wide';
      await createTopic(wide, 4);
      await produce(wide, 0, ['p0']);
      await produce(wide, 1, ['big1-'.padEnd(2000, 'x')]);
      await produce(wide, 2, ['big2-'.padEnd(2000, 'y')]);
      for (let b = 0; b < 3; b++) await produce(wide, 3, [`small${b}`]);
      const limit = 1000;
      const res = await fetch(
        12,
        fetchRequest({
          topics: [
            {
              topic: wide,
              partitions: [
                { partition: 0, fetchOffset: 1, partitionMaxBytes: limit },
                { partition: 1, fetchOffset: 0, partitionMaxBytes: limit },
                { partition: 2, fetchOffset: 0, partitionMaxBytes: limit },
                { partition: 3, fetchOffset: 0, partitionMaxBytes: limit },
              ],
            },
          ],
        }),
      );
      const byIndex = new Map(res.responses[0]!.partitions.map((p) => [p.partitionIndex, p]));
      assert.deepEqual(valuesOf(byIndex.get(0)!.records), []);
      assert.deepEqual(
        valuesOf(byIndex.get(1)!.records).map((v) => v.slice(0, 4)),
        ['big1'],
        'the first partition with data returns its oversized batch',
      );
      assert.deepEqual(valuesOf(byIndex.get(2)!.records), [], 'a later oversized first batch is not returned');
      assert.equal(byIndex.get(2)!.errorCode, ErrorCode.NONE);
      assert.equal(byIndex.get(2)!.highWatermark, 1);
      assert.deepEqual(valuesOf(byIndex.get(3)!.records), ['small0', 'small1', 'small2'], 'a partition after the fallback still gets its data');
    });
  });

  describe('KIP-227 fetch sessions', () => {
    for (const byId of [false, true]) {
      const version = byId ? 13 : 12;
      test(`v${version}: create, incremental, forget, errors, close`, async () => {
        const topic = `sessions-v${version}`;
        const id = await createTopic(topic, 2);
        const tref = byId ? { topicId: id } : { topic };
        const key = (p: number) => `${byId ? id : topic}:${p}`;
        await produce(topic, 0, ['a0', 'a1']);

        // Epoch 0: a full fetch that creates the session.
        const full = await fetch(
          version,
          fetchRequest({
            sessionId: 0,
            sessionEpoch: 0,
            topics: [
              {
                ...tref,
                partitions: [
                  { partition: 0, fetchOffset: 2 },
                  { partition: 1, fetchOffset: 0 },
                ],
              },
            ],
          }),
        );
        assert.equal(full.errorCode, ErrorCode.NONE);
        const sessionId = full.sessionId;
        assert.notEqual(sessionId, 0, 'a session was created');
        assert.deepEqual(presentPartitions(full, byId), [key(0), key(1)], 'a full response names every partition');

        // Epoch 1, nothing changed: an empty response.
        let inc = await fetch(version, fetchRequest({ sessionId, sessionEpoch: 1, topics: [] }));
        assert.equal(inc.errorCode, ErrorCode.NONE);
        assert.equal(inc.sessionId, sessionId);
        assert.deepEqual(presentPartitions(inc, byId), []);

        // New data on partition 1 only: only it comes back.
        await produce(topic, 1, ['b0']);
        inc = await fetch(version, fetchRequest({ sessionId, sessionEpoch: 2, topics: [] }));
        assert.equal(inc.errorCode, ErrorCode.NONE);
        assert.deepEqual(presentPartitions(inc, byId), [key(1)]);
        assert.deepEqual(valuesOf(inc.responses[0]!.partitions[0]!.records), ['b0']);

        // Advancing partition 1's offset to its end is not news.
        inc = await fetch(version, fetchRequest({ sessionId, sessionEpoch: 3, topics: [{ ...tref, partitions: [{ partition: 1, fetchOffset: 1 }] }] }));
        assert.deepEqual(presentPartitions(inc, byId), [], 'an updated offset with nothing new is not news');

        // A changed high watermark is news even when no records fit in the response.
        await produce(topic, 0, ['a2']);
        await produce(topic, 1, ['b1']);
        inc = await fetch(version, fetchRequest({ sessionId, sessionEpoch: 4, maxBytes: 1, topics: [] }));
        assert.deepEqual(presentPartitions(inc, byId), [key(0), key(1)]);
        const parts = inc.responses.flatMap((t) => t.partitions);
        assert.deepEqual(valuesOf(parts.find((p) => p.partitionIndex === 0)!.records), ['a2']);
        const p1 = parts.find((p) => p.partitionIndex === 1)!;
        assert.deepEqual(valuesOf(p1.records), [], 'no room left for partition 1');
        assert.equal(p1.highWatermark, 2);

        // Forget partition 1 (it still has unread data), then produce to it: it is not reported.
        inc = await fetch(
          version,
          fetchRequest({ sessionId, sessionEpoch: 5, topics: [{ ...tref, partitions: [{ partition: 0, fetchOffset: 3 }] }], forgotten: [{ ...tref, partitions: [1] }] }),
        );
        assert.deepEqual(presentPartitions(inc, byId), [], 'the forgotten partition is dropped');
        await produce(topic, 1, ['b2']);
        await produce(topic, 0, ['a3']);
        inc = await fetch(version, fetchRequest({ sessionId, sessionEpoch: 6, topics: [] }));
        assert.deepEqual(presentPartitions(inc, byId), [key(0)], 'the forgotten partition stays dropped');
        assert.deepEqual(valuesOf(inc.responses[0]!.partitions[0]!.records), ['a3']);
        assert.equal(inc.responses[0]!.partitions[0]!.highWatermark, 4);

        // A long poll inside a session wakes on new data too.
        inc = await fetch(version, fetchRequest({ sessionId, sessionEpoch: 7, topics: [{ ...tref, partitions: [{ partition: 0, fetchOffset: 4 }] }] }));
        assert.deepEqual(presentPartitions(inc, byId), []);
        const producer = await RawClient.connect(broker.port);
        try {
          const pending = fetch(version, fetchRequest({ sessionId, sessionEpoch: 8, maxWaitMs: 3000, topics: [] }));
          await parked(topic, 0);
          await produce(topic, 0, ['a4'], producer);
          const at = Date.now();
          inc = await pending;
          assert.ok(Date.now() - at < 1500);
          assert.deepEqual(presentPartitions(inc, byId), [key(0)]);
          assert.deepEqual(valuesOf(inc.responses[0]!.partitions[0]!.records), ['a4']);
        } finally {
          producer.close();
        }

        // A wrong epoch and an unknown session id are refused at the top level.
        const wrong = await fetch(version, fetchRequest({ sessionId, sessionEpoch: 42, topics: [] }));
        assert.equal(wrong.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH);
        assert.equal(wrong.responses.length, 0);
        const replay = await fetch(version, fetchRequest({ sessionId, sessionEpoch: 8, topics: [] }));
        assert.equal(replay.errorCode, ErrorCode.INVALID_FETCH_SESSION_EPOCH, 'an epoch cannot be reused');
        const unknownId = sessionId === 0x7fffffff ? 1 : sessionId + 1;
        const unknown = await fetch(version, fetchRequest({ sessionId: unknownId, sessionEpoch: 1, topics: [] }));
        assert.equal(unknown.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);

        // The session still works at the right epoch.
        inc = await fetch(version, fetchRequest({ sessionId, sessionEpoch: 9, topics: [] }));
        assert.equal(inc.errorCode, ErrorCode.NONE);

        // Epoch -1 closes it: a sessionless answer, and the id is gone afterwards.
        const closing = await fetch(version, fetchRequest({ sessionId, sessionEpoch: -1, topics: [{ ...tref, partitions: [{ partition: 0, fetchOffset: 0 }] }] }));
        assert.equal(closing.errorCode, ErrorCode.NONE);
        assert.equal(closing.sessionId, 0);
        assert.deepEqual(valuesOf(only(closing).records), ['a0', 'a1', 'a2', 'a3', 'a4']);
        const gone = await fetch(version, fetchRequest({ sessionId, sessionEpoch: 10, topics: [] }));
        assert.equal(gone.errorCode, ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
      });
    }

    test('KIP-74: a partition that returned records goes to the end of the session order', async () => {
      const topic = 'sessions-fair';
      await createTopic(topic, 3);
      const big = 'x'.repeat(800);
      for (let p = 0; p < 3; p++) for (let i = 0; i < 4; i++) await produce(topic, p, [`${p}-${i}-${big}`]);
      const offsets = [0, 0, 0];
      // Each response holds one ~900-byte batch: the limit leaves no room for a second partition.
      const withData = (res: FetchResponse): number[] => {
        const got: number[] = [];
        for (const t of res.responses) {
          for (const p of t.partitions) {
            const batches = batchesOf(p.records);
            if (batches.length === 0) continue;
            got.push(p.partitionIndex);
            const last = readBatchHeader(batches[batches.length - 1]!);
            offsets[p.partitionIndex] = last.baseOffset + last.lastOffsetDelta + 1;
          }
        }
        return got;
      };
      const all = () => [{ topic, partitions: [0, 1, 2].map((p) => ({ partition: p, fetchOffset: offsets[p]! })) }];
      const full = await fetch(12, fetchRequest({ sessionEpoch: 0, maxBytes: 1000, topics: all() }));
      assert.notEqual(full.sessionId, 0);
      const order = [withData(full)];
      for (let epoch = 1; epoch <= 6; epoch++) {
        const inc = await fetch(12, fetchRequest({ sessionId: full.sessionId, sessionEpoch: epoch, maxBytes: 1000, topics: all() }));
        assert.equal(inc.errorCode, ErrorCode.NONE);
        order.push(withData(inc));
      }
      // Without the rotation partition 0 would answer until drained (4 times), then 1, then 2.
      assert.deepEqual(order, [[0], [0], [1], [2], [0], [1], [2]]);
      await fetch(12, fetchRequest({ sessionId: full.sessionId, sessionEpoch: -1, topics: [] }));
    });

    test('a session created by name cannot be continued by topic id', async () => {
      const topic = 'sessions-mixed';
      await createTopic(topic, 1);
      const full = await fetch(12, fetchRequest({ sessionEpoch: 0, topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0 }] }] }));
      assert.notEqual(full.sessionId, 0);
      const res = await fetch(13, fetchRequest({ sessionId: full.sessionId, sessionEpoch: 1, topics: [] }));
      assert.equal(res.errorCode, ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
      await fetch(12, fetchRequest({ sessionId: full.sessionId, sessionEpoch: -1, topics: [] }));
    });
  });

  describe('v13+ by topic id', () => {
    const topic = 'by-id';
    let id = '';
    before(async () => {
      id = await createTopic(topic, 1);
      await produce(topic, 0, ['i0', 'i1', 'i2']);
    });

    for (const version of [13, 15, 17]) {
      test(`v${version}: fetches by id, answers UNKNOWN_TOPIC_ID and OFFSET_OUT_OF_RANGE`, async () => {
        const res = await fetch(version, fetchRequest({ topics: [{ topicId: id, partitions: [{ partition: 0, fetchOffset: 1 }] }] }));
        assert.equal(res.responses[0]!.topicId, id);
        const p = only(res);
        assert.equal(p.errorCode, ErrorCode.NONE);
        assert.deepEqual(valuesOf(p.records), ['i0', 'i1', 'i2'], 'the whole batch holding offset 1');
        assert.equal(p.highWatermark, 3);
        assert.equal(p.logStartOffset, 0);

        const unknownId = '00000000-0000-4000-8000-00000000abcd';
        const unknown = await fetch(version, fetchRequest({ topics: [{ topicId: unknownId, partitions: [{ partition: 0, fetchOffset: 0 }] }] }));
        assert.equal(unknown.errorCode, ErrorCode.NONE);
        assert.equal(unknown.responses[0]!.topicId, unknownId);
        assert.equal(only(unknown).errorCode, ErrorCode.UNKNOWN_TOPIC_ID);

        const beyond = await fetch(version, fetchRequest({ maxWaitMs: 2000, topics: [{ topicId: id, partitions: [{ partition: 0, fetchOffset: 4 }] }] }));
        assert.equal(only(beyond).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);

        const missingPartition = await fetch(version, fetchRequest({ topics: [{ topicId: id, partitions: [{ partition: 7, fetchOffset: 0 }] }] }));
        assert.equal(only(missingPartition).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

        const committed = await fetch(version, fetchRequest({ isolationLevel: 1, topics: [{ topicId: id, partitions: [{ partition: 0, fetchOffset: 0 }] }] }));
        const c = only(committed);
        assert.equal(c.errorCode, ErrorCode.NONE);
        assert.equal(c.lastStableOffset, 3);
        assert.deepEqual(valuesOf(c.records), ['i0', 'i1', 'i2']);
      });
    }

    test('the log end offset itself is in range and simply empty', async () => {
      const res = await fetch(13, fetchRequest({ topics: [{ topicId: id, partitions: [{ partition: 0, fetchOffset: 3 }] }] }));
      const p = only(res);
      assert.equal(p.errorCode, ErrorCode.NONE);
      assert.equal(valuesOf(p.records).length, 0);
    });

    test('a future currentLeaderEpoch is UNKNOWN_LEADER_EPOCH, the current one is served', async () => {
      const future = await fetch(13, fetchRequest({ topics: [{ topicId: id, partitions: [{ partition: 0, fetchOffset: 0, currentLeaderEpoch: 5 }] }] }));
      assert.equal(only(future).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
      const current = await fetch(13, fetchRequest({ topics: [{ topicId: id, partitions: [{ partition: 0, fetchOffset: 0, currentLeaderEpoch: 0 }] }] }));
      assert.equal(only(current).errorCode, ErrorCode.NONE);
    });

    test('v12 still fetches by name and v4 answers an unknown topic by name', async () => {
      const res = await fetch(12, fetchRequest({ topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0 }] }] }));
      assert.equal(res.responses[0]!.topic, topic);
      assert.deepEqual(valuesOf(only(res).records), ['i0', 'i1', 'i2']);
      const unknown = await fetch(4, fetchRequest({ topics: [{ topic: 'no-such-topic', partitions: [{ partition: 0, fetchOffset: 0 }] }] }));
      assert.equal(only(unknown).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    });
  });
});
