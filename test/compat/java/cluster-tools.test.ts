// Kafka's own kafka-reassign-partitions and kafka-leader-election (kafka-tools 4.4, in one JVM)
// against a 3-broker Tributary cluster on etcd: a reassignment with --throttle that moves data
// and clears its throttles on --verify, and a preferred election after a failover.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import type { EtcdProcess } from '../../../src/cluster/etcd-process.js';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { etcdMissing, waitFor, withEtcd } from '../../helpers/etcd.js';
import { javaSetup, Tools, type ToolResult } from './harness.js';

const { Kafka, logLevel } = kafkajs;
const setup = etcdMissing ? etcdMissing : javaSetup();
const skip = typeof setup === 'string' ? setup : false;

const REASSIGN = 'org.apache.kafka.tools.reassign.ReassignPartitionsCommand';
const ELECTION = 'org.apache.kafka.tools.LeaderElectionCommand';
const TOPICS = 'org.apache.kafka.tools.TopicCommand';

function ok(r: ToolResult, what: string): string {
  assert.equal(r.exit, 0, `${what} exited ${r.exit}\nstdout:\n${r.out}\nstderr:\n${r.err.slice(-3000)}`);
  return r.out;
}

describe('Kafka reassignment and leader election tools on a cluster', { skip }, () => {
  let etcd: EtcdProcess;
  const brokers = new Map<number, BrokerProcess>();
  let tools: Tools;
  let tmp: string;
  const bootstrap = () =>
    [...brokers.values()]
      .filter((b) => b.child.exitCode === null && b.child.signalCode === null)
      .map((b) => b.bootstrap)
      .join(',');
  const run = (main: string, args: string[]) => tools.run(main, ['--bootstrap-server', bootstrap(), ...args]);

  async function startNode(nodeId: number, dataDir?: string): Promise<void> {
    brokers.set(
      nodeId,
      await startBrokerProcess({
        dataDir,
        overrides: {
          'node.id': String(nodeId),
          'etcd.endpoints': etcd.endpoint,
          'etcd.prefix': '/kafka-tools-cluster',
          'broker.session.timeout.ms': '3000',
          'replica.lag.time.max.ms': '4000',
          'auto.leader.rebalance.enable': 'false',
        },
      }),
    );
  }

  /** kafka-topics --describe's partition lines: partition → { leader, replicas, isr }. */
  async function describe(topic: string): Promise<Map<number, { leader: number; replicas: string; isr: string }>> {
    const out = ok(await run(TOPICS, ['--describe', '--topic', topic]), 'describe');
    const parts = new Map<number, { leader: number; replicas: string; isr: string }>();
    for (const m of out.matchAll(/Partition: (\d+)\tLeader: (-?\d+)\tReplicas: ([\d,]*)\tIsr: ([\d,]*)/g)) {
      parts.set(Number(m[1]), { leader: Number(m[2]), replicas: m[3]!, isr: m[4]!.split(',').sort().join(',') });
    }
    return parts;
  }

  before(async () => {
    if (typeof setup === 'string') return;
    etcd = await withEtcd();
    for (const id of [1, 2, 3]) await startNode(id);
    tmp = mkdtempSync(join(tmpdir(), 'tributary-kafka-tools-'));
    tools = await Tools.start(setup);
  });
  after(async () => {
    await tools?.close();
    for (const b of brokers.values()) {
      await b.kill();
      b.cleanup();
    }
    await etcd?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('kafka-reassign-partitions --execute --throttle, then --verify', async () => {
    ok(await run(TOPICS, ['--create', '--topic', 'tools-move', '--replica-assignment', '1:2']), 'create');
    await waitFor('both replicas in sync', async () => (await describe('tools-move')).get(0)?.isr === '1,2');
    const producer = new Kafka({ brokers: bootstrap().split(','), logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    for (let i = 0; i < 20; i++) await producer.send({ topic: 'tools-move', acks: -1, messages: Array.from({ length: 20 }, (_, j) => ({ value: `t${i}-${j}` })) });
    await producer.disconnect();

    const file = join(tmp, 'move.json');
    writeFileSync(file, JSON.stringify({ version: 1, partitions: [{ topic: 'tools-move', partition: 0, replicas: [2, 3], log_dirs: ['any', 'any'] }] }));
    const exec = ok(await run(REASSIGN, ['--reassignment-json-file', file, '--execute', '--throttle', '10000000']), 'execute');
    assert.match(exec, /Current partition replica assignment/);
    assert.match(exec, /"replicas":\[1,2\]/);
    assert.match(exec, /Successfully started partition reassignment/);
    await waitFor(
      'the reassignment completed',
      async () => {
        const out = ok(await run(REASSIGN, ['--reassignment-json-file', file, '--verify']), 'verify');
        return /Reassignment of partition tools-move-0 is completed\./.test(out);
      },
      30_000,
    );
    const p = (await describe('tools-move')).get(0)!;
    assert.equal(p.replicas, '2,3');
    assert.equal(p.isr, '2,3');
    await waitFor('broker 1 deleted its replica', () => !existsSync(join(brokers.get(1)!.dataDir, 'tools-move-0')));
  });

  test('kafka-leader-election --election-type preferred after a failover', async () => {
    ok(await run(TOPICS, ['--create', '--topic', 'tools-elect', '--replica-assignment', '1:2:3']), 'create');
    await waitFor('broker 1 leads, all in sync', async () => {
      const p = (await describe('tools-elect')).get(0);
      return p?.leader === 1 && p.isr === '1,2,3';
    });
    const one = brokers.get(1)!;
    await one.kill();
    await waitFor('another broker leads', async () => ((await describe('tools-elect')).get(0)?.leader ?? 1) > 1, 15_000);
    await startNode(1, one.dataDir);
    await waitFor('broker 1 in sync again', async () => (await describe('tools-elect')).get(0)?.isr === '1,2,3', 30_000);
    const out = ok(await run(ELECTION, ['--election-type', 'preferred', '--topic', 'tools-elect', '--partition', '0']), 'election');
    assert.match(out, /Successfully completed leader election \(PREFERRED\) for partitions tools-elect-0/);
    assert.equal((await describe('tools-elect')).get(0)!.leader, 1);
    const again = ok(await run(ELECTION, ['--election-type', 'preferred', '--all-topic-partitions']), 'election');
    assert.doesNotMatch(again, /tools-elect-0/);
  });
});
