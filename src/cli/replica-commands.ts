// `tributary reassign-partitions` and `tributary leader-election`: Kafka's
// kafka-reassign-partitions and kafka-leader-election, with their JSON file formats, over
// AlterPartitionReassignments, ListPartitionReassignments and ElectLeaders.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { Admin, type PartitionOutcome } from '../client/admin.js';
import { KafkaClientError } from '../client/errors.js';
import { assignReplicas } from '../cluster/replica-assignment.js';
import { systemClock } from '../common/clock.js';
import { errorName, KafkaError } from '../protocol/errors.js';
import { connectionOptions, int, usage, withCluster, write, type ConnectionFlags } from './client-commands.js';

/** One entry of a reassignment JSON file: {"version":1,"partitions":[{"topic","partition","replicas","log_dirs"}]}. */
export interface ReassignmentEntry {
  topic: string;
  partition: number;
  replicas: number[];
  /** The log dir of each replica ("any": wherever the broker puts it), when the file gives them. */
  logDirs?: string[];
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    usage(`cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    usage(`${path} is not JSON: ${(err as Error).message}`);
  }
}

/** Parses and checks Kafka's reassignment JSON (log_dirs, when present: "any" or an absolute path per replica). */
export function parseReassignmentJson(doc: unknown): ReassignmentEntry[] {
  const d = doc as { version?: unknown; partitions?: unknown };
  if (typeof d !== 'object' || d === null || !Array.isArray(d.partitions)) usage('the reassignment JSON must be {"version":1,"partitions":[...]}');
  if (d.version !== undefined && d.version !== 1) usage(`unsupported reassignment JSON version ${JSON.stringify(d.version)}`);
  if (d.partitions.length === 0) usage('Partition reassignment list cannot be empty');
  const seen = new Set<string>();
  return d.partitions.map((p: unknown) => {
    const e = p as { topic?: unknown; partition?: unknown; replicas?: unknown; log_dirs?: unknown };
    if (typeof e.topic !== 'string' || e.topic === '') usage('each partition needs a "topic"');
    if (!Number.isInteger(e.partition) || (e.partition as number) < 0) usage(`${e.topic}: "partition" must be an integer >= 0`);
    if (!Array.isArray(e.replicas) || e.replicas.length === 0 || !e.replicas.every((r) => Number.isInteger(r) && r >= 0)) {
      usage(`${e.topic}-${String(e.partition)}: "replicas" must be a non-empty list of broker ids`);
    }
    if (new Set(e.replicas).size !== e.replicas.length) usage(`${e.topic}-${String(e.partition)}: duplicate replicas in ${JSON.stringify(e.replicas)}`);
    if (e.log_dirs !== undefined) {
      if (!Array.isArray(e.log_dirs) || e.log_dirs.length !== e.replicas.length) usage(`${e.topic}-${String(e.partition)}: "log_dirs" must have one entry per replica`);
      if (e.log_dirs.some((l) => typeof l !== 'string' || (l !== 'any' && !l.startsWith('/')))) {
        usage(`${e.topic}-${String(e.partition)}: each of "log_dirs" must be "any" or an absolute path`);
      }
    }
    const key = `${e.topic}-${String(e.partition)}`;
    if (seen.has(key)) usage(`${key} appears twice`);
    seen.add(key);
    return {
      topic: e.topic,
      partition: e.partition as number,
      replicas: e.replicas as number[],
      ...(e.log_dirs !== undefined ? { logDirs: e.log_dirs as string[] } : {}),
    };
  });
}

function assignmentJson(entries: ReassignmentEntry[]): string {
  return JSON.stringify({
    version: 1,
    partitions: entries.map((e) => ({ topic: e.topic, partition: e.partition, replicas: e.replicas, log_dirs: e.replicas.map(() => 'any') })),
  });
}

const name = (p: { topic: string; partition: number }) => `${p.topic}-${p.partition}`;

/** The replica moves between log dirs a reassignment asks for (log_dirs entries other than "any"). */
function replicaMoves(entries: ReassignmentEntry[]): { topic: string; partition: number; broker: number; dir: string }[] {
  return entries.flatMap((e) => (e.logDirs ?? []).flatMap((dir, i) => (dir === 'any' ? [] : [{ topic: e.topic, partition: e.partition, broker: e.replicas[i]!, dir }])));
}

const replicaName = (m: { topic: string; partition: number; broker: number }) => `${m.topic}-${m.partition}-${m.broker}`;

/**
 * Asks each broker to move its replicas to the log dirs named, as Kafka's tool does after the
 * reassignment: a replica the broker does not host yet (REPLICA_NOT_AVAILABLE; it remembers the
 * dir) is asked again until it exists or 10 s have passed.
 */
async function moveReplicas(admin: Admin, moves: ReturnType<typeof replicaMoves>): Promise<void> {
  if (moves.length === 0) return;
  let pending = moves;
  const deadline = systemClock.monotonicMs() + 10_000;
  for (;;) {
    const retry: typeof moves = [];
    const failed: { move: (typeof moves)[number]; error: string }[] = [];
    for (const broker of [...new Set(pending.map((m) => m.broker))]) {
      const mine = pending.filter((m) => m.broker === broker);
      const outcomes = await admin.alterReplicaLogDirs(broker, mine);
      for (const m of mine) {
        const o = outcomes.find((x) => x.topic === m.topic && x.partition === m.partition);
        if (!o || o.error === null) continue;
        if (o.error === 'REPLICA_NOT_AVAILABLE') retry.push(m);
        else failed.push({ move: m, error: o.error });
      }
    }
    if (failed.length > 0) {
      await write('Error moving replica(s) between log dirs:\n');
      for (const f of failed) await write(`${replicaName(f.move)}: ${f.error}\n`);
      throw new KafkaClientError(failed[0]!.error, `${failed.length} replica move(s) failed: ${failed.map((f) => replicaName(f.move)).join(',')}`);
    }
    if (retry.length === 0 || systemClock.monotonicMs() > deadline) {
      const started = moves.filter((m) => !retry.includes(m));
      if (started.length > 0) await write(`Successfully started log directory move${started.length > 1 ? 's' : ''} for: ${started.map(replicaName).join(',')}\n`);
      if (retry.length > 0) throw new KafkaClientError('REPLICA_NOT_AVAILABLE', `replica(s) not created in time to move: ${retry.map(replicaName).join(',')}`);
      return;
    }
    pending = retry;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** --verify of the log dir moves, with the lines Kafka's tool prints; true when all are done. */
async function verifyReplicaMoves(admin: Admin, moves: ReturnType<typeof replicaMoves>): Promise<boolean> {
  if (moves.length === 0) return true;
  await write('\nReassignment of replica(s) between log dirs:\n');
  let done = true;
  for (const broker of [...new Set(moves.map((m) => m.broker))]) {
    const dirs = await admin.describeReplicaLogDirs(broker);
    for (const m of moves.filter((x) => x.broker === broker)) {
      const state = dirs.get(name(m));
      if (state?.dir === m.dir && state.futureDir === null) {
        await write(`Reassignment of replica ${replicaName(m)} completed successfully.\n`);
        continue;
      }
      done = false;
      if (!state || state.dir === null) {
        await write(`Partition ${name(m)} is not found in any live log dir on broker ${broker}. There is likely an offline log directory on the broker.\n`);
      } else if (state.futureDir === m.dir) {
        await write(`Reassignment of replica ${replicaName(m)} is still in progress.\n`);
      } else {
        await write(`Partition ${name(m)} on broker ${broker} is not being moved from log dir ${state.dir} to ${m.dir}.\n`);
      }
    }
  }
  return done;
}

/** Throws one error for the failed partitions after printing each. */
async function reportFailures(outcomes: PartitionOutcome[], what: string): Promise<void> {
  const failed = outcomes.filter((o) => o.error !== null);
  if (failed.length === 0) return;
  await write(`Error ${what}:\n`);
  for (const f of failed) await write(`${name(f)}: ${f.error}${f.message ? `: ${f.message}` : ''}\n`);
  throw new KafkaClientError(failed[0]!.error!, `${failed.length} partition(s) failed: ${failed.map(name).join(',')}`);
}

const THROTTLE_RATES = ['leader.replication.throttled.rate', 'follower.replication.throttled.rate'];
const THROTTLE_REPLICAS = ['leader.replication.throttled.replicas', 'follower.replication.throttled.replicas'];

async function clearThrottles(admin: Admin, brokers: number[], topics: string[]): Promise<void> {
  await write(`Clearing broker-level throttles on brokers ${brokers.join(',')}\n`);
  for (const b of brokers) await admin.alterConfigs({ type: 'broker', name: String(b) }, { delete: THROTTLE_RATES });
  for (const t of topics) {
    await write(`Clearing topic-level throttles on topic ${t}\n`);
    await admin.alterConfigs({ type: 'topic', name: t }, { delete: THROTTLE_REPLICAS });
  }
}

/**
 * --generate: the current assignment of the topics to move and a proposal placing their
 * partitions over the given brokers with the rules topic creation uses (Kafka's), keeping each
 * partition's replication factor.
 */
async function generate(
  admin: Admin,
  brokers: ReadonlyMap<number, { nodeId: number; rack: string | null }>,
  opts: { topicsToMoveJsonFile?: string; brokerList?: string; disableRackAware?: boolean },
): Promise<void> {
  if (opts.topicsToMoveJsonFile === undefined || opts.brokerList === undefined) usage('--generate needs --topics-to-move-json-file and --broker-list');
  const doc = readJson(opts.topicsToMoveJsonFile) as { topics?: unknown };
  if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.topics) || doc.topics.length === 0)
    usage('the topics JSON must be {"version":1,"topics":[{"topic":"t"}]}');
  const topics = doc.topics.map((t: unknown) => {
    const name = (t as { topic?: unknown }).topic;
    if (typeof name !== 'string' || name === '') usage('each entry of "topics" needs a "topic"');
    return name;
  });
  const ids = opts.brokerList.split(',').map((x) => int('--broker-list', x.trim(), 0)!);
  if (new Set(ids).size !== ids.length) usage(`--broker-list has duplicates: ${opts.brokerList}`);
  const infos = await admin.describeTopics(topics);
  const placement = ids.map((nodeId) => ({ nodeId, rack: opts.disableRackAware ? null : (brokers.get(nodeId)?.rack ?? null) }));
  const current: ReassignmentEntry[] = [];
  const proposed: ReassignmentEntry[] = [];
  for (const t of infos) {
    const parts = [...t.partitions].sort((a, b) => a.partition - b.partition);
    const rf = parts[0]?.replicas.length ?? 1;
    let lists: number[][];
    try {
      lists = assignReplicas(placement, parts.length, rf);
    } catch (err) {
      if (err instanceof KafkaError) throw new KafkaClientError(errorName(err.code), err.message, err.code);
      throw err;
    }
    parts.forEach((p, i) => {
      current.push({ topic: t.name, partition: p.partition, replicas: p.replicas });
      proposed.push({ topic: t.name, partition: p.partition, replicas: lists[i]! });
    });
  }
  await write(`Current partition replica assignment\n${assignmentJson(current)}\n\nProposed partition reassignment configuration\n${assignmentJson(proposed)}\n`);
}

function reassignCommand(): Command {
  return connectionOptions(
    new Command('reassign-partitions')
      .description("move partitions between brokers (kafka-reassign-partitions' JSON format)")
      .option('--reassignment-json-file <file>', '{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3]}]}')
      .option('--generate', 'propose a reassignment of --topics-to-move-json-file over --broker-list (nothing is changed)')
      .option('--topics-to-move-json-file <file>', 'with --generate: {"version":1,"topics":[{"topic":"t"}]}')
      .option('--broker-list <ids>', 'with --generate: the brokers to place replicas on, e.g. 1,2,3')
      .option('--disable-rack-aware', "with --generate: ignore the brokers' racks")
      .option('--execute', 'start the reassignment (prints the current assignment, for a rollback)')
      .option('--verify', 'report whether each reassignment completed; clears the throttles once all have')
      .option('--cancel', 'cancel the reassignments in progress (the partitions go back to their replicas)')
      .option('--throttle <bytes/s>', 'with --execute: limit the copy (leader/follower.replication.throttled.rate on the brokers involved)')
      .addOption(new Option('--preserve-throttles', 'with --verify or --cancel: do not clear the throttles')),
  ).action(
    (
      opts: ConnectionFlags & {
        reassignmentJsonFile?: string;
        generate?: boolean;
        topicsToMoveJsonFile?: string;
        brokerList?: string;
        disableRackAware?: boolean;
        execute?: boolean;
        verify?: boolean;
        cancel?: boolean;
        throttle?: string;
        preserveThrottles?: boolean;
      },
    ) =>
      withCluster(opts, async (cluster) => {
        const actions = [opts.generate, opts.execute, opts.verify, opts.cancel].filter(Boolean).length;
        if (actions !== 1) usage('give exactly one of --generate, --execute, --verify or --cancel');
        const throttle = int('--throttle', opts.throttle, 1);
        if (throttle !== undefined && !opts.execute) usage('--throttle goes with --execute');
        const admin = new Admin(cluster);
        if (opts.generate) {
          await generate(admin, cluster.brokers, opts);
          return;
        }
        if (opts.reassignmentJsonFile === undefined) usage('--reassignment-json-file is required with --execute, --verify or --cancel');
        const entries = parseReassignmentJson(readJson(opts.reassignmentJsonFile));
        const topics = [...new Set(entries.map((e) => e.topic))];
        const infos = await admin.describeTopics(topics);
        const current = (e: { topic: string; partition: number }) => {
          const p = infos.find((t) => t.name === e.topic)?.partitions.find((x) => x.partition === e.partition);
          if (!p) throw new KafkaClientError('UNKNOWN_TOPIC_OR_PARTITION', `partition ${name(e)} does not exist`);
          return p;
        };
        if (opts.execute) {
          const before = entries.map((e) => ({ topic: e.topic, partition: e.partition, replicas: current(e).replicas }));
          await write(`Current partition replica assignment\n\n${assignmentJson(before)}\n\nSave this to use as the --reassignment-json-file option during rollback\n`);
          if (throttle !== undefined) {
            const brokers = [...new Set(entries.flatMap((e) => [...current(e).replicas, ...e.replicas]))].sort((a, b) => a - b);
            for (const b of brokers) {
              await admin.alterConfigs({ type: 'broker', name: String(b) }, { set: Object.fromEntries(THROTTLE_RATES.map((k) => [k, String(throttle)])) });
            }
            for (const t of topics) {
              const mine = entries.filter((e) => e.topic === t);
              const leaders = mine.flatMap((e) => current(e).replicas.map((r) => `${e.partition}:${r}`));
              const followers = mine.flatMap((e) => e.replicas.filter((r) => !current(e).replicas.includes(r)).map((r) => `${e.partition}:${r}`));
              await admin.alterConfigs(
                { type: 'topic', name: t },
                { set: { 'leader.replication.throttled.replicas': leaders.join(','), 'follower.replication.throttled.replicas': followers.join(',') } },
              );
            }
            await write(`Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\n`);
            await write(`The inter-broker throttle limit was set to ${throttle} B/s\n`);
          }
          await reportFailures(await admin.alterPartitionReassignments(entries), 'reassigning partition(s)');
          await write(`Successfully started partition reassignment${entries.length > 1 ? 's' : ''} for ${entries.map(name).join(',')}\n`);
          await moveReplicas(admin, replicaMoves(entries));
          return;
        }
        if (opts.cancel) {
          const outcomes = await admin.alterPartitionReassignments(entries.map((e) => ({ topic: e.topic, partition: e.partition, replicas: null })));
          const cancelled = outcomes.filter((o) => o.error === null);
          const none = outcomes.filter((o) => o.error === 'NO_REASSIGNMENT_IN_PROGRESS');
          await reportFailures(
            outcomes.filter((o) => o.error !== 'NO_REASSIGNMENT_IN_PROGRESS'),
            'cancelling partition reassignment(s)',
          );
          if (cancelled.length > 0) await write(`Successfully cancelled partition reassignment${cancelled.length > 1 ? 's' : ''} for: ${cancelled.map(name).join(',')}\n`);
          if (none.length > 0) await write(`None of the specified partition reassignments are active for: ${none.map(name).join(',')}\n`);
          if (!opts.preserveThrottles)
            await clearThrottles(
              admin,
              [...cluster.brokers.keys()].sort((a, b) => a - b),
              topics,
            );
          return;
        }
        // --verify
        const active = await admin.listPartitionReassignments(topics.map((t) => ({ topic: t, partitions: entries.filter((e) => e.topic === t).map((e) => e.partition) })));
        await write('Status of partition reassignment:\n');
        let done = true;
        for (const e of entries) {
          if (active.some((a) => a.topic === e.topic && a.partition === e.partition)) {
            done = false;
            await write(`Reassignment of partition ${name(e)} is still in progress.\n`);
            continue;
          }
          const replicas = current(e).replicas;
          if (replicas.join(',') === e.replicas.join(',')) await write(`Reassignment of partition ${name(e)} is completed.\n`);
          else {
            done = false;
            await write(`There is no active reassignment of partition ${name(e)}, but replica set is ${replicas.join(',')} rather than ${e.replicas.join(',')}.\n`);
          }
        }
        if (!(await verifyReplicaMoves(admin, replicaMoves(entries)))) done = false;
        if (done && !opts.preserveThrottles) {
          await write('\n');
          await clearThrottles(
            admin,
            [...cluster.brokers.keys()].sort((a, b) => a - b),
            topics,
          );
        }
      }),
  );
}

function leaderElectionCommand(): Command {
  return connectionOptions(
    new Command('leader-election')
      .description('elect partition leaders (kafka-leader-election): preferred, or unclean for partitions without an in-sync replica')
      .addOption(
        new Option('--election-type <type>', 'preferred or unclean (any case)')
          .argParser((v) => {
            const t = v.toLowerCase();
            if (t !== 'preferred' && t !== 'unclean') usage(`--election-type must be preferred or unclean, got "${v}"`);
            return t;
          })
          .makeOptionMandatory(),
      )
      .option('--all-topic-partitions', 'every partition that needs an election')
      .option('--topic <topic>', 'one topic (with --partition)')
      .option('--partition <n>', 'the partition of --topic')
      .option('--path-to-json-file <file>', '{"partitions":[{"topic":"t","partition":0}]}'),
  ).action((opts: ConnectionFlags & { electionType: 'preferred' | 'unclean'; allTopicPartitions?: boolean; topic?: string; partition?: string; pathToJsonFile?: string }) =>
    withCluster(opts, async (cluster) => {
      const sources = [opts.allTopicPartitions, opts.topic !== undefined, opts.pathToJsonFile !== undefined].filter(Boolean).length;
      if (sources !== 1) usage('give exactly one of --all-topic-partitions, --topic/--partition or --path-to-json-file');
      let partitions: { topic: string; partition: number }[] | null = null;
      if (opts.topic !== undefined) {
        const p = int('--partition', opts.partition, 0);
        if (p === undefined) usage('--topic needs --partition');
        partitions = [{ topic: opts.topic, partition: p }];
      } else if (opts.pathToJsonFile !== undefined) {
        const doc = readJson(opts.pathToJsonFile) as { partitions?: unknown };
        if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.partitions)) usage('the JSON file must be {"partitions":[{"topic":"t","partition":0}]}');
        partitions = doc.partitions.map((x: unknown) => {
          const e = x as { topic?: unknown; partition?: unknown };
          if (typeof e.topic !== 'string' || !Number.isInteger(e.partition)) usage('each partition needs "topic" and an integer "partition"');
          return { topic: e.topic, partition: e.partition as number };
        });
      }
      const outcomes = await new Admin(cluster).electLeaders(opts.electionType, partitions);
      const type = opts.electionType.toUpperCase();
      const succeeded = outcomes.filter((o) => o.error === null);
      const noop = outcomes.filter((o) => o.error === 'ELECTION_NOT_NEEDED');
      const failed = outcomes.filter((o) => o.error !== null && o.error !== 'ELECTION_NOT_NEEDED');
      if (succeeded.length > 0) await write(`Successfully completed leader election (${type}) for partitions ${succeeded.map(name).join(', ')}\n`);
      if (noop.length > 0) await write(`Valid replica already elected for partitions ${noop.map(name).join(', ')}\n`);
      if (failed.length > 0) {
        for (const f of failed) await write(`Error completing leader election (${type}) for partition: ${name(f)}: ${f.error}${f.message ? `: ${f.message}` : ''}\n`);
        throw new KafkaClientError(failed[0]!.error!, `${failed.length} replica(s) could not be elected`);
      }
    }),
  );
}

export function addReplicaCommands(program: Command): void {
  program.addCommand(reassignCommand());
  program.addCommand(leaderElectionCommand());
}
