// How a connection reads requests off its socket: into the shared scratch buffer, or for a large
// request straight into the request's own buffer (src/network/user-buffer-reads.ts), or, where
// that is unavailable, through 'data' events; on plain and TLS sockets. Every path must hand the
// handler the same frames, whole and in order, however the client's bytes are split, and give
// back its pool bytes.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import pino from 'pino';
import { readFileSync } from 'node:fs';
import { Connection, type FrameHandler } from '../../src/network/connection.js';
import { MemoryPool } from '../../src/network/memory-pool.js';
import { systemClock } from '../../src/common/clock.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { waitUntil } from '../helpers/wait.js';
import { makePki } from '../helpers/certs.js';

const MiB = 1024 * 1024;
const logger = pino({ level: 'silent' });
const pki = makePki();
after(() => pki.cleanup());

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

/**
 * How the rig's listener hands sockets to its Connection: accepted paused (as the broker's plain
 * listener does), accepted reading (so through 'data' events), or over TLS at 'secureConnection'
 * (as the broker's TLS listeners do).
 */
type Mode = 'paused' | 'data' | 'tls';

interface RigOptions {
  poolBytes?: number;
  /** TLS: the Connection is made only once the socket holds decrypted bytes nobody has read. */
  lateConnection?: boolean;
  /** TLS: what the client writes right after connecting, before its handshake is done. */
  early?: Buffer;
  /** TLS: the highest protocol version the client offers. */
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Instead of the default handler (which hashes each frame and answers on a later turn). */
  handler?: FrameHandler;
}

/** A listener with one Connection, and a client connected to it. */
async function rig(mode: Mode, opts: RigOptions = {}): Promise<Rig & { raw: Socket; rawBytesReadAtSecure: number }> {
  const pool = new MemoryPool(opts.poolBytes ?? 64 * MiB);
  const seen: string[] = [];
  const limits = { maxRequestBytes: 8 * MiB, maxInFlight: 5, maxPendingWriteBytes: MiB, pool, clock: systemClock };
  let conn: Connection | undefined;
  let rawBytesReadAtSecure = -1;
  const makeConnection = (socket: Socket) => {
    conn = new Connection(
      socket,
      opts.handler ??
        ((frame) => {
          seen.push(createHash('sha256').update(frame).digest('hex'));
          // Answered on a later turn, as a handler that writes to the log is.
          return new Promise((resolve) => setImmediate(() => resolve(Buffer.from([0, 0, 0, 1, seen.length & 0xff]))));
        }),
      limits,
      logger,
      () => undefined,
    );
  };
  let server: Server;
  if (mode === 'tls') {
    server = createTlsServer({ key: readFileSync(pki.serverKeyFile), cert: readFileSync(pki.serverCertFile) }, (socket: TLSSocket) => {
      // The TCP bytes read so far: with them, the client's first requests may already be in.
      rawBytesReadAtSecure = (socket as unknown as { _parent: Socket })._parent.bytesRead;
      if (!opts.lateConnection) return makeConnection(socket);
      const later = () => (socket.readableLength > 0 ? makeConnection(socket) : setImmediate(later));
      later();
    });
  } else {
    server = createServer({ pauseOnConnect: mode === 'paused' }, makeConnection);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  let client: Socket;
  let raw: Socket;
  if (mode === 'tls') {
    raw = connect({ host: '127.0.0.1', port });
    raw.on('error', () => undefined);
    const tlsClient = tlsConnect({ socket: raw, ca: readFileSync(pki.caFile), servername: 'localhost', maxVersion: opts.maxVersion ?? 'TLSv1.3' });
    if (opts.early) tlsClient.write(opts.early);
    client = tlsClient;
    await new Promise((resolve) => tlsClient.once('secureConnect', resolve));
  } else {
    client = raw = connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => client.once('connect', resolve));
  }
  client.on('error', () => undefined);
  client.resume(); // responses are drained and ignored
  await waitUntil(() => conn);
  const r = { server, client, raw, conn: conn!, pool, seen, rawBytesReadAtSecure };
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

const MODES: Record<Mode, string> = {
  paused: 'reads into its own buffers',
  data: "reads through 'data' events",
  tls: 'reads TLS into its own buffers',
};

/** Many requests of every size class, Produce and not. */
function mixedFrames(seed: number): Buffer[] {
  return SIZES.flatMap((size, i) => [frame(size, i % 2 === 0 ? ApiKey.Produce : ApiKey.Metadata, seed + i), frame(size, ApiKey.Produce, seed + 1000 + i)]);
}

const largeBytes = (frames: Buffer[]) => frames.filter((f) => f.length - 4 >= 64 * 1024).reduce((n, f) => n + f.length, 0);

for (const mode of ['paused', 'data', 'tls'] as const) {
  describe(`a connection that ${MODES[mode]}`, () => {
    test('gets every request whole and in order, however the client splits them', async () => {
      const r = await rig(mode);
      const frames = mixedFrames(1);
      for (const seed of [7, 99]) {
        r.seen.length = 0;
        await writeSplit(r.client, Buffer.concat(frames), seed);
        await waitUntil(() => r.seen.length === frames.length, { timeout: 20_000 });
        assert.deepEqual(r.seen, frames.map(sha));
        await waitUntil(() => r.pool.usedBytes === 0 && r.conn.inFlight === 0);
      }
      // The accepted socket reads large requests in place on this Node; 'data' events never do.
      const large = largeBytes(frames);
      if (mode !== 'data') assert.ok(r.conn.directReadBytes > large, `${r.conn.directReadBytes} bytes read in place of ${2 * large}`);
      else assert.equal(r.conn.directReadBytes, 0);
    });

    test('gives back the pool bytes of a request it was halfway through when the client left', async () => {
      const r = await rig(mode);
      const big = frame(2 * MiB, ApiKey.Produce, 5);
      r.client.write(big.subarray(0, MiB));
      await waitUntil(() => r.pool.usedBytes === 2 * MiB);
      r.client.destroy();
      await waitUntil(() => r.conn.isClosed && r.pool.usedBytes === 0);
      assert.equal(r.seen.length, 0);
    });

    test('gives back the pool bytes of a request it was halfway through when the client reset', async () => {
      const r = await rig(mode);
      const big = frame(2 * MiB, ApiKey.Produce, 6);
      r.client.write(big.subarray(0, MiB));
      await waitUntil(() => r.pool.usedBytes === 2 * MiB);
      // An RST: a read error rather than an end (under TLS, one the TLS layer passes on).
      r.raw.resetAndDestroy();
      await waitUntil(() => r.conn.isClosed && r.pool.usedBytes === 0);
      assert.equal(r.seen.length, 0);
    });
  });
}

for (const mode of ['paused', 'tls'] as const) {
  test(`a request waits for pool memory, then arrives whole (${mode})`, async () => {
    const r = await rig(mode, { poolBytes: 2 * MiB });
    // Both large requests are in the socket at once; the second needs the first's bytes back.
    const frames = [frame(3 * MiB, ApiKey.Produce, 1), frame(3 * MiB, ApiKey.Produce, 2), frame(10, ApiKey.Metadata, 3)];
    await writeSplit(r.client, Buffer.concat(frames), 3);
    await waitUntil(() => r.seen.length === 3, { timeout: 20_000 });
    assert.deepEqual(r.seen, frames.map(sha));
    await waitUntil(() => r.pool.usedBytes === 0);
  });
}

describe('a TLS connection switched at its handshake', () => {
  test("gets a TLS 1.3 client's first requests sent behind its Finished, in the same read", async () => {
    // The handshake's bytes alone, then the same handshake with requests written before it was
    // done: the client sends them with its Finished, and the server had read them by the time
    // 'secureConnection' came (the same TCP read), yet no byte is lost.
    const alone = await rig('tls', { maxVersion: 'TLSv1.3' });
    const handshake = alone.rawBytesReadAtSecure;
    const frames = [frame(100, ApiKey.Metadata, 1), frame(2000, ApiKey.Produce, 2), frame(17, ApiKey.Metadata, 3)];
    const early = Buffer.concat(frames);
    const r = await rig('tls', { maxVersion: 'TLSv1.3', early });
    assert.ok(r.rawBytesReadAtSecure >= handshake + early.length, `${r.rawBytesReadAtSecure} bytes read at the handshake's end, ${handshake} for the handshake alone`);
    await waitUntil(() => r.seen.length === frames.length);
    assert.deepEqual(r.seen, frames.map(sha));
  });

  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    test(`gets every request of a ${maxVersion} client that pipelines many right away`, async () => {
      const frames = mixedFrames(50);
      const r = await rig('tls', { maxVersion, early: Buffer.concat(frames) });
      await waitUntil(() => r.seen.length === frames.length, { timeout: 20_000 });
      assert.deepEqual(r.seen, frames.map(sha));
      await waitUntil(() => r.pool.usedBytes === 0 && r.conn.inFlight === 0);
      assert.ok(r.conn.directReadBytes > largeBytes(frames) / 2, `${r.conn.directReadBytes} bytes read in place`);
    });
  }

  test("stays on 'data' events, losing nothing, when decrypted bytes already wait in the socket", async () => {
    const frames = mixedFrames(70);
    const r = await rig('tls', { early: Buffer.concat(frames), lateConnection: true });
    await waitUntil(() => r.seen.length === frames.length, { timeout: 20_000 });
    assert.deepEqual(r.seen, frames.map(sha));
    assert.equal(r.conn.directReadBytes, 0);
    await waitUntil(() => r.pool.usedBytes === 0 && r.conn.inFlight === 0);
  });

  test('answers with empty pieces without disturbing the read under way', async () => {
    // Answered at once, inside the read that completed the request: an empty write there would
    // make Node decrypt the next bytes into the buffer that read still holds, the end of a
    // request read in place, and hand them over ahead of the rest of its chunk.
    const kept: Buffer[] = [];
    const handler: FrameHandler = (f) => {
      kept.push(f);
      return [Buffer.alloc(0)];
    };
    const frames = Array.from({ length: 60 }, (_, i) => frame(i % 3 === 0 ? 100_000 + i * 997 : 50 + i, ApiKey.Metadata, 300 + i));
    const r = await rig('tls', { handler, early: Buffer.concat(frames) });
    // Disturbed, the bytes come out of order and the connection soon reads a bad size and closes.
    await waitUntil(() => kept.length === frames.length || r.conn.isClosed, { timeout: 20_000 });
    assert.deepEqual(
      kept.map((f) => createHash('sha256').update(f).digest('hex')),
      frames.map(sha),
    );
    assert.ok(r.conn.directReadBytes > 0);
  });
});
