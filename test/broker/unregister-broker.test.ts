// UnregisterBroker on a single node: the broker is the only one of its cluster, so unregistering
// itself answers NONE (it registers again at once) and any other id BROKER_ID_NOT_REGISTERED.
// Cluster mode (a revoked etcd lease, the broker fenced and registering again) is in
// test/cluster/cluster.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

describe('UnregisterBroker on a single node', () => {
  const broker = suiteBroker();

  test('its own id answers NONE and it stays in the cluster; an unknown id is BROKER_ID_NOT_REGISTERED', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      const unknown = await c.request(ApiKey.UnregisterBroker, 0, { brokerId: 42 });
      assert.equal(unknown.body.errorCode, ErrorCode.BROKER_ID_NOT_REGISTERED);
      assert.match(unknown.body.errorMessage, /Broker ID 42 is not currently registered/);
      const self = await c.request(ApiKey.UnregisterBroker, 0, { brokerId: 1 });
      assert.deepEqual([self.body.errorCode, self.body.errorMessage], [ErrorCode.NONE, null]);
      const cluster = await c.request(ApiKey.DescribeCluster, 0, { includeClusterAuthorizedOperations: false });
      assert.deepEqual(
        cluster.body.brokers.map((b: { brokerId: number }) => b.brokerId),
        [1],
      );
    } finally {
      c.close();
    }
  });
});
