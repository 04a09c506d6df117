// A request announcing the response bytes it may produce (a fetch) is granted them at once, with
// no promise to await, when nothing waits before it; behind an earlier request's announced bytes
// beyond the bound it gets a promise that resolves once that response is written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/common/clock.js';
import { waitUntil } from '../helpers/wait.js';
import { apiVersionsV0Frame, emptyResponseFrame, loopbackConnection } from '../helpers/loopback-connection.js';

test('response bytes are granted at once when nothing waits, later behind a pending announcement', async () => {
  const grants: { correlationId: number; immediate: boolean; granted: boolean }[] = [];
  let answerFirst: (() => void) | null = null;
  const loopback = await loopbackConnection(
    (frame, connection) => {
      const correlationId = frame.readInt32BE(4);
      const wait = connection.reserveResponseBytes(800);
      const entry = { correlationId, immediate: wait === undefined, granted: wait === undefined };
      grants.push(entry);
      const response = emptyResponseFrame(correlationId);
      if (wait === undefined) return new Promise<Buffer>((resolve) => (answerFirst = () => resolve(response)));
      return wait.then(() => {
        entry.granted = true;
        return response;
      });
    },
    { clock: new ManualClock(1000), maxPendingWriteBytes: 1000 },
  );
  try {
    loopback.client.write(apiVersionsV0Frame(1));
    await waitUntil(() => grants.length === 1);
    assert.deepEqual(grants[0], { correlationId: 1, immediate: true, granted: true }, 'a request alone is granted at once');
    // 800 + 800 announced > 1000: the second waits for the first's response to be written.
    loopback.client.write(apiVersionsV0Frame(2));
    await waitUntil(() => grants.length === 2);
    assert.deepEqual(grants[1], { correlationId: 2, immediate: false, granted: false });
    answerFirst!();
    await waitUntil(() => loopback.received() === 16);
    assert.equal(grants[1]?.granted, true);
  } finally {
    await loopback.close();
  }
});
