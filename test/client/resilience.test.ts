// Connection and cluster behaviour when brokers misbehave: silence, dropped sockets, stale metadata.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, Socket, type Server } from 'node:net';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { Connection } from '../../src/client/connection.js';
import { Cluster } from '../../src/client/cluster.js';
import { KafkaClientError } from '../../src/client/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';

let broker: RunningBroker;
before(async () => {
  broker = await startBroker({ port: 0, dataDir: ':memory:' });
});
after(() => broker.stop());

/** A TCP proxy to the broker that can stop forwarding answers or cut every connection. */
async function proxy(target: number): Promise<{ port: number; mute(): void; unmute(): void; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let muted = false;
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      if (!muted) client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    mute: () => (muted = true),
    unmute: () => (muted = false),
    cut: () => {
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const metadataBody = { topics: [], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false };

test('a broker that stops answering fails the request with REQUEST_TIMED_OUT', async () => {
  const p = await proxy(broker.port);
  const conn = await Connection.connect({ host: '127.0.0.1', port: p.port, requestTimeoutMs: 300 });
  try {
    await conn.request(ApiKey.Metadata, metadataBody);
    p.mute();
    const started = Date.now();
    await assert.rejects(conn.request(ApiKey.Metadata, metadataBody), (e: unknown) => e instanceof KafkaClientError && e.type === 'REQUEST_TIMED_OUT');
    assert.ok(Date.now() - started < 3000);
  } finally {
    conn.close();
    await p.close();
  }
});

test('a dropped connection fails requests in flight with NETWORK_EXCEPTION; the cluster reconnects on next use', async () => {
  const p = await proxy(broker.port);
  const cluster = new Cluster({ bootstrap: `127.0.0.1:${p.port}` });
  try {
    const conn = await cluster.anyConnection();
    p.mute();
    const inFlight = conn.request(ApiKey.Metadata, metadataBody);
    await new Promise((r) => setTimeout(r, 50));
    p.cut();
    await assert.rejects(inFlight, (e: unknown) => e instanceof KafkaClientError && e.type === 'NETWORK_EXCEPTION');
    assert.ok(conn.closed);
    await assert.rejects(conn.request(ApiKey.Metadata, metadataBody), (e: unknown) => e instanceof KafkaClientError && e.type === 'NETWORK_EXCEPTION');
    // The next use opens a fresh connection.
    p.unmute();
    const res = await cluster.refreshMetadata();
    assert.equal(res.brokers.length, 1);
    assert.notEqual(await cluster.anyConnection(), conn);
    await p.close();
  } finally {
    await cluster.close();
  }
});

test('withRetry refreshes metadata after retriable errors, a bounded number of times', async () => {
  const cluster = new Cluster({ bootstrap: broker.bootstrap, retries: 3, retryBackoffMs: 5 });
  try {
    let calls = 0;
    const value = await cluster.withRetry(async () => {
      if (++calls < 3) throw new KafkaClientError('NOT_LEADER_OR_FOLLOWER');
      return 'done';
    });
    assert.equal(value, 'done');
    assert.equal(calls, 3);
    calls = 0;
    await assert.rejects(
      cluster.withRetry(async () => {
        calls++;
        throw new KafkaClientError('LEADER_NOT_AVAILABLE');
      }),
      (e: unknown) => e instanceof KafkaClientError && e.type === 'LEADER_NOT_AVAILABLE',
    );
    assert.equal(calls, 4, 'the first try plus three retries');
    calls = 0;
    await assert.rejects(
      cluster.withRetry(async () => {
        calls++;
        throw new KafkaClientError('TOPIC_AUTHORIZATION_FAILED');
      }),
    );
    assert.equal(calls, 1, 'non-retriable errors are not retried');
  } finally {
    await cluster.close();
  }
});
