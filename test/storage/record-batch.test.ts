import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { CompressionType, compress, compressSync, decompress, decompressSync, isXerialSnappy } from '../../src/protocol/records/compression.js';
import { buildControlBatch, buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import {
  BatchField,
  computeBatchCrc,
  isControl,
  isLogAppendTime,
  isTransactional,
  readBatchHeader,
  setBaseOffset,
  setPartitionLeaderEpoch,
  splitBatches,
  stampLogAppendTime,
  validateBatch,
  validateProduceRecords,
} from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords, decodeBatchRecordsAsync } from '../../src/protocol/records/records.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { readInt64, writeInt64 } from '../../src/protocol/records/int64.js';
import * as snappy from 'snappy';

function isCorrupt(err: unknown): boolean {
  return err instanceof KafkaError && err.code === ErrorCode.CORRUPT_MESSAGE;
}

describe('int64 and varints', () => {
  it('round-trips int64 values including negatives', () => {
    const buf = Buffer.alloc(8);
    for (const v of [0, 1, -1, 2 ** 32, -(2 ** 32) - 5, 2 ** 53 - 1, -(2 ** 53) + 1, 1700000000000]) {
      writeInt64(buf, v, 0);
      assert.equal(readInt64(buf, 0), v);
      assert.equal(buf.readBigInt64BE(0), BigInt(v));
    }
  });

  it('round-trips the zigzag varints and varlongs records use', () => {
    for (const v of [0, -1, 1, 63, -64, 64, 2147483647, -2147483648, 1700000000000, -1700000000000]) {
      const w = new Writer(16);
      w.varlong(v);
      assert.equal(new Reader(w.finish()).varlong(), v);
      if (Math.abs(v) <= 2147483648) {
        const w32 = new Writer(16);
        w32.varint(v);
        assert.equal(new Reader(w32.finish()).varint(), v);
      }
    }
    // Known encodings (protobuf zigzag): -1 → 0x01, 1 → 0x02, 150 → 0xac 0x02.
    const w = new Writer(16);
    w.varlong(-1);
    w.varlong(150);
    assert.deepEqual([...w.finish()], [0x01, 0xac, 0x02]);
  });
});

describe('record batch header', () => {
  it('builds a valid batch and reads its header', () => {
    const b = buildRecordBatch(
      [
        { key: 'a', value: 'b', timestamp: 1000 },
        { value: 'c', timestamp: 1500 },
      ],
      {
        producerId: 42,
        producerEpoch: 3,
        baseSequence: 7,
        transactional: true,
      },
    );
    const h = validateBatch(b, { producerInput: true });
    assert.equal(h.magic, 2);
    assert.equal(h.recordCount, 2);
    assert.equal(h.lastOffsetDelta, 1);
    assert.equal(h.baseTimestamp, 1000);
    assert.equal(h.maxTimestamp, 1500);
    assert.equal(h.producerId, 42);
    assert.equal(h.producerEpoch, 3);
    assert.equal(h.baseSequence, 7);
    assert.equal(h.batchLength + 12, b.length);
    assert.ok(isTransactional(h.attributes));
    assert.ok(!isControl(h.attributes));
  });

  it('rejects malformed batches with CORRUPT_MESSAGE', () => {
    const good = buildRecordBatch([{ value: 'x' }]);
    assert.throws(() => validateBatch(good.subarray(0, 40)), isCorrupt);
    const badLength = Buffer.from(good);
    badLength.writeInt32BE(good.length, BatchField.batchLength);
    assert.throws(() => validateBatch(badLength), isCorrupt);
    const badMagic = Buffer.from(good);
    badMagic[BatchField.magic] = 1;
    assert.throws(() => validateBatch(badMagic), isCorrupt);
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 1]! ^= 0x55;
    assert.throws(() => validateBatch(badCrc), isCorrupt);
    // Flipping a byte outside the CRC range (the leader epoch) is not detected, by design.
    const epoch = Buffer.from(good);
    epoch[BatchField.partitionLeaderEpoch] = 9;
    validateBatch(epoch);
    // Producer input: lastOffsetDelta must match the record count.
    const badDelta = Buffer.from(good);
    badDelta.writeInt32BE(5, BatchField.lastOffsetDelta);
    badDelta.writeUInt32BE(computeBatchCrc(badDelta), BatchField.crc);
    validateBatch(badDelta); // fine for stored (compacted) batches
    assert.throws(() => validateBatch(badDelta, { producerInput: true }), isCorrupt);
    const noRecords = Buffer.from(good);
    noRecords.writeInt32BE(0, BatchField.recordCount);
    noRecords.writeInt32BE(-1, BatchField.lastOffsetDelta);
    noRecords.writeUInt32BE(computeBatchCrc(noRecords), BatchField.crc);
    assert.throws(() => validateBatch(noRecords, { producerInput: true }), isCorrupt);
  });

  it('splits concatenated batches and rejects a partial tail for produce', () => {
    const a = buildRecordBatch([{ value: 'a' }]);
    const b = buildRecordBatch([{ value: 'b' }, { value: 'c' }]);
    const both = Buffer.concat([a, b]);
    const parts = [...splitBatches(both)];
    assert.equal(parts.length, 2);
    assert.ok(parts[0]!.equals(a));
    assert.ok(parts[1]!.equals(b));
    assert.equal(validateProduceRecords(both).length, 2);
    const partial = Buffer.concat([a, b.subarray(0, 30)]);
    assert.throws(() => [...splitBatches(partial)], isCorrupt);
    assert.throws(() => validateProduceRecords(partial), isCorrupt);
    assert.equal([...splitBatches(partial, { rejectPartialTail: false })].length, 1);
    assert.throws(() => validateProduceRecords(Buffer.alloc(0)), isCorrupt);
    assert.throws(() => [...splitBatches(Buffer.concat([a, Buffer.alloc(5)]))], isCorrupt);
  });

  it('patches base offset and leader epoch without touching the CRC', () => {
    const b = buildRecordBatch([{ value: 'x' }, { value: 'y' }]);
    const crc = readBatchHeader(b).crc;
    setBaseOffset(b, 123456789012);
    setPartitionLeaderEpoch(b, 17);
    const h = validateBatch(b);
    assert.equal(h.baseOffset, 123456789012);
    assert.equal(h.partitionLeaderEpoch, 17);
    assert.equal(h.crc, crc);
    assert.deepEqual(
      decodeBatchRecords(b).map((r) => r.offset),
      [123456789012, 123456789013],
    );
  });

  it('stamps LogAppendTime and keeps a valid CRC', () => {
    const b = buildRecordBatch(
      [
        { value: 'x', timestamp: 10 },
        { value: 'y', timestamp: 20 },
      ],
      { compression: 'gzip' },
    );
    stampLogAppendTime(b, 999999);
    const h = validateBatch(b);
    assert.ok(isLogAppendTime(h.attributes));
    assert.equal(h.maxTimestamp, 999999);
    assert.equal(h.attributes & 7, CompressionType.GZIP);
    assert.deepEqual(
      decodeBatchRecords(b).map((r) => r.timestamp),
      [999999, 999999],
    );
  });

  it('builds control batches', () => {
    const b = buildControlBatch({ type: 'COMMIT', producerId: 5, producerEpoch: 1, coordinatorEpoch: 3, timestamp: 77 });
    const h = validateBatch(b, { producerInput: true });
    assert.ok(isControl(h.attributes));
    assert.ok(isTransactional(h.attributes));
    const [record] = decodeBatchRecords(b);
    assert.equal(record!.key!.readInt16BE(0), 0);
    assert.equal(record!.key!.readInt16BE(2), 1);
    assert.equal(record!.value!.readInt32BE(2), 3);
  });
});

describe('records', () => {
  it('decodes keys, values, nulls, headers, offsets and timestamps', () => {
    const b = buildRecordBatch({
      baseOffset: 100,
      records: [
        {
          key: 'k1',
          value: 'v1',
          timestamp: 5000,
          headers: [
            { key: 'h', value: 'hv' },
            { key: 'n', value: null },
          ],
        },
        { key: null, value: null, timestamp: 4000 },
        { key: Buffer.from([0, 1, 2]), value: 'x'.repeat(300), timestamp: 7000 },
      ],
    });
    const records = decodeBatchRecords(b);
    assert.equal(records.length, 3);
    assert.deepEqual(
      records.map((r) => r.offset),
      [100, 101, 102],
    );
    assert.deepEqual(
      records.map((r) => r.timestamp),
      [5000, 4000, 7000],
    );
    assert.equal(records[0]!.key!.toString(), 'k1');
    assert.equal(records[0]!.value!.toString(), 'v1');
    assert.deepEqual(
      records[0]!.headers.map((h) => [h.key, h.value?.toString() ?? null]),
      [
        ['h', 'hv'],
        ['n', null],
      ],
    );
    assert.equal(records[1]!.key, null);
    assert.equal(records[1]!.value, null);
    assert.deepEqual([...records[2]!.key!], [0, 1, 2]);
    assert.equal(records[2]!.value!.length, 300);
    assert.equal(readBatchHeader(b).maxTimestamp, 7000);
  });

  it('reports malformed records as CORRUPT_MESSAGE', () => {
    const b = buildRecordBatch([{ value: 'hello' }, { value: 'world' }]);
    const truncated = Buffer.from(b);
    truncated.writeInt32BE(3, BatchField.recordCount); // claims a third record
    assert.throws(() => decodeBatchRecords(truncated), isCorrupt);
  });

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
    it(`round-trips a ${codec} batch`, async () => {
      const records = Array.from({ length: 50 }, (_, i) => ({ key: `key-${i}`, value: `value-${i}-${'z'.repeat(i * 10)}`, timestamp: 1000 + i }));
      const b = buildRecordBatch(records, { compression: codec });
      const plain = buildRecordBatch(records);
      assert.ok(b.length < plain.length, `${codec} should compress`);
      validateBatch(b, { producerInput: true });
      for (const decoded of [decodeBatchRecords(b), await decodeBatchRecordsAsync(b)]) {
        assert.deepEqual(
          decoded.map((r) => [r.offset, r.key!.toString(), r.value!.toString(), r.timestamp]),
          records.map((r, i) => [i, r.key, r.value, r.timestamp]),
        );
      }
    });
  }
});

describe('compression codecs', () => {
  const data = Buffer.from(Array.from({ length: 100000 }, (_, i) => `line ${i % 977}\n`).join(''));

  for (const type of [CompressionType.NONE, CompressionType.GZIP, CompressionType.SNAPPY, CompressionType.LZ4, CompressionType.ZSTD]) {
    it(`round-trips codec ${type} sync and async`, async () => {
      const sync = compressSync(type, data);
      assert.ok(decompressSync(type, sync).equals(data));
      assert.ok((await decompress(type, sync)).equals(data));
      const async = await compress(type, data);
      assert.ok(decompressSync(type, async).equals(data));
      assert.ok(decompressSync(type, compressSync(type, Buffer.alloc(0))).equals(Buffer.alloc(0)));
    });
  }

  it('writes xerial-framed snappy in 32 KiB blocks and reads raw snappy too', async () => {
    const framed = compressSync(CompressionType.SNAPPY, data);
    assert.ok(isXerialSnappy(framed));
    assert.deepEqual([...framed.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
    assert.equal(framed.readInt32BE(8), 1);
    assert.equal(framed.readInt32BE(12), 1);
    // Walk the blocks: each decompresses to at most 32 KiB.
    let pos = 16;
    let blocks = 0;
    while (pos < framed.length) {
      const length = framed.readInt32BE(pos);
      const block = snappy.uncompressSync(framed.subarray(pos + 4, pos + 4 + length), { asBuffer: true }) as Buffer;
      assert.ok(block.length <= 32 * 1024);
      pos += 4 + length;
      blocks++;
    }
    assert.equal(blocks, Math.ceil(data.length / (32 * 1024)));
    const raw = snappy.compressSync(data);
    assert.ok(!isXerialSnappy(raw));
    assert.ok(decompressSync(CompressionType.SNAPPY, raw).equals(data));
    assert.ok((await decompress(CompressionType.SNAPPY, raw)).equals(data));
  });

  it('writes standard LZ4 frames', () => {
    const frame = compressSync(CompressionType.LZ4, data);
    assert.equal(frame.readUInt32LE(0), 0x184d2204);
  });

  it('turns garbage into CORRUPT_MESSAGE', async () => {
    const garbage = Buffer.from('definitely not compressed data at all');
    for (const type of [CompressionType.GZIP, CompressionType.SNAPPY, CompressionType.LZ4, CompressionType.ZSTD]) {
      assert.throws(() => decompressSync(type, garbage), isCorrupt, `codec ${type}`);
      await assert.rejects(decompress(type, garbage), isCorrupt);
    }
    assert.throws(() => decompressSync(7, garbage), isCorrupt);
  });
});
