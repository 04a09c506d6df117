// Cluster metadata in etcd. Every broker keeps a local view of the keys under `etcd.prefix`
// (one range read at open, then a watch from the next revision), so reads are synchronous;
// writes are etcd transactions with a guard (a key's absence, its create or mod revision, or the
// controller's campaign key) so that two brokers, or a deposed controller, can never overwrite
// each other's decisions. Key layout: ARCHITECTURE.md "Cluster metadata in etcd".
import { newClusterId } from '../common/cluster-id.js';
import { EventEmitter } from 'node:events';
import { Etcd3, EtcdLeaseInvalidError, type ComparatorBuilder, type IKeyValue, type ITxnResponse } from 'etcd3';
import { MemberBreaker } from './member-breaker.js';
import { attemptDeadline, countedAttempts, type CallOptions } from './etcd-attempts.js';
import { LeaseKeeper } from './lease-keeper.js';
import { PrefixWatch } from './etcd-watch.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import {
  DuplicateNodeIdError,
  MetadataUnavailableError,
  type BrokerRegistration,
  type MetadataChange,
  type MetadataStore,
  type PartitionState,
  type StoredAcl,
  type StoredQuota,
  type StoredScramCredential,
  type StoredFeatures,
  type StoredDelegationToken,
  type TopicRecord,
  type BrokerConfigScope,
} from './metadata-port.js';
import { systemClock } from '../common/clock.js';

const PRODUCER_ID_BLOCK = 1000;
/** etcd refuses a transaction with more operations than --max-txn-ops (128 by default). */
const TXN_OPS = 100;

export interface EtcdStoreOptions {
  endpoints: string[];
  /** Key prefix of this cluster; several clusters may share one etcd. No trailing slash. */
  prefix: string;
  /** cluster.id from the config, if set: must match the stored one. */
  clusterId?: string | null;
  /** Deadline of one etcd call; past it a metadata change fails with MetadataUnavailableError. */
  requestTimeoutMs?: number;
}

interface TopicEntry {
  meta: { name: string; id: string; partitions: number; configs: Record<string, string> };
  createRevision: string;
}

interface PartitionEntry {
  state: PartitionState;
  modRevision: string;
}

/** The keys of one cluster under its prefix (documented in ARCHITECTURE.md). */
export class EtcdKeys {
  constructor(readonly prefix: string) {}
  get clusterId(): string {
    return `${this.prefix}/cluster-id`;
  }
  get brokers(): string {
    return `${this.prefix}/brokers/`;
  }
  broker(nodeId: number): string {
    return `${this.brokers}${nodeId}`;
  }
  get topics(): string {
    return `${this.prefix}/topics/`;
  }
  topic(name: string): string {
    return `${this.topics}${name}`;
  }
  get partitions(): string {
    return `${this.prefix}/partitions/`;
  }
  partition(topicId: string, index: number): string {
    return `${this.partitions}${topicId}/${index}`;
  }
  /** Dynamic broker configs: `<prefix>/configs/brokers/<default>` and `<prefix>/configs/brokers/<node id>`, as Kafka names them. */
  get brokerConfigs(): string {
    return `${this.prefix}/configs/brokers/`;
  }
  brokerConfigsOf(scope: BrokerConfigScope): string {
    return `${this.brokerConfigs}${scope === 'default' ? '<default>' : scope}`;
  }
  get quotas(): string {
    return `${this.prefix}/quotas`;
  }
  get clientMetrics(): string {
    return `${this.prefix}/client-metrics`;
  }
  get groupConfigs(): string {
    return `${this.prefix}/configs/groups`;
  }
  get acls(): string {
    return `${this.prefix}/acls`;
  }
  get features(): string {
    return `${this.prefix}/features`;
  }
  get scram(): string {
    return `${this.prefix}/scram-credentials`;
  }
  /** One key per token: `<prefix>/delegation-tokens/<token id>`. */
  get delegationTokens(): string {
    return `${this.prefix}/delegation-tokens/`;
  }
  get producerIds(): string {
    return `${this.prefix}/producer-ids`;
  }
  /** The controller election's keys: `<prefix>/election/controller/<lease id>` (see Controller). */
  get election(): string {
    return `${this.prefix}/election/controller/`;
  }
}

/** Resolves when `p` settles or after `ms`, whichever comes first; never rejects. */
export function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function parse<T>(kv: IKeyValue): T {
  return JSON.parse(kv.value.toString('utf8')) as T;
}

/** The key read back by the `index`th operation of a refused transaction's else branch, if it exists. */
function readBack(r: ITxnResponse, index: number): IKeyValue | undefined {
  return r.responses[index]?.response_range?.kvs[0];
}

/** Whether the else branch of refused transaction `r` read back exactly `values`, one key each, in order. */
function holdsExactly(r: ITxnResponse, values: readonly string[]): boolean {
  return values.every((v, i) => readBack(r, i)?.value.toString('utf8') === v);
}

export class EtcdMetadataStore extends EventEmitter implements MetadataStore {
  readonly clustered = true;
  readonly keys: EtcdKeys;
  private readonly topicsByName = new Map<string, TopicEntry>();
  private readonly topicsById = new Map<string, TopicEntry>();
  /** topic id → partition index → state. */
  private readonly partitionStates = new Map<string, Map<number, PartitionEntry>>();
  private readonly brokers = new Map<number, BrokerRegistration>();
  /** Each registration key's mod revision as this view last saw it (see writeOwnPartitionStates). */
  private readonly brokerRevisions = new Map<number, string>();
  /** Election keys: key → (create revision, node id). The lowest create revision is the controller. */
  private readonly candidates = new Map<string, { createRevision: bigint; nodeId: number }>();
  /** Every key of the local view (a resync deletes those etcd no longer has). */
  private readonly present = new Set<string>();
  /** False from a lost lease until the view has been read again (see resync). */
  private synced = true;
  /** Dynamic broker configs by scope key ('<default>' or a node id). */
  private readonly configs = new Map<string, Record<string, string>>();
  private quotas: StoredQuota[] = [];
  private aclList: StoredAcl[] = [];
  private clientMetricsResources: Record<string, Record<string, string>> = {};
  private groupConfigsStored: Record<string, Record<string, string>> = {};
  private scram: StoredScramCredential[] = [];
  private features: StoredFeatures | undefined;
  private readonly tokens = new Map<string, StoredDelegationToken>();
  private producerIdNext = 0;
  private producerIdLimit = 0;
  private producerIdBlock: Promise<void> | null = null;
  private watcher: PrefixWatch | null = null;
  private readonly changeListeners = new Set<(change: MetadataChange) => void>();
  private registration: { reg: BrokerRegistration; ttlSeconds: number; keeper: LeaseKeeper } | null = null;
  /** Fields updateRegistration changed: kept for every later registration. */
  private registrationPatch: Partial<BrokerRegistration> = {};
  /** The etcd revision that created this broker's current registration key (0: not registered). */
  private registrationRevision = '0';
  private closed = false;
  private lastController = -1;
  /** etcd.endpoints lists several members (see open). */
  private severalMembers = false;

  private constructor(
    readonly client: Etcd3,
    prefix: string,
    private cluster: string,
    private readonly requestTimeoutMs: number,
  ) {
    super();
    this.keys = new EtcdKeys(prefix);
  }

  /** Connects, creates or checks the cluster id, loads the metadata and starts watching it. */
  static async open(opts: EtcdStoreOptions): Promise<EtcdMetadataStore> {
    const timeout = opts.requestTimeoutMs ?? 5000;
    const several = opts.endpoints.length > 1;
    const client = new Etcd3({
      hosts: opts.endpoints,
      dialTimeout: timeout,
      // With several members, one that stopped answering (killed with a proposal in flight,
      // SIGSTOP, a hung host) must not take a call's whole budget: an attempt gets half of it and
      // etcd3 retries on another member; and one failure keeps a member out for a second
      // (MemberBreaker), so the calls after it go to the rest of the quorum (RELIABILITY.md,
      // Cluster, found 17). One member is never kept out: etcd3's default breaker kept it out for
      // 5 s after three failures, so after an etcd restart a lease of a shorter TTL could expire
      // before the first keepalive got through (found 18's test showed it).
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: attemptDeadline(timeout, several) }),
      faultHandling: { host: () => new MemberBreaker(several ? 1000 : 0).asPolicy() },
    });
    const prefix = opts.prefix.replace(/\/+$/, '');
    const store = new EtcdMetadataStore(client, prefix, '', timeout);
    store.severalMembers = several;
    try {
      await store.initClusterId(opts.clusterId ?? null);
      await store.load();
    } catch (err) {
      client.close();
      if (err instanceof MetadataUnavailableError || (err instanceof Error && /cluster id/.test(err.message))) throw err;
      throw new MetadataUnavailableError(`Cannot reach etcd at ${opts.endpoints.join(',')}: ${(err as Error).message}`);
    }
    return store;
  }

  get clusterId(): string {
    return this.cluster;
  }

  private async initClusterId(configured: string | null): Promise<void> {
    const candidate = configured ?? newClusterId();
    const r = await this.client
      .if(this.keys.clusterId, 'Create', '==', 0)
      .then(this.client.put(this.keys.clusterId).value(candidate))
      .else(this.client.get(this.keys.clusterId))
      .commit();
    if (r.succeeded) {
      this.cluster = candidate;
      return;
    }
    const stored = r.responses[0]!.response_range.kvs[0]!.value.toString('utf8');
    if (configured && configured !== stored) {
      throw new Error(`The cluster id ${configured} does not match the cluster id ${stored} stored in etcd under ${this.keys.prefix}`);
    }
    this.cluster = stored;
  }

  private async load(): Promise<void> {
    const res = await this.client.getAll().prefix(`${this.keys.prefix}/`).exec();
    for (const kv of res.kvs) this.apply(kv, false);
    this.lastController = this.controllerId();
    await this.watchFrom(res.header.revision);
  }

  /** Watches the prefix from the revision after `revision`. */
  private async watchFrom(revision: string): Promise<void> {
    const next = (BigInt(revision) + 1n).toString();
    // With several members, the probe finds a watch on one that stopped answering within 3 s
    // (found 17). With one there is no other to watch through, and a probe that a slow etcd
    // answered late would only leave the view without a watch while it is read again.
    const probe = this.severalMembers ? { intervalMs: 1000, timeoutMs: 2000 } : undefined;
    const watch = await PrefixWatch.open(this.client, `${this.keys.prefix}/`, next, this.requestTimeoutMs, probe);
    if (this.closed) {
      watch.close();
      return;
    }
    this.watcher = watch;
    watch.on('put', (kv) => this.apply(kv, false, true));
    watch.on('delete', (kv) => this.apply(kv, true, true));
    // A broken watch is never resumed (see PrefixWatch): changes may have been missed while it
    // was down (the cluster torture saw healed brokers keep a stale view), so read everything
    // again and watch anew.
    watch.on('broken', () => this.resyncSoon());
  }

  private resyncing: Promise<void> | null = null;
  /** Wakes the pauses of the retry loops, so close() ends them at once. */
  private readonly sleepers = new Set<() => void>();

  /** A retry loop's pause: `ms`, or less if the store closes meanwhile (no timer outlives close). */
  private sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  /** Runs resync once (retrying until etcd answers), unless one is already under way. */
  private resyncSoon(): void {
    if (this.resyncing || this.closed) return;
    this.resyncing = (async () => {
      while (!this.closed) {
        try {
          await this.resync();
          return;
        } catch {
          await this.sleep(500);
        }
      }
    })().finally(() => {
      this.resyncing = null;
    });
  }

  /**
   * Reads the whole prefix again and makes the local view match it, telling listeners of every
   * difference, then watches from there. After a lost lease (a network partition, a pause) the
   * view may have missed changes while the broker was cut off; until this is done the broker
   * does not act as leader (leaseValid), as a KRaft broker stays fenced until it has caught up
   * with the metadata log.
   */
  private async resync(): Promise<void> {
    this.watcher?.close();
    this.watcher = null;
    const res = await this.call('Reading the cluster metadata', () => this.client.getAll().prefix(`${this.keys.prefix}/`).exec());
    const seen = new Set<string>();
    for (const kv of res.kvs) {
      seen.add(kv.key.toString('utf8'));
      this.apply(kv, false, true);
    }
    for (const key of [...this.present]) {
      if (!seen.has(key)) this.apply({ key: Buffer.from(key), value: Buffer.alloc(0), create_revision: '0', mod_revision: '0', version: '0', lease: '0' }, true, true);
    }
    await this.watchFrom(res.header.revision);
  }

  /** Applies one key's new value (or deletion) to the local view. */
  private apply(kv: IKeyValue, deleted: boolean, notify = false): void {
    const key = kv.key.toString('utf8');
    if (deleted) this.present.delete(key);
    else this.present.add(key);
    const k = this.keys;
    let change: MetadataChange | null = null;
    if (key.startsWith(k.topics)) {
      const name = key.slice(k.topics.length);
      const old = this.topicsByName.get(name);
      if (old) this.topicsById.delete(old.meta.id);
      if (deleted) {
        this.topicsByName.delete(name);
        if (old) this.partitionStates.delete(old.meta.id);
      } else {
        const entry: TopicEntry = { meta: parse(kv), createRevision: kv.create_revision };
        this.topicsByName.set(name, entry);
        this.topicsById.set(entry.meta.id, entry);
      }
      change = { kind: 'topic', name, record: this.topic(name) };
    } else if (key.startsWith(k.partitions)) {
      const [topicId, index] = key.slice(k.partitions.length).split('/');
      let m = this.partitionStates.get(topicId!);
      if (deleted) m?.delete(Number(index));
      else {
        if (!m) {
          m = new Map();
          this.partitionStates.set(topicId!, m);
        }
        m.set(Number(index), { state: parse(kv), modRevision: kv.mod_revision });
      }
      const t = this.topicsById.get(topicId!);
      if (t) change = { kind: 'topic', name: t.meta.name, record: this.topic(t.meta.name) };
    } else if (key.startsWith(k.brokers)) {
      const id = Number(key.slice(k.brokers.length));
      if (deleted) {
        this.brokers.delete(id);
        this.brokerRevisions.delete(id);
      } else {
        this.brokers.set(id, parse(kv));
        this.brokerRevisions.set(id, kv.mod_revision);
      }
      change = { kind: 'brokers' };
    } else if (key.startsWith(k.election)) {
      if (deleted) this.candidates.delete(key);
      else this.candidates.set(key, { createRevision: BigInt(kv.create_revision), nodeId: Number(kv.value.toString('utf8')) });
      if (notify) this.emit('election-keys');
      const now = this.controllerId();
      if (now !== this.lastController) {
        this.lastController = now;
        change = { kind: 'controller', controllerId: now };
      }
    } else if (key.startsWith(k.brokerConfigs)) {
      const scope = key.slice(k.brokerConfigs.length);
      if (deleted) this.configs.delete(scope);
      else this.configs.set(scope, parse(kv));
      change = { kind: 'configs' };
    } else if (key === k.quotas) {
      this.quotas = deleted ? [] : parse(kv);
      change = { kind: 'quotas' };
    } else if (key === k.clientMetrics) {
      this.clientMetricsResources = deleted ? {} : parse(kv);
      change = { kind: 'client-metrics' };
    } else if (key === k.groupConfigs) {
      this.groupConfigsStored = deleted ? {} : parse(kv);
      change = { kind: 'group-configs' };
    } else if (key === k.acls) {
      this.aclList = deleted ? [] : parse(kv);
      change = { kind: 'acls' };
    } else if (key === k.features) {
      this.features = deleted ? undefined : parse(kv);
      change = { kind: 'features' };
    } else if (key === k.scram) {
      this.scram = deleted ? [] : parse(kv);
      change = { kind: 'scram' };
    } else if (key.startsWith(k.delegationTokens)) {
      const id = key.slice(k.delegationTokens.length);
      if (deleted) this.tokens.delete(id);
      else this.tokens.set(id, parse(kv));
      change = { kind: 'delegation-tokens' };
    }
    if (notify && change) for (const l of this.changeListeners) l(change);
  }

  // ---- reads (local view) ----

  topic(name: string): TopicRecord | undefined {
    const t = this.topicsByName.get(name);
    if (!t) return undefined;
    const states = this.partitionStates.get(t.meta.id);
    const assignments: PartitionState[] = [];
    for (let p = 0; p < t.meta.partitions; p++) {
      const s = states?.get(p);
      // A topic is visible once all its partitions are (a large creation takes several transactions).
      if (!s) return undefined;
      assignments.push(s.state);
    }
    return { ...t.meta, configs: { ...t.meta.configs }, assignments };
  }

  topicById(id: string): TopicRecord | undefined {
    const t = this.topicsById.get(id);
    return t ? this.topic(t.meta.name) : undefined;
  }

  topics(): TopicRecord[] {
    const out: TopicRecord[] = [];
    for (const name of this.topicsByName.keys()) {
      const t = this.topic(name);
      if (t) out.push(t);
    }
    return out;
  }

  /** The mod revision of a partition's key: the guard of a conditional change to it. */
  partitionRevision(topicId: string, index: number): string | undefined {
    return this.partitionStates.get(topicId)?.get(index)?.modRevision;
  }

  dynamicBrokerConfigs(scope: BrokerConfigScope): Record<string, string> {
    return { ...(this.configs.get(scope === 'default' ? '<default>' : String(scope)) ?? {}) };
  }

  clientQuotas(): StoredQuota[] {
    return this.quotas.map((q) => ({ entity: q.entity.map((p) => ({ ...p })), values: { ...q.values } }));
  }

  clientMetrics(): Record<string, Record<string, string>> {
    return structuredClone(this.clientMetricsResources);
  }

  groupConfigs(): Record<string, Record<string, string>> {
    return structuredClone(this.groupConfigsStored);
  }

  acls(): StoredAcl[] {
    return this.aclList.map((a) => ({ ...a }));
  }

  finalizedFeatures(): StoredFeatures | undefined {
    return this.features ? structuredClone(this.features) : undefined;
  }

  scramCredentials(): StoredScramCredential[] {
    return this.scram.map((c) => ({ ...c }));
  }

  delegationTokens(): StoredDelegationToken[] {
    return structuredClone([...this.tokens.values()]);
  }

  liveBrokers(): BrokerRegistration[] {
    return [...this.brokers.values()].sort((a, b) => a.nodeId - b.nodeId);
  }

  /** The mod revision of broker `nodeId`'s registration key in this view (undefined: not registered). */
  brokerRevision(nodeId: number): string | undefined {
    return this.brokerRevisions.get(nodeId);
  }

  /** True once close() was called: the etcd client is (being) closed. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether the local view holds election key `key` (the controller's own campaign key). */
  hasElectionKey(key: string): boolean {
    return this.candidates.has(key);
  }

  controllerId(): number {
    let best: { createRevision: bigint; nodeId: number } | null = null;
    for (const c of this.candidates.values()) if (!best || c.createRevision < best.createRevision) best = c;
    return best ? best.nodeId : -1;
  }

  onChange(listener: (change: MetadataChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  // ---- writes ----

  /** Runs an etcd call, turning a failure to reach etcd into MetadataUnavailableError. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new MetadataUnavailableError(`${what}: the metadata store is closed`);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
        }),
      ]);
    } catch (err) {
      if (err instanceof MetadataUnavailableError) throw err;
      throw new MetadataUnavailableError(`${what} failed: etcd is unavailable (${(err as Error).message}); retry later`);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A guarded transaction: `txn` puts under its compares and, in its else branch, reads back the
   * keys `mine` needs. etcd3 sends a call again after an attempt that got no answer
   * (etcd-attempts.ts), and if that attempt committed, the retry is refused by this very write
   * (a name no longer absent, a mod revision moved on). So a refusal after more than one attempt
   * is this call's success when `mine` finds in what the refusal read back exactly what this
   * call wrote: a record's own id, a lease granted for this call, or every value it put. A
   * refusal after one attempt is someone else's write: `mine` is not asked.
   */
  private async guardedWrite(
    what: string,
    txn: (options: CallOptions) => Promise<ITxnResponse>,
    mine: (refused: ITxnResponse) => boolean,
  ): Promise<{ written: boolean; response: ITxnResponse }> {
    const counted = countedAttempts(() => attemptDeadline(this.requestTimeoutMs, this.severalMembers));
    const response = await this.call(what, () => txn(counted.options));
    return { written: response.succeeded || (counted.attempts() > 1 && mine(response)), response };
  }

  /**
   * Creates a topic and its partitions. The first transaction is guarded by the name's absence,
   * so of two brokers creating the same topic one wins and the other gets `false`; the rest of a
   * large topic's partitions follow in transactions guarded by that topic key's create revision.
   */
  async tryCreateTopic(t: TopicRecord): Promise<boolean> {
    const states = t.assignments ?? [];
    if (states.length !== t.partitions) throw new Error(`createTopic ${t.name}: ${t.partitions} partitions but ${states.length} assignments`);
    const meta = { name: t.name, id: t.id, partitions: t.partitions, configs: t.configs };
    const puts = states.map((s, p) => this.client.put(this.keys.partition(t.id, p)).value(JSON.stringify(s)));
    const first = puts.slice(0, TXN_OPS - 1);
    const key = this.keys.topic(t.name);
    const { written, response: r } = await this.guardedWrite(
      `Creating topic ${t.name}`,
      (options) =>
        this.client
          .if(key, 'Create', '==', 0)
          .then(this.client.put(key).value(JSON.stringify(meta)), ...first)
          .else(this.client.get(key))
          .options(options)
          .commit(),
      // The topic id is new for each creation: a topic of that id is this one.
      (refused) => {
        const kv = readBack(refused, 0);
        return kv !== undefined && parse<{ id?: string }>(kv).id === t.id;
      },
    );
    if (!written) return false;
    const created = r.succeeded ? r.header.revision : readBack(r, 0)!.create_revision;
    for (let i = TXN_OPS - 1; i < puts.length; i += TXN_OPS) {
      const chunk = puts.slice(i, i + TXN_OPS);
      const more = await this.call(`Creating topic ${t.name}`, () =>
        this.client
          .if(this.keys.topic(t.name), 'Create', '==', created)
          .then(...chunk)
          .commit(),
      );
      if (!more.succeeded) throw new MetadataUnavailableError(`Topic ${t.name} was deleted while it was being created`);
    }
    return true;
  }

  async createTopic(t: TopicRecord): Promise<void> {
    if (!(await this.tryCreateTopic(t))) {
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
    }
  }

  async deleteTopic(name: string): Promise<void> {
    const t = this.topicsByName.get(name);
    if (!t) return;
    await this.call(`Deleting topic ${name}`, () =>
      this.client
        .if(this.keys.topic(name), 'Create', '==', t.createRevision)
        .then(this.client.delete().key(this.keys.topic(name)), this.client.delete().prefix(`${this.keys.partitions}${t.meta.id}/`))
        .commit(),
    );
  }

  async setTopicConfigs(name: string, configs: Record<string, string>): Promise<void> {
    const t = this.topicsByName.get(name);
    if (!t) return;
    const meta = { ...t.meta, configs };
    const r = await this.call(`Changing configs of ${name}`, () =>
      this.client
        .if(this.keys.topic(name), 'Create', '==', t.createRevision)
        .then(this.client.put(this.keys.topic(name)).value(JSON.stringify(meta)))
        .commit(),
    );
    if (r.succeeded) t.meta = meta;
  }

  async setPartitionCount(name: string, partitions: number, added?: PartitionState[]): Promise<void> {
    const t = this.topicsByName.get(name);
    if (!t) return;
    const from = t.meta.partitions;
    if (!added || added.length !== partitions - from) throw new Error(`setPartitionCount ${name}: ${partitions - from} new partitions need their assignments`);
    const meta = { ...t.meta, partitions };
    // New partition keys first (invisible until the count covers them), then the count, guarded
    // by the topic's mod revision so two concurrent additions cannot both succeed.
    const modRevision = await this.call(`Adding partitions to ${name}`, async () => (await this.client.get(this.keys.topic(name)).exec()).kvs[0]?.mod_revision);
    if (!modRevision) throw new MetadataUnavailableError(`Topic ${name} was deleted`);
    const puts = added.map((s, i) => this.client.put(this.keys.partition(t.meta.id, from + i)).value(JSON.stringify(s)));
    for (let i = 0; i < puts.length; i += TXN_OPS) {
      const chunk = puts.slice(i, i + TXN_OPS);
      const r = await this.call(`Adding partitions to ${name}`, () =>
        this.client
          .if(this.keys.topic(name), 'Mod', '==', modRevision)
          .then(...chunk)
          .commit(),
      );
      if (!r.succeeded) throw new MetadataUnavailableError(`Topic ${name} changed while partitions were added; retry`);
    }
    const value = JSON.stringify(meta);
    const { written } = await this.guardedWrite(
      `Adding partitions to ${name}`,
      (options) =>
        this.client
          .if(this.keys.topic(name), 'Mod', '==', modRevision)
          .then(this.client.put(this.keys.topic(name)).value(value))
          .else(this.client.get(this.keys.topic(name)))
          .options(options)
          .commit(),
      (refused) => holdsExactly(refused, [value]),
    );
    if (!written) throw new MetadataUnavailableError(`Topic ${name} changed while partitions were added; retry`);
  }

  /**
   * The controller's write: new partition states, each guarded by the partition key's mod
   * revision the decision was based on, and all guarded by the controller's campaign key still
   * having the create revision it was elected with. A deposed controller's key is gone (its lease
   * expired) or another's is lower, so its writes fail: `false`, nothing written.
   */
  async writePartitionStates(
    fence: { key: string; createRevision: string },
    updates: { topicId: string; index: number; state: PartitionState; modRevision: string }[],
  ): Promise<boolean> {
    for (let i = 0; i < updates.length; i += TXN_OPS / 2) {
      const chunk = updates.slice(i, i + TXN_OPS / 2);
      let guard = this.client.if(fence.key, 'Create', '==', fence.createRevision);
      for (const u of chunk) guard = guard.and(this.keys.partition(u.topicId, u.index), 'Mod', '==', u.modRevision);
      if (!(await this.writeStates('Changing partition leadership', guard, chunk))) return false;
    }
    return true;
  }

  /**
   * A broker's own change of partitions it leads or replicates (an ISR shrink or expansion, a
   * controlled shutdown): each guarded by the partition key's mod revision the change was based
   * on (Kafka's AlterPartition fences on the partition epoch), and all by this broker's
   * registration still being the one it made: a broker whose lease ran out cannot write.
   * `registrations` (brokers an ISR expansion adds, with brokerRevision as seen when they were
   * judged eligible) must be unchanged too: KRaft refuses an AlterPartition adding a fenced or
   * shutting-down replica (INELIGIBLE_REPLICA) from its own up-to-date state, whereas a leader
   * here judges from its view, which may lag. A broker that entered controlled shutdown or
   * registered again since has rewritten its key, so the write fails (`false`) rather than add it.
   */
  async writeOwnPartitionStates(
    nodeId: number,
    updates: { topicId: string; index: number; state: PartitionState; modRevision: string }[],
    registrations: readonly { nodeId: number; modRevision: string }[] = [],
  ): Promise<boolean> {
    if (this.registrationRevision === '0' || !this.leaseValid()) return false;
    for (let i = 0; i < updates.length; i += TXN_OPS / 2) {
      const chunk = updates.slice(i, i + TXN_OPS / 2);
      let guard = this.client.if(this.keys.broker(nodeId), 'Create', '==', this.registrationRevision);
      for (const r of registrations) guard = guard.and(this.keys.broker(r.nodeId), 'Mod', '==', r.modRevision);
      for (const u of chunk) guard = guard.and(this.keys.partition(u.topicId, u.index), 'Mod', '==', u.modRevision);
      if (!(await this.writeStates('Changing partition state', guard, chunk))) return false;
    }
    return true;
  }

  /**
   * Puts `chunk`'s partition states under `guard`. Refused after an unanswered attempt, the write
   * is this call's if every key holds exactly the state put (its epochs included): the attempt
   * that got no answer committed it (guardedWrite).
   */
  private async writeStates(what: string, guard: ComparatorBuilder, chunk: readonly { topicId: string; index: number; state: PartitionState }[]): Promise<boolean> {
    const keys = chunk.map((u) => this.keys.partition(u.topicId, u.index));
    const values = chunk.map((u) => JSON.stringify(u.state));
    const { written } = await this.guardedWrite(
      what,
      (options) =>
        guard
          .then(...keys.map((k, i) => this.client.put(k).value(values[i]!)))
          .else(...keys.map((k) => this.client.get(k)))
          .options(options)
          .commit(),
      (refused) => holdsExactly(refused, values),
    );
    return written;
  }

  async setDynamicBrokerConfigs(scope: BrokerConfigScope, configs: Record<string, string>): Promise<void> {
    await this.call('Changing broker configs', () => this.client.put(this.keys.brokerConfigsOf(scope)).value(JSON.stringify(configs)).exec());
    this.configs.set(scope === 'default' ? '<default>' : String(scope), { ...configs });
  }

  async setClientMetrics(resources: Record<string, Record<string, string>>): Promise<void> {
    await this.call('Changing client metrics subscriptions', () => this.client.put(this.keys.clientMetrics).value(JSON.stringify(resources)).exec());
    this.clientMetricsResources = structuredClone(resources);
  }

  async setGroupConfigs(groups: Record<string, Record<string, string>>): Promise<void> {
    await this.call('Changing group configs', () => this.client.put(this.keys.groupConfigs).value(JSON.stringify(groups)).exec());
    this.groupConfigsStored = structuredClone(groups);
  }

  async setAcls(acls: StoredAcl[]): Promise<void> {
    await this.call('Changing ACLs', () => this.client.put(this.keys.acls).value(JSON.stringify(acls)).exec());
    this.aclList = acls.map((a) => ({ ...a }));
  }

  async setFinalizedFeatures(features: StoredFeatures): Promise<void> {
    await this.call('Changing finalized features', () => this.client.put(this.keys.features).value(JSON.stringify(features)).exec());
    this.features = structuredClone(features);
  }

  async setScramCredentials(credentials: StoredScramCredential[]): Promise<void> {
    await this.call('Changing SCRAM credentials', () => this.client.put(this.keys.scram).value(JSON.stringify(credentials)).exec());
    this.scram = credentials.map((c) => ({ ...c }));
  }

  async putDelegationToken(token: StoredDelegationToken): Promise<void> {
    await this.call('Storing a delegation token', () =>
      this.client
        .put(this.keys.delegationTokens + token.tokenId)
        .value(JSON.stringify(token))
        .exec(),
    );
    this.tokens.set(token.tokenId, structuredClone(token));
  }

  async deleteDelegationToken(tokenId: string): Promise<void> {
    await this.call('Removing a delegation token', () =>
      this.client
        .delete()
        .key(this.keys.delegationTokens + tokenId)
        .exec(),
    );
    this.tokens.delete(tokenId);
  }

  async setClientQuotas(quotas: StoredQuota[]): Promise<void> {
    await this.call('Changing client quotas', () => this.client.put(this.keys.quotas).value(JSON.stringify(quotas)).exec());
    this.quotas = quotas.map((q) => ({ entity: q.entity.map((p) => ({ ...p })), values: { ...q.values } }));
  }

  /**
   * Producer ids come in blocks of 1000 reserved with a compare-and-swap on the block counter
   * key, so no two brokers ever hand out the same id (Kafka's AllocateProducerIds).
   */
  async nextProducerId(): Promise<number> {
    while (this.producerIdNext >= this.producerIdLimit) {
      this.producerIdBlock ??= this.reserveBlock().finally(() => {
        this.producerIdBlock = null;
      });
      await this.producerIdBlock;
    }
    return this.producerIdNext++;
  }

  private async reserveBlock(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const kv = await this.call('Reserving producer ids', async () => (await this.client.get(this.keys.producerIds).exec()).kvs[0]);
      const start = kv ? Number(kv.value.toString('utf8')) : 0;
      const next = String(start + PRODUCER_ID_BLOCK);
      const guard = kv ? this.client.if(this.keys.producerIds, 'Mod', '==', kv.mod_revision) : this.client.if(this.keys.producerIds, 'Create', '==', 0);
      const r = await this.call('Reserving producer ids', () => guard.then(this.client.put(this.keys.producerIds).value(next)).commit());
      if (r.succeeded) {
        this.producerIdNext = start;
        this.producerIdLimit = start + PRODUCER_ID_BLOCK;
        return;
      }
    }
    throw new MetadataUnavailableError('Reserving producer ids: too much contention; retry');
  }

  // ---- broker registration and lease ----

  /**
   * Registers this broker under `brokers/<node.id>` with a lease of `ttlSeconds`, kept alive in
   * the background. If the key exists, the registration is another process's: either a live
   * duplicate, or this node's previous process killed less than a lease ago. We wait for that
   * lease to run out (up to ttl + 2 s); if the key is still there, a live broker holds it and we
   * refuse (DuplicateNodeIdError).
   */
  async register(registration: BrokerRegistration, ttlSeconds: number): Promise<void> {
    // A registration made again (after a lost lease) carries the updates made since.
    const reg = { ...registration, ...this.registrationPatch };
    const deadline = systemClock.now() + (ttlSeconds + 2) * 1000;
    for (;;) {
      const firedAt = systemClock.now();
      const key = this.keys.broker(reg.nodeId);
      // A lease nobody keeps alive until the registration is made: one whose grant or
      // transaction fails (or is answered too late) just expires by itself.
      const leaseId = (await this.call('Registering the broker', () => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: '0' }))).ID;
      const { written, response: r } = await this.guardedWrite(
        'Registering the broker',
        (options) =>
          this.client
            .if(key, 'Create', '==', 0)
            .then(this.client.put(key).value(JSON.stringify(reg)).lease(leaseId))
            .else(this.client.get(key))
            .options(options)
            .commit(),
        // The lease was granted for this registration alone: a key on it is this one. Taken for
        // another's, it was revoked (the registration deleted) and made again (found 20).
        (refused) => readBack(refused, 0)?.lease === leaseId,
      );
      if (written && this.closed) {
        // Stopped meanwhile: no keepalive loop may outlive close().
        await this.client.leaseClient.leaseRevoke({ ID: leaseId }).catch(() => undefined);
        return;
      }
      if (written) {
        const own = r.succeeded ? null : readBack(r, 0)!;
        this.registrationRevision = own ? own.create_revision : r.header.revision;
        this.keepLease(leaseId, reg, ttlSeconds, firedAt);
        this.brokers.set(reg.nodeId, reg);
        this.brokerRevisions.set(reg.nodeId, own ? own.mod_revision : r.header.revision);
        return;
      }
      await this.client.leaseClient.leaseRevoke({ ID: leaseId }).catch(() => undefined);
      const holder = r.responses[0]!.response_range.kvs[0];
      const other = holder ? parse<BrokerRegistration>(holder) : null;
      if (systemClock.now() > deadline) {
        throw new DuplicateNodeIdError(reg.nodeId, other ? `registered by ${other.host}:${other.port}, incarnation ${other.incarnationId}` : 'registered by another process');
      }
      await this.sleep(250);
    }
  }

  /**
   * Keeps the registration's lease alive (LeaseKeeper): through an etcd outage it keeps trying,
   * and the registration stands as long as etcd still has the lease; it is lost, and the broker
   * registers again, only once etcd answers that the lease is gone.
   */
  private keepLease(leaseId: string, reg: BrokerRegistration, ttlSeconds: number, grantSentAt: number): void {
    const keeper = new LeaseKeeper(this.client, leaseId, ttlSeconds, this.requestTimeoutMs, grantSentAt);
    this.registration = { reg, ttlSeconds, keeper };
    keeper.on('lost', () => {
      if (this.closed || this.registration?.keeper !== keeper) return;
      this.synced = false;
      this.emit('lease-lost');
      void this.reregister();
    });
    keeper.start();
  }

  /**
   * Rewrites this broker's registration with `patch` (same key, same lease), guarded by the
   * registration being the one it made. A later re-registration carries the patch too.
   */
  async updateRegistration(patch: Partial<BrokerRegistration>): Promise<boolean> {
    this.registrationPatch = { ...this.registrationPatch, ...patch };
    const r = this.registration;
    if (!r) return false;
    r.reg = { ...r.reg, ...patch };
    if (this.registrationRevision === '0') return false;
    const key = this.keys.broker(r.reg.nodeId);
    const leaseId = r.keeper.id;
    const res = await this.call('Updating the broker registration', () =>
      this.client
        .if(key, 'Create', '==', this.registrationRevision)
        .then(this.client.put(key).value(JSON.stringify(r.reg)).lease(leaseId))
        .commit(),
    );
    if (res.succeeded) {
      this.brokers.set(r.reg.nodeId, r.reg);
      this.brokerRevisions.set(r.reg.nodeId, res.header.revision);
    }
    return res.succeeded;
  }

  /**
   * UnregisterBroker: removes broker `nodeId`'s registration by revoking its lease. The controller
   * then moves leadership off it; a broker still running loses its lease, stops acting as leader
   * and registers again with a new incarnation, as a Kafka broker does on its next heartbeat.
   * False when no broker of that id is registered.
   */
  async unregisterBroker(nodeId: number): Promise<boolean> {
    const key = this.keys.broker(nodeId);
    const res = await this.call('Unregistering a broker', () => this.client.get(key).exec());
    const kv = res.kvs[0];
    if (!kv) return false;
    // A lease already gone was revoked by an attempt whose answer was lost (etcd3 sent the revoke
    // again), or it expired meanwhile: either way the registration is gone, as asked (found 20).
    const revoke = (): Promise<unknown> =>
      this.client.leaseClient.leaseRevoke({ ID: kv.lease }).catch((err: unknown) => {
        if (!(err instanceof EtcdLeaseInvalidError)) throw err;
      });
    if (kv.lease && kv.lease !== '0') await this.call('Unregistering a broker', revoke);
    else await this.call('Unregistering a broker', () => this.client.delete().key(key).exec());
    return true;
  }

  /** After a lost lease: registers again, retrying until etcd answers (reconnects by itself). */
  private async reregister(): Promise<void> {
    const r = this.registration;
    if (!r) return;
    this.registration = null;
    while (!this.closed) {
      try {
        await this.register(r.reg, r.ttlSeconds);
        break;
      } catch {
        await this.sleep(500);
      }
    }
    // A resync already under way may have read the view before the changes this broker missed
    // while it was cut off were all in: wait for it, then read once more.
    await this.resyncing;
    this.resyncSoon();
    await this.resyncing;
    if (this.closed) return;
    this.synced = true;
    this.emit('lease-renewed');
  }

  /**
   * The metadata quorum: etcd's members, its leader, Raft term and index (DescribeQuorum).
   * Members are numbered by their position in the member list sorted by etcd member id (etcd's
   * ids are 64-bit, Kafka's replica ids 32-bit).
   */
  async quorum(): Promise<{ leader: number; term: number; index: number; members: { replicaId: number; name: string; clientURLs: string[] }[] }> {
    const [list, status] = await this.call('Describing the etcd quorum', () => Promise.all([this.client.cluster.memberList({}), this.client.maintenance.status()]));
    const members = [...list.members].sort((a, b) => (BigInt(a.ID) < BigInt(b.ID) ? -1 : 1));
    return {
      leader: members.findIndex((m) => m.ID === status.leader),
      term: Number(status.raftTerm),
      index: Number(status.raftIndex),
      members: members.map((m, replicaId) => ({ replicaId, name: m.name, clientURLs: m.clientURLs })),
    };
  }

  /** True while this broker's lease is certainly still valid in etcd: it may act as a leader. */
  leaseValid(now = systemClock.now()): boolean {
    return this.synced && this.registration !== null && this.registration.keeper.valid(now);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Every watch stream ends before the client closes: etcd3 then has nothing to reconnect.
    this.watcher?.close();
    this.watcher = null;
    for (const wake of [...this.sleepers]) wake();
    if (this.resyncing) await settleWithin(this.resyncing, 2000);
    // Revoking the lease removes the registration at once: the controller moves leadership now
    // instead of after the session timeout.
    if (this.registration) {
      const { keeper } = this.registration;
      keeper.close();
      await settleWithin(this.client.leaseClient.leaseRevoke({ ID: keeper.id }), 2000);
    }
    this.client.close();
  }
}
