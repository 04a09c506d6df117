// Produce against a broker: acks, errors, large messages, LogAppendTime topics, idempotent
// producers and producer ids.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import { suiteBroker, withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, fetchOne, produceRequest } from '../helpers/requests.js';
import { ApiKey, apiByKey, type FetchResponse, type ProduceResponsePartitionProduceResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Reader } from '../../src/protocol/primitives.js';
import { responseHeaderVersion } from '../../src/protocol/headers.js';
import { buildRecordBatch, type BuildBatchOptions } from '../../src/protocol/records/record-batch-builder.js';
import { Attribute, computeBatchCrc, readBatchHeader, splitBatches } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';

const { Kafka, logLevel } = kafkajs;

const produceBody = produceRequest;

async function produce(c: RawClient, topic: string, partition: number, records: Buffer, acks = -1, version = 9): Promise<ProduceResponsePartitionProduceResponse> {
  const r = await c.request(ApiKey.Produce, version, produceBody(topic, partition, records, acks));
  assert.equal(r.body.responses.length, 1);
  return r.body.responses[0].partitionResponses[0];
}

function batch(values: string[], options: BuildBatchOptions = {}): Buffer {
  return buildRecordBatch({ records: values.map((value) => ({ value })), ...options });
}

async function fetchAll(
  c: RawClient,
  topic: string,
  partition: number,
  fromOffset = 0,
  maxWaitMs = 0,
): Promise<{ highWatermark: number; errorCode: number; batches: Buffer[] }> {
  const r = await c.request<FetchResponse>(ApiKey.Fetch, 12, fetchOne(topic, partition, fromOffset, { maxWaitMs, maxBytes: 16 * 1024 * 1024 }));
  const p = r.body.responses[0]!.partitions[0]!;
  return { highWatermark: p.highWatermark, errorCode: p.errorCode, batches: p.records && p.records.length > 0 ? [...splitBatches(p.records)] : [] };
}

function values(batches: Buffer[]): string[] {
  return batches.flatMap((b) => decodeBatchRecords(b).map((r) => r.value!.toString()));
}

async function initProducerId(c: RawClient, version = 4): Promise<{ errorCode: number; producerId: number; producerEpoch: number }> {
  const r = await c.request(ApiKey.InitProducerId, version, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
  return r.body;
}

describe('Produce', () => {
  const broker = suiteBroker();
  let c: RawClient;

  before(async () => {
    c = await RawClient.connect(broker.port);
  });
  after(() => c?.close());

  test('acks=0 gets no response, and the data is stored', async () => {
    await createTopic(c, 'acks0');
    const conn = await RawClient.connect(broker.port);
    try {
      const next = conn.nextFrame();
      conn.writeRaw(
        Buffer.concat([
          RawClient.frame(ApiKey.Produce, 9, 501, produceBody('acks0', 0, batch(['fire', 'forget']), 0)),
          RawClient.frame(ApiKey.ApiVersions, 3, 502, { clientSoftwareName: 't', clientSoftwareVersion: '1' }),
        ]),
      );
      const frame = await next;
      assert.equal(frame.readInt32BE(0), 502, 'the next frame answers the ApiVersions request');
      // Nothing else arrives on this connection.
      await assert.rejects(conn.nextFrame(500), /no response frame/);
      assert.ok(!conn.closed);
      const got = await fetchAll(c, 'acks0', 0, 0, 3000);
      assert.deepEqual(values(got.batches), ['fire', 'forget']);
      assert.equal(got.highWatermark, 2);
    } finally {
      conn.close();
    }
  });

  test('a failed acks=0 produce closes the connection', async () => {
    const conn = await RawClient.connect(broker.port);
    conn.writeRaw(RawClient.frame(ApiKey.Produce, 9, 7, produceBody('acks0-missing', 0, batch(['x']), 0)));
    assert.ok(await conn.waitClosed(5000), 'closed, so the producer notices');
  });

  test('acks other than 0, 1 and -1 are INVALID_REQUIRED_ACKS', async () => {
    await createTopic(c, 'bad-acks');
    for (const acks of [2, -2, 5]) {
      const p = await produce(c, 'bad-acks', 0, batch(['nope']), acks);
      assert.equal(p.errorCode, ErrorCode.INVALID_REQUIRED_ACKS, `acks=${acks}`);
      assert.equal(p.baseOffset, -1);
    }
    const ok = await produce(c, 'bad-acks', 0, batch(['yes']), 1);
    assert.equal(ok.errorCode, ErrorCode.NONE);
    assert.equal(ok.baseOffset, 0, 'nothing was stored by the refused requests');
  });

  test('an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION and creates nothing', async () => {
    for (const version of [3, 7, 9, 12]) {
      const p = await produce(c, `no-such-topic-v${version}`, 0, batch(['x']), -1, version);
      assert.equal(p.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `v${version}`);
    }
    await createTopic(c, 'two-partitions', 2);
    assert.equal((await produce(c, 'two-partitions', 2, batch(['x']))).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.equal((await produce(c, 'two-partitions', 1, batch(['x']))).errorCode, ErrorCode.NONE);
    const md = await c.request(ApiKey.Metadata, 12, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const names: string[] = md.body.topics.map((t: { name: string }) => t.name);
    assert.ok(!names.some((n) => n.startsWith('no-such-topic')));
  });

  test('clients cannot write to internal topics', async () => {
    // FindCoordinator creates __consumer_offsets, as the first group client would.
    const fc = await c.request(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: ['produce-test-group'] });
    assert.equal(fc.body.coordinators[0].errorCode, ErrorCode.NONE);
    const p = await produce(c, '__consumer_offsets', 0, batch(['not a coordinator record']));
    assert.equal(p.errorCode, ErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  test('a 1 MiB message goes through with max.message.bytes=2097152 and is read back intact', async () => {
    await createTopic(c, 'big', 1, { 'max.message.bytes': '2097152' });
    await createTopic(c, 'big-default');
    const value = randomBytes(1024 * 1024);
    const kafka = new Kafka({ clientId: 'produce-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer();
    await producer.connect();
    try {
      const [meta] = await producer.send({ topic: 'big', acks: -1, messages: [{ key: 'k', value }] });
      assert.equal(meta!.errorCode, 0);
      await assert.rejects(producer.send({ topic: 'big-default', acks: -1, messages: [{ value }] }), (err: any) => {
        assert.equal(err.type ?? err.cause?.type, 'MESSAGE_TOO_LARGE', 'the broker default max.message.bytes is 1048588');
        return true;
      });
    } finally {
      await producer.disconnect();
    }
    const got = await fetchAll(c, 'big', 0);
    assert.equal(got.errorCode, ErrorCode.NONE);
    assert.equal(got.batches.length, 1);
    const records = decodeBatchRecords(got.batches[0]!);
    assert.equal(records.length, 1);
    assert.equal(records[0]!.key!.toString(), 'k');
    assert.ok(records[0]!.value!.equals(value), 'the value is byte-identical');
  });

  test('LogAppendTime topics stamp the batch and answer with the append time', async () => {
    await createTopic(c, 'append-time', 1, { 'message.timestamp.type': 'LogAppendTime' });
    await createTopic(c, 'create-time');
    const oldTimestamp = 1_500_000_000_000;
    const before = Date.now();
    const p = await produce(
      c,
      'append-time',
      0,
      buildRecordBatch({
        records: [
          { value: 'a', timestamp: oldTimestamp },
          { value: 'b', timestamp: oldTimestamp + 5 },
        ],
      }),
    );
    const after = Date.now();
    assert.equal(p.errorCode, ErrorCode.NONE);
    assert.notEqual(p.logAppendTimeMs, -1);
    assert.ok(p.logAppendTimeMs >= before - 5 && p.logAppendTimeMs <= after + 5, `append time ${p.logAppendTimeMs} is now`);

    const got = await fetchAll(c, 'append-time', 0);
    assert.equal(got.batches.length, 1);
    const b = got.batches[0]!;
    const header = readBatchHeader(b);
    assert.ok((header.attributes & Attribute.timestampTypeLogAppend) !== 0, 'timestamp type bit set');
    assert.equal(header.maxTimestamp, p.logAppendTimeMs);
    assert.equal(header.crc, computeBatchCrc(b), 'the CRC covers the rewritten header');
    assert.deepEqual(values(got.batches), ['a', 'b']);

    const ct = await produce(c, 'create-time', 0, buildRecordBatch({ records: [{ value: 'c', timestamp: oldTimestamp }] }));
    assert.equal(ct.logAppendTimeMs, -1, 'CreateTime topics answer -1');
    const ctb = (await fetchAll(c, 'create-time', 0)).batches[0]!;
    assert.equal(readBatchHeader(ctb).attributes & Attribute.timestampTypeLogAppend, 0);
    assert.equal(readBatchHeader(ctb).maxTimestamp, oldTimestamp);
  });

  describe('idempotent producers', () => {
    test('a retried batch gets its original offset and is stored once', async () => {
      await createTopic(c, 'idem');
      const { errorCode, producerId, producerEpoch } = await initProducerId(c);
      assert.equal(errorCode, ErrorCode.NONE);
      assert.ok(producerId >= 0);
      assert.equal(producerEpoch, 0);
      const opts = { producerId, producerEpoch };
      const first = batch(['i0', 'i1', 'i2'], { ...opts, baseSequence: 0 });
      const a = await produce(c, 'idem', 0, first);
      assert.equal(a.errorCode, ErrorCode.NONE);
      assert.equal(a.baseOffset, 0);
      const again = await produce(c, 'idem', 0, first);
      assert.equal(again.errorCode, ErrorCode.NONE, 'a duplicate is acknowledged');
      assert.equal(again.baseOffset, 0, 'with the original offset');

      const second = batch(['i3', 'i4'], { ...opts, baseSequence: 3 });
      assert.equal((await produce(c, 'idem', 0, second)).baseOffset, 3);
      // An older batch, still among the last five, is recognised as well.
      assert.equal((await produce(c, 'idem', 0, first)).baseOffset, 0);
      assert.equal((await produce(c, 'idem', 0, second)).baseOffset, 3);

      const got = await fetchAll(c, 'idem', 0);
      assert.equal(got.highWatermark, 5);
      assert.deepEqual(values(got.batches), ['i0', 'i1', 'i2', 'i3', 'i4'], 'stored once');
    });

    test('a gap in the sequence is OUT_OF_ORDER_SEQUENCE_NUMBER', async () => {
      await createTopic(c, 'idem-gap');
      const { producerId } = await initProducerId(c);
      const opts = { producerId, producerEpoch: 0 };
      assert.equal((await produce(c, 'idem-gap', 0, batch(['g0', 'g1'], { ...opts, baseSequence: 0 }))).errorCode, ErrorCode.NONE);
      const gap = await produce(c, 'idem-gap', 0, batch(['g5'], { ...opts, baseSequence: 5 }));
      assert.equal(gap.errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
      assert.equal(gap.baseOffset, -1);
      const next = await produce(c, 'idem-gap', 0, batch(['g2'], { ...opts, baseSequence: 2 }));
      assert.equal(next.errorCode, ErrorCode.NONE);
      assert.equal(next.baseOffset, 2);
      const got = await fetchAll(c, 'idem-gap', 0);
      assert.deepEqual(values(got.batches), ['g0', 'g1', 'g2']);
    });

    test('sequences are tracked per partition', async () => {
      await createTopic(c, 'idem-parts', 2);
      const { producerId } = await initProducerId(c);
      const opts = { producerId, producerEpoch: 0, baseSequence: 0 };
      assert.equal((await produce(c, 'idem-parts', 0, batch(['p0'], opts))).errorCode, ErrorCode.NONE);
      const p1 = await produce(c, 'idem-parts', 1, batch(['p1'], opts));
      assert.equal(p1.errorCode, ErrorCode.NONE);
      assert.equal(p1.baseOffset, 0);
      assert.deepEqual(values((await fetchAll(c, 'idem-parts', 1)).batches), ['p1']);
    });

    test('InitProducerId hands out distinct ids, also across a restart', async (t) => {
      const b = await withBroker(t);
      let bc = await RawClient.connect(b.port);
      try {
        const seen = new Set<number>();
        for (const version of [0, 1, 2, 3, 4, 5]) {
          const r = await initProducerId(bc, version);
          assert.equal(r.errorCode, ErrorCode.NONE);
          assert.equal(r.producerEpoch, 0);
          assert.ok(!seen.has(r.producerId), `fresh id ${r.producerId}`);
          seen.add(r.producerId);
        }
        // The last id writes a batch, which a retry after the restart must still recognise.
        await createTopic(bc, 'idem-restart');
        const last = [...seen].at(-1)!;
        const retried = batch(['r0', 'r1'], { producerId: last, producerEpoch: 0, baseSequence: 0 });
        assert.equal((await produce(bc, 'idem-restart', 0, retried)).baseOffset, 0);
        bc.close();
        assert.equal(await b.stop(), 0);

        await b.restart();
        bc = await RawClient.connect(b.port);
        for (let i = 0; i < 3; i++) {
          const r = await initProducerId(bc);
          assert.equal(r.errorCode, ErrorCode.NONE);
          assert.ok(!seen.has(r.producerId), `id ${r.producerId} was not handed out before the restart`);
          seen.add(r.producerId);
        }
        const dup = await produce(bc, 'idem-restart', 0, retried);
        assert.equal(dup.errorCode, ErrorCode.NONE);
        assert.equal(dup.baseOffset, 0, 'the duplicate is recognised after the restart');
        assert.equal((await fetchAll(bc, 'idem-restart', 0)).highWatermark, 2);
      } finally {
        bc.close();
      }
    });

    test('a transactional InitProducerId gets an id from the transaction coordinator, bounded timeouts', async () => {
      const r = await c.request(ApiKey.InitProducerId, 4, { transactionalId: 'txn', transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 });
      assert.equal(r.body.errorCode, ErrorCode.NONE);
      assert.equal(r.body.producerEpoch, 0);
      const tooLong = await c.request(ApiKey.InitProducerId, 4, { transactionalId: 'txn', transactionTimeoutMs: 900_001, producerId: -1, producerEpoch: -1 });
      assert.equal(tooLong.body.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    });
  });

  test('responses keep request order on one connection even when appends interleave', async () => {
    await createTopic(c, 'order', 3);
    const conn = await RawClient.connect(broker.port);
    try {
      const frames: Promise<Buffer>[] = [];
      const out: Buffer[] = [];
      for (let i = 0; i < 30; i++) {
        frames.push(conn.nextFrame());
        out.push(RawClient.frame(ApiKey.Produce, 9, 900 + i, produceBody('order', i % 3, batch([`o${i}`]))));
      }
      conn.writeRaw(Buffer.concat(out));
      const got = await Promise.all(frames);
      got.forEach((f, i) => {
        const r = new Reader(f);
        assert.equal(r.int32(), 900 + i);
        if (responseHeaderVersion(ApiKey.Produce, 9) >= 1) r.skipTaggedFields();
        const body = apiByKey.get(ApiKey.Produce)!.decodeResponse(r, 9) as { responses: { partitionResponses: { baseOffset: number }[] }[] };
        assert.equal(body.responses[0]!.partitionResponses[0]!.baseOffset, Math.floor(i / 3), 'offsets follow arrival order');
      });
    } finally {
      conn.close();
    }
  });
});
