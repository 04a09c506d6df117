// How a connection reads requests off its socket: into the shared scratch buffer, or for a large
// request straight into the request's own buffer (src/network/user-buffer-reads.ts), or, where
// that is unavailable, through 'data' events. Every path must hand the handler the same frames,
// whole and in order, however the client's bytes are split, and give back its pool bytes.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import pino from 'pino';
import { Connection } from '../../src/network/connection.js';
import { MemoryPool } from '../../src/network/memory-pool.js';
import { systemClock } from '../../src/common/clock.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const logger = pino({ level: 'silent' });

interface Rig {
  server: Server;
  client: Socket;
  conn: Connection;
  pool: MemoryPool;
  /** sha256 of every frame the handler got, in order. */
  seen: string[];
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.client.destroy();
    r.conn.close();
    await new Promise((resolve) => r.server.close(resolve));
  }
});

/** A listener with one Connection; `paused` accepts as the broker does (reads into our buffers). */
async function rig(paused: boolean, poolBytes = 64 * MiB): Promise<Rig> {
  const pool = new MemoryPool(poolBytes);
  const seen: string[] = [];
  const limits = { maxRequestBytes: 8 * MiB, maxInFlight: 5, maxPendingWriteBytes: MiB, pool, clock: systemClock };
  let conn: Connection | undefined;
  const server = createServer({ pauseOnConnect: paused }, (socket) => {
    conn = new Connection(
      socket,
      (frame) => {
        seen.push(createHash('sha256').update(frame).digest('hex'));
        // Answered on a later turn, as a handler that writes to the log is.
        return new Promise((resolve) => setImmediate(() => resolve(Buffer.from([0, 0, 0, 1, seen.length & 0xff]))));
      },
      limits,
      logger,
      () => undefined,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const client = connect({ host: '127.0.0.1', port });
  client.on('error', () => undefined);
  client.resume(); // responses are drained and ignored
  await new Promise((resolve) => client.once('connect', resolve));
  await waitUntil(() => conn);
  const r = { server, client, conn: conn!, pool, seen };
  rigs.push(r);
  return r;
}

/** A request frame (size prefix included) of `size` bytes starting with `apiKey`, filled from `seed`. */
function frame(size: number, apiKey: number, seed: number): Buffer {
  const out = Buffer.alloc(4 + size);
  out.writeInt32BE(size, 0);
  let x = seed;
  for (let i = 4; i < out.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  if (size >= 2) out.writeInt16BE(apiKey, 4);
  return out;
}

const sha = (f: Buffer) => createHash('sha256').update(f.subarray(4)).digest('hex');

/** Writes `bytes` in pieces of pseudo-random sizes, now and then on a later turn. */
async function writeSplit(socket: Socket, bytes: Buffer, seed: number): Promise<void> {
  let x = seed;
  let at = 0;
  while (at < bytes.length) {
    x = (x * 1103515245 + 12345) >>> 0;
    const choice = x % 4;
    const len = choice === 0 ? 1 + (x % 7) : choice === 1 ? 1 + (x % 5000) : 1 + (x % 200_000);
    const piece = bytes.subarray(at, Math.min(bytes.length, at + len));
    at += piece.length;
    if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve));
    if (x % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

// Sizes around every threshold of the read path: tiny, the scratch buffer's 64 KiB, the direct
// read minimum, a remainder just under the 8 KiB where direct reads stop, several MiB.
const SIZES = [2, 100, 5000, 65_535, 65_536, 65_537, 70_000, 73_727, 300_000, MiB + 3, 3 * MiB, 17, 64 * 1024 + 8 * 1024 - 1];

for (const paused of [true, false]) {
  const mode = paused ? 'reads into its own buffers' : "reads through 'data' events";
  describe(`a connection that ${mode}`, () => {
    test('gets every request whole and in order, however the client splits them', async () => {
      const r = await rig(paused);
      const frames = SIZES.flatMap((size, i) => [frame(size, i % 2 === 0 ? ApiKey.Produce : ApiKey.Metadata, i + 1), frame(size, ApiKey.Produce, 1000 + i)]);
      for (const seed of [7, 99]) {
        r.seen.length = 0;
        await writeSplit(r.client, Buffer.concat(frames), seed);
        await waitUntil(() => r.seen.length === frames.length, { timeout: 20_000 });
        assert.deepEqual(r.seen, frames.map(sha));
        await waitUntil(() => r.pool.usedBytes === 0 && r.conn.inFlight === 0);
      }
      // The accepted socket reads large requests in place on this Node; 'data' events never do.
      const large = frames.filter((f) => f.length - 4 >= 64 * 1024).reduce((n, f) => n + f.length, 0);
      if (paused) assert.ok(r.conn.directReadBytes > large, `${r.conn.directReadBytes} bytes read in place of ${2 * large}`);
      else assert.equal(r.conn.directReadBytes, 0);
    });

    test('gives back the pool bytes of a request it was halfway through when the client left', async () => {
      const r = await rig(paused);
      const big = frame(2 * MiB, ApiKey.Produce, 5);
      r.client.write(big.subarray(0, MiB));
      await waitUntil(() => r.pool.usedBytes === 2 * MiB);
      r.client.destroy();
      await waitUntil(() => r.conn.isClosed && r.pool.usedBytes === 0);
      assert.equal(r.seen.length, 0);
    });
  });
}

test('a request waits for pool memory, then arrives whole', async () => {
  const r = await rig(true, 2 * MiB);
  // Both large requests are in the socket at once; the second needs the first's bytes back.
  const frames = [frame(3 * MiB, ApiKey.Produce, 1), frame(3 * MiB, ApiKey.Produce, 2), frame(10, ApiKey.Metadata, 3)];
  await writeSplit(r.client, Buffer.concat(frames), 3);
  await waitUntil(() => r.seen.length === 3, { timeout: 20_000 });
  assert.deepEqual(r.seen, frames.map(sha));
  await waitUntil(() => r.pool.usedBytes === 0);
});
