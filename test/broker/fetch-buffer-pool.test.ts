// Fetch reads lend their buffers from a pool that the connection refills once a response is
// written (src/common/buffer-pool.ts). A block given back too early would be overwritten by the
// next read while the previous response still waits in the socket: a client would then receive
// another partition's records. These tests make responses wait (a client that stops reading) while
// other clients fetch, and check every record of every response.
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
import { BufferPool, fetchBuffers } from '../../src/common/buffer-pool.js';

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

describe('fetch reads from the buffer pool', () => {
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
    const before = fetchBuffers.stats();
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
    const now = fetchBuffers.stats();
    assert.ok(now.acquired > before.acquired, 'fetch reads were lent from the pool');
    assert.ok(now.reused > before.reused, `blocks came back and were reused (${now.reused - before.reused} of ${now.acquired - before.acquired})`);
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
