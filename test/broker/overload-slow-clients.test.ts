// Slow and hostile clients on a real broker process: a client that starts a request and never
// finishes it (slowloris), one that trickles a request holding the whole request memory pool,
// and a consumer that never reads its socket cannot stall a well-behaved client for longer than
// the configured timeouts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { connectFrom, probeLatency } from '../helpers/overload.js';
import { elapse, waitUntil } from '../helpers/wait.js';
import { createTopic, fetchOne, produceRequest } from '../helpers/requests.js';
import { ApiKey, type ProduceResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';

const POOL = 4 * 1024 * 1024;
const READ_TIMEOUT_MS = 1500;
const IDLE_MS = 3000;
const broker = suiteBroker({
  process: true,
  config: {
    'queued.max.request.bytes': POOL,
    'socket.request.max.bytes': POOL,
    'message.max.bytes': 2 * 1024 * 1024,
    'socket.request.read.timeout.ms': READ_TIMEOUT_MS,
    'connections.max.idle.ms': IDLE_MS,
  },
});
let client: RawClient;

before(async () => {
  await broker.ready;
  client = await RawClient.connect(broker.port);
  await createTopic(client, 'slow', 1, { 'max.message.bytes': String(2 * 1024 * 1024) });
});

after(() => client?.close());

function closedWithin(s: Socket, ms: number): Promise<boolean> {
  if (s.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    s.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Writes one byte every `everyMs` until the socket closes or `max` bytes went out. */
function trickle(s: Socket, everyMs: number, max: number): () => void {
  let sent = 0;
  const timer = setInterval(() => {
    if (s.destroyed || sent >= max) return clearInterval(timer);
    s.write(Buffer.from([0x00]));
    sent++;
  }, everyMs);
  return () => clearInterval(timer);
}

async function produceOk(value: Buffer): Promise<void> {
  const r = await client.request<ProduceResponse>(ApiKey.Produce, 9, produceRequest('slow', 0, buildRecordBatch({ records: [{ value }] })));
  assert.equal(r.body.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
}

test('a client that sends part of a size prefix and stops is closed after the read timeout', async () => {
  const s = await connectFrom(broker.port);
  s.on('error', () => undefined);
  s.write(Buffer.from([0x00, 0x00]));
  await probeLatency(broker.port, 1000);
  assert.equal(await closedWithin(s, READ_TIMEOUT_MS * 4), true, 'the half-sent request is given up');
  // The log line comes through the child's stdout, possibly a moment after the socket closed.
  const logged = () => broker.logs.some((l) => String(l.msg) === 'closing connection: request not received in time');
  await waitUntil(logged, { timeout: 5000, message: 'the close to be logged' });
});

test('a slowloris trickling a small request does not slow anyone down and is closed', async () => {
  const s = await connectFrom(broker.port);
  s.on('error', () => undefined);
  const header = Buffer.alloc(4);
  header.writeInt32BE(1000);
  s.write(header);
  const stop = trickle(s, 100, 1000);
  try {
    for (let i = 0; i < 5; i++) {
      await probeLatency(broker.port, 1000);
      await produceOk(Buffer.alloc(1000, i));
    }
    assert.equal(await closedWithin(s, READ_TIMEOUT_MS * 4), true, 'trickling does not count as progress forever');
  } finally {
    stop();
    s.destroy();
  }
});

test('a slowloris holding the whole request pool blocks others at most for the read timeout', async () => {
  const s = await connectFrom(broker.port);
  s.on('error', () => undefined);
  const header = Buffer.alloc(4);
  header.writeInt32BE(POOL);
  s.write(header);
  const stop = trickle(s, 100, 1000);
  try {
    // Not a wait for a condition: a broker process does not show its pool; time for the
    // slowloris's size prefix to reserve it.
    await elapse(100);
    const started = Date.now();
    // This produce needs pool memory, which the slowloris holds until it is closed.
    await produceOk(Buffer.alloc(1024 * 1024, 7));
    const waited = Date.now() - started;
    assert.ok(waited < READ_TIMEOUT_MS * 4 + 2000, `the produce waited ${waited} ms`);
    assert.equal(s.destroyed || (await closedWithin(s, 100)), true, 'the slowloris was closed to free the pool');
  } finally {
    stop();
    s.destroy();
  }
});

test('a consumer that never reads its socket stalls nobody and is closed when idle', async () => {
  await produceOk(Buffer.alloc(1024 * 1024, 9));
  const s = await connectFrom(broker.port);
  s.on('error', () => undefined);
  s.pause();
  // 100 pipelined 1 MiB fetches; the responses cannot all fit in the socket buffers.
  const frames: Buffer[] = [];
  for (let i = 0; i < 100; i++) frames.push(RawClient.frame(ApiKey.Fetch, 12, 100 + i, fetchOne('slow', 0, 0, { maxBytes: 2 * 1024 * 1024 })));
  s.write(Buffer.concat(frames));
  // Not a wait for a condition: time for the broker to fill the socket buffers it cannot send.
  await elapse(300);
  for (let i = 0; i < 5; i++) {
    await probeLatency(broker.port, 1000);
    await produceOk(Buffer.alloc(1000, i));
    const f = await client.request(ApiKey.Fetch, 12, fetchOne('slow', 0, 0, { maxBytes: 1024 }));
    assert.equal(f.body.responses[0].partitions[0].errorCode, ErrorCode.NONE);
  }
  // A paused socket reports no close while unread data waits: read after the idle timeout passed.
  await elapse(IDLE_MS * 2); // the idle timeout of the broker process's clock is the subject
  let received = 0;
  s.on('data', (d: Buffer) => (received += d.length));
  s.resume();
  assert.equal(await closedWithin(s, 5000), true, 'connections.max.idle.ms closed the connection that stopped reading');
  console.log(`# the non-reading client got ${received} bytes after resuming`);
  // The broker dropped what it had not sent: far less than the 100 MiB asked for.
  assert.ok(received < 24 * 1024 * 1024, `the client still received ${received} bytes`);
});
