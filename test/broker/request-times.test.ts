// Kafka's request-time breakdown (RequestMetrics RequestQueueTimeMs, LocalTimeMs, RemoteTimeMs,
// ResponseQueueTimeMs, ResponseSendTimeMs, TotalTimeMs) on a broker whose clock only moves when
// the test moves it (a ManualClock): every millisecond a request spends is one the test put in a
// known place (a parked fetch, a response the client does not read), so the figures are exact.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetchOne, metadataRequest, produceOk, produceRequest } from '../helpers/requests.js';
import { waitUntil } from '../helpers/wait.js';
import { parseExposition } from '../helpers/prometheus.js';
import { ManualClock } from '../../src/common/clock.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { brokerExposition } from '../../src/http/metrics.js';
import { ApiMetrics, type BrokerMetrics } from '../../src/broker/metrics.js';
import { newRequestTimes } from '../../src/network/request-times.js';
import type { Broker } from '../../src/broker/broker.js';

const PARTS = ['requestQueueTimeMs', 'localTimeMs', 'remoteTimeMs', 'throttleTimeMs', 'responseQueueTimeMs', 'responseSendTimeMs', 'totalTimeMs'] as const;
type Part = (typeof PARTS)[number];
/** Sums (ms) and the request count of one API's families. */
type Snapshot = Record<Part, number> & { requests: number; counts: number[] };

function byName(metrics: BrokerMetrics, name: string): ApiMetrics {
  // FetchConsumer is listed once it counted a fetch.
  const m = name === 'FetchConsumer' ? metrics.fetchConsumer : [...metrics.requestMetrics()].find((a) => a.name === name);
  assert.ok(m, `metrics of ${name}`);
  return m;
}

function snapshot(metrics: BrokerMetrics, name: string): Snapshot {
  const m = byName(metrics, name);
  const out = { requests: m.requests.value, counts: [...PARTS.map((p) => m[p].count), m.requestBytes.count] } as Snapshot;
  for (const p of PARTS) out[p] = m[p].sum;
  return out;
}

/** What one API's families gained since `before`. */
function delta(metrics: BrokerMetrics, name: string, before: Snapshot): Snapshot {
  const now = snapshot(metrics, name);
  const out = { requests: now.requests - before.requests, counts: now.counts.map((c, i) => c - before.counts[i]!) } as Snapshot;
  for (const p of PARTS) out[p] = now[p] - before[p];
  return out;
}

/** Every histogram family counted each request once, as requests_total did. */
function assertCountsEqual(d: Snapshot, requests: number): void {
  assert.equal(d.requests, requests);
  assert.deepEqual(
    d.counts,
    d.counts.map(() => requests),
    'each family counts each request once',
  );
}

async function manualBroker(t: TestContext, config: Record<string, string | number> = {}): Promise<{ broker: Broker; clock: ManualClock; port: number }> {
  const clock = new ManualClock(1_700_000_000_000);
  const b = await withBroker(t, { clock, config });
  return { broker: b.broker, clock, port: b.port };
}

test('a parked fetch is remote time; a response behind it waits in the response queue', async (t) => {
  const { broker, clock, port } = await manualBroker(t);
  const c = await RawClient.connect(port);
  t.after(() => c.close());
  await createTopic(c, 'quiet');
  const fetches = snapshot(broker.metrics, 'FetchConsumer');
  const fetchAll = snapshot(broker.metrics, 'Fetch');
  const metadata = snapshot(broker.metrics, 'Metadata');

  // Pipelined: a long poll on an empty partition, then a Metadata request on the same connection.
  c.writeRaw(
    Buffer.concat([
      RawClient.frame(ApiKey.Fetch, 12, 101, fetchOne('quiet', 0, 0, { maxWaitMs: 300 })),
      RawClient.frame(ApiKey.Metadata, 12, 102, metadataRequest(['quiet'])),
    ]),
  );
  const first = c.nextFrame();
  const second = c.nextFrame();
  await waitUntil(() => broker.metrics.delayedFetches === 1, { message: 'the fetch is parked' });
  // The Metadata answer is built, but goes out only after the fetch's (request order).
  await waitUntil(() => broker.metrics.requestsInFlight === 1, { message: 'the Metadata request is answered' });
  assert.equal(delta(broker.metrics, 'Metadata', metadata).requests, 0, 'not counted before it is written');
  await clock.advance(300);
  assert.equal((await first).readInt32BE(0), 101);
  assert.equal((await second).readInt32BE(0), 102);
  await waitUntil(() => delta(broker.metrics, 'Metadata', metadata).requests === 1, { message: 'the Metadata response written' });

  const f = delta(broker.metrics, 'FetchConsumer', fetches);
  assertCountsEqual(f, 1);
  // The clock moved only while the fetch was parked: all of its time is remote.
  assert.equal(f.remoteTimeMs, 300);
  assert.equal(f.localTimeMs, 0);
  assert.equal(f.requestQueueTimeMs, 0);
  assert.equal(f.totalTimeMs, 300);
  assert.deepEqual(delta(broker.metrics, 'Fetch', fetchAll), f, 'Fetch records what FetchConsumer does');

  const m = delta(broker.metrics, 'Metadata', metadata);
  assertCountsEqual(m, 1);
  assert.equal(m.remoteTimeMs, 0);
  assert.equal(m.localTimeMs, 0);
  assert.equal(m.responseQueueTimeMs, 300, 'waited for the fetch before it');
  assert.equal(m.totalTimeMs, 300);
});

test('a request read while the connection is at queued.max.requests waits in the request queue', async (t) => {
  const { broker, clock, port } = await manualBroker(t, { 'queued.max.requests': 1 });
  const c = await RawClient.connect(port);
  t.after(() => c.close());
  await createTopic(c, 'quiet');
  const metadata = snapshot(broker.metrics, 'Metadata');
  c.writeRaw(
    Buffer.concat([
      RawClient.frame(ApiKey.Fetch, 12, 201, fetchOne('quiet', 0, 0, { maxWaitMs: 250 })),
      RawClient.frame(ApiKey.Metadata, 12, 202, metadataRequest(['quiet'])),
    ]),
  );
  const first = c.nextFrame();
  const second = c.nextFrame();
  await waitUntil(() => broker.metrics.delayedFetches === 1, { message: 'the fetch is parked' });
  assert.equal(broker.metrics.requestsInFlight, 1, 'the Metadata request is not started while the fetch holds the one slot');
  await clock.advance(250);
  await first;
  await second;
  await waitUntil(() => delta(broker.metrics, 'Metadata', metadata).requests === 1, { message: 'the Metadata response written' });
  const m = delta(broker.metrics, 'Metadata', metadata);
  assertCountsEqual(m, 1);
  assert.equal(m.requestQueueTimeMs, 250, 'received with the fetch, started after its answer');
  assert.equal(m.localTimeMs + m.remoteTimeMs + m.responseQueueTimeMs + m.responseSendTimeMs, 0);
  assert.equal(m.totalTimeMs, 250);
});

test('TotalTimeMs ends when the response is written: a client that does not read makes send time', async (t) => {
  const { broker, clock, port } = await manualBroker(t);
  const c = await RawClient.connect(port);
  t.after(() => c.close());
  await createTopic(c, 'big');
  // 12 MiB of records: more than the kernel's socket buffers hold for a client that does not read
  // (net.ipv4.tcp_wmem's maximum is 4 MiB, and an unread receive window does not grow).
  const value = Buffer.alloc(1000 * 1000, 7);
  for (let i = 0; i < 12; i++) await produceOk(c, 'big', 0, buildRecordBatch({ records: [{ value }] }));
  const fetches = snapshot(broker.metrics, 'FetchConsumer');
  const bytesOut = broker.metrics.allTopics.bytesOut;
  c.socket.pause();
  const response = c.nextFrame(30_000);
  c.writeRaw(RawClient.frame(ApiKey.Fetch, 12, 301, fetchOne('big', 0, 0, { maxBytes: 32 * 1024 * 1024 })));
  // The handler counted the bytes it read; the response is built synchronously after that.
  await waitUntil(() => broker.metrics.allTopics.bytesOut - bytesOut >= 12_000_000 && broker.metrics.requestsInFlight === 0, { message: 'the fetch answered' });
  // Settled: the write callback would have come by now if the socket had taken all the bytes.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(delta(broker.metrics, 'FetchConsumer', fetches).requests, 0, 'the response is not written yet (the client does not read)');
  await clock.advance(40);
  c.socket.resume();
  assert.equal((await response).readInt32BE(0), 301);
  await waitUntil(() => delta(broker.metrics, 'FetchConsumer', fetches).requests === 1, { message: 'the response written' });
  const f = delta(broker.metrics, 'FetchConsumer', fetches);
  assertCountsEqual(f, 1);
  assert.equal(f.responseSendTimeMs, 40);
  assert.equal(f.totalTimeMs, 40);
  assert.equal(f.localTimeMs + f.remoteTimeMs + f.requestQueueTimeMs + f.responseQueueTimeMs, 0);
});

test('acks=all on a single node waits for no follower; acks=0 ends when handled', async (t) => {
  const { broker, port } = await manualBroker(t);
  const c = await RawClient.connect(port);
  t.after(() => c.close());
  await createTopic(c, 'single');
  const before = snapshot(broker.metrics, 'Produce');
  const r = await c.request(ApiKey.Produce, 9, produceRequest('single', 0, buildRecordBatch({ records: [{ value: Buffer.from('a') }] }), -1));
  assert.equal(r.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
  // acks=0: no response to wait for; a Metadata request after it tells when it was handled.
  c.writeRaw(RawClient.frame(ApiKey.Produce, 9, 999, produceRequest('single', 0, buildRecordBatch({ records: [{ value: Buffer.from('b') }] }), 0)));
  await c.request(ApiKey.Metadata, 12, metadataRequest(['single']));
  await waitUntil(() => delta(broker.metrics, 'Produce', before).requests === 2, { message: 'both produces counted' });
  const p = delta(broker.metrics, 'Produce', before);
  assertCountsEqual(p, 2);
  assert.equal(p.remoteTimeMs, 0, 'the high watermark is the leader’s own write');
  assert.equal(p.totalTimeMs, 0);
});

test('the exposition has every family, with equal counts per request type', async (t) => {
  const { broker, clock, port } = await manualBroker(t);
  const c = await RawClient.connect(port);
  t.after(() => c.close());
  await createTopic(c, 'expo');
  const pending = c.request(ApiKey.Fetch, 12, fetchOne('expo', 0, 0, { maxWaitMs: 120 }));
  await waitUntil(() => broker.metrics.delayedFetches === 1, { message: 'the fetch is parked' });
  await clock.advance(120);
  await pending;
  await waitUntil(() => byName(broker.metrics, 'FetchConsumer').requests.value === 1, { message: 'the fetch counted' });
  const e = parseExposition(brokerExposition(broker).toString());
  const names = ['requestqueuetimems', 'localtimems', 'remotetimems', 'throttletimems', 'responsequeuetimems', 'responsesendtimems', 'totaltimems', 'requestbytes'];
  for (const n of names) assert.equal(e.types.get(`kafka_network_requestmetrics_${n}`), 'histogram', n);
  const requests = e.find('kafka_network_requestmetrics_requests_total');
  assert.ok(requests.length >= 3);
  for (const s of requests) {
    if (s.value === 0) continue;
    for (const n of names) assert.equal(e.value(`kafka_network_requestmetrics_${n}_count`, { request: s.labels.request! }), s.value, `${n} ${s.labels.request}`);
  }
  const fetch = { request: 'FetchConsumer' };
  assert.equal(e.value('kafka_network_requestmetrics_remotetimems_sum', fetch), 120);
  assert.equal(e.value('kafka_network_requestmetrics_totaltimems_sum', fetch), 120);
  assert.equal(e.value('kafka_network_requestmetrics_remotetimems_bucket', { ...fetch, le: '100' }), 0);
  assert.equal(e.value('kafka_network_requestmetrics_remotetimems_bucket', { ...fetch, le: '250' }), 1);
  assert.ok(e.value('kafka_network_requestmetrics_requestbytes_sum', fetch)! > 50, 'a Fetch v12 of one partition is more than 50 bytes');
});

test('ThrottleTimeMs is the throttle time the response carries', async (t) => {
  const { broker, port } = await manualBroker(t, { 'quota.window.num': 3, 'quota.window.size.seconds': 1 });
  const c = await RawClient.connect(port);
  t.after(() => c.close());
  await createTopic(c, 'quota');
  const altered = await c.request(ApiKey.AlterClientQuotas, 1, {
    entries: [{ entity: [{ entityType: 'client-id', entityName: c.clientId }], ops: [{ key: 'producer_byte_rate', value: 1024, remove: false }] }],
    validateOnly: false,
  });
  assert.equal(altered.body.entries[0].errorCode, ErrorCode.NONE);
  const before = snapshot(broker.metrics, 'Produce');
  const records = buildRecordBatch({ records: [{ value: Buffer.alloc(64 * 1024, 1) }] });
  const r = await c.request(ApiKey.Produce, 9, produceRequest('quota', 0, records, 1));
  const throttle = r.body.throttleTimeMs as number;
  assert.ok(throttle > 0, '64 KiB over a quota of 1 KiB/s is throttled');
  await waitUntil(() => delta(broker.metrics, 'Produce', before).requests === 1, { message: 'the produce counted' });
  const p = delta(broker.metrics, 'Produce', before);
  assertCountsEqual(p, 1);
  assert.equal(p.throttleTimeMs, throttle);
  assert.equal(p.totalTimeMs, 0, 'the client waits out its throttle after the response (KIP-219)');
});

test('a JoinGroup waiting for the rebalance is remote time', async (t) => {
  const { broker, clock, port } = await manualBroker(t, { 'group.initial.rebalance.delay.ms': 500 });
  const c = await RawClient.connect(port);
  t.after(() => c.close());
  const before = snapshot(broker.metrics, 'JoinGroup');
  const join = (memberId: string) =>
    c.request(ApiKey.JoinGroup, 5, {
      groupId: 'timed',
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 60_000,
      memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    });
  const first = await join('');
  assert.equal(first.body.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const second = join(first.body.memberId as string);
  // Parked in the group's initial rebalance delay, which only the test's clock ends.
  await waitUntil(() => broker.metrics.requestsInFlight === 1, { message: 'the second JoinGroup is in flight' });
  await clock.advance(500);
  assert.equal((await second).body.errorCode, ErrorCode.NONE);
  await waitUntil(() => delta(broker.metrics, 'JoinGroup', before).requests === 2, { message: 'both JoinGroups counted' });
  const j = delta(broker.metrics, 'JoinGroup', before);
  assertCountsEqual(j, 2);
  assert.equal(j.remoteTimeMs, 500);
  assert.equal(j.localTimeMs, 0);
  assert.equal(j.totalTimeMs, 500);
});

test('times are recorded in whole milliseconds, each rounded as Kafka rounds it', () => {
  const m = new ApiMetrics('Metadata');
  // Received at 0, started at 0.4, built at 1.6, written from 1.6 to 2.7 (ms).
  m.requestEnded({ ...newRequestTimes(0, 40), startedAt: 0.4, completedAt: 1.6, sendStartedAt: 1.6, sink: m }, 2.7);
  assert.equal(m.requestQueueTimeMs.sum, 0, '0.4 rounds down');
  assert.equal(m.localTimeMs.sum, 1, '1.2 rounds down');
  assert.equal(m.responseSendTimeMs.sum, 1, '1.1 rounds down');
  assert.equal(m.totalTimeMs.sum, 3, '2.7 rounds up, on its own (the rounded parts add up to 2)');
  m.requestEnded({ ...newRequestTimes(10, 40), startedAt: 10.5, completedAt: 10.5, sendStartedAt: 10.5, sink: m }, 10.5);
  assert.equal(m.requestQueueTimeMs.sum, 1, 'a half rounds up');
  // Whole values: a 0.5 ms bucket holds only the requests that took 0 ms.
  assert.equal(m.requestQueueTimeMs.counts[0], 1);
  assert.equal(m.requestQueueTimeMs.counts[1], 1);
});

test('MessageConversionsTimeMs and TemporaryMemoryBytes: Produce and Fetch only, one zero per request', async (t) => {
  const { broker, clock, port } = await manualBroker(t);
  const c = await RawClient.connect(port);
  t.after(() => c.close());
  await createTopic(c, 'conv');
  await produceOk(c, 'conv', 0, buildRecordBatch({ records: [{ value: Buffer.from('a') }] }));
  const pending = c.request(ApiKey.Fetch, 12, fetchOne('conv', 0, 1, { maxWaitMs: 50 }));
  await waitUntil(() => broker.metrics.delayedFetches === 1, { message: 'the fetch is parked' });
  await clock.advance(50);
  await pending;
  await waitUntil(() => byName(broker.metrics, 'FetchConsumer').requests.value === 1, { message: 'the fetch counted' });
  const e = parseExposition(brokerExposition(broker).toString());
  for (const family of ['kafka_network_requestmetrics_messageconversionstimems', 'kafka_network_requestmetrics_temporarymemorybytes']) {
    assert.equal(e.types.get(family), 'histogram', family);
    for (const request of ['Produce', 'Fetch']) {
      assert.equal(e.value(`${family}_count`, { request }), e.value('kafka_network_requestmetrics_requests_total', { request }), `${family} ${request}`);
      assert.equal(e.value(`${family}_sum`, { request }), 0, `${family} ${request}`);
    }
    for (const request of ['FetchConsumer', 'Metadata', 'CreateTopics']) assert.equal(e.value(`${family}_count`, { request }), undefined, `${family} ${request}`);
  }
});

test('an ApiVersions newer than ours is counted with its UNSUPPORTED_VERSION; other unsupported versions close unseen', async (t) => {
  const { broker, port } = await manualBroker(t);
  const versions = byName(broker.metrics, 'ApiVersions');
  const metadata = snapshot(broker.metrics, 'Metadata');
  const requests = versions.requests.value;
  const header = (apiKey: number, version: number, flexible: boolean) => {
    const h = Buffer.alloc(flexible ? 11 : 10);
    h.writeInt16BE(apiKey, 0);
    h.writeInt16BE(version, 2);
    h.writeInt32BE(77, 4);
    h.writeInt16BE(-1, 8);
    return h;
  };
  const frame = (body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
  const c = await RawClient.connect(port);
  t.after(() => c.close());
  const answer = c.nextFrame();
  c.writeRaw(frame(header(ApiKey.ApiVersions, 42, true)));
  assert.equal((await answer).readInt16BE(4), ErrorCode.UNSUPPORTED_VERSION);
  await waitUntil(() => versions.requests.value === requests + 1, { message: 'the ApiVersions answer counted' });
  assert.equal(versions.errors.get(ErrorCode.UNSUPPORTED_VERSION)?.value, 1);
  assert.equal(versions.totalTimeMs.count, versions.requests.value, 'and timed');

  const d = await RawClient.connect(port);
  t.after(() => d.close());
  d.writeRaw(frame(header(ApiKey.Metadata, 99, false)));
  assert.ok(await d.waitClosed());
  assert.equal(delta(broker.metrics, 'Metadata', metadata).requests, 0, 'Kafka closes the connection before a request exists');
});
