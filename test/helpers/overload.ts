// Shared pieces of the overload tests: connections from chosen loopback addresses, RSS sampling,
// a probe that a well-behaved client is still served.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { RawClient } from './raw-client.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { elapse } from './wait.js';

/** Resident memory of a process in MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** A TCP connection from a given loopback source address (Linux routes all of 127/8 to lo). */
export function connectFrom(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.once('error', reject);
  });
}

/** A RawClient whose socket comes from a given loopback address. */
export async function rawClientFrom(port: number, localAddress: string): Promise<RawClient> {
  const s = await connectFrom(port, localAddress);
  return RawClient.wrap(s);
}

/** True when the broker answers ApiVersions on this connection, false when it closes it instead. */
export async function admitted(c: RawClient, timeoutMs = 5000): Promise<boolean> {
  const closed = c.waitClosed(timeoutMs).then((was) => (was ? 'closed' : 'timeout'));
  const answered = c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'overload-test', clientSoftwareVersion: '1' }).then(
    (r) => {
      assert.equal(r.body.errorCode, ErrorCode.NONE);
      return 'answered';
    },
    () => 'failed',
  );
  const outcome = await Promise.race([answered, closed]);
  if (outcome === 'timeout') throw new Error('neither answered nor closed');
  return outcome === 'answered';
}

/** A fresh client gets ApiVersions answered within the limit; returns the latency. */
export async function probeLatency(port: number, limitMs: number): Promise<number> {
  const started = Date.now();
  const probe = await RawClient.connect(port);
  try {
    const v = await Promise.race([
      probe.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'probe', clientSoftwareVersion: '1' }, limitMs),
      elapse(limitMs).then(() => null), // the time limit
    ]);
    const took = Date.now() - started;
    assert.ok(v && took <= limitMs, `a fresh client was not connected and answered within ${limitMs} ms`);
    assert.equal(v.body.errorCode, ErrorCode.NONE);
    return took;
  } finally {
    probe.close();
  }
}
