// UpdateFeatures on a two-broker cluster (one etcd): a broker that is not the controller
// forwards the request to it, the controller writes the level to etcd, and both brokers then
// report it in ApiVersions with the same epoch.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EtcdProcess } from '../../src/cluster/etcd-process.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { startBrokerProcess, type BrokerProcess } from '../helpers/broker-process.js';
import { RawClient } from '../helpers/raw-client.js';
import { etcdMissing, waitFor, withEtcd } from '../helpers/etcd.js';

let etcd: EtcdProcess;
const brokers: { nodeId: number; b: BrokerProcess }[] = [];
const TV = 'transaction.version';

const start = (nodeId: number) =>
  startBrokerProcess({
    overrides: { 'node.id': String(nodeId), 'etcd.endpoints': etcd.endpoint, 'etcd.prefix': '/features-test', 'broker.session.timeout.ms': '3000' },
  });

async function ask<T>(b: BrokerProcess, apiKey: number, version: number, body: unknown): Promise<T> {
  const c = await RawClient.connect(b.port);
  try {
    return (await c.request(apiKey, version, body)).body as T;
  } finally {
    c.close();
  }
}

async function features(b: BrokerProcess): Promise<{ epoch: number; tv: number | undefined }> {
  const r = await ask<{ finalizedFeaturesEpoch: number; finalizedFeatures: { name: string; maxVersionLevel: number }[] }>(b, ApiKey.ApiVersions, 3, {
    clientSoftwareName: 't',
    clientSoftwareVersion: '1',
  });
  return { epoch: r.finalizedFeaturesEpoch, tv: r.finalizedFeatures.find((f) => f.name === TV)?.maxVersionLevel };
}

before(async () => {
  if (etcdMissing) return;
  etcd = await withEtcd();
  for (const id of [1, 2]) brokers.push({ nodeId: id, b: await start(id) });
});

after(async () => {
  for (const { b } of brokers) {
    await b.kill();
    b.cleanup();
  }
  await etcd?.close();
});

test('a non-controller forwards UpdateFeatures; every broker reports the new level', { skip: etcdMissing }, async () => {
  let controller = -1;
  await waitFor('a controller', async () => {
    controller = (await ask<{ controllerId: number }>(brokers[0]!.b, ApiKey.DescribeCluster, 0, { includeClusterAuthorizedOperations: false })).controllerId;
    return controller > 0;
  });
  const other = brokers.find((x) => x.nodeId !== controller)!.b;
  for (const { b } of brokers) assert.deepEqual(await features(b), { epoch: 1, tv: 2 });
  const update = (maxVersionLevel: number, upgradeType: number) => ({
    timeoutMs: 5000,
    featureUpdates: [{ feature: TV, maxVersionLevel, allowDowngrade: false, upgradeType }],
    validateOnly: false,
  });
  const refused = await ask<{ errorCode: number; errorMessage: string }>(other, ApiKey.UpdateFeatures, 2, update(1, 1));
  assert.equal(refused.errorCode, ErrorCode.INVALID_UPDATE_VERSION, 'the controller applies the rules');
  assert.match(refused.errorMessage, /Can't downgrade/);
  // v0 through the non-controller: forwarded with its upgrade type.
  const v0 = await ask<{ errorCode: number; results: { errorCode: number }[] }>(other, ApiKey.UpdateFeatures, 0, {
    timeoutMs: 5000,
    featureUpdates: [{ feature: TV, maxVersionLevel: 1, allowDowngrade: true, upgradeType: 1 }],
  });
  assert.deepEqual([v0.errorCode, v0.results.map((r) => r.errorCode)], [ErrorCode.NONE, [ErrorCode.NONE]]);
  for (const { nodeId, b } of brokers) await waitFor(`broker ${nodeId} sees level 1`, async () => (await features(b)).tv === 1);
  for (const { b } of brokers) assert.deepEqual(await features(b), { epoch: 2, tv: 1 });
});
