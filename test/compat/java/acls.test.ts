// Kafka's own kafka-acls (AclCommand) and kafka-configs (ConfigCommand, SCRAM users) from
// kafka-tools 4.4 against a Tributary broker with the StandardAuthorizer on: the listings are
// Kafka's, byte for byte in the ACL lines, and the SCRAM credential a tool makes logs a client in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { javaSetup, Tools, type ToolResult } from './harness.js';
import { Connection } from '../../../src/client/connection.js';

const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;

const ACLS = 'org.apache.kafka.tools.AclCommand';
const CONFIGS = 'org.apache.kafka.tools.ConfigCommand';

function ok(r: ToolResult, what: string): string {
  assert.equal(r.exit, 0, `${what} exited ${r.exit}\nstdout:\n${r.out}\nstderr:\n${r.err.slice(-3000)}`);
  return r.out;
}

describe('kafka-acls and kafka-configs (SCRAM users) against Tributary', { skip }, () => {
  let broker: BrokerProcess;
  let tools: Tools;
  let bs: string[];
  const run = (main: string, args: string[]) => tools.run(main, [...bs, ...args], '');

  before(async () => {
    if (typeof setup === 'string') return;
    broker = await startBrokerProcess({
      overrides: {
        // The tools connect without credentials: ANONYMOUS is the super user on the PLAINTEXT listener.
        listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
        'sasl.enabled.mechanisms': 'SCRAM-SHA-256',
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'super.users': 'User:ANONYMOUS',
      },
    });
    bs = ['--bootstrap-server', broker.bootstrap];
    tools = await Tools.start(setup);
  });
  after(async () => {
    await tools?.close();
    await broker?.stop();
    broker?.cleanup();
  });

  test('add, list (with filters) and remove, as kafka-acls prints them', async () => {
    ok(await run(ACLS, ['--add', '--allow-principal', 'User:alice', '--operation', 'Read', '--operation', 'Describe', '--topic', 'orders']), 'add literal');
    ok(await run(ACLS, ['--add', '--allow-principal', 'User:bob', '--operation', 'Write', '--topic', 'ord', '--resource-pattern-type', 'prefixed']), 'add prefixed');
    ok(await run(ACLS, ['--add', '--deny-principal', 'User:mallory', '--deny-host', '10.0.0.1', '--operation', 'All', '--topic', '*']), 'add wildcard deny');
    ok(await run(ACLS, ['--add', '--allow-principal', 'User:alice', '--operation', 'Read', '--group', 'billing']), 'add group');
    ok(await run(ACLS, ['--add', '--allow-principal', 'User:svc', '--operation', 'IdempotentWrite', '--cluster']), 'add cluster');
    // --producer adds WRITE, DESCRIBE, CREATE on the topic (and with --transactional-id, its WRITE and DESCRIBE).
    ok(await run(ACLS, ['--add', '--producer', '--allow-principal', 'User:producer', '--topic', 'events', '--transactional-id', 'tx-1']), 'add --producer');

    const topicOrders = ok(await run(ACLS, ['--list', '--topic', 'orders']), 'list topic');
    assert.match(topicOrders, /Current ACLs for resource `ResourcePattern\(resourceType=TOPIC, name=orders, patternType=LITERAL\)`:/);
    assert.match(topicOrders, /\(principal=User:alice, host=\*, operation=READ, permissionType=ALLOW\)/);
    assert.match(topicOrders, /\(principal=User:alice, host=\*, operation=DESCRIBE, permissionType=ALLOW\)/);
    assert.doesNotMatch(topicOrders, /User:bob/, 'a literal listing shows only that pattern');

    const matching = ok(await run(ACLS, ['--list', '--topic', 'orders', '--resource-pattern-type', 'match']), 'list match');
    for (const p of ['name=orders, patternType=LITERAL', 'name=ord, patternType=PREFIXED', 'name=\\*, patternType=LITERAL'])
      assert.match(matching, new RegExp(`resourceType=TOPIC, ${p}`));
    assert.match(matching, /\(principal=User:mallory, host=10\.0\.0\.1, operation=ALL, permissionType=DENY\)/);

    const byPrincipal = ok(await run(ACLS, ['--list', '--principal', 'User:producer']), 'list principal');
    for (const line of [
      /resourceType=TOPIC, name=events, patternType=LITERAL/,
      /resourceType=TRANSACTIONAL_ID, name=tx-1, patternType=LITERAL/,
      /operation=CREATE, permissionType=ALLOW/,
      /operation=WRITE, permissionType=ALLOW/,
    ])
      assert.match(byPrincipal, line);
    assert.doesNotMatch(byPrincipal, /alice/);

    ok(await run(ACLS, ['--remove', '--force', '--allow-principal', 'User:alice', '--operation', 'Read', '--topic', 'orders']), 'remove');
    const after = ok(await run(ACLS, ['--list', '--topic', 'orders']), 'list after remove');
    assert.doesNotMatch(after, /operation=READ/);
    assert.match(after, /operation=DESCRIBE/);
    const cluster = ok(await run(ACLS, ['--list', '--cluster']), 'list cluster');
    assert.match(cluster, /resourceType=CLUSTER, name=kafka-cluster, patternType=LITERAL/);
    assert.match(cluster, /operation=IDEMPOTENT_WRITE/);
  });

  test('kafka-configs creates, describes and deletes SCRAM users that then authenticate', async () => {
    ok(
      await run(CONFIGS, ['--alter', '--add-config', 'SCRAM-SHA-256=[iterations=8192,password=carol-secret]', '--entity-type', 'users', '--entity-name', 'carol']),
      'alter users',
    );
    const described = ok(await run(CONFIGS, ['--describe', '--entity-type', 'users', '--entity-name', 'carol']), 'describe users');
    assert.match(described, /SCRAM credential configs for user-principal 'carol' are SCRAM-SHA-256=iterations=8192/);
    const saslPort = await saslListenerPort();
    const c = await Connection.connect({
      host: '127.0.0.1',
      port: saslPort,
      security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-256', username: 'carol', password: 'carol-secret' } },
    });
    c.close();
    ok(await run(CONFIGS, ['--alter', '--delete-config', 'SCRAM-SHA-256', '--entity-type', 'users', '--entity-name', 'carol']), 'delete user');
    await assert.rejects(
      Connection.connect({
        host: '127.0.0.1',
        port: saslPort,
        security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-256', username: 'carol', password: 'carol-secret' } },
      }),
    );
  });

  /** The SASL listener's port, from the Metadata a client of that listener gets. */
  async function saslListenerPort(): Promise<number> {
    const line = broker.logs.find((l) => l['msg'] === 'listening' && l['listener'] === 'SASL_PLAINTEXT');
    if (line) return Number(line['port']);
    throw new Error('the broker did not log its SASL_PLAINTEXT port');
  }
});
