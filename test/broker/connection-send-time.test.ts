// When a request ends for its TotalTimeMs and ResponseSendTimeMs: once its response's bytes are
// in the kernel. A response the socket writes at once ends there and then; Node would run its
// write callback only from the tick queue, after every promise continuation the same turn queued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import pino from 'pino';
import { Connection } from '../../src/network/connection.js';
import { MemoryPool } from '../../src/network/memory-pool.js';
import { ManualClock } from '../../src/common/clock.js';
import { waitUntil } from '../helpers/wait.js';

test('a response the kernel takes at once ends its request then, not when its write callback runs', async () => {
  const clock = new ManualClock(1000);
  const sendTimes: number[] = [];
  const limits = { maxRequestBytes: 1 << 20, maxInFlight: 5, maxPendingWriteBytes: 1 << 20, pool: new MemoryPool(1 << 24), clock };
  const server = createServer((socket) => {
    new Connection(
      socket,
      (_frame, _conn, times) => {
        times!.sink = { requestEnded: (t, endedAt) => sendTimes.push(endedAt - t.sendStartedAt) };
        return Promise.resolve().then(() => {
          // Queued now, this chain's second step runs after the response is written and before
          // the tick queue: as a produce's wake of the fetches parked on its partition does.
          void Promise.resolve()
            .then(() => undefined)
            .then(() => clock.set(clock.now() + 50));
          return Buffer.from([0, 0, 0, 4, 0, 0, 0, 7]);
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
    // A request frame: size 8, then ApiVersions v0 with correlation id 7 and no client id.
    client.write(Buffer.from([0, 0, 0, 8, 0, 18, 0, 0, 0, 0, 0, 7]));
    await waitUntil(() => received === 8 && sendTimes.length === 1);
    assert.equal(clock.now(), 1050, 'the clock moved after the write');
    assert.deepEqual(sendTimes, [0], 'the request ended when the socket wrote its response');
  } finally {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
