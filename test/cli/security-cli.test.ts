// `tributary acls` and `tributary users` against a broker with SASL_SSL and ACLs, connecting
// through --command-config (Kafka's client properties), and what the ACLs and credentials do.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { makePki } from '../helpers/certs.js';
import { cli, run, writeProperties } from '../helpers/cli.js';

const pki = makePki();
after(() => pki.cleanup());
const props = (file: string, lines: string[]) => writeProperties(pki.dir, file, lines);

describe('tributary acls and users with --command-config', () => {
  const broker = suiteBroker({
    process: true,
    config: {
      listeners: 'SASL_SSL://127.0.0.1:0',
      'ssl.keystore.location': pki.serverPemFile,
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512',
      'listener.name.sasl_ssl.plain.sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-pw" user_alice="alice-pw";',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:admin',
    },
  });
  const admin = props('admin.properties', [
    'security.protocol=SASL_SSL',
    `ssl.truststore.location=${pki.caFile}`,
    'sasl.mechanism=PLAIN',
    'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-pw";',
  ]);
  const alice = props('alice.properties', [
    'security.protocol=SASL_SSL',
    `ssl.truststore.location=${pki.caFile}`,
    'sasl.mechanism=PLAIN',
    'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="alice-pw";',
  ]);
  const as = (file: string, args: string[], input?: string) => cli([...args, '--bootstrap-server', `localhost:${broker.port}`, '--command-config', file], input);

  test('acls add/list/remove decide what alice may do', async () => {
    assert.equal((await as(admin, ['topics', 'create', 'ledger'])).code, 0);
    const denied = await as(alice, ['produce', 'ledger'], 'x\n');
    assert.notEqual(denied.code, 0);
    assert.match(denied.stderr, /TOPIC_AUTHORIZATION_FAILED/);
    const add = await as(admin, [
      'acls',
      'add',
      '--allow-principal',
      'User:alice',
      '--operation',
      'Write',
      '--operation',
      'Read',
      '--topic',
      'led',
      '--resource-pattern-type',
      'prefixed',
    ]);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, 'Added 2 ACLs.\n');
    const list = await as(admin, ['acls', 'list', '--topic', 'ledger', '--resource-pattern-type', 'match']);
    assert.equal(
      list.stdout,
      'Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=led, patternType=PREFIXED)`: \n' +
        ' \t(principal=User:alice, host=*, operation=WRITE, permissionType=ALLOW)\n' +
        ' \t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)\n\n',
    );
    const ok = await as(alice, ['produce', 'ledger'], 'entry-1\n');
    assert.equal(ok.code, 0, ok.stderr);
    const notAdmin = await as(alice, ['acls', 'list']);
    assert.match(notAdmin.stderr, /CLUSTER_AUTHORIZATION_FAILED/);
    const removed = await as(admin, ['acls', 'remove', '--topic', 'led', '--resource-pattern-type', 'prefixed', '--allow-principal', 'User:alice', '--operation', 'Write']);
    assert.equal(removed.stdout, 'Removed 1 ACL.\n');
    const again = await as(alice, ['produce', 'ledger'], 'entry-2\n');
    assert.match(again.stderr, /TOPIC_AUTHORIZATION_FAILED/);
  });

  test('users set/list/delete manage SCRAM credentials that kcat logs in with', async () => {
    const set = await as(admin, ['users', 'set', 'svc', '--password', 'svc-pw', '--mechanism', 'SCRAM-SHA-512', '--iterations', '8192']);
    assert.equal(set.code, 0, set.stderr);
    const list = await as(admin, ['users', 'list']);
    assert.equal(list.stdout, "SCRAM credential configs for user-principal 'svc' are SCRAM-SHA-512=iterations=8192\n");
    const kcatArgs = [
      '-b',
      `127.0.0.1:${broker.port}`,
      '-X',
      'security.protocol=SASL_SSL',
      '-X',
      `ssl.ca.location=${pki.caFile}`,
      '-X',
      'sasl.mechanisms=SCRAM-SHA-512',
      '-X',
      'sasl.username=svc',
      '-X',
      'sasl.password=svc-pw',
      '-L',
      '-m',
      '5',
    ];
    const login = await run('kcat', kcatArgs);
    assert.equal(login.code, 0, login.stderr);
    assert.equal((await as(admin, ['users', 'delete', 'svc'])).code, 0);
    const gone = await run('kcat', kcatArgs);
    assert.notEqual(gone.code, 0);
  });
});
