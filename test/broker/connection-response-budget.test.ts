// A request announcing the response bytes it may produce (a fetch) is granted them at once, with
// no promise to await, when nothing waits before it; behind an earlier request's announced bytes
// beyond the bound it gets a promise that resolves once that response is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import pino from 'pino';
import { Connection } from '../../src/network/connection.js';
import { MemoryPool } from '../../src/network/memory-pool.js';
import { ManualClock } from '../../src/common/clock.js';
import { waitUntil } from '../helpers/wait.js';

/** ApiVersions v0 frame with `correlationId` and no client id (the handler below ignores its body). */
function requestFrame(correlationId: number): Buffer {
  const frame = Buffer.from([0, 0, 0, 8, 0, 18, 0, 0, 0, 0, 0, 0]);
  frame.writeInt32BE(correlationId, 8);
  return frame;
}

test('response bytes are granted at once when nothing waits, later behind a pending announcement', async () => {
  const clock = new ManualClock(1000);
  const limits = { maxRequestBytes: 1 << 20, maxInFlight: 5, maxPendingWriteBytes: 1000, pool: new MemoryPool(1 << 24), clock };
  const grants: { correlationId: number; immediate: boolean; granted: boolean }[] = [];
  let answerFirst: (() => void) | null = null;
  const server = createServer();
  let connection: Connection | null = null;
  server.on('connection', (socket) => {
    connection = new Connection(
      socket,
      (frame) => {
        const correlationId = frame.readInt32BE(4);
        const wait = connection!.reserveResponseBytes(800);
        const entry = { correlationId, immediate: wait === undefined, granted: wait === undefined };
        grants.push(entry);
        const response = Buffer.alloc(8);
        response.writeInt32BE(4, 0);
        response.writeInt32BE(correlationId, 4);
        if (wait === undefined) return new Promise<Buffer>((resolve) => (answerFirst = () => resolve(response)));
        return wait.then(() => {
          entry.granted = true;
          return response;
        });
      },
      limits,
      pino({ level: 'silent' }),
      () => undefined,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  try {
    await new Promise((resolve) => client.once('connect', resolve));
    let received = 0;
    client.on('data', (d) => (received += d.length));
    client.write(requestFrame(1));
    await waitUntil(() => grants.length === 1);
    assert.deepEqual(grants[0], { correlationId: 1, immediate: true, granted: true }, 'a request alone is granted at once');
    // 800 + 800 announced > 1000: the second waits for the first's response to be written.
    client.write(requestFrame(2));
    await waitUntil(() => grants.length === 2);
    assert.deepEqual(grants[1], { correlationId: 2, immediate: false, granted: false });
    answerFirst!();
    await waitUntil(() => received === 16);
    assert.equal(grants[1]?.granted, true);
  } finally {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
