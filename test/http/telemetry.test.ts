// KIP-714 client telemetry against a broker process: client-metrics subscriptions through the
// configs APIs (persisted across a restart), the GetTelemetrySubscriptions / PushTelemetry error
// codes, and a real librdkafka producer (confluent-kafka 2.x from the venv .ci/run builds) whose
// pushed metrics appear on /metrics with its client id and instance id, and go when it closes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { startBrokerProcess, repoRoot, type BrokerProcess } from '../helpers/broker-process.js';
import { parseExposition } from '../helpers/prometheus.js';
import { waitUntil } from '../helpers/wait.js';

const VENV_PYTHON = join(process.env.TRIBUTARY_VENV ?? join(homedir(), '.cache/tributary/venv'), 'bin/python');
const skipPython = !existsSync(VENV_PYTHON)
  ? `no venv at ${VENV_PYTHON} (.ci/run builds it from PyPI)`
  : spawnSync(VENV_PYTHON, ['-c', 'import confluent_kafka'], { encoding: 'utf8' }).status !== 0
    ? 'confluent_kafka is not installed in the venv (PyPI unreachable?)'
    : false;
if (skipPython) console.log(`# SKIP librdkafka telemetry: ${skipPython}`);

const CLIENT_METRICS = 16;
const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

interface AlterResponse {
  responses: { errorCode: number; errorMessage: string | null }[];
}
interface DescribeResponse {
  results: { errorCode: number; configs: { name: string; value: string | null; configSource: number }[] }[];
}

describe('KIP-714 client telemetry', () => {
  let broker: BrokerProcess;
  let conn: Connection;

  before(async () => {
    broker = await startBrokerProcess();
    conn = await Connection.connect({ host: '127.0.0.1', port: broker.port, clientId: 'telemetry-admin' });
  });
  after(async () => {
    conn?.close();
    await broker?.stop();
    broker?.cleanup();
  });

  const alter = (name: string, configs: Record<string, string>) =>
    conn.request<AlterResponse>(ApiKey.IncrementalAlterConfigs, {
      resources: [{ resourceType: CLIENT_METRICS, resourceName: name, configs: Object.entries(configs).map(([k, v]) => ({ name: k, configOperation: 0, value: v })) }],
      validateOnly: false,
    });
  const describeSub = (name: string) =>
    conn.request<DescribeResponse>(ApiKey.DescribeConfigs, {
      resources: [{ resourceType: CLIENT_METRICS, resourceName: name, configurationKeys: null }],
      includeSynonyms: false,
      includeDocumentation: false,
    });

  test('subscriptions are CLIENT_METRICS config resources: validated, described, listed', async () => {
    let r = await alter('bad-interval', { metrics: '*', 'interval.ms': '5' });
    assert.equal(r.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG);
    r = await alter('bad-match', { metrics: '*', match: 'colour=red' });
    assert.equal(r.responses[0]!.errorCode, ErrorCode.INVALID_CONFIG);
    r = await alter('everything', { metrics: '*', 'interval.ms': '1000' });
    assert.equal(r.responses[0]!.errorCode, ErrorCode.NONE, r.responses[0]!.errorMessage ?? '');
    r = await alter('others-only', { metrics: 'org.apache.kafka.consumer.', 'interval.ms': '500', match: 'client_id=someone-else' });
    assert.equal(r.responses[0]!.errorCode, ErrorCode.NONE);
    const d = await describeSub('everything');
    assert.equal(d.results[0]!.errorCode, ErrorCode.NONE);
    const byName = Object.fromEntries(d.results[0]!.configs.map((c) => [c.name, c]));
    assert.equal(byName.metrics!.value, '*');
    assert.equal(byName['interval.ms']!.value, '1000');
    assert.equal(byName['interval.ms']!.configSource, 7, 'CLIENT_METRICS_CONFIG (the admin client: DYNAMIC_CLIENT_METRICS_CONFIG)');
    assert.equal(byName.match!.configSource, 5, 'DEFAULT_CONFIG');
    const listed = await conn.request<{ errorCode: number; configResources: { resourceName: string }[] }>(ApiKey.ListConfigResources, { resourceTypes: [CLIENT_METRICS] });
    assert.deepEqual(listed.configResources.map((c) => c.resourceName).sort(), ['everything', 'others-only']);
  });

  test('GetTelemetrySubscriptions and PushTelemetry answer with Kafka’s error codes', async () => {
    const sub = await conn.request<{
      errorCode: number;
      clientInstanceId: string;
      subscriptionId: number;
      pushIntervalMs: number;
      requestedMetrics: string[];
      deltaTemporality: boolean;
    }>(ApiKey.GetTelemetrySubscriptions, { clientInstanceId: ZERO_UUID });
    assert.equal(sub.errorCode, ErrorCode.NONE);
    assert.notEqual(sub.clientInstanceId, ZERO_UUID);
    // 'others-only' matches another client id: this client gets 'everything' only.
    assert.deepEqual(sub.requestedMetrics, ['']);
    assert.equal(sub.pushIntervalMs, 1000);
    assert.equal(sub.deltaTemporality, false);
    const push = (over: Partial<{ subscriptionId: number; metrics: Buffer; compressionType: number }>) =>
      conn.request<{ errorCode: number }>(ApiKey.PushTelemetry, {
        clientInstanceId: sub.clientInstanceId,
        subscriptionId: sub.subscriptionId,
        terminating: false,
        compressionType: 0,
        metrics: Buffer.alloc(0),
        ...over,
      });
    assert.equal((await push({ subscriptionId: sub.subscriptionId + 1 })).errorCode, ErrorCode.UNKNOWN_SUBSCRIPTION_ID);
    assert.equal((await push({ metrics: Buffer.alloc(2 * 1024 * 1024) })).errorCode, ErrorCode.TELEMETRY_TOO_LARGE);
    assert.equal((await push({ metrics: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 1]) })).errorCode, ErrorCode.INVALID_RECORD);
    // A second push within half the interval is throttled.
    assert.equal((await push({ metrics: Buffer.alloc(0) })).errorCode, ErrorCode.THROTTLING_QUOTA_EXCEEDED);
  });

  test('a librdkafka producer’s pushed metrics appear on /metrics, and go when it closes', { skip: skipPython }, async () => {
    const py = spawn(VENV_PYTHON, [join(repoRoot, 'test/http/telemetry_producer.py'), broker.bootstrap, 'telemetry-topic', 'telemetry-py', '60'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    py.stderr.on('data', (d) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => py.once('exit', resolve));
    try {
      const scrape = async () => parseExposition(await (await fetch(`${broker.httpUrl}/metrics`)).text());
      const metrics = await waitUntil(
        async () => {
          const m = await scrape();
          return m.find('org_apache_kafka_producer_record_queue_time_avg', { client_id: 'telemetry-py' }).length > 0 ? m : null;
        },
        { timeout: 30_000, interval: 250, message: () => `librdkafka telemetry on /metrics; python stderr: ${stderr.slice(-500)}` },
      );
      const s = metrics.find('org_apache_kafka_producer_record_queue_time_avg', { client_id: 'telemetry-py' })[0]!;
      assert.equal(s.labels.client_software_name, 'confluent-kafka-python');
      assert.match(s.labels.client_instance_id!, /^[A-Za-z0-9_-]{22}$/, 'Kafka’s Uuid text (base64url)');
      assert.equal(metrics.types.get('org_apache_kafka_producer_connection_creation_total'), 'counter');
      assert.ok(metrics.value('org_apache_kafka_producer_connection_creation_total', s.labels)! >= 1);
      py.stdin.end(); // the producer closes: its last push is "terminating"
      assert.equal(await exited, 0, stderr.slice(-1000));
      await waitUntil(async () => (await scrape()).find('org_apache_kafka_producer_record_queue_time_avg', { client_id: 'telemetry-py' }).length === 0, {
        message: 'the closed client’s series to go',
      });
    } finally {
      if (py.exitCode === null) py.kill('SIGKILL');
    }
  });

  test('subscriptions survive a restart', async () => {
    conn.close();
    await broker.stop();
    broker = await startBrokerProcess({ dataDir: broker.dataDir });
    conn = await Connection.connect({ host: '127.0.0.1', port: broker.port, clientId: 'telemetry-admin' });
    const d = await describeSub('everything');
    assert.equal(d.results[0]!.configs.find((c) => c.name === 'interval.ms')!.value, '1000');
  });
});
