// The client side of the `tributary` CLI: topics, produce, consume, groups, configs. Every
// command talks the Kafka protocol through src/client (our generated codecs), so it works against
// any Kafka-compatible broker. Results go to stdout; progress goes to stderr only on a TTY;
// failures become one line `tributary: <KAFKA_ERROR_NAME>: message` (see main.ts).
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command, Option } from 'commander';
import { Admin, isConsumerGroupListing, type ConfigResource } from '../client/admin.js';
import { Cluster } from '../client/cluster.js';
import { Consumer, type ConsumerRecord, type StartPosition } from '../client/consumer.js';
import { KafkaClientError } from '../client/errors.js';
import { Producer, type Acks } from '../client/producer.js';
import { GroupConsumer } from '../client/group-consumer.js';
import type { CompressionName } from '../protocol/records/compression.js';
import { securityFromProperties } from './client-properties.js';
import type { ClientSecurity } from '../client/sasl.js';
import { loadPropertiesFile } from '../config/config.js';

const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

export interface ConnectionFlags {
  bootstrapServer: string;
  timeout: string;
  /** Kafka's client properties file (security.protocol, ssl.*, sasl.*), as Kafka's tools take it. */
  commandConfig?: string;
}

export function usage(message: string): never {
  throw new KafkaClientError('INVALID_REQUEST', message);
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function int(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) usage(`${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

/** k=v pairs, from repeated flags each possibly holding a comma-separated list. */
function keyValues(list: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list.flatMap((s) => s.split(','))) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) usage(`${flag} expects key=value, got "${item}"`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1);
  }
  return out;
}

function parseTimestamp(s: string): number {
  const n = Number(s);
  if (s.trim() !== '' && Number.isFinite(n)) return n;
  const t = Date.parse(s);
  if (Number.isNaN(t)) usage(`cannot read "${s}" as a timestamp (epoch ms or an ISO-8601 date)`);
  return t;
}

/** TLS and SASL from --command-config. */
function securityOf(flags: ConnectionFlags): ClientSecurity | undefined {
  if (flags.commandConfig === undefined) return undefined;
  let props: Record<string, string>;
  try {
    props = loadPropertiesFile(flags.commandConfig);
  } catch (err) {
    usage(`--command-config: cannot read ${flags.commandConfig}: ${(err as Error).message}`);
  }
  try {
    return securityFromProperties(props);
  } catch (err) {
    usage(`--command-config ${flags.commandConfig}: ${(err as Error).message}`);
  }
}

export function makeCluster(flags: ConnectionFlags): Cluster {
  const timeout = int('--timeout', flags.timeout, 1)!;
  return new Cluster({
    bootstrap: flags.bootstrapServer,
    clientId: 'tributary-cli',
    connectTimeoutMs: Math.min(timeout, 10_000),
    requestTimeoutMs: timeout,
    security: securityOf(flags),
  });
}

/** Runs an action with a cluster that is always closed afterwards. */
export async function withCluster<T>(flags: ConnectionFlags, fn: (cluster: Cluster) => Promise<T>): Promise<T> {
  const cluster = makeCluster(flags);
  try {
    return await fn(cluster);
  } finally {
    await cluster.close();
  }
}

const progressEnabled = () => process.stderr.isTTY === true;
function progress(message: string): void {
  if (progressEnabled()) process.stderr.write(`\r\x1b[K${message}`);
}
function progressDone(message: string): void {
  if (progressEnabled()) process.stderr.write(`\r\x1b[K${message}\n`);
}

export async function write(s: string): Promise<void> {
  if (!process.stdout.write(s)) await new Promise<void>((r) => process.stdout.once('drain', r));
}

/** Adds --bootstrap-server, --command-config and --timeout to a command. */
export function connectionOptions(cmd: Command): Command {
  return cmd
    .option('--bootstrap-server <host:port>', 'broker to connect to (comma-separated list allowed)', DEFAULT_BOOTSTRAP)
    .option('--command-config <file>', 'Kafka client properties: security.protocol, ssl.truststore.location, ssl.keystore.location, sasl.mechanism, sasl.jaas.config')
    .option('--timeout <ms>', 'bound on connecting (at most 10 s) and on each request', '30000');
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

// ---------------------------------------------------------------- topics

function topicsCommand(): Command {
  const topics = new Command('topics').description('list, describe, create, delete and alter topics');

  connectionOptions(topics.command('list').description('list topic names'))
    .option('--internal', 'include internal topics (e.g. __consumer_offsets)')
    .action((opts: ConnectionFlags & { internal?: boolean }) =>
      withCluster(opts, async (cluster) => {
        for (const name of await new Admin(cluster).listTopics({ includeInternal: opts.internal })) await write(`${name}\n`);
      }),
    );

  connectionOptions(topics.command('describe').description('partitions, leaders, replicas, ISR and non-default configs').argument('[topics...]', 'topics (default: all)'))
    .option('--json', 'print JSON instead of text')
    .option('--internal', 'include internal topics when describing all')
    .option('--under-replicated-partitions', 'only partitions whose ISR is smaller than their replica list')
    .option('--unavailable-partitions', 'only partitions without a leader')
    .action((names: string[], opts: ConnectionFlags & { json?: boolean; internal?: boolean; underReplicatedPartitions?: boolean; unavailablePartitions?: boolean }) =>
      withCluster(opts, async (cluster) => {
        const admin = new Admin(cluster);
        const filtered = opts.underReplicatedPartitions || opts.unavailablePartitions;
        const keep = (p: { leader: number; replicas: number[]; isr: number[] }) =>
          (opts.underReplicatedPartitions === true && p.isr.length < p.replicas.length) || (opts.unavailablePartitions === true && p.leader < 0);
        const infos = (await admin.describeTopics(names))
          .filter((t) => names.length > 0 || opts.internal || !t.isInternal)
          .map((t) => (filtered ? { ...t, partitions: t.partitions.filter(keep) } : t))
          .filter((t) => !filtered || t.partitions.length > 0);
        const described = [];
        for (const t of infos) {
          const configs = (await admin.describeConfigs({ type: 'topic', name: t.name })).filter((c) => c.source === 'DYNAMIC_TOPIC_CONFIG');
          described.push({ ...t, configs: Object.fromEntries(configs.map((c) => [c.name, c.isSensitive ? null : c.value])) });
        }
        if (opts.json) {
          await write(JSON.stringify(described, null, 2) + '\n');
          return;
        }
        for (const t of described) {
          const rf = t.partitions[0]?.replicas.length ?? 0;
          const cfg = Object.entries(t.configs)
            .map(([k, v]) => `${k}=${v ?? '(sensitive)'}`)
            .join(',');
          await write(`Topic: ${t.name}\tTopicId: ${t.topicId}\tPartitionCount: ${t.partitions.length}\tReplicationFactor: ${rf}\tConfigs: ${cfg}\n`);
          for (const p of t.partitions) {
            await write(`\tTopic: ${t.name}\tPartition: ${p.partition}\tLeader: ${p.leader}\tReplicas: ${p.replicas.join(',')}\tIsr: ${p.isr.join(',')}\n`);
          }
        }
      }),
    );

  connectionOptions(topics.command('create').description('create a topic').argument('<topic>'))
    .option('--partitions <n>', "partition count (default: the broker's num.partitions)")
    .option('--replication-factor <n>', "replicas per partition (default: the broker's default)")
    .option('--config <key=value>', 'topic config (repeatable, or comma-separated)', collect, [])
    .option('--if-not-exists', 'succeed when the topic already exists')
    .option('--validate-only', 'ask the broker to check the request without creating anything')
    .action((topic: string, opts: ConnectionFlags & { partitions?: string; replicationFactor?: string; config: string[]; ifNotExists?: boolean; validateOnly?: boolean }) =>
      withCluster(opts, async (cluster) => {
        try {
          await new Admin(cluster).createTopics(
            [
              {
                name: topic,
                partitions: int('--partitions', opts.partitions, 1) ?? -1,
                replicationFactor: int('--replication-factor', opts.replicationFactor, 1) ?? -1,
                configs: keyValues(opts.config, '--config'),
              },
            ],
            { validateOnly: opts.validateOnly },
          );
        } catch (err) {
          if (opts.ifNotExists && err instanceof KafkaClientError && err.type === 'TOPIC_ALREADY_EXISTS') return;
          throw err;
        }
        await write(`${opts.validateOnly ? 'Valid' : 'Created'} topic ${topic}.\n`);
      }),
    );

  connectionOptions(topics.command('delete').description('delete topics').argument('<topics...>'))
    .option('--if-exists', 'succeed when a topic does not exist')
    .action((names: string[], opts: ConnectionFlags & { ifExists?: boolean }) =>
      withCluster(opts, async (cluster) => {
        const admin = new Admin(cluster);
        for (const name of names) {
          try {
            await admin.deleteTopics([name]);
            await write(`Deleted topic ${name}.\n`);
          } catch (err) {
            if (opts.ifExists && err instanceof KafkaClientError && err.type === 'UNKNOWN_TOPIC_OR_PARTITION') continue;
            throw err;
          }
        }
      }),
    );

  connectionOptions(topics.command('alter').description('add partitions and change topic configs').argument('<topic>'))
    .option('--partitions <n>', 'new (larger) partition count')
    .option('--config <key=value>', 'set a topic config (repeatable, or comma-separated)', collect, [])
    .option('--delete-config <key>', 'remove a topic config override (repeatable)', collect, [])
    .action((topic: string, opts: ConnectionFlags & { partitions?: string; config: string[]; deleteConfig: string[] }) =>
      withCluster(opts, async (cluster) => {
        const admin = new Admin(cluster);
        const partitions = int('--partitions', opts.partitions, 1);
        const set = keyValues(opts.config, '--config');
        const del = opts.deleteConfig.flatMap((s) => s.split(',')).filter((s) => s !== '');
        if (partitions === undefined && Object.keys(set).length === 0 && del.length === 0) usage('nothing to alter: give --partitions, --config or --delete-config');
        if (partitions !== undefined) {
          await admin.createPartitions(topic, partitions);
          await write(`Topic ${topic} now has ${partitions} partitions.\n`);
        }
        if (Object.keys(set).length > 0 || del.length > 0) {
          await admin.describeTopics([topic]); // a clear UNKNOWN_TOPIC_OR_PARTITION first
          await admin.alterConfigs({ type: 'topic', name: topic }, { set, delete: del });
          await write(`Altered configs of topic ${topic}.\n`);
        }
      }),
    );
  return topics;
}

// ---------------------------------------------------------------- produce

function produceCommand(): Command {
  return connectionOptions(
    new Command('produce')
      .description('produce one record per input line (stdin, or --file)')
      .argument('<topic>')
      .option('--file <path>', 'read lines from this file instead of stdin')
      .option('--key-separator <sep>', 'split each line at the first <sep> into key and value (lines without it are an error)')
      .option('--header <key=value>', 'a header on every record (repeatable)', collect, [])
      .option('--partition <n>', 'write to this partition (default: by key, murmur2 as the Java client; unkeyed: sticky random)')
      .addOption(new Option('--compression <codec>', 'batch compression').choices(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('none'))
      .addOption(new Option('--acks <acks>', 'acknowledgement level').choices(['0', '1', '-1', 'all']).default('all'))
      .option('--idempotent', 'idempotent producer: retried batches are written once (needs --acks all)')
      .option('--linger-ms <ms>', 'wait this long for more lines before sending a batch', '5')
      .option('--batch-size <records>', 'records per batch at most', '10000'),
  ).action(
    (
      topic: string,
      opts: ConnectionFlags & {
        file?: string;
        keySeparator?: string;
        header: string[];
        partition?: string;
        compression: string;
        acks: string;
        idempotent?: boolean;
        lingerMs: string;
        batchSize: string;
      },
    ) =>
      withCluster(opts, async (cluster) => {
        const headers = Object.entries(keyValues(opts.header, '--header')).map(([key, value]) => ({ key, value }));
        const partition = int('--partition', opts.partition);
        const acks = (opts.acks === 'all' ? -1 : Number(opts.acks)) as Acks;
        const producer = new Producer(cluster, {
          acks,
          compression: opts.compression as CompressionName,
          lingerMs: int('--linger-ms', opts.lingerMs)!,
          batchRecords: int('--batch-size', opts.batchSize, 1)!,
          idempotent: opts.idempotent === true,
        });
        // Fail early and clearly on a topic that cannot be written (auto-creation as Kafka's producers do).
        await cluster.topic(topic, { allowAutoTopicCreation: true });
        const input = opts.file ? createReadStream(opts.file) : process.stdin;
        const lines = createInterface({ input, crlfDelay: Infinity });
        let pending: Promise<unknown>[] = [];
        let sent = 0;
        let lineNo = 0;
        for await (const line of lines) {
          lineNo++;
          let key: string | null = null;
          let value = line;
          if (opts.keySeparator !== undefined) {
            const at = line.indexOf(opts.keySeparator);
            if (at < 0) throw new KafkaClientError('INVALID_RECORD', `line ${lineNo} has no key separator "${opts.keySeparator}"`);
            key = line.slice(0, at);
            value = line.slice(at + opts.keySeparator.length);
          }
          pending.push(producer.produce(topic, { key, value, headers, partition }));
          if (pending.length >= 10_000) {
            await Promise.all(pending);
            sent += pending.length;
            pending = [];
            progress(`${sent} records produced`);
          }
        }
        await producer.flush();
        await Promise.all(pending);
        sent += pending.length;
        progressDone(`${sent} records produced to ${topic}`);
      }),
  );
}

// ---------------------------------------------------------------- consume

function recordText(r: ConsumerRecord, printKey: boolean, sep: string): string {
  const value = r.value === null ? 'null' : r.value.toString('utf8');
  return printKey ? `${r.key === null ? 'null' : r.key.toString('utf8')}${sep}${value}\n` : `${value}\n`;
}

function recordJson(r: ConsumerRecord): string {
  return (
    JSON.stringify({
      topic: r.topic,
      partition: r.partition,
      offset: r.offset,
      timestamp: r.timestamp,
      key: r.key === null ? null : r.key.toString('utf8'),
      value: r.value === null ? null : r.value.toString('utf8'),
      headers: r.headers.map((h) => ({ key: h.key, value: h.value === null ? null : h.value.toString('utf8') })),
    }) + '\n'
  );
}

function consumeCommand(): Command {
  return connectionOptions(
    new Command('consume')
      .description('print records of a topic; stops at the end of the log unless --follow')
      .argument('<topic>')
      .option('--from-beginning', 'start at the log start (the default without --follow; with --group, for partitions the group has not committed)')
      .option('--offset <n|beginning|end>', 'start at this offset (needs --partition when the topic has several partitions, unless beginning/end)')
      .option('--timestamp <ms|ISO-8601>', 'start at the first record with a timestamp at or after this time')
      .option('--partition <n>', 'only this partition (default: all)')
      .option('--group <id>', 'consume as a member of this consumer group: share partitions with its other members, start at its committed offsets, commit as you go')
      .option('--max-messages <n>', 'stop after this many records')
      .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
      .option('--print-key', 'text format: print the key before the value')
      .option('--key-separator <sep>', 'text format: between key and value', '\t')
      .option('--follow', 'keep waiting for new records (long poll) instead of stopping at the end'),
  ).action(
    (
      topic: string,
      opts: ConnectionFlags & {
        fromBeginning?: boolean;
        offset?: string;
        timestamp?: string;
        partition?: string;
        group?: string;
        maxMessages?: string;
        format: string;
        printKey?: boolean;
        keySeparator: string;
        follow?: boolean;
      },
    ) =>
      withCluster(opts, async (cluster) => {
        const starts = [opts.fromBeginning, opts.offset !== undefined, opts.timestamp !== undefined].filter(Boolean).length;
        if (starts > 1) usage('give only one of --from-beginning, --offset and --timestamp');
        const maxMessages = int('--max-messages', opts.maxMessages, 1);
        const partition = int('--partition', opts.partition);
        let start: StartPosition = opts.follow ? 'latest' : 'earliest';
        if (opts.fromBeginning) start = 'earliest';
        else if (opts.timestamp !== undefined) start = { timestamp: parseTimestamp(opts.timestamp) };
        else if (opts.offset === 'beginning' || opts.offset === 'earliest') start = 'earliest';
        else if (opts.offset === 'end' || opts.offset === 'latest') start = 'latest';
        else if (opts.offset !== undefined) start = { offset: int('--offset', opts.offset)! };

        const abort = new AbortController();
        const onSignal = () => abort.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        let count = 0;
        const print = async (r: ConsumerRecord) => {
          await write(opts.format === 'json' ? recordJson(r) : recordText(r, opts.printKey === true, opts.keySeparator));
          count++;
          if (count % 10_000 === 0) progress(`${count} records`);
        };
        try {
          if (opts.group !== undefined) {
            // A real group member: partitions are shared with the group's other members.
            if (opts.offset !== undefined || opts.timestamp !== undefined || partition !== undefined) {
              usage('--group cannot be combined with --offset, --timestamp or --partition (use `tributary groups reset-offsets`)');
            }
            await cluster.topic(topic, { refresh: true });
            const member = new GroupConsumer(cluster, { groupId: opts.group, resetTo: start === 'latest' ? 'latest' : 'earliest' });
            member.subscribe([topic]);
            try {
              for await (const r of member.records({ follow: opts.follow, maxMessages, signal: abort.signal })) await print(r);
            } finally {
              await member.close();
            }
          } else {
            const consumer = new Consumer(cluster);
            const info = await cluster.topic(topic, { refresh: true });
            const partitions = partition === undefined ? info.partitions.map((p) => p.partition) : [partition];
            if (typeof start === 'object' && 'offset' in start && partitions.length > 1)
              usage(`--offset needs --partition: topic "${topic}" has ${partitions.length} partitions`);
            await consumer.assign(topic, start, partitions);
            for await (const r of consumer.records({ follow: opts.follow, maxMessages, signal: abort.signal })) await print(r);
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        progressDone(`${count} records consumed`);
      }),
  );
}

// ---------------------------------------------------------------- groups

function groupsCommand(): Command {
  const groups = new Command('groups').description('list, describe, delete consumer groups and reset their offsets');

  connectionOptions(groups.command('list').description('list consumer groups (and streams groups)'))
    .option('--state', "also print each group's state, protocol type and type (classic, consumer, streams)")
    .option('--all', 'list every group: also other classic protocols (e.g. connect) and share groups')
    .action((opts: ConnectionFlags & { state?: boolean; all?: boolean }) =>
      withCluster(opts, async (cluster) => {
        // Consumer groups as Kafka's admin client lists them (protocol type consumer or none),
        // and streams groups, which this command also describes.
        const list = (await new Admin(cluster).listGroups()).filter((g) => opts.all || isConsumerGroupListing(g) || g.type === 'streams');
        if (opts.state) {
          if (list.length > 0)
            await write(table([['GROUP', 'STATE', 'PROTOCOL-TYPE', 'TYPE'], ...list.map((g) => [g.groupId, g.state || '-', g.protocolType || '-', g.type])]));
        } else for (const g of list) await write(`${g.groupId}\n`);
      }),
    );

  connectionOptions(groups.command('describe').description('members and, per partition, committed offset, log end offset and lag').argument('<groups...>'))
    .option('--json', 'print JSON instead of a table')
    .action((ids: string[], opts: ConnectionFlags & { json?: boolean }) =>
      withCluster(opts, async (cluster) => {
        const admin = new Admin(cluster);
        const all = [];
        for (const desc of await admin.describeGroups(ids)) {
          const committed = await admin.fetchOffsets(desc.groupId);
          if (desc.state === 'Dead' && committed.length === 0) throw new KafkaClientError('GROUP_ID_NOT_FOUND', `group "${desc.groupId}" does not exist`);
          const owner = new Map<string, (typeof desc.members)[number]>();
          for (const m of desc.members) for (const a of m.assignment) for (const p of a.partitions) owner.set(`${a.topic}\u0000${p}`, m);
          const keys = new Map<string, { topic: string; partition: number; current: number | null }>();
          for (const c of committed) keys.set(`${c.topic}\u0000${c.partition}`, { topic: c.topic, partition: c.partition, current: c.offset });
          for (const k of owner.keys()) if (!keys.has(k)) keys.set(k, { topic: k.split('\u0000')[0]!, partition: Number(k.split('\u0000')[1]), current: null });
          const topics = [...new Set([...keys.values()].map((k) => k.topic))];
          const ends = new Map<string, number>();
          for (const t of topics) {
            try {
              for (const o of await admin.listOffsets(t, 'latest')) ends.set(`${t}\u0000${o.partition}`, o.offset);
            } catch (err) {
              if (!(err instanceof KafkaClientError && err.type === 'UNKNOWN_TOPIC_OR_PARTITION')) throw err;
            }
          }
          const rows = [...keys.entries()]
            .map(([k, v]) => {
              const end = ends.get(k) ?? null;
              const m = owner.get(k);
              return {
                group: desc.groupId,
                topic: v.topic,
                partition: v.partition,
                currentOffset: v.current,
                logEndOffset: end,
                lag: v.current !== null && end !== null ? Math.max(0, end - v.current) : null,
                consumerId: m?.memberId ?? null,
                host: m?.clientHost ?? null,
                clientId: m?.clientId ?? null,
              };
            })
            .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
          all.push({
            group: desc.groupId,
            type: desc.type,
            state: desc.state,
            protocolType: desc.protocolType,
            protocol: desc.protocol,
            members: desc.members,
            partitions: rows,
          });
        }
        if (opts.json) {
          await write(JSON.stringify(all, null, 2) + '\n');
          return;
        }
        const dash = (v: string | number | null) => (v === null || v === '' ? '-' : String(v));
        for (const g of all) {
          const kind = g.type === 'classic' ? '' : ` ${g.type} group`;
          await write(`\nGroup ${g.group}${kind} is ${g.state || 'unknown'}${g.members.length > 0 ? ` with ${g.members.length} member(s)` : ''}.\n\n`);
          const header = ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'];
          const rows = g.partitions.map((r) => [
            r.group,
            r.topic,
            String(r.partition),
            dash(r.currentOffset),
            dash(r.logEndOffset),
            dash(r.lag),
            dash(r.consumerId),
            dash(r.host),
            dash(r.clientId),
          ]);
          await write(table([header, ...rows]));
        }
      }),
    );

  connectionOptions(groups.command('delete').description('delete consumer groups (they must have no members)').argument('<groups...>')).action(
    (ids: string[], opts: ConnectionFlags) =>
      withCluster(opts, async (cluster) => {
        const admin = new Admin(cluster);
        for (const id of ids) {
          await admin.deleteGroups([id]);
          await write(`Deleted group ${id}.\n`);
        }
      }),
  );

  connectionOptions(groups.command('reset-offsets').description('compute (and with --execute, commit) new offsets for a group').argument('<group>'))
    .requiredOption('--topic <topic>', 'topic whose offsets to reset')
    .option('--partition <n>', 'only this partition (default: all)')
    .option('--to-earliest', 'the log start')
    .option('--to-latest', 'the log end')
    .option('--to-offset <n>', 'this offset (clamped to the log range)')
    .option('--to-datetime <ms|ISO-8601>', 'the first offset at or after this time')
    .option('--shift-by <n>', 'the committed offset plus n (may be negative)')
    .option('--execute', 'commit the new offsets (without it, only print the plan)')
    .action(
      (
        group: string,
        opts: ConnectionFlags & {
          topic: string;
          partition?: string;
          toEarliest?: boolean;
          toLatest?: boolean;
          toOffset?: string;
          toDatetime?: string;
          shiftBy?: string;
          execute?: boolean;
        },
      ) =>
        withCluster(opts, async (cluster) => {
          const modes = [opts.toEarliest, opts.toLatest, opts.toOffset !== undefined, opts.toDatetime !== undefined, opts.shiftBy !== undefined].filter(Boolean).length;
          if (modes !== 1) usage('give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by');
          const admin = new Admin(cluster);
          const info = await cluster.topic(opts.topic, { refresh: true });
          const partition = int('--partition', opts.partition);
          const partitions = partition === undefined ? info.partitions.map((p) => p.partition) : [partition];
          const lo = new Map((await admin.listOffsets(opts.topic, 'earliest', partitions)).map((o) => [o.partition, o.offset]));
          const hi = new Map((await admin.listOffsets(opts.topic, 'latest', partitions)).map((o) => [o.partition, o.offset]));
          const clamp = (p: number, o: number) => Math.min(Math.max(o, lo.get(p)!), hi.get(p)!);
          let target: Map<number, number>;
          if (opts.toEarliest) target = lo;
          else if (opts.toLatest) target = hi;
          else if (opts.toOffset !== undefined) {
            const o = int('--to-offset', opts.toOffset)!;
            target = new Map(partitions.map((p) => [p, clamp(p, o)]));
          } else if (opts.toDatetime !== undefined) {
            const found = await admin.listOffsets(opts.topic, parseTimestamp(opts.toDatetime), partitions);
            target = new Map(found.map((o) => [o.partition, o.offset < 0 ? hi.get(o.partition)! : o.offset]));
          } else {
            const shift = Number(opts.shiftBy);
            if (!Number.isInteger(shift)) usage(`--shift-by must be an integer, got "${opts.shiftBy}"`);
            const committed = new Map((await admin.fetchOffsets(group, [{ topic: opts.topic, partitions }])).map((c) => [c.partition, c.offset]));
            target = new Map(partitions.map((p) => [p, clamp(p, (committed.get(p) ?? lo.get(p)!) + shift)]));
          }
          const plan = partitions.map((p) => ({ topic: opts.topic, partition: p, offset: target.get(p)! }));
          if (opts.execute) await admin.commitOffsets(group, plan);
          await write(table([['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'], ...plan.map((x) => [group, x.topic, String(x.partition), String(x.offset)])]));
          if (!opts.execute && process.stderr.isTTY) process.stderr.write('(dry run: add --execute to commit these offsets)\n');
        }),
    );
  return groups;
}

// ---------------------------------------------------------------- share groups

function shareGroupsCommand(): Command {
  const cmd = new Command('share-groups').description('list and describe share groups (KIP-932 queues), show and reset their start offsets');

  connectionOptions(cmd.command('list').description('list share groups'))
    .option('--state', "also print each group's state")
    .action((opts: ConnectionFlags & { state?: boolean }) =>
      withCluster(opts, async (cluster) => {
        const list = (await new Admin(cluster).listGroups()).filter((g) => g.type === 'share');
        if (opts.state) {
          if (list.length > 0) await write(table([['GROUP', 'STATE'], ...list.map((g) => [g.groupId, g.state || '-'])]));
        } else for (const g of list) await write(`${g.groupId}\n`);
      }),
    );

  connectionOptions(cmd.command('describe').description('state, members and their assigned partitions, and per partition the start offset and lag').argument('<groups...>'))
    .option('--json', 'print JSON instead of tables')
    .action((ids: string[], opts: ConnectionFlags & { json?: boolean }) =>
      withCluster(opts, async (cluster) => {
        const admin = new Admin(cluster);
        const all = [];
        for (const id of ids) all.push({ ...(await admin.describeShareGroup(id)), offsets: await admin.shareGroupOffsets(id) });
        if (opts.json) {
          await write(JSON.stringify(all, null, 2) + '\n');
          return;
        }
        for (const g of all) {
          await write(`\nShare group ${g.groupId} is ${g.state} (epoch ${g.groupEpoch}, assignor ${g.assignor}) with ${g.members.length} member(s).\n\n`);
          if (g.members.length > 0) {
            const parts = (m: (typeof g.members)[number]) => m.assignment.map((a) => `${a.topic}:${a.partitions.join(',')}`).join(' ') || '-';
            await write(
              table([
                ['MEMBER-ID', 'CLIENT-ID', 'HOST', 'EPOCH', 'ASSIGNMENT'],
                ...g.members.map((m) => [m.memberId, m.clientId, m.clientHost, String(m.memberEpoch), parts(m)]),
              ]),
            );
            await write('\n');
          }
          await write(
            table([
              ['GROUP', 'TOPIC', 'PARTITION', 'START-OFFSET', 'LAG'],
              ...g.offsets.map((o) => [g.groupId, o.topic, String(o.partition), String(o.startOffset), o.lag < 0 ? '-' : String(o.lag)]),
            ]),
          );
        }
      }),
    );

  connectionOptions(cmd.command('offsets').description("a share group's start offset and lag per partition").argument('<group>'))
    .option('--json', 'print JSON instead of a table')
    .action((group: string, opts: ConnectionFlags & { json?: boolean }) =>
      withCluster(opts, async (cluster) => {
        const offsets = await new Admin(cluster).shareGroupOffsets(group);
        if (opts.json) await write(JSON.stringify(offsets, null, 2) + '\n');
        else
          await write(
            table([
              ['GROUP', 'TOPIC', 'PARTITION', 'START-OFFSET', 'LAG'],
              ...offsets.map((o) => [group, o.topic, String(o.partition), String(o.startOffset), o.lag < 0 ? '-' : String(o.lag)]),
            ]),
          );
      }),
    );

  connectionOptions(cmd.command('reset').description('compute (and with --execute, set) new start offsets of a share group; it must have no members').argument('<group>'))
    .requiredOption('--topic <topic>', 'the topic')
    .option('--partition <n>', 'one partition (default: all)')
    .option('--to-earliest', 'the log start offset')
    .option('--to-latest', 'the log end offset')
    .option('--to-offset <offset>', 'an offset (clamped to the log)')
    .option('--to-datetime <time>', 'the first offset at or after a time (ISO-8601 or ms)')
    .option('--execute', 'apply the new offsets (default: only print them)')
    .action(
      (
        group: string,
        opts: ConnectionFlags & { topic: string; partition?: string; toEarliest?: boolean; toLatest?: boolean; toOffset?: string; toDatetime?: string; execute?: boolean },
      ) =>
        withCluster(opts, async (cluster) => {
          const chosen = [opts.toEarliest, opts.toLatest, opts.toOffset !== undefined, opts.toDatetime !== undefined].filter(Boolean).length;
          if (chosen !== 1) usage('give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime');
          const admin = new Admin(cluster);
          const lo = new Map((await admin.listOffsets(opts.topic, 'earliest')).map((o) => [o.partition, o.offset]));
          const partitions = opts.partition !== undefined ? [int('--partition', opts.partition)!] : [...lo.keys()].sort((a, b) => a - b);
          const hi = new Map((await admin.listOffsets(opts.topic, 'latest', partitions)).map((o) => [o.partition, o.offset]));
          let target: Map<number, number>;
          if (opts.toEarliest) target = lo;
          else if (opts.toLatest) target = hi;
          else if (opts.toOffset !== undefined) {
            const o = int('--to-offset', opts.toOffset)!;
            target = new Map(partitions.map((p) => [p, Math.min(Math.max(o, lo.get(p) ?? 0), hi.get(p) ?? o)]));
          } else {
            const found = await admin.listOffsets(opts.topic, parseTimestamp(opts.toDatetime!), partitions);
            target = new Map(found.map((o) => [o.partition, o.offset < 0 ? hi.get(o.partition)! : o.offset]));
          }
          const plan = partitions.map((p) => ({ topic: opts.topic, partition: p, offset: target.get(p)! }));
          if (opts.execute) await admin.alterShareGroupOffsets(group, plan);
          await write(table([['GROUP', 'TOPIC', 'PARTITION', 'NEW-START-OFFSET'], ...plan.map((x) => [group, x.topic, String(x.partition), String(x.offset)])]));
          if (!opts.execute && process.stderr.isTTY) process.stderr.write('(dry run: add --execute to set these offsets)\n');
        }),
    );
  return cmd;
}

// ---------------------------------------------------------------- configs

function resourceOf(opts: { topic?: string; broker?: string }): ConfigResource {
  if ((opts.topic === undefined) === (opts.broker === undefined)) usage('give exactly one of --topic <name> and --broker <id>');
  if (opts.topic !== undefined) return { type: 'topic', name: opts.topic };
  int('--broker', opts.broker);
  return { type: 'broker', name: opts.broker! };
}

function configsCommand(): Command {
  const configs = new Command('configs').description('describe and alter topic and broker configs');

  connectionOptions(configs.command('describe').description('configs of a topic or broker (overrides only, unless --all)'))
    .option('--topic <name>', 'a topic')
    .option('--broker <id>', 'a broker by node id')
    .option('--all', "include defaults, with each value's source")
    .option('--json', 'print JSON')
    .action((opts: ConnectionFlags & { topic?: string; broker?: string; all?: boolean; json?: boolean }) =>
      withCluster(opts, async (cluster) => {
        const resource = resourceOf(opts);
        const admin = new Admin(cluster);
        if (resource.type === 'topic') await admin.describeTopics([resource.name]);
        const dynamic = resource.type === 'topic' ? ['DYNAMIC_TOPIC_CONFIG'] : ['DYNAMIC_BROKER_CONFIG', 'DYNAMIC_DEFAULT_BROKER_CONFIG', 'STATIC_BROKER_CONFIG'];
        const entries = (await admin.describeConfigs(resource)).filter((c) => opts.all || dynamic.includes(c.source));
        if (opts.json) {
          await write(
            JSON.stringify(
              entries.map(({ name, value, source, readOnly, isSensitive }) => ({ name, value, source, readOnly, isSensitive })),
              null,
              2,
            ) + '\n',
          );
          return;
        }
        const label = resource.type === 'topic' ? `topic ${resource.name}` : `broker ${resource.name}`;
        await write(`${opts.all ? 'All' : 'Non-default'} configs for ${label}:\n`);
        for (const c of entries) await write(`  ${c.name}=${c.isSensitive ? '(sensitive)' : (c.value ?? 'null')}    # ${c.source}${c.readOnly ? ', read-only' : ''}\n`);
      }),
    );

  connectionOptions(configs.command('alter').description('set or delete config overrides of a topic or broker'))
    .option('--topic <name>', 'a topic')
    .option('--broker <id>', 'a broker by node id')
    .option('--add-config <key=value>', 'set configs (repeatable, or comma-separated)', collect, [])
    .option('--delete-config <key>', 'remove overrides (repeatable, or comma-separated)', collect, [])
    .action((opts: ConnectionFlags & { topic?: string; broker?: string; addConfig: string[]; deleteConfig: string[] }) =>
      withCluster(opts, async (cluster) => {
        const resource = resourceOf(opts);
        const set = keyValues(opts.addConfig, '--add-config');
        const del = opts.deleteConfig.flatMap((s) => s.split(',')).filter((s) => s !== '');
        if (Object.keys(set).length === 0 && del.length === 0) usage('nothing to alter: give --add-config or --delete-config');
        const admin = new Admin(cluster);
        if (resource.type === 'topic') await admin.describeTopics([resource.name]);
        await admin.alterConfigs(resource, { set, delete: del });
        await write(`Completed updating config for ${resource.type} ${resource.name}.\n`);
      }),
    );
  return configs;
}

// ---------------------------------------------------------------- transactions

function transactionsCommand(): Command {
  const txns = new Command('transactions').description('list and describe transactions, find and abort hanging ones (like kafka-transactions.sh)');

  connectionOptions(txns.command('list').description('transactional ids with their producer id and state'))
    .option('--state <state>', 'only transactions in this state (repeatable): Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort', collect, [])
    .action((opts: ConnectionFlags & { state: string[] }) =>
      withCluster(opts, async (cluster) => {
        const list = await new Admin(cluster).listTransactions(opts.state);
        if (list.length > 0) await write(table([['TRANSACTIONAL-ID', 'PRODUCER-ID', 'STATE'], ...list.map((t) => [t.transactionalId, String(t.producerId), t.state])]));
      }),
    );

  connectionOptions(txns.command('describe').description('state, producer, timeout and partitions of transactions').argument('<transactional-ids...>'))
    .option('--json', 'print JSON instead of a table')
    .action((ids: string[], opts: ConnectionFlags & { json?: boolean }) =>
      withCluster(opts, async (cluster) => {
        const all = await new Admin(cluster).describeTransactions(ids);
        if (opts.json) {
          await write(JSON.stringify(all, null, 2) + '\n');
          return;
        }
        const header = ['TRANSACTIONAL-ID', 'STATE', 'PRODUCER-ID', 'PRODUCER-EPOCH', 'TIMEOUT-MS', 'START-TIME-MS', 'PARTITIONS'];
        const rows = all.map((t) => [
          t.transactionalId,
          t.state,
          String(t.producerId),
          String(t.producerEpoch),
          String(t.timeoutMs),
          t.startTimeMs < 0 ? '-' : String(t.startTimeMs),
          t.partitions.flatMap((p) => p.partitions.map((n) => `${p.topic}-${n}`)).join(',') || '-',
        ]);
        await write(table([header, ...rows]));
      }),
    );

  connectionOptions(txns.command('producers').description('the producers a partition knows, with the start offset of their open transaction'))
    .requiredOption('--topic <topic>', 'topic')
    .requiredOption('--partition <n>', 'partition')
    .action((opts: ConnectionFlags & { topic: string; partition: string }) =>
      withCluster(opts, async (cluster) => {
        const producers = await new Admin(cluster).describeProducers(opts.topic, int('--partition', opts.partition)!);
        const header = ['PRODUCER-ID', 'PRODUCER-EPOCH', 'LAST-SEQUENCE', 'LAST-TIMESTAMP', 'COORDINATOR-EPOCH', 'CURRENT-TXN-START-OFFSET'];
        const rows = producers.map((p) =>
          [p.producerId, p.producerEpoch, p.lastSequence, p.lastTimestamp, p.coordinatorEpoch, p.currentTxnStartOffset].map((v) => (v < 0 ? '-' : String(v))),
        );
        if (rows.length > 0) await write(table([header, ...rows]));
      }),
    );

  connectionOptions(txns.command('abort').description('abort the open transaction that starts at an offset of a partition (a hanging transaction)'))
    .requiredOption('--topic <topic>', 'topic')
    .requiredOption('--partition <n>', 'partition')
    .requiredOption('--start-offset <offset>', 'first offset of the transaction (see `transactions producers`)')
    .action((opts: ConnectionFlags & { topic: string; partition: string; startOffset: string }) =>
      withCluster(opts, async (cluster) => {
        const partition = int('--partition', opts.partition)!;
        const p = await new Admin(cluster).abortTransaction(opts.topic, partition, int('--start-offset', opts.startOffset)!);
        await write(`Aborted the transaction of producer ${p.producerId} (epoch ${p.producerEpoch}) starting at offset ${opts.startOffset} of ${opts.topic}-${partition}.\n`);
      }),
    );
  return txns;
}

/** Adds every client command to the program. */
export function addClientCommands(program: Command): void {
  program.addCommand(topicsCommand());
  program.addCommand(produceCommand());
  program.addCommand(consumeCommand());
  program.addCommand(groupsCommand());
  program.addCommand(shareGroupsCommand());
  program.addCommand(configsCommand());
  program.addCommand(transactionsCommand());
}
