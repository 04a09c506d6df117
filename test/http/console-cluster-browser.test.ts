// The web console on a cluster where a registered broker does not answer, in a real browser
// (Debian's chromium driven by playwright-core, as console-browser.test.ts). A broker that has
// just died keeps its etcd registration until its lease runs out: the cluster-wide lists (groups,
// transactions, the overview's group count) then miss what it holds, and the API names it in
// `unreachableBrokers`. Here that broker is a registration of node 99 on a port nobody listens on
// (as a crashed broker leaves behind); every page that lists across the cluster must say so, and
// say nothing once the registration is gone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { startCluster, type RunningCluster } from '../../src/index.js';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { etcdMissing } from '../helpers/etcd.js';
import { waitUntil } from '../helpers/wait.js';
import { chromiumMissing, openConsoleBrowser, type ConsoleBrowser } from '../helpers/console-browser.js';

const skip = chromiumMissing || etcdMissing;

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('the console warns about brokers that did not answer', { skip }, () => {
  let cluster: RunningCluster;
  let ghost: EtcdMetadataStore | null = null;
  let browser: ConsoleBrowser;
  let page: Page;
  let base: string;
  let pageErrors: string[] = [];

  before(async () => {
    cluster = await startCluster({ brokers: 1, config: { 'http.listeners': 'http://127.0.0.1:0' } });
    base = cluster.brokers[0]!.httpUrl!;
    browser = await openConsoleBrowser(base);
    ({ page, pageErrors } = browser);
  });
  after(async () => {
    await browser?.close();
    await ghost?.close();
    await cluster?.stop();
  });

  const api = async <T>(path: string) => (await (await fetch(`${base}/api/v1/${path}`)).json()) as T;
  const alert = () => page.locator('p.unreachable[role="alert"]');

  test('a registered broker that cannot be reached is named on the list pages', async () => {
    const b = cluster.brokers[0]!.broker;
    ghost = await EtcdMetadataStore.open({ endpoints: [cluster.etcdEndpoint], prefix: b.config.str('etcd.prefix')! });
    await ghost.register({ nodeId: 99, host: '127.0.0.1', port: await closedPort(), rack: null, incarnationId: randomUUID() }, 30);
    await waitUntil(() => b.liveBrokers().some((x) => x.nodeId === 99), { timeout: 10_000, message: 'broker 1 to see node 99 registered' });

    // The API names it on every cluster-wide list.
    for (const path of ['cluster', 'groups', 'transactions']) {
      const body = await api<{ unreachableBrokers: number[] }>(path);
      assert.deepEqual(body.unreachableBrokers, [99], path);
    }

    // And the console shows it, visibly, on each page that lists across the cluster.
    for (const [hash, heading, missing] of [
      ['#/', 'Cluster overview', 'the groups coordinated there'],
      ['#/groups', 'Consumer groups', 'the groups coordinated there'],
      ['#/transactions', 'Transactions', 'the transactions coordinated there'],
    ] as const) {
      await page.goto(`${base}/${hash}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      const warning = alert().first();
      await warning.waitFor({ state: 'visible' });
      const text = await warning.innerText();
      assert.match(text, /Broker 99 did not answer/, `${hash}: ${text}`);
      assert.ok(text.includes(missing), `${hash}: ${text}`);
    }
  });

  test('no warning once the broker is gone from the registrations', async () => {
    assert.ok(ghost, 'the earlier test registered node 99');
    await ghost.close(); // revokes its lease: the registration goes, as when a broker shuts down
    ghost = null;
    const b = cluster.brokers[0]!.broker;
    await waitUntil(() => !b.liveBrokers().some((x) => x.nodeId === 99), { timeout: 10_000, message: 'node 99 to leave the registrations' });
    assert.deepEqual((await api<{ unreachableBrokers: number[] }>('groups')).unreachableBrokers, []);
    await page.goto(`${base}/#/groups`);
    await page.getByRole('heading', { name: 'Consumer groups', exact: true }).waitFor();
    await page.getByText(/^0 groups$/).waitFor();
    assert.equal(await alert().count(), 0);
    await page.goto(`${base}/#/transactions`);
    await page.getByRole('heading', { name: 'Transactions', exact: true }).waitFor();
    await page.getByText(/hanging \(open longer than their timeout\)/).waitFor();
    assert.equal(await alert().count(), 0);
    assert.deepEqual(pageErrors, []);
  });
});
