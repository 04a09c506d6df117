// Kafka Connect 4.4 against a Tributary broker process: connect-standalone with FileStreamSource
// -> Tributary -> FileStreamSink; connect-distributed (the "connect" group protocol and the
// compacted config/offset/status topics), restarted to show connectors and source offsets come
// back from those topics; Debezium's Postgres connector streaming a local PostgreSQL's changes
// (snapshot, inserts, an update, a delete) into Tributary, read back with the console consumer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { elapse, waitUntil } from '../../helpers/wait.js';
import { javaSetup, spawnJava, Tools, type JavaProcess, type JavaSetup } from './harness.js';

const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;
const T = 'org.apache.kafka.tools.';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function props(file: string, entries: Record<string, string | number>): string {
  writeFileSync(
    file,
    Object.entries(entries)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  return file;
}

/** The last WARN/ERROR lines of the workers, for failure messages. */
let workerLogs = (): string => '';

function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<NonNullable<T>> {
  return waitUntil(probe, { timeout: timeoutMs, interval: 250, message: () => `${what}${workerLogs()}` });
}

function fileLines(file: string): string[] {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
    : [];
}

async function rest(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, json };
}

describe('Kafka Connect', { skip }, () => {
  let broker: BrokerProcess;
  let tools: Tools;
  let tmp: string;
  const workers: JavaProcess[] = [];
  const run = (main: string, args: string[], stdin = '') => tools.runOk(broker.bootstrap, main, args, stdin);
  const worker = (s: JavaSetup, main: string, args: string[], extraCp = '') => {
    const w = spawnJava(`${s.cp.connect}${extraCp}`, main, args, { jvmOpts: ['-Xmx384m'] });
    workers.push(w);
    return w;
  };
  workerLogs = () => workers.map((w, i) => `\nworker ${i} log tail:\n${w.stderr().slice(-2500)}`).join('');
  const stopWorker = async (w: JavaProcess) => {
    await w.stop(20_000);
  };

  before(async () => {
    if (typeof setup === 'string') return;
    broker = await startBrokerProcess({ overrides: { 'group.initial.rebalance.delay.ms': '0' } });
    tmp = mkdtempSync(join(tmpdir(), 'tributary-connect-'));
    tools = await Tools.start(setup);
  });
  after(async () => {
    for (const w of workers) await w.kill();
    await tools?.close();
    await broker?.stop();
    broker?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('connect-standalone: FileStreamSource -> Tributary -> FileStreamSink', async () => {
    const s = setup as JavaSetup;
    const dir = join(tmp, 'standalone');
    mkdirSync(dir);
    const input = join(dir, 'in.txt');
    const output = join(dir, 'out.txt');
    const lines = Array.from({ length: 200 }, (_, i) => `standalone line ${i}`);
    writeFileSync(input, `${lines.slice(0, 100).join('\n')}\n`);
    const workerProps = props(join(dir, 'worker.properties'), {
      'bootstrap.servers': broker.bootstrap,
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'offset.storage.file.filename': join(dir, 'offsets'),
      'offset.flush.interval.ms': 500,
      listeners: `http://127.0.0.1:${await freePort()}`,
    });
    const source = props(join(dir, 'source.properties'), {
      name: 'file-source',
      'connector.class': 'FileStreamSource',
      'tasks.max': 1,
      file: input,
      topic: 'connect-standalone',
    });
    const sink = props(join(dir, 'sink.properties'), { name: 'file-sink', 'connector.class': 'FileStreamSink', 'tasks.max': 1, file: output, topics: 'connect-standalone' });
    const w = worker(s, 'org.apache.kafka.connect.cli.ConnectStandalone', [workerProps, source, sink]);
    await waitFor('the first 100 lines in the sink file', 90_000, () => (fileLines(output).length >= 100 ? true : undefined));
    appendFileSync(input, `${lines.slice(100).join('\n')}\n`);
    await waitFor('all 200 lines in the sink file', 60_000, () => (fileLines(output).length >= 200 ? true : undefined));
    // A second where nothing more may arrive: a line written twice would show up in it.
    await elapse(1000);
    assert.deepEqual(fileLines(output), lines, 'every line once, in order');
    const groups = await run(`${T}consumer.group.ConsumerGroupCommand`, ['--describe', '--group', 'connect-file-sink']);
    assert.match(groups, /connect-file-sink\s+connect-standalone\s+0\s+200\s+200\s+0/);
    await stopWorker(w);
  });

  test('connect-distributed: connect group, compacted internal topics, restart resumes', async () => {
    const s = setup as JavaSetup;
    const dir = join(tmp, 'distributed');
    mkdirSync(dir);
    const input = join(dir, 'in.txt');
    const output = join(dir, 'out.txt');
    writeFileSync(input, Array.from({ length: 50 }, (_, i) => `distributed line ${i}\n`).join(''));
    const port = await freePort();
    const workerProps = props(join(dir, 'worker.properties'), {
      'bootstrap.servers': broker.bootstrap,
      'group.id': 'compat-connect',
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'config.storage.topic': 'connect-configs',
      'offset.storage.topic': 'connect-offsets',
      'status.storage.topic': 'connect-status',
      'config.storage.replication.factor': 1,
      'offset.storage.replication.factor': 1,
      'status.storage.replication.factor': 1,
      'offset.storage.partitions': 5,
      'status.storage.partitions': 2,
      'offset.flush.interval.ms': 500,
      'scheduled.rebalance.max.delay.ms': 0,
      listeners: `http://127.0.0.1:${port}`,
    });
    const start = async () => {
      const w = worker(s, 'org.apache.kafka.connect.cli.ConnectDistributed', [workerProps]);
      await waitFor('the REST API', 90_000, async () => ((await rest(port, 'GET', '/connectors')).status === 200 ? true : undefined));
      return w;
    };
    const running = (name: string) =>
      waitFor(`${name} running`, 60_000, async () => {
        const st = (await rest(port, 'GET', `/connectors/${name}/status`)).json;
        return st?.connector?.state === 'RUNNING' && st.tasks?.length === 1 && st.tasks[0].state === 'RUNNING' ? true : undefined;
      });
    let w = await start();
    const created = await rest(port, 'POST', '/connectors', {
      name: 'dist-source',
      config: { 'connector.class': 'FileStreamSource', 'tasks.max': '1', file: input, topic: 'connect-distributed' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(
      (
        await rest(port, 'POST', '/connectors', {
          name: 'dist-sink',
          config: { 'connector.class': 'FileStreamSink', 'tasks.max': '1', file: output, topics: 'connect-distributed' },
        })
      ).status,
      201,
    );
    await running('dist-source');
    await running('dist-sink');
    await waitFor('50 lines in the sink file', 60_000, () => (fileLines(output).length >= 50 ? true : undefined));

    for (const [topic, policy] of [
      ['connect-configs', 'compact'],
      ['connect-offsets', 'compact'],
      ['connect-status', 'compact'],
    ]) {
      assert.match(await run(`${T}TopicCommand`, ['--describe', '--topic', topic!]), new RegExp(`cleanup\\.policy=${policy}`), topic);
    }
    assert.match(await run(`${T}TopicCommand`, ['--describe', '--topic', 'connect-offsets']), /PartitionCount: 5/);
    // kafka-groups lists every group with its type and protocol; kafka-consumer-groups only consumer ones.
    assert.match(await run(`${T}GroupsCommand`, ['--list']), /^compat-connect\s+Classic\s+connect\s*$/m, "the workers' group, protocol type connect");
    assert.doesNotMatch(await run(`${T}consumer.group.ConsumerGroupCommand`, ['--list']), /^compat-connect$/m);

    // A restart reads the connectors back from connect-configs and the source position from
    // connect-offsets: the new lines arrive once, the old ones are not sent again.
    await stopWorker(w);
    appendFileSync(input, Array.from({ length: 30 }, (_, i) => `distributed line ${50 + i}\n`).join(''));
    w = await start();
    // The restarted worker lists both connectors once it has read connect-configs to its end.
    try {
      await waitFor('both connectors listed after the restart', 60_000, async () => {
        const names = (await rest(port, 'GET', '/connectors')).json as string[];
        return Array.isArray(names) && names.length === 2 ? names : undefined;
      });
    } catch (err) {
      const configs = await run(`${T}consumer.ConsoleConsumer`, [
        '--topic',
        'connect-configs',
        '--from-beginning',
        '--timeout-ms',
        '2000',
        '--formatter-property',
        'print.key=true',
        '--formatter-property',
        'print.offset=true',
      ]);
      throw new Error(`${String(err)}\nconnect-configs:\n${configs}`);
    }
    assert.deepEqual(((await rest(port, 'GET', '/connectors')).json as string[]).sort(), ['dist-sink', 'dist-source']);
    await running('dist-source');
    await waitFor('80 lines in the sink file', 60_000, () => (fileLines(output).length >= 80 ? true : undefined));
    // A moment where nothing more may arrive: a line sent again after the restart would show up in it.
    await elapse(1500);
    assert.deepEqual(
      fileLines(output),
      Array.from({ length: 80 }, (_, i) => `distributed line ${i}`),
    );
    const status = await run(`${T}consumer.ConsoleConsumer`, [
      '--topic',
      'connect-status',
      '--from-beginning',
      '--timeout-ms',
      '2000',
      '--formatter-property',
      'print.key=true',
    ]);
    assert.match(status, /status-connector-dist-source/);
    assert.match(status, /status-task-dist-sink-0/);
    await stopWorker(w);
  });

  test('Debezium Postgres connector: snapshot and streamed changes', async (t) => {
    const s = setup as JavaSetup;
    // Debian's server binaries, newest version first.
    const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
    const pgBin = versions.map((v) => join('/usr/lib/postgresql', v, 'bin')).find((d) => existsSync(join(d, 'pg_ctl')));
    const pgUser = spawnSync('id', ['-u', 'postgres']).status === 0;
    if (!pgBin || !pgUser) {
      if (process.env.CI) assert.fail('PostgreSQL (Debian postgresql) is not installed: .ci/run installs it');
      t.skip('PostgreSQL (Debian postgresql) is not installed');
      return;
    }
    const dir = join(tmp, 'debezium');
    mkdirSync(dir);
    const pgData = join(dir, 'pgdata');
    mkdirSync(pgData);
    // The postgres user must reach its data dir through the (0700) temp dirs.
    for (const d of [tmp, dir]) chmodSync(d, 0o755);
    chownSync(
      pgData,
      Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim()),
      Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim()),
    );
    const pgPort = await freePort();
    const asPostgres = (cmd: string, args: string[]) => {
      const r = spawnSync('runuser', ['-u', 'postgres', '--', join(pgBin, cmd), ...args], { encoding: 'utf8', timeout: 120_000, cwd: '/' });
      assert.equal(r.status, 0, `${cmd}: ${r.stdout}${r.stderr}`);
      return r.stdout;
    };
    const psql = (sql: string, db = 'compat') => asPostgres('psql', ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-c', sql]);
    asPostgres('initdb', ['-D', pgData, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    const opts = `-c wal_level=logical -c port=${pgPort} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${pgData} -c max_wal_senders=4 -c max_replication_slots=4 -c fsync=off -c shared_buffers=16MB`;
    asPostgres('pg_ctl', ['-D', pgData, '-o', opts, '-l', join(pgData, 'log'), '-w', '-t', '60', 'start']);
    t.after(() => {
      spawnSync('runuser', ['-u', 'postgres', '--', join(pgBin, 'pg_ctl'), '-D', pgData, '-m', 'immediate', '-w', 'stop'], { timeout: 60_000, cwd: '/' });
    });
    psql('CREATE DATABASE compat', 'postgres');
    psql("CREATE TABLE orders (id integer PRIMARY KEY, item text NOT NULL, qty integer NOT NULL); INSERT INTO orders VALUES (1, 'apple', 3), (2, 'pear', 5), (3, 'plum', 7);");

    // The connector and its own dependencies on a plugin path, as a Debezium install would be.
    const plugins = join(dir, 'plugins', 'debezium-postgres');
    mkdirSync(plugins, { recursive: true });
    for (const jar of s.cp.debezium.split(':')) {
      const name = basename(jar);
      if (/^(kafka-clients|zstd-jni|lz4-java|snappy-java|slf4j-api)-/.test(name)) continue;
      symlinkSync(jar, join(plugins, name));
    }
    const workerProps = props(join(dir, 'worker.properties'), {
      'bootstrap.servers': broker.bootstrap,
      'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'key.converter.schemas.enable': 'false',
      'value.converter.schemas.enable': 'false',
      'offset.storage.file.filename': join(dir, 'offsets'),
      'offset.flush.interval.ms': 500,
      'plugin.path': join(dir, 'plugins'),
      listeners: `http://127.0.0.1:${await freePort()}`,
    });
    const connector = props(join(dir, 'postgres.properties'), {
      name: 'pg-source',
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      'tasks.max': 1,
      'database.hostname': '127.0.0.1',
      'database.port': pgPort,
      'database.user': 'postgres',
      'database.password': 'unused',
      'database.dbname': 'compat',
      'topic.prefix': 'dbz',
      'plugin.name': 'pgoutput',
      'slot.name': 'tributary_compat',
      'publication.autocreate.mode': 'filtered',
      'table.include.list': 'public.orders',
      'snapshot.mode': 'initial',
    });
    const w = worker(s, 'org.apache.kafka.connect.cli.ConnectStandalone', [workerProps, connector]);
    const read = async () => {
      const out = await run(`${T}consumer.ConsoleConsumer`, [
        '--topic',
        'dbz.public.orders',
        '--from-beginning',
        '--timeout-ms',
        '2500',
        '--formatter-property',
        'print.key=true',
        '--formatter-property',
        'key.separator=\t',
        '--formatter-property',
        'null.literal=null',
      ]);
      return out
        .split('\n')
        .filter((l) => l.includes('\t'))
        .map((l) => {
          const [k, v] = l.split('\t');
          return { key: JSON.parse(k!) as { id: number }, value: v === 'null' ? null : (JSON.parse(v!) as { op: string; before: any; after: any }) };
        });
    };
    const snapshot = await waitFor('the snapshot of 3 rows', 120_000, async () => {
      const recs = await read();
      return recs.length >= 3 ? recs : undefined;
    });
    assert.deepEqual(
      snapshot.map((r) => [r.key.id, r.value?.op, r.value?.after?.item]),
      [
        [1, 'r', 'apple'],
        [2, 'r', 'pear'],
        [3, 'r', 'plum'],
      ],
    );
    // Streaming starts once the snapshot is done: changes from now on come from the WAL.
    psql("INSERT INTO orders VALUES (4, 'fig', 1), (5, 'kiwi', 2); UPDATE orders SET qty = 30 WHERE id = 3; DELETE FROM orders WHERE id = 1;");
    const all = await waitFor('the streamed changes', 120_000, async () => {
      const recs = await read();
      return recs.length >= 8 ? recs : undefined;
    });
    const changes = all.slice(3).map((r) => [r.key.id, r.value?.op ?? 'tombstone', r.value?.after?.item ?? null, r.value?.after?.qty ?? null, r.value?.before?.id ?? null]);
    assert.deepEqual(changes, [
      [4, 'c', 'fig', 1, null],
      [5, 'c', 'kiwi', 2, null],
      [3, 'u', 'plum', 30, null],
      [1, 'd', null, null, 1],
      [1, 'tombstone', null, null, null],
    ]);
    await w.stop(20_000);
  });
});
