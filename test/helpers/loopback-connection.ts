// A broker-side Connection on a loopback listener and a raw client socket that counts the bytes it
// receives: for tests of how a connection times, budgets and writes responses, without a broker.
import { connect, createServer, type Socket } from 'node:net';
import pino from 'pino';
import { Connection, type FrameHandler } from '../../src/network/connection.js';
import { MemoryPool } from '../../src/network/memory-pool.js';
import type { Clock } from '../../src/common/clock.js';

export interface LoopbackConnection {
  client: Socket;
  /** Response bytes the client has received so far. */
  received(): number;
  close(): Promise<void>;
}

export interface LoopbackLimits {
  clock: Clock;
  /** Stop reading while this many response bytes wait in the socket. */
  maxPendingWriteBytes: number;
}

/** ApiVersions v0 request frame with `correlationId` and no client id. */
export function apiVersionsV0Frame(correlationId: number): Buffer {
  const frame = Buffer.from([0, 0, 0, 8, 0, 18, 0, 0, 0, 0, 0, 0]);
  frame.writeInt32BE(correlationId, 8);
  return frame;
}

/** A response frame carrying only `correlationId`. */
export function emptyResponseFrame(correlationId: number): Buffer {
  const response = Buffer.alloc(8);
  response.writeInt32BE(4, 0);
  response.writeInt32BE(correlationId, 4);
  return response;
}

export async function loopbackConnection(handler: FrameHandler, limits: LoopbackLimits): Promise<LoopbackConnection> {
  const connectionLimits = { maxRequestBytes: 1 << 20, maxInFlight: 5, pool: new MemoryPool(1 << 24), ...limits };
  const server = createServer((socket) => {
    new Connection(socket, handler, connectionLimits, pino({ level: 'silent' }), () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port });
  let received = 0;
  client.on('data', (d: Buffer) => (received += d.length));
  try {
    await new Promise((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
  } catch (err) {
    await new Promise((resolve) => server.close(resolve));
    throw err;
  }
  return {
    client,
    received: () => received,
    close: async () => {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
