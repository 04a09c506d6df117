// Kafka's own kafka-acls (AclCommand) and kafka-configs (ConfigCommand, SCRAM users) from
// kafka-tools 4.4 against a Tributary broker with the StandardAuthorizer on: the listings are
// Kafka's, byte for byte in the ACL lines, and the SCRAM credential a tool makes logs a client in.
// Then the same kafka-acls session against Apache Kafka 4.x itself (from the cache the benchmark
// fills) and against Tributary: every add, list and remove prints the same, up to the order of
// resources and of ACLs in a listing (Kafka prints sets).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheRoot, formatKafka, KAFKA_VERSIONS, resolveKafkaVersion, type KafkaInstall, type KafkaNode } from '../../../src/bench/kafka.js';
import { createServer } from 'node:net';
import { startBrokerProcess, tempDir, type BrokerProcess } from '../../helpers/broker-process.js';
import { waitUntil } from '../../helpers/wait.js';
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

/** A cached Apache Kafka (the benchmark resolves it; CI's .ci/run does): never resolved here. */
function cachedKafka(): KafkaInstall | string {
  const version = KAFKA_VERSIONS.find((v) => existsSync(join(cacheRoot(), `kafka-${v}`, 'complete')));
  if (version === undefined) return `no Apache Kafka in ${cacheRoot()} (npm run bench -- --against kafka --resolve-only fetches it)`;
  return resolveKafkaVersion(version, () => undefined);
}

/** A port nothing listens on now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A listing up to order: blocks (one per resource) sorted, the ACL lines of each sorted. */
function normalized(out: string): string[] {
  return out
    .replace(/\r/g, '')
    .split(/\n\s*\n/)
    .map((block) =>
      block
        .split('\n')
        .map((l) => l.trimEnd())
        .filter((l) => l.trim() !== ''),
    )
    .filter((lines) => lines.length > 0)
    .map((lines) => [lines[0]!, ...lines.slice(1).sort()].join('\n'))
    .sort();
}

const kafka = typeof setup === 'string' ? setup : cachedKafka();
const sideBySideSkip = skip || (typeof kafka === 'string' ? kafka : false);

describe('kafka-acls prints the same against Apache Kafka and Tributary', { skip: sideBySideSkip }, () => {
  let tributary: BrokerProcess;
  let kafkaProc: ChildProcess | null = null;
  let node: KafkaNode;
  let tools: Tools;
  before(async () => {
    if (typeof setup === 'string' || typeof kafka === 'string') return;
    const port = await freePort();
    node = {
      dir: tempDir('tributary-kafka-acls-'),
      port,
      controllerPort: await freePort(),
      settings: {
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'super.users': 'User:ANONYMOUS',
        'offsets.topic.replication.factor': '1',
        'transaction.state.log.replication.factor': '1',
      },
    };
    const props = formatKafka(kafka, node);
    // A small heap: only ACLs are exercised.
    kafkaProc = spawn('java', ['-Xmx384m', '-XX:+UseSerialGC', `-Dlog4j2.configurationFile=${join(node.dir, 'log4j2.yaml')}`, '-cp', kafka.classpath, 'kafka.Kafka', props], {
      stdio: 'ignore',
    });
    tributary = await startBrokerProcess({
      overrides: { 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'super.users': 'User:ANONYMOUS' },
    });
    tools = await Tools.start(setup);
    await waitUntil(async () => (await tools.run(ACLS, ['--bootstrap-server', `127.0.0.1:${port}`, '--list'], '', 30_000)).exit === 0, {
      timeout: 90_000,
      interval: 1000,
      message: 'Apache Kafka to answer kafka-acls',
    });
  });
  after(async () => {
    await tools?.close();
    if (kafkaProc && kafkaProc.exitCode === null) {
      kafkaProc.kill('SIGKILL');
      await new Promise((resolve) => kafkaProc!.once('exit', resolve));
    }
    if (node) rmSync(node.dir, { recursive: true, force: true });
    await tributary?.stop();
    tributary?.cleanup();
  });

  test('adds, listings (all, literal, match, by principal, cluster) and removes', async () => {
    const session: string[][] = [
      ['--add', '--allow-principal', 'User:alice', '--operation', 'Read', '--operation', 'Describe', '--topic', 'orders'],
      ['--add', '--allow-principal', 'User:bob', '--operation', 'Write', '--topic', 'ord', '--resource-pattern-type', 'prefixed'],
      ['--add', '--deny-principal', 'User:mallory', '--deny-host', '10.0.0.1', '--operation', 'All', '--topic', '*'],
      ['--add', '--allow-principal', 'User:alice', '--operation', 'Read', '--group', 'billing'],
      ['--add', '--allow-principal', 'User:svc', '--operation', 'IdempotentWrite', '--operation', 'Alter', '--cluster'],
      ['--add', '--producer', '--allow-principal', 'User:producer', '--topic', 'events', '--transactional-id', 'tx-1', '--idempotent'],
      ['--add', '--consumer', '--allow-principal', 'User:consumer', '--topic', 'events', '--group', 'readers'],
      ['--add', '--allow-principal', 'User:bob', '--operation', 'CreateTokens', '--operation', 'DescribeTokens', '--user-principal', 'User:alice'],
      ['--add', '--allow-principal', 'User:carol', '--operation', 'Describe', '--delegation-token', 'token-1'],
      ['--list'],
      ['--list', '--topic', 'orders'],
      ['--list', '--topic', 'orders', '--resource-pattern-type', 'match'],
      ['--list', '--topic', 'ord', '--resource-pattern-type', 'prefixed'],
      ['--list', '--principal', 'User:producer'],
      ['--list', '--cluster'],
      ['--list', '--user-principal', 'User:alice'],
      ['--remove', '--force', '--allow-principal', 'User:alice', '--operation', 'Read', '--topic', 'orders'],
      ['--remove', '--force', '--topic', 'events'],
      ['--list'],
    ];
    for (const args of session) {
      const onKafka = await tools.run(ACLS, ['--bootstrap-server', `127.0.0.1:${node.port}`, ...args], '');
      const onTributary = await tools.run(ACLS, ['--bootstrap-server', tributary.bootstrap, ...args], '');
      const what = `kafka-acls ${args.join(' ')}`;
      assert.equal(onKafka.exit, 0, `${what} on Kafka: ${onKafka.err.slice(-1500)}`);
      if (args[0] !== '--remove') assert.match(onKafka.out, /ACLs for resource `ResourcePattern/, `${what} on Kafka printed no ACLs`);
      assert.equal(
        onTributary.exit,
        onKafka.exit,
        `${what}: exit codes\nKafka:\n${onKafka.out}${onKafka.err.slice(-1500)}\nTributary:\n${onTributary.out}${onTributary.err.slice(-1500)}`,
      );
      assert.deepEqual(normalized(onTributary.out), normalized(onKafka.out), `${what}: output`);
    }
  });
});
