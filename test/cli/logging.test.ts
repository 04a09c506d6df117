// The broker's logs (`tributary broker`): human-readable lines on a terminal (run under a pseudo
// terminal with util-linux's `script`), JSON lines otherwise, and `log.level` changed at run time
// with IncrementalAlterConfigs on the broker, as Kafka's dynamic broker configs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { Connection } from '../../src/client/connection.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { startBrokerProcess, tempDir, type BrokerProcess } from '../helpers/broker-process.js';
import { compiled, repoRoot } from '../helpers/dist.js';
import { waitUntil } from '../helpers/wait.js';
import { rmSync } from 'node:fs';

const haveScript = spawnSync('script', ['--version']).status === 0;
const BROKER_RESOURCE = 4;

describe('broker logs', () => {
  test('a terminal gets human-readable lines', { skip: haveScript ? false : 'no `script` (util-linux) to make a pseudo terminal' }, async () => {
    const dir = tempDir();
    const cmd = [
      process.execPath,
      compiled('cli/tributary.js'),
      'broker',
      '--override',
      'listeners=PLAINTEXT://127.0.0.1:0',
      '--override',
      `log.dirs=${dir}`,
      '--override',
      'http.listeners=',
    ]
      .map((a) => `'${a}'`)
      .join(' ');
    // script runs the command on a new pseudo terminal and copies what it prints to our pipe.
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    const plain = () => out.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
    try {
      await waitUntil(() => /broker started/.test(plain()), { timeout: 20_000, message: () => `broker started on the terminal; got:\n${plain()}` });
      const line = plain()
        .split(/\r?\n/)
        .find((l) => l.includes('broker started'))!;
      assert.match(line, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO: broker started \{"nodeId":1,/);
      assert.ok(!plain().includes('"level":30'), 'no JSON lines on a terminal');
      assert.match(out, /\x1b\[32mINFO/, 'coloured level'); // eslint-disable-line no-control-regex
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('not a terminal', () => {
    let broker: BrokerProcess;
    let conn: Connection;
    before(async () => {
      broker = await startBrokerProcess();
      conn = await Connection.connect({ host: '127.0.0.1', port: broker.port, clientId: 'log-level' });
    });
    after(async () => {
      conn?.close();
      await broker?.stop();
      broker?.cleanup();
    });

    const setLevel = async (level: string | null) => {
      const r = await conn.request<{ responses: { errorCode: number; errorMessage: string | null }[] }>(ApiKey.IncrementalAlterConfigs, {
        resources: [{ resourceType: BROKER_RESOURCE, resourceName: '1', configs: [{ name: 'log.level', configOperation: level === null ? 1 : 0, value: level }] }],
        validateOnly: false,
      });
      return r.responses[0]!;
    };
    const createTopic = async (name: string) => {
      const r = await conn.request<{ topics: { errorCode: number }[] }>(ApiKey.CreateTopics, {
        topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 10_000,
        validateOnly: false,
      });
      assert.equal(r.topics[0]!.errorCode, ErrorCode.NONE);
      // Its partition's log is loaded (a debug line) before this info line: stdout keeps the order.
      await waitUntil(() => broker.logs.some((l) => l.msg === 'topic created' && l.topic === name), { message: `topic ${name} created in the log` });
    };
    const debugLinesFor = (topic: string) => broker.logs.filter((l) => l.level === 20 && l.topic === topic);

    test('JSON lines, and log.level is dynamic', async () => {
      // Every line the broker printed so far parsed as JSON (the helper keeps those only).
      assert.ok(broker.logs.some((l) => l.msg === 'broker started' && l.level === 30));
      await createTopic('quiet');
      // Its "partition log loaded" debug line is not printed at info.
      assert.deepEqual(debugLinesFor('quiet'), []);

      assert.equal((await setLevel('verbose')).errorCode, ErrorCode.INVALID_CONFIG, 'not a level');
      assert.equal((await setLevel('debug')).errorCode, ErrorCode.NONE);
      await waitUntil(() => broker.logs.some((l) => l.msg === 'log.level changed' && l.to === 'debug'), { message: 'the change logged' });
      await createTopic('loud');
      assert.ok(
        debugLinesFor('loud').some((l) => l.msg === 'partition log loaded'),
        'a debug line of the new partition',
      );

      // DescribeConfigs reports it as this broker's dynamic config.
      const d = await conn.request<{ results: { configs: { name: string; value: string | null; configSource: number; readOnly: boolean }[] }[] }>(ApiKey.DescribeConfigs, {
        resources: [{ resourceType: BROKER_RESOURCE, resourceName: '1', configurationKeys: ['log.level'] }],
        includeSynonyms: false,
        includeDocumentation: false,
      });
      const entry = d.results[0]!.configs[0]!;
      assert.deepEqual([entry.value, entry.configSource, entry.readOnly], ['debug', 2 /* DYNAMIC_BROKER_CONFIG */, false]);

      // Deleting the override goes back to the static value.
      assert.equal((await setLevel(null)).errorCode, ErrorCode.NONE);
      await waitUntil(() => broker.logs.some((l) => l.msg === 'log.level changed' && l.to === 'info'), { message: 'back to info' });
      await createTopic('quiet-again');
      assert.deepEqual(debugLinesFor('quiet-again'), []);
    });
  });
});
