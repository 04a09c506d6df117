// The admin client's cluster-wide listings retry a broker's retriable answer, as Kafka's admin
// client does: a broker still loading a coordinator partition answers ListGroups and
// ListTransactions with COORDINATOR_LOAD_IN_PROGRESS as a whole.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { Admin } from '../../src/client/admin.js';
import { Cluster } from '../../src/client/cluster.js';
import { ErrorCode } from '../../src/protocol/errors.js';

let running: RunningBroker;
let cluster: Cluster;

before(async () => {
  running = await startBroker({ dataDir: ':memory:', config: { 'offsets.topic.num.partitions': 1, 'transaction.state.log.num.partitions': 1 } });
  cluster = new Cluster({ bootstrap: running.bootstrap, retryBackoffMs: 10 });
});
after(async () => {
  await cluster.close();
  await running.stop();
});

/** Makes `target[method]` answer COORDINATOR_LOAD_IN_PROGRESS `times` times first; counts the calls. */
function loadingFor<T extends object>(target: T, method: keyof T & string, times: number): { calls: number } {
  const original = (target[method] as () => number).bind(target);
  const seen = { calls: 0 };
  (target as Record<string, unknown>)[method] = () => (++seen.calls <= times ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : original());
  return seen;
}

test('ListGroups and ListTransactions answered COORDINATOR_LOAD_IN_PROGRESS are asked again', async () => {
  const admin = new Admin(cluster);
  const groups = loadingFor(running.broker.groupCoordinator, 'listGroupsError', 2);
  assert.deepEqual(await admin.listGroups(), []);
  assert.equal(groups.calls, 3);
  const txns = loadingFor(running.broker.transactionCoordinator, 'listError', 2);
  assert.deepEqual(await admin.listTransactions(), []);
  assert.equal(txns.calls, 3);
});
