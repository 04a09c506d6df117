// The web console end to end in a real browser: Debian's chromium driven by playwright-core
// (never a downloaded browser), against a broker process of the compiled build serving the console
// at `/`. Creates a topic in the console, produces from the form, finds the message in the
// browser, sees a consumer group's lag (offsets committed by a real client, kafkajs), resets the
// offsets, and checks with kafkajs's admin client that they moved. Also: deleting asks first, the
// keyboard reaches everything, and the admin API wants credentials when the broker has an
// authorizer. CONSOLE_SCREENSHOTS=<dir> saves screenshots of the main pages (docs/screenshots/).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { Page } from 'playwright-core';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { saslPlainAclConfig } from '../helpers/sasl-plain-acls.js';
import { waitUntil } from '../helpers/wait.js';
import { CHROMIUM, chromiumMissing, openConsoleBrowser, type ConsoleBrowser } from '../helpers/console-browser.js';

const { Kafka, logLevel } = kafkajs;

const shots = process.env.CONSOLE_SCREENSHOTS ?? null;
if (chromiumMissing) console.log(`SKIP console browser test: no chromium at ${CHROMIUM} (Debian package chromium; .ci/run installs it)`);

describe('web console in a real browser', { skip: chromiumMissing }, () => {
  let broker: BrokerProcess;
  let base: string;
  let browser: ConsoleBrowser;
  let page: Page;
  let kafka: InstanceType<typeof Kafka>;
  let pageErrors: string[] = [];

  before(async () => {
    broker = await startBrokerProcess();
    base = broker.httpUrl!;
    kafka = new Kafka({ clientId: 'console-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    browser = await openConsoleBrowser(base);
    ({ page, pageErrors } = browser);
  });
  after(async () => {
    await browser?.close();
    await broker?.stop();
    broker?.cleanup();
  });

  const shot = async (name: string) => {
    if (!shots) return;
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: false });
  };
  const status = () => page.getByRole('status');

  test('overview shows the broker and live throughput over SSE', async () => {
    await page.goto(`${base}/`);
    await page.getByRole('heading', { name: 'Cluster overview' }).waitFor();
    const brokers = page.getByRole('table').first();
    await brokers.getByRole('cell', { name: 'controller, this broker' }).waitFor();
    await page.getByText('Live over server-sent events').waitFor();
    // Keyboard: the first Tab reaches the skip link, the next the navigation.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Overview');
  });

  test('create a topic with configs, produce from the form, find the message', async () => {
    await page.goto(`${base}/#/topics`);
    await page.getByLabel('Name', { exact: true }).fill('orders');
    await page.getByLabel('Partitions', { exact: true }).fill('3');
    await page.getByLabel('Configs (one name=value a line)').fill('retention.ms=3600000\nmax.message.bytes=2000000');
    await page.getByRole('button', { name: 'Create topic' }).click();
    await status().filter({ hasText: 'Created topic orders with 3 partitions.' }).waitFor();
    await page.getByLabel('Search topics').fill('ord');
    await page.getByRole('link', { name: 'orders' }).click();
    await page.getByRole('heading', { name: 'Topic orders' }).waitFor();
    await page.getByText('3 partitions, 0 under-replicated.').waitFor();
    assert.equal(await page.locator('tbody tr').count(), 3, 'one row per partition');
    await shot('topic');
    // The configs it was created with.
    await page.getByRole('link', { name: 'Configs', exact: true }).click();
    await page.getByLabel('Search configs').fill('retention.ms');
    const row = page.getByRole('row', { name: /retention\.ms/ });
    await row.getByRole('cell', { name: '3600000' }).waitFor();
    await row.getByRole('cell', { name: 'DYNAMIC_TOPIC_CONFIG' }).waitFor();

    await page.getByRole('link', { name: 'Produce', exact: true }).click();
    await page.getByLabel('Partition', { exact: true }).fill('1');
    await page.getByLabel('Key (empty for none)').fill('order-42');
    await page.getByLabel('Value', { exact: true }).fill('{"amount":17,"currency":"EUR"}');
    await page.getByLabel('Headers (one name=value a line)').fill('source=console');
    await page.getByRole('button', { name: 'Produce message' }).click();
    await status().filter({ hasText: 'Produced to partition 1 at offset 0.' }).waitFor();

    // Another message that the filter must leave out.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'orders', messages: [{ partition: 1, key: 'order-43', value: 'plain text' }] });
    await producer.disconnect();

    await page.getByRole('link', { name: 'Messages', exact: true }).click();
    // The Produce form, still shown until the route changes, has a Partition field too: fill the
    // message browser's once it is there.
    const browser = page.getByRole('region', { name: 'Message browser' });
    await browser.waitFor();
    await browser.getByLabel('Partition', { exact: true }).fill('1');
    await page.getByLabel('Filter (key or value contains)').fill('order-42');
    await page.getByLabel('Show as').selectOption('json');
    await page.getByRole('button', { name: 'Find messages' }).click();
    const rows = page.locator('table.messages tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1, 'the filter keeps order-42 only');
    const cells = rows.first().locator('td');
    assert.equal(await cells.nth(0).textContent(), '0');
    assert.equal(await cells.nth(2).textContent(), 'order-42');
    assert.equal(await cells.nth(3).textContent(), '{\n  "amount": 17,\n  "currency": "EUR"\n}');
    assert.match((await cells.nth(4).textContent()) ?? '', /source: console/);
    await page.getByLabel('Show as').selectOption('hex');
    assert.equal(await cells.nth(2).textContent(), '6f 72 64 65 72 2d 34 32');
    await shot('messages');
    // By offset, without a filter: both.
    await page.getByLabel('Filter (key or value contains)').fill('');
    await page.getByLabel('Show as').selectOption('text');
    await page.getByLabel('Start at').selectOption('offset');
    await page.getByLabel('Offset', { exact: true }).fill('1');
    await page.getByRole('button', { name: 'Find messages' }).click();
    await rows.filter({ hasText: 'plain text' }).waitFor();
    assert.equal(await rows.count(), 1);
  });

  test('a group’s lag, then its offsets reset (verified with the admin API)', async () => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'orders', messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `m${i}` })) });
    await producer.disconnect();
    // A real client commits the group's offsets: 4 on partition 0, 1 on partition 1 (of 2).
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.setOffsets({
        groupId: 'billing',
        topic: 'orders',
        partitions: [
          { partition: 0, offset: '4' },
          { partition: 1, offset: '1' },
        ],
      });
      await page.goto(`${base}/#/groups`);
      await page.getByRole('link', { name: 'billing' }).click();
      await page.getByRole('heading', { name: 'Consumer group billing' }).waitFor();
      await waitUntil(async () => (await page.getByTestId('total-lag').textContent()) === '7', { message: 'total lag 6 + 1' });
      const lagRow = page.getByRole('row', { name: /^orders 0 4 10 6$/ });
      await lagRow.waitFor();
      await page.getByRole('img', { name: 'Lag per partition of group billing' }).waitFor();
      await shot('group');

      // A live member and its assignment (another group, so the numbers above stay put).
      const consumer = kafka.consumer({ groupId: 'live-readers', sessionTimeout: 10_000, heartbeatInterval: 500 });
      await consumer.connect();
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      await consumer.subscribe({ topic: 'orders', fromBeginning: false });
      await consumer.run({ autoCommit: false, eachMessage: async () => {} });
      await joined;
      try {
        await page.goto(`${base}/#/groups/live-readers`);
        const member = page.getByRole('row', { name: /console-test/ });
        await member.getByRole('cell', { name: 'orders: 0, 1, 2' }).waitFor();
      } finally {
        await consumer.disconnect();
      }
      await page.goto(`${base}/#/groups/billing`);
      await waitUntil(async () => (await page.getByTestId('total-lag').textContent()) === '7', { message: 'total lag 7 again' });

      await page.getByLabel('Reset to').selectOption('latest');
      await page.getByRole('button', { name: 'Reset offsets' }).click();
      const dialog = page.getByRole('dialog', { name: 'Reset offsets of group billing?' });
      await dialog.waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel', 'the dialog focuses Cancel first');
      await dialog.getByRole('button', { name: 'Reset offsets' }).click();
      await status()
        .filter({ hasText: 'orders-0 → 10' })
        .waitFor()
        .catch(async (err: Error) => {
          throw new Error(`${err.message}; page says: ${await page.locator('main').innerText()}`);
        });
      await waitUntil(async () => (await page.getByTestId('total-lag').textContent()) === '0', { message: 'lag 0 after the reset' });

      const offsets = await admin.fetchOffsets({ groupId: 'billing', topics: ['orders'] });
      const byPartition = Object.fromEntries(offsets[0]!.partitions.map((p) => [p.partition, p.offset]));
      assert.deepEqual(byPartition, { 0: '10', 1: '2', 2: '0' });
    } finally {
      await admin.disconnect();
    }
  });

  test('deleting a topic asks first', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'scratch', numPartitions: 1 }] });
      await page.goto(`${base}/#/topics/scratch`);
      await page.getByRole('button', { name: 'Delete topic' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete topic scratch?' });
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });
      assert.ok((await admin.listTopics()).includes('scratch'), 'Cancel keeps the topic');
      await page.getByRole('button', { name: 'Delete topic' }).click();
      await dialog.getByRole('button', { name: 'Delete topic' }).click();
      await status().filter({ hasText: 'Topic scratch deleted.' }).waitFor();
      await waitUntil(async () => !(await admin.listTopics()).includes('scratch'), { message: 'scratch deleted' });
    } finally {
      await admin.disconnect();
    }
  });

  test('the other pages render without errors', async () => {
    for (const [hash, heading, name] of [
      ['#/', 'Cluster overview', 'overview'],
      ['#/topics', 'Topics', 'topics'],
      ['#/transactions', 'Transactions', 'transactions'],
      ['#/quotas', 'Client quotas', 'quotas'],
      ['#/configs', 'Broker configs (broker 1)', 'configs'],
    ] as const) {
      await page.goto(`${base}/${hash}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      if (name === 'overview') {
        // Some traffic for the live chart: 20 bounded rounds of 100 messages, 150 ms apart.
        const producer = kafka.producer();
        await producer.connect();
        try {
          for (let i = 0; i < 20; i++) {
            await producer.send({ topic: 'orders', messages: Array.from({ length: 100 }, (_, j) => ({ value: `load ${i}-${j} `.repeat(20) })) });
            await new Promise((r) => setTimeout(r, 150));
          }
        } finally {
          await producer.disconnect();
        }
        await page.getByText(/messages in\/s: [1-9]/).waitFor();
      }
      if (name === 'configs') await page.getByRole('cell', { name: 'log.retention.hours' }).waitFor();
      if (name === 'quotas') {
        // Set a quota from the form (AlterClientQuotas), see it listed, remove it (asks first).
        await page.getByLabel('Name').fill('console-user');
        await page.getByLabel('Value').fill('1048576');
        await page.getByRole('button', { name: 'Set quota' }).click();
        await page.getByRole('row', { name: /user=console-user producer_byte_rate 1048576/ }).waitFor();
        await shot(name);
        await page.getByRole('button', { name: 'Remove' }).click();
        await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
        await status().filter({ hasText: 'Removed producer_byte_rate of user=console-user.' }).waitFor();
        await page.getByText('No client quotas are set.').waitFor();
        continue;
      }
      if (name === 'transactions') {
        // An open transaction of a real transactional producer, on both tables of the page.
        const producer = kafka.producer({ transactionalId: 'invoices-tx', maxInFlightRequests: 1, idempotent: true });
        await producer.connect();
        const txn = await producer.transaction();
        try {
          await txn.send({ topic: 'orders', messages: [{ partition: 2, value: 'pending invoice' }] });
          await page.getByRole('button', { name: 'Refresh' }).click();
          await page
            .getByRole('row', { name: /invoices-tx Ongoing/ })
            .getByRole('cell', { name: 'orders-2' })
            .waitFor();
          await page.getByRole('checkbox', { name: 'Hanging only' }).check();
          await page.getByRole('checkbox', { name: 'Hanging only' }).uncheck();
          await page.getByRole('row', { name: /^orders-2 .* invoices-tx .* no$/ }).waitFor();
          await shot(name);
        } finally {
          await txn.abort();
          await producer.disconnect();
        }
        continue;
      }
      await shot(name);
    }
    assert.deepEqual(pageErrors, []);
  });
});

describe('admin API with an authorizer', () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBrokerProcess({ overrides: saslPlainAclConfig(['alice']) });
  });
  after(async () => {
    await broker?.stop();
    broker?.cleanup();
  });
  const call = (path: string, user?: string, init: RequestInit = {}) =>
    fetch(`${broker.httpUrl}/api/v1/${path}`, {
      ...init,
      headers: {
        ...(user ? { authorization: `Basic ${Buffer.from(`${user}:${user}-pw`).toString('base64')}` } : {}),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
    });

  test('wants credentials, and acts as the user under the ACLs', async () => {
    const anonymous = await call('topics');
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm="Tributary"/);
    assert.equal((await call('topics', 'mallory')).status, 401, 'unknown user');
    // The console's static files need no login (they hold no data); the API does.
    assert.equal((await fetch(`${broker.httpUrl}/`)).status, 200);

    const create = (user: string) => call('topics', user, { method: 'POST', body: JSON.stringify({ name: 'secret', partitions: 1 }) });
    const denied = await create('alice');
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { errorCode: string }).errorCode, 'TOPIC_AUTHORIZATION_FAILED');
    assert.equal((await create('admin')).status, 201);
    const produced = await call('topics/secret/messages', 'alice', { method: 'POST', body: JSON.stringify({ value: 'x' }) });
    assert.equal(produced.status, 403, 'alice has no WRITE');
    // alice sees no topic (no DESCRIBE); admin sees it.
    const list = async (user: string) => ((await (await call('topics?internal=false', user)).json()) as { topics: { name: string }[] }).topics.map((t) => t.name);
    assert.deepEqual(await list('alice'), []);
    assert.deepEqual(await list('admin'), ['secret']);
    assert.equal(((await call('whoami', 'alice').then((r) => r.json())) as { principal: string }).principal, 'User:alice');
  });
});
