// Regression (found by the protocol fuzzer, seed 2): a produced batch of a few KB of zstd or gzip
// that inflates to 256 MiB was decompressed whole by timestamp lookups and the log cleaner: the
// broker's RSS went past 750 MiB and its event loop stalled for seconds. Readers now refuse a
// section that decompresses past MAX_DECOMPRESSED_BYTES, before allocating it (CORRUPT_MESSAGE).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { compressSync, CompressionType, decompress, decompressSync, MAX_DECOMPRESSED_BYTES } from '../../src/protocol/records/compression.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { BatchField, computeBatchCrc } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecordsAsync } from '../../src/protocol/records/records.js';

const corrupt = (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.CORRUPT_MESSAGE && /past the limit/.test(err.message);

describe('compression bombs', () => {
  const big = Buffer.alloc(MAX_DECOMPRESSED_BYTES + 1024 * 1024, 0x61);
  const codecs = [
    ['gzip', CompressionType.GZIP],
    ['zstd', CompressionType.ZSTD],
    ['lz4', CompressionType.LZ4],
    ['snappy', CompressionType.SNAPPY],
  ] as const;

  for (const [name, codec] of codecs) {
    it(`${name}: a section inflating past the limit is refused, a normal one decompresses`, async () => {
      const bomb = compressSync(codec, big);
      await assert.rejects(decompress(codec, bomb), corrupt);
      assert.throws(() => decompressSync(codec, bomb), corrupt);
      const small = Buffer.from('hello '.repeat(10_000));
      assert.deepEqual(await decompress(codec, compressSync(codec, small)), small);
      assert.deepEqual(decompressSync(codec, compressSync(codec, small)), small);
      // The limit is a parameter: exactly at it is fine (LZ4's bound counts whole 4 MiB blocks).
      if (codec === CompressionType.LZ4) return;
      const exact = Buffer.alloc(1 << 20, 0x62);
      assert.deepEqual(await decompress(codec, compressSync(codec, exact), exact.length), exact);
      await assert.rejects(decompress(codec, compressSync(codec, exact), exact.length - 1), corrupt);
    });
  }

  it('gzip: a bomb whose trailer lies about its size is stopped while inflating; concurrent ones inflate two at a time', async () => {
    // Found by the 1M-frame run with seed 777: lookups on 8 connections inflated gzip bombs up
    // to the limit at the same time (broker RSS 656 MiB).
    const bomb = compressSync(CompressionType.GZIP, big);
    bomb.writeUInt32LE(100, bomb.length - 4);
    const base = process.memoryUsage().rss;
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => decompress(CompressionType.GZIP, bomb)));
      for (const r of results) assert.ok(r.status === 'rejected' && corrupt(r.reason), String(r.status === 'rejected' ? r.reason : 'fulfilled'));
    } finally {
      clearInterval(timer);
    }
    const grewMiB = (peak - base) / 2 ** 20;
    assert.ok(grewMiB < 5 * (MAX_DECOMPRESSED_BYTES / 2 ** 20), `RSS grew by ${grewMiB.toFixed(0)} MiB`);
  });

  it('a bomb batch of valid records is refused by the record decoder', async () => {
    const value = Buffer.alloc(1024, 0x61);
    const sample = buildRecordBatch(
      Array.from({ length: 4 }, (_, i) => ({ key: `k${i}`, value })),
      { compression: 'none' },
    );
    const recordBytes = sample.subarray(BatchField.records);
    const copies = Math.ceil(MAX_DECOMPRESSED_BYTES / recordBytes.length) + 1;
    const section = compressSync(CompressionType.ZSTD, Buffer.concat(Array.from({ length: copies }, () => recordBytes)));
    const batch = Buffer.concat([sample.subarray(0, BatchField.records), section]);
    batch.writeInt32BE(batch.length - 12, BatchField.batchLength);
    batch.writeInt16BE(CompressionType.ZSTD, BatchField.attributes);
    batch.writeInt32BE(copies * 4, BatchField.recordCount);
    batch.writeUInt32BE(computeBatchCrc(batch), BatchField.crc);
    assert.ok(batch.length < 1024 * 1024, `the bomb is small (${batch.length} bytes)`);
    await assert.rejects(decodeBatchRecordsAsync(batch), corrupt);
  });
});
