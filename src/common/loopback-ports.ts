// Ports on 127.0.0.1 for the processes we start ourselves (etcd for cluster mode, the bench's
// brokers, the build's training broker): one that is free now, and whether one accepts.
import { createConnection, createServer, type AddressInfo } from 'node:net';

/** A port that was free on 127.0.0.1 a moment ago (another process may still take it first). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
export function loopbackAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
