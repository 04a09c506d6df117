// Seeded fuzzing of the SASL exchange and the TLS handshake: mutated PLAIN, SCRAM (with and
// without tokenauth) and OAUTHBEARER tokens through SaslHandshake/SaslAuthenticate, and mutated
// TLS ClientHellos, a few hundred of each against one broker. None may crash it, log an error or
// leave it unable to serve a good client. Replay with HANDSHAKE_FUZZ_SEED=<seed>.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { suiteBroker } from '../helpers/broker.js';
import { makePki } from '../helpers/certs.js';
import { rng } from '../helpers/rng.js';
import { Connection } from '../../src/client/connection.js';
import { ApiKey, type MetadataResponse } from '../../src/protocol/generated/index.js';

const SEED = Number(process.env.HANDSHAKE_FUZZ_SEED ?? 4242);
const SASL_ROUNDS = 300;
const TLS_ROUNDS = 200;

const pki = makePki();
after(() => pki.cleanup());

const jaas = 'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-pw";';

/** Random mutations: byte flips, truncation, insertion of random or SASL-significant bytes, duplication. */
function mutate(input: Buffer, r: () => number): Buffer {
  let b = Buffer.from(input);
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (b.length + 1));
    const kind = Math.floor(r() * 6);
    if (kind === 0 && b.length > 0) b[Math.min(at, b.length - 1)] = Math.floor(r() * 256);
    else if (kind === 1) b = b.subarray(0, at);
    else if (kind === 2) b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(r() * 256)]), b.subarray(at)]);
    else if (kind === 3) b = Buffer.concat([b.subarray(0, at), Buffer.from(['\0', ',', '=', '\x01', 'n,,', 'tokenauth=true', 'p='][Math.floor(r() * 7)]!), b.subarray(at)]);
    else if (kind === 4) b = Buffer.concat([b, b.subarray(0, Math.floor(r() * 64))]);
    else b = Buffer.concat([b.subarray(0, at), Buffer.alloc(Math.floor(r() * 300), Math.floor(r() * 256)), b.subarray(at)]);
  }
  return b;
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]).catch(() => undefined);

describe('fuzzed SASL and TLS handshakes', () => {
  const broker = suiteBroker({
    config: {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': jaas,
      'ssl.keystore.location': pki.serverPemFile,
      'ssl.truststore.location': pki.caFile,
      'ssl.client.auth': 'requested',
      'delegation.token.secret.key': 'fuzz-secret',
      'connection.failed.authentication.delay.ms': 0,
    },
  });

  let hello: Buffer;
  before(async () => {
    // A real ClientHello to mutate: what node:tls sends first, caught by a plain TCP server.
    hello = await new Promise<Buffer>((resolve, reject) => {
      const srv = createServer((s) =>
        s.once('data', (d: Buffer) => {
          resolve(d);
          s.destroy();
          srv.close();
        }),
      );
      srv.listen(0, '127.0.0.1', () => {
        const c = tlsConnect({ host: '127.0.0.1', port: (srv.address() as AddressInfo).port, rejectUnauthorized: false });
        c.on('error', () => undefined);
      });
      srv.on('error', reject);
    });
  });

  async function healthy(): Promise<void> {
    const sasl = await Connection.connect({
      host: '127.0.0.1',
      port: broker.broker.listenerPort('SASL_PLAINTEXT'),
      security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: 'alice', password: 'alice-pw' } },
    });
    const tls = await Connection.connect({ host: '127.0.0.1', port: broker.broker.listenerPort('SSL'), security: { protocol: 'SSL', tls: { ca: pki.caPem } } });
    try {
      for (const c of [sasl, tls]) {
        const md = await c.request<MetadataResponse>(ApiKey.Metadata, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
        assert.equal(md.brokers.length, 1);
      }
    } finally {
      sasl.close();
      tls.close();
    }
  }

  test(`${SASL_ROUNDS} mutated SASL exchanges and ${TLS_ROUNDS} mutated ClientHellos (seed ${SEED})`, { timeout: 120_000 }, async () => {
    await broker.ready;
    const r = rng(SEED);
    const mechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'];
    const seeds: Record<string, Buffer[]> = {
      PLAIN: [Buffer.from('\0alice\0alice-pw'), Buffer.from('alice\0alice\0x')],
      'SCRAM-SHA-256': [Buffer.from('n,,n=alice,r=abcdefgh'), Buffer.from('n,,n=6f1e,r=xyz,tokenauth=true'), Buffer.from('c=biws,r=abcdefgh,p=AAAA')],
      'SCRAM-SHA-512': [Buffer.from('n,a=alice,n=alice,r=q'), Buffer.from('y,,n=tok,r=n0nce,tokenauth=true,other=1')],
      OAUTHBEARER: [Buffer.from('n,,\x01auth=Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.\x01\x01'), Buffer.from('n,a=x,\x01host=h\x01auth=Bearer a.b.c\x01\x01')],
    };
    const saslPort = broker.broker.listenerPort('SASL_PLAINTEXT');
    const one = async () => {
      const mechanism = r() < 0.1 ? mutate(Buffer.from(mechanisms[Math.floor(r() * 4)]!), r).toString('latin1') : mechanisms[Math.floor(r() * 4)]!;
      const pool = seeds[mechanism] ?? seeds['PLAIN']!;
      const tokens = [mutate(pool[Math.floor(r() * pool.length)]!, r), mutate(pool[Math.floor(r() * pool.length)]!, r)];
      const version = r() < 0.2 ? 0 : 1;
      const c = await within(Connection.connect({ host: '127.0.0.1', port: saslPort }), 500);
      if (!c) return;
      try {
        await within(c.request(ApiKey.SaslHandshake, { mechanism }, { version }), 500);
        for (const authBytes of tokens) await within(c.request(ApiKey.SaslAuthenticate, { authBytes }, { version: Math.floor(r() * 3) }), 500);
      } finally {
        c.close();
      }
    };
    for (let i = 0; i < SASL_ROUNDS; i += 16) await Promise.all(Array.from({ length: Math.min(16, SASL_ROUNDS - i) }, one));
    await healthy();

    const tlsPort = broker.broker.listenerPort('SSL');
    const oneTls = () =>
      new Promise<void>((resolve) => {
        const s = netConnect(tlsPort, '127.0.0.1');
        const done = () => {
          clearTimeout(timer);
          s.destroy();
          resolve();
        };
        const timer = setTimeout(done, 300);
        s.on('error', done);
        s.on('close', done);
        s.on('data', () => undefined);
        s.once('connect', () => s.write(mutate(hello, r)));
      });
    for (let i = 0; i < TLS_ROUNDS; i += 20) await Promise.all(Array.from({ length: Math.min(20, TLS_ROUNDS - i) }, oneTls));
    await healthy();

    const errors = broker.logs.filter((l) => Number(l['level']) >= 50);
    assert.deepEqual(errors, [], 'no error log lines');
  });
});
