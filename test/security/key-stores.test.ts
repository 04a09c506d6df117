// Java key and trust stores (JKS and PKCS12, made by keytool at test time) as Kafka's ssl.* keys
// name them: every trusted CA of a trust store, a JKS key entry's key and chain, ssl.key.password
// falling back to the store password, wrong passwords and damaged stores as ConfigErrors naming
// the setting, per-listener stores; and a broker serving mTLS from JKS stores, refusing a bad one
// at start and as a dynamic change, and its inter-broker client options connecting with JKS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BrokerConfig, ConfigError } from '../../src/config/config.js';
import { openssl } from '../../src/bench/tls.js';
import { keyMaterial, tlsClientOptions } from '../../src/broker/security/tls.js';
import { Connection } from '../../src/client/connection.js';
import { ApiKey, type MetadataResponse } from '../../src/protocol/generated/index.js';
import { withBroker } from '../helpers/broker.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { keyStore, keytoolCa, keytoolJksKeyPair, keytoolMissing, trustStore } from '../helpers/keytool.js';
import { metadataRequest } from '../helpers/requests.js';

const skip = keytoolMissing() ?? false;
if (skip) process.stderr.write(`key-stores: SKIPPED: ${skip}\n`);

const fingerprint = (pem: string | Buffer) => new X509Certificate(pem).fingerprint256;
const cas = (ca: unknown) => (ca as string[]).map(fingerprint).sort();

describe('Java key and trust stores', { skip }, () => {
  let pki: TestPki;
  let s: {
    serverJks: string;
    serverJksSamePass: string;
    serverP12: string;
    ecJks: string;
    aliceJks: string;
    trustJks: string;
    trustP12: string;
    caFingerprints: string[];
  };
  before(() => {
    pki = makePki();
    const d = pki.dir;
    pki.client('/O=Tributary/CN=alice', 'alice');
    // Several CAs: the test PKI's and two that keytool makes, one of them EC.
    const caFiles = ['ca.crt', keytoolCa(d, 'other-rsa-ca', 'RSA'), keytoolCa(d, 'other-ec-ca', 'EC')].map((f) => f.replace(`${d}/`, ''));
    s = {
      serverJks: keyStore(d, 'server', 'server.jks', 'JKS', 'store-pw', 'key-pw'),
      serverJksSamePass: keyStore(d, 'server', 'server-same.jks', 'JKS', 'store-pw'),
      serverP12: keyStore(d, 'server', 'server-keytool.p12', 'PKCS12', 'store-pw'),
      ecJks: keytoolJksKeyPair(d, 'ec-server', 'ec.jks', 'store-pw', 'ec-key-pw'),
      aliceJks: keyStore(d, 'alice', 'alice.jks', 'JKS', 'alice-pw'),
      // The PKI's CA last, so a trust store of one entry would not pass.
      trustJks: trustStore(d, caFiles.slice().reverse(), 'trust.jks', 'JKS', 'trust-pw'),
      trustP12: trustStore(d, caFiles.slice().reverse(), 'trust.p12', 'PKCS12', 'trust-pw'),
      caFingerprints: caFiles.map((f) => fingerprint(readFileSync(join(d, f)))).sort(),
    };
  });
  after(() => pki?.cleanup());

  const material = (config: Record<string, string>, listener = 'SSL') => keyMaterial(new BrokerConfig({ overrides: config }), listener);

  test('JKS and PKCS12 trust stores give every trusted CA, byte for byte, with the type set or inferred', () => {
    for (const [location, type] of [
      [s.trustJks, 'JKS'],
      [s.trustJks, null],
      [s.trustP12, 'PKCS12'],
      [s.trustP12, null],
      // Java reads either format whatever the type says; so does Kafka with its default JKS.
      [s.trustP12, 'JKS'],
      [s.trustJks, 'pkcs12'],
    ] as const) {
      const ca = material({ 'ssl.truststore.location': location, 'ssl.truststore.password': 'trust-pw', ...(type ? { 'ssl.truststore.type': type } : {}) }).ca;
      assert.deepEqual(cas(ca), s.caFingerprints, `${location} as ${type}`);
    }
    // Without a password Java loads a JKS trust store unchecked, as Kafka does.
    assert.deepEqual(cas(material({ 'ssl.truststore.location': s.trustJks }).ca), s.caFingerprints);
    // A PKCS12 trust store openssl made marks no entry as trusted and holds no key: all its certificates.
    openssl(['pkcs12', '-export', '-nokeys', '-in', 'ca.crt', '-out', 'openssl-trust.p12', '-passout', 'pass:trust-pw'], pki.dir);
    const opensslTrust = material({ 'ssl.truststore.location': join(pki.dir, 'openssl-trust.p12'), 'ssl.truststore.password': 'trust-pw' }).ca;
    assert.deepEqual(cas(opensslTrust), [fingerprint(pki.caPem)]);
    // A PEM trust store is handed to node as it is, as before.
    assert.equal(String(material({ 'ssl.truststore.location': pki.caFile }).ca), pki.caPem);
  });

  test('JKS key stores: the key of the certificate, ssl.key.password or else the store password, EC keys', () => {
    const serverCert = new X509Certificate(readFileSync(pki.serverCertFile));
    const check = (m: ReturnType<typeof material>, cert: X509Certificate) => {
      const key = createPrivateKey(String(m.key));
      assert.equal(createPublicKey(key).export({ format: 'pem', type: 'spki' }), cert.publicKey.export({ format: 'pem', type: 'spki' }));
      assert.equal(fingerprint(String(m.cert)), cert.fingerprint256, 'the leaf comes first');
    };
    check(material({ 'ssl.keystore.location': s.serverJks, 'ssl.keystore.password': 'store-pw', 'ssl.key.password': 'key-pw' }), serverCert);
    check(material({ 'ssl.keystore.location': s.serverJksSamePass, 'ssl.keystore.type': 'JKS', 'ssl.keystore.password': 'store-pw' }), serverCert);
    const ec = material({ 'ssl.keystore.location': s.ecJks, 'ssl.keystore.password': 'store-pw', 'ssl.key.password': 'ec-key-pw' });
    assert.equal(createPrivateKey(String(ec.key)).asymmetricKeyType, 'ec');
    check(ec, new X509Certificate(String(ec.cert)));
    // A PKCS12 key store keytool made (PBES2/AES, HmacSHA256) goes to node as it is.
    const p12 = material({ 'ssl.keystore.location': s.serverP12, 'ssl.keystore.password': 'store-pw' });
    assert.ok(Buffer.isBuffer(p12.pfx));
  });

  test('wrong passwords, damaged stores and mismatched types are ConfigErrors naming the setting', () => {
    const damaged = join(pki.dir, 'damaged.jks');
    const bytes = readFileSync(s.trustJks);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(damaged, bytes);
    const truncated = join(pki.dir, 'truncated.p12');
    writeFileSync(truncated, readFileSync(s.trustP12).subarray(0, 300));
    const cases: [string, Record<string, string>, RegExp][] = [
      [
        'JKS store password',
        { 'ssl.keystore.location': s.serverJks, 'ssl.keystore.password': 'nope', 'ssl.key.password': 'key-pw' },
        /integrity check failed.*ssl\.keystore\.password/,
      ],
      [
        'JKS key password',
        { 'ssl.keystore.location': s.serverJks, 'ssl.keystore.password': 'store-pw', 'ssl.key.password': 'nope' },
        /key server is wrong.*ssl\.key\.password/,
      ],
      [
        'JKS key password unset',
        { 'ssl.keystore.location': s.serverJks, 'ssl.keystore.password': 'store-pw' },
        /key server is wrong.*ssl\.keystore\.password \(ssl\.key\.password is unset\)/,
      ],
      ['JKS store password unset', { 'ssl.keystore.location': s.serverJks }, /ssl\.keystore\.password is not set/],
      ['PKCS12 key store password', { 'ssl.keystore.location': s.serverP12, 'ssl.keystore.password': 'nope' }, /wrong ssl\.keystore\.password/],
      ['JKS trust store password', { 'ssl.truststore.location': s.trustJks, 'ssl.truststore.password': 'nope' }, /integrity check failed.*ssl\.truststore\.password/],
      ['PKCS12 trust store password', { 'ssl.truststore.location': s.trustP12, 'ssl.truststore.password': 'nope' }, /MAC does not verify.*ssl\.truststore\.password/],
      ['damaged JKS', { 'ssl.truststore.location': damaged, 'ssl.truststore.password': 'trust-pw' }, /damaged\.jks.*(integrity check failed|damaged)/],
      ['truncated PKCS12', { 'ssl.truststore.location': truncated, 'ssl.truststore.password': 'trust-pw' }, /truncated\.p12: not a readable PKCS12 store/],
      ['PEM declared for JKS', { 'ssl.truststore.location': s.trustJks, 'ssl.truststore.type': 'PEM' }, /is a JKS store, but its type is set to PEM/],
      ['JKS declared for PEM', { 'ssl.keystore.location': pki.serverPemFile, 'ssl.keystore.type': 'JKS' }, /is not a JKS or PKCS12 store \(PEM text\?\)/],
      ['unknown type', { 'ssl.keystore.location': s.serverJks, 'ssl.keystore.type': 'BKS' }, /Unsupported ssl\.keystore\.type BKS/],
      ['trust store as key store', { 'ssl.keystore.location': s.trustJks, 'ssl.keystore.password': 'trust-pw' }, /has no private key entry/],
      ['key store as trust store', { 'ssl.truststore.location': s.serverJks, 'ssl.truststore.password': 'store-pw' }, /has no trusted certificate entries/],
    ];
    for (const [name, config, message] of cases) {
      assert.throws(
        () => material(config),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
        name,
      );
    }
  });

  test('per listener: listener.name.<l>.ssl.* stores of another type than the broker-wide ones', () => {
    const config = {
      'ssl.keystore.location': pki.serverPemFile,
      'ssl.truststore.location': pki.caFile,
      'listener.name.mtls.ssl.keystore.location': s.serverJks,
      'listener.name.mtls.ssl.keystore.password': 'store-pw',
      'listener.name.mtls.ssl.key.password': 'key-pw',
      'listener.name.mtls.ssl.truststore.location': s.trustP12,
      'listener.name.mtls.ssl.truststore.type': 'PKCS12',
      'listener.name.mtls.ssl.truststore.password': 'trust-pw',
    };
    const mtls = material(config, 'MTLS');
    assert.match(String(mtls.key), /BEGIN PRIVATE KEY/);
    assert.deepEqual(cas(mtls.ca), s.caFingerprints);
    const plain = material(config, 'SSL');
    assert.equal(String(plain.ca), pki.caPem);
  });

  test('a broker serves mTLS from JKS and PKCS12 stores; its inter-broker client options connect with JKS ones', async (t) => {
    const broker = await withBroker(t, {
      config: {
        listeners: 'SSL://127.0.0.1:0',
        // Kafka's usual server.properties: .jks files, the type left to its default.
        'ssl.keystore.location': s.serverJks,
        'ssl.keystore.password': 'store-pw',
        'ssl.key.password': 'key-pw',
        'ssl.truststore.location': s.trustP12,
        'ssl.truststore.type': 'PKCS12',
        'ssl.truststore.password': 'trust-pw',
        'ssl.client.auth': 'required',
      },
    });
    const tls = { ca: [pki.caPem], servername: 'localhost' };
    await assert.rejects(Connection.connect({ host: '127.0.0.1', port: broker.port, security: { protocol: 'SSL', tls } }), 'no client certificate');
    const client = tlsClientOptions(
      new BrokerConfig({
        overrides: { 'ssl.keystore.location': s.aliceJks, 'ssl.keystore.password': 'alice-pw', 'ssl.truststore.location': s.trustJks, 'ssl.truststore.password': 'trust-pw' },
      }),
      'SSL',
    );
    const conn = await Connection.connect({ host: '127.0.0.1', port: broker.port, security: { protocol: 'SSL', tls: client } });
    const md = await conn.request<MetadataResponse>(ApiKey.Metadata, metadataRequest(null));
    assert.equal(md.brokers.length, 1);
    conn.close();
  });

  test('a wrong JKS password fails the start with a ConfigError; a dynamic change to one is refused, a good one taken', async (t) => {
    const config = { listeners: 'SSL://127.0.0.1:0', 'ssl.keystore.location': s.serverJks, 'ssl.keystore.password': 'store-pw', 'ssl.key.password': 'key-pw' };
    await assert.rejects(
      withBroker(t, { config: { ...config, 'ssl.keystore.password': 'nope' } }),
      (err: unknown) => err instanceof ConfigError && /ssl\.keystore\.password/.test(err.message),
    );
    const broker = await withBroker(t, { config });
    const connect = () => Connection.connect({ host: '127.0.0.1', port: broker.port, security: { protocol: 'SSL', tls: { ca: [pki.caPem], servername: 'localhost' } } });
    const conn = await connect();
    const alter = async (configs: Record<string, string>) =>
      (
        await conn.request<{ responses: { errorCode: number; errorMessage: string | null }[] }>(ApiKey.IncrementalAlterConfigs, {
          resources: [
            { resourceType: 4, resourceName: String(broker.broker.nodeId), configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value })) },
          ],
          validateOnly: false,
        })
      ).responses[0]!;
    const refused = await alter({ 'ssl.key.password': 'nope' });
    assert.equal(refused.errorCode, 40, 'INVALID_CONFIG');
    assert.match(refused.errorMessage ?? '', /ssl\.key\.password/);
    (await connect()).close();
    // Rotation to a PKCS12 key store by location, type and password at once.
    const ok = await alter({ 'ssl.keystore.location': s.serverP12, 'ssl.keystore.type': 'PKCS12', 'ssl.keystore.password': 'store-pw' });
    assert.equal(ok.errorCode, 0, ok.errorMessage ?? '');
    (await connect()).close();
    conn.close();
  });
});
