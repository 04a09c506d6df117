// `tributary dev-cluster --brokers 3` (issue 14's quick try): the compiled CLI starts a throwaway
// etcd and three brokers on loopback, says where they are, serves a replicated topic across them,
// and Ctrl-C (SIGINT) stops everything and exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { compiled, repoRoot } from '../helpers/dist.js';
import { etcdMissing } from '../helpers/etcd.js';
import { RawClient } from '../helpers/raw-client.js';
import { waitUntil } from '../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

/** A base port with three free ports after it (probed, so tests side by side do not collide). */
async function freeBase(): Promise<number> {
  const listen = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (let i = 0; i < 50; i++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await listen(base)) && (await listen(base + 1)) && (await listen(base + 2))) return base;
  }
  throw new Error('no free ports');
}

test('tributary dev-cluster --brokers 3 serves a replicated topic and stops on Ctrl-C', { skip: etcdMissing, timeout: 120_000 }, async () => {
  const base = await freeBase();
  const child = spawn(process.execPath, [compiled('cli/tributary.js'), 'dev-cluster', '--brokers', '3', '--base-port', String(base)], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`dev-cluster did not start; stderr: ${stderr.slice(-2000)}`)), 60_000);
      createInterface({ input: child.stdout }).on('line', (l) => {
        if (l.startsWith('dev cluster:')) {
          clearTimeout(timer);
          resolve(l);
        }
      });
      void exited.then((code) => reject(new Error(`dev-cluster exited ${code}; stderr: ${stderr.slice(-2000)}`)));
    });
    const bootstrap = `127.0.0.1:${base},127.0.0.1:${base + 1},127.0.0.1:${base + 2}`;
    assert.equal(line.split(' at ')[1]?.split(',')[0], `127.0.0.1:${base}`, line);
    const c = await RawClient.connect(base + 1);
    try {
      const md = await waitUntil(
        async () => {
          const r = await c.request(ApiKey.Metadata, 12, {
            topics: null,
            allowAutoTopicCreation: false,
            includeClusterAuthorizedOperations: false,
            includeTopicAuthorizedOperations: false,
          });
          return r.body.brokers.length === 3 && r.body.controllerId > 0 ? r.body : null;
        },
        { timeout: 20_000, message: 'three brokers and a controller' },
      );
      assert.deepEqual(md.brokers.map((b: { nodeId: number }) => b.nodeId).sort(), [1, 2, 3]);
    } finally {
      c.close();
    }
    const kafka = new Kafka({ brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 15, initialRetryTime: 100, maxRetryTime: 1000 } });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'try', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'try', acks: -1, messages: [0, 1, 2].map((partition) => ({ partition, value: `v${partition}` })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'try', maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: 'try', fromBeginning: true });
    const seen = new Set<string>();
    await consumer.run({ eachMessage: async ({ message }) => void seen.add(message.value!.toString()) });
    await waitUntil(() => seen.size === 3, { timeout: 30_000, message: 'three records read back' });
    await consumer.disconnect();
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr.slice(-2000));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
});
