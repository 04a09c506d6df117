import { Command } from 'commander';
import { BrokerConfig, ConfigError, loadPropertiesFile } from '../config/config.js';
import { KafkaClientError } from '../client/errors.js';
import type { BenchOptions } from '../bench/harness.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseOverrides(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--override expects key=value, got "${item}"`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

async function runBroker(opts: { config?: string; override: string[]; printConfig?: boolean }): Promise<void> {
  const config = new BrokerConfig({
    file: opts.config ? loadPropertiesFile(opts.config) : undefined,
    env: process.env,
    overrides: parseOverrides(opts.override),
  });
  if (opts.printConfig) {
    for (const e of config.all()) process.stdout.write(`${e.name}=${e.value ?? ''}    # ${e.origin}\n`);
    return;
  }
  // Loaded here so the client commands start fast and never load the broker and its storage.
  const { startKafkaBroker } = await import('../broker/start.js');
  const { default: pino } = await import('pino');
  const options = { level: config.str('log.level') ?? 'info', base: { node: config.nodeId } };
  // Human-readable lines on a terminal, JSON lines otherwise (a file, a pipe, a log shipper);
  // TRIBUTARY_LOG_FORMAT=json|pretty says which regardless.
  const format = process.env.TRIBUTARY_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const logger =
    format === 'pretty'
      ? pino(
          options,
          (await import('pino-pretty')).default({
            sync: true,
            colorize: process.stdout.isTTY === true,
            translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
            ignore: 'pid,hostname,node,component',
            singleLine: true,
            messageFormat: '{if component}[{component}] {end}{msg}',
          }),
        )
      : pino(options);
  // The HTTP listener (http.listeners) opens first: /healthz answers and /readyz says "starting"
  // while the logs recover.
  const { HttpListener } = await import('../http/server.js');
  const http = await HttpListener.start(config, logger);
  let broker: Awaited<ReturnType<typeof startKafkaBroker>>;
  try {
    broker = await startKafkaBroker(config, { logger });
  } catch (err) {
    await http?.stop();
    throw err;
  }
  http?.attach(broker);
  const { releaseStartupYoungGeneration, tuneBrokerHeap } = await import('./gc-tuning.js');
  tuneBrokerHeap();
  releaseStartupYoungGeneration();
  // A bug must cost at most one request or connection, never the process and its data.
  process.on('unhandledRejection', (err) => broker.logger.error({ err }, 'unhandled rejection (bug)'));
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    broker.logger.info({ signal }, 'shutting down');
    Promise.all([http?.stop(), broker.stop()]).then(
      () => process.exit(0),
      (err) => {
        broker.logger.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function runDevCluster(opts: { brokers: string; basePort: string }): Promise<void> {
  const brokers = Number(opts.brokers);
  const basePort = Number(opts.basePort);
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > 16) throw new ConfigError(`--brokers must be 1..16, got ${opts.brokers}`);
  if (!Number.isInteger(basePort) || basePort < 1 || basePort + brokers > 65535) throw new ConfigError(`--base-port must be a port, got ${opts.basePort}`);
  const { startCluster } = await import('../index.js');
  const cluster = await startCluster({ brokers, basePort });
  process.stdout.write(`dev cluster: ${brokers} broker(s) at ${cluster.bootstrap}, metadata in etcd at ${cluster.etcdEndpoint}\n`);
  process.stdout.write(`try: kcat -b ${cluster.bootstrap} -L\nCtrl-C stops it and deletes its data.\n`);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    cluster.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program.name('tributary').description('A Kafka-compatible event streaming broker').showHelpAfterError();
  program
    .command('broker')
    .description('Run a broker (Kafka configuration names; file < env TRIBUTARY_* < --override)')
    .option('-c, --config <file>', 'a server.properties file')
    .option('-o, --override <key=value>', 'set a configuration value (repeatable)', collect, [])
    .option('--print-config', 'print the effective configuration with the source of each value, then exit')
    .action(runBroker);
  program
    .command('dev-cluster')
    .description('Start a throwaway cluster on loopback for a quick try: etcd (Debian etcd-server) plus N brokers, data deleted on exit')
    .option('-b, --brokers <n>', 'how many brokers', '3')
    .option('-p, --base-port <port>', 'broker i listens on base-port + i - 1', '9092')
    .action(runDevCluster);
  // `tributary broker` never loads the client library or the benchmark harness: a long-running
  // broker would keep their code in memory for nothing (a few MiB of its idle RSS).
  if (argv[2] !== 'broker') {
    const { addClientCommands } = await import('./client-commands.js');
    addClientCommands(program);
    const { addSecurityCommands } = await import('./security-commands.js');
    addSecurityCommands(program);
    const { addReplicaCommands } = await import('./replica-commands.js');
    addReplicaCommands(program);
    const { defineBenchOptions, runBench } = await import('../bench/harness.js');
    defineBenchOptions(program.command('perf')).action((opts: BenchOptions) => runBench(opts));
  }
  // `tributary produce ... | head`: a closed stdout ends the command quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.stderr.write(`tributary: ${errorLine(err)}\n`);
    process.exit(1);
  }
}

/** One line, `<KAFKA_ERROR_NAME>: message`, for any failure; never a stack trace. */
function errorLine(err: unknown): string {
  const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();
  if (err instanceof KafkaClientError) {
    return err.message === err.type ? err.type : `${err.type}: ${oneLine(err.message)}`;
  }
  if (err instanceof ConfigError) return `INVALID_CONFIG: ${oneLine(err.message)}`;
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string' && typeof e.syscall === 'string') return `${e.code}: ${oneLine(e.message)}`;
  return `UNKNOWN_ERROR: ${oneLine(e?.message ?? String(err))}`;
}
