// A real full disk: a broker process whose log directory is a small tmpfs, filled up by a filler
// file. Needs mount(2) (root, and a container that allows it); skipped otherwise. The injected
// faults of every kind are in disk-faults.test.ts; this one checks that a real ENOSPC from the
// kernel goes the same way: KAFKA_STORAGE_ERROR, reads keep working, no garbage left in the
// segment, writes resume after space returns, and a kill -9 afterwards recovers the same log.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { TestBroker } from '../helpers/broker.js';
import { tempDir } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, produceRequest } from '../helpers/requests.js';
import { waitUntil } from '../helpers/wait.js';
import { API, decodeBatches, listOffset, readPartition } from '../torture/log-reader.js';

const TOPIC = 'full';

function tryMount(dir: string): boolean {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0;
}

function batch(i: number): Buffer {
  return buildRecordBatch([{ key: `k${i}`, value: `${i}:${'x'.repeat(8000)}` }]);
}

async function produce(client: RawClient, bytes: Buffer): Promise<{ errorCode: number; baseOffset: number }> {
  const res = await client.request(API.Produce, 9, produceRequest(TOPIC, 0, bytes, -1));
  const p = res.body.responses[0].partitionResponses[0];
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}

/** The partition's records are exactly 0..count-1, and its segment files hold nothing but whole valid batches. */
async function expectLog(client: RawClient, dataDir: string, count: number, what: string): Promise<void> {
  const contents = await readPartition(client, TOPIC, 0);
  assert.deepEqual(
    contents.records.map((r) => r.key),
    Array.from({ length: count }, (_, i) => `k${i}`),
    what,
  );
  assert.equal(await listOffset(client, TOPIC, 0, -1), count, `${what}: log end`);
  const dir = path.join(dataDir, `${TOPIC}-0`);
  let next = 0;
  for (const file of fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort()) {
    const data = fs.readFileSync(path.join(dir, file));
    const decoded = decodeBatches(data);
    if (decoded.nextOffset !== null) next = decoded.nextOffset;
    let end = 0;
    while (end + 12 <= data.length && end + 12 + data.readInt32BE(end + 8) <= data.length) end += 12 + data.readInt32BE(end + 8);
    assert.equal(end, data.length, `${what}: ${file} ends with a whole batch (no torn write left in it)`);
  }
  assert.equal(next, count, `${what}: the files end at the log end`);
}

test('a real full disk (tmpfs): KAFKA_STORAGE_ERROR, reads work, no garbage, writes resume when space returns', { timeout: 60_000 }, async (t) => {
  const dataDir = tempDir('tributary-tmpfs-');
  if (!tryMount(dataDir)) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    t.skip('cannot mount a tmpfs here (needs root and a container that allows mount)');
    return;
  }
  // The broker must stop before the tmpfs is unmounted: the test disposes of it itself.
  const broker = new TestBroker({ process: true, dataDir, config: { 'log.segment.bytes': 256 * 1024 } });
  const filler = path.join(dataDir, 'filler');
  try {
    await broker.start();
    let client = await RawClient.connect(broker.port);
    await createTopic(client, TOPIC);
    // Leave about 600 KB free: a few segments' worth of 8 KB batches.
    const { bavail, bsize } = fs.statfsSync(dataDir);
    fs.writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 600 * 1024)));

    let acked = 0;
    let failures = 0;
    for (let i = 0; i < 2000 && failures < 3; i++) {
      const r = await produce(client, batch(acked));
      if (r.errorCode === ErrorCode.NONE) {
        assert.equal(r.baseOffset, acked);
        acked++;
      } else {
        assert.equal(r.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'a full disk answers KAFKA_STORAGE_ERROR');
        failures++;
      }
    }
    assert.equal(failures, 3, 'the disk filled up');
    assert.ok(acked > 10, `some batches fitted (${acked})`);
    // The broker's log lines come through its stdout pipe, which may trail its answers.
    await waitUntil(() => broker.logs.some((l) => String(l.msg).startsWith('log I/O failed; truncated back to')), {
      timeout: 10_000,
      message: 'the write path met ENOSPC and rolled back',
    });
    t.diagnostic(
      `${acked} batches acknowledged before the disk was full; log lines: ${[...new Set(broker.logs.filter((l) => Number(l.level) >= 40).map((l) => l.msg))].join(' | ')}`,
    );
    await expectLog(client, dataDir, acked, 'while the disk is full');

    fs.rmSync(filler);
    for (let i = 0; i < 5; i++) {
      const r = await produce(client, batch(acked));
      assert.equal(r.errorCode, ErrorCode.NONE, 'writes resume once there is space');
      assert.equal(r.baseOffset, acked);
      acked++;
    }
    await expectLog(client, dataDir, acked, 'after space returned');
    client.close();

    await broker.kill();
    await broker.restart();
    client = await RawClient.connect(broker.port);
    await expectLog(client, dataDir, acked, 'after a kill -9 and restart');
    client.close();
  } finally {
    await broker.dispose();
    spawnSync('umount', [dataDir]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
