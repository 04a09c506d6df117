// The Jepsen-style cluster torture (issue #15): three brokers and etcd on loopback, a topic with
// replication factor 3 and min.insync.replicas=2, idempotent acks=all producers (kafkajs and
// librdkafka), a consumer group, a transactional producer with a read_committed reader, and a
// seeded loop of faults: kill -9 of a partition leader, SIGSTOP of a leader for longer than its
// session, kill -9 of the controller, a network partition isolating one broker (proxies, see
// proxy.ts), a rolling restart, a reassignment during load (when the broker supports it), kill -9
// of etcd, two asymmetric partitions (a leader cut off from etcd only, or from its peers only),
// and the loss of one etcd member of three (kill -9 or SIGSTOP, the Raft leader or a follower),
// which the brokers must not notice at all.
//
// At the end every broker is stopped and every replica's log is read from its directory
// (replica-reader.ts) and judged: each acknowledged record present exactly once, at the offset it
// was acknowledged at, in order per producer; the replicas byte-identical up to the high
// watermark; committed group offsets never going backwards; read_committed never reading an
// aborted or partial transaction. See RELIABILITY.md ("Cluster").
import { ApiKey } from '../../../src/protocol/generated/index.js';
import { ErrorCode, errorName } from '../../../src/protocol/errors.js';
import { etcdRevokesLeasesOnLeaderResume } from '../../helpers/etcd.js';
import { RawClient } from '../../helpers/raw-client.js';
import { fetchRequest } from '../../helpers/requests.js';
import { rng } from '../../helpers/rng.js';
import { Cluster, type ClusterView, type Node, type PartitionState } from './cluster.js';
import { prefixBelow, readReplica, type Replica } from './replica-reader.js';
import {
  CommitWatcher,
  GroupReader,
  parseValue,
  runKafkajsProducer,
  runLibrdkafkaProducer,
  Transactions,
  GROUP,
  TOPIC,
  TXN_TOPIC,
  TXN_READER_GROUP,
  type ProducerOutcome,
  type Shared,
  type TxnOutcome,
} from './workload.js';

export const FAULTS = [
  'kill-leader',
  'pause-leader',
  'kill-controller',
  'partition',
  'rolling-restart',
  'reassign',
  'kill-etcd',
  'partition-etcd',
  'partition-peers',
  'kill-etcd-member',
  'pause-etcd-member',
] as const;
export type Fault = (typeof FAULTS)[number];

export interface ClusterTortureOptions {
  seed: number;
  cycles: number;
  /** Starts no new cycle after this long (the run still ends with its checks). */
  maxDurationMs?: number;
  /** Fixed faults, one per cycle in order, instead of drawing them. */
  schedule?: Fault[];
  /** The faults drawn from (default all of FAULTS). */
  faults?: readonly Fault[];
  /** etcd members (default 3); with one, the member faults are not drawn. */
  etcdMembers?: number;
  /** Partitions of the main topic (default 4). */
  partitions?: number;
  /** broker.session.timeout.ms (default 4000): how long a lost broker keeps its lease. */
  sessionTimeoutMs?: number;
  /** Load between faults (default 800..2500 ms). */
  minRunMs?: number;
  maxRunMs?: number;
  progress?: (line: string) => void;
}

export interface ClusterTortureReport {
  seed: number;
  cycles: number;
  durationMs: number;
  faults: Partial<Record<Fault, number>>;
  /** Faults and clients not exercised, and why (e.g. reassignment not supported yet). */
  skipped: string[];
  producers: { name: string; acknowledged: number; sends: number; failedSends: number; incarnations: number; skipped: string | null; firstErrors: string[] }[];
  recordsAcknowledged: number;
  /** Acknowledged records missing from the log (must be 0). */
  recordsLost: number;
  /** Records present more than once (must be 0). */
  duplicates: number;
  /** Records of failed sends found in the log (once): written although the client was not told. */
  indeterminateWritten: number;
  /** Replicas compared byte for byte up to the high watermark, and the bytes compared. */
  replicasCompared: number;
  bytesCompared: number;
  highWatermarks: Record<string, number>;
  /** Leader elections the faults caused: the leader epochs of every partition of both topics at the end, summed. */
  leaderElections: number;
  /** Cycles that started before every replica was back in the ISR (30 s wait). */
  unsettledCycles: number;
  /** Acknowledged records the consumer group read (at least once). */
  consumed: number;
  consumerCrashes: number;
  commitObservations: number;
  transactions: {
    committed: number;
    aborted: number;
    unknown: number;
    recordsReadCommitted: number;
    /** From the replicas on disk: records under a COMMIT marker, under an ABORT marker, with no marker yet. */
    recordsCommittedInLog: number;
    recordsAbortedInLog: number;
    recordsOpenInLog: number;
    readerCrashes: number;
    /** ListOffsets read_committed (the LSO) against the high watermark, per partition, at the end. */
    lastStable: Record<string, string>;
    firstErrors: string[];
  };
  /** Brokers' exit codes at the final SIGTERM (0 expected). */
  shutdownExitCodes: Record<number, number | null>;
  violations: string[];
  /**
   * Client library errors that escaped as unhandled rejections (kafkajs's consumer rejects from its
   * own crash handler when LeaveGroup answers NOT_COORDINATOR during a coordinator move).
   */
  clientUnhandled: string[];
  /** Broker log lines at level error and above (reported; some are expected while a broker is cut off). */
  brokerErrorLogs: string[];
  /** When the group did not read every acknowledged record in time: where it stood (describeStall). */
  drainStall?: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Whether `check` holds within `timeoutMs` (asked every 200 ms). */
async function waitFor(timeoutMs: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(200);
  }
}

function topicsSpec(partitions: number): { name: string; partitions: number; replicationFactor: number; configs: Record<string, string> }[] {
  return [
    { name: TOPIC, partitions, replicationFactor: 3, configs: { 'min.insync.replicas': '2', 'segment.bytes': '65536' } },
    { name: TXN_TOPIC, partitions: 2, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
  ];
}

export function summarizeCluster(r: ClusterTortureReport): string {
  const faults = Object.entries(r.faults)
    .map(([f, n]) => `${f} ${n}`)
    .join(', ');
  return [
    `cluster torture: seed ${r.seed}, ${r.cycles} cycles in ${(r.durationMs / 1000).toFixed(1)} s; faults: ${faults || 'none'}`,
    ...r.producers.map((p) =>
      p.skipped
        ? `  producer ${p.name}: SKIPPED (${p.skipped})`
        : `  producer ${p.name}: ${p.acknowledged} records acknowledged in ${p.sends - p.failedSends} of ${p.sends} sends, ${p.incarnations} producer ids`,
    ),
    `  acknowledged: ${r.recordsAcknowledged}; lost: ${r.recordsLost}; duplicated: ${r.duplicates}; written without an acknowledgement: ${r.indeterminateWritten}`,
    `  replicas: ${r.replicasCompared} compared byte for byte up to the high watermark (${r.bytesCompared} bytes); high watermarks ${Object.entries(r.highWatermarks)
      .map(([p, hw]) => `${p}=${hw}`)
      .join(' ')}`,
    `  leader elections (leader epochs summed): ${r.leaderElections}; cycles started before the ISR was whole again (30 s wait): ${r.unsettledCycles}`,
    `  group: ${r.consumed} acknowledged records read, ${r.commitObservations} committed offsets observed, ${r.consumerCrashes} consumer restarts`,
    `  transactions: ${r.transactions.committed} committed, ${r.transactions.aborted} aborted, ${r.transactions.unknown} unknown; read_committed read ${r.transactions.recordsReadCommitted} records (${r.transactions.readerCrashes} reader restarts); in the log ${r.transactions.recordsCommittedInLog} committed, ${r.transactions.recordsAbortedInLog} aborted, ${r.transactions.recordsOpenInLog} open; LSO/HW ${Object.entries(
      r.transactions.lastStable,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
    `  shutdown exit codes: ${Object.entries(r.shutdownExitCodes)
      .map(([n, c]) => `${n}=${c}`)
      .join(' ')}`,
    ...r.skipped.map((s) => `  skipped: ${s}`),
    `  violations: ${r.violations.length}`,
    ...r.violations.slice(0, 30).map((v) => `  ! ${v}`),
    ...(r.drainStall ?? []).map((l) => `  stall: ${l}`),
    ...r.clientUnhandled.slice(0, 5).map((l) => `  client library's unhandled rejection (not a broker fault): ${l}`),
    ...(r.brokerErrorLogs.length > 0 ? [`  broker error logs: ${r.brokerErrorLogs.length}`] : []),
    ...r.brokerErrorLogs.slice(0, 5).map((l) => `  broker error: ${l}`),
  ].join('\n');
}

/** A report with nothing counted yet. */
export function emptyReport(seed: number, violations: string[] = [], skipped: string[] = []): ClusterTortureReport {
  return {
    seed,
    cycles: 0,
    durationMs: 0,
    faults: {},
    skipped,
    producers: [],
    recordsAcknowledged: 0,
    recordsLost: 0,
    duplicates: 0,
    indeterminateWritten: 0,
    replicasCompared: 0,
    bytesCompared: 0,
    highWatermarks: {},
    leaderElections: 0,
    unsettledCycles: 0,
    consumed: 0,
    consumerCrashes: 0,
    commitObservations: 0,
    transactions: {
      committed: 0,
      aborted: 0,
      unknown: 0,
      recordsReadCommitted: 0,
      recordsCommittedInLog: 0,
      recordsAbortedInLog: 0,
      recordsOpenInLog: 0,
      readerCrashes: 0,
      lastStable: {},
      firstErrors: [],
    },
    shutdownExitCodes: {},
    violations,
    clientUnhandled: [],
    brokerErrorLogs: [],
  };
}

export async function runClusterTorture(opts: ClusterTortureOptions): Promise<ClusterTortureReport> {
  const started = Date.now();
  const plan = rng(opts.seed);
  const workloadRandom = rng(opts.seed ^ 0x5bd1e995);
  const progress = opts.progress ?? (() => undefined);
  const partitions = opts.partitions ?? 4;
  const session = opts.sessionTimeoutMs ?? 4000;
  const lagMs = 4000;
  const minRun = opts.minRunMs ?? 800;
  const maxRun = opts.maxRunMs ?? 2500;
  const violations: string[] = [];
  const skipped: string[] = [];
  const report = emptyReport(opts.seed, violations, skipped);

  const etcdMembers = opts.etcdMembers ?? 3;
  const cluster = new Cluster(
    3,
    {
      'broker.session.timeout.ms': String(session),
      'group.initial.rebalance.delay.ms': '0',
      'default.replication.factor': '3',
      'min.insync.replicas': '2',
      'offsets.topic.replication.factor': '3',
      'offsets.topic.num.partitions': '3',
      'transaction.state.log.replication.factor': '3',
      'transaction.state.log.num.partitions': '3',
      'transaction.state.log.min.isr': '2',
      'replica.lag.time.max.ms': String(lagMs),
      'log.level': 'info',
    },
    etcdMembers,
  );
  const killAll = () => cluster.killAllNow();
  process.once('exit', killAll);
  // A client library's stray rejection must not end the run (it would leave the checks undone);
  // one that is not the client library's is a bug of the harness: a violation.
  const unhandled = (err: unknown) => {
    const e = err as { name?: string; message?: string };
    const line = `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`;
    if (typeof e?.name === 'string' && e.name.startsWith('KafkaJS')) {
      if (report.clientUnhandled.length < 20) report.clientUnhandled.push(line);
    } else violations.push(`unhandled rejection in the harness: ${line}`);
  };
  process.on('unhandledRejection', unhandled);
  const allTopics = [TOPIC, TXN_TOPIC];
  const expectedPartitions = partitions + 2;

  /** A view from a healthy broker, or null while none answers. */
  const view = async (): Promise<ClusterView | null> => {
    try {
      return await cluster.view(allTopics);
    } catch {
      return null;
    }
  };

  /** Every broker up, registered, every partition led with its full ISR. */
  const settled = async (): Promise<boolean> => {
    if (!cluster.nodes.every((n) => n.healthy)) return false;
    const v = await view();
    if (!v || v.brokers.length !== 3 || v.controller < 0 || v.partitions.length !== expectedPartitions) return false;
    return v.partitions.every((p) => p.errorCode === ErrorCode.NONE && p.leader >= 0 && p.isr.length === p.replicas.length);
  };
  const waitSettled = async (what: string, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await settled()) return true;
      await sleep(200);
    }
    const v = await view();
    const state = v ? v.partitions.map((p) => `${p.topic}-${p.partition} leader ${p.leader} isr [${p.isr}] of [${p.replicas}]`).join('; ') : 'no broker answers';
    progress(`  not settled ${what} within ${timeoutMs} ms: ${state}`);
    return false;
  };

  const shared: Shared & { stopping: boolean; bootstrap: string[] } = {
    stopping: false,
    random: workloadRandom,
    bootstrap: [],
    partitions,
    log: progress,
  };

  let producersRun: Promise<ProducerOutcome>[] = [];
  let reader: GroupReader | null = null;
  let watcher: CommitWatcher | null = null;
  let txns: Transactions | null = null;
  let reassignSupported: boolean | null = null;

  try {
    await cluster.start();
    shared.bootstrap = cluster.bootstrap;
    await cluster.createTopics(topicsSpec(partitions));
    if (!(await waitSettled('after creating the topics', 30_000))) violations.push('the topics never had a leader and a full ISR for every partition after creation');
    progress(`cluster up: brokers ${cluster.nodes.map((n) => `${n.id}@${n.proxy.port}->${n.realPort}`).join(', ')}`);

    producersRun = [runKafkajsProducer('kafkajs-a', shared), runKafkajsProducer('kafkajs-b', shared), runLibrdkafkaProducer('librdkafka', shared)];
    reader = new GroupReader(shared);
    await reader.start();
    watcher = new CommitWatcher(shared);
    watcher.diagnose = () => describeGroup(cluster, partitions);
    watcher.start();
    txns = new Transactions(shared);
    await txns.start();

    const leaderOf = (v: ClusterView, topicOnly = true): Node | null => {
      const candidates = v.partitions.filter((p) => (!topicOnly || p.topic === TOPIC) && p.leader >= 0);
      if (candidates.length === 0) return null;
      const p = candidates[Math.floor(plan() * candidates.length)]!;
      return cluster.nodes.find((n) => n.id === p.leader) ?? null;
    };

    for (let cycle = 0; cycle < opts.cycles; cycle++) {
      if (opts.maxDurationMs !== undefined && Date.now() - started > opts.maxDurationMs) {
        progress(`stopping after ${cycle} cycles: the time budget is used up`);
        break;
      }
      // Once reassignment is known to be unsupported, it is not drawn again.
      const pool = (opts.faults ?? FAULTS).filter(
        (f) => (f !== 'reassign' || reassignSupported !== false) && (etcdMembers >= 3 || (f !== 'kill-etcd-member' && f !== 'pause-etcd-member')),
      );
      const fault: Fault = opts.schedule?.[cycle % opts.schedule.length] ?? pool[Math.floor(plan() * pool.length)]!;
      const runMs = minRun + Math.floor(plan() * (maxRun - minRun));
      const downMs = 500 + Math.floor(plan() * 2500);
      if (!(await waitSettled(`before cycle ${cycle}`, 30_000))) report.unsettledCycles++;
      await sleep(runMs);
      const v = await view();
      watcher.phase = `during cycle ${cycle}, ${fault}`;
      if (!v) {
        violations.push(`cycle ${cycle}: no broker answers Metadata before the fault`);
        break;
      }
      let what: string;
      switch (fault) {
        case 'kill-leader':
        case 'pause-leader':
        case 'partition': {
          const victim = leaderOf(v) ?? cluster.nodes[Math.floor(plan() * 3)]!;
          if (fault === 'kill-leader') {
            await cluster.kill(victim);
            await sleep(downMs);
            await cluster.startNode(victim);
            what = `kill -9 of leader ${victim.id}, restarted after ${downMs} ms`;
          } else if (fault === 'pause-leader') {
            const pausedMs = session + downMs;
            cluster.pause(victim);
            await sleep(pausedMs);
            cluster.resume(victim);
            what = `SIGSTOP of leader ${victim.id} for ${pausedMs} ms`;
          } else {
            const cutMs = session + downMs;
            cluster.isolate(victim);
            await sleep(cutMs);
            cluster.heal(victim);
            what = `network partition isolating broker ${victim.id} for ${cutMs} ms`;
          }
          break;
        }
        case 'kill-etcd': {
          // One time in three past twice the session timeout: etcd3's keepalive loop then gives
          // the lease up for lost (while etcd, on its return, still has it), so every broker
          // registers again; otherwise within or just past one session timeout.
          const long = plan() < 1 / 3;
          const etcdDownMs = long ? 2 * session + downMs : downMs;
          await cluster.killEtcd();
          await sleep(etcdDownMs);
          await cluster.restartEtcd();
          what = `kill -9 of etcd, restarted after ${etcdDownMs} ms`;
          break;
        }
        case 'partition-etcd': {
          // A leader cut off from etcd only: its lease expires, the controller moves its
          // leaderships, while clients and the other brokers still reach it.
          const victim = leaderOf(v) ?? cluster.nodes[Math.floor(plan() * 3)]!;
          const cutMs = session + downMs;
          cluster.cutFromEtcd(victim);
          await sleep(cutMs);
          // Before healing: the controller must have taken every leadership off it (a partition
          // whose only in-sync replica it is goes offline instead).
          const moved = await waitFor(10_000, async () => {
            const now = await view();
            return now !== null && now.partitions.every((p) => p.leader !== victim.id);
          });
          if (!moved) violations.push(`cycle ${cycle}: broker ${victim.id}, cut off from etcd for ${cutMs} ms and 10 s more, still leads a partition in the others' metadata`);
          cluster.heal(victim);
          what = `broker ${victim.id} (a leader) cut off from etcd for ${cutMs} ms`;
          break;
        }
        case 'partition-peers': {
          // A leader cut off from the other brokers both ways, still reaching etcd and clients:
          // its followers stop fetching and it must shrink the ISR (so acks=all stops) through etcd.
          const victim = leaderOf(v) ?? cluster.nodes[Math.floor(plan() * 3)]!;
          const cutMs = lagMs + downMs;
          cluster.cutFromPeers(victim);
          await sleep(cutMs);
          // Before healing: every ISR is down to one side, the victim alone where it leads and
          // without it elsewhere (checked every half lag time, as Kafka's leader does).
          const shrunk = await waitFor(lagMs + 10_000, async () => {
            const now = await view();
            return now !== null && now.partitions.every((p) => (p.leader === victim.id ? p.isr.length === 1 : !p.isr.includes(victim.id)));
          });
          if (!shrunk) {
            const now = await view();
            const state = now?.partitions.map((p) => `${p.topic}-${p.partition} leader ${p.leader} isr [${p.isr}]`).join('; ') ?? 'no view';
            violations.push(`cycle ${cycle}: broker ${victim.id} cut off from its peers for ${cutMs} ms and ${lagMs + 10_000} ms more, the ISRs did not shrink: ${state}`);
          }
          cluster.heal(victim);
          what = `broker ${victim.id} (a leader) cut off from the other brokers for ${cutMs} ms`;
          break;
        }
        case 'kill-etcd-member':
        case 'pause-etcd-member': {
          what = await loseEtcdMember(cluster, fault, { cycle, session, downMs, plan, view, violations, before: v });
          break;
        }
        case 'kill-controller': {
          const victim = cluster.nodes.find((n) => n.id === v.controller) ?? cluster.nodes[0]!;
          await cluster.kill(victim);
          await sleep(downMs);
          await cluster.startNode(victim);
          what = `kill -9 of controller ${victim.id}, restarted after ${downMs} ms`;
          break;
        }
        case 'rolling-restart': {
          const codes: string[] = [];
          for (const n of cluster.nodes) {
            const code = await cluster.stop(n);
            codes.push(`${n.id}:${code}`);
            if (code !== 0) violations.push(`cycle ${cycle}: broker ${n.id} exited with ${code} on SIGTERM in a rolling restart`);
            await cluster.startNode(n);
            // Kafka's rolling restart waits for the broker to be back in every ISR before the next.
            await waitSettled(`after restarting broker ${n.id} in the rolling restart`, 30_000);
          }
          what = `rolling restart (exit codes ${codes.join(' ')})`;
          break;
        }
        case 'reassign': {
          what = await reassign(cluster, v, plan, (s) => (reassignSupported = s), reassignSupported, skipped, violations);
          break;
        }
      }
      if (fault !== 'reassign' || reassignSupported === true) report.faults[fault] = (report.faults[fault] ?? 0) + 1;
      report.cycles++;
      watcher.phase = `after cycle ${cycle}: ${what}`;
      progress(`cycle ${cycle}: ${what}`);
    }

    // The end: heal everything, let the cluster settle, stop the load, drain the readers.
    for (const n of cluster.nodes) {
      if (n.isolated || n.etcdCut || n.peersCut) cluster.heal(n);
      if (n.paused) cluster.resume(n);
      if (!n.running) await cluster.startNode(n);
    }
    if (!(await waitSettled('at the end', 60_000))) violations.push('the cluster did not get back every replica into the ISR within 60 s of the last fault');
    shared.stopping = true;
    const outcomes = await Promise.all(producersRun);
    producersRun = [];
    report.producers = outcomes.map((o) => ({
      name: o.name,
      acknowledged: o.acked.size,
      sends: o.sends,
      failedSends: o.failures,
      incarnations: o.incarnations,
      skipped: o.skipped,
      firstErrors: o.errors.slice(0, 3),
    }));
    for (const o of outcomes) if (o.skipped) skipped.push(`producer ${o.name}: ${o.skipped}`);
    report.recordsAcknowledged = outcomes.reduce((s, o) => s + o.acked.size, 0);

    // The consumer group reads every acknowledged record (at least once), bounded. 60 s: the
    // last fault's aftermath (a lease found lost only after the heal, a controller change) can
    // still move the group's coordinator, and each move costs the kafkajs group a rebalance.
    const allAcked = outcomes.flatMap((o) => [...o.acked.keys()]);
    const readDeadline = Date.now() + 60_000;
    while (Date.now() < readDeadline && !allAcked.every((v) => reader!.seen.has(v))) await sleep(200);
    report.consumed = allAcked.filter((v) => reader!.seen.has(v)).length;
    if (report.consumed < allAcked.length) {
      violations.push(`the consumer group read ${report.consumed} of ${allAcked.length} acknowledged records within 60 s`);
      // Where the group is stuck: each partition's unread records against its log, what the
      // group's coordinator says of its members, and what each broker answers to a consumer's
      // fetch at the first unread offset.
      const stall = await describeStall(cluster, partitions, outcomes, reader.seen, watcher.last).catch((err: unknown) => [`stall diagnosis failed: ${String(err)}`]);
      report.drainStall = stall;
    }
    await reader.stop();
    report.consumerCrashes = reader.crashes;
    // A stalled read_committed reader: what each broker answers it, and its group, before it leaves.
    await txns.finish(30_000, async () => {
      const answers = await consumerFetchAnswers(cluster, TXN_TOPIC, [0, 1], () => 0, 1);
      const group = await describeMembers(cluster, TXN_READER_GROUP);
      report.drainStall = [...(report.drainStall ?? []), ...[...answers, ...group].map((l) => `read_committed: ${l}`)];
    });
    await watcher.observe().catch(() => undefined);
    await watcher.stop();
    report.commitObservations = watcher.observations;
    violations.push(...watcher.regressions);
    const t = txns.out;
    report.transactions = {
      committed: [...t.txns.values()].filter((x) => x.outcome === 'committed').length,
      aborted: [...t.txns.values()].filter((x) => x.outcome === 'aborted').length,
      unknown: [...t.txns.values()].filter((x) => x.outcome === 'unknown').length,
      recordsReadCommitted: t.seen.size,
      recordsCommittedInLog: 0,
      recordsAbortedInLog: 0,
      recordsOpenInLog: 0,
      readerCrashes: txns.readerCrashes,
      lastStable: {},
      firstErrors: t.errors.slice(0, 3),
    };
    violations.push(...txns.violations().map((x) => `transactions: ${x}`));

    // High watermarks from the leaders, once every replica has caught up (no load any more).
    const finalView = await view();
    const hw = new Map<string, number>();
    const isr = new Map<string, number[]>();
    for (const p of finalView?.partitions ?? []) {
      const key = `${p.topic}-${p.partition}`;
      report.leaderElections += Math.max(0, p.leaderEpoch);
      isr.set(key, p.isr);
      const leader = cluster.nodes.find((n) => n.id === p.leader);
      if (!leader) {
        violations.push(`${key}: no leader at the end`);
        continue;
      }
      try {
        const o = await cluster.offsets(leader, p.topic, p.partition);
        hw.set(key, o.highWatermark);
        if (p.topic === TXN_TOPIC) report.transactions.lastStable[key] = `${o.lastStable}/${o.highWatermark}`;
      } catch (err) {
        violations.push(`${key}: ${(err as Error).message}`);
      }
    }
    // A group's committed offset is a position to read from: never past what was written.
    for (const [p, committed] of watcher.last) {
      const h = hw.get(`${TOPIC}-${p}`);
      if (h !== undefined && committed > h) violations.push(`committed offset ${committed} of ${TOPIC}-${p} is past its high watermark ${h}`);
    }
    report.highWatermarks = Object.fromEntries([...hw].filter(([k]) => k.startsWith(`${TOPIC}-`)));

    // Stop every broker cleanly, then read every replica from disk.
    for (const n of cluster.nodes) report.shutdownExitCodes[n.id] = await cluster.stop(n);
    for (const [id, code] of Object.entries(report.shutdownExitCodes)) if (code !== 0) violations.push(`broker ${id} exited with ${code} on the final SIGTERM`);
    for (const n of cluster.nodes) {
      for (const p of n.past) {
        for (const entry of p.logs) {
          if (typeof entry.level === 'number' && entry.level >= 50)
            report.brokerErrorLogs.push(`broker ${n.id}: ${String(entry.msg)} ${JSON.stringify(entry.err ?? '').slice(0, 300)}`);
        }
      }
    }
    judge(cluster.nodes, { partitions, hw, isr, outcomes, txns: t, report, violations });
  } finally {
    shared.stopping = true;
    await Promise.allSettled(producersRun);
    await reader?.stop();
    await watcher?.stop();
    await cluster.destroy();
    process.removeListener('exit', killAll);
    process.removeListener('unhandledRejection', unhandled);
  }
  report.durationMs = Date.now() - started;
  if (violations.length > 200) violations.splice(200);
  return report;
}

/**
 * The final judgement, from the replicas on disk: identical up to the high watermark, every
 * acknowledged record there once at its offset, no record twice, each producer's records in order.
 */
export function judge(
  nodes: readonly { id: number; dataDir: string }[],
  ctx: {
    partitions: number;
    hw: Map<string, number>;
    isr: Map<string, number[]>;
    outcomes: ProducerOutcome[];
    txns: TxnOutcome;
    report: ClusterTortureReport;
    violations: string[];
  },
): void {
  const { report, violations } = ctx;
  /** value → offsets where it is, per partition of TOPIC (from the reference replica, below the HW). */
  const found = new Map<string, { partition: number; offset: number }[]>();
  /** Transactional values by the marker that closed their batch (from the reference replicas). */
  const txnLog = { committed: new Map<string, number>(), aborted: new Set<string>(), open: new Set<string>() };
  for (const [topic, count] of [
    [TOPIC, ctx.partitions],
    [TXN_TOPIC, 2],
  ] as const) {
    for (let p = 0; p < count; p++) {
      const key = `${topic}-${p}`;
      const hw = ctx.hw.get(key);
      if (hw === undefined) continue;
      const inSync = ctx.isr.get(key) ?? [];
      const replicas = new Map<number, Replica>();
      for (const n of nodes) {
        try {
          replicas.set(n.id, readReplica(n.dataDir, topic, p));
        } catch (err) {
          violations.push(`${key} on broker ${n.id}: ${(err as Error).message}`);
        }
      }
      // The reference: the first in-sync replica. Every in-sync replica holds the same batches,
      // byte for byte, up to the high watermark.
      const refId = inSync.find((id) => replicas.get(id)?.exists);
      if (refId === undefined) {
        violations.push(`${key}: no in-sync replica on disk`);
        continue;
      }
      const ref = prefixBelow(replicas.get(refId)!, hw);
      if (ref.straddling)
        violations.push(`${key}: the high watermark ${hw} falls inside a batch (${ref.straddling.baseOffset}..${ref.straddling.nextOffset - 1}) on broker ${refId}`);
      const refBytes = Buffer.concat(ref.batches.map((b) => b.bytes));
      const refEnd = ref.batches.at(-1)?.nextOffset ?? 0;
      if (refEnd < hw && !ref.straddling) violations.push(`${key}: broker ${refId} (in sync) ends at ${refEnd}, below the high watermark ${hw}`);
      for (const id of inSync) {
        if (id === refId) continue;
        const r = replicas.get(id);
        if (!r?.exists) {
          violations.push(`${key}: in-sync replica on broker ${id} has no log directory`);
          continue;
        }
        const mine = Buffer.concat(prefixBelow(r, hw).batches.map((b) => b.bytes));
        report.replicasCompared++;
        report.bytesCompared += Math.min(mine.length, refBytes.length);
        if (!mine.equals(refBytes)) {
          let at = 0;
          while (at < mine.length && at < refBytes.length && mine[at] === refBytes[at]) at++;
          violations.push(
            `${key}: replica on broker ${id} differs from broker ${refId} below the high watermark ${hw} (${mine.length} vs ${refBytes.length} bytes, first difference at byte ${at})`,
          );
        }
      }
      if (topic === TXN_TOPIC) {
        const pending = new Map<number, string[]>();
        for (const b of ref.batches) {
          if (b.controlType !== null) {
            for (const v of pending.get(b.producerId) ?? []) {
              if (b.controlType === 1) txnLog.committed.set(v, (txnLog.committed.get(v) ?? 0) + 1);
              else txnLog.aborted.add(v);
            }
            pending.delete(b.producerId);
          } else {
            const list = pending.get(b.producerId) ?? [];
            for (const r of b.records) if (r.value !== null) list.push(r.value);
            if (b.transactional) pending.set(b.producerId, list);
            else violations.push(`${key}: a non-transactional batch at ${b.baseOffset}`);
          }
        }
        for (const list of pending.values()) for (const v of list) txnLog.open.add(v);
        continue;
      }
      for (const b of ref.batches) {
        for (const r of b.records) {
          if (r.value === null) continue;
          const list = found.get(r.value) ?? [];
          list.push({ partition: p, offset: r.offset });
          found.set(r.value, list);
        }
      }
    }
  }

  const lost: string[] = [];
  const moved: string[] = [];
  for (const o of ctx.outcomes) {
    for (const [value, ack] of o.acked) {
      const at = found.get(value) ?? [];
      if (at.length === 0) lost.push(`${value} (acknowledged on ${TOPIC}-${ack.partition}${ack.offset === null ? '' : ` at ${ack.offset}`})`);
      else if (at[0]!.partition !== ack.partition || (ack.offset !== null && at[0]!.offset !== ack.offset))
        moved.push(`${value}: acknowledged on ${TOPIC}-${ack.partition} at ${ack.offset}, found on ${TOPIC}-${at[0]!.partition} at ${at[0]!.offset}`);
    }
    for (const value of o.indeterminate) if ((found.get(value)?.length ?? 0) > 0) report.indeterminateWritten++;
  }
  const dups = [...found].filter(([, at]) => at.length > 1);
  report.recordsLost = lost.length;
  report.duplicates = dups.length;
  violations.push(...lost.slice(0, 20).map((l) => `lost: ${l}`));
  if (lost.length > 20) violations.push(`lost: ... and ${lost.length - 20} more`);
  violations.push(...dups.slice(0, 20).map(([v, at]) => `duplicated: ${v} at ${at.map((x) => `${TOPIC}-${x.partition}@${x.offset}`).join(', ')}`));
  violations.push(...moved.slice(0, 20).map((m) => `moved: ${m}`));

  // Transactions as the log has them: what an aborted transaction wrote is under an ABORT marker,
  // what a committed one wrote under a COMMIT marker (once); an unknown outcome is one or the other.
  report.transactions.recordsCommittedInLog = txnLog.committed.size;
  report.transactions.recordsAbortedInLog = txnLog.aborted.size;
  report.transactions.recordsOpenInLog = txnLog.open.size;
  for (const [id, t] of ctx.txns.txns) {
    const committed = t.values.filter((v) => txnLog.committed.has(v)).length;
    const twice = t.values.filter((v) => (txnLog.committed.get(v) ?? 0) > 1).length;
    if (twice > 0) violations.push(`transactions: ${twice} record(s) of transaction ${id} committed more than once in the log`);
    if (t.outcome === 'aborted' && committed > 0) violations.push(`transactions: the aborted transaction ${id} has ${committed} record(s) under a COMMIT marker`);
    else if (t.outcome === 'committed' && committed < t.values.length)
      violations.push(
        `transactions: the committed transaction ${id} has ${committed} of ${t.values.length} records under a COMMIT marker (${t.values.filter((v) => txnLog.open.has(v)).length} with no marker)`,
      );
    else if (t.outcome === 'unknown' && committed > 0 && committed < t.values.length)
      violations.push(`transactions: transaction ${id} is partly committed in the log (${committed} of ${t.values.length})`);
  }

  // Order: within one producer incarnation and partition, sequence numbers rise with offsets.
  const last = new Map<string, { seq: number; offset: number }>();
  const ordered = [...found].flatMap(([value, at]) => at.map((x) => ({ value, ...x }))).sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  let reorders = 0;
  for (const r of ordered) {
    const parsed = parseValue(r.value);
    if (!parsed) continue;
    const k = `${parsed.producer}@${r.partition}`;
    const prev = last.get(k);
    if (prev && parsed.seq <= prev.seq && reorders++ < 20)
      violations.push(`out of order: ${r.value} at ${TOPIC}-${r.partition}@${r.offset} after seq ${prev.seq} at ${prev.offset}`);
    last.set(k, { seq: parsed.seq, offset: r.offset });
  }
}

/**
 * Every running broker's answer, on its real port, to FindCoordinator and OffsetFetch for the
 * group, and the leaders of __consumer_offsets: who serves the group's offsets, and which.
 */
async function describeGroup(cluster: Cluster, partitions: number): Promise<string> {
  const parts: string[] = [];
  for (const n of cluster.nodes) {
    if (!n.running || n.paused) {
      parts.push(`broker ${n.id}: ${n.paused ? 'paused' : 'down'}`);
      continue;
    }
    let c: RawClient | null = null;
    try {
      c = await RawClient.connect(n.realPort);
      const fc = await c.request(ApiKey.FindCoordinator, 3, { key: GROUP, keyType: 0, coordinatorKeys: [] }, 2000);
      const of = await c.request(
        ApiKey.OffsetFetch,
        7,
        { groupId: GROUP, topics: [{ name: TOPIC, partitionIndexes: Array.from({ length: partitions }, (_, i) => i) }], groups: [], requireStable: false },
        2000,
      );
      const offsets =
        of.body.errorCode !== ErrorCode.NONE
          ? errorName(of.body.errorCode)
          : (of.body.topics[0]?.partitions ?? [])
              .map((p: { partitionIndex: number; committedOffset: bigint | number; errorCode: number }) => `${p.partitionIndex}=${Number(p.committedOffset)}`)
              .join(',');
      parts.push(
        `broker ${n.id}${n.isolated ? ' (cut off)' : ''}: FindCoordinator says ${fc.body.errorCode === ErrorCode.NONE ? fc.body.nodeId : errorName(fc.body.errorCode)}, OffsetFetch ${offsets}`,
      );
    } catch (err) {
      parts.push(`broker ${n.id}: ${(err as Error).message}`);
    } finally {
      c?.close();
    }
  }
  // Each broker's own view of the coordinator partitions (they may disagree).
  for (const n of cluster.nodes) {
    if (!n.running || n.paused) continue;
    try {
      const v = await cluster.view(['__consumer_offsets'], n);
      parts.push(`broker ${n.id} sees __consumer_offsets ${v.partitions.map((p) => `${p.partition}: leader ${p.leader} epoch ${p.leaderEpoch} isr [${p.isr}]`).join('; ')}`);
    } catch {
      // it does not answer
    }
  }
  return parts.join(' | ');
}

/** A consumer protocol assignment (version, [topic, [partition]], user data): its partitions. */
function assignedPartitions(bytes: Buffer | null): string {
  if (!bytes || bytes.length < 6) return '-';
  try {
    let at = 2;
    const topics: string[] = [];
    const count = bytes.readInt32BE(at);
    at += 4;
    for (let i = 0; i < count; i++) {
      const len = bytes.readInt16BE(at);
      at += 2;
      const name = bytes.subarray(at, at + len).toString();
      at += len;
      const n = bytes.readInt32BE(at);
      at += 4;
      const ps: number[] = [];
      for (let j = 0; j < n; j++, at += 4) ps.push(bytes.readInt32BE(at));
      topics.push(`${name}[${ps.join(',')}]`);
    }
    return topics.join(' ');
  } catch {
    return `(${bytes.length} bytes)`;
  }
}

/**
 * The group drain stalled: per partition of TOPIC, the acknowledged records not read, the first
 * of them (kafkajs acknowledgements carry offsets), the highest offset read, the committed offset
 * and the HW; each broker's metadata for the partition; the coordinator's view of the group
 * (state, members, assignments); and what every broker answers a consumer Fetch (v11, as
 * kafkajs sends) at the first unread offset.
 */
async function describeStall(cluster: Cluster, partitions: number, outcomes: ProducerOutcome[], seen: Map<string, string>, committed: Map<number, number>): Promise<string[]> {
  const lines: string[] = [];
  const unread = new Map<number, { count: number; first: number | null }>();
  for (const o of outcomes) {
    for (const [value, ack] of o.acked) {
      if (seen.has(value)) continue;
      const u = unread.get(ack.partition) ?? { count: 0, first: null };
      u.count++;
      if (ack.offset !== null && (u.first === null || ack.offset < u.first)) u.first = ack.offset;
      unread.set(ack.partition, u);
    }
  }
  const highestRead = new Map<number, number>();
  for (const where of seen.values()) {
    const [p, off] = where.split(':').map(Number) as [number, number];
    highestRead.set(p, Math.max(highestRead.get(p) ?? -1, off));
  }
  const views = new Map<number, ClusterView>();
  for (const n of cluster.nodes) {
    if (!n.running || n.paused) continue;
    try {
      views.set(n.id, await cluster.view([TOPIC], n));
    } catch {
      // it does not answer
    }
  }
  for (let p = 0; p < partitions; p++) {
    const u = unread.get(p);
    const metadata = [...views].map(([id, v]) => {
      const s = v.partitions.find((x) => x.partition === p);
      return s ? `broker ${id} sees leader ${s.leader} epoch ${s.leaderEpoch} isr [${s.isr}] of [${s.replicas}]` : `broker ${id} sees nothing`;
    });
    const leader = views
      .values()
      .next()
      .value?.partitions.find((x) => x.partition === p)?.leader;
    const node = cluster.nodes.find((n) => n.id === leader);
    const hw = node
      ? await cluster.offsets(node, TOPIC, p).then(
          (o) => String(o.highWatermark),
          (err: unknown) => (err as Error).message,
        )
      : '?';
    lines.push(
      `${TOPIC}-${p}: ${u?.count ?? 0} unread, first unread offset ${u?.first ?? '-'}, highest read ${highestRead.get(p) ?? '-'}, committed ${committed.get(p) ?? '-'}, HW ${hw}; ${metadata.join('; ')}`,
    );
  }
  lines.push(...(await describeMembers(cluster, GROUP)));
  const all = Array.from({ length: partitions }, (_, p) => p);
  lines.push(...(await consumerFetchAnswers(cluster, TOPIC, all, (p) => unread.get(p)?.first ?? highestRead.get(p) ?? 0, 0)));
  return lines;
}

/** The group as the broker that names itself its coordinator describes it: state, members, assignments. */
async function describeMembers(cluster: Cluster, group: string): Promise<string[]> {
  const lines: string[] = [];
  for (const n of cluster.nodes) {
    if (!n.running || n.paused) continue;
    let c: RawClient | null = null;
    try {
      c = await RawClient.connect(n.realPort);
      const fc = await c.request(ApiKey.FindCoordinator, 3, { key: group, keyType: 0, coordinatorKeys: [] }, 2000);
      if (fc.body.errorCode === ErrorCode.NONE && fc.body.nodeId === n.id) {
        const d = await c.request(ApiKey.DescribeGroups, 5, { groups: [group], includeAuthorizedOperations: false }, 2000);
        const g = d.body.groups[0];
        const members = (g?.members ?? []).map((m: { memberId: string; memberAssignment: Buffer }) => `${m.memberId.slice(-8)}: ${assignedPartitions(m.memberAssignment)}`);
        lines.push(`coordinator ${n.id}: ${group} ${errorName(g?.errorCode ?? -1)} ${g?.groupState} protocol ${g?.protocolData}, members ${members.join('; ') || 'none'}`);
      }
    } catch (err) {
      lines.push(`broker ${n.id}: ${(err as Error).message}`);
    } finally {
      c?.close();
    }
  }
  return lines;
}

/**
 * What every broker answers a consumer's Fetch v11 (as kafkajs sends it; a follower may serve
 * it, KIP-392) of each partition at an offset: the error, HW, LSO and bytes. A follower whose
 * HW or LSO stays behind its leader's, or that refuses, shows here.
 */
async function consumerFetchAnswers(cluster: Cluster, topic: string, partitions: number[], offset: (p: number) => number, isolationLevel: number): Promise<string[]> {
  const lines: string[] = [];
  for (const n of cluster.nodes) {
    if (!n.running || n.paused) continue;
    let c: RawClient | null = null;
    try {
      c = await RawClient.connect(n.realPort);
      const answers: string[] = [];
      for (const p of partitions) {
        const at = offset(p);
        const req = fetchRequest({ isolationLevel, maxBytes: 1024, topics: [{ topic, partitions: [{ partition: p, fetchOffset: at, partitionMaxBytes: 1024 }] }] });
        const r = await c.request(ApiKey.Fetch, 11, req, 3000);
        const d = r.body.responses[0]?.partitions[0];
        answers.push(
          `${p}@${at}: ${d ? `${errorName(d.errorCode)} hw ${Number(d.highWatermark)} lso ${Number(d.lastStableOffset)} ${d.records?.length ?? 0} bytes` : 'no answer'}`,
        );
      }
      lines.push(`broker ${n.id} answers a consumer fetch of ${topic}: ${answers.join(', ')}`);
    } catch (err) {
      lines.push(`broker ${n.id}: ${(err as Error).message}`);
    } finally {
      c?.close();
    }
  }
  return lines;
}

/** The broker log lines that say a broker lost its etcd lease (it then registers again). */
function leaseLosses(cluster: Cluster): number {
  let n = 0;
  for (const node of cluster.nodes) for (const p of node.past) for (const l of p.logs) if (/lost the etcd lease/.test(String(l.msg))) n++;
  return n;
}

/**
 * One etcd member of three lost while a quorum stays up: SIGKILL (restarted on its data dir
 * after 0.5-3 s, or twice the session timeout more) or SIGSTOP (as long) of the Raft leader or
 * of a follower, one time in two each. Kafka users see nothing of a KRaft quorum losing a
 * minority, and the brokers must not either: while the member is gone (and 1 s after) no
 * partition may go offline, every partition's leader must keep answering ListOffsets, no broker
 * may lose its lease (and register again), and no partition may change leader. One exception is
 * etcd's: an etcd before 3.5.13 may revoke every lease when its paused leader wakes (issue 15247,
 * test/helpers/etcd.ts); what follows such a revocation is reported, not judged here (the run's
 * own checks still judge every record).
 */
async function loseEtcdMember(
  cluster: Cluster,
  fault: 'kill-etcd-member' | 'pause-etcd-member',
  ctx: { cycle: number; session: number; downMs: number; plan: () => number; view: () => Promise<ClusterView | null>; violations: string[]; before: ClusterView },
): Promise<string> {
  const { cycle, session, downMs, plan, violations } = ctx;
  const hitLeader = plan() < 0.5;
  const followerDraw = plan();
  const long = plan() < 0.5;
  const lostMs = long ? 2 * session + downMs : downMs;
  const leader = await cluster.etcdLeader();
  const followers = Array.from({ length: cluster.etcdMemberCount }, (_, i) => i).filter((i) => i !== leader);
  const index = hitLeader && leader >= 0 ? leader : followers[Math.floor(followerDraw * followers.length)]!;
  const member = cluster.etcdMember(index);
  const role = index === leader ? 'the etcd leader' : 'an etcd follower';
  const leasesLost = leaseLosses(cluster);
  const leadersBefore = new Map(ctx.before.partitions.map((p) => [`${p.topic}-${p.partition}`, `leader ${p.leader} epoch ${p.leaderEpoch}`]));
  const etcdMayRevoke = fault === 'pause-etcd-member' && index === leader && etcdRevokesLeasesOnLeaderResume();
  const seen: string[] = [];
  const seenAfterResume: string[] = [];
  let resumed = false;
  const note = (line: string) => {
    const into = resumed && etcdMayRevoke ? seenAfterResume : seen;
    if (!into.includes(line) && into.length < 10) into.push(line);
  };
  let leasesLostAtResume = leasesLost;
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const now = await ctx.view();
      if (now) {
        for (const p of now.partitions) {
          const key = `${p.topic}-${p.partition}`;
          if (p.errorCode !== ErrorCode.NONE || p.leader < 0) note(`${key} offline (${errorName(p.errorCode)}, leader ${p.leader})`);
          else if (leadersBefore.get(key) !== `leader ${p.leader} epoch ${p.leaderEpoch}`)
            note(`${key} changed leader: ${leadersBefore.get(key)} -> leader ${p.leader} epoch ${p.leaderEpoch}`);
          const leaderNode = cluster.nodes.find((n) => n.id === p.leader);
          if (p.topic === TOPIC && leaderNode?.healthy) {
            await cluster.offsets(leaderNode, p.topic, p.partition).catch((err: unknown) => note(`${key}: its leader ${p.leader} stopped serving: ${(err as Error).message}`));
          }
        }
      }
      await sleep(250);
    }
  })();
  const started = Date.now();
  try {
    if (fault === 'kill-etcd-member') {
      await member.kill();
      await sleep(lostMs);
      await member.restart();
    } else {
      member.pause();
      await sleep(lostMs);
      leasesLostAtResume = leaseLosses(cluster);
      resumed = true;
      member.resume();
    }
    await sleep(1000);
  } finally {
    watching = false;
    await watch;
  }
  const lostWhileGone = (etcdMayRevoke ? leasesLostAtResume : leaseLosses(cluster)) - leasesLost;
  const revokedByEtcd = etcdMayRevoke ? leaseLosses(cluster) - leasesLostAtResume : 0;
  if (lostWhileGone > 0) seen.push(`${lostWhileGone} broker(s) lost their etcd lease and registered again`);
  // No lease lost at the resume: etcd did not revoke, so what followed it is judged as well.
  if (revokedByEtcd === 0) seen.push(...seenAfterResume.filter((l) => !seen.includes(l)));
  let how = fault === 'kill-etcd-member' ? `kill -9 of ${role} (member ${index}), restarted after ${lostMs} ms` : `SIGSTOP of ${role} (member ${index}) for ${lostMs} ms`;
  if (revokedByEtcd > 0) how += `; etcd revoked ${revokedByEtcd} broker lease(s) when its leader woke (etcd issue 15247)`;
  for (const s of seen) violations.push(`cycle ${cycle}: ${how}, a quorum still up: ${s} (within ${Date.now() - started} ms)`);
  const after = await ctx.view();
  const controller = after && after.controller !== ctx.before.controller ? `; the controller moved from ${ctx.before.controller} to ${after.controller}` : '';
  return how + controller;
}

/**
 * A reassignment during load: the replica set of one partition shrinks to two brokers, then grows
 * back to three (the returning replica copies the data again). Probed once: a broker that refuses
 * a valid reassignment does not support it yet, which is reported, never faked.
 */
async function reassign(
  cluster: Cluster,
  v: ClusterView,
  plan: () => number,
  setSupported: (s: boolean) => void,
  supported: boolean | null,
  skipped: string[],
  violations: string[],
): Promise<string> {
  if (supported === false) return 'reassignment skipped (not supported yet)';
  const candidates = v.partitions.filter((p) => p.topic === TOPIC && p.replicas.length === 3);
  const target: PartitionState | undefined = candidates[Math.floor(plan() * candidates.length)];
  const node = cluster.nodes.find((n) => n.healthy);
  if (!target || !node) return 'reassignment skipped (no partition with 3 replicas)';
  const dropped = target.replicas[Math.floor(plan() * 3)]!;
  const smaller = target.replicas.filter((r) => r !== dropped);
  // As an admin client does, a retriable answer (the controller moving: NOT_CONTROLLER, a
  // forwarding that timed out) or a lost connection is retried, through any healthy broker.
  const alter = async (replicas: number[]): Promise<string | null> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const at = cluster.nodes.find((n) => n.healthy) ?? node;
      const answer = await alterOnce(at.realPort, replicas).catch((err: unknown) => `connection: ${String(err)}`);
      const retriable = answer !== null && /^(NOT_CONTROLLER|REQUEST_TIMED_OUT|connection:)/.test(answer);
      if (!retriable || Date.now() > deadline) return answer;
      await sleep(300);
    }
  };
  const alterOnce = async (port: number, replicas: number[]): Promise<string | null> => {
    const c = await RawClient.connect(port);
    try {
      const r = await c.request(
        ApiKey.AlterPartitionReassignments,
        0,
        { timeoutMs: 10_000, topics: [{ name: TOPIC, partitions: [{ partitionIndex: target.partition, replicas }] }] },
        15_000,
      );
      if (r.body.errorCode !== ErrorCode.NONE) return `${errorName(r.body.errorCode)} ${r.body.errorMessage ?? ''}`;
      const p = r.body.responses[0].partitions[0];
      return p.errorCode === ErrorCode.NONE ? null : `${errorName(p.errorCode)} ${p.errorMessage ?? ''}`;
    } finally {
      c.close();
    }
  };
  const done = async (replicas: number[]): Promise<boolean> => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      try {
        const now = (await cluster.view([TOPIC])).partitions.find((p) => p.partition === target.partition);
        if (now && now.replicas.join() === [...replicas].sort().join() && now.isr.length === replicas.length) return true;
      } catch {
        // ask again
      }
      await sleep(200);
    }
    return false;
  };
  const first = await alter(smaller);
  if (first !== null) {
    if (supported === null) {
      setSupported(false);
      skipped.push(`reassignment during load: not yet (AlterPartitionReassignments of ${TOPIC}-${target.partition} to [${smaller}] answered ${first.trim()})`);
      return `reassignment not supported yet (${first.trim()})`;
    }
    violations.push(`reassignment of ${TOPIC}-${target.partition} to [${smaller}] answered ${first.trim()}`);
    return 'reassignment refused';
  }
  setSupported(true);
  if (!(await done(smaller))) violations.push(`reassignment of ${TOPIC}-${target.partition} to [${smaller}] did not complete in 30 s`);
  const second = await alter(target.replicas);
  if (second !== null) violations.push(`reassignment of ${TOPIC}-${target.partition} back to [${target.replicas}] answered ${second.trim()}`);
  else if (!(await done(target.replicas))) violations.push(`reassignment of ${TOPIC}-${target.partition} back to [${target.replicas}] did not complete in 30 s`);
  return `reassignment of ${TOPIC}-${target.partition}: [${target.replicas}] -> [${smaller}] -> [${target.replicas}]`;
}
