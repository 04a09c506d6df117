// The HTTP listener of a real broker process (`tributary broker`): health, readiness, the
// Prometheus exposition (strictly parsed, and checked by promtool when installed), counters moved
// by a real client (kafkajs), and consumer lag with known numbers, in /metrics and in the JSON API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import kafkajs from 'kafkajs';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { parseExposition } from '../helpers/prometheus.js';
import { waitUntil } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

const promtool = spawnSync('promtool', ['--version']).status === 0;

describe('HTTP listener of a broker process', () => {
  let broker: BrokerProcess;
  let base: string;
  let kafka: InstanceType<typeof Kafka>;

  before(async () => {
    broker = await startBrokerProcess();
    assert.ok(broker.httpUrl, 'the broker logged its HTTP listener');
    base = broker.httpUrl;
    kafka = new Kafka({ clientId: 'http-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await broker?.stop();
    broker?.cleanup();
  });

  const get = async (path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  };
  const json = async (path: string) => {
    const r = await get(path);
    return { status: r.status, body: JSON.parse(r.text) as Record<string, unknown> };
  };
  const scrape = async () => {
    const r = await get('/metrics');
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/plain; version=0\.0\.4/);
    return { text: r.text, metrics: parseExposition(r.text) };
  };

  test('healthz and readyz answer JSON with the broker’s state', async () => {
    const live = await json('/healthz');
    assert.equal(live.status, 200);
    assert.equal(live.body.status, 'ok');
    assert.equal(live.body.nodeId, 1);
    const ready = await json('/readyz');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal(ready.body.status, 'ready');
    const checks = ready.body.checks as Record<string, { ok: boolean; listener?: string }>;
    assert.deepEqual(Object.keys(checks).sort(), ['coordinators', 'kafkaListener', 'logs']);
    assert.ok(Object.values(checks).every((c) => c.ok));
    assert.equal(checks.kafkaListener!.listener, broker.bootstrap);
  });

  test('unknown paths get 404 JSON, not a crash', async () => {
    const r = await json('/no/such/path');
    assert.equal(r.status, 404);
    assert.match(String(r.body.error), /no route/);
    assert.equal((await json('/api/v1/groups/%00nope/lag')).status, 404);
    assert.equal((await json('/api/v1/topics/nope')).status, 404);
    assert.equal((await get('/healthz')).status, 200);
  });

  test('a produce and a fetch by kafkajs move the counters; the exposition parses', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'metered', numPartitions: 2 }] });
    await admin.disconnect();
    const before = (await scrape()).metrics;
    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 5; i++) {
      await producer.send({
        topic: 'metered',
        messages: [
          { value: `v${i}`, partition: 0 },
          { value: `w${i}`, partition: 1 },
        ],
      });
    }
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'metered-readers' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'metered', fromBeginning: true });
    let read = 0;
    await consumer.run({ eachMessage: async () => void read++ });
    await waitUntil(() => read === 10, { message: () => `10 records consumed (got ${read})` });
    await consumer.disconnect();

    const { text, metrics } = await scrape();
    const t = { topic: 'metered' };
    assert.equal(metrics.value('kafka_server_brokertopicmetrics_messagesin_total', t), 10);
    const bytesIn = metrics.value('kafka_server_brokertopicmetrics_bytesin_total', t)!;
    // Ten batches of one small record: each at least the 61-byte batch header plus its record.
    assert.ok(bytesIn >= 10 * 61 + 10 * 8 && bytesIn < 10 * 200, `bytes in ${bytesIn}`);
    assert.equal(metrics.value('kafka_server_brokertopicmetrics_totalproducerequests_total', t), 10);
    assert.ok(metrics.value('kafka_server_brokertopicmetrics_bytesout_total', t)! >= bytesIn, 'every record was fetched once at least');
    const all = (name: string) => metrics.value(name)! - (before.value(name) ?? 0);
    assert.ok(all('kafka_server_brokertopicmetrics_messagesin_total') >= 10);
    const produce = { request: 'Produce' };
    const produced = metrics.value('kafka_network_requestmetrics_requests_total', produce)! - (before.value('kafka_network_requestmetrics_requests_total', produce) ?? 0);
    assert.equal(produced, 5, 'five Produce requests');
    assert.equal(metrics.value('kafka_network_requestmetrics_totaltimems_count', produce), metrics.value('kafka_network_requestmetrics_requests_total', produce));
    const fetches = metrics.value('kafka_network_requestmetrics_requests_total', { request: 'Fetch' })!;
    assert.ok(fetches > 0);
    // A single node has no followers: every fetch is a consumer's, also counted as FetchConsumer.
    assert.equal(metrics.value('kafka_network_requestmetrics_requests_total', { request: 'FetchConsumer' }), fetches);
    assert.equal(metrics.value('kafka_network_requestmetrics_totaltimems_count', { request: 'FetchConsumer' }), fetches);
    assert.equal(metrics.value('kafka_network_requestmetrics_requests_total', { request: 'FetchFollower' }), undefined);
    assert.equal(metrics.types.get('kafka_network_requestmetrics_totaltimems'), 'histogram');
    // Kafka's breakdown of that time, one histogram each, counting every request once.
    for (const part of ['requestqueuetimems', 'localtimems', 'remotetimems', 'throttletimems', 'responsequeuetimems', 'responsesendtimems', 'requestbytes']) {
      assert.equal(metrics.types.get(`kafka_network_requestmetrics_${part}`), 'histogram', part);
      for (const request of ['Produce', 'FetchConsumer']) {
        assert.equal(
          metrics.value(`kafka_network_requestmetrics_${part}_count`, { request }),
          metrics.value('kafka_network_requestmetrics_requests_total', { request }),
          `${part} ${request}`,
        );
      }
    }
    assert.equal(metrics.value('kafka_server_replicamanager_partitioncount'), metrics.value('kafka_server_replicamanager_leadercount'));
    assert.ok(metrics.value('kafka_server_replicamanager_partitioncount')! >= 2);
    assert.equal(metrics.value('kafka_server_replicamanager_underreplicatedpartitions'), 0);
    assert.equal(metrics.value('kafka_controller_kafkacontroller_offlinepartitionscount'), 0);
    assert.equal(metrics.value('kafka_controller_kafkacontroller_activecontrollercount'), 1);
    assert.ok(metrics.value('kafka_log_log_size', { topic: 'metered', partition: '0' })! > 0);
    assert.equal(metrics.value('kafka_log_log_logendoffset', { topic: 'metered', partition: '1' }), 5);
    assert.ok(metrics.find('process_resident_memory_bytes').length === 1, 'process metrics (prom-client)');
    assert.ok(metrics.value('kafka_coordinator_group_groupmetadatamanager_numgroups')! >= 1);
    // .ci/run installs Debian's prometheus (promtool); elsewhere the strict parser above suffices.
    assert.ok(promtool || !process.env.CI, 'promtool is missing in CI');
    if (promtool) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      // promtool exits 1 for lint advice too (e.g. counters without _total); only parse errors matter.
      assert.doesNotMatch(check.stderr + check.stdout, /error while linting|text format parsing error/, check.stderr);
    }
  });

  test('consumer lag is the high watermark minus the committed offset, in /metrics and the API', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'lagged', numPartitions: 2 }] });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'lagged', messages: Array.from({ length: 6 }, (_, i) => ({ value: `a${i}`, partition: 0 })) });
    await producer.send({ topic: 'lagged', messages: Array.from({ length: 4 }, (_, i) => ({ value: `b${i}`, partition: 1 })) });
    await admin.setOffsets({
      groupId: 'lag-known',
      topic: 'lagged',
      partitions: [
        { partition: 0, offset: '2' },
        { partition: 1, offset: '4' },
      ],
    });
    const lag = await json('/api/v1/groups/lag-known/lag');
    assert.equal(lag.status, 200);
    assert.deepEqual(lag.body.partitions, [
      { topic: 'lagged', partition: 0, committedOffset: 2, endOffset: 6, lag: 4 },
      { topic: 'lagged', partition: 1, committedOffset: 4, endOffset: 4, lag: 0 },
    ]);
    assert.equal(lag.body.totalLag, 4);
    let { metrics } = await scrape();
    const g = { consumergroup: 'lag-known', topic: 'lagged' };
    assert.equal(metrics.value('kafka_consumergroup_lag', { ...g, partition: '0' }), 4);
    assert.equal(metrics.value('kafka_consumergroup_lag', { ...g, partition: '1' }), 0);
    assert.equal(metrics.value('kafka_consumergroup_current_offset', { ...g, partition: '0' }), 2);
    assert.equal(metrics.value('kafka_consumergroup_lag_sum', g), 4);

    // Three more records on partition 1: its lag follows the high watermark.
    await producer.send({ topic: 'lagged', messages: Array.from({ length: 3 }, (_, i) => ({ value: `c${i}`, partition: 1 })) });
    ({ metrics } = await scrape());
    assert.equal(metrics.value('kafka_consumergroup_lag', { ...g, partition: '1' }), 3);
    assert.equal(metrics.value('kafka_consumergroup_lag_sum', g), 7);
    const groups = await json('/api/v1/groups');
    assert.deepEqual(
      (groups.body.groups as { groupId: string; totalLag: number }[]).find((x) => x.groupId === 'lag-known'),
      { groupId: 'lag-known', state: 'Empty', protocolType: 'consumer', coordinator: 1, members: 0, totalLag: 7 },
    );
    const all = await json('/api/v1/lag');
    assert.ok((all.body.groups as { groupId: string }[]).some((x) => x.groupId === 'lag-known'));
    await producer.disconnect();
    await admin.disconnect();
  });

  test('error codes in responses are counted per API and Kafka error name', async () => {
    const admin = kafka.admin();
    await admin.connect();
    // Creating an existing topic: CreateTopics answers TOPIC_ALREADY_EXISTS for it.
    const errors = { request: 'CreateTopics', error: 'TOPIC_ALREADY_EXISTS' };
    const before = (await scrape()).metrics.value('kafka_network_requestmetrics_errors_total', errors) ?? 0;
    await admin.createTopics({ topics: [{ topic: 'metered', numPartitions: 2 }] }).catch(() => undefined);
    await admin.disconnect();
    const after = (await scrape()).metrics.value('kafka_network_requestmetrics_errors_total', errors);
    assert.equal(after, before + 1, 'one TOPIC_ALREADY_EXISTS counted');
  });

  test('topic and cluster JSON', async () => {
    const cluster = await json('/api/v1/cluster');
    assert.equal(cluster.body.controllerId, 1);
    assert.deepEqual(cluster.body.brokers, [{ nodeId: 1, host: '127.0.0.1', port: broker.port, rack: null }]);
    const topic = await json('/api/v1/topics/metered');
    assert.equal(topic.status, 200);
    const parts = topic.body.partitions as { partition: number; leader: number; isr: number[]; highWatermark: number }[];
    assert.deepEqual(
      parts.map((p) => [p.partition, p.leader, p.isr, p.highWatermark]),
      [
        [0, 1, [1], 5],
        [1, 1, [1], 5],
      ],
    );
  });
});
