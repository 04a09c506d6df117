// Disk faults through the broker (issue 8, part 4): an in-process broker whose storage file
// operations (src/storage/log-io.ts) fail on demand for one partition directory — a full disk
// (ENOSPC, with a short write first), a read-only file system (EROFS), a failing fsync, a failing
// segment roll and failing index writes. Real Produce, Fetch and ListOffsets requests check that
// producers get KAFKA_STORAGE_ERROR for that partition only, reads keep working, the bytes already
// on disk never change, and writes resume once the fault is gone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { defaultLogIo, type LogIo } from '../../src/storage/log-io.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { tempDir } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { produceRequest } from '../helpers/requests.js';
import { API, listOffset, readPartition } from '../torture/log-reader.js';
import { waitUntil } from '../helpers/wait.js';

type Op = 'writev' | 'fsync' | 'ftruncate' | 'create' | 'index';

function errnoError(code: string, op: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: injected fault, ${op}`) as NodeJS.ErrnoException;
  err.code = code;
  return err;
}

/** Real file operations, except those armed to fail for files under a directory named `dirName`. */
class FaultyIo implements LogIo {
  private armed = new Map<Op, string>();
  /** ENOSPC-like: the first failing writev writes half of what it was given, then reports it. */
  shortWriteFirst = false;
  dirName = '';
  readonly failures: Record<Op, number> = { writev: 0, fsync: 0, ftruncate: 0, create: 0, index: 0 };

  arm(dirName: string, code: string, ...ops: Op[]): void {
    this.dirName = dirName;
    for (const op of ops) this.armed.set(op, code);
  }

  disarm(): void {
    this.armed.clear();
    this.shortWriteFirst = false;
  }

  private hits(op: Op, file: string): string | null {
    const code = this.armed.get(op);
    if (!code || path.basename(path.dirname(file)) !== this.dirName) return null;
    this.failures[op]++;
    return code;
  }

  private fdPath(fd: number): string {
    return fs.readlinkSync(`/proc/self/fd/${fd}`);
  }

  writev(fd: number, buffers: Buffer[], position: number): number {
    const code = this.hits('writev', this.fdPath(fd));
    if (code && this.shortWriteFirst) {
      this.shortWriteFirst = false;
      const all = Buffer.concat(buffers);
      return defaultLogIo.writev(fd, [all.subarray(0, Math.max(1, all.length >> 1))], position);
    }
    if (code) throw errnoError(code, 'writev');
    return defaultLogIo.writev(fd, buffers, position);
  }

  fsync(fd: number): Promise<void> {
    const code = this.hits('fsync', this.fdPath(fd));
    return code ? Promise.reject(errnoError(code, 'fsync')) : defaultLogIo.fsync(fd);
  }

  ftruncate(fd: number, length: number): void {
    const code = this.hits('ftruncate', this.fdPath(fd));
    if (code) throw errnoError(code, 'ftruncate');
    defaultLogIo.ftruncate(fd, length);
  }

  createSegmentFile(file: string): number {
    const code = this.hits('create', file);
    if (code) throw errnoError(code, 'open');
    return defaultLogIo.createSegmentFile(file);
  }

  createSegmentFileAsync(file: string): Promise<number> {
    const code = this.hits('create', file);
    return code ? Promise.reject(errnoError(code, 'open')) : defaultLogIo.createSegmentFileAsync(file);
  }

  writeIndexFile(file: string, data: Buffer): Promise<void> {
    const code = this.hits('index', file);
    return code ? Promise.reject(errnoError(code, 'index write')) : defaultLogIo.writeIndexFile(file, data);
  }
}

const PRODUCER_ID = 4242;

interface Env {
  broker: RunningBroker;
  io: FaultyIo;
  client: RawClient;
  dataDir: string;
  /** Next sequence of the idempotent producer, per partition. */
  seqs: Map<string, number>;
}

async function start(dataDir: string, io: FaultyIo): Promise<{ broker: RunningBroker; client: RawClient }> {
  const broker = await startBroker({ dataDir, storageIo: io, config: { 'log.level': 'fatal' } });
  return { broker, client: await RawClient.connect(broker.port) };
}

async function setup(topic: string, configs: Record<string, string> = {}): Promise<Env> {
  const dataDir = tempDir('tributary-disk-');
  const io = new FaultyIo();
  const { broker, client } = await start(dataDir, io);
  const res = await client.request(API.CreateTopics, 5, {
    timeoutMs: 5000,
    validateOnly: false,
    topics: [{ name: topic, numPartitions: 2, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
  });
  assert.equal(res.body.topics[0].errorCode, ErrorCode.NONE);
  return { broker, io, client, dataDir, seqs: new Map() };
}

async function teardown(env: Env): Promise<void> {
  env.client.close();
  env.io.disarm();
  await env.broker.stop();
  fs.rmSync(env.dataDir, { recursive: true, force: true });
}

/** An idempotent batch of `count` records; the sequence advances only when the produce is acknowledged. */
function nextBatch(env: Env, topic: string, partition: number, count: number, tag: string): { bytes: Buffer; commit: () => void } {
  const key = `${topic}-${partition}`;
  const seq = env.seqs.get(key) ?? 0;
  const records = Array.from({ length: count }, (_, i) => ({ key: `${tag}-${i}`, value: `${tag}-${i}-${'v'.repeat(200)}` }));
  const bytes = buildRecordBatch(records, { producerId: PRODUCER_ID + partition, producerEpoch: 0, baseSequence: seq });
  return { bytes, commit: () => env.seqs.set(key, seq + count) };
}

async function produce(env: Env, topic: string, partition: number, bytes: Buffer): Promise<{ errorCode: number; baseOffset: number }> {
  const res = await env.client.request(API.Produce, 9, produceRequest(topic, partition, bytes, -1));
  const p = res.body.responses[0].partitionResponses[0];
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}

/** Produces `batches` acknowledged batches of 5 records; returns the values in order. */
async function fill(env: Env, topic: string, partition: number, batches: number, tag: string): Promise<string[]> {
  const values: string[] = [];
  for (let b = 0; b < batches; b++) {
    const batch = nextBatch(env, topic, partition, 5, `${tag}${b}`);
    const r = await produce(env, topic, partition, batch.bytes);
    assert.equal(r.errorCode, ErrorCode.NONE, `batch ${tag}${b}`);
    batch.commit();
    for (let i = 0; i < 5; i++) values.push(`${tag}${b}-${i}`);
  }
  return values;
}

async function values(env: Env, topic: string, partition: number): Promise<string[]> {
  const contents = await readPartition(env.client, topic, partition);
  assert.deepEqual(
    contents.records.map((r) => r.offset),
    contents.records.map((_, i) => contents.logStartOffset + i),
    'offsets are contiguous',
  );
  return contents.records.map((r) => r.key!);
}

/** The bytes of every .log file of a partition. */
function segmentBytes(dataDir: string, dirName: string): Map<string, Buffer> {
  const dir = path.join(dataDir, dirName);
  return new Map(
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => [f, fs.readFileSync(path.join(dir, f))]),
  );
}

function assertSameBytes(before: Map<string, Buffer>, after: Map<string, Buffer>, what: string): void {
  assert.deepEqual([...after.keys()], [...before.keys()], `${what}: same segment files`);
  for (const [name, data] of before) assert.ok(after.get(name)!.equals(data), `${what}: ${name} unchanged (${data.length} → ${after.get(name)!.length} bytes)`);
}

/** A fault on `topic-0`: produce fails there with KAFKA_STORAGE_ERROR, partition 1 and reads still work, bytes stay. */
async function expectFaultContained(env: Env, topic: string, expected: string[], tag: string): Promise<void> {
  const before = segmentBytes(env.dataDir, `${topic}-0`);
  const batch = nextBatch(env, topic, 0, 5, tag);
  const failed = await produce(env, topic, 0, batch.bytes);
  assert.equal(failed.errorCode, ErrorCode.KAFKA_STORAGE_ERROR, 'the producer gets KAFKA_STORAGE_ERROR');
  // Reads keep working and see exactly what was acknowledged.
  assert.deepEqual(await values(env, topic, 0), expected);
  assert.equal(await listOffset(env.client, topic, 0, -1), expected.length);
  assertSameBytes(before, segmentBytes(env.dataDir, `${topic}-0`), 'after the failed append');
  // The other partition of the topic is not affected.
  const other = await fill(env, topic, 1, 1, `${tag}-other`);
  assert.deepEqual((await values(env, topic, 1)).slice(-5), other);
}

/** After the fault: the same batch (same producer sequence) is retried and lands once, right after the old end. */
async function expectRecovery(env: Env, topic: string, expected: string[], tag: string): Promise<string[]> {
  env.io.disarm();
  const retry = nextBatch(env, topic, 0, 5, tag);
  const ok = await produce(env, topic, 0, retry.bytes);
  assert.equal(ok.errorCode, ErrorCode.NONE, 'writes resume once the fault is gone');
  assert.equal(ok.baseOffset, expected.length, 'offsets continue where the acknowledged data ended');
  retry.commit();
  const now = [...expected, ...Array.from({ length: 5 }, (_, i) => `${tag}-${i}`)];
  assert.deepEqual(await values(env, topic, 0), now);
  return now;
}

describe('disk faults through the broker', () => {
  const envs: Env[] = [];
  after(async () => {
    for (const env of envs) await teardown(env).catch(() => undefined);
  });

  it('full disk (ENOSPC after a short write): KAFKA_STORAGE_ERROR, reads work, bytes intact, writes resume', async () => {
    const topic = 'enospc';
    const env = await setup(topic);
    envs.push(env);
    const expected = await fill(env, topic, 0, 10, 'a');
    env.io.arm(`${topic}-0`, 'ENOSPC', 'writev');
    env.io.shortWriteFirst = true;
    await expectFaultContained(env, topic, expected, 'full');
    assert.ok(env.io.failures.writev >= 1);
    // Still full: a second attempt fails the same way, nothing half-written accumulates.
    await expectFaultContained(env, topic, expected, 'full');
    await expectRecovery(env, topic, expected, 'full');
  });

  it('read-only log directory (EROFS on every write): KAFKA_STORAGE_ERROR, reads work, writes resume', async () => {
    const topic = 'erofs';
    const env = await setup(topic, { 'segment.bytes': '4096' });
    envs.push(env);
    const expected = await fill(env, topic, 0, 12, 'a');
    env.io.arm(`${topic}-0`, 'EROFS', 'writev', 'ftruncate', 'create', 'index', 'fsync');
    await expectFaultContained(env, topic, expected, 'ro');
    await expectRecovery(env, topic, expected, 'ro');
  });

  it('failing fsync (flush.messages=1): the append is taken back and fails, writes resume', async () => {
    const topic = 'fsync';
    const env = await setup(topic, { 'flush.messages': '1' });
    envs.push(env);
    const expected = await fill(env, topic, 0, 6, 'a');
    env.io.arm(`${topic}-0`, 'EIO', 'fsync');
    await expectFaultContained(env, topic, expected, 'sync');
    assert.ok(env.io.failures.fsync >= 1);
    await expectRecovery(env, topic, expected, 'sync');
  });

  it('failing segment roll (the new file cannot be created): KAFKA_STORAGE_ERROR, then the roll happens', async () => {
    const topic = 'roll';
    const env = await setup(topic, { 'segment.bytes': '4096' });
    envs.push(env);
    // Fill the active segment close to segment.bytes, so the next batch must roll.
    let expected = await fill(env, topic, 0, 3, 'a');
    const dir = path.join(env.dataDir, `${topic}-0`);
    const segmentsBefore = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).length;
    env.io.arm(`${topic}-0`, 'EMFILE', 'create');
    await expectFaultContained(env, topic, expected, 'roll');
    assert.ok(env.io.failures.create >= 1, 'the append needed a roll');
    expected = await expectRecovery(env, topic, expected, 'roll');
    assert.ok(fs.readdirSync(dir).filter((f) => f.endsWith('.log')).length > segmentsBefore, 'the log rolled');
  });

  it('failing index writes: appends still succeed, and a restart rebuilds the indexes', async () => {
    const topic = 'index';
    const env = await setup(topic, { 'segment.bytes': '4096', 'index.interval.bytes': '512' });
    envs.push(env);
    env.io.arm(`${topic}-0`, 'ENOSPC', 'index');
    // Rolls seal segments (index files written then): those writes fail, the data is in place.
    const expected = await fill(env, topic, 0, 20, 'a');
    // Sealing runs behind the acknowledgements.
    await waitUntil(() => env.io.failures.index >= 2, { timeout: 5000, message: 'sealing to try to write index files' });
    assert.deepEqual(await values(env, topic, 0), expected);
    // The clean shutdown cannot write the active segment's indexes either: the next start recovers.
    env.client.close();
    await env.broker.stop();
    env.io.disarm();
    const restarted = await start(env.dataDir, env.io);
    env.broker = restarted.broker;
    env.client = restarted.client;
    assert.deepEqual(await values(env, topic, 0), expected);
    assert.equal(await listOffset(env.client, topic, 0, -1), expected.length);
    // Every sealed segment has its index files again, and a fetch from the middle of each works.
    const dir = path.join(env.dataDir, `${topic}-0`);
    const logs = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .sort();
    assert.ok(logs.length >= 3);
    for (const log of logs.slice(0, -1)) {
      assert.ok(fs.existsSync(path.join(dir, log.replace('.log', '.index'))), `${log} has an index again`);
      assert.ok(fs.existsSync(path.join(dir, log.replace('.log', '.timeindex'))), `${log} has a time index again`);
    }
    for (let offset = 0; offset < expected.length; offset += 7) {
      const part = await readPartition(env.client, topic, 0);
      assert.equal(part.records[offset]!.key, expected[offset]);
    }
    const more = nextBatch(env, topic, 0, 5, 'after');
    assert.equal((await produce(env, topic, 0, more.bytes)).baseOffset, expected.length);
  });
});
