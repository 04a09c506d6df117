// Regression (found by the protocol fuzzer): produce stores compressed batches without looking
// inside, so a ~100 KB zstd batch inflating to 128 MiB of valid records was accepted; a
// ListOffsets by timestamp then decompressed and decoded all of it (RSS past 750 MiB with a few
// of them, the event loop stalled for seconds). The lookup now answers CORRUPT_MESSAGE for that
// partition without inflating it, and the broker keeps serving.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { compressSync, CompressionType } from '../../src/protocol/records/compression.js';
import { encodeRecord } from '../../src/protocol/records/records.js';
import { rawBatch } from '../fuzz/frames.js';

const TS = 1_700_000_000_000;

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

describe('compression bombs in a stored batch', () => {
  const broker = suiteBroker({ process: true });
  let client: RawClient;
  before(async () => {
    client = await RawClient.connect(broker.port);
  });
  after(() => client?.close());

  test('a timestamp lookup over a 128 MiB zstd bomb answers CORRUPT_MESSAGE, bounded in memory', async () => {
    await createTopic(client, 'bombs', 1, { 'cleanup.policy': 'compact' });
    const value = Buffer.alloc(1024, 0x61);
    const record = encodeRecord({ timestampDelta: 0, offsetDelta: 0, key: Buffer.from('k'), value, headers: [] });
    const count = 128 * 1024;
    const section = compressSync(CompressionType.ZSTD, Buffer.concat(Array.from({ length: count }, () => record)));
    const bomb = rawBatch(CompressionType.ZSTD, section, count, TS);
    assert.ok(bomb.length < 1024 * 1024);
    const produced = await client.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: 'bombs', partitionData: [{ index: 0, records: bomb }] }],
    });
    assert.equal(produced.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);

    for (let i = 0; i < 4; i++) {
      const r = await client.request(ApiKey.ListOffsets, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: 'bombs', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: TS, maxNumOffsets: 1 }] }],
        timeoutMs: 5000,
      });
      assert.equal(r.body.topics[0].partitions[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
    }
    assert.ok(rssMiB(broker.child.pid!) < 400, `broker RSS ${rssMiB(broker.child.pid!)} MiB`);
    const v = await client.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'probe', clientSoftwareVersion: '1' });
    assert.equal(v.body.errorCode, ErrorCode.NONE);
    assert.equal(broker.child.exitCode, null);
  });
});
