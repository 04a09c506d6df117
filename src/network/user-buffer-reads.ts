// Socket reads into buffers the connection chooses, instead of a fresh one per read.
//
// Why: for every read of a socket, Node allocates a new 64 KiB ArrayBuffer. V8 counts each one
// against the old generation's limit until the next full collection, so a produce load of a few
// hundred MB/s made the broker run a full mark-compact every ~60 MB of input (30 per 2 GB of
// franz-go produce on this machine), although its live heap stayed at ~9 MB. Reading a large
// request straight into its own (pooled) frame buffer, and everything else into one shared
// scratch buffer that is copied out at once, allocates nothing per read for the bytes that
// matter: those 30 collections became 1, and the broker's CPU for the same load fell by a
// quarter.
//
// Node's public way to do this, the `onread` option, exists only for sockets the process
// connects itself, not for those a server accepts. The same machinery is switched on here
// through the socket's own fields, found by their names, and only when every one of them is
// there: otherwise the socket stays on 'data' events and the caller reads as before. The socket
// must not have started reading yet (a server created with `pauseOnConnect`).
import type { Socket } from 'node:net';

export interface UserBufferReads {
  /** The buffer the next read fills (called after every read, and once now). */
  next(): Buffer;
  /** `n` bytes were read into the start of `buf`, the buffer `next` returned last. */
  onRead(n: number, buf: Buffer): void;
}

interface NodeSocketInternals {
  _handle?: { useUserBuffer?: (buf: Uint8Array) => void } | null;
  [key: symbol]: unknown;
}

/**
 * Switches `socket` to reads into the buffers `reads.next()` returns; the bytes arrive at
 * `reads.onRead` and never as 'data' events. Returns false (and changes nothing) where this
 * Node's sockets lack the fields it needs, or on a TLS socket, whose reads are decrypted
 * elsewhere.
 */
export function readIntoUserBuffers(socket: Socket, reads: UserBufferReads): boolean {
  if ((socket as { encrypted?: boolean }).encrypted) return false;
  const internals = socket as unknown as NodeSocketInternals;
  const handle = internals._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') return false;
  const symbols = Object.getOwnPropertySymbols(socket);
  const field = (name: string) => symbols.find((s) => s.description === name);
  const buffer = field('kBuffer');
  const generator = field('kBufferGen');
  const callback = field('kBufferCb');
  if (!buffer || !generator || !callback) return false;
  // A socket created without `onread` has these fields, all null.
  if (internals[buffer] != null || internals[generator] != null || internals[callback] != null) return false;
  const first = reads.next();
  internals[buffer] = first;
  internals[generator] = () => reads.next();
  internals[callback] = (n: number, buf: Buffer) => {
    reads.onRead(n, buf);
  };
  handle.useUserBuffer(first);
  return true;
}
