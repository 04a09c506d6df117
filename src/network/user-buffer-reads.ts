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
// there: otherwise the socket stays on 'data' events and the caller reads as before.
//
// The switch must come before the socket hands out its first byte: a plain socket accepted
// paused (a server created with `pauseOnConnect`), or a TLS socket in its 'secureConnection'
// event. A TLS socket reads during its handshake, but no plaintext can come out before the
// handshake is done (Node's servers accept no 0-RTT data), and the server learns that inside
// the very SSL_read that decrypts the client's Finished: Node emits 'secureConnection' from
// there, synchronously, and only then copies out the plaintext that followed the Finished (a
// TLS 1.3 client's first requests may share its TCP segment), chunk by chunk (up to 16 KiB),
// each into the buffer the stream's listener names at that moment, which is ours from the
// switch on. Should a byte have come out all the same, it waits in the socket's readable
// buffer: then the switch is refused, and 'data' events deliver it and all that follows.
//
// Over TLS the reads keep two habits the caller must allow for. A pause stops the TCP reads,
// but the plaintext of the last one is still handed over, chunk after chunk, to `onRead`. And
// an empty write makes Node decrypt what it has and hand it over inside the write call: from
// within `onRead` that lands in the buffer the current read still holds, and ahead of the rest
// of its chunk, so the caller must never write an empty buffer.
import type { Socket } from 'node:net';

export interface UserBufferReads {
  /** The buffer the next read fills (called after every read, and once now). */
  next(): Buffer;
  /** `n` bytes were read into the start of `buf`, the buffer `next` returned last. */
  onRead(n: number, buf: Buffer): void;
}

interface NodeSocketInternals {
  _handle?: { useUserBuffer?: (buf: Uint8Array) => unknown } | null;
  [key: symbol]: unknown;
}

/**
 * Switches `socket` to reads into the buffers `reads.next()` returns; the bytes arrive at
 * `reads.onRead` and never as 'data' events. Returns false (and changes nothing) where this
 * Node's sockets lack the fields it needs, or where the socket has already handed out bytes
 * or holds some for a reader (they would come out of order).
 */
export function readIntoUserBuffers(socket: Socket, reads: UserBufferReads): boolean {
  if (socket.readableLength > 0 || socket.readableFlowing === true || socket.listenerCount('data') > 0) return false;
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
  // 0 once the stream's new listener is in place; a stream no longer alive (closing) refuses,
  // and its reads, if any, must then not be taken for reads into `first`.
  if (handle.useUserBuffer(first) !== 0) return false;
  internals[buffer] = first;
  internals[generator] = () => reads.next();
  internals[callback] = (n: number, buf: Buffer) => {
    reads.onRead(n, buf);
  };
  return true;
}
