import { Command } from 'commander';
import { BrokerConfig, ConfigError, loadPropertiesFile } from '../config/config.js';
import { Broker } from '../broker/broker.js';

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
  const broker = await Broker.start(config);
  // A bug must cost at most one request or connection, never the process and its data.
  process.on('unhandledRejection', (err) => broker.logger.error({ err }, 'unhandled rejection (bug)'));
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    broker.logger.info({ signal }, 'shutting down');
    broker.stop().then(
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
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`tributary: ${e instanceof ConfigError ? 'INVALID_CONFIG: ' : ''}${e.message}\n`);
    process.exit(1);
  }
}
