// Connection and cluster behaviour when brokers misbehave: silence, dropped sockets, stale metadata.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, Socket, type Server } from 'node:net';
import { suiteBroker } from '../helpers/broker.js';
import { createTopic } from '../helpers/requests.js';
import { waitUntil } from '../helpers/wait.js';
import { Connection } from '../../src/client/connection.js';
import { Cluster } from '../../src/client/cluster.js';
import { KafkaClientError } from '../../src/client/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { Producer } from '../../src/client/producer.js';
import { Consumer } from '../../src/client/consumer.js';

const broker = suiteBroker();

/** A TCP proxy to the broker that can stop forwarding answers or cut every connection. */
async function proxy(
  target: number,
): Promise<{ port: number; mute(): void; unmute(): void; dropNextAnswer(): void; cut(): void; close(): Promise<void>; readonly held: number }> {
  const sockets = new Set<Socket>();
  let muted = false;
  /** Chunks of answers not forwarded while muted. */
  let held = 0;
  let dropNext = false;
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      if (dropNext) dropNext = false;
      else if (!muted) client.write(d);
      else held++;
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
    dropNextAnswer: () => (dropNext = true),
    get held() {
      return held;
    },
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
    await waitUntil(() => p.held > 0, { message: "the broker's answer, held by the proxy" });
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

test('an idempotent producer retrying a batch whose answer was lost writes it once; a plain one writes it twice', async () => {
  await createTopic(broker, 'idem-on');
  await createTopic(broker, 'idem-off');
  for (const idempotent of [true, false]) {
    const topic = idempotent ? 'idem-on' : 'idem-off';
    const p = await proxy(broker.port);
    // Bootstrap through the proxy and advertise nothing else: metadata points at the broker itself,
    // so map every connection through the proxy by overriding the broker list after each refresh.
    const cluster = new Cluster({ bootstrap: `127.0.0.1:${p.port}`, requestTimeoutMs: 1000, retryBackoffMs: 10 });
    const refresh = cluster.refreshMetadata.bind(cluster);
    cluster.refreshMetadata = async (...args: Parameters<Cluster['refreshMetadata']>) => {
      const res = await refresh(...args);
      for (const b of cluster.brokers.values()) b.port = p.port;
      return res;
    };
    const producer = new Producer(cluster, { idempotent, timeoutMs: 200 });
    await producer.send(topic, [{ value: 'warm-up' }]);
    p.dropNextAnswer();
    const metas = await producer.send(topic, [{ value: 'once' }, { value: 'twice?' }]);
    await producer.close();
    await cluster.close();
    await p.close();
    const c = new Consumer({ bootstrap: broker.bootstrap });
    await c.assign(topic, 'earliest');
    const values: string[] = [];
    for await (const r of c.records()) values.push(r.value!.toString());
    await c.close();
    if (idempotent) {
      assert.deepEqual(values, ['warm-up', 'once', 'twice?']);
      assert.deepEqual(
        metas.map((m) => m.offset),
        [1, 2],
        'the retry answers with the original offsets',
      );
    } else {
      assert.deepEqual(values, ['warm-up', 'once', 'twice?', 'once', 'twice?']);
    }
  }
});
