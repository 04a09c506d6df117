// The broker fixture of the tests: one broker, in this process (startBroker, the embedding API) or
// as a child process of the compiled build, that is stopped and whose throwaway data directory is
// removed when the test (withBroker) or the describe block (suiteBroker) ends.
//
//   test('x', async (t) => {
//     const broker = await withBroker(t, { config: { 'num.partitions': 3 } });
//     ...
//   });
//   describe('y', () => {
//     const broker = suiteBroker({ process: true });   // started before the first test
//     test('z', async () => { ... broker.port ... });
//   });
//
// Node 20 runs the before hooks of a file's top level concurrently: a top-level before hook that
// needs a suiteBroker awaits `broker.ready` first (inside a describe block they run in order).
import { after, before, type TestContext } from 'node:test';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startBroker, type RunningBroker } from '../../src/index.js';
import type { Broker } from '../../src/broker/broker.js';
import type { LogIo } from '../../src/storage/log-io.js';
import type { Clock } from '../../src/common/clock.js';
import { startBrokerProcess, tempDir, type BrokerProcess } from './broker-process.js';

export interface BrokerOptions {
  /**
   * Run the broker as a child process of the compiled build (`node dist/cli/tributary.js broker`):
   * for kill -9, signals, memory of the process, exit codes. Default: in this process.
   */
  process?: boolean;
  /** Broker configuration by Kafka name (listeners and log.dirs are set by the fixture). */
  config?: Record<string, string | number | boolean>;
  /** Reuse this data directory (not removed afterwards); default: a fresh one that is removed. */
  dataDir?: string;
  /** Child process only: extra environment variables (e.g. TRIBUTARY_CRASH_AT). */
  env?: Record<string, string>;
  /** In-process only: the storage layer's file operations (disk-fault tests). */
  storageIo?: LogIo;
  /** In-process only: the broker's clock (a ManualClock: time moves only when the test says). */
  clock?: Clock;
}

/** A broker started by the fixture; `restart()` brings it back on the same data. */
export class TestBroker {
  readonly dataDir: string;
  /** Every log line the broker wrote, parsed (in-process: from level info up). */
  logs: Record<string, unknown>[] = [];
  private proc: BrokerProcess | null = null;
  private embedded: RunningBroker | null = null;
  private readonly ownsDataDir: boolean;
  private markReady!: (error?: unknown) => void;
  /** Settles when the broker has first started (or failed to). */
  readonly ready: Promise<void>;

  constructor(private options: BrokerOptions = {}) {
    this.ownsDataDir = options.dataDir === undefined;
    this.dataDir = options.dataDir ?? tempDir();
    this.ready = new Promise<void>(
      (resolve, reject) => (this.markReady = (error) => (error === undefined ? resolve() : reject(error instanceof Error ? error : new Error(String(error))))),
    );
    this.ready.catch(() => undefined); // a start failure is reported by the hook that started it
  }

  get running(): boolean {
    return this.proc ? this.proc.child.exitCode === null && this.proc.child.signalCode === null : this.embedded !== null;
  }

  get port(): number {
    const port = this.proc?.port ?? this.embedded?.port;
    if (port === undefined) throw new Error('the broker is not started (a suiteBroker starts in its before hook; a top-level before hook awaits broker.ready)');
    return port;
  }

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The child process (process mode only). */
  get child(): ChildProcess {
    if (!this.proc) throw new Error('not a broker process (pass { process: true })');
    return this.proc.child;
  }

  /** The Broker object (in-process mode only). */
  get broker(): Broker {
    if (!this.embedded) throw new Error(this.options.process ? 'a broker process has no Broker object here' : 'the broker is not started');
    return this.embedded.broker;
  }

  /** Fetches parked (long polls waiting for data) on a partition (in-process mode only). */
  parkedFetches(topic: string, partition = 0): number {
    return this.broker.partition(topic, partition)?.parkedFetches ?? 0;
  }

  /** Starts the broker (again) on its data directory, with `config` merged over the options'. */
  async start(config: BrokerOptions['config'] = {}): Promise<this> {
    try {
      await this.startOnce(config);
      this.markReady();
    } catch (err) {
      this.markReady(err);
      throw err;
    }
    return this;
  }

  private async startOnce(config: BrokerOptions['config']): Promise<void> {
    if (this.proc || this.embedded) throw new Error('the broker is already started');
    const merged = { ...this.options.config, ...config };
    this.logs = [];
    if (this.options.process) {
      const overrides: Record<string, string> = {};
      for (const [k, v] of Object.entries(merged)) overrides[k] = String(v);
      this.proc = await startBrokerProcess({ dataDir: this.dataDir, overrides, env: this.options.env });
      this.logs = this.proc.logs;
    } else {
      const logs = this.logs;
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      });
      const level = String(merged['log.level'] ?? 'info');
      this.embedded = await startBroker({
        dataDir: this.dataDir,
        config: merged,
        storageIo: this.options.storageIo,
        clock: this.options.clock,
        logger: pino({ level }, sink),
      });
    }
  }

  /** A clean stop (SIGTERM for a process). Resolves with the exit code (in-process: 0). */
  async stop(): Promise<number | null> {
    if (this.proc) {
      const proc = this.proc;
      this.proc = null;
      return proc.stop();
    }
    if (this.embedded) {
      const embedded = this.embedded;
      this.embedded = null;
      await embedded.stop();
    }
    return 0;
  }

  /** SIGKILL, no clean-up: what a crash looks like (process mode only). */
  async kill(): Promise<void> {
    if (!this.options.process) throw new Error('kill() needs a broker process (pass { process: true })');
    const proc = this.proc;
    this.proc = null;
    await proc?.kill();
  }

  /** Stops the broker if it runs (cleanly) and starts it again on the same data. */
  async restart(config: BrokerOptions['config'] = {}): Promise<this> {
    await this.stop();
    return this.start(config);
  }

  /** Stops the broker and removes the data directory it created. */
  async dispose(): Promise<void> {
    try {
      if (this.proc) {
        const proc = this.proc;
        const exited = proc.stop();
        // A broker that does not stop within 10 s is killed: clean-up must not hang the suite.
        const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
        await exited.finally(() => clearTimeout(timer));
        this.proc = null;
      }
      await this.stop();
    } finally {
      if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
    }
  }
}

/** A broker for one test, stopped (and its data removed) when the test ends. */
export async function withBroker(t: Pick<TestContext, 'after'>, options: BrokerOptions = {}): Promise<TestBroker> {
  const broker = new TestBroker(options);
  t.after(() => broker.dispose());
  return broker.start();
}

/**
 * A broker for the tests of a describe block (or of the file, at top level): started in a before
 * hook, disposed of in an after hook. Its fields can be read once the tests run.
 */
export function suiteBroker(options: BrokerOptions = {}): TestBroker {
  const broker = new TestBroker(options);
  before(() => broker.start());
  after(() => broker.dispose());
  return broker;
}
