// Which controller Metadata and DescribeCluster name: the elected one, and during an election a
// live broker (this one), never -1, as Kafka's KRaft brokers always name a live broker. The
// election is simulated on an in-process broker by making its controllerId() answer -1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBroker } from '../helpers/broker.js';
import { withRawClient } from '../helpers/raw-client.js';
import { metadataRequest } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/index.js';

test('Metadata and DescribeCluster name this broker while no controller is elected', async (t) => {
  const broker = await withBroker(t, { config: { 'node.id': '7' } });
  const ask = () =>
    withRawClient(broker, async (c) => ({
      metadata: (await c.request<{ controllerId: number }>(ApiKey.Metadata, 12, metadataRequest([]))).body.controllerId,
      cluster: (await c.request<{ controllerId: number }>(ApiKey.DescribeCluster, 0, { includeClusterAuthorizedOperations: false })).body.controllerId,
    }));
  assert.deepEqual(await ask(), { metadata: 7, cluster: 7 }, 'a single node is its own controller');
  const electing = broker.broker;
  const elected = electing.controllerId.bind(electing);
  electing.controllerId = () => -1;
  t.after(() => (electing.controllerId = elected));
  assert.deepEqual(await ask(), { metadata: 7, cluster: 7 }, 'during an election: a live broker, not -1');
  electing.controllerId = () => 3;
  assert.deepEqual(await ask(), { metadata: 3, cluster: 3 }, 'the elected controller otherwise');
});
