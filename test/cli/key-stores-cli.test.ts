// `tributary` with a Kafka user's --command-config: JKS and PKCS12 trust and key stores (made by
// keytool at test time), the type set or left to the file, against a TLS broker and an mTLS one;
// a wrong password, a damaged store and a JCEKS store fail as one line naming the setting.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suiteBroker } from '../helpers/broker.js';
import { makePki } from '../helpers/certs.js';
import { assertOneLineError, cli, writeProperties } from '../helpers/cli.js';
import { keyStore, keytool, keytoolMissing, trustStore } from '../helpers/keytool.js';

const skip = keytoolMissing() ?? false;
if (skip) process.stderr.write(`key-stores-cli: SKIPPED: ${skip}\n`);

const pki = makePki();
after(() => pki.cleanup());
const props = (file: string, lines: string[]) => writeProperties(pki.dir, file, lines);

let stores: { trustJks: string; trustP12: string; aliceP12: string; aliceJks: string };
before(() => {
  if (skip) return;
  pki.client('/O=Tributary/CN=alice', 'alice');
  stores = {
    trustJks: trustStore(pki.dir, ['ca.crt'], 'client.truststore.jks', 'JKS', 'trust-pw'),
    trustP12: trustStore(pki.dir, ['ca.crt'], 'client.truststore.p12', 'PKCS12', 'trust-pw'),
    aliceP12: keyStore(pki.dir, 'alice', 'alice.keystore.p12', 'PKCS12', 'alice-pw'),
    aliceJks: keyStore(pki.dir, 'alice', 'alice.keystore.jks', 'JKS', 'alice-pw', 'alice-key-pw'),
  };
});

const topics = (port: number, config: string, args: string[]) => cli(['topics', ...args, '--bootstrap-server', `localhost:${port}`, '--command-config', config]);

describe('--command-config with Java stores against a TLS broker', { skip }, () => {
  const broker = suiteBroker({ process: true, config: { listeners: 'SSL://127.0.0.1:0', 'ssl.keystore.location': pki.serverPemFile } });

  test('a JKS trust store without a type line, and a PKCS12 one with it, verify the broker', async () => {
    // A Kafka user's client.properties: a .jks file and Kafka's default type, so no type line.
    const jks = props('jks.properties', ['security.protocol=SSL', `ssl.truststore.location=${stores.trustJks}`, 'ssl.truststore.password=trust-pw']);
    const created = await topics(broker.port, jks, ['create', 'from-jks']);
    assert.equal(created.code, 0, created.stderr);
    const p12 = props('p12.properties', [
      'security.protocol=SSL',
      'ssl.truststore.type=PKCS12',
      `ssl.truststore.location=${stores.trustP12}`,
      'ssl.truststore.password=trust-pw',
    ]);
    const listed = await topics(broker.port, p12, ['list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^from-jks$/m);
  });

  test('a wrong password, a damaged store and a JCEKS store are one line naming the setting, before connecting', async () => {
    const damaged = join(pki.dir, 'damaged.jks');
    const bytes = readFileSync(stores.trustJks);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(damaged, bytes);
    keytool(['-importcert', '-noprompt', '-alias', 'ca', '-file', 'ca.crt', '-keystore', 'trust.jceks', '-storetype', 'JCEKS', '-storepass', 'trust-pw'], pki.dir);
    const cases: [string, string[], RegExp][] = [
      [
        'wrong JKS password',
        [`ssl.truststore.location=${stores.trustJks}`, 'ssl.truststore.password=nope'],
        /client\.truststore\.jks: .*integrity check failed.*check ssl\.truststore\.password/,
      ],
      [
        'wrong PKCS12 password',
        [`ssl.truststore.location=${stores.trustP12}`, 'ssl.truststore.password=nope'],
        /client\.truststore\.p12: .*MAC does not verify.*check ssl\.truststore\.password/,
      ],
      ['damaged JKS', [`ssl.truststore.location=${damaged}`, 'ssl.truststore.password=trust-pw'], /ssl\.truststore\.location .*damaged\.jks: .*damaged/],
      ['JCEKS', [`ssl.truststore.location=${join(pki.dir, 'trust.jceks')}`, 'ssl.truststore.password=trust-pw'], /trust\.jceks: JCEKS stores are not supported/],
    ];
    for (const [name, lines, message] of cases) {
      const r = await topics(broker.port, props('bad.properties', ['security.protocol=SSL', ...lines]), ['list']);
      assertOneLineError(r, 'INVALID_REQUEST');
      assert.match(r.stderr, /--command-config /, name);
      assert.match(r.stderr, message, name);
    }
  });
});

describe('--command-config with Java key stores against an mTLS broker', { skip }, () => {
  const broker = suiteBroker({
    process: true,
    config: { listeners: 'SSL://127.0.0.1:0', 'ssl.keystore.location': pki.serverPemFile, 'ssl.truststore.location': pki.caFile, 'ssl.client.auth': 'required' },
  });

  test('a PKCS12 key store, and a JKS one with its own key password, authenticate the client', async () => {
    const p12 = props('mtls-p12.properties', [
      'security.protocol=SSL',
      `ssl.truststore.location=${stores.trustJks}`,
      'ssl.truststore.password=trust-pw',
      'ssl.keystore.type=PKCS12',
      `ssl.keystore.location=${stores.aliceP12}`,
      'ssl.keystore.password=alice-pw',
    ]);
    const created = await topics(broker.port, p12, ['create', 'from-p12']);
    assert.equal(created.code, 0, created.stderr);
    const jks = props('mtls-jks.properties', [
      'security.protocol=SSL',
      `ssl.truststore.location=${stores.trustP12}`,
      'ssl.truststore.password=trust-pw',
      `ssl.keystore.location=${stores.aliceJks}`,
      'ssl.keystore.password=alice-pw',
      'ssl.key.password=alice-key-pw',
    ]);
    const listed = await topics(broker.port, jks, ['list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^from-p12$/m);
    // Without a key store the broker refuses the client: the key store above is what got it in.
    const none = await topics(broker.port, props('mtls-none.properties', ['security.protocol=SSL', `ssl.truststore.location=${stores.trustJks}`]), [
      'list',
      '--timeout',
      '3000',
    ]);
    assert.notEqual(none.code, 0);
  });

  test('a wrong key store password is one line naming ssl.keystore.password', async () => {
    for (const [store, extra] of [
      [stores.aliceP12, []],
      [stores.aliceJks, ['ssl.key.password=alice-key-pw']],
    ] as const) {
      const config = props('mtls-bad.properties', [
        'security.protocol=SSL',
        `ssl.truststore.location=${stores.trustJks}`,
        `ssl.keystore.location=${store}`,
        'ssl.keystore.password=nope',
        ...extra,
      ]);
      const r = await topics(broker.port, config, ['list']);
      assertOneLineError(r, 'INVALID_REQUEST');
      assert.match(r.stderr, /ssl\.keystore\.password/, store);
    }
  });
});
