// Several listeners at once (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), TLS with PEM and PKCS12
// key stores, mTLS, SASL/PLAIN, and Metadata answering each client with its listener's endpoints;
// checked with kafkajs and Tributary's own client.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { suiteBroker, withBroker } from '../helpers/broker.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { Connection } from '../../src/client/connection.js';
import { ApiKey, type MetadataResponse } from '../../src/protocol/generated/index.js';
import { metadataRequest } from '../helpers/requests.js';
import { waitUntil } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

const pki: TestPki = makePki();
after(() => pki.cleanup());
const alice = pki.client('/C=US/O=Tributary/CN=alice', 'alice');

const jaas = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-pw";';

describe('four listeners', () => {
  const broker = suiteBroker({
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
      'ssl.keystore.location': pki.serverPemFile,
      'ssl.truststore.location': pki.caFile,
      'sasl.enabled.mechanisms': 'PLAIN,OAUTHBEARER',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': jaas,
      'listener.name.sasl_ssl.plain.sasl.jaas.config': jaas,
      // A client certificate is checked when sent (kafkajs with one: mTLS), not required.
      'listener.name.ssl.ssl.client.auth': 'requested',
      'group.initial.rebalance.delay.ms': 0,
    },
  });
  const port = (name: string) => broker.broker.listenerPort(name);
  const ssl = () => ({ ca: [pki.caPem], servername: 'localhost' });

  test('Metadata answers with the endpoints of the listener the client connected to', async () => {
    for (const [name, security] of [
      ['PLAINTEXT', undefined],
      ['SSL', { protocol: 'SSL' as const, tls: ssl() }],
      ['SASL_PLAINTEXT', { protocol: 'SASL_PLAINTEXT' as const, sasl: { mechanism: 'PLAIN' as const, username: 'alice', password: 'alice-pw' } }],
      ['SASL_SSL', { protocol: 'SASL_SSL' as const, tls: ssl(), sasl: { mechanism: 'PLAIN' as const, username: 'alice', password: 'alice-pw' } }],
    ] as const) {
      const conn = await Connection.connect({ host: '127.0.0.1', port: port(name), security });
      try {
        const md = await conn.request<MetadataResponse>(ApiKey.Metadata, metadataRequest(null));
        assert.deepEqual(
          md.brokers.map((b) => b.port),
          [port(name)],
          `${name} client gets ${name}'s port`,
        );
      } finally {
        conn.close();
      }
    }
  });

  test('kafkajs produces and consumes over SSL, mTLS, SASL_SSL (PLAIN, OAUTHBEARER) and SASL_PLAINTEXT', async () => {
    // Kafka's unsecured token (alg none): these listeners have no JWKS.
    const now = Math.floor(Date.now() / 1000);
    const unsecured = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'alice', iat: now, exp: now + 600 })).toString('base64url')}.`;
    for (const [label, name, extra] of [
      ['ssl', 'SSL', { ssl: { ca: [pki.caPem] } }],
      ['mtls', 'SSL', { ssl: { ca: [pki.caPem], cert: readFileSync(alice.certFile, 'utf8'), key: readFileSync(alice.keyFile, 'utf8') } }],
      ['sasl-ssl-plain', 'SASL_SSL', { ssl: { ca: [pki.caPem] }, sasl: { mechanism: 'plain' as const, username: 'alice', password: 'alice-pw' } }],
      [
        'sasl-ssl-oauthbearer',
        'SASL_SSL',
        { ssl: { ca: [pki.caPem] }, sasl: { mechanism: 'oauthbearer' as const, oauthBearerProvider: () => Promise.resolve({ value: unsecured }) } },
      ],
      ['sasl-plaintext-plain', 'SASL_PLAINTEXT', { sasl: { mechanism: 'plain' as const, username: 'alice', password: 'alice-pw' } }],
    ] as const) {
      const kafka = new Kafka({ clientId: 't', brokers: [`localhost:${port(name)}`], logLevel: logLevel.NOTHING, ...(extra as Partial<kafkajs.KafkaConfig>) });
      const topic = `tls-${label}`;
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      await admin.disconnect();
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: `over ${label}` }] });
      await producer.disconnect();
      const consumer = kafka.consumer({ groupId: `g-${label}` });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const got: string[] = [];
      await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
      try {
        await waitUntil(() => got.length >= 1, { timeout: 20_000, message: `a record over ${label}` });
      } finally {
        await consumer.disconnect();
      }
      assert.deepEqual(got, [`over ${label}`]);
    }
  });

  test('a wrong password gets SASL_AUTHENTICATION_FAILED and a closed connection', async () => {
    // Over TLS too, where the broker reads decrypted bytes into its own buffers: it must still
    // see the client's close after ending the connection (or the suite's broker would not stop).
    for (const name of ['SASL_PLAINTEXT', 'SASL_SSL'] as const) {
      await assert.rejects(
        Connection.connect({
          host: '127.0.0.1',
          port: port(name),
          security: { protocol: name, ...(name === 'SASL_SSL' ? { tls: ssl() } : {}), sasl: { mechanism: 'PLAIN', username: 'alice', password: 'nope' } },
        }),
        (err: Error & { type?: string }) => err.type === 'SASL_AUTHENTICATION_FAILED',
      );
      const kafka = new Kafka({
        brokers: [`127.0.0.1:${port(name)}`],
        ...(name === 'SASL_SSL' ? { ssl: { ca: [pki.caPem], servername: 'localhost' } } : {}),
        sasl: { mechanism: 'plain', username: 'nobody', password: 'x' },
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
      });
      const admin = kafka.admin();
      await assert.rejects(admin.connect(), /SASL|authentication/i, name);
      // Gone from the broker once the clients have closed, not only by the broker's last resort
      // (a destroy 5 s after ending).
      const open = () => broker.broker.listenerStats().find((l) => l.name === name)!.connections;
      await waitUntil(() => open() === 0, { timeout: 3000, message: () => `${open()} ${name} connections still open` });
    }
  });

  test('requests before SASL authentication close the connection; ApiVersions is served', async () => {
    // A Metadata request right after connecting to the SASL listener: Kafka closes, and so do we.
    const socket = netConnect({ host: '127.0.0.1', port: port('SASL_PLAINTEXT') });
    const closed = new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('close', () => resolve(Buffer.concat(chunks)));
    });
    const body = Buffer.from([0, 3, 0, 1, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); // Metadata v1, no client id, all topics
    const frame = Buffer.alloc(4 + body.length);
    frame.writeInt32BE(body.length, 0);
    body.copy(frame, 4);
    socket.write(frame);
    assert.equal((await closed).length, 0, 'no answer, just the close');
    // ApiVersions is allowed (our client negotiates before authenticating).
    const conn = await Connection.connect({
      host: '127.0.0.1',
      port: port('SASL_PLAINTEXT'),
      security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: 'admin', password: 'admin-secret' } },
    });
    conn.close();
  });

  test('a plaintext client on the TLS port gets a clean close and the broker keeps serving', async () => {
    const before = broker.broker.listenerStats().find((l) => l.name === 'SSL')!.tlsFailures;
    const socket = netConnect({ host: '127.0.0.1', port: port('SSL') });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0, 0])); // an ApiVersions frame, in the clear
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await waitUntil(() => broker.broker.listenerStats().find((l) => l.name === 'SSL')!.tlsFailures > before, { timeout: 5000, message: 'the TLS failure counted' });
    const conn = await Connection.connect({ host: '127.0.0.1', port: port('SSL'), security: { protocol: 'SSL', tls: ssl() } });
    conn.close();
  });
});

describe('TLS key stores and client authentication', () => {
  test('a PKCS12 key store serves TLS', async (t) => {
    const broker = await withBroker(t, {
      config: { listeners: 'SSL://127.0.0.1:0', 'ssl.keystore.location': pki.serverP12File, 'ssl.keystore.type': 'PKCS12', 'ssl.keystore.password': 'changeit' },
    });
    const conn = await Connection.connect({ host: '127.0.0.1', port: broker.port, security: { protocol: 'SSL', tls: { ca: [pki.caPem], servername: 'localhost' } } });
    conn.close();
  });

  test('ssl.client.auth=required refuses clients without a trusted certificate', async (t) => {
    const broker = await withBroker(t, {
      config: { listeners: 'SSL://127.0.0.1:0', 'ssl.keystore.location': pki.serverPemFile, 'ssl.truststore.location': pki.caFile, 'ssl.client.auth': 'required' },
    });
    const tls = { ca: [pki.caPem], servername: 'localhost' };
    await assert.rejects(Connection.connect({ host: '127.0.0.1', port: broker.port, security: { protocol: 'SSL', tls } }));
    const rogue = pki.rogueClient('/CN=mallory');
    await assert.rejects(
      Connection.connect({
        host: '127.0.0.1',
        port: broker.port,
        security: { protocol: 'SSL', tls: { ...tls, key: readFileSync(rogue.keyFile), cert: readFileSync(rogue.certFile) } },
      }),
    );
    const conn = await Connection.connect({
      host: '127.0.0.1',
      port: broker.port,
      security: { protocol: 'SSL', tls: { ...tls, key: readFileSync(alice.keyFile), cert: readFileSync(alice.certFile) } },
    });
    conn.close();
  });

  test('garbage instead of a TLS hello never hurts the broker', async (t) => {
    const broker = await withBroker(t, { config: { listeners: 'SSL://127.0.0.1:0', 'ssl.keystore.location': pki.serverPemFile } });
    for (let i = 0; i < 20; i++) {
      const socket = netConnect({ host: '127.0.0.1', port: broker.port });
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const junk = Buffer.alloc(64 + i * 37);
      for (let j = 0; j < junk.length; j++) junk[j] = (j * 131 + i * 17) & 0xff;
      if (i % 2 === 0) junk[0] = 0x16; // looks like a handshake record
      socket.end(junk);
      await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    }
    // A TLS client that hangs up mid-handshake.
    const half = tlsConnect({ host: '127.0.0.1', port: broker.port, ca: [pki.caPem], servername: 'localhost' });
    half.on('error', () => undefined);
    half.destroy();
    const conn = await Connection.connect({ host: '127.0.0.1', port: broker.port, security: { protocol: 'SSL', tls: { ca: [pki.caPem], servername: 'localhost' } } });
    conn.close();
  });

  test('advertised.listeners per listener name', async (t) => {
    const broker = await withBroker(t, {
      config: {
        listeners: 'INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0',
        'advertised.listeners': 'INTERNAL://internal.example:9093,EXTERNAL://127.0.0.1:0',
        'listener.security.protocol.map': 'INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT',
        'inter.broker.listener.name': 'INTERNAL',
      },
    });
    /** host:port of each broker in the Metadata answered on `listener`. */
    const advertisedOn = async (listener: string) => {
      const conn = await Connection.connect({ host: '127.0.0.1', port: broker.broker.listenerPort(listener) });
      try {
        const md = await conn.request<MetadataResponse>(ApiKey.Metadata, metadataRequest(null));
        return md.brokers.map((b) => `${b.host}:${b.port}`);
      } finally {
        conn.close();
      }
    };
    assert.deepEqual(await advertisedOn('EXTERNAL'), [`127.0.0.1:${broker.broker.listenerPort('EXTERNAL')}`]);
    assert.deepEqual(await advertisedOn('INTERNAL'), ['internal.example:9093']);
  });
});

describe('certificate rotation', () => {
  test('a dynamic ssl.keystore.location change serves the new certificate to new connections; a bad one is refused', async (t) => {
    const next = makePki();
    t.after(() => next.cleanup());
    const broker = await withBroker(t, { config: { listeners: 'SSL://127.0.0.1:0', 'ssl.keystore.location': pki.serverPemFile } });
    const connect = (ca: string) => Connection.connect({ host: '127.0.0.1', port: broker.port, security: { protocol: 'SSL', tls: { ca: [ca], servername: 'localhost' } } });
    const old = await connect(pki.caPem);
    await assert.rejects(connect(next.caPem), 'the new CA does not sign the current certificate');
    const alter = (value: string) =>
      old.request<{ responses: { errorCode: number }[] }>(ApiKey.IncrementalAlterConfigs, {
        resources: [{ resourceType: 4, resourceName: String(broker.broker.nodeId), configs: [{ name: 'ssl.keystore.location', configOperation: 0, value }] }],
        validateOnly: false,
      });
    assert.equal((await alter(join(next.dir, 'missing.pem'))).responses[0]!.errorCode, 40, 'INVALID_CONFIG for a store that cannot be read');
    (await connect(pki.caPem)).close();
    assert.equal((await alter(next.serverPemFile)).responses[0]!.errorCode, 0);
    (await connect(next.caPem)).close();
    await assert.rejects(connect(pki.caPem), 'the old certificate is gone for new connections');
    // The connection opened before the rotation keeps working.
    const md = await old.request<MetadataResponse>(ApiKey.Metadata, metadataRequest(null));
    assert.equal(md.brokers.length, 1);
    old.close();
  });
});

test('over TLS a fetch queued behind a long-polling one is answered when that one is (response budget)', async (t) => {
  const broker = await withBroker(t, { config: { listeners: 'SSL://127.0.0.1:0', 'ssl.keystore.location': pki.serverPemFile, 'num.partitions': 1 } });
  const c = await Connection.connect({
    host: '127.0.0.1',
    port: broker.broker.listenerPort('SSL'),
    security: { protocol: 'SSL', tls: { ca: pki.caPem } },
  });
  t.after(() => c.close());
  await c.request(ApiKey.CreateTopics, {
    topics: [{ name: 'parked', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  const md = await c.request<MetadataResponse>(ApiKey.Metadata, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
  const topicId = md.topics.find((x) => x.name === 'parked')!.topicId;
  // What the Java consumer does on close: a session-closing fetch right behind a parked one; both
  // ask for fetch.max.bytes (50 MiB), so the second waits for the first's response budget.
  const fetch = (withPartition: boolean) =>
    c.request(ApiKey.Fetch, {
      clusterId: null,
      replicaId: -1,
      replicaState: { replicaId: -1, replicaEpoch: -1 },
      maxWaitMs: 300,
      minBytes: 1,
      maxBytes: 52_428_800,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: withPartition
        ? [
            {
              topic: 'parked',
              topicId,
              partitions: [
                {
                  partition: 0,
                  currentLeaderEpoch: -1,
                  fetchOffset: 0,
                  lastFetchedEpoch: -1,
                  logStartOffset: -1,
                  partitionMaxBytes: 1 << 20,
                  replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
                  highWatermark: -1,
                },
              ],
            },
          ]
        : [],
      forgottenTopicsData: [],
      rackId: '',
    });
  const started = performance.now();
  await Promise.all([fetch(true), fetch(false)]);
  assert.ok(performance.now() - started < 5_000, `answered after ${Math.round(performance.now() - started)} ms`);
});
