// Hand-made damage to a broker's files, one kind per partition, then a restart of the real
// broker process: recovery must cut the log at the damage or rebuild the index, never serve it.
// Checked from outside only, by raw Fetch (CRC-checked by the torture's own decoder), ListOffsets
// (latest and by timestamp, which reads the time index) and Produce. Storage-level cases (cuts at
// every byte, missing indexes, a damaged middle segment) are in test/storage/recovery.test.ts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetchOne, produceRequest } from '../helpers/requests.js';
import { waitUntil } from '../helpers/wait.js';
import { API, decodeBatches, listOffset, readPartition } from '../torture/log-reader.js';

const TOPIC = 'corrupt';
const BATCHES = 42; // 6 batches a segment: the last one holds 4
const PER_BATCH = 3;
// Recent: a segment whose first batch is older than segment.ms (7 days) would roll at the next append.
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

/** Batch b of a partition: records b-0..b-2, timestamps T0 + b seconds. */
function batch(b: number): Buffer {
  return buildRecordBatch(
    Array.from({ length: PER_BATCH }, (_, i) => ({ key: `${b}-${i}`, value: `${b}-${i}-${'z'.repeat(60)}` })),
    { baseTimestamp: T0 + b * 1000 },
  );
}

async function produce(client: RawClient, partition: number, bytes: Buffer): Promise<number> {
  const res = await client.request(API.Produce, 9, produceRequest(TOPIC, partition, bytes, -1));
  const p = res.body.responses[0].partitionResponses[0];
  assert.equal(p.errorCode, ErrorCode.NONE);
  return Number(p.baseOffset);
}

/** ListOffsets by timestamp (reads the time index, then batch timestamps). */
async function offsetForTime(client: RawClient, partition: number, timestamp: number): Promise<number> {
  const res = await client.request(API.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 0,
    timeoutMs: 0,
    topics: [{ name: TOPIC, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp }] }],
  });
  const p = res.body.topics[0].partitions[0];
  assert.equal(p.errorCode, ErrorCode.NONE);
  return Number(p.offset);
}

function segments(dataDir: string, partition: number, suffix: string): string[] {
  const dir = path.join(dataDir, `${TOPIC}-${partition}`);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Byte positions of the batches of a segment file. */
function batchPositions(file: string): number[] {
  const data = fs.readFileSync(file);
  const positions: number[] = [];
  for (let pos = 0; pos + 12 <= data.length; pos += data.readInt32BE(pos + 8) + 12) positions.push(pos);
  return positions;
}

function firstBatchOf(file: string): number {
  return Number(path.basename(file).split('.')[0]) / PER_BATCH;
}

/**
 * Checks a partition holds exactly batches 0..batches-1 (CRC-checked, contiguous offsets), that
 * the log end and timestamp lookups agree, and that a produce lands right after.
 */
async function expectBatches(client: RawClient, partition: number, batches: number, what: string): Promise<void> {
  const contents = await readPartition(client, TOPIC, partition);
  const keys = contents.records.map((r) => r.key);
  const expected = Array.from({ length: batches * PER_BATCH }, (_, i) => `${Math.floor(i / PER_BATCH)}-${i % PER_BATCH}`);
  assert.deepEqual(keys, expected, `${what}: the records up to the damage, nothing else`);
  assert.deepEqual(
    contents.records.map((r) => r.offset),
    expected.map((_, i) => i),
    `${what}: contiguous offsets`,
  );
  assert.equal(await listOffset(client, TOPIC, partition, -1), batches * PER_BATCH, `${what}: log end`);
  for (const b of [0, Math.floor(batches / 3), Math.floor((2 * batches) / 3), batches - 1]) {
    assert.equal(await offsetForTime(client, partition, T0 + b * 1000), b * PER_BATCH, `${what}: timestamp of batch ${b}`);
    assert.equal(await offsetForTime(client, partition, T0 + b * 1000 - 500), b * PER_BATCH, `${what}: timestamp before batch ${b}`);
  }
  assert.equal(await offsetForTime(client, partition, T0 + batches * 1000), -1, `${what}: no record at or after a timestamp past the end`);
  // Every batch read on its own comes back whole and valid.
  for (let b = 0; b < batches; b++) {
    const res = await client.request(API.Fetch, 12, fetchOne(TOPIC, partition, b * PER_BATCH + 1, { maxBytes: 1 }));
    const decoded = decodeBatches(res.body.responses[0].partitions[0].records ?? Buffer.alloc(0));
    assert.equal(decoded.records[0]?.key, `${b}-0`, `${what}: fetch inside batch ${b}`);
  }
  const after = await produce(client, partition, batch(batches));
  assert.equal(after, batches * PER_BATCH, `${what}: appends continue after the last good batch`);
}

/** Damages one partition holding `batches` batches; returns how many must survive. */
type Damage = { partition: number; what: string; afterKillOnly?: boolean; damage: (dataDir: string, batches: number) => number };

test('hand-corrupted segments and indexes: recovery cuts or rebuilds, reads never see the damage', { timeout: 120_000 }, async (t) => {
  const damages: Damage[] = [
    {
      partition: 0,
      what: 'garbage bytes after the last batch (torn write)',
      damage: (dir, batches) => {
        fs.appendFileSync(segments(dir, 0, '.log').at(-1)!, Buffer.from('\x00\x00\x00\x00\x00\x00\x00\x7fgarbage garbage garbage garbage'));
        return batches;
      },
    },
    {
      partition: 1,
      what: 'half of a batch after the last one',
      damage: (dir, batches) => {
        const extra = batch(999);
        extra.writeBigInt64BE(BigInt(batches * PER_BATCH), 0);
        fs.appendFileSync(segments(dir, 1, '.log').at(-1)!, extra.subarray(0, extra.length - 20));
        return batches;
      },
    },
    {
      partition: 2,
      what: 'a bad CRC in the middle of the last segment',
      // After a clean shutdown the data is trusted without reading it back, as Kafka does: only
      // the batches after the last index entry are checked, so this one would be served as it is
      // (and refused by the client's CRC check). Damage of that kind is bit rot, not a crash.
      afterKillOnly: true,
      damage: (dir) => {
        const file = segments(dir, 2, '.log').at(-1)!;
        const positions = batchPositions(file);
        assert.ok(positions.length >= 3, `the last segment holds a few batches: ${file} ${positions}`);
        const victim = Math.floor(positions.length / 2);
        const data = fs.readFileSync(file);
        data[positions[victim]! + 70]! ^= 0x55; // inside the records: only the CRC notices
        fs.writeFileSync(file, data);
        return firstBatchOf(file) + victim;
      },
    },
    {
      partition: 3,
      what: 'a torn offset index (not a whole number of entries) on a sealed segment',
      damage: (dir, batches) => {
        const index = segments(dir, 3, '.index')[1]!;
        fs.truncateSync(index, fs.statSync(index).size - 3);
        return batches;
      },
    },
    {
      partition: 4,
      what: 'a garbage offset index on a sealed segment',
      damage: (dir, batches) => {
        const index = segments(dir, 4, '.index')[1]!;
        const size = fs.statSync(index).size;
        fs.writeFileSync(index, Buffer.from(Array.from({ length: Math.max(size, 16) }, (_, i) => (i * 73 + 11) & 0xff)));
        return batches;
      },
    },
    {
      partition: 5,
      what: 'offset index entries pointing past the end of the segment',
      damage: (dir, batches) => {
        const index = segments(dir, 5, '.index')[1]!;
        const log = segments(dir, 5, '.log')[1]!;
        const data = fs.readFileSync(index);
        assert.ok(data.length >= 8, 'the segment has index entries');
        const last = data.length - 8;
        data.writeInt32BE(data.readInt32BE(last) + 1000, last);
        data.writeInt32BE(fs.statSync(log).size + 4096, last + 4);
        fs.writeFileSync(index, data);
        return batches;
      },
    },
    {
      partition: 6,
      what: 'offset index entries shifted off the batch boundaries (monotonic, inside the file)',
      damage: (dir, batches) => {
        const index = segments(dir, 6, '.index')[1]!;
        const data = fs.readFileSync(index);
        for (let pos = 0; pos < data.length; pos += 8) data.writeInt32BE(data.readInt32BE(pos + 4) + 17, pos + 4);
        fs.writeFileSync(index, data);
        return batches;
      },
    },
    {
      partition: 11,
      what: 'one offset index entry in the middle off its batch boundary (the last entry is right)',
      damage: (dir, batches) => {
        const index = segments(dir, 11, '.index')[1]!;
        const data = fs.readFileSync(index);
        assert.ok(data.length >= 16, 'the segment has two index entries or more');
        data.writeInt32BE(data.readInt32BE(4) + 17, 4);
        fs.writeFileSync(index, data);
        return batches;
      },
    },
    {
      partition: 7,
      what: 'a truncated time index on a sealed segment',
      damage: (dir, batches) => {
        const index = segments(dir, 7, '.timeindex')[1]!;
        fs.truncateSync(index, fs.statSync(index).size - 5);
        return batches;
      },
    },
    {
      partition: 8,
      what: 'a garbage time index on a sealed segment',
      damage: (dir, batches) => {
        const index = segments(dir, 8, '.timeindex')[1]!;
        const data = fs.readFileSync(index);
        for (let i = 0; i < data.length; i++) data[i] = (i * 29 + 5) & 0xff;
        fs.writeFileSync(index, data);
        return batches;
      },
    },
    {
      partition: 9,
      what: 'time index entries pointing past the end of the segment',
      damage: (dir, batches) => {
        const index = segments(dir, 9, '.timeindex')[1]!;
        const data = fs.readFileSync(index);
        const last = data.length - 12;
        data.writeBigInt64BE(data.readBigInt64BE(last) + 10_000n, last);
        data.writeInt32BE(data.readInt32BE(last + 8) + 5000, last + 8);
        fs.writeFileSync(index, data);
        return batches;
      },
    },
    {
      partition: 10,
      what: 'time index entries whose timestamps lie (monotonic, in range)',
      damage: (dir, batches) => {
        const index = segments(dir, 10, '.timeindex')[1]!;
        const data = fs.readFileSync(index);
        for (let pos = 0; pos < data.length; pos += 12) data.writeBigInt64BE(data.readBigInt64BE(pos) - 100_000n, pos);
        fs.writeFileSync(index, data);
        return batches;
      },
    },
  ];
  const partitions = damages.length;
  const broker = await withBroker(t, { process: true, config: { 'log.segment.bytes': 2048, 'log.index.interval.bytes': 256 } });
  const dataDir = broker.dataDir;
  let client = await RawClient.connect(broker.port);
  await createTopic(client, TOPIC, partitions);
  for (let p = 0; p < partitions; p++) for (let b = 0; b < BATCHES; b++) assert.equal(await produce(client, p, batch(b)), b * PER_BATCH);
  const counts = damages.map(() => BATCHES);
  client.close();

  // Two rounds: after a kill -9 (the last segment is scanned anyway) and after a clean shutdown
  // (everything is trusted that loads and checks out).
  for (const round of ['kill -9', 'clean shutdown'] as const) {
    if (round === 'kill -9') {
      // Sealing (fsync, index files) runs behind the acknowledgements: wait until every rolled segment has its indexes.
      const sealed = () => damages.every((d) => segments(dataDir, d.partition, '.timeindex').length >= segments(dataDir, d.partition, '.log').length - 1);
      await waitUntil(sealed, { timeout: 10_000, message: 'rolled segments to be sealed' });
      await broker.kill();
    } else assert.equal(await broker.stop(), 0);
    for (const d of damages) assert.ok(segments(dataDir, d.partition, '.log').length >= 3, `${d.what}: several segments`);
    const expected = damages.map((d, i) => (d.afterKillOnly && round !== 'kill -9' ? counts[i]! : d.damage(dataDir, counts[i]!)));
    await broker.restart();
    client = await RawClient.connect(broker.port);
    for (const [i, d] of damages.entries()) await expectBatches(client, d.partition, expected[i]!, `${round}, partition ${d.partition}: ${d.what}`);
    client.close();
    // expectBatches appended one batch; refill what was cut for the next round.
    client = await RawClient.connect(broker.port);
    for (const [i, d] of damages.entries()) {
      counts[i] = expected[i]! + 1;
      for (; counts[i] < BATCHES; counts[i]++) await produce(client, d.partition, batch(counts[i]));
    }
    client.close();
  }
});
