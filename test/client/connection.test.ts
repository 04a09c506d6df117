import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { suiteBroker } from '../helpers/broker.js';
import { Connection } from '../../src/client/connection.js';
import { Cluster } from '../../src/client/cluster.js';
import { KafkaClientError } from '../../src/client/errors.js';
import { ApiKey, apiByKey, encodeApiVersionsResponse, type MetadataResponse } from '../../src/protocol/generated/index.js';
import { Reader, Writer } from '../../src/protocol/primitives.js';

const broker = suiteBroker();

test('connect negotiates versions and requests use the highest common one', async () => {
  const conn = await Connection.connect({ host: '127.0.0.1', port: broker.port });
  try {
    assert.ok(conn.supports(ApiKey.Metadata));
    assert.equal(conn.pickVersion(ApiKey.Metadata), Math.min(apiByKey.get(ApiKey.Metadata)!.maxVersion, conn.brokerVersions.get(ApiKey.Metadata)!.maxVersion));
    assert.equal(conn.pickVersion(ApiKey.Metadata, { maxVersion: 5 }), 5);
    // Pipelined requests at different pinned versions all come back matched to their callers.
    const versions = [0, 1, 4, 9, 12];
    const answers = await Promise.all(
      versions.map((v) =>
        conn.requestWithVersion<MetadataResponse>(
          ApiKey.Metadata,
          { topics: [], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false },
          { version: v },
        ),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.version),
      versions,
    );
    for (const a of answers) assert.equal(a.body.brokers[0]?.port, broker.port);
    assert.throws(
      () => conn.pickVersion(ApiKey.Metadata, { version: 99 }),
      (e: unknown) => e instanceof KafkaClientError && e.type === 'UNSUPPORTED_VERSION',
    );
  } finally {
    conn.close();
  }
});

test('KIP-511: an UNSUPPORTED_VERSION answer with the broker table makes the client retry lower', async () => {
  // A fake broker that only knows ApiVersions v0-2 and Metadata v0-1.
  const seen: number[] = [];
  const server = createServer((sock) => {
    sock.on('data', (d: Buffer) => {
      const r = new Reader(d, 4);
      const apiKey = r.int16();
      const version = r.int16();
      const correlationId = r.int32();
      seen.push(version);
      const answerVersion = version > 2 ? 0 : version;
      const w = new Writer();
      const at = w.reserveInt32();
      w.int32(correlationId);
      encodeApiVersionsResponse(w, answerVersion, {
        errorCode: version > 2 ? 35 : 0,
        apiKeys: [
          { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 2 },
          { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 1 },
        ],
        throttleTimeMs: 0,
        supportedFeatures: [],
        finalizedFeaturesEpoch: -1,
        finalizedFeatures: [],
        zkMigrationReady: false,
      });
      w.patchInt32(at, w.length - 4);
      assert.equal(apiKey, ApiKey.ApiVersions);
      sock.write(Buffer.from(w.finish()));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const conn = await Connection.connect({ host: '127.0.0.1', port });
    assert.deepEqual(seen, [3, 2]);
    assert.equal(conn.pickVersion(ApiKey.Metadata), 1);
    assert.equal(conn.supports(ApiKey.Produce), false);
    conn.close();
  } finally {
    server.close();
  }
});

test('an unreachable broker fails fast with NETWORK_EXCEPTION', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  const started = Date.now();
  const cluster = new Cluster({ bootstrap: `127.0.0.1:${port}`, connectTimeoutMs: 3000 });
  await assert.rejects(cluster.refreshMetadata(), (e: unknown) => e instanceof KafkaClientError && e.type === 'NETWORK_EXCEPTION');
  assert.ok(Date.now() - started < 3000);
  await cluster.close();
});

test('cluster metadata: brokers, leaders, unknown topics', async () => {
  const cluster = new Cluster({ bootstrap: broker.bootstrap });
  try {
    await cluster.refreshMetadata();
    assert.equal(cluster.brokers.size, 1);
    await assert.rejects(cluster.topic('no-such-topic'), (e: unknown) => e instanceof KafkaClientError && e.type === 'UNKNOWN_TOPIC_OR_PARTITION');
    const t = await cluster.topic('auto-created', { allowAutoTopicCreation: true });
    assert.equal(t.partitions.length, 1);
    assert.equal(await cluster.leaderOf('auto-created', 0), [...cluster.brokers.keys()][0]);
    const conn = await cluster.leaderConnection('auto-created', 0);
    assert.equal(conn.port, broker.port);
  } finally {
    await cluster.close();
  }
});
