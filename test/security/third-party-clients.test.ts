// librdkafka-based clients against secured listeners: kcat and confluent-kafka-python over SSL
// with client certificates (mTLS), SASL_SSL with PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and
// OAUTHBEARER (librdkafka's unsecured JWT), SASL_PLAINTEXT with SCRAM; wrong credentials fail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { suiteBroker } from '../helpers/broker.js';
import { makePki } from '../helpers/certs.js';
import { addScramUser } from '../helpers/sasl-plain-acls.js';
import { runPythonAsync } from '../helpers/python-clients.js';

const pki = makePki();
after(() => pki.cleanup());
const client = pki.client('/O=Tributary/CN=kcat-client', 'kcat-client');

function kcat(args: string[], input?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.toString()));
    child.stderr.on('data', (d) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

const users = 'user_admin="admin-pw" user_alice="alice-pw"';

describe('kcat and confluent-kafka-python on secured listeners', () => {
  const broker = suiteBroker({
    config: {
      listeners: 'SSL://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      'ssl.keystore.location': pki.serverPemFile,
      'ssl.truststore.location': pki.caFile,
      'listener.name.ssl.ssl.client.auth': 'required',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
      'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw" ${users};`,
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required ${users};`,
      'listener.name.sasl_ssl.oauthbearer.sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
      'listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config': 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
      'num.partitions': 1,
      'group.initial.rebalance.delay.ms': 0,
    },
  });
  const addr = (listener: string) => `127.0.0.1:${broker.broker.listenerPort(listener)}`;

  before(async () => {
    await broker.ready;
    await addScramUser(broker.broker.listenerPort('SASL_PLAINTEXT'), 'scrammy', 'scram-pw');
  });

  const tls = ['-X', `ssl.ca.location=${pki.caFile}`];
  const cases: [string, string, string[]][] = [
    [
      'SSL with a client certificate',
      'SSL',
      ['-X', 'security.protocol=SSL', ...tls, '-X', `ssl.certificate.location=${client.certFile}`, '-X', `ssl.key.location=${client.keyFile}`],
    ],
    ['SASL_SSL PLAIN', 'SASL_SSL', ['-X', 'security.protocol=SASL_SSL', ...tls, '-X', 'sasl.mechanisms=PLAIN', '-X', 'sasl.username=alice', '-X', 'sasl.password=alice-pw']],
    [
      'SASL_SSL SCRAM-SHA-256',
      'SASL_SSL',
      ['-X', 'security.protocol=SASL_SSL', ...tls, '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', 'sasl.username=scrammy', '-X', 'sasl.password=scram-pw'],
    ],
    [
      'SASL_PLAINTEXT SCRAM-SHA-512',
      'SASL_PLAINTEXT',
      ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', 'sasl.username=scrammy', '-X', 'sasl.password=scram-pw'],
    ],
    [
      'SASL_SSL OAUTHBEARER (unsecured JWT)',
      'SASL_SSL',
      [
        '-X',
        'security.protocol=SASL_SSL',
        ...tls,
        '-X',
        'sasl.mechanisms=OAUTHBEARER',
        '-X',
        'enable.sasl.oauthbearer.unsecure.jwt=true',
        '-X',
        'sasl.oauthbearer.config=principal=alice',
      ],
    ],
  ];
  for (const [name, listener, args] of cases) {
    test(`kcat: ${name}`, async () => {
      const topic = `kcat-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
      const p = await kcat(['-b', addr(listener), ...args, '-P', '-t', topic], 'one\ntwo\nthree\n');
      assert.equal(p.status, 0, p.stderr);
      const c = await kcat(['-b', addr(listener), ...args, '-C', '-t', topic, '-o', 'beginning', '-e', '-q']);
      assert.equal(c.status, 0, c.stderr);
      assert.deepEqual(c.stdout.trim().split('\n'), ['one', 'two', 'three']);
    });
  }

  test('kcat: a wrong password and a missing client certificate fail', async () => {
    const wrong = await kcat([
      '-b',
      addr('SASL_SSL'),
      '-X',
      'security.protocol=SASL_SSL',
      ...tls,
      '-X',
      'sasl.mechanisms=SCRAM-SHA-256',
      '-X',
      'sasl.username=scrammy',
      '-X',
      'sasl.password=nope',
      '-L',
      '-m',
      '5',
    ]);
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stderr, /Authentication failed|SASL authentication error/i);
    const noCert = await kcat(['-b', addr('SSL'), '-X', 'security.protocol=SSL', ...tls, '-L', '-m', '5']);
    assert.notEqual(noCert.status, 0);
  });

  const pyCases: [string, string, Record<string, string>][] = [
    ['mtls', 'SSL', { 'security.protocol': 'SSL', 'ssl.ca.location': pki.caFile, 'ssl.certificate.location': client.certFile, 'ssl.key.location': client.keyFile }],
    [
      'scram512-ssl',
      'SASL_SSL',
      { 'security.protocol': 'SASL_SSL', 'ssl.ca.location': pki.caFile, 'sasl.mechanisms': 'SCRAM-SHA-512', 'sasl.username': 'scrammy', 'sasl.password': 'scram-pw' },
    ],
    ['plain', 'SASL_PLAINTEXT', { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanisms': 'PLAIN', 'sasl.username': 'alice', 'sasl.password': 'alice-pw' }],
    [
      'oauth',
      'SASL_PLAINTEXT',
      {
        'security.protocol': 'SASL_PLAINTEXT',
        'sasl.mechanisms': 'OAUTHBEARER',
        'enable.sasl.oauthbearer.unsecure.jwt': 'true',
        'sasl.oauthbearer.config': 'principal=alice',
      },
    ],
  ];
  for (const [name, listener, security] of pyCases) {
    test(`confluent-kafka-python: ${name} (${listener})`, async () => {
      const r = await runPythonAsync('security_confluent.py', [addr(listener), `py-${name}`, '200', JSON.stringify(security)]);
      assert.equal(r.status, 0, r.output);
      assert.equal(r.summary['ok'], true, r.output);
    });
  }
});
