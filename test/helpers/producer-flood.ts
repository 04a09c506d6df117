// A flood of raw producers against a broker process, shared by the memory test and the
// RELIABILITY.md measurement script: every connection pipelines its requests in one write.
import { connect, type Socket } from 'node:net';
import { RawClient } from './raw-client.js';
import { rssMiB } from './overload.js';
import { elapse } from './wait.js';
import { produceRequest } from './requests.js';
import { ApiKey, apiByKey, type CreateTopicsResponse, type ProduceResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Reader } from '../../src/protocol/primitives.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';

export interface FloodOptions {
  port: number;
  pid: number;
  connections: number;
  requestsPerConnection: number;
  batchBytes: number;
  timeoutMs: number;
  topic?: string;
  partitions?: number;
  /** Called every 500 ms during the flood; returns a probe latency. */
  probe?: (limitMs: number) => Promise<number>;
}

export interface FloodResult {
  baselineRssMiB: number;
  peakRssMiB: number;
  answered: number;
  errors: number;
  maxProbeMs: number;
  /** Probes not answered within their limit (or whose connection failed). */
  probeFailures: number;
  elapsedMs: number;
}

function connectSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Counts the produce responses on a socket and their error codes. */
function countResponses(socket: Socket, expected: number, onResponse: (errorCode: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let seen = 0;
    socket.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const size = buf.readInt32BE(0);
        const r = new Reader(buf.subarray(4, 4 + size));
        buf = buf.subarray(4 + size);
        r.int32();
        const res = apiByKey.get(ApiKey.Produce)!.decodeResponse(r, 8) as ProduceResponse;
        onResponse(res.responses[0]!.partitionResponses[0]!.errorCode);
        if (++seen === expected) resolve();
      }
    });
    socket.on('close', () => (seen < expected ? reject(new Error(`connection closed after ${seen} of ${expected} responses`)) : undefined));
    socket.on('error', () => undefined);
  });
}

export async function runProducerFlood(o: FloodOptions): Promise<FloodResult> {
  const topic = o.topic ?? 'flood';
  const partitions = o.partitions ?? 8;
  const admin = await RawClient.connect(o.port);
  const created = await admin.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
    topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  if (created.body.topics[0]!.errorCode !== ErrorCode.NONE && created.body.topics[0]!.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
    throw new Error(`CreateTopics failed: ${created.body.topics[0]!.errorCode}`);
  }
  admin.close();

  // One batch, reused by every request: the load is on the broker, not on this process.
  const batch = buildRecordBatch({ records: [{ value: Buffer.alloc(o.batchBytes - 100, 0x61) }] });
  const sockets: Socket[] = [];
  for (let i = 0; i < o.connections; i++) sockets.push(await connectSocket(o.port));
  await elapse(300); // a settling period before the memory baseline, not a wait for a condition
  const baselineRssMiB = rssMiB(o.pid);
  let peakRssMiB = baselineRssMiB;
  let answered = 0;
  let errors = 0;
  let maxProbeMs = 0;
  let probeFailures = 0;
  let done = false;
  const started = Date.now();
  const sampler = (async () => {
    while (!done) {
      peakRssMiB = Math.max(peakRssMiB, rssMiB(o.pid));
      await elapse(100); // the sampling period
    }
  })();
  const prober = (async () => {
    while (!done && o.probe) {
      try {
        maxProbeMs = Math.max(maxProbeMs, await o.probe(10_000));
      } catch {
        probeFailures++;
      }
      await elapse(500); // the probing period
    }
  })();
  try {
    const all = sockets.map((s, i) => {
      const frames: Buffer[] = [];
      for (let k = 0; k < o.requestsPerConnection; k++) {
        frames.push(RawClient.frame(ApiKey.Produce, 8, k + 1, produceRequest(topic, (i + k) % partitions, batch, 1), `flood-${i}`));
      }
      const counted = countResponses(s, o.requestsPerConnection, (code) => {
        answered++;
        if (code !== ErrorCode.NONE) errors++;
      });
      for (const f of frames) s.write(f);
      return counted;
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(all),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`flood not answered in ${o.timeoutMs} ms: ${answered} answers`)), o.timeoutMs))),
    ]);
    clearTimeout(timer);
  } finally {
    done = true;
    await sampler;
    await prober;
    for (const s of sockets) s.destroy();
  }
  peakRssMiB = Math.max(peakRssMiB, rssMiB(o.pid));
  return { baselineRssMiB, peakRssMiB, answered, errors, maxProbeMs, probeFailures, elapsedMs: Date.now() - started };
}
