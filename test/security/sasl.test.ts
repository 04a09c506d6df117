// SASL mechanisms end to end: SCRAM-SHA-256/512 credentials created, described and revoked with
// AlterUserScramCredentials/DescribeUserScramCredentials, used by kafkajs and our client;
// OAUTHBEARER with unsecured and JWKS-signed tokens; KIP-368 session lifetimes; malformed and
// oversized tokens never hurt the broker.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect } from 'node:net';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import kafkajs from 'kafkajs';
import { suiteBroker, withBroker } from '../helpers/broker.js';
import { Connection } from '../../src/client/connection.js';
import { scramSaltedPassword, type ScramMechanism } from '../../src/client/sasl.js';
import {
  ApiKey,
  type AlterUserScramCredentialsResponse,
  type DescribeUserScramCredentialsResponse,
  type SaslAuthenticateResponse,
} from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const { Kafka, logLevel } = kafkajs;

const adminJaas = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw" user_admin="admin-pw";';

async function alterScram(
  conn: Connection,
  body: { deletions?: { name: string; mechanism: number }[]; upsertions?: { name: string; mechanism: ScramMechanism; password: string; iterations?: number }[] },
) {
  return conn.request<AlterUserScramCredentialsResponse>(ApiKey.AlterUserScramCredentials, {
    deletions: body.deletions ?? [],
    upsertions: (body.upsertions ?? []).map((u) => {
      const salt = randomBytes(16);
      const iterations = u.iterations ?? 4096;
      return {
        name: u.name,
        mechanism: u.mechanism === 'SCRAM-SHA-256' ? 1 : 2,
        iterations,
        salt,
        saltedPassword: iterations >= 4096 && iterations <= 16384 ? scramSaltedPassword(u.mechanism, u.password, salt, iterations) : randomBytes(32),
      };
    }),
  });
}

describe('SCRAM', () => {
  const broker = suiteBroker({
    config: {
      listeners: 'ADMIN://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'listener.security.protocol.map': 'ADMIN:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
      'listener.name.admin.sasl.enabled.mechanisms': 'PLAIN',
      'listener.name.admin.plain.sasl.jaas.config': adminJaas,
      'sasl.enabled.mechanisms': 'SCRAM-SHA-256,SCRAM-SHA-512',
      'inter.broker.listener.name': 'ADMIN',
      'sasl.mechanism.inter.broker.protocol': 'PLAIN',
    },
  });
  const admin = () =>
    Connection.connect({
      host: '127.0.0.1',
      port: broker.broker.listenerPort('ADMIN'),
      security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: 'admin', password: 'admin-pw' } },
    });
  const scramPort = () => broker.broker.listenerPort('SASL_PLAINTEXT');

  test('credentials made with AlterUserScramCredentials authenticate kafkajs with SCRAM-SHA-256 and -512', async () => {
    const a = await admin();
    try {
      const res = await alterScram(a, {
        upsertions: [
          { name: 'carol', mechanism: 'SCRAM-SHA-256', password: 'carol-pw' },
          { name: 'carol', mechanism: 'SCRAM-SHA-512', password: 'carol-pw', iterations: 8192 },
          { name: 'dave', mechanism: 'SCRAM-SHA-512', password: 'dave-pw' },
        ],
      });
      assert.deepEqual(
        res.results.map((r) => [r.user, r.errorCode]),
        [
          ['carol', 0],
          ['dave', 0],
        ],
      );
      const described = await a.request<DescribeUserScramCredentialsResponse>(ApiKey.DescribeUserScramCredentials, { users: null });
      assert.deepEqual(
        described.results.map((r) => [r.user, r.credentialInfos.map((c) => `${c.mechanism}:${c.iterations}`)]),
        [
          ['carol', ['1:4096', '2:8192']],
          ['dave', ['2:4096']],
        ],
      );
      const missing = await a.request<DescribeUserScramCredentialsResponse>(ApiKey.DescribeUserScramCredentials, { users: [{ name: 'nobody' }] });
      assert.equal(missing.results[0]!.errorCode, ErrorCode.RESOURCE_NOT_FOUND);
    } finally {
      a.close();
    }
    for (const mechanism of ['scram-sha-256', 'scram-sha-512'] as const) {
      const kafka = new Kafka({
        brokers: [`127.0.0.1:${scramPort()}`],
        sasl: { mechanism, username: 'carol', password: 'carol-pw' } as kafkajs.SASLOptions,
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
      });
      const ka = kafka.admin();
      await ka.connect();
      await ka.createTopics({ topics: [{ topic: `scram-${mechanism}` }], waitForLeaders: true });
      assert.ok((await ka.listTopics()).includes(`scram-${mechanism}`));
      await ka.disconnect();
      const wrong = new Kafka({
        brokers: [`127.0.0.1:${scramPort()}`],
        sasl: { mechanism, username: 'carol', password: 'guess' } as kafkajs.SASLOptions,
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
      });
      await assert.rejects(wrong.admin().connect(), /SASL|authentication/i);
    }
    // Our client too, and the answer for an unknown user is the same as for a wrong password.
    const ours = await Connection.connect({
      host: '127.0.0.1',
      port: scramPort(),
      security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-512', username: 'dave', password: 'dave-pw' } },
    });
    ours.close();
    const fail = async (username: string, password: string) => {
      try {
        await Connection.connect({ host: '127.0.0.1', port: scramPort(), security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-256', username, password } } });
      } catch (err) {
        return (err as Error).message.replace(/127\.0\.0\.1:\d+/, '');
      }
      assert.fail('authenticated');
    };
    assert.equal(await fail('carol', 'wrong'), await fail('no-such-user', 'wrong'));
  });

  test('bad credential changes get Kafka errors; a revoked credential stops working', async () => {
    const a = await admin();
    try {
      const res = await alterScram(a, {
        upsertions: [
          { name: 'erin', mechanism: 'SCRAM-SHA-256', password: 'x', iterations: 100 },
          { name: '', mechanism: 'SCRAM-SHA-256', password: 'x' },
        ],
        deletions: [{ name: 'frank', mechanism: 1 }],
      });
      const codes = Object.fromEntries(res.results.map((r) => [r.user, r.errorCode]));
      assert.deepEqual(codes, { erin: ErrorCode.UNACCEPTABLE_CREDENTIAL, '': ErrorCode.UNACCEPTABLE_CREDENTIAL, frank: ErrorCode.RESOURCE_NOT_FOUND });
      const dup = await alterScram(a, { upsertions: [{ name: 'dave', mechanism: 'SCRAM-SHA-512', password: 'new' }], deletions: [{ name: 'dave', mechanism: 2 }] });
      assert.equal(dup.results[0]!.errorCode, ErrorCode.DUPLICATE_RESOURCE);
      const revoked = await alterScram(a, { deletions: [{ name: 'dave', mechanism: 2 }] });
      assert.equal(revoked.results[0]!.errorCode, ErrorCode.NONE);
    } finally {
      a.close();
    }
    await assert.rejects(
      Connection.connect({
        host: '127.0.0.1',
        port: scramPort(),
        security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-512', username: 'dave', password: 'dave-pw' } },
      }),
      (err: Error & { type?: string }) => err.type === 'SASL_AUTHENTICATION_FAILED',
    );
    // Credentials are in the metadata store: they survive a restart.
    await broker.restart();
    const back = await Connection.connect({
      host: '127.0.0.1',
      port: scramPort(),
      security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-256', username: 'carol', password: 'carol-pw' } },
    });
    back.close();
  });

  test('malformed, oversized and out-of-order SASL input closes only that connection', async () => {
    const port = scramPort();
    const frames: Buffer[] = [];
    const header = (apiKey: number, version: number, correlationId: number) => {
      const b = Buffer.alloc(10);
      b.writeInt16BE(apiKey, 0);
      b.writeInt16BE(version, 2);
      b.writeInt32BE(correlationId, 4);
      b.writeInt16BE(-1, 8); // null client id
      return b;
    };
    const frame = (...parts: Buffer[]) => {
      const body = Buffer.concat(parts);
      const size = Buffer.alloc(4);
      size.writeInt32BE(body.length, 0);
      return Buffer.concat([size, body]);
    };
    const str = (s: string) => {
      const b = Buffer.alloc(2 + Buffer.byteLength(s));
      b.writeInt16BE(Buffer.byteLength(s), 0);
      b.write(s, 2);
      return b;
    };
    const bytes = (x: Buffer) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(x.length, 0);
      return Buffer.concat([b, x]);
    };
    // SaslAuthenticate before any handshake; garbage SCRAM first message; oversized token; a raw v0 garbage token.
    frames.push(frame(header(ApiKey.SaslAuthenticate, 0, 1), bytes(Buffer.from('n,,n=x,r=abc'))));
    frames.push(
      Buffer.concat([frame(header(ApiKey.SaslHandshake, 1, 1), str('SCRAM-SHA-256')), frame(header(ApiKey.SaslAuthenticate, 0, 2), bytes(Buffer.from([0xff, 0, 1, 2, 3])))]),
    );
    frames.push(
      Buffer.concat([frame(header(ApiKey.SaslHandshake, 1, 1), str('SCRAM-SHA-256')), frame(header(ApiKey.SaslAuthenticate, 0, 2), bytes(Buffer.alloc(600_000, 0x61)))]),
    );
    frames.push(Buffer.concat([frame(header(ApiKey.SaslHandshake, 0, 1), str('SCRAM-SHA-512')), frame(randomBytes(40))]));
    frames.push(Buffer.concat([frame(header(ApiKey.SaslHandshake, 1, 1), str('GSSAPI'))]));
    for (const f of frames) {
      const socket = netConnect({ host: '127.0.0.1', port });
      socket.on('error', () => undefined);
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.write(f);
      // Unsupported mechanism: answered, connection stays; end it ourselves after the answer.
      socket.once('data', () => setTimeout(() => socket.end(), 200));
      await closed;
    }
    const ok = await Connection.connect({
      host: '127.0.0.1',
      port,
      security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-256', username: 'carol', password: 'carol-pw' } },
    });
    ok.close();
  });
});

describe('OAUTHBEARER', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-jwks-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' }] }));
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = () => Math.floor(Date.now() / 1000);
  const signed = (claims: object, key = privateKey) => {
    const head = `${b64({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${b64(claims)}`;
    return `${head}.${sign('sha256', Buffer.from(head), key).toString('base64url')}`;
  };
  const unsecured = (claims: object) => `${b64({ alg: 'none' })}.${b64(claims)}.`;

  test("Kafka's unsecured tokens (development mode), and expired ones refused", async (t) => {
    const broker = await withBroker(t, {
      config: {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'sasl.enabled.mechanisms': 'OAUTHBEARER',
        'listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
      },
    });
    const connect = (token: string) =>
      Connection.connect({ host: '127.0.0.1', port: broker.port, security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'OAUTHBEARER', token } } });
    (await connect(unsecured({ sub: 'svc', exp: now() + 60, iat: now() }))).close();
    await assert.rejects(connect(unsecured({ sub: 'svc', exp: now() - 60 })), (err: Error & { type?: string }) => err.type === 'SASL_AUTHENTICATION_FAILED');
    await assert.rejects(
      connect(signed({ sub: 'svc', exp: now() + 60 })),
      (err: Error & { type?: string }) => err.type === 'SASL_AUTHENTICATION_FAILED',
      'signed tokens need a JWKS',
    );
  });

  test('JWKS-signed tokens with issuer and audience; wrong signature refused; KIP-368 lifetime', async (t) => {
    const broker = await withBroker(t, {
      config: {
        listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
        'sasl.enabled.mechanisms': 'OAUTHBEARER',
        'listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
        'sasl.oauthbearer.jwks.endpoint.url': pathToFileURL(join(dir, 'jwks.json')).href,
        'sasl.oauthbearer.expected.issuer': 'https://issuer.example',
        'sasl.oauthbearer.expected.audience': 'kafka',
        'connections.max.reauth.ms': 60000,
      },
    });
    const connect = (token: string) =>
      Connection.connect({ host: '127.0.0.1', port: broker.port, security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'OAUTHBEARER', token } } });
    const good = { sub: 'svc', iss: 'https://issuer.example', aud: 'kafka', exp: now() + 30, iat: now() };
    (await connect(signed(good))).close();
    const refused = (err: Error & { type?: string }) => err.type === 'SASL_AUTHENTICATION_FAILED';
    await assert.rejects(connect(signed(good, other.privateKey)), refused, 'wrongly signed');
    await assert.rejects(connect(signed({ ...good, iss: 'https://evil.example' })), refused, 'wrong issuer');
    await assert.rejects(connect(signed({ ...good, aud: 'other' })), refused, 'wrong audience');
    await assert.rejects(connect(signed({ ...good, exp: now() - 5 })), refused, 'expired');
    await assert.rejects(connect(unsecured(good)), refused, 'alg none with a JWKS');

    // SaslAuthenticate v1+ tells the session lifetime: the token's 30 s, below connections.max.reauth.ms.
    const raw = await Connection.connect({ host: '127.0.0.1', port: broker.port });
    try {
      await raw.request(ApiKey.SaslHandshake, { mechanism: 'OAUTHBEARER' }, { version: 1 });
      const res = await raw.request<SaslAuthenticateResponse>(ApiKey.SaslAuthenticate, { authBytes: Buffer.from(`n,,\x01auth=Bearer ${signed(good)}\x01\x01`) });
      assert.equal(res.errorCode, ErrorCode.NONE);
      assert.ok(res.sessionLifetimeMs > 20_000 && res.sessionLifetimeMs <= 30_000, `lifetime ${res.sessionLifetimeMs}`);
    } finally {
      raw.close();
    }
  });
});
