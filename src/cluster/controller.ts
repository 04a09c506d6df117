// The active controller: one broker at a time, elected with etcd's election recipe (etcd3's
// Election: a key per candidate under `<prefix>/election/controller/`, attached to the
// candidate's lease; the oldest key wins). The winner reacts to brokers coming and going by
// moving partition leadership; every write it makes is guarded by its campaign key (see
// EtcdMetadataStore.writePartitionStates), so a controller that lost its lease cannot write.
import { EventEmitter } from 'node:events';
import { Election, type Campaign } from 'etcd3';
import type { Logger } from 'pino';
import { settleWithin, type EtcdMetadataStore } from './etcd-metadata-store.js';
import { NO_LEADER, type PartitionState, type TopicRecord } from './metadata-port.js';

/**
 * The new state of a partition given the live brokers, or null if nothing changes (KRaft's
 * PartitionChangeBuilder, reduced to what etcd keeps):
 * - replicas that are not live leave the ISR (a fenced broker is no longer in sync), unless it
 *   would leave the ISR empty;
 * - a partition whose leader is gone gets the first live ISR member in replica order;
 * - with no live ISR member, `unclean` elects the first live replica (acknowledged records it
 *   lacks are lost), otherwise the partition goes offline (leader -1) keeping its ISR, until an
 *   ISR member comes back.
 */
export function nextPartitionState(s: PartitionState, live: Set<number>, unclean = false): PartitionState | null {
  const liveIsr = s.isr.filter((r) => live.has(r));
  if (s.leader !== NO_LEADER && live.has(s.leader)) {
    if (liveIsr.length === s.isr.length) return null;
    return { ...s, isr: liveIsr, partitionEpoch: s.partitionEpoch + 1 };
  }
  const candidate = s.replicas.find((r) => live.has(r) && s.isr.includes(r)) ?? liveIsr[0];
  if (candidate !== undefined) return { ...s, leader: candidate, leaderEpoch: s.leaderEpoch + 1, isr: liveIsr, partitionEpoch: s.partitionEpoch + 1 };
  if (unclean) {
    const any = s.replicas.find((r) => live.has(r));
    if (any !== undefined) return { ...s, leader: any, leaderEpoch: s.leaderEpoch + 1, isr: [any], partitionEpoch: s.partitionEpoch + 1 };
  }
  if (s.leader === NO_LEADER) return null;
  return { ...s, leader: NO_LEADER, leaderEpoch: s.leaderEpoch + 1, partitionEpoch: s.partitionEpoch + 1 };
}

export class Controller extends EventEmitter {
  private campaign: Campaign | null = null;
  private fence: { key: string; createRevision: string } | null = null;
  private stopped = false;
  private running: Promise<void> | null = null;
  private dirty = false;
  private unsubscribe: (() => void) | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  /** The incarnation of each broker as of the last reconcile pass. */
  private readonly incarnations = new Map<number, string>();

  constructor(
    private readonly store: EtcdMetadataStore,
    private readonly nodeId: number,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
    /** Whether a topic may elect an out-of-sync replica (unclean.leader.election.enable, topic over broker). */
    private readonly uncleanElection: (topic: TopicRecord) => boolean = () => false,
  ) {
    super();
  }

  /** True while this broker is the elected controller and its campaign is alive. */
  get active(): boolean {
    return this.fence !== null;
  }

  start(): void {
    this.unsubscribe = this.store.onChange((c) => {
      if (c.kind === 'brokers' || c.kind === 'topic') this.reconcile();
    });
    this.runCampaign();
  }

  private runCampaign(): void {
    if (this.stopped) return;
    const election = new Election(this.store.client.namespace(this.store.keys.electionNamespace), 'controller', this.ttlSeconds);
    const campaign = election.campaign(String(this.nodeId));
    this.campaign = campaign;
    campaign.on('elected', () => {
      if (this.stopped || this.campaign !== campaign) return;
      void this.becomeActive(campaign);
    });
    campaign.on('error', (err: Error) => {
      if (this.campaign !== campaign) return;
      if (this.fence) this.logger.warn({ err: err.message }, 'controller: lost the controller lease; no longer the active controller');
      this.fence = null;
      this.campaign = null;
      this.emit('resigned');
      campaign.resign().catch(() => undefined);
      if (!this.stopped) this.retryTimer = setTimeout(() => this.runCampaign(), 1000);
    });
  }

  private async becomeActive(campaign: Campaign): Promise<void> {
    try {
      const key = await campaign.getCampaignKey();
      const kv = (await this.store.client.get(key).exec()).kvs[0];
      if (!kv || this.campaign !== campaign) return;
      this.fence = { key, createRevision: kv.create_revision };
      this.logger.info({ nodeId: this.nodeId }, 'controller: elected active controller');
      this.emit('elected');
      this.reconcile();
    } catch (err) {
      if (this.stopped || this.campaign !== campaign) return;
      this.logger.warn({ err: (err as Error).message }, 'controller: could not read its campaign key');
      campaign.emit('error', err);
    }
  }

  /** Moves leadership of partitions whose leader is gone (or comes back); one pass at a time. */
  reconcile(): void {
    if (!this.fence) return;
    this.dirty = true;
    if (this.running) return;
    this.running = (async () => {
      while (this.dirty && this.fence) {
        this.dirty = false;
        try {
          await this.reconcileOnce(this.fence);
        } catch (err) {
          this.logger.warn({ err: (err as Error).message }, 'controller: a leadership change failed; retrying');
          this.dirty = true;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }
    })().finally(() => {
      this.running = null;
    });
  }

  private async reconcileOnce(fence: { key: string; createRevision: string }): Promise<void> {
    const registered = this.store.liveBrokers();
    // A broker that registered again (a new incarnation: it restarted, maybe on an empty disk)
    // is fenced for one pass, as KRaft fences a replaced registration: it leaves the ISRs and
    // loses its leaderships, and comes back as a follower that must catch up to rejoin.
    const restarted = registered.filter((b) => {
      const known = this.incarnations.get(b.nodeId);
      return known !== undefined && known !== b.incarnationId;
    });
    const live = new Set(registered.filter((b) => !restarted.includes(b)).map((b) => b.nodeId));
    const updates: { topicId: string; index: number; state: PartitionState; modRevision: string }[] = [];
    for (const t of this.store.topics()) {
      const unclean = this.uncleanElection(t);
      t.assignments!.forEach((s, index) => {
        const next = nextPartitionState(s, live, unclean);
        if (next && s.leader !== next.leader && next.leader !== NO_LEADER && !s.isr.includes(next.leader)) {
          this.logger.warn(
            { topic: t.name, partition: index, leader: next.leader, isr: s.isr },
            'controller: unclean leader election; records acknowledged by the lost in-sync replicas may be lost',
          );
        }
        const modRevision = this.store.partitionRevision(t.id, index);
        if (next && modRevision) updates.push({ topicId: t.id, index, state: next, modRevision });
      });
    }
    if (updates.length === 0) {
      this.noteIncarnations(registered, restarted.length > 0);
      return;
    }
    const ok = await this.store.writePartitionStates(fence, updates);
    if (ok) this.noteIncarnations(registered, restarted.length > 0);
    if (!ok) {
      // A partition changed under us (we retry on the next change) or we are deposed (the
      // campaign's error handler will notice); either way nothing was written.
      this.logger.info({ partitions: updates.length }, 'controller: guarded leadership write refused');
      if (this.fence === fence) this.dirty = true;
      await new Promise((resolve) => setTimeout(resolve, 200));
      return;
    }
    const offline = updates.filter((u) => u.state.leader === NO_LEADER).length;
    this.logger.info({ partitions: updates.length, offline }, 'controller: partition leadership changed');
  }

  /** Remembers the incarnations a pass acted on; a fenced restart gets a second pass that unfences it. */
  private noteIncarnations(registered: { nodeId: number; incarnationId: string }[], again: boolean): void {
    for (const b of registered) this.incarnations.set(b.nodeId, b.incarnationId);
    if (again) this.dirty = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.unsubscribe?.();
    this.fence = null;
    const c = this.campaign;
    this.campaign = null;
    // Bounded: with etcd unreachable the campaign lease simply expires.
    if (c) await settleWithin(c.resign(), 2000);
    if (this.running) await settleWithin(this.running, 2000);
  }
}
