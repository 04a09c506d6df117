// A handler that throws is a bug, and it must be visible: the broker logs it in full (api, version,
// correlation id, client id, stack) and answers with the API's own error response carrying
// UNKNOWN_SERVER_ERROR, as Kafka does, and the connection stays usable. The failure is injected by
// swapping a handler's `handle` in the handler table of this process's (in-process) broker.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { withBroker, type TestBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetchOne, metadataRequest, produceRequest } from '../helpers/requests.js';
import { waitUntil } from '../helpers/wait.js';
import { apiHandlers } from '../../src/broker/handlers/index.js';
import type { ApiHandler } from '../../src/broker/api.js';
import { errorResponseBody } from '../../src/broker/error-response.js';
import { ApiKey, apiSpecs, apiByKey } from '../../src/protocol/generated/index.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';

const { Kafka, logLevel } = kafkajs;
const UNKNOWN = ErrorCode.UNKNOWN_SERVER_ERROR;

/** Makes the handler of `apiKey` fail (throw, or reject) until the test ends or the returned function is called. */
function breakHandler(t: TestContext, apiKey: number, mode: 'throw' | 'reject'): () => void {
  const handler: ApiHandler | undefined = apiHandlers.find((h) => h.apiKey === apiKey);
  assert.ok(handler, `a handler for API ${apiKey}`);
  const original = handler.handle.bind(handler);
  handler.handle = () => {
    const err = new Error(`injected failure of API ${apiKey}`);
    if (mode === 'reject') return Promise.reject(err);
    throw err;
  };
  const restore = (): void => {
    handler.handle = original;
  };
  t.after(restore);
  return restore;
}

function errorLogLine(broker: TestBroker, correlationId: number, api: string): Record<string, unknown> | undefined {
  return broker.logs.find((l) => l.level === 50 && l.correlationId === correlationId && l.api === api);
}

function encodeDecodeResponse(apiKey: number, version: number, body: unknown): any {
  const spec = apiByKey.get(apiKey)!;
  const w = new Writer();
  spec.encodeResponse(w, version, body);
  return spec.decodeResponse(new Reader(Buffer.from(w.finish())), version);
}

describe('error responses built from the request (every API)', () => {
  test('every version of every API has an error response that encodes, with errorCode -1 where the version has one', () => {
    let withTopLevelError = 0;
    for (const spec of apiSpecs) {
      for (let v = spec.minVersion; v <= spec.maxVersion; v++) {
        const body = errorResponseBody(spec, v, {}, UNKNOWN);
        assert.ok(body, `${spec.name} v${v}`);
        const decoded = encodeDecodeResponse(spec.apiKey, v, body);
        const hasErrorCode = spec.responseShape.fields.some((f) => f.errorCode && v >= f.versions[0] && v <= f.versions[1]);
        if (hasErrorCode) {
          assert.equal(decoded.errorCode, UNKNOWN, `${spec.name} v${v}`);
          withTopLevelError++;
        }
      }
    }
    assert.ok(withTopLevelError > 100, `${withTopLevelError} API versions carry a top-level error code`);
  });

  test('Produce: every requested partition, with its topic, gets the error; acks=0 gets no response', () => {
    const request = {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1000,
      topicData: [
        {
          name: 'a',
          partitionData: [
            { index: 0, records: null },
            { index: 3, records: null },
          ],
        },
        { name: 'b', partitionData: [{ index: 1, records: null }] },
      ],
    };
    const r = encodeDecodeResponse(ApiKey.Produce, 9, errorResponseBody(apiByKey.get(ApiKey.Produce)!, 9, request, UNKNOWN));
    assert.deepEqual(
      r.responses.map((t: any) => [t.name, t.partitionResponses.map((p: any) => [p.index, p.errorCode, p.baseOffset])]),
      [
        [
          'a',
          [
            [0, UNKNOWN, 0],
            [3, UNKNOWN, 0],
          ],
        ],
        ['b', [[1, UNKNOWN, 0]]],
      ],
    );
    assert.equal(errorResponseBody(apiByKey.get(ApiKey.Produce)!, 9, { ...request, acks: 0 }, UNKNOWN), null);
  });

  test('Fetch: top-level error from v7, each partition by topic name (v12) or topic id (v13+)', () => {
    const spec = apiByKey.get(ApiKey.Fetch)!;
    const topicId = '0b9f1c2a-3d4e-4f50-8a6b-7c8d9e0f1a2b';
    const request = { ...fetchOne('t', 2, 0), forgottenTopicsData: [{ topic: 'gone', topicId, partitions: [9] }] };
    request.topics[0]!.topicId = topicId;
    const v12 = encodeDecodeResponse(ApiKey.Fetch, 12, errorResponseBody(spec, 12, request, UNKNOWN));
    assert.equal(v12.errorCode, UNKNOWN);
    assert.deepEqual(
      v12.responses.map((t: any) => [t.topic, t.partitions.map((p: any) => [p.partitionIndex, p.errorCode, p.highWatermark, p.records])]),
      [['t', [[2, UNKNOWN, 0, null]]]],
    );
    const v13 = encodeDecodeResponse(ApiKey.Fetch, 13, errorResponseBody(spec, 13, request, UNKNOWN));
    assert.deepEqual(
      v13.responses.map((t: any) => [t.topicId, t.partitions.map((p: any) => p.partitionIndex)]),
      [[topicId, [2]]],
    );
    const v6 = encodeDecodeResponse(ApiKey.Fetch, 6, errorResponseBody(spec, 6, request, UNKNOWN));
    assert.deepEqual(v6.responses[0].partitions[0].errorCode, UNKNOWN);
  });

  test('Metadata: each requested topic (no top-level error); CreateTopics: each topic; DescribeGroups: each group id', () => {
    const md = encodeDecodeResponse(
      ApiKey.Metadata,
      12,
      errorResponseBody(
        apiByKey.get(ApiKey.Metadata)!,
        12,
        { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'x' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false },
        UNKNOWN,
      ),
    );
    assert.deepEqual(md.brokers, []);
    assert.deepEqual(
      md.topics.map((t: any) => [t.name, t.errorCode]),
      [['x', UNKNOWN]],
    );
    const ct = encodeDecodeResponse(
      ApiKey.CreateTopics,
      7,
      errorResponseBody(
        apiByKey.get(ApiKey.CreateTopics)!,
        7,
        { topics: [{ name: 'n', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 1000, validateOnly: false },
        UNKNOWN,
      ),
    );
    assert.deepEqual(
      ct.topics.map((t: any) => [t.name, t.errorCode, t.numPartitions]),
      [['n', UNKNOWN, -1]],
    );
    const dg = encodeDecodeResponse(
      ApiKey.DescribeGroups,
      5,
      errorResponseBody(apiByKey.get(ApiKey.DescribeGroups)!, 5, { groups: ['g1', 'g2'], includeAuthorizedOperations: false }, UNKNOWN),
    );
    assert.deepEqual(
      dg.groups.map((g: any) => [g.groupId, g.errorCode]),
      [
        ['g1', UNKNOWN],
        ['g2', UNKNOWN],
      ],
    );
  });
});

describe('a handler that fails', () => {
  test('a throwing Produce handler: raw client gets UNKNOWN_SERVER_ERROR per partition, one error log line, and the connection goes on', async (t) => {
    const broker = await withBroker(t);
    const c = await RawClient.connect(broker.port);
    t.after(() => c.close());
    await createTopic(c, 'boom', 2);
    breakHandler(t, ApiKey.Produce, 'throw');
    const records = buildRecordBatch([{ value: Buffer.from('v') }]);
    const request = produceRequest('boom', 1, records);
    const r = await c.request(ApiKey.Produce, 9, request);
    assert.deepEqual(
      r.body.responses.map((x: any) => [x.name, x.partitionResponses.map((p: any) => [p.index, p.errorCode])]),
      [['boom', [[1, UNKNOWN]]]],
    );
    const line = await waitUntil(() => errorLogLine(broker, r.correlationId, 'Produce'));
    assert.equal(line.apiKey, ApiKey.Produce);
    assert.equal(line.apiVersion, 9);
    assert.equal(line.clientId, 'raw-test');
    const err = line.err as { message: string; stack: string };
    assert.equal(err.message, `injected failure of API ${ApiKey.Produce}`);
    assert.match(err.stack, /injected failure[\s\S]*at .*handler-errors\.test\.ts/);
    assert.equal(c.closed, false);
    // Still usable: another request on the same connection is answered.
    const md = await c.request(ApiKey.Metadata, 12, metadataRequest(['boom']));
    assert.equal(md.body.topics[0].errorCode, ErrorCode.NONE);
    // acks=0 has no response to carry the error: Kafka closes the connection.
    c.writeRaw(RawClient.frame(ApiKey.Produce, 9, 777, produceRequest('boom', 0, records, 0)));
    assert.equal(await c.waitClosed(), true);
    await waitUntil(() => errorLogLine(broker, 777, 'Produce'));
  });

  test('a rejecting Fetch handler: the top-level and partition errors, then the connection goes on', async (t) => {
    const broker = await withBroker(t);
    const c = await RawClient.connect(broker.port);
    t.after(() => c.close());
    await createTopic(c, 'boom', 1);
    breakHandler(t, ApiKey.Fetch, 'reject');
    const r = await c.request(ApiKey.Fetch, 12, fetchOne('boom', 0, 0));
    assert.equal(r.body.errorCode, UNKNOWN);
    assert.deepEqual(
      r.body.responses.map((x: any) => [x.topic, x.partitions.map((p: any) => [p.partitionIndex, p.errorCode])]),
      [['boom', [[0, UNKNOWN]]]],
    );
    const line = await waitUntil(() => errorLogLine(broker, r.correlationId, 'Fetch'));
    assert.equal(line.apiVersion, 12);
    const again = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
    assert.equal(again.body.errorCode, ErrorCode.NONE);
  });

  test('kafkajs sees a protocol error UNKNOWN_SERVER_ERROR, not a connection error, and its next send succeeds', async (t) => {
    const broker = await withBroker(t);
    await createTopic(broker, 'kjs', 1);
    const kafka = new Kafka({ clientId: 'handler-errors-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer();
    await producer.connect();
    t.after(() => producer.disconnect());
    const restore = breakHandler(t, ApiKey.Produce, 'throw');
    await assert.rejects(producer.send({ topic: 'kjs', acks: -1, messages: [{ value: 'x' }] }), (err: Error & { type?: string; code?: number; cause?: any }) => {
      // kafkajs names error code -1 'UNKNOWN' (Kafka's UNKNOWN_SERVER_ERROR); the send's
      // KafkaJSNonRetriableError wraps the KafkaJSProtocolError as its cause.
      const protocolError = err.name === 'KafkaJSProtocolError' ? err : err.cause;
      assert.equal(protocolError?.name, 'KafkaJSProtocolError', `${err.name}: ${err.message}`);
      assert.equal(protocolError.type, 'UNKNOWN');
      assert.equal(protocolError.code, UNKNOWN);
      return true;
    });
    const line = await waitUntil(() => broker.logs.find((l) => l.level === 50 && l.api === 'Produce' && l.clientId === 'handler-errors-test'));
    assert.equal(typeof line.correlationId, 'number');
    assert.equal(typeof line.apiVersion, 'number');
    assert.match((line.err as { stack: string }).stack, /injected failure/);
    restore();
    const [meta] = await producer.send({ topic: 'kjs', acks: -1, messages: [{ value: 'y' }] });
    assert.equal(meta?.errorCode, 0);
  });
});
