// Client quotas on a real broker process: AlterClientQuotas / DescribeClientQuotas (every
// version, errors, persistence across a restart) and enforcement as Kafka does it (KIP-219):
// throttle_time_ms in Produce and Fetch responses with the value the sampled rate gives, the
// connection muted for that time, older versions answered late, and data rates capped.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetchOne, produceRequest } from '../helpers/requests.js';
import { runPython } from '../helpers/python-clients.js';
import { elapse } from '../helpers/wait.js';
import { ApiKey, type AlterClientQuotasResponse, type DescribeClientQuotasResponse, type FetchResponse, type ProduceResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import kafkajs from 'kafkajs';

// Three retained samples of one second: a fresh client's burst is spread over at least 2 s, so
// rates and throttles are easy to predict (Kafka's defaults, 11 × 1 s, do the same over 10 s).
const WINDOW_NUM = 3;
const WINDOW_MS = 1000;

type Entity = { entityType: string; entityName: string | null }[];

async function alter(c: RawClient, entries: { entity: Entity; ops: { key: string; value: number; remove: boolean }[] }[], version = 1, validateOnly = false) {
  return (await c.request<AlterClientQuotasResponse>(ApiKey.AlterClientQuotas, version, { entries, validateOnly })).body;
}

async function describeQuotas(c: RawClient, components: { entityType: string; matchType: number; match: string | null }[], strict = false, version = 1) {
  return (await c.request<DescribeClientQuotasResponse>(ApiKey.DescribeClientQuotas, version, { components, strict })).body;
}

const clientEntity = (name: string | null): Entity => [{ entityType: 'client-id', entityName: name }];
const set = (key: string, value: number) => ({ key, value, remove: false });

/** Sorted "type=name" renderings of the described entities, for compact assertions. */
function described(res: DescribeClientQuotasResponse): string[] {
  return (res.entries ?? [])
    .map(
      (e) =>
        e.entity
          .map((p) => `${p.entityType}=${p.entityName ?? '<default>'}`)
          .sort()
          .join(',') +
        ':' +
        e.values
          .map((v) => `${v.key}=${v.value}`)
          .sort()
          .join(','),
    )
    .sort();
}

describe('AlterClientQuotas and DescribeClientQuotas', () => {
  const broker = suiteBroker({ process: true });
  let c: RawClient;
  before(async () => {
    c = await RawClient.connect(broker.port);
  });
  after(() => c?.close());

  test('every version sets, describes with each match type, removes, and survives a restart', async () => {
    for (const v of [0, 1]) {
      const res = await alter(
        c,
        [
          { entity: clientEntity(`app-v${v}`), ops: [set('producer_byte_rate', 1024000), set('request_percentage', 50)] },
          { entity: clientEntity(null), ops: [set('consumer_byte_rate', 2048000)] },
          {
            entity: [
              { entityType: 'user', entityName: 'ANONYMOUS' },
              { entityType: 'client-id', entityName: 'app-v0' },
            ],
            ops: [set('producer_byte_rate', 512000)],
          },
          { entity: [{ entityType: 'user', entityName: null }], ops: [set('request_percentage', 200)] },
        ],
        v,
      );
      assert.deepEqual(
        res.entries.map((e) => e.errorCode),
        [0, 0, 0, 0],
      );
    }
    for (const v of [0, 1]) {
      const exact = await describeQuotas(c, [{ entityType: 'client-id', matchType: 0, match: 'app-v1' }], false, v);
      assert.equal(exact.errorCode, ErrorCode.NONE);
      assert.deepEqual(described(exact), ['client-id=app-v1:producer_byte_rate=1024000,request_percentage=50']);
      const dflt = await describeQuotas(c, [{ entityType: 'client-id', matchType: 1, match: null }], true, v);
      assert.deepEqual(described(dflt), ['client-id=<default>:consumer_byte_rate=2048000']);
    }
    const anyClient = await describeQuotas(c, [{ entityType: 'client-id', matchType: 2, match: null }]);
    assert.equal(anyClient.entries!.length, 4, 'non-strict: entities with a client-id, the user+client-id one included');
    const strictClient = await describeQuotas(c, [{ entityType: 'client-id', matchType: 2, match: null }], true);
    assert.equal(strictClient.entries!.length, 3, 'strict: only entities made of a client-id alone');
    const all = await describeQuotas(c, []);
    assert.equal(all.entries!.length, 5);

    // validateOnly changes nothing; remove drops a key, and an entity without keys disappears.
    await alter(c, [{ entity: clientEntity('app-v0'), ops: [set('producer_byte_rate', 1)] }], 1, true);
    assert.deepEqual(described(await describeQuotas(c, [{ entityType: 'client-id', matchType: 0, match: 'app-v0' }], true)), [
      'client-id=app-v0:producer_byte_rate=1024000,request_percentage=50',
    ]);
    await alter(c, [
      {
        entity: clientEntity('app-v0'),
        ops: [
          { key: 'producer_byte_rate', value: 0, remove: true },
          { key: 'request_percentage', value: 0, remove: true },
        ],
      },
    ]);
    assert.deepEqual(described(await describeQuotas(c, [{ entityType: 'client-id', matchType: 0, match: 'app-v0' }], true)), []);

    await broker.restart();
    c.close();
    c = await RawClient.connect(broker.port);
    const after = described(await describeQuotas(c, []));
    assert.deepEqual(after, [
      'client-id=<default>:consumer_byte_rate=2048000',
      'client-id=app-v0,user=ANONYMOUS:producer_byte_rate=512000',
      'client-id=app-v1:producer_byte_rate=1024000,request_percentage=50',
      'user=<default>:request_percentage=200',
    ]);
  });

  test('invalid entities, keys and values are refused per entry with INVALID_REQUEST', async () => {
    const res = await alter(c, [
      { entity: [{ entityType: 'group', entityName: 'g' }], ops: [set('producer_byte_rate', 1)] },
      { entity: clientEntity('x'), ops: [set('no_such_quota', 1)] },
      { entity: clientEntity('x'), ops: [set('producer_byte_rate', 1.5)] },
      { entity: clientEntity('x'), ops: [set('producer_byte_rate', -5)] },
      {
        entity: [
          { entityType: 'ip', entityName: '10.0.0.1' },
          { entityType: 'user', entityName: 'u' },
        ],
        ops: [set('connection_creation_rate', 5)],
      },
      { entity: clientEntity('x'), ops: [set('producer_byte_rate', 10), set('producer_byte_rate', 20)] },
      { entity: clientEntity('ok'), ops: [set('consumer_byte_rate', 4096)] },
    ]);
    assert.deepEqual(
      res.entries.map((e) => e.errorCode),
      [...Array(6).fill(ErrorCode.INVALID_REQUEST), ErrorCode.NONE],
    );
    assert.ok(res.entries.every((e, i) => (i < 6 ? typeof e.errorMessage === 'string' : e.errorMessage === null)));
    const badFilter = await describeQuotas(c, [{ entityType: 'client-id', matchType: 0, match: null }]);
    assert.equal(badFilter.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal(badFilter.entries, null);
    const dup = await describeQuotas(c, [
      { entityType: 'user', matchType: 2, match: null },
      { entityType: 'user', matchType: 1, match: null },
    ]);
    assert.equal(dup.errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await describeQuotas(c, [{ entityType: 'client-id', matchType: 0, match: 'ok' }])).entries!.length, 1);
  });
});

describe('quota enforcement', () => {
  const broker = suiteBroker({
    process: true,
    config: { 'quota.window.num': WINDOW_NUM, 'quota.window.size.seconds': WINDOW_MS / 1000, 'message.max.bytes': 2 * 1024 * 1024 },
  });
  let admin: RawClient;
  before(async () => {
    admin = await RawClient.connect(broker.port);
    await createTopic(admin, 'q', 1);
  });
  after(() => admin?.close());

  async function producer(clientId: string): Promise<RawClient> {
    const c = await RawClient.connect(broker.port);
    c.clientId = clientId;
    return c;
  }

  test('throttle_time_ms follows the sampled rate, and the connection is muted for it (Produce v9)', async () => {
    const BOUND = 100_000;
    await alter(admin, [{ entity: clientEntity('raw-throttled'), ops: [set('producer_byte_rate', BOUND)] }]);
    const c = await producer('raw-throttled');
    const batch = buildRecordBatch({ records: [{ value: Buffer.alloc(150_000, 1) }] });
    const first = await c.request<ProduceResponse>(ApiKey.Produce, 9, produceRequest('q', 0, batch));
    assert.equal(first.body.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    assert.equal(first.body.throttleTimeMs, 0, '150 KB spread over the 2 s minimum window is 75 KB/s');
    const second = await c.request<ProduceResponse>(ApiKey.Produce, 9, produceRequest('q', 0, batch));
    // About 300 KB over 2 s: (150 - 100) / 100 × 2000 ms ≈ 1000 ms (the window grows by the time the requests took).
    const t = second.body.throttleTimeMs;
    assert.ok(t >= 600 && t <= 1100, `throttle_time_ms ${t}`);
    assert.equal(second.body.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE, 'a throttled produce is still appended');
    const sentAt = Date.now();
    const third = await c.request<ProduceResponse>(ApiKey.Produce, 9, produceRequest('q', 0, buildRecordBatch({ records: [{ value: 'small' }] })));
    const waited = Date.now() - sentAt;
    assert.ok(waited >= t - 150, `the muted connection answered after ${waited} ms (throttle ${t} ms)`);
    assert.equal(third.body.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
    c.close();

    // A client without a quota is never throttled.
    const free = await producer('unlimited');
    for (let i = 0; i < 3; i++) {
      const r = await free.request<ProduceResponse>(ApiKey.Produce, 9, produceRequest('q', 0, batch));
      assert.equal(r.body.throttleTimeMs, 0);
    }
    free.close();
  });

  test('a client older than KIP-219 (Produce v5) gets its answer late instead', async () => {
    await alter(admin, [{ entity: clientEntity('raw-old'), ops: [set('producer_byte_rate', 100_000)] }]);
    const c = await producer('raw-old');
    const batch = buildRecordBatch({ records: [{ value: Buffer.alloc(150_000, 2) }] });
    await c.request<ProduceResponse>(ApiKey.Produce, 5, produceRequest('q', 0, batch));
    const sentAt = Date.now();
    const second = await c.request<ProduceResponse>(ApiKey.Produce, 5, produceRequest('q', 0, batch));
    const waited = Date.now() - sentAt;
    const t = second.body.throttleTimeMs;
    assert.ok(t >= 600 && t <= 1100, `throttle_time_ms ${t}`);
    assert.ok(waited >= t - 50, `answered after ${waited} ms, throttle ${t} ms`);
    c.close();
  });

  test('producer_byte_rate caps the data rate of a client that ignores throttling', async () => {
    const BOUND = 200_000;
    await alter(admin, [{ entity: clientEntity('greedy'), ops: [set('producer_byte_rate', BOUND)] }]);
    const c = await producer('greedy');
    const batch = buildRecordBatch({ records: [{ value: Buffer.alloc(50_000, 3) }] });
    const RUN_MS = 4000;
    const started = Date.now();
    let acked = 0;
    let throttled = 0;
    // Four requests in flight at all times, never waiting for throttle_time_ms.
    const worker = async () => {
      while (Date.now() - started < RUN_MS) {
        const r = await c.request<ProduceResponse>(ApiKey.Produce, 9, produceRequest('q', 0, batch));
        if (Date.now() - started <= RUN_MS) acked += batch.length;
        if (r.body.throttleTimeMs > 0) throttled++;
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const elapsed = Date.now() - started;
    // Kafka's model allows the rate over the last window, plus one burst of a window, plus what was in flight.
    const allowed = (BOUND * (elapsed + WINDOW_NUM * WINDOW_MS)) / 1000 + 4 * batch.length;
    assert.ok(throttled > 0, 'the client was told to slow down');
    assert.ok(acked <= allowed * 1.25, `${acked} bytes acknowledged in ${elapsed} ms; the quota allows about ${allowed.toFixed(0)}`);
    assert.ok(acked >= (BOUND * WINDOW_MS) / 1000, `only ${acked} bytes went through`);
    c.close();
  });

  test('consumer_byte_rate: fetches are capped to the window, throttled ones come back empty, the rate is bounded', async () => {
    const BOUND = 100_000;
    const value = Buffer.alloc(40_000, 4);
    const loader = await producer('loader');
    await createTopic(admin, 'qf', 1);
    for (let i = 0; i < 30; i++) await loader.request(ApiKey.Produce, 9, produceRequest('qf', 0, buildRecordBatch({ records: [{ value }] })));
    loader.close();
    await alter(admin, [{ entity: clientEntity('slow-consumer'), ops: [set('consumer_byte_rate', BOUND)] }]);
    const c = await producer('slow-consumer');
    const maxPerFetch = (BOUND * (WINDOW_NUM - 1) * WINDOW_MS) / 1000;
    const RUN_MS = 3000;
    const started = Date.now();
    let offset = 0;
    let fetched = 0;
    let emptyThrottled = 0;
    while (Date.now() - started < RUN_MS) {
      const r = await c.request<FetchResponse>(ApiKey.Fetch, 12, fetchOne('qf', 0, offset, { maxBytes: 10 * 1024 * 1024 }));
      const res = r.body;
      const records = res.responses[0]?.partitions[0]?.records ?? Buffer.alloc(0);
      assert.ok(records.length <= maxPerFetch + value.length + 200, `one fetch returned ${records.length} bytes`);
      if (res.throttleTimeMs > 0 && res.responses.length === 0) emptyThrottled++;
      fetched += records.length;
      if (records.length > 0) {
        // Next offset: count the records of the batches returned (one record per batch here).
        let pos = 0;
        while (pos + 12 <= records.length) {
          pos += 12 + records.readInt32BE(pos + 8);
          offset++;
        }
      }
      // A polite consumer waits as told (KIP-219); the broker mutes it for that long anyway.
      await elapse(res.throttleTimeMs);
    }
    const elapsed = Date.now() - started;
    const allowed = (BOUND * (elapsed + WINDOW_NUM * WINDOW_MS)) / 1000 + maxPerFetch;
    assert.ok(emptyThrottled > 0, 'some fetches were throttled and answered without data');
    assert.ok(fetched <= allowed * 1.25, `${fetched} bytes fetched in ${elapsed} ms; the quota allows about ${allowed.toFixed(0)}`);
    assert.ok(fetched >= maxPerFetch / 2, `only ${fetched} bytes fetched`);
    c.close();
  });

  test('request_percentage throttles any request, capped at one sample window', async () => {
    await alter(admin, [{ entity: clientEntity('busy'), ops: [set('request_percentage', 0.001)] }]);
    const c = await producer('busy');
    const metadata = { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };
    let maxThrottle = 0;
    for (let i = 0; i < 20 && maxThrottle === 0; i++) {
      const r = await c.request(ApiKey.Metadata, 12, metadata);
      maxThrottle = Math.max(maxThrottle, r.body.throttleTimeMs as number);
    }
    assert.ok(maxThrottle > 0, 'a client far over its request time quota is throttled');
    assert.ok(maxThrottle <= WINDOW_MS, `request throttles are capped at one window, got ${maxThrottle} ms`);
    c.close();
    const other = await producer('not-busy');
    const r = await other.request(ApiKey.Metadata, 12, metadata);
    assert.equal(r.body.throttleTimeMs, 0);
    other.close();
  });

  test('kafkajs keeps producing under a quota and is slowed down by the throttle', async () => {
    const BOUND = 100_000;
    await alter(admin, [{ entity: clientEntity('kjs-throttled'), ops: [set('producer_byte_rate', BOUND)] }]);
    const kafka = new kafkajs.Kafka({ clientId: 'kjs-throttled', brokers: [broker.bootstrap], logLevel: kafkajs.logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    try {
      const value = Buffer.alloc(100_000, 5);
      const sentAt: number[] = [];
      for (let i = 0; i < 5; i++) {
        const [meta] = await producer.send({ topic: 'q', acks: -1, messages: [{ value }] });
        assert.equal(meta!.errorCode, 0);
        sentAt.push(Date.now());
      }
      // By the third 100 KB the rate over the 2 s minimum window exceeds 100 KB/s: about 1 s of
      // throttle each time after that, which the broker enforces and kafkajs honours.
      const throttledPart = sentAt[4]! - sentAt[2]!;
      assert.ok(throttledPart >= 1000, `the last two sends took ${throttledPart} ms under a ${BOUND} B/s quota`);
    } finally {
      await producer.disconnect();
    }
  });

  test('confluent-kafka-python (librdkafka) reports the throttling through throttle_cb and is slowed down', async () => {
    const BOUND = 100_000;
    const COUNT = 40;
    const SIZE = 20_000;
    const free = runPython('confluent_throttle.py', [broker.bootstrap, 'q', 'py-free', String(COUNT), String(SIZE)], 120_000);
    assert.equal(free.status, 0, free.output);
    assert.equal(free.summary.throttle_events, 0, `no quota, no throttling: ${free.output}`);

    await alter(admin, [{ entity: clientEntity('py-throttled'), ops: [set('producer_byte_rate', BOUND)] }]);
    const r = runPython('confluent_throttle.py', [broker.bootstrap, 'q', 'py-throttled', String(COUNT), String(SIZE)], 120_000);
    assert.equal(r.status, 0, r.output);
    assert.equal(r.summary.delivered, COUNT + 1, r.output);
    assert.ok(Number(r.summary.throttle_events) > 0, `librdkafka saw no throttle: ${r.output}`);
    // Kafka lets a request through and throttles afterwards: about 800 KB over the 2 s minimum
    // window is 400 KB/s, (400 - 100) / 100 × 2 s ≈ 6 s (less if librdkafka split the batches).
    const maxThrottle = Number(r.summary.max_throttle_s);
    assert.ok(maxThrottle >= 2 && maxThrottle <= 7, `max throttle ${maxThrottle} s: ${r.output}`);
    // The broker mutes the connection for the throttle time after the throttled response, so no
    // later delivery can come back before it ends. Whether that wait falls inside the flush or on
    // the message sent after it depends on how librdkafka batched: count both.
    const total = Number(r.summary.elapsed_s) + Number(r.summary.after_s);
    assert.ok(total >= maxThrottle * 0.9, `everything was delivered ${total.toFixed(2)} s after the start: ${r.output}`);
    assert.ok(total > Number(free.summary.elapsed_s) + Number(free.summary.after_s), `the throttled run was not slower than the free one: ${free.output} ${r.output}`);
  });
});
