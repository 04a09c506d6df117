// OAUTHBEARER against a JWKS served over https by a local server (127.0.0.1, a test-made CA the
// broker trusts through the JAAS ssl.truststore.location option, as Kafka's JaasOptionsUtils):
// fetched at start, a token with an unknown key id fails and triggers a refresh after which it
// succeeds (key rotation, as Kafka's RefreshingHttpsJwks), a periodic refresh drops retired keys,
// an endpoint the broker cannot trust stops it from starting, and the JAAS trust store may be a
// Java one (JKS, PKCS12; a wrong password stops the start with a message naming it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../src/config/config.js';
import { withBroker } from '../helpers/broker.js';
import { makePki } from '../helpers/certs.js';
import { keytoolMissing, trustStore } from '../helpers/keytool.js';
import { waitUntil } from '../helpers/wait.js';
import { Connection } from '../../src/client/connection.js';

const pki = makePki();
after(() => pki.cleanup());

interface Key {
  kid: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}
const newKey = (kid: string): Key => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' } };
};
const k1 = newKey('k1');
const k2 = newKey('k2');

function jwt(key: Key, sub: string): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${part({ alg: 'RS256', kid: key.kid, typ: 'JWT' })}.${part({ sub, iss: 'https://idp.test', aud: 'kafka', iat: now, exp: now + 600 })}`;
  return `${head}.${sign('sha256', Buffer.from(head), key.privateKey).toString('base64url')}`;
}

let served: Key[] = [k1];
let fetches = 0;
let server: Server;
let jwksUrl = '';
before(async () => {
  server = createServer({ key: readFileSync(pki.serverKeyFile), cert: readFileSync(pki.serverCertFile) }, (req, res) => {
    fetches++;
    if (req.url !== '/jwks') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served.map((k) => k.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwksUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** The JAAS options of the endpoint's trust store; '' trusts Node's defaults only. */
const pemTrust = () => ` ssl.truststore.type="PEM" ssl.truststore.location="${pki.caFile}"`;
const config = (refreshMs: number, trust = pemTrust()) => ({
  listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
  'sasl.enabled.mechanisms': 'OAUTHBEARER',
  'listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config': `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required${trust};`,
  'listener.name.sasl_plaintext.oauthbearer.sasl.oauthbearer.jwks.endpoint.url': jwksUrl,
  'sasl.oauthbearer.jwks.endpoint.refresh.ms': refreshMs,
  'sasl.oauthbearer.expected.issuer': 'https://idp.test',
  'sasl.oauthbearer.expected.audience': 'kafka',
});

async function authenticates(port: number, token: string): Promise<boolean> {
  try {
    (await Connection.connect({ host: '127.0.0.1', port, security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'OAUTHBEARER', token } } })).close();
    return true;
  } catch {
    return false;
  }
}

test('a key rotation: an unknown kid fails once, refreshes the https JWKS, then authenticates', async (t) => {
  served = [k1];
  const before = fetches;
  const broker = await withBroker(t, { config: config(3_600_000) });
  assert.equal(fetches, before + 1, 'fetched once at start');
  const port = broker.broker.listenerPort('SASL_PLAINTEXT');
  assert.ok(await authenticates(port, jwt(k1, 'alice')));
  served = [k1, k2];
  assert.equal(await authenticates(port, jwt(k2, 'bob')), false, 'k2 is not known yet');
  await waitUntil(() => authenticates(port, jwt(k2, 'bob')), { timeout: 10_000, interval: 100, message: 'k2 accepted after the refresh' });
  const afterRotation = fetches;
  assert.ok(afterRotation >= before + 2);
  // A kid no JWKS has: refused, and asking again soon does not fetch again (one refresh per kid per minute).
  assert.equal(await authenticates(port, jwt(newKey('k9'), 'mallory')), false);
  await waitUntil(() => fetches >= afterRotation + 1, { timeout: 5_000, message: 'one refresh for k9' });
  assert.equal(await authenticates(port, jwt(newKey('k9'), 'mallory')), false);
  assert.equal(fetches, afterRotation + 1);
});

test('the periodic refresh (sasl.oauthbearer.jwks.endpoint.refresh.ms) drops a retired key', async (t) => {
  served = [k1, k2];
  const broker = await withBroker(t, { config: config(200) });
  const port = broker.broker.listenerPort('SASL_PLAINTEXT');
  assert.ok(await authenticates(port, jwt(k1, 'alice')));
  served = [k2];
  await waitUntil(async () => !(await authenticates(port, jwt(k1, 'alice'))), { timeout: 10_000, interval: 100, message: 'k1 refused once retired' });
  assert.ok(await authenticates(port, jwt(k2, 'bob')));
});

test('an https JWKS the broker cannot trust stops it from starting', async (t) => {
  await assert.rejects(withBroker(t, { config: config(3_600_000, '') }), /Cannot fetch the JWKS/);
});

const noKeytool = keytoolMissing() ?? false;
test('the JAAS trust store may be JKS (no type: taken from the file) or PKCS12; a wrong password stops the start', { skip: noKeytool }, async (t) => {
  const jks = trustStore(pki.dir, ['ca.crt'], 'jwks-trust.jks', 'JKS', 'trust-pw');
  const p12 = trustStore(pki.dir, ['ca.crt'], 'jwks-trust.p12', 'PKCS12', 'trust-pw');
  served = [k1];
  for (const trust of [
    ` ssl.truststore.location="${jks}" ssl.truststore.password="trust-pw"`,
    ` ssl.truststore.type="PKCS12" ssl.truststore.location="${p12}" ssl.truststore.password="trust-pw"`,
  ]) {
    const broker = await withBroker(t, { config: config(3_600_000, trust) });
    assert.ok(await authenticates(broker.broker.listenerPort('SASL_PLAINTEXT'), jwt(k1, 'alice')), trust);
    await broker.stop();
  }
  await assert.rejects(
    withBroker(t, { config: config(3_600_000, ` ssl.truststore.location="${jks}" ssl.truststore.password="nope"`) }),
    (err: unknown) =>
      err instanceof ConfigError && /^OAUTHBEARER JAAS config: ssl\.truststore\.location .*jwks-trust\.jks: .*check ssl\.truststore\.password/.test(err.message),
  );
});
