// Readiness follows the broker's life: "starting" before the broker attaches (the CLI opens the
// HTTP listener before recovering the logs), ready once it runs, not ready after stop; in cluster
// mode ready means registered in etcd with the metadata applied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { pino } from 'pino';
import { BrokerConfig } from '../../src/config/config.js';
import { startKafkaBroker } from '../../src/broker/start.js';
import { HttpListener } from '../../src/http/server.js';
import { startCluster } from '../../src/index.js';
import { tempDir } from '../helpers/broker-process.js';
import { etcdMissing } from '../helpers/etcd.js';
import { waitUntil } from '../helpers/wait.js';

const getJson = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

test('readyz: starting (503) before the broker attaches, 200 while it runs, 503 after stop', async () => {
  const dir = tempDir();
  const config = new BrokerConfig({ overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'http.listeners': 'http://127.0.0.1:0', 'log.dirs': dir } });
  const logger = pino({ level: 'silent' });
  const http = (await HttpListener.start(config, logger))!;
  try {
    assert.match(http.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    let ready = await getJson(`${http.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(ready.body.status, 'not ready');
    assert.equal(ready.body.checks.broker.ok, false);
    const live = await getJson(`${http.url}/healthz`);
    assert.equal(live.status, 200);
    assert.equal(live.body.broker, 'starting');
    assert.equal((await getJson(`${http.url}/api/v1/topics`)).status, 503);
    const metrics = await (await fetch(`${http.url}/metrics`)).text();
    assert.match(metrics, /^process_cpu_seconds_total /m, 'process metrics while starting');
    assert.doesNotMatch(metrics, /^kafka_/m);

    const broker = await startKafkaBroker(config, { logger });
    http.attach(broker);
    ready = await getJson(`${http.url}/readyz`);
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal(ready.body.checks.logs.ok, true);
    await broker.stop();
    ready = await getJson(`${http.url}/readyz`);
    assert.equal(ready.status, 503);
  } finally {
    await http.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the embedded API serves no HTTP unless http.listeners is set', async () => {
  const { startBroker } = await import('../../src/index.js');
  const b = await startBroker({ storage: 'memory' });
  try {
    assert.equal(b.httpUrl, null);
  } finally {
    await b.stop();
  }
});

test('cluster mode: every broker is ready once registered in etcd with the metadata applied', { skip: etcdMissing }, async () => {
  const cluster = await startCluster({ brokers: 2, config: { 'http.listeners': 'http://127.0.0.1:0' } });
  try {
    for (const b of cluster.brokers) {
      assert.ok(b.httpUrl);
      const ready = await waitUntil(
        async () => {
          const r = await getJson(`${b.httpUrl}/readyz`);
          return r.status === 200 ? r : null;
        },
        { message: `broker ${b.broker.nodeId} ready` },
      );
      const c = ready.body.checks.cluster;
      assert.equal(c.ok, true);
      assert.equal(c.registered, true);
      assert.equal(c.leaseValid, true);
      assert.equal(c.metadataTopicsNotApplied, 0);
      assert.deepEqual([...c.liveBrokers].sort(), [1, 2]);
    }
  } finally {
    await cluster.stop();
  }
});

test('the HTTP app loads on the first request: concurrent first requests all answer, and an unused listener stops', async () => {
  const config = new BrokerConfig({ overrides: { listeners: 'PLAINTEXT://127.0.0.1:0', 'http.listeners': 'http://127.0.0.1:0' } });
  const logger = pino({ level: 'silent' });
  const unused = (await HttpListener.start(config, logger))!;
  await unused.stop();
  await assert.rejects(fetch(`${unused.url}/healthz`), 'a stopped listener no longer accepts connections');

  const http = (await HttpListener.start(config, logger))!;
  try {
    const answers = await Promise.all(['/healthz', '/readyz', '/metrics', '/api/v1/topics', '/nope'].map(async (path) => (await fetch(http.url + path)).status));
    assert.deepEqual(answers, [200, 503, 200, 503, 404]);
  } finally {
    await http.stop();
  }
  await assert.rejects(fetch(`${http.url}/healthz`));
});
