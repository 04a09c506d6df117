// KIP-714 with the Java client (kafka-clients 4.x, enable.metrics.push=true): with a client-metrics
// subscription set through IncrementalAlterConfigs, a producer asks for its subscription, pushes
// OTLP metrics, and they show on the broker's /metrics with its client id and instance id; they go
// when it closes (its last push is terminating). test/http/telemetry.test.ts does librdkafka.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Connection } from '../../../src/client/connection.js';
import { ApiKey } from '../../../src/protocol/generated/index.js';
import { ErrorCode } from '../../../src/protocol/errors.js';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { parseExposition } from '../../helpers/prometheus.js';
import { waitUntil } from '../../helpers/wait.js';
import { javaSetup, slf4jSimple, spawnJava } from './harness.js';

const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;
const CLIENT_METRICS = 16;

describe('Java client telemetry (KIP-714)', { skip }, () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBrokerProcess({ overrides: { 'num.partitions': '1' } });
    const conn = await Connection.connect({ host: '127.0.0.1', port: broker.port, clientId: 'telemetry-admin' });
    try {
      const r = await conn.request<{ responses: { errorCode: number; errorMessage: string | null }[] }>(ApiKey.IncrementalAlterConfigs, {
        resources: [
          {
            resourceType: CLIENT_METRICS,
            resourceName: 'java-producers',
            configs: [
              { name: 'metrics', configOperation: 0, value: 'org.apache.kafka.producer.' },
              { name: 'interval.ms', configOperation: 0, value: '1000' },
              { name: 'match', configOperation: 0, value: 'client_software_name=apache-kafka-java' },
            ],
          },
        ],
        validateOnly: false,
      });
      assert.equal(r.responses[0]!.errorCode, ErrorCode.NONE, r.responses[0]!.errorMessage ?? '');
    } finally {
      conn.close();
    }
  });
  after(async () => {
    await broker?.stop();
    broker?.cleanup();
  });

  test('a producer’s pushed metrics appear on /metrics with client id and instance labels', async () => {
    const s = setup as Exclude<typeof setup, string>;
    const java = spawnJava(`${s.classes}:${s.cp.k4}:${slf4jSimple(s)}`, 'tributary.compat.TelemetryProducer', [broker.bootstrap, 'java-telemetry', 'telemetry-java', '90']);
    try {
      const line = await java.waitForLine(/^instance /, 60_000);
      const instance = line.slice('instance '.length).trim();
      assert.match(instance, /^[A-Za-z0-9_-]{22}$/, 'Kafka’s Uuid text');
      const scrape = async () => parseExposition(await (await fetch(`${broker.httpUrl}/metrics`)).text());
      const metrics = await waitUntil(
        async () => {
          const m = await scrape();
          return m.find('org_apache_kafka_producer_record_queue_time_avg', { client_id: 'telemetry-java' }).length > 0 ? m : null;
        },
        { timeout: 30_000, interval: 250, message: () => `Java telemetry on /metrics; stderr: ${java.stderr().slice(-1500)}` },
      );
      const series = metrics.find('org_apache_kafka_producer_record_queue_time_avg', { client_id: 'telemetry-java' })[0]!;
      assert.equal(series.labels.client_instance_id, instance, 'the instance id the client reports');
      assert.equal(series.labels.client_software_name, 'apache-kafka-java');
      assert.match(series.labels.client_software_version ?? '', /^4\./);
      // Only the subscribed prefix: no consumer metrics from a producer, and nothing else.
      const names = [...metrics.types.keys()].filter((n) => n.startsWith('org_apache_kafka_'));
      assert.ok(
        names.every((n) => n.startsWith('org_apache_kafka_producer_')),
        names.join(', '),
      );
      java.child.stdin!.end(); // close: the terminating push
      await java.waitForLine(/^closed$/, 30_000);
      await waitUntil(async () => (await scrape()).find('org_apache_kafka_producer_record_queue_time_avg', { client_id: 'telemetry-java' }).length === 0, {
        message: 'the closed client’s series to go',
      });
    } finally {
      await java.stop();
    }
  });
});
