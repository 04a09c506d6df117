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
