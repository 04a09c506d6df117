// A broker process with two log directories (`log.dirs`, JBOD) under one temporary root, for the
// test files that place, move and read replicas across directories (jbod, alter-log-dirs).
import { after, before } from 'node:test';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startBrokerProcess, tempDir, type BrokerProcess } from './broker-process.js';

export interface TwoLogDirs {
  /** The temporary root holding both directories (removed after the file's tests). */
  readonly root: string;
  readonly dirA: string;
  readonly dirB: string;
  /** The running broker (the one `start` last started). */
  readonly broker: BrokerProcess;
  /** Starts a broker on both directories (again, after a kill) and makes it `broker`. */
  start(): Promise<BrokerProcess>;
}

/** Starts the broker before the file's tests; kills it and removes the directories after them. */
export function twoLogDirBroker(prefix: string): TwoLogDirs {
  const root = tempDir(prefix);
  const dirA = join(root, 'a');
  const dirB = join(root, 'b');
  let broker: BrokerProcess | undefined;
  const fixture: TwoLogDirs = {
    root,
    dirA,
    dirB,
    get broker(): BrokerProcess {
      if (!broker) throw new Error('the broker is not started');
      return broker;
    },
    async start() {
      broker = await startBrokerProcess({ dataDir: dirA, overrides: { 'log.dirs': `${dirA},${dirB}`, 'group.initial.rebalance.delay.ms': '0' } });
      return broker;
    },
  };
  before(async () => {
    await fixture.start();
  });
  after(async () => {
    await broker?.kill();
    rmSync(root, { recursive: true, force: true });
  });
  return fixture;
}
