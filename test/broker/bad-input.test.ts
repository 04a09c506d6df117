import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { Reader } from '../../src/protocol/primitives.js';

const { Kafka, logLevel } = kafkajs;

function frameOf(parts: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(parts.length);
  return Buffer.concat([size, parts]);
}

describe('hostile and broken input', () => {
  const broker = suiteBroker({ process: true, config: { 'socket.request.max.bytes': 1024 * 1024 } });

  /** The broker must still answer a well-formed request from a fresh client. */
  async function assertStillServing(): Promise<void> {
    const c = await RawClient.connect(broker.port);
    try {
      const r = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'probe', clientSoftwareVersion: '1' });
      assert.equal(r.body.errorCode, ErrorCode.NONE);
      assert.ok(r.body.apiKeys.length >= 10);
    } finally {
      c.close();
    }
    assert.equal(broker.child.exitCode, null, 'broker process is alive');
  }

  test('garbage bytes close only that connection', async () => {
    const c = await RawClient.connect(broker.port);
    c.writeRaw(frameOf(Buffer.from('this is definitely not a kafka request header at all')));
    assert.ok(await c.waitClosed(), 'connection closed');
    await assertStillServing();
  });

  test('a frame truncated inside the header closes the connection', async () => {
    const c = await RawClient.connect(broker.port);
    const body = Buffer.alloc(5);
    body.writeInt16BE(ApiKey.Metadata, 0);
    body.writeInt16BE(12, 2);
    c.writeRaw(frameOf(body));
    assert.ok(await c.waitClosed());
    await assertStillServing();
  });

  test('an oversized length prefix is refused before allocating', async () => {
    const c = await RawClient.connect(broker.port);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(0x7fffffff);
    c.writeRaw(prefix);
    assert.ok(await c.waitClosed());
    const n = await RawClient.connect(broker.port);
    const neg = Buffer.alloc(4);
    neg.writeInt32BE(-5);
    n.writeRaw(neg);
    assert.ok(await n.waitClosed());
    await assertStillServing();
  });

  test('an unknown API key closes the connection', async () => {
    const c = await RawClient.connect(broker.port);
    const body = Buffer.alloc(10);
    body.writeInt16BE(999, 0);
    body.writeInt16BE(0, 2);
    body.writeInt32BE(7, 4);
    body.writeInt16BE(-1, 8);
    c.writeRaw(frameOf(body));
    assert.ok(await c.waitClosed());
    await assertStillServing();
  });

  test('an unsupported Metadata version closes the connection', async () => {
    const c = await RawClient.connect(broker.port);
    const body = Buffer.alloc(10);
    body.writeInt16BE(ApiKey.Metadata, 0);
    body.writeInt16BE(99, 2);
    body.writeInt32BE(8, 4);
    body.writeInt16BE(-1, 8);
    c.writeRaw(frameOf(body));
    assert.ok(await c.waitClosed());
    await assertStillServing();
  });

  test('an ApiVersions request newer than ours gets the KIP-511 v0 answer', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      const body = Buffer.alloc(11);
      body.writeInt16BE(ApiKey.ApiVersions, 0);
      body.writeInt16BE(42, 2);
      body.writeInt32BE(1234, 4);
      body.writeInt16BE(-1, 8);
      body.writeUInt8(0, 10);
      const pending = c.nextFrame();
      c.writeRaw(frameOf(body));
      const r = new Reader(await pending);
      assert.equal(r.int32(), 1234, 'correlation id in a v0 header');
      assert.equal(r.int16(), ErrorCode.UNSUPPORTED_VERSION);
      const n = r.int32();
      const keys = new Map<number, [number, number]>();
      for (let i = 0; i < n; i++) keys.set(r.int16(), [r.int16(), r.int16()]);
      assert.deepEqual(keys.get(ApiKey.ApiVersions), [0, 5]);
      assert.ok(keys.has(ApiKey.Produce) && keys.has(ApiKey.Fetch));
    } finally {
      c.close();
    }
  });

  test('pipelined requests are answered in order', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      const frames: Promise<Buffer>[] = [];
      const out: Buffer[] = [];
      for (let i = 0; i < 50; i++) {
        frames.push(c.nextFrame());
        const api = i % 2 === 0 ? ApiKey.ApiVersions : ApiKey.Metadata;
        const body =
          api === ApiKey.ApiVersions
            ? { clientSoftwareName: 'p', clientSoftwareVersion: '1' }
            : { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };
        out.push(RawClient.frame(api, api === ApiKey.ApiVersions ? 3 : 12, 1000 + i, body));
      }
      c.writeRaw(Buffer.concat(out));
      const got = await Promise.all(frames);
      got.forEach((f, i) => assert.equal(f.readInt32BE(0), 1000 + i));
    } finally {
      c.close();
    }
  });

  test('a corrupt CRC gets CORRUPT_MESSAGE and an oversized batch MESSAGE_TOO_LARGE', async () => {
    const kafka = new Kafka({ clientId: 'bad-input', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'small-max', numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '1000' }] }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    try {
      await assert.rejects(producer.send({ topic: 'small-max', messages: [{ value: Buffer.alloc(5000, 1) }] }), (err: any) => {
        assert.equal(err.type ?? err.cause?.type, 'MESSAGE_TOO_LARGE');
        return true;
      });
      const ok = await producer.send({ topic: 'small-max', messages: [{ value: 'small' }] });
      assert.equal(ok[0]!.errorCode, 0);
    } finally {
      await producer.disconnect();
    }

    // A batch whose CRC does not match its bytes, sent with our own codecs.
    const { buildRecordBatch } = await import('../../src/protocol/records/record-batch-builder.js');
    const batch = buildRecordBatch({ records: [{ key: Buffer.from('k'), value: Buffer.from('v') }] });
    batch.writeUInt8(batch.readUInt8(batch.length - 1) ^ 0xff, batch.length - 1);
    const c = await RawClient.connect(broker.port);
    try {
      const r = await c.request(ApiKey.Produce, 9, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 1000,
        topicData: [{ name: 'small-max', partitionData: [{ index: 0, records: batch }] }],
      });
      assert.equal(r.body.responses[0].partitionResponses[0].errorCode, ErrorCode.CORRUPT_MESSAGE);
    } finally {
      c.close();
    }
    await assertStillServing();
  });
});
