// A real Prometheus (Debian's `prometheus`, on loopback, with a throwaway TSDB) scrapes a broker
// process's /metrics; the test asks Prometheus' HTTP API for the throughput and lag series after
// a kafkajs client produced and committed offsets with known numbers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { repoRoot, startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { parseExposition } from '../helpers/prometheus.js';
import { waitUntil } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

const installed = spawnSync('prometheus', ['--version']).status === 0;
// .ci/run installs Debian's prometheus; elsewhere a missing one skips with the reason.
const skip = installed || process.env.CI ? false : 'prometheus not installed (apt-get install prometheus)';
if (skip) console.log(`# SKIP ${skip}`);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface QueryResult {
  status: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('Prometheus scrapes /metrics', { skip }, () => {
  let broker: BrokerProcess;
  let prometheus: ChildProcess;
  let promUrl: string;
  let dir: string;
  let promLog = '';

  before(async () => {
    broker = await startBrokerProcess();
    const target = new URL(broker.httpUrl!).host;
    dir = mkdtempSync(join(tmpdir(), 'tributary-prometheus-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: tributary\n    static_configs:\n      - targets: ['${target}']\n`,
    );
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr!.on('data', (d) => (promLog = (promLog + d.toString()).slice(-4000)));
    await waitUntil(async () => (await fetch(`${promUrl}/-/ready`).catch(() => null))?.status === 200, {
      timeout: 30_000,
      message: () => `prometheus ready; log: ${promLog}`,
    });
  });
  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
    await broker?.stop();
    broker?.cleanup();
  });

  const query = async (q: string): Promise<QueryResult['data']['result']> => {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as QueryResult;
    assert.equal(body.status, 'success', JSON.stringify(body));
    return body.data.result;
  };
  const valueOf = async (q: string) => {
    const r = await query(q);
    return r.length === 1 ? Number(r[0]!.value[1]) : undefined;
  };

  test('the target is up; throughput and lag series hold the known numbers', async () => {
    await waitUntil(async () => (await valueOf('up{job="tributary"}')) === 1, { timeout: 20_000, message: () => `target up; log: ${promLog}` });
    const kafka = new Kafka({ clientId: 'prom-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'scraped', numPartitions: 1 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'scraped', messages: Array.from({ length: 12 }, (_, i) => ({ value: `m${i}` })) });
    await producer.disconnect();
    await admin.setOffsets({ groupId: 'scraped-readers', topic: 'scraped', partitions: [{ partition: 0, offset: '5' }] });
    await admin.disconnect();

    await waitUntil(async () => (await valueOf('kafka_server_brokertopicmetrics_messagesin_total{topic="scraped"}')) === 12, {
      timeout: 20_000,
      message: 'messages in = 12 in Prometheus',
    });
    await waitUntil(async () => (await valueOf('kafka_consumergroup_lag{consumergroup="scraped-readers",topic="scraped",partition="0"}')) === 7, {
      timeout: 20_000,
      message: 'lag = 12 - 5 in Prometheus',
    });
    assert.ok((await valueOf('kafka_server_brokertopicmetrics_bytesin_total{topic="scraped"}'))! > 12 * 2);
    // Prometheus can compute with the series: a produce rate and a latency quantile from the histogram.
    const rate = await query('rate(kafka_network_requestmetrics_requests_total{request="Produce"}[1m])');
    assert.equal(rate.length, 1);
    const p99 = await query('histogram_quantile(0.99, rate(kafka_network_requestmetrics_totaltimems_bucket{request="Metadata"}[1m]))');
    assert.equal(p99.length, 1);
  });

  test('every query of the Grafana dashboard (grafana/tributary.json) runs, on series the broker exposes', async () => {
    const dashboard = JSON.parse(readFileSync(join(repoRoot, 'grafana/tributary.json'), 'utf8')) as { panels: { id: number; title: string; targets: { expr: string }[] }[] };
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    const text = await (await fetch(`${broker.httpUrl}/metrics`)).text();
    const exposed = parseExposition(text).types;
    let queries = 0;
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        // Grafana's $__rate_interval, as it would expand it for a 1 s scrape.
        const expr = target.expr.replace(/\$__rate_interval/g, '1m');
        for (const name of expr.match(/\b(?:kafka|process|nodejs)_[a-z0-9_]+/g) ?? []) {
          const family = name.replace(/_(bucket|sum|count)$/, '');
          assert.ok(exposed.has(name) || exposed.get(family) === 'histogram', `${panel.title}: ${name} is not on /metrics`);
        }
        await query(expr); // asserts Prometheus accepted it
        queries++;
      }
    }
    assert.ok(queries >= 15, `${queries} queries`);
  });
});
