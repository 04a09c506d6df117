// LeaseKeeper against a scripted etcd: how long a lease stays certainly valid, and whether a
// renewal lands before that runs out when members hang (found 19: a follower stuck forwarding a
// keepalive to a stopped Raft leader, then the stopped leader itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Etcd3 } from 'etcd3';
import { LeaseKeeper } from '../../src/cluster/lease-keeper.js';
import { waitUntil } from '../helpers/wait.js';

/** One keepalive stream: answers `ttl` at once, or never (`null`, a hung member). */
class FakeKeepAlive extends EventEmitter {
  constructor(private readonly ttl: number | null) {
    super();
  }
  write(): void {
    if (this.ttl !== null) setImmediate(() => this.emit('data', { TTL: String(this.ttl), ID: '7' }));
  }
  end(): void {}
  cancel(): void {}
}

/** An etcd3 client whose keepalives follow `script` (then answer `ttl`), recording each one's send time. */
function fakeEtcd(script: (number | null)[], ttl: number, onSend: (at: number) => void): Etcd3 {
  let n = 0;
  return {
    leaseClient: {
      leaseKeepAlive: async () => {
        onSend(Date.now());
        return new FakeKeepAlive(n < script.length ? script[n++]! : ttl);
      },
    },
  } as unknown as Etcd3;
}

test('a renewal lands before the lease could run out though two members in a row hang', { timeout: 20_000 }, async () => {
  const TTL = 3;
  const grantSentAt = Date.now();
  const sends: number[] = [];
  // The first keepalive renews; the next two hang (a follower forwarding to a stopped leader, then
  // the stopped leader); the fourth renews.
  const keeper = new LeaseKeeper(
    fakeEtcd([TTL, null, null], TTL, (at) => sends.push(at)),
    '7',
    TTL,
    5000,
    grantSentAt,
  );
  const lapses: number[] = [];
  const probe = setInterval(() => {
    if (!keeper.valid()) lapses.push(Date.now());
  }, 10);
  try {
    keeper.start();
    await waitUntil(() => sends.length >= 5, { timeout: 10_000, message: 'five keepalives' });
    // Renewal 1 was sent at sends[0]; the attempts after it hung; the one at sends[3] renewed.
    const firstRenewalValidUntil = sends[0]! + TTL * 1000;
    assert.ok(sends[3]! < firstRenewalValidUntil - 500, `the third attempt after a renewal is sent ${sends[3]! - sends[0]!} ms after it, too close to the TTL`);
    assert.deepEqual(lapses, [], 'the lease was never certainly valid for a moment');
    assert.ok(keeper.validUntil >= sends[3]! + TTL * 1000, 'the renewal moved validUntil');
  } finally {
    clearInterval(probe);
    keeper.close();
  }
});

test('valid until the grant plus the TTL while etcd never answers, then no longer', { timeout: 20_000 }, async () => {
  const TTL = 1;
  const grantSentAt = Date.now();
  const sends: number[] = [];
  const keeper = new LeaseKeeper(
    fakeEtcd(Array<null>(100).fill(null), TTL, (at) => sends.push(at)),
    '7',
    TTL,
    5000,
    grantSentAt,
  );
  try {
    keeper.start();
    assert.equal(keeper.valid(), true);
    assert.equal(keeper.validUntil, grantSentAt + 1000);
    await waitUntil(() => !keeper.valid(), { timeout: 5000, message: 'the lease no longer certainly valid' });
    assert.ok(Date.now() >= grantSentAt + 1000);
    // Attempts time out after max(250 ms, TTL / 6) and the next follows at once: about four a second.
    assert.ok(sends.length >= 3 && sends.length <= 8, `${sends.length} keepalives in the first second`);
  } finally {
    keeper.close();
  }
});

test('an answer of TTL 0 is a lost lease', { timeout: 10_000 }, async () => {
  const keeper = new LeaseKeeper(
    fakeEtcd([0], 0, () => undefined),
    '7',
    3,
    5000,
    Date.now(),
  );
  const lost = new Promise<void>((resolve) => keeper.once('lost', resolve));
  keeper.start();
  await lost;
  keeper.close();
});
