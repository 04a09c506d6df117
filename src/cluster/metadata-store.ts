import { promises as fs } from 'node:fs';
import { newClusterId } from '../common/cluster-id.js';
import { join } from 'node:path';
import { writeFileAtomic } from '../common/atomic-file.js';
import type {
  BrokerConfigScope,
  BrokerRegistration,
  MetadataChange,
  MetadataStore,
  PartitionState,
  StoredAcl,
  StoredQuota,
  StoredScramCredential,
  StoredFeatures,
  StoredDelegationToken,
  TopicRecord,
} from './metadata-port.js';

export type { EntityPart, StoredQuota, TopicRecord } from './metadata-port.js';

interface MetadataFile {
  version: 1;
  clusterId: string;
  nodeId: number;
  /** Producer ids below this were handed out (or reserved) before; never reuse them. */
  nextProducerIdBlock: number;
  topics: TopicRecord[];
  /** This broker's configs changed at runtime (AlterConfigs on the BROKER resource named by its id). */
  dynamicBrokerConfigs?: Record<string, string>;
  /** Cluster-wide dynamic broker defaults (AlterConfigs on the BROKER resource named ''). */
  dynamicDefaultBrokerConfigs?: Record<string, string>;
  /** Client quotas (AlterClientQuotas): entity → values. */
  clientQuotas?: StoredQuota[];
  /** ACLs (CreateAcls) and SCRAM credentials (AlterUserScramCredentials). */
  acls?: StoredAcl[];
  /** KIP-714 client-metrics subscriptions: resource name → configs. */
  clientMetrics?: Record<string, Record<string, string>>;
  /** Group configs (GROUP config resources): group id → configs. */
  groupConfigs?: Record<string, Record<string, string>>;
  scramCredentials?: StoredScramCredential[];
  delegationTokens?: StoredDelegationToken[];
  /** Finalized features (UpdateFeatures). */
  features?: StoredFeatures;
}

const FILE = 'tributary-metadata.json';
const PRODUCER_ID_BLOCK = 1000;

/**
 * Single-node cluster metadata (topics, ids, configs, producer id blocks), persisted atomically
 * in the log dir. Cluster mode uses EtcdMetadataStore behind the same port.
 */
export class LocalMetadataStore implements MetadataStore {
  readonly clustered = false;
  private self: BrokerRegistration | null = null;
  private readonly listeners = new Set<(change: MetadataChange) => void>();
  private writeChain: Promise<void> = Promise.resolve();
  private readonly byName = new Map<string, TopicRecord>();
  private readonly byId = new Map<string, TopicRecord>();
  private producerIdNext = 0;
  private producerIdLimit = 0;
  private blockReserved: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private state: MetadataFile,
  ) {
    for (const t of state.topics) this.index(t);
    this.producerIdNext = state.nextProducerIdBlock;
    this.producerIdLimit = state.nextProducerIdBlock;
  }

  /** Memory-only metadata, for embedded brokers that keep nothing on disk. */
  static inMemory(nodeId: number, clusterId?: string): LocalMetadataStore {
    return new LocalMetadataStore('', { version: 1, clusterId: clusterId ?? newClusterId(), nodeId, nextProducerIdBlock: 0, topics: [] });
  }

  static async open(dir: string, nodeId: number, clusterId?: string | null): Promise<LocalMetadataStore> {
    await fs.mkdir(dir, { recursive: true });
    const path = join(dir, FILE);
    let state: MetadataFile;
    try {
      state = JSON.parse(await fs.readFile(path, 'utf8')) as MetadataFile;
      if (clusterId && state.clusterId !== clusterId) {
        throw new Error(`The cluster id ${clusterId} does not match the stored cluster id ${state.clusterId} in ${dir}`);
      }
      if (state.nodeId !== nodeId) {
        throw new Error(`The node id ${nodeId} does not match the stored node id ${state.nodeId} in ${dir}`);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      state = { version: 1, clusterId: clusterId ?? newClusterId(), nodeId, nextProducerIdBlock: 0, topics: [] };
      await writeFileAtomic(path, JSON.stringify(state, null, 2));
    }
    return new LocalMetadataStore(path, state);
  }

  get clusterId(): string {
    return this.state.clusterId;
  }

  topic(name: string): TopicRecord | undefined {
    return this.byName.get(name);
  }

  topicById(id: string): TopicRecord | undefined {
    return this.byId.get(id);
  }

  topics(): TopicRecord[] {
    return [...this.byName.values()];
  }

  async createTopic(t: TopicRecord): Promise<void> {
    this.index(t);
    await this.persist();
  }

  async deleteTopic(name: string): Promise<void> {
    const t = this.byName.get(name);
    if (!t) return;
    this.byName.delete(name);
    this.byId.delete(t.id);
    await this.persist();
  }

  async setTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const t = this.byName.get(name);
    if (!t) return;
    t.configs = configs;
    await this.persist();
  }

  async setPartitionCount(name: string, partitions: number, added?: PartitionState[]): Promise<void> {
    const t = this.byName.get(name);
    if (!t) return;
    if (t.assignments && added && t.assignments.length + added.length === partitions) t.assignments = [...t.assignments, ...added];
    else delete t.assignments; // the single-node default applies to every partition
    t.partitions = partitions;
    await this.persist();
  }

  /** The one broker of a single-node cluster: itself. */
  register(self: BrokerRegistration): void {
    this.self = self;
  }

  liveBrokers(): BrokerRegistration[] {
    return this.self ? [this.self] : [];
  }

  controllerId(): number {
    return this.state.nodeId;
  }

  onChange(listener: (change: MetadataChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    await this.writeChain;
  }

  dynamicBrokerConfigs(scope: BrokerConfigScope): Record<string, string> {
    return { ...((scope === 'default' ? this.state.dynamicDefaultBrokerConfigs : this.state.dynamicBrokerConfigs) ?? {}) };
  }

  /** A single node keeps its own configs and the defaults (another node's id never comes here). */
  async setDynamicBrokerConfigs(scope: BrokerConfigScope, configs: Record<string, string>): Promise<void> {
    if (scope === 'default') this.state.dynamicDefaultBrokerConfigs = { ...configs };
    else this.state.dynamicBrokerConfigs = { ...configs };
    await this.persist();
  }

  clientQuotas(): StoredQuota[] {
    return (this.state.clientQuotas ?? []).map((q) => ({ entity: q.entity.map((p) => ({ ...p })), values: { ...q.values } }));
  }

  async setClientQuotas(quotas: StoredQuota[]): Promise<void> {
    this.state.clientQuotas = quotas.map((q) => ({ entity: q.entity.map((p) => ({ ...p })), values: { ...q.values } }));
    await this.persist();
  }

  clientMetrics(): Record<string, Record<string, string>> {
    return structuredClone(this.state.clientMetrics ?? {});
  }

  async setClientMetrics(resources: Record<string, Record<string, string>>): Promise<void> {
    this.state.clientMetrics = structuredClone(resources);
    await this.persist();
  }

  groupConfigs(): Record<string, Record<string, string>> {
    return structuredClone(this.state.groupConfigs ?? {});
  }

  async setGroupConfigs(groups: Record<string, Record<string, string>>): Promise<void> {
    this.state.groupConfigs = structuredClone(groups);
    await this.persist();
  }

  acls(): StoredAcl[] {
    return (this.state.acls ?? []).map((a) => ({ ...a }));
  }

  async setAcls(acls: StoredAcl[]): Promise<void> {
    this.state.acls = acls.map((a) => ({ ...a }));
    await this.persist();
  }

  scramCredentials(): StoredScramCredential[] {
    return (this.state.scramCredentials ?? []).map((c) => ({ ...c }));
  }

  async setScramCredentials(credentials: StoredScramCredential[]): Promise<void> {
    this.state.scramCredentials = credentials.map((c) => ({ ...c }));
    await this.persist();
  }

  finalizedFeatures(): StoredFeatures | undefined {
    return this.state.features ? structuredClone(this.state.features) : undefined;
  }

  async setFinalizedFeatures(features: StoredFeatures): Promise<void> {
    this.state.features = structuredClone(features);
    await this.persist();
  }

  delegationTokens(): StoredDelegationToken[] {
    return structuredClone(this.state.delegationTokens ?? []);
  }

  async putDelegationToken(token: StoredDelegationToken): Promise<void> {
    this.state.delegationTokens = [...(this.state.delegationTokens ?? []).filter((t) => t.tokenId !== token.tokenId), structuredClone(token)];
    await this.persist();
  }

  async deleteDelegationToken(tokenId: string): Promise<void> {
    this.state.delegationTokens = (this.state.delegationTokens ?? []).filter((t) => t.tokenId !== tokenId);
    await this.persist();
  }

  /** Hands out a producer id; a block is reserved durably first so a restart never reuses one. */
  async nextProducerId(): Promise<number> {
    if (this.producerIdNext >= this.producerIdLimit) {
      const start = this.state.nextProducerIdBlock;
      this.state.nextProducerIdBlock = start + PRODUCER_ID_BLOCK;
      this.producerIdNext = start;
      this.producerIdLimit = start + PRODUCER_ID_BLOCK;
      this.blockReserved = this.persist();
    }
    const id = this.producerIdNext++;
    await this.blockReserved;
    return id;
  }

  private index(t: TopicRecord): void {
    this.byName.set(t.name, t);
    this.byId.set(t.id, t);
  }

  private persist(): Promise<void> {
    this.state.topics = [...this.byName.values()];
    if (this.path === '') return Promise.resolve();
    const snapshot = JSON.stringify(this.state, null, 2);
    const write = this.writeChain.then(() => writeFileAtomic(this.path, snapshot));
    this.writeChain = write.catch(() => undefined);
    return write;
  }
}
