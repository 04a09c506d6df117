// Broker processes on one etcd, for the cluster tests: each of those files started an etcd and its
// brokers in a before hook, restarted killed brokers on their data, and killed everything in an
// after hook, with the same code. A file now says only its etcd prefix, its node ids and the
// broker settings its tests are about.
//
//   const cluster = suiteCluster({ prefix: '/x-test', nodeIds: [1, 2, 3], config: () => ({ 'broker.session.timeout.ms': '3000' }) });
//   test('y', { skip: etcdMissing }, async () => { ... cluster.brokers.get(1)!.port ... });
import { after, before } from 'node:test';
import { startEtcdCluster, type EtcdCluster, type EtcdProcess } from '../../src/cluster/etcd-process.js';
import { startBrokerProcess, type BrokerProcess } from './broker-process.js';
import { etcdMissing, withEtcd } from './etcd.js';

export interface ClusterOptions {
  /** etcd.prefix: the cluster's key space. */
  prefix: string;
  /** The brokers started before the first test, in this order (the first becomes the controller). */
  nodeIds: number[];
  /** Broker settings beyond node.id, etcd.endpoints and etcd.prefix. */
  config: (nodeId: number) => Record<string, string>;
  /** etcd members (default 1); with more, `etcdCluster` is the etcd and the brokers list every member. */
  etcdMembers?: number;
}

export class ProcessCluster {
  /** The latest process of each node id (a restart replaces the killed one). */
  readonly brokers = new Map<number, BrokerProcess>();
  private etcdProcess: EtcdProcess | undefined;
  private etcdMembers: EtcdCluster | undefined;

  constructor(private readonly options: ClusterOptions) {}

  get etcd(): EtcdProcess {
    if (!this.etcdProcess) throw new Error('the cluster is not started (suiteCluster starts it in its before hook)');
    return this.etcdProcess;
  }

  /** The etcd cluster (etcdMembers > 1). */
  get etcdCluster(): EtcdCluster {
    if (!this.etcdMembers) throw new Error('the cluster has no multi-member etcd (etcdMembers > 1, started in the before hook)');
    return this.etcdMembers;
  }

  /** The whole broker configuration of `nodeId`: its own settings and the cluster's. */
  overrides(nodeId: number): Record<string, string> {
    return {
      'node.id': String(nodeId),
      'etcd.endpoints': this.etcdMembers ? this.etcdMembers.endpoints.join(',') : this.etcd.endpoint,
      'etcd.prefix': this.options.prefix,
      ...this.options.config(nodeId),
    };
  }

  /** Starts broker `nodeId`; with `dataDir` (a killed broker's), on that broker's data. */
  async startNode(nodeId: number, dataDir?: string): Promise<BrokerProcess> {
    const b = await startBrokerProcess({ dataDir, overrides: this.overrides(nodeId) });
    this.brokers.set(nodeId, b);
    return b;
  }

  /** The brokers whose process has not exited or been killed. */
  alive(): BrokerProcess[] {
    return [...this.brokers.values()].filter((b) => b.child.exitCode === null && b.child.signalCode === null);
  }

  async start(): Promise<void> {
    if ((this.options.etcdMembers ?? 1) > 1) this.etcdMembers = await startEtcdCluster({ members: this.options.etcdMembers });
    else this.etcdProcess = await withEtcd();
    for (const id of this.options.nodeIds) await this.startNode(id);
  }

  /** Kills every broker (a stopped one is continued first), removes their data and closes etcd. */
  async close(): Promise<void> {
    for (const b of this.brokers.values()) {
      if (b.child.exitCode === null && b.child.signalCode === null) b.child.kill('SIGCONT');
      await b.kill();
      b.cleanup();
    }
    await this.etcdProcess?.close();
    await this.etcdMembers?.close();
  }
}

/**
 * A cluster for the tests of a file: started in a before hook (not at all where etcd is missing:
 * the tests skip on `etcdMissing`), closed in an after hook.
 */
export function suiteCluster(options: ClusterOptions): ProcessCluster {
  const cluster = new ProcessCluster(options);
  before(async () => {
    if (!etcdMissing) await cluster.start();
  });
  after(() => cluster.close());
  return cluster;
}
