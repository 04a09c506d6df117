// The network layer of a real broker process: idle connections, back-pressure against clients
// that pipeline without reading, DescribeCluster, and a clean SIGTERM shutdown.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suiteBroker, withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetchOne } from '../helpers/requests.js';
import { elapse } from '../helpers/wait.js';
import { ApiKey, apiByKey, type FetchRequest, type FetchResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Reader } from '../../src/protocol/primitives.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { splitBatches } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';

const CLEAN_SHUTDOWN_MARKER = '.kafka_cleanshutdown';
const UNREQUESTED_OPERATIONS = -2147483648;

/** Resident memory of a process in MiB. */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

function fetchRequest(topic: string, fetchOffset: number, maxWaitMs = 0): FetchRequest {
  return fetchOne(topic, 0, fetchOffset, { maxWaitMs, maxBytes: 4 * 1024 * 1024 });
}

const metadataAll = { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };

/** A socket that is deliberately not read from until `readFrames` is called. */
async function connectWithoutReading(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  s.on('error', () => undefined);
  s.pause();
  return s;
}

/** Starts reading `socket` and resolves with exactly `count` response frames (without size prefix). */
function readFrames(socket: Socket, count: number, timeoutMs: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const frames: Buffer[] = [];
    let chunks: Buffer[] = [];
    let buffered = 0;
    const timer = setTimeout(() => reject(new Error(`only ${frames.length} of ${count} responses in ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      buffered += d.length;
      for (;;) {
        if (buffered < 4) break;
        if (chunks.length > 1) chunks = [Buffer.concat(chunks)];
        const buf = chunks[0]!;
        const size = buf.readInt32BE(0);
        if (buffered < 4 + size) break;
        frames.push(buf.subarray(4, 4 + size));
        chunks = buffered > 4 + size ? [buf.subarray(4 + size)] : [];
        buffered -= 4 + size;
      }
      if (frames.length >= count) {
        clearTimeout(timer);
        resolve(frames);
      }
    });
    socket.resume();
  });
}

async function produce(c: RawClient, topic: string, values: (string | Buffer)[]): Promise<void> {
  const r = await c.request(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: buildRecordBatch({ records: values.map((value) => ({ value })) }) }] }],
  });
  assert.equal(r.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
}

/** A fresh client answers quickly: the broker is not stuck behind a misbehaving connection. */
async function assertServesPromptly(port: number): Promise<void> {
  const started = Date.now();
  const probe = await RawClient.connect(port);
  try {
    const v = await probe.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'probe', clientSoftwareVersion: '1' });
    assert.equal(v.body.errorCode, ErrorCode.NONE);
    const md = await probe.request(ApiKey.Metadata, 12, metadataAll);
    assert.equal(md.body.brokers.length, 1);
  } finally {
    probe.close();
  }
  const took = Date.now() - started;
  assert.ok(took < 2000, `a second client was served in ${took} ms`);
}

describe('idle connections (connections.max.idle.ms=500)', () => {
  const broker = suiteBroker({ process: true, config: { 'connections.max.idle.ms': 500 } });

  test('an idle connection is closed within a few seconds', async () => {
    const c = await RawClient.connect(broker.port);
    await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'idle', clientSoftwareVersion: '1' });
    const idleSince = Date.now();
    assert.ok(await c.waitClosed(5000), 'closed by the broker');
    const after = Date.now() - idleSince;
    assert.ok(after >= 400, `not before it was idle for about 500 ms (${after} ms)`);
    // A connection that never sent anything is closed as well.
    const silent = await RawClient.connect(broker.port);
    assert.ok(await silent.waitClosed(5000));
  });

  test('a busy connection stays open', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      const until = Date.now() + 1600;
      while (Date.now() < until) {
        const r = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'busy', clientSoftwareVersion: '1' });
        assert.equal(r.body.errorCode, ErrorCode.NONE);
        // Not a wait for a condition: the subject is a connection with gaps shorter than the idle timeout.
        await elapse(150);
      }
      assert.ok(!c.closed, 'still open after three idle periods of activity');
    } finally {
      c.close();
    }
  });

  test('a long poll longer than the idle timeout is not cut off', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      await createTopic(c, 'idle-longpoll');
      const started = Date.now();
      const r = await c.request<FetchResponse>(ApiKey.Fetch, 12, fetchRequest('idle-longpoll', 0, 1500));
      assert.ok(Date.now() - started >= 1400, 'the fetch waited its maxWaitMs');
      assert.equal(r.body.responses[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
      assert.ok(await c.waitClosed(5000), 'and the connection is closed once idle');
    } finally {
      c.close();
    }
  });
});

describe('a broker with queued.max.requests=4', () => {
  const broker = suiteBroker({ process: true, config: { 'queued.max.requests': 4 } });
  let c: RawClient;
  before(async () => {
    c = await RawClient.connect(broker.port);
  });
  after(() => c?.close());

  test('200 pipelined Metadata requests from a client that does not read', async () => {
    for (let i = 0; i < 20; i++) await createTopic(c, `pipelined-${String(i).padStart(2, '0')}-${'m'.repeat(200)}`);
    const s = await connectWithoutReading(broker.port);
    try {
      const frames: Buffer[] = [];
      for (let i = 0; i < 200; i++) frames.push(RawClient.frame(ApiKey.Metadata, 12, 5000 + i, metadataAll));
      s.write(Buffer.concat(frames));
      // Not a wait for a condition: time for the broker to fill what it may buffer for this
      // connection (were it to block, the prompt answer below would fail).
      await elapse(1000);
      await assertServesPromptly(broker.port);
      const got = await readFrames(s, 200, 20_000);
      got.forEach((f, i) => {
        const r = new Reader(f);
        assert.equal(r.int32(), 5000 + i, 'answered in request order');
        r.skipTaggedFields();
        const md = apiByKey.get(ApiKey.Metadata)!.decodeResponse(r, 12) as { topics: unknown[] };
        assert.equal(md.topics.length, 20);
      });
    } finally {
      s.destroy();
    }
  });

  test('200 pipelined 1 MiB fetches from a client that does not read stay bounded in memory', async () => {
    await createTopic(c, 'pipelined-big', 1, { 'max.message.bytes': '2097152' });
    const value = Buffer.alloc(1024 * 1024, 0x42);
    await produce(c, 'pipelined-big', [value]);
    const pid = broker.child.pid!;
    // Warm up the read path once so the baseline includes it.
    const warm = await c.request<FetchResponse>(ApiKey.Fetch, 12, fetchRequest('pipelined-big', 0));
    assert.equal(warm.body.responses[0]!.partitions[0]!.records!.length > value.length, true);
    // Not a wait for a condition: the memory baseline is taken once the warm-up has settled.
    await elapse(300);
    const baseline = rssMiB(pid);

    const s = await connectWithoutReading(broker.port);
    try {
      const frames: Buffer[] = [];
      for (let i = 0; i < 200; i++) frames.push(RawClient.frame(ApiKey.Fetch, 12, 7000 + i, fetchRequest('pipelined-big', 0)));
      s.write(Buffer.concat(frames));
      // 200 responses are 200 MiB: a broker that buffers them all grows by about that much.
      let peak = baseline;
      for (let i = 0; i < 8; i++) {
        // A sampling period, not a wait for a condition: the peak over two seconds.
        await elapse(250);
        peak = Math.max(peak, rssMiB(pid));
      }
      const growth = peak - baseline;
      assert.ok(growth < 100, `the broker grew by ${growth.toFixed(1)} MiB while the client did not read`);
      await assertServesPromptly(broker.port);

      const got = await readFrames(s, 200, 60_000);
      got.forEach((f, i) => {
        const r = new Reader(f);
        assert.equal(r.int32(), 7000 + i, 'answered in request order');
        r.skipTaggedFields();
        if (i % 50 !== 0) return;
        const res = apiByKey.get(ApiKey.Fetch)!.decodeResponse(r, 12) as FetchResponse;
        const records = [...splitBatches(res.responses[0]!.partitions[0]!.records!)].flatMap((b) => decodeBatchRecords(b));
        assert.equal(records.length, 1);
        assert.ok(records[0]!.value!.equals(value));
      });
    } finally {
      s.destroy();
    }
  });

  test('pipelined long polls beyond the limit are all answered', async () => {
    await createTopic(c, 'pipelined-longpoll');
    const s = await connectWithoutReading(broker.port);
    try {
      const frames: Buffer[] = [];
      for (let i = 0; i < 10; i++) frames.push(RawClient.frame(ApiKey.Fetch, 12, 8000 + i, fetchRequest('pipelined-longpoll', 0, 5000)));
      s.write(Buffer.concat(frames));
      const reading = readFrames(s, 10, 20_000);
      // Not a wait for a condition: a child process does not show its parked fetches; this lets
      // the long polls park before the produce that wakes them.
      await elapse(300);
      await produce(c, 'pipelined-longpoll', ['wake']);
      const got = await reading;
      got.forEach((f, i) => assert.equal(f.readInt32BE(0), 8000 + i));
    } finally {
      s.destroy();
    }
  });

  test('DescribeCluster v0..v2 describes this broker', async () => {
    const md = await c.request(ApiKey.Metadata, 12, metadataAll);
    for (const version of [0, 1, 2]) {
      const body: Record<string, unknown> = { includeClusterAuthorizedOperations: false, endpointType: 1, includeFencedBrokers: false };
      const r = await c.request(ApiKey.DescribeCluster, version, body);
      assert.equal(r.body.errorCode, ErrorCode.NONE, `v${version}`);
      assert.equal(r.body.clusterId, md.body.clusterId);
      assert.equal(r.body.controllerId, 1);
      assert.deepEqual(
        r.body.brokers.map((b: { brokerId: number; host: string; port: number; rack: string | null }) => ({ brokerId: b.brokerId, host: b.host, port: b.port, rack: b.rack })),
        [{ brokerId: 1, host: '127.0.0.1', port: broker.port, rack: null }],
      );
      assert.equal(r.body.clusterAuthorizedOperations, UNREQUESTED_OPERATIONS);
      const withOps = await c.request(ApiKey.DescribeCluster, version, { ...body, includeClusterAuthorizedOperations: true });
      assert.notEqual(withOps.body.clusterAuthorizedOperations, UNREQUESTED_OPERATIONS);
      if (version >= 1) {
        const controllers = await c.request(ApiKey.DescribeCluster, version, { ...body, endpointType: 2 });
        assert.equal(controllers.body.errorCode, ErrorCode.UNSUPPORTED_ENDPOINT_TYPE);
      }
    }
  });
});

describe('shutdown', () => {
  test('SIGTERM exits 0 and writes the clean shutdown marker; the next start recovers nothing', async (t) => {
    const broker = await withBroker(t, { process: true });
    const { dataDir } = broker;
    // A first start, on a directory without logs, has nothing to recover and does not say it has.
    assert.ok(broker.logs.some((l) => l.msg === 'log directory holds no logs to recover'));
    assert.ok(!broker.logs.some((l) => l.msg === 'log directory needs recovery'));
    const c = await RawClient.connect(broker.port);
    await createTopic(c, 'shutdown');
    await produce(c, 'shutdown', ['one', 'two', 'three']);
    // A parked long poll must not hold the shutdown up.
    const parked = c.request(ApiKey.Fetch, 12, fetchRequest('shutdown', 3, 30_000)).catch(() => undefined);
    // Not a wait for a condition: a child process does not show its parked fetches; this lets
    // the long poll park before the SIGTERM.
    await elapse(200);
    const stopping = Date.now();
    assert.equal(await broker.stop(), 0, 'exit code 0');
    assert.ok(Date.now() - stopping < 10_000, 'prompt shutdown');
    await parked;
    c.close();
    assert.ok(existsSync(join(dataDir, CLEAN_SHUTDOWN_MARKER)), 'clean shutdown marker written');
    const msgs = broker.logs.map((l) => l.msg);
    assert.ok(msgs.includes('log directory closed cleanly'), JSON.stringify(msgs));

    await broker.restart();
    const opened = broker.logs.find((l) => l.msg === 'log directory was shut down cleanly');
    assert.ok(opened, 'the restart saw a clean shutdown');
    assert.equal(opened.hadCleanShutdown, true);
    const recoveryLines = broker.logs.filter((l) => /recover|rebuilt|truncat/i.test(String(l.msg)));
    assert.deepEqual(recoveryLines, [], 'no recovery after a clean shutdown');
    assert.ok(!existsSync(join(dataDir, CLEAN_SHUTDOWN_MARKER)), 'the marker is consumed while running');
    const c2 = await RawClient.connect(broker.port);
    const r = await c2.request<FetchResponse>(ApiKey.Fetch, 12, fetchRequest('shutdown', 0));
    const values = [...splitBatches(r.body.responses[0]!.partitions[0]!.records!)].flatMap((b) => decodeBatchRecords(b)).map((x) => x.value!.toString());
    assert.deepEqual(values, ['one', 'two', 'three']);
    c2.close();

    // By contrast, a crash leaves no marker and the next start says so.
    await broker.kill();
    assert.ok(!existsSync(join(dataDir, CLEAN_SHUTDOWN_MARKER)));
    await broker.restart();
    assert.ok(broker.logs.some((l) => l.msg === 'log directory needs recovery'));
    assert.ok(!broker.logs.some((l) => l.msg === 'log directory was shut down cleanly'));
  });
});
