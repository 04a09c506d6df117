// When a request ends for its TotalTimeMs and ResponseSendTimeMs: once its response's bytes are
// in the kernel. A response the socket writes at once ends there and then; Node would run its
// write callback only from the tick queue, after every promise continuation the same turn queued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { waitUntil } from '../helpers/wait.js';
import { apiVersionsV0Frame, emptyResponseFrame, loopbackConnection } from '../helpers/loopback-connection.js';

test('a response the kernel takes at once ends its request then, not when its write callback runs', async () => {
  const clock = new ManualClock(1000);
  const sendTimes: number[] = [];
  const loopback = await loopbackConnection(
    (_frame, _conn, times) => {
      times!.sink = { requestEnded: (t, endedAt) => sendTimes.push(endedAt - t.sendStartedAt) };
      return Promise.resolve().then(() => {
        // Queued now, this chain's second step runs after the response is written and before
        // the tick queue: as a produce's wake of the fetches parked on its partition does.
        void Promise.resolve()
          .then(() => undefined)
          .then(() => clock.set(clock.now() + 50));
        return emptyResponseFrame(7);
      });
    },
    { clock, maxPendingWriteBytes: 1 << 20 },
  );
  try {
    loopback.client.write(apiVersionsV0Frame(7));
    await waitUntil(() => loopback.received() === 8 && sendTimes.length === 1);
    assert.equal(clock.now(), 1050, 'the clock moved after the write');
    assert.deepEqual(sendTimes, [0], 'the request ended when the socket wrote its response');
  } finally {
    await loopback.close();
  }
});
