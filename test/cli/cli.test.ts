// The tributary CLI end to end, spawned as users run it (the compiled build), against a broker in
// the test process (so that a test can see the CLI's long poll parked).
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { suiteBroker } from '../helpers/broker.js';
import { tempDir } from '../helpers/broker-process.js';
import { assertOneLineError, cli, run } from '../helpers/cli.js';
import { waitUntil } from '../helpers/wait.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { Connection } from '../../src/client/connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic } from '../helpers/requests.js';

const { Kafka, logLevel } = kafkajs;

describe('tributary CLI', () => {
  const broker = suiteBroker({ config: { 'group.initial.rebalance.delay.ms': 0 } });
  let bs: string[];
  before(() => {
    bs = ['--bootstrap-server', broker.bootstrap];
  });

  test('--help works on every command', async () => {
    const commands = [
      [],
      ['topics'],
      ['topics', 'list'],
      ['topics', 'describe'],
      ['topics', 'create'],
      ['topics', 'delete'],
      ['topics', 'alter'],
      ['produce'],
      ['consume'],
      ['groups'],
      ['groups', 'list'],
      ['groups', 'describe'],
      ['groups', 'delete'],
      ['groups', 'reset-offsets'],
      ['configs'],
      ['configs', 'describe'],
      ['configs', 'alter'],
      ['broker'],
    ];
    const runs = await Promise.all(commands.map((c) => cli([...c, '--help'])));
    for (const [i, r] of runs.entries()) {
      assert.equal(r.code, 0, `${commands[i]!.join(' ')} --help: ${r.stderr}`);
      assert.match(r.stdout, /Usage: tributary/);
      if (commands[i]!.length === 2 || ['produce', 'consume'].includes(commands[i]![0]!)) assert.match(r.stdout, /--bootstrap-server/);
    }
  });

  test('topics create, list, describe, alter, delete', async () => {
    let r = await cli(['topics', 'create', 'cli-topics', '--partitions', '3', '--config', 'retention.ms=3600000', ...bs]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Created topic cli-topics/);
    assertOneLineError(await cli(['topics', 'create', 'cli-topics', ...bs]), 'TOPIC_ALREADY_EXISTS');
    assert.equal((await cli(['topics', 'create', 'cli-topics', '--if-not-exists', ...bs])).code, 0);
    r = await cli(['topics', 'list', ...bs]);
    assert.ok(r.stdout.split('\n').includes('cli-topics'));
    r = await cli(['topics', 'describe', 'cli-topics', ...bs]);
    assert.match(r.stdout, /Topic: cli-topics\tTopicId: \S+\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: retention.ms=3600000/);
    assert.equal(r.stdout.match(/\tPartition: \d\tLeader: \d+\tReplicas: \d+\tIsr: \d+/g)?.length, 3);
    r = await cli(['topics', 'alter', 'cli-topics', '--partitions', '4', '--config', 'segment.bytes=1048576', ...bs]);
    assert.equal(r.code, 0, r.stderr);
    const desc = JSON.parse((await cli(['topics', 'describe', 'cli-topics', '--json', ...bs])).stdout);
    assert.equal(desc[0].partitions.length, 4);
    assert.deepEqual(desc[0].configs, { 'retention.ms': '3600000', 'segment.bytes': '1048576' });
    r = await cli(['topics', 'delete', 'cli-topics', ...bs]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!(await cli(['topics', 'list', ...bs])).stdout.split('\n').includes('cli-topics'));
    assertOneLineError(await cli(['topics', 'delete', 'cli-topics', ...bs]), 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.equal((await cli(['topics', 'delete', 'cli-topics', '--if-exists', ...bs])).code, 0);
  });

  test('produce lines with keys and headers from stdin, consume them back as JSON', async () => {
    assert.equal((await cli(['topics', 'create', 'cli-pc', '--partitions', '3', ...bs])).code, 0);
    const lines = Array.from({ length: 30 }, (_, i) => `key-${i}|value ${i} with | bar`);
    const p = await cli(
      ['produce', 'cli-pc', '--key-separator', '|', '--header', 'app=cli', '--header', 'n=1', '--compression', 'zstd', '--acks', '1', ...bs],
      lines.join('\n') + '\n',
    );
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stderr, '', 'no progress output when stderr is not a TTY');
    const c = await cli(['consume', 'cli-pc', '--from-beginning', '--format', 'json', ...bs]);
    assert.equal(c.code, 0, c.stderr);
    const got = c.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(got.length, 30);
    for (const rec of got) {
      assert.deepEqual(Object.keys(rec).sort(), ['headers', 'key', 'offset', 'partition', 'timestamp', 'topic', 'value']);
      const i = Number(rec.key.slice(4));
      assert.equal(rec.value, `value ${i} with | bar`);
      assert.deepEqual(rec.headers, [
        { key: 'app', value: 'cli' },
        { key: 'n', value: '1' },
      ]);
      assert.ok(Math.abs(rec.timestamp - Date.now()) < 120_000);
    }
    assert.deepEqual(got.map((r) => r.key).sort(), lines.map((l) => l.split('|')[0]).sort());
    // Same key, same partition: produce one more record for key-0 and find it beside the first.
    const first = got.find((r) => r.key === 'key-0');
    assert.equal((await cli(['produce', 'cli-pc', '--key-separator', '|', '--idempotent', ...bs], 'key-0|again\n')).code, 0);
    assertOneLineError(await cli(['produce', 'cli-pc', '--idempotent', '--acks', '1', ...bs], 'x\n'), 'INVALID_REQUIRED_ACKS');
    const again = (await cli(['consume', 'cli-pc', '--partition', String(first.partition), '--format', 'json', ...bs])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(again.some((r) => r.key === 'key-0' && r.value === 'again'));

    const limited = await cli(['consume', 'cli-pc', '--max-messages', '5', '--format', 'json', ...bs]);
    assert.equal(limited.stdout.trim().split('\n').length, 5);
    const text = await cli(['consume', 'cli-pc', '--partition', String(first.partition), '--offset', '0', '--max-messages', '1', '--print-key', ...bs]);
    assert.match(text.stdout, /^key-\d+\tvalue \d+ with \| bar\n$/);
    // A line without the key separator is refused with one line.
    assertOneLineError(await cli(['produce', 'cli-pc', '--key-separator', '|', ...bs], 'no separator here\n'), 'INVALID_RECORD');
  });

  test('produce from a file to one partition; consume by timestamp; follow until --max-messages', async (t) => {
    assert.equal((await cli(['topics', 'create', 'cli-ts', '--partitions', '2', ...bs])).code, 0);
    const dir = tempDir();
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'early.txt'), 'e1\ne2\n');
    assert.equal((await cli(['produce', 'cli-ts', '--file', join(dir, 'early.txt'), '--partition', '1', ...bs])).code, 0);
    // Timestamps are milliseconds: the cut is a millisecond after the early records, before the late ones.
    const produced = Date.now();
    const cut = await waitUntil(() => (Date.now() > produced ? Date.now() : 0), { interval: 1 });
    await waitUntil(() => Date.now() > cut, { interval: 1 });
    assert.equal((await cli(['produce', 'cli-ts', '--partition', '1', ...bs], 'l1\nl2\nl3\n')).code, 0);
    const byTime = await cli(['consume', 'cli-ts', '--timestamp', String(cut), '--format', 'json', ...bs]);
    assert.equal(byTime.code, 0, byTime.stderr);
    const got = byTime.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      got.map((r) => [r.partition, r.offset, r.value]),
      [
        [1, 2, 'l1'],
        [1, 3, 'l2'],
        [1, 4, 'l3'],
      ],
    );
    const iso = await cli(['consume', 'cli-ts', '--timestamp', new Date(cut).toISOString(), ...bs]);
    assert.equal(iso.stdout, 'l1\nl2\nl3\n');

    // Partition 0 is empty: from offset 0 the consumer waits at the log end, however late it starts.
    const follow = cli(['consume', 'cli-ts', '--partition', '0', '--offset', '0', '--follow', '--max-messages', '2', ...bs], undefined, 60_000);
    await waitUntil(() => broker.parkedFetches('cli-ts', 0) > 0, { timeout: 30_000, message: 'the CLI consumer to wait at the log end' });
    assert.equal((await cli(['produce', 'cli-ts', '--partition', '0', ...bs], 'f1\nf2\nf3\n')).code, 0);
    const f = await follow;
    assert.equal(f.code, 0, f.stderr);
    assert.equal(f.stdout, 'f1\nf2\n');
  });

  test('configs alter then describe; an invalid value is one INVALID_CONFIG line', async () => {
    assert.equal((await cli(['topics', 'create', 'cli-cfg', ...bs])).code, 0);
    let r = await cli(['configs', 'alter', '--topic', 'cli-cfg', '--add-config', 'retention.ms=60000,cleanup.policy=compact', ...bs]);
    assert.equal(r.code, 0, r.stderr);
    r = await cli(['configs', 'describe', '--topic', 'cli-cfg', ...bs]);
    assert.match(r.stdout, /retention\.ms=60000 +# DYNAMIC_TOPIC_CONFIG/);
    assert.match(r.stdout, /cleanup\.policy=compact/);
    r = await cli(['configs', 'alter', '--topic', 'cli-cfg', '--delete-config', 'cleanup.policy', ...bs]);
    assert.equal(r.code, 0, r.stderr);
    const all = JSON.parse((await cli(['configs', 'describe', '--topic', 'cli-cfg', '--all', '--json', ...bs])).stdout) as Array<{
      name: string;
      value: string;
      source: string;
    }>;
    assert.equal(all.find((c) => c.name === 'cleanup.policy')!.source, 'DEFAULT_CONFIG');
    assert.equal(all.find((c) => c.name === 'retention.ms')!.value, '60000');
    assertOneLineError(await cli(['configs', 'alter', '--topic', 'cli-cfg', '--add-config', 'retention.ms=soon', ...bs]), 'INVALID_CONFIG');
    assertOneLineError(await cli(['configs', 'describe', '--topic', 'cli-missing', ...bs]), 'UNKNOWN_TOPIC_OR_PARTITION');
  });

  test('errors: unknown topic, unreachable broker, bad arguments — one line, non-zero exit, bounded time', async () => {
    const r = await cli(['consume', 'no-such-topic', ...bs]);
    assertOneLineError(r, 'UNKNOWN_TOPIC_OR_PARTITION');
    assert.match(r.stderr, /no-such-topic/);
    const server = createServer();
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((res) => server.close(() => res()));
    for (const args of [
      ['topics', 'list'],
      ['consume', 'x'],
      ['produce', 'x'],
    ]) {
      const u = await cli([...args, '--bootstrap-server', `127.0.0.1:${port}`, '--timeout', '5000'], 'v\n', 30_000);
      assertOneLineError(u, 'NETWORK_EXCEPTION');
      assert.match(u.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
    }
    assertOneLineError(await cli(['consume', 'x', '--max-messages', 'many', ...bs]), 'INVALID_REQUEST');
    assertOneLineError(await cli(['topics', 'list', '--bootstrap-server', 'nohostport']), 'INVALID_CONFIG');
  });

  test('groups list, describe with lag after a kafkajs consumer commits, reset-offsets, delete', async (t) => {
    const conn = await Connection.connect({ host: '127.0.0.1', port: broker.port });
    const missing = [
      ApiKey.FindCoordinator,
      ApiKey.JoinGroup,
      ApiKey.SyncGroup,
      ApiKey.ListGroups,
      ApiKey.DescribeGroups,
      ApiKey.OffsetFetch,
      ApiKey.OffsetCommit,
      ApiKey.DeleteGroups,
    ].filter((k) => !conn.supports(k));
    conn.close();
    if (missing.length > 0) {
      t.skip(`broker does not advertise group APIs yet (missing keys ${missing.join(', ')})`);
      return;
    }
    assert.equal((await cli(['topics', 'create', 'cli-grp', '--partitions', '2', ...bs])).code, 0);
    await cli(['produce', 'cli-grp', '--partition', '0', ...bs], Array.from({ length: 6 }, (_, i) => `m${i}`).join('\n') + '\n');
    await cli(['produce', 'cli-grp', '--partition', '1', ...bs], 'x\ny\n');
    const kafka = new Kafka({ clientId: 'cli-grp-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: 'cli-g', sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'cli-grp', fromBeginning: true });
    let n = 0;
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            // Commit 2 on partition 0 (lag 4) and 2 on partition 1 (lag 0).
            if (Number(message.offset) === 1) await consumer.commitOffsets([{ topic: 'cli-grp', partition, offset: '2' }]);
            if (++n === 8) resolve();
          },
        })
        .catch(reject);
    });
    try {
      const list = await cli(['groups', 'list', ...bs]);
      assert.ok(list.stdout.split('\n').includes('cli-g'));
      const d = await cli(['groups', 'describe', 'cli-g', ...bs]);
      assert.equal(d.code, 0, d.stderr);
      assert.match(d.stdout, /GROUP +TOPIC +PARTITION +CURRENT-OFFSET +LOG-END-OFFSET +LAG +CONSUMER-ID +HOST +CLIENT-ID/);
      assert.match(d.stdout, /cli-g +cli-grp +0 +2 +6 +4 +\S+ +\S+ +cli-grp-test/);
      assert.match(d.stdout, /cli-g +cli-grp +1 +2 +2 +0 +\S+/);
    } finally {
      await consumer.disconnect();
    }
    let r = await cli(['groups', 'reset-offsets', 'cli-g', '--topic', 'cli-grp', '--to-earliest', ...bs]);
    assert.match(r.stdout, /cli-g +cli-grp +0 +0/);
    let j = JSON.parse((await cli(['groups', 'describe', 'cli-g', '--json', ...bs])).stdout);
    assert.deepEqual(
      j[0].partitions.map((p: { currentOffset: number }) => p.currentOffset),
      [2, 2],
      'a dry run commits nothing',
    );
    r = await cli(['groups', 'reset-offsets', 'cli-g', '--topic', 'cli-grp', '--partition', '0', '--shift-by', '-1', '--execute', ...bs]);
    assert.equal(r.code, 0, r.stderr);
    j = JSON.parse((await cli(['groups', 'describe', 'cli-g', '--json', ...bs])).stdout);
    assert.deepEqual(
      j[0].partitions.map((p: { currentOffset: number; lag: number }) => [p.currentOffset, p.lag]),
      [
        [1, 5],
        [2, 0],
      ],
    );
    // consume --group joins the group, starts at its committed offsets and commits where it stopped.
    assertOneLineError(await cli(['consume', 'cli-grp', '--group', 'cli-g', '--partition', '0', ...bs]), 'INVALID_REQUEST');
    r = await cli(['consume', 'cli-grp', '--group', 'cli-g', ...bs]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'm1\nm2\nm3\nm4\nm5\n');
    j = JSON.parse((await cli(['groups', 'describe', 'cli-g', '--json', ...bs])).stdout);
    assert.deepEqual(
      j[0].partitions.map((p: { lag: number }) => p.lag),
      [0, 0],
    );
    r = await cli(['groups', 'delete', 'cli-g', ...bs]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!(await cli(['groups', 'list', ...bs])).stdout.split('\n').includes('cli-g'));
  });

  test("groups list: consumer groups as Kafka's admin lists them (protocol type consumer or none); --all adds the rest", async (t) => {
    const c = await RawClient.connect(broker.port);
    t.after(() => c.close());
    await createTopic(c, 'cli-kinds');
    // A group known only by the offsets committed for it: classic, Empty, no protocol type.
    const commit = await c.request(ApiKey.OffsetCommit, 8, {
      groupId: 'cli-offsets-only',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [{ name: 'cli-kinds', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: '' }] }],
    });
    assert.equal(commit.body.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    // A Connect workers' group: classic, protocol type connect.
    const join = await c.request(ApiKey.JoinGroup, 3, {
      groupId: 'cli-connect',
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 30_000,
      memberId: '',
      protocolType: 'connect',
      protocols: [{ name: 'sessioned', metadata: Buffer.from('worker') }],
    });
    assert.equal(join.body.errorCode, ErrorCode.NONE);
    const listed = await cli(['groups', 'list', ...bs]);
    assert.equal(listed.code, 0, listed.stderr);
    const names = listed.stdout.split('\n');
    assert.ok(names.includes('cli-offsets-only'), listed.stdout);
    assert.ok(!names.includes('cli-connect'), 'kafka-consumer-groups --list leaves a connect group out');
    const all = await cli(['groups', 'list', '--all', '--state', ...bs]);
    assert.match(all.stdout, /^cli-connect\s+\S+\s+connect\s+classic$/m, all.stdout);
    assert.match(all.stdout, /^cli-offsets-only\s+Empty\s+-\s+classic$/m);
  });

  test('kcat reads what the CLI produced, and the CLI reads what kcat produced', async (t) => {
    if (spawnSync('kcat', ['-V']).status !== 0) {
      t.skip('kcat is not installed');
      return;
    }
    assert.equal((await cli(['topics', 'create', 'cli-kcat', '--partitions', '1', ...bs])).code, 0);
    const p = await cli(['produce', 'cli-kcat', '--key-separator', ':', '--header', 'h=1', '--compression', 'lz4', ...bs], 'k1:v1\nk2:v2\n');
    assert.equal(p.code, 0, p.stderr);
    const k = await run('kcat', ['-b', broker.bootstrap, '-C', '-t', 'cli-kcat', '-o', 'beginning', '-e', '-f', '%o %k %s %h\n']);
    assert.equal(k.code, 0, k.stderr);
    assert.equal(k.stdout, '0 k1 v1 h=1\n1 k2 v2 h=1\n');
    const kp = await run('kcat', ['-b', broker.bootstrap, '-P', '-t', 'cli-kcat', '-K', ':', '-z', 'snappy', '-H', 'from=kcat'], 'k3:v3\nk4:v4\n');
    assert.equal(kp.code, 0, kp.stderr);
    const c = await cli(['consume', 'cli-kcat', '--offset', '2', '--format', 'json', ...bs]);
    const got = c.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      got.map((r) => [r.offset, r.key, r.value, r.headers]),
      [
        [2, 'k3', 'v3', [{ key: 'from', value: 'kcat' }]],
        [3, 'k4', 'v4', [{ key: 'from', value: 'kcat' }]],
      ],
    );
  });
});
