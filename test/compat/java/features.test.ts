// Kafka's kafka-features.sh (FeatureCommand, kafka-tools 4.4) against a Tributary broker
// process: describe, downgrade and upgrade of transaction.version, and a Java 4.x transactional
// producer created at each level, which runs V1 at level 1 and V2 at level 2 (read from its
// TransactionManager), its transactions read back read_committed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { javaSetup, spawnJava, Tools, type JavaProcess, type ToolResult } from './harness.js';

const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;
const FEATURES = 'org.apache.kafka.tools.FeatureCommand';

function ok(r: ToolResult, what: string): string {
  assert.equal(r.exit, 0, `${what} exited ${r.exit}\nstdout:\n${r.out}\nstderr:\n${r.err.slice(-3000)}`);
  return r.out;
}

describe('kafka-features.sh and transaction.version', { skip }, () => {
  let broker: BrokerProcess;
  let tools: Tools;
  let driver: JavaProcess;
  const run = (args: string[]) => tools.run(FEATURES, ['--bootstrap-server', broker.bootstrap, ...args]);
  const ask = (command: string, re: RegExp) => driver.ask(command, new RegExp(`^(${re.source}|ERROR .*)`), 40_000);

  before(async () => {
    if (typeof setup === 'string') return;
    broker = await startBrokerProcess({ overrides: { 'num.partitions': '1', 'transaction.state.log.num.partitions': '1', 'offsets.topic.num.partitions': '1' } });
    tools = await Tools.start(setup);
    driver = spawnJava(`${setup.classes}:${setup.cp.k4}`, 'tributary.compat.TxnDriver', [broker.bootstrap]);
  });
  after(async () => {
    await driver?.kill();
    await tools?.close();
    await broker?.stop();
    broker?.cleanup();
  });

  test('describe, downgrade, upgrade; producers follow the finalized level', async () => {
    assert.match(
      ok(await run(['describe']), 'describe'),
      /^Feature: transaction\.version\s+SupportedMinVersion: 0\s+SupportedMaxVersion: 2\s+FinalizedVersionLevel: 2\s+Epoch: 1$/m,
    );
    assert.match(await ask('init a feat-a', /READY a .*/), /^READY a tv2=true /);
    assert.match(await ask('commit a feat-topic 3 a', /COMMITTED a .*/), /^COMMITTED/);

    // An upgrade past the supported range and a downgrade without --unsafe/… as upgrade are refused.
    const tooHigh = await run(['upgrade', '--feature', 'transaction.version=3']);
    assert.notEqual(tooHigh.exit, 0);
    assert.match(tooHigh.out + tooHigh.err, /only supports versions 0-2/);
    const dry = ok(await run(['downgrade', '--feature', 'transaction.version=1', '--dry-run']), 'dry-run');
    assert.match(dry, /transaction\.version can be downgraded to 1/);
    assert.match(ok(await run(['describe']), 'describe'), /FinalizedVersionLevel: 2\s+Epoch: 1$/m);

    assert.match(ok(await run(['downgrade', '--feature', 'transaction.version=1']), 'downgrade'), /transaction\.version was downgraded to 1\./);
    assert.match(ok(await run(['describe']), 'describe'), /^Feature: transaction\.version\s.*FinalizedVersionLevel: 1\s+Epoch: 2$/m);
    assert.match(await ask('init b feat-b', /READY b .*/), /^READY b tv2=false /, 'a new producer runs transactions V1');
    assert.match(await ask('commit b feat-topic 3 b', /COMMITTED b .*/), /^COMMITTED/);
    assert.match(await ask('abort b feat-topic 2 x', /ABORTED b .*/), /^ABORTED/);

    assert.match(ok(await run(['upgrade', '--feature', 'transaction.version=2']), 'upgrade'), /transaction\.version was upgraded to 2\./);
    assert.match(ok(await run(['describe']), 'describe'), /FinalizedVersionLevel: 2\s+Epoch: 3$/m);
    assert.match(await ask('init c feat-c', /READY c .*/), /^READY c tv2=true /);
    assert.match(await ask('commit c feat-topic 3 c', /COMMITTED c .*/), /^COMMITTED/);

    const read = await ask('read feat-topic', /READ .*/);
    assert.match(read, /^READ 9 /, read);
    assert.doesNotMatch(read, /x-/, 'the aborted V1 transaction stays hidden');
  });
});
