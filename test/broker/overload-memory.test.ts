// queued.max.request.bytes on a real broker process: hundreds of raw producers pipelining large
// batches at once cannot push the broker's RSS past a bound, every request is still answered,
// and a well-behaved client is served meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { probeLatency } from '../helpers/overload.js';
import { runProducerFlood } from '../helpers/producer-flood.js';

const CONNECTIONS = Number(process.env.OVERLOAD_CONNECTIONS ?? 200);
const REQUESTS_PER_CONNECTION = Number(process.env.OVERLOAD_REQUESTS ?? 2);
const BATCH_BYTES = Number(process.env.OVERLOAD_BATCH_BYTES ?? 1024 * 1024);
const POOL_BYTES = Number(process.env.OVERLOAD_POOL_BYTES ?? 32 * 1024 * 1024);
/** RSS growth allowed over the idle broker: the pool, one frame of overshoot, per-socket buffers and GC slack. */
const MAX_GROWTH_MIB = Number(process.env.OVERLOAD_MAX_GROWTH_MIB ?? 200);

const broker = suiteBroker({
  process: true,
  config: {
    'queued.max.request.bytes': POOL_BYTES,
    'socket.request.max.bytes': 2 * 1024 * 1024,
    'message.max.bytes': 2 * 1024 * 1024,
    'log.segment.bytes': 64 * 1024 * 1024,
    // Retention would not run during the test; the data simply goes to the temp dir.
  },
});

test(`${CONNECTIONS} producers × ${REQUESTS_PER_CONNECTION} pipelined ${BATCH_BYTES >> 10} KiB batches stay under the memory bound`, async () => {
  const result = await runProducerFlood({
    port: broker.port,
    pid: broker.child.pid!,
    connections: CONNECTIONS,
    requestsPerConnection: REQUESTS_PER_CONNECTION,
    batchBytes: BATCH_BYTES,
    timeoutMs: 120_000,
    probe: (limitMs) => probeLatency(broker.port, limitMs),
  });
  const growth = result.peakRssMiB - result.baselineRssMiB;
  console.log(
    `# flood: ${CONNECTIONS} connections × ${REQUESTS_PER_CONNECTION} × ${BATCH_BYTES} B, pool ${POOL_BYTES} B: ` +
      `baseline ${result.baselineRssMiB.toFixed(0)} MiB, peak ${result.peakRssMiB.toFixed(0)} MiB, max probe ${result.maxProbeMs} ms, ` +
      `${result.probeFailures} probes unanswered in 10 s, ${result.elapsedMs} ms`,
  );
  assert.equal(result.probeFailures, 0, 'a fresh client is answered within 10 s during the flood');
  assert.equal(result.answered, CONNECTIONS * REQUESTS_PER_CONNECTION, 'every produce request is answered');
  assert.equal(result.errors, 0, 'no produce failed');
  assert.ok(growth < MAX_GROWTH_MIB, `RSS grew by ${growth.toFixed(0)} MiB (bound ${MAX_GROWTH_MIB} MiB)`);
});
