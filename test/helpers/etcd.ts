import { execFileSync } from 'node:child_process';
import { findEtcd, startEtcd, startEtcdCluster, type EtcdCluster, type EtcdProcess } from '../../src/cluster/etcd-process.js';
import { waitUntil } from './wait.js';

/**
 * For cluster tests: `skip` is a reason to skip when no etcd binary exists outside CI; in CI
 * (where .ci/run installs etcd-server) a missing etcd fails the test instead.
 */
export const etcdMissing: string | false = findEtcd() || process.env.CI ? false : 'etcd not installed (apt-get install etcd-server); cluster tests skipped';

/** A fresh single-member etcd on free loopback ports in a temp dir; close() removes it. */
export async function withEtcd(): Promise<EtcdProcess> {
  return startEtcd();
}

/** A fresh etcd cluster of `members` members (default 3) on loopback in a temp dir; close() kills them and removes it. */
export async function withEtcdCluster(members = 3): Promise<EtcdCluster> {
  return startEtcdCluster({ members });
}

/** Polls `cond` every 25 ms until it is true or `ms` passed (then throws with `what`). */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  await waitUntil(cond, { timeout: ms, interval: 25, message: what });
}

/**
 * Whether this etcd may revoke every lease when a paused Raft leader resumes (etcd issue 15247,
 * reproduced here with etcd alone: leases kept alive through the followers for the whole pause
 * were gone after the leader woke, once in three runs). Waking, the old leader still believes it
 * leads for a moment, finds every lease past its expiry by its own clock and proposes their
 * revocation, which the new leader commits. etcd 3.5.13 checks leadership first; Debian
 * bookworm's 3.4.23 does not, and any 3.4 is counted as affected here. Brokers then lose their
 * registrations as if their sessions had expired, which no client of etcd can prevent.
 */
export function etcdRevokesLeasesOnLeaderResume(): boolean {
  const binary = findEtcd();
  if (!binary) return false;
  const m = /etcd Version: (\d+)\.(\d+)\.(\d+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }));
  if (!m) return true;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return major < 3 || (major === 3 && (minor < 5 || (minor === 5 && patch < 13)));
}
