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
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startCluster, type RunningCluster } from '../../src/index.js';
import { EtcdMetadataStore } from '../../src/cluster/etcd-metadata-store.js';
import { etcdMissing } from '../helpers/etcd.js';
import { waitUntil } from '../helpers/wait.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) ? `no chromium at ${CHROMIUM}` : etcdMissing;

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
  let browser: BrowserContext;
  let page: Page;
  let profile: string;
  let base: string;
  const pageErrors: string[] = [];

  before(async () => {
    cluster = await startCluster({ brokers: 1, config: { 'http.listeners': 'http://127.0.0.1:0' } });
    base = cluster.brokers[0]!.httpUrl!;
    profile = mkdtempSync(join(tmpdir(), 'tributary-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1200, height: 800 },
      timeout: 30_000,
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.route('**/*', (route) =>
      route.request().url().startsWith(base) ? route.continue() : (pageErrors.push(`outside request ${route.request().url()}`), route.abort()),
    );
  });
  after(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
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
