// The Java client (kafka-clients 4.4 from Maven) over every secured listener kind, in one JVM
// (SecurityClients.java): SSL one-way and mTLS with PEM trust and key stores, mTLS with JKS and
// PKCS12 stores made by keytool on both sides (a listener whose stores are JKS), SASL_SSL and
// SASL_PLAINTEXT with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, OAUTHBEARER with the client's
// unsecured tokens and with a signed JWT its login callback handler reads from a file; a wrong
// password fails; and a delegation token made with the admin client authenticates a producer and
// a consumer (SCRAM tokenauth), is described, renewed, cannot make tokens, and once expired fails;
// and a producer re-authenticates (KIP-368) on a listener whose sessions last 2 s.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { suiteBroker } from '../../helpers/broker.js';
import { makePki } from '../../helpers/certs.js';
import { addScramUser } from '../../helpers/sasl-plain-acls.js';
import { keyStore, keytoolCa, trustStore } from '../../helpers/keytool.js';
import { javaSetup, runJava } from './harness.js';

const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;

const pki = makePki();
const dir = mkdtempSync(join(tmpdir(), 'tributary-java-security-'));
after(() => {
  pki.cleanup();
  rmSync(dir, { recursive: true, force: true });
});
const clientCert = pki.client('/O=Tributary/CN=java-client', 'java-client');
// Java stores as a Kafka user has them (keytool is the JDK's, so here whenever the JVM is): the
// broker's JKS key store and a JKS trust store of several CAs; the client's JKS key store and a
// PKCS12 trust store.
const stores = skip
  ? null
  : (() => {
      const extraCa = keytoolCa(pki.dir, 'java-extra-ca', 'EC').replace(`${pki.dir}/`, '');
      return {
        serverJks: keyStore(pki.dir, 'server', 'server.jks', 'JKS', 'server-store-pw', 'server-key-pw'),
        serverTrustJks: trustStore(pki.dir, [extraCa, 'ca.crt'], 'server-trust.jks', 'JKS', 'trust-pw'),
        clientJks: keyStore(pki.dir, 'java-client', 'client.jks', 'JKS', 'client-pw'),
        clientTrustP12: trustStore(pki.dir, ['ca.crt', extraCa], 'client-trust.p12', 'PKCS12', 'trust-pw'),
      };
    })();

// A signing key, its JWKS (for the broker) and a token signed with it (for the client's file).
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwksFile = join(dir, 'jwks.json');
writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'java-key', use: 'sig', alg: 'RS256' }] }));
const now = Math.floor(Date.now() / 1000);
const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
const head = `${part({ alg: 'RS256', kid: 'java-key', typ: 'JWT' })}.${part({ sub: 'alice', iss: 'https://idp.test', aud: 'kafka', scope: 'kafka', iat: now, exp: now + 3600 })}`;
const tokenFile = join(dir, 'token.jwt');
writeFileSync(tokenFile, `${head}.${sign('sha256', Buffer.from(head), privateKey).toString('base64url')}`);

const users = 'user_admin="admin-pw" user_alice="alice-pw"';
const plainJaas = (self = '') => `org.apache.kafka.common.security.plain.PlainLoginModule required ${self}${users};`;

describe('the Java client on secured listeners', { skip }, () => {
  const broker = suiteBroker({
    config: {
      listeners: 'TLS://127.0.0.1:0,MTLS://127.0.0.1:0,JKS://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,REAUTH://127.0.0.1:0',
      'listener.security.protocol.map': 'TLS:SSL,MTLS:SSL,JKS:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,REAUTH:SASL_SSL',
      // KIP-368: sessions on REAUTH last 2 s (Kafka's per-listener and mechanism form), the client re-authenticates.
      'listener.name.reauth.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
      'listener.name.reauth.scram-sha-512.connections.max.reauth.ms': 2000,
      'inter.broker.listener.name': 'TLS',
      'ssl.keystore.location': pki.serverPemFile,
      'ssl.truststore.location': pki.caFile,
      'listener.name.mtls.ssl.client.auth': 'required',
      // JKS: Kafka's usual stores, the types left to the default.
      ...(stores
        ? {
            'listener.name.jks.ssl.keystore.location': stores.serverJks,
            'listener.name.jks.ssl.keystore.password': 'server-store-pw',
            'listener.name.jks.ssl.key.password': 'server-key-pw',
            'listener.name.jks.ssl.truststore.location': stores.serverTrustJks,
            'listener.name.jks.ssl.truststore.password': 'trust-pw',
            'listener.name.jks.ssl.client.auth': 'required',
          }
        : {}),
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
      'listener.name.sasl_ssl.plain.sasl.jaas.config': plainJaas('username="admin" password="admin-pw" '),
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': plainJaas(),
      'listener.name.sasl_ssl.oauthbearer.sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
      'listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
      // SASL_SSL takes Kafka's unsecured tokens; SASL_PLAINTEXT only JWTs signed by a key of the JWKS.
      'listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.jwks.endpoint.url': pathToFileURL(jwksFile).href,
      'listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.expected.issuer': 'https://idp.test',
      'listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.expected.audience': 'kafka',
      'delegation.token.secret.key': 'java-token-secret',
      'num.partitions': 1,
    },
  });

  before(async () => {
    if (skip) return;
    await broker.ready;
    await addScramUser(broker.broker.listenerPort('SASL_PLAINTEXT'), 'scrammy', 'scram-pw');
  });

  test('SSL, mTLS, SASL PLAIN/SCRAM/OAUTHBEARER and a delegation token, produce and consume once each', { timeout: 180_000 }, async () => {
    if (typeof setup === 'string') return;
    const addr = (l: string) => `127.0.0.1:${broker.broker.listenerPort(l)}`;
    const trust = { 'ssl.truststore.type': 'PEM', 'ssl.truststore.location': pki.caFile };
    const scram = (user: string, pw: string) => `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${pw}";`;
    const plain = (user: string, pw: string) => `org.apache.kafka.common.security.plain.PlainLoginModule required username="${user}" password="${pw}";`;
    const sasl = (listener: 'SASL_SSL' | 'SASL_PLAINTEXT', mechanism: string, jaas: string) => ({
      'bootstrap.servers': addr(listener),
      'security.protocol': listener,
      ...(listener === 'SASL_SSL' ? trust : {}),
      'sasl.mechanism': mechanism,
      'sasl.jaas.config': jaas,
    });
    const cases: Record<string, Record<string, string>> = {
      'ssl-one-way': { 'bootstrap.servers': addr('TLS'), 'security.protocol': 'SSL', ...trust },
      mtls: {
        'bootstrap.servers': addr('MTLS'),
        'security.protocol': 'SSL',
        ...trust,
        'ssl.keystore.type': 'PEM',
        'ssl.keystore.location': clientCert.pemFile,
      },
      // The client's defaults: ssl.keystore.type JKS; its trust store PKCS12.
      'mtls-jks-stores': {
        'bootstrap.servers': addr('JKS'),
        'security.protocol': 'SSL',
        'ssl.keystore.location': stores!.clientJks,
        'ssl.keystore.password': 'client-pw',
        'ssl.truststore.type': 'PKCS12',
        'ssl.truststore.location': stores!.clientTrustP12,
        'ssl.truststore.password': 'trust-pw',
      },
      'sasl_ssl-plain': sasl('SASL_SSL', 'PLAIN', plain('alice', 'alice-pw')),
      'sasl_ssl-scram-sha-256': sasl('SASL_SSL', 'SCRAM-SHA-256', scram('scrammy', 'scram-pw')),
      'sasl_ssl-scram-sha-512': sasl('SASL_SSL', 'SCRAM-SHA-512', scram('scrammy', 'scram-pw')),
      'sasl_ssl-oauthbearer-unsecured': sasl(
        'SASL_SSL',
        'OAUTHBEARER',
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice";',
      ),
      'sasl_plaintext-plain': sasl('SASL_PLAINTEXT', 'PLAIN', plain('alice', 'alice-pw')),
      'sasl_plaintext-scram-sha-256': sasl('SASL_PLAINTEXT', 'SCRAM-SHA-256', scram('scrammy', 'scram-pw')),
      'sasl_plaintext-scram-sha-512': sasl('SASL_PLAINTEXT', 'SCRAM-SHA-512', scram('scrammy', 'scram-pw')),
      'sasl_plaintext-oauthbearer-signed-jwt': {
        ...sasl('SASL_PLAINTEXT', 'OAUTHBEARER', 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;'),
        'sasl.login.callback.handler.class': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler',
        'sasl.oauthbearer.token.endpoint.url': pathToFileURL(tokenFile).href,
      },
      'reauth-sasl_ssl-scram-sha-512': {
        ...sasl('SASL_SSL', 'SCRAM-SHA-512', scram('scrammy', 'scram-pw')),
        'bootstrap.servers': addr('REAUTH'),
        'check.reauth': 'true',
      },
      'sasl_ssl-wrong-password': { ...sasl('SASL_SSL', 'SCRAM-SHA-256', scram('scrammy', 'nope')), 'check.expect': 'auth-failure' },
      'sasl_plaintext-unsecured-token-on-jwks-listener': {
        ...sasl('SASL_PLAINTEXT', 'OAUTHBEARER', 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="alice";'),
        'check.expect': 'auth-failure',
      },
      'token-delegation': {
        'check.token': 'true',
        'check.owner': 'alice',
        'check.topic': 'java-token',
        ...Object.fromEntries(Object.entries(sasl('SASL_SSL', 'PLAIN', plain('alice', 'alice-pw'))).map(([k, v]) => [`admin.${k}`, v])),
        ...Object.fromEntries(
          Object.entries({ 'bootstrap.servers': addr('SASL_SSL'), 'security.protocol': 'SASL_SSL', ...trust, 'sasl.mechanism': 'SCRAM-SHA-512' }).map(([k, v]) => [
            `token.${k}`,
            v,
          ]),
        ),
      },
    };
    const caseDir = mkdtempSync(join(dir, 'cases-'));
    for (const [name, props] of Object.entries(cases).filter(([n]) => !process.env.ONLY || n.includes(process.env.ONLY))) {
      const all = { 'check.topic': `java-${name}`, ...props };
      writeFileSync(
        join(caseDir, `${name}.properties`),
        Object.entries(all)
          .map(([k, v]) => `${k}=${v.replace(/\\/g, '\\\\')}`)
          .join('\n'),
      );
    }
    const r = await runJava(`${setup.classes}:${setup.cp.k4}`, 'tributary.compat.SecurityClients', [caseDir], 170_000, {
      jvmOpts: [
        `-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=${pathToFileURL(tokenFile).href}`,
        ...(process.env.JAVA_DEBUG ? ['-Dorg.slf4j.simpleLogger.defaultLogLevel=debug', '-Dorg.slf4j.simpleLogger.showDateTime=true'] : []),
      ],
    });
    // JAVA_DEBUG=<file>: the clients' debug log goes there (ONLY=<part of a case name> runs fewer cases).
    if (process.env.JAVA_DEBUG) writeFileSync(process.env.JAVA_DEBUG, r.stderr);
    const results = new Map(
      r.stdout
        .split('\n')
        .filter((l) => l.startsWith('RESULT\t'))
        .map((l) => {
          const [, name, status, detail] = l.split('\t');
          return [name!, { status: status!, detail: detail! }];
        }),
    );
    const failures = Object.keys(cases)
      .filter((n) => !process.env.ONLY || n.includes(process.env.ONLY))
      .filter((n) => results.get(n)?.status !== 'OK')
      .map((n) => `${n}: ${results.get(n)?.detail ?? 'no result'}`);
    assert.deepEqual(failures, [], `exit ${r.code}\n${r.stdout}\n${r.stderr.slice(-4000)}`);
    assert.equal(r.code, 0);
    for (const [name, res] of results) process.stderr.write(`java ${name}: ${res.detail}\n`);
  });
});
