// The active controller: one broker at a time, elected with etcd's election recipe on its lease
// and transaction primitives (what etcd's own concurrency.Election does; etcd provides the
// consensus): each candidate puts `<prefix>/election/controller/<lease id>` attached to a lease
// of its own, created under a create-revision compare; the key with the lowest create revision
// is the controller. A candidate is elected once a read of the election keys finds its own key
// oldest; it reads again whenever the store's watch shows an election key change (a predecessor
// deleted), so it needs no watch of its own. Resigning deletes the key and revokes the lease.
// The winner reacts to brokers coming and going by moving partition leadership; every write it
// makes is guarded by its campaign key's create revision (see
// EtcdMetadataStore.writePartitionStates), so a controller that lost its lease cannot write.
//
// The campaign's lease is kept by LeaseKeeper, as the broker registration's is (found 13), not by
// etcd3's Lease, which gives a lease up after twice its TTL without a renewal: through an etcd
// outage the controller then resigned, and since etcd restores its leases on restart, its old
// key, which nobody renewed any more, kept every candidate (itself included) from being elected
// for one more TTL after etcd's return. With LeaseKeeper the campaign stands as long as etcd has
// the lease, and ends only when etcd answers that it is gone. A controller that cannot renew
// stops acting (`active`) once its last renewal plus the TTL has passed, never later than etcd
// can expire the lease and elect another: one active controller at a time, as KRaft's, whose
// active controller resigns when it cannot reach a majority.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../common/clock.js';
import { ErrorCode } from '../protocol/errors.js';
import { settleWithin, type EtcdMetadataStore } from './etcd-metadata-store.js';
import { LeaseKeeper } from './lease-keeper.js';
import { MetadataUnavailableError, NO_LEADER, offlineReplicaKey, type PartitionState, type TopicRecord } from './metadata-port.js';
import {
  brokersOf,
  cancelReassignment,
  completeReassignment,
  electLeader,
  ElectionType,
  imbalancedPartitions,
  isUncleanElection,
  replicationFactor,
  startReassignment,
  without,
  type Brokers,
  type PartitionDecision,
} from './partition-changes.js';

/** The periodic leader rebalance's settings (auto.leader.rebalance.enable and friends), read at each check. */
export interface RebalanceSettings {
  enabled: boolean;
  intervalMs: number;
  /** leader.imbalance.per.broker.percentage */
  percentage: number;
}

export interface ControllerOptions {
  /** The broker's clock: the rebalance check is scheduled on it. */
  clock?: Clock;
  rebalance?: () => RebalanceSettings;
}

/** One partition of an admin request to the controller, and its answer. */
export interface PartitionResult {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
}

/** How often a decision refused because the partition changed meanwhile is made again. */
const ADMIN_ATTEMPTS = 10;

/**
 * The new state of a partition given the brokers, or null if nothing changes (KRaft's
 * PartitionChangeBuilder, reduced to what etcd keeps):
 * - replicas that are not live leave the ISR (a fenced broker is no longer in sync), unless it
 *   would leave the ISR empty; a live leader keeps the partition, even in controlled shutdown
 *   (that broker hands it on itself, see controlledShutdownChange);
 * - a partition whose leader is gone gets the first eligible ISR member in replica order (never
 *   a broker in controlled shutdown: KRaft's isAcceptableLeader);
 * - with no eligible ISR member, `unclean` elects the first eligible replica (acknowledged
 *   records it lacks are lost), otherwise the partition goes offline (leader -1) keeping its
 *   (live, else last) ISR until an ISR member that may lead is there.
 */
export function nextPartitionState(s: PartitionState, brokers: Brokers, unclean = false): PartitionState | null {
  const { live, eligible } = brokers;
  const liveIsr = s.isr.filter((r) => live.has(r));
  if (s.leader !== NO_LEADER && live.has(s.leader)) {
    if (liveIsr.length === s.isr.length) return null;
    return { ...s, isr: liveIsr, partitionEpoch: s.partitionEpoch + 1 };
  }
  const candidate = s.replicas.find((r) => eligible.has(r) && s.isr.includes(r)) ?? liveIsr.find((r) => eligible.has(r));
  if (candidate !== undefined) return { ...s, leader: candidate, leaderEpoch: s.leaderEpoch + 1, isr: liveIsr, partitionEpoch: s.partitionEpoch + 1 };
  if (unclean) {
    const any = s.replicas.find((r) => eligible.has(r));
    if (any !== undefined) return { ...s, leader: any, leaderEpoch: s.leaderEpoch + 1, isr: [any], partitionEpoch: s.partitionEpoch + 1 };
  }
  // Offline. Live ISR members left are all shutting down; the dead ones leave the ISR as above.
  const isr = liveIsr.length > 0 ? liveIsr : s.isr;
  if (s.leader === NO_LEADER) return isr.length === s.isr.length ? null : { ...s, isr, partitionEpoch: s.partitionEpoch + 1 };
  return { ...s, leader: NO_LEADER, leaderEpoch: s.leaderEpoch + 1, isr, partitionEpoch: s.partitionEpoch + 1 };
}

/** One campaign: a lease, and the election key made with it. */
interface Candidacy {
  /** Null until etcd granted the lease. */
  keeper: LeaseKeeper | null;
  leaseId: string;
  /** Empty until the key is created. */
  key: string;
  createRevision: string;
  /** The store's view has shown the key (so its later absence there means it was deleted). */
  seen: boolean;
  checking: boolean;
  again: boolean;
}

export class Controller extends EventEmitter {
  /** The current campaign (null between a lost one and the next, and once stopped). */
  private candidacy: Candidacy | null = null;
  /** Campaigns given up and not yet resigned (stop waits for them). */
  private readonly resigning = new Set<Promise<void>>();
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
    private readonly options: ControllerOptions = {},
  ) {
    super();
    this.clock = options.clock ?? systemClock;
  }

  private readonly clock: Clock;
  private cancelRebalance: (() => void) | null = null;

  /**
   * True while this broker is the elected controller and its campaign's lease is certainly
   * valid: false from its last renewal plus the TTL on, before etcd can expire it (see above).
   */
  get active(): boolean {
    const c = this.candidacy;
    return this.fence !== null && c !== null && c.keeper !== null && c.keeper.valid();
  }

  start(): void {
    const unsubscribe = this.store.onChange((c) => {
      if (c.kind === 'brokers' || c.kind === 'topic') this.reconcile();
    });
    const onElectionKeys = (): void => {
      if (this.candidacy) this.check(this.candidacy);
    };
    this.store.on('election-keys', onElectionKeys);
    this.unsubscribe = () => {
      unsubscribe();
      this.store.off('election-keys', onElectionKeys);
    };
    this.runCampaign();
    this.scheduleRebalance();
  }

  /** The periodic preferred-leader check (leader.imbalance.check.interval.seconds); acts only while active. */
  private scheduleRebalance(): void {
    const settings = this.options.rebalance;
    if (!settings || this.stopped) return;
    this.cancelRebalance = this.clock.schedule(Math.max(1000, settings().intervalMs), () => {
      this.cancelRebalance = null;
      const s = settings();
      const run = this.active && s.enabled ? this.rebalanceLeaders(s.percentage) : Promise.resolve(0);
      run
        .catch((err: unknown) => this.logger.warn({ err: (err as Error).message }, 'controller: leader rebalance failed; retrying at the next check'))
        .finally(() => this.scheduleRebalance());
    });
  }

  /**
   * Moves leadership back to preferred replicas on brokers whose share of partitions led
   * elsewhere is above `percentage` (leader.imbalance.per.broker.percentage). Returns how many
   * partitions changed leader.
   */
  async rebalanceLeaders(percentage: number): Promise<number> {
    if (!this.active) return 0;
    const targets = imbalancedPartitions(this.store.topics(), this.brokers(), percentage).map((p) => ({ topic: p.topic.name, partition: p.index }));
    if (targets.length === 0) return 0;
    const results = await this.decide(targets, (s, brokers) => electLeader(s, ElectionType.PREFERRED, brokers));
    const moved = results.filter((r) => r.errorCode === ErrorCode.NONE).length;
    if (moved > 0) this.logger.info({ partitions: moved }, 'controller: leadership moved back to preferred replicas');
    return moved;
  }

  /**
   * ElectLeaders (PREFERRED 0, UNCLEAN 1) for the given partitions, or for every partition when
   * null: then only the partitions where an election was needed are answered, as Kafka does.
   * Throws NOT_CONTROLLER (MetadataUnavailableError, fenced) when this broker is not the active controller.
   */
  async electLeaders(electionType: number, partitions: { topic: string; partition: number }[] | null): Promise<PartitionResult[]> {
    const all = partitions === null;
    const targets = partitions ?? this.store.topics().flatMap((t) => Array.from({ length: t.partitions }, (_, partition) => ({ topic: t.name, partition })));
    const results = await this.decide(targets, (s, brokers, t, index) => {
      const d = electLeader(s, electionType, brokers);
      if ('state' in d && d.state && isUncleanElection(s, d.state)) {
        this.logger.warn(
          { topic: t.name, partition: index, leader: d.state.leader, isr: s.isr },
          'controller: unclean leader election asked for; records acknowledged by the lost in-sync replicas may be lost',
        );
      }
      return d;
    });
    return all ? results.filter((r) => r.errorCode !== ErrorCode.ELECTION_NOT_NEEDED) : results;
  }

  /**
   * AlterPartitionReassignments: a target replica list starts (or replaces) a reassignment, null
   * cancels one. The target is checked here: not empty, no duplicates, only live brokers, and the
   * replication factor kept unless `allowReplicationFactorChange`.
   */
  async alterReassignments(changes: { topic: string; partition: number; replicas: number[] | null }[], allowReplicationFactorChange = true): Promise<PartitionResult[]> {
    const byKey = new Map(changes.map((c) => [`${c.topic}\u0000${c.partition}`, c.replicas]));
    return this.decide(changes, (s, brokers, t, index) => {
      const target = byKey.get(`${t.name}\u0000${index}`) ?? null;
      if (target === null) {
        const d = cancelReassignment(s, brokers, this.uncleanElection(t));
        if ('state' in d && d.state && isUncleanElection(s, d.state)) {
          this.logger.warn(
            { topic: t.name, partition: index, leader: d.state.leader, isr: s.isr },
            'controller: reassignment cancelled with an unclean leader election; records acknowledged by the lost in-sync replicas may be lost',
          );
        }
        return d;
      }
      if (target.length === 0) return { error: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: 'The replica list is empty.' };
      if (new Set(target).size !== target.length) return { error: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: `Duplicate replicas in [${target.join(',')}].` };
      const unknown = target.filter((r) => !brokers.live.has(r));
      if (unknown.length > 0) {
        return { error: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: `The replica assignment includes broker(s) ${unknown.join(',')}, but no such broker is registered.` };
      }
      if (!allowReplicationFactorChange && target.length !== replicationFactor(s)) {
        return { error: ErrorCode.INVALID_REPLICATION_FACTOR, message: 'The replication factor is changed by this reassignment, which is not allowed.' };
      }
      return startReassignment(s, target, brokers);
    });
  }

  private brokers(): Brokers {
    return brokersOf(this.store.liveBrokers());
  }

  /**
   * Decides a change for each partition from the current view and writes them all with the
   * controller's fence, each guarded by the revision it was decided on. A write refused because
   * a partition changed meanwhile (an ISR change, a broker failure) is decided again.
   */
  private async decide(
    targets: { topic: string; partition: number }[],
    decideOne: (s: PartitionState, brokers: Brokers, t: TopicRecord, index: number) => PartitionDecision,
  ): Promise<PartitionResult[]> {
    for (let attempt = 0; ; attempt++) {
      const fence = this.fence;
      if (!fence || !this.active) throw new MetadataUnavailableError('This broker is not the active controller.', true);
      const brokers = this.brokers();
      const results: PartitionResult[] = [];
      const updates: { topicId: string; index: number; state: PartitionState; modRevision: string }[] = [];
      const asked = new Set<string>();
      for (const { topic, partition } of targets) {
        const key = `${topic}\u0000${partition}`;
        if (asked.has(key)) continue;
        asked.add(key);
        const t = this.store.topic(topic);
        const s = t?.assignments?.[partition];
        const modRevision = t ? this.store.partitionRevision(t.id, partition) : undefined;
        if (!t || !s || !modRevision || !Number.isInteger(partition)) {
          results.push({ topic, partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'The partition does not exist.' });
          continue;
        }
        const d = decideOne(s, brokers, t, partition);
        if ('error' in d) {
          results.push({ topic, partition, errorCode: d.error, errorMessage: d.message });
          continue;
        }
        results.push({ topic, partition, errorCode: ErrorCode.NONE, errorMessage: null });
        if (d.state) updates.push({ topicId: t.id, index: partition, state: d.state, modRevision });
      }
      if (updates.length === 0 || (await this.store.writePartitionStates(fence, updates))) {
        await this.seen(updates);
        return results;
      }
      if (attempt + 1 >= ADMIN_ATTEMPTS) throw new MetadataUnavailableError('The partitions kept changing while the controller decided; retry.');
      await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
    }
  }

  /** Waits (bounded) until the watched view shows the controller's own writes, so a next request sees them. */
  private async seen(updates: { topicId: string; index: number; modRevision: string }[]): Promise<void> {
    const deadline = this.clock.now() + 5000;
    while (updates.some((u) => this.store.partitionRevision(u.topicId, u.index) === u.modRevision) && this.clock.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  private runCampaign(): void {
    this.retryTimer = null;
    // A store closed under a controller that was not stopped: campaigning would only fail again.
    if (this.stopped || this.store.isClosed) return;
    const c: Candidacy = { keeper: null, leaseId: '', key: '', createRevision: '', seen: false, checking: false, again: false };
    this.candidacy = c;
    void this.enter(c);
  }

  /** Grants the campaign's lease and keeps it alive (LeaseKeeper) until etcd answers it is gone. */
  private async grant(c: Candidacy): Promise<string> {
    const sentAt = systemClock.now();
    const { ID } = await this.store.client.leaseClient.leaseGrant({ TTL: this.ttlSeconds, ID: '0' });
    c.leaseId = ID;
    if (this.candidacy !== c) {
      // Given up meanwhile: resign revokes it.
      return ID;
    }
    const keeper = new LeaseKeeper(this.store.client, ID, this.ttlSeconds, 5000, sentAt);
    c.keeper = keeper;
    // etcd answered, so it is reachable: campaign again at once (no pause without a controller).
    keeper.on('lost', () => this.lose(c, new Error(`etcd answered that the campaign's lease ${ID} is gone`), 0));
    keeper.start();
    return ID;
  }

  /** Creates the campaign key with the campaign's lease, then checks whether it is the oldest. */
  private async enter(c: Candidacy): Promise<void> {
    try {
      const leaseId = await this.grant(c);
      if (this.candidacy !== c) return;
      const key = `${this.store.keys.election}${leaseId}`;
      const client = this.store.client;
      const r = await client
        .if(key, 'Create', '==', 0)
        .then(client.put(key).value(String(this.nodeId)).lease(leaseId))
        .else(client.get(key))
        .commit();
      // The lease is new, so its key cannot exist yet, unless etcd3 sent this transaction again
      // after an attempt that committed but got no answer: then the key is on this campaign's
      // lease, and it is this campaign's (RELIABILITY.md, Cluster, found 20).
      const own = r.succeeded ? null : r.responses[0]?.response_range?.kvs[0];
      if (own !== null && own?.lease !== leaseId) throw new Error(`the campaign key ${key} exists already`);
      c.key = key;
      c.createRevision = own ? own.create_revision : r.header.revision;
      this.check(c);
    } catch (err) {
      this.lose(c, err as Error);
    }
  }

  /** Checks (one read at a time; a change meanwhile asks for another) whether `c` won. */
  private check(c: Candidacy): void {
    if (this.candidacy !== c || c.key === '') return;
    if (c.checking) {
      c.again = true;
      return;
    }
    c.checking = true;
    void (async () => {
      try {
        do {
          c.again = false;
          await this.checkOnce(c);
        } while (c.again && this.candidacy === c);
      } catch (err) {
        this.lose(c, err as Error);
      } finally {
        c.checking = false;
      }
    })();
  }

  private async checkOnce(c: Candidacy): Promise<void> {
    // The watched view no longer has the key it showed: it was deleted (the lease ran out, or
    // UnregisterBroker-like removal): the campaign is lost even if the keepalive has not said so.
    if (this.store.hasElectionKey(c.key)) c.seen = true;
    else if (c.seen) throw new Error('the campaign key was deleted');
    if (this.fence) return;
    // Authoritative: at this read's revision, the oldest key is the controller until it is
    // deleted (keys made later are always younger).
    const res = await this.store.client.getAll().prefix(this.store.keys.election).sort('Create', 'Ascend').exec();
    if (this.candidacy !== c || this.stopped) return;
    const mine = res.kvs.find((kv) => kv.key.toString('utf8') === c.key);
    if (!mine) throw new Error('the campaign key is gone');
    if (res.kvs[0] !== mine) return; // an older candidate holds it; its deletion wakes us (check)
    this.fence = { key: c.key, createRevision: mine.create_revision };
    this.logger.info({ nodeId: this.nodeId }, 'controller: elected active controller');
    this.emit('elected');
    this.reconcile();
  }

  /** Gives up campaign `c` (its lease lost, its key gone, etcd failing) and campaigns again in `retryMs` (1 s; at once when etcd answered the lease gone). */
  private lose(c: Candidacy, err: Error, retryMs = 1000): void {
    if (this.candidacy !== c) return;
    if (this.fence) this.logger.warn({ err: err.message }, 'controller: lost the controller lease; no longer the active controller');
    else if (!this.stopped) this.logger.debug({ err: err.message }, 'controller: campaign failed; campaigning again');
    this.fence = null;
    this.candidacy = null;
    this.emit('resigned');
    this.resign(c);
    if (!this.stopped) this.retryTimer = setTimeout(() => this.runCampaign(), retryMs);
  }

  /**
   * Resigns campaign `c`: deletes its key (if still the one it made) and revokes its lease, which
   * also stops the keepalive. Bounded: with etcd unreachable the lease simply expires.
   */
  private resign(c: Candidacy): void {
    const client = this.store.client;
    // Both at once: the revoke alone would delete the key too, and each may wait for etcd.
    c.keeper?.close();
    const deleteKey = c.key === '' ? Promise.resolve() : client.if(c.key, 'Create', '==', c.createRevision).then(client.delete().key(c.key)).commit();
    const revoke = c.leaseId === '' ? Promise.resolve() : client.leaseClient.leaseRevoke({ ID: c.leaseId });
    const done = settleWithin(Promise.allSettled([deleteKey, revoke]), 2000);
    this.resigning.add(done);
    void done.finally(() => this.resigning.delete(done));
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
    const brokers = brokersOf(registered.filter((b) => !restarted.includes(b)));
    // Replicas in a failed log directory of a live broker (KIP-112) are dead for their partition only.
    const offlineOn = new Map<string, number[]>();
    for (const b of registered) for (const k of b.offlineReplicas ?? []) offlineOn.set(k, [...(offlineOn.get(k) ?? []), b.nodeId]);
    const updates: { topicId: string; index: number; state: PartitionState; modRevision: string }[] = [];
    for (const t of this.store.topics()) {
      const unclean = this.uncleanElection(t);
      t.assignments!.forEach((s, index) => {
        const dead = offlineOn.get(offlineReplicaKey(t.id, index));
        const here = dead ? without(brokers, dead) : brokers;
        const failover = nextPartitionState(s, here, unclean);
        // A reassignment completes once its target replicas are all in sync (KIP-455, KRaft).
        const completed = completeReassignment(failover ?? s, here, s);
        const next = completed ?? failover;
        if (completed) this.logger.info({ topic: t.name, partition: index, replicas: completed.replicas, leader: completed.leader }, 'controller: reassignment completed');
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
    this.retryTimer = null;
    this.cancelRebalance?.();
    this.unsubscribe?.();
    this.fence = null;
    const c = this.candidacy;
    this.candidacy = null;
    if (c) this.resign(c);
    // The controller has no watch of its own (it is woken by the store's): once its campaigns
    // are resigned, nothing of it is left in etcd3 when the store closes the client.
    await Promise.all([...this.resigning]);
    if (this.running) await settleWithin(this.running, 2000);
  }
}
