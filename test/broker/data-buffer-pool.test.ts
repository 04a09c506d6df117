// The data path lends its large buffers from a pool (src/common/buffer-pool.ts): fetch reads,
// given back by the connection once the response is written, and Produce requests copied out of
// several socket reads, given back by the produce handler once every append is written. A block
// given back too early is overwritten by the next read or request while its bytes are still in
// use: a client would receive another partition's records, or the log would store another
// request's bytes. These tests make that overlap happen and check every record.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetchOne } from '../helpers/requests.js';
import { ApiKey, type FetchResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { splitBatches } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';
import { BufferPool, dataBuffers } from '../../src/common/buffer-pool.js';

const TOPIC = 'pooled-reads';
const PARTITIONS = 3;
const BATCHES = 120;
const RECORDS_PER_BATCH = 16;
const VALUE_BYTES = 1000;
const PARTITION_MAX_BYTES = 1024 * 1024;

/** Every value names its partition and offset, padded with a byte derived from both. */
function valueFor(partition: number, offset: number): Buffer {
  const head = Buffer.from(`p${partition}o${offset}:`);
  return Buffer.concat([head, Buffer.alloc(VALUE_BYTES - head.length, (partition * 31 + offset) & 0xff)]);
}

/** Checks each record of a response is the one produced at its offset; returns the next offset. */
function checkRecords(partition: number, records: Buffer | null, from: number): number {
  let next = from;
  if (!records) return next;
  for (const batch of splitBatches(records)) {
    for (const r of decodeBatchRecords(batch)) {
      if (r.offset < next) continue; // a batch starting before the fetch offset
      assert.equal(r.offset, next, `partition ${partition}: offsets in order`);
      assert.ok(r.value!.equals(valueFor(partition, r.offset)), `partition ${partition} offset ${r.offset}: got ${r.value!.subarray(0, 16).toString()}…`);
      next++;
    }
  }
  return next;
}

describe('the data buffer pool', () => {
  const broker = suiteBroker();
  let admin: RawClient;
  const total = BATCHES * RECORDS_PER_BATCH;

  before(async () => {
    admin = await RawClient.connect(broker.port);
    await createTopic(admin, TOPIC, PARTITIONS);
    for (let p = 0; p < PARTITIONS; p++) {
      for (let b = 0; b < BATCHES; b++) {
        const base = b * RECORDS_PER_BATCH;
        const batch = buildRecordBatch({ records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ value: valueFor(p, base + i) })) });
        const r = await admin.request(ApiKey.Produce, 9, {
          transactionalId: null,
          acks: -1,
          timeoutMs: 5000,
          topicData: [{ name: TOPIC, partitionData: [{ index: p, records: batch }] }],
        });
        assert.equal(r.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
      }
    }
  });
  after(() => admin?.close());

  test('responses held back by a client that stops reading keep their bytes while others fetch', async () => {
    const before = dataBuffers.stats();
    const stalled = await RawClient.connect(broker.port);
    const busy = await RawClient.connect(broker.port);
    try {
      // The stalled client asks for its partition over and over, in pipelined fetches (about
      // 60 MB, more than the kernel's socket buffers take), then stops reading: the answers left
      // wait in the broker's socket, their blocks lent out.
      stalled.socket.pause();
      const offsets = Array.from({ length: 60 }, (_, i) => (i * 16) % (total / 2));
      const pending = offsets.map((offset) => stalled.request<FetchResponse>(ApiKey.Fetch, 12, fetchOne(TOPIC, 0, offset, { maxBytes: PARTITION_MAX_BYTES }), 30_000));

      // Meanwhile another client reads the other partitions start to end, several times: its reads
      // take blocks from the pool as fast as they come back.
      for (let pass = 0; pass < 3; pass++) {
        for (let p = 1; p < PARTITIONS; p++) {
          let next = 0;
          while (next < total) {
            const r = await busy.request<FetchResponse>(ApiKey.Fetch, 12, fetchOne(TOPIC, p, next, { maxBytes: PARTITION_MAX_BYTES }));
            const data = r.body.responses[0]!.partitions[0]!;
            assert.equal(data.errorCode, ErrorCode.NONE);
            const after = checkRecords(p, data.records, next);
            assert.ok(after > next, `partition ${p}: progress from ${next}`);
            next = after;
          }
        }
      }

      stalled.socket.resume();
      const answers = await Promise.all(pending);
      answers.forEach((r, i) => {
        const data = r.body.responses[0]!.partitions[0]!;
        assert.equal(data.errorCode, ErrorCode.NONE);
        assert.ok(checkRecords(0, data.records, offsets[i]!) > offsets[i]!, `fetch from ${offsets[i]} returned records`);
      });
    } finally {
      stalled.close();
      busy.close();
    }
    const now = dataBuffers.stats();
    assert.ok(now.acquired > before.acquired, 'fetch reads were lent from the pool');
    assert.ok(now.reused > before.reused, `blocks came back and were reused (${now.reused - before.reused} of ${now.acquired - before.acquired})`);
  });
});

describe('produce requests copied into pooled buffers', () => {
  const broker = suiteBroker();
  const PRODUCERS = 4;
  const REQUESTS = 25;
  const PER_BATCH = 150; // 150 × 1000 B: a 150 KB request, read from the socket in several chunks

  test('every record lands as produced while many producers pipeline large requests', async () => {
    const admin = await RawClient.connect(broker.port);
    await createTopic(admin, 'pooled-produce', PRODUCERS);
    admin.close();
    const before = dataBuffers.stats();
    const clients = await Promise.all(Array.from({ length: PRODUCERS }, () => RawClient.connect(broker.port)));
    try {
      // Producer p writes partition p; its record at offset o is valueFor(p, o). Requests are
      // pipelined (acks=1 and acks=all alternating) so that the next requests arrive while earlier
      // ones wait for their write.
      await Promise.all(
        clients.map((c, p) =>
          Promise.all(
            Array.from({ length: REQUESTS }, (_, r) => {
              const base = r * PER_BATCH;
              const batch = buildRecordBatch({ records: Array.from({ length: PER_BATCH }, (_, i) => ({ value: valueFor(p, base + i) })) });
              return c
                .request(
                  ApiKey.Produce,
                  9,
                  {
                    transactionalId: null,
                    acks: r % 2 === 0 ? 1 : -1,
                    timeoutMs: 10_000,
                    topicData: [{ name: 'pooled-produce', partitionData: [{ index: p, records: batch }] }],
                  },
                  30_000,
                )
                .then((res) => {
                  const pr = res.body.responses[0].partitionResponses[0];
                  assert.equal(pr.errorCode, ErrorCode.NONE, pr.errorMessage);
                  assert.equal(pr.baseOffset, base, 'one producer per partition: offsets follow its requests');
                });
            }),
          ),
        ),
      );
      const reader = clients[0]!;
      for (let p = 0; p < PRODUCERS; p++) {
        let next = 0;
        while (next < REQUESTS * PER_BATCH) {
          const r = await reader.request<FetchResponse>(ApiKey.Fetch, 12, fetchOne('pooled-produce', p, next, { maxBytes: 1024 * 1024 }));
          const data = r.body.responses[0]!.partitions[0]!;
          assert.equal(data.errorCode, ErrorCode.NONE);
          const after = checkRecords(p, data.records, next);
          assert.ok(after > next, `partition ${p}: progress from ${next}`);
          next = after;
        }
      }
    } finally {
      for (const c of clients) c.close();
    }
    const now = dataBuffers.stats();
    assert.ok(now.reused > before.reused, `request blocks came back and were reused (${now.reused - before.reused} of ${now.acquired - before.acquired})`);
  });
});

describe('BufferPool', () => {
  test('lends size classes, takes back only its own blocks, once, up to its cap', () => {
    const pool = new BufferPool(3 * 1024 * 1024, 64 * 1024, 4 * 1024 * 1024);
    const small = pool.acquire(1000);
    assert.equal(pool.owns(small), false, 'below the minimum: a plain allocation');
    assert.equal(pool.owns(pool.acquire(5 * 1024 * 1024)), false, 'above the maximum: a plain allocation');

    const a = pool.acquire(1_000_000);
    assert.equal(a.length, 1_000_000);
    assert.equal(a.buffer.byteLength, 1024 * 1024, '1,000,000 bytes come from the 1 MiB class');
    assert.equal(pool.acquire(1_100_000).buffer.byteLength, 1536 * 1024, 'one and a half times a power of two is a class too');
    assert.ok(pool.owns(a));

    pool.release(a.subarray(10, 20)); // any view of the block gives it back
    assert.equal(pool.owns(a), false);
    assert.equal(pool.stats().retainedBytes, 1024 * 1024);
    pool.release(a); // twice: ignored
    pool.release(Buffer.alloc(1024 * 1024)); // never lent: ignored
    assert.equal(pool.stats().retainedBytes, 1024 * 1024);

    const b = pool.acquire(900_000);
    assert.equal(b.buffer, a.buffer, 'the block is lent again');
    assert.equal(pool.stats().reused, 1);
    assert.equal(pool.stats().retainedBytes, 0);

    // The cap: blocks beyond it are left to the collector.
    const blocks = [pool.acquire(2_000_000), pool.acquire(2_000_000)];
    for (const x of blocks) pool.release(x);
    assert.equal(pool.stats().retainedBytes, 2 * 1024 * 1024);
  });
});
