// UpdateFeatures (KIP-584/KIP-778) on the wire: the error cases Kafka's controller answers, the
// all-or-nothing rule, validate_only, the epoch in ApiVersions, persistence over a restart, and
// CLUSTER ALTER authorization. kafka-features.sh and Java producers are in
// test/compat/java/features.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { connectAs, saslPlainAclConfig } from '../helpers/sasl-plain-acls.js';
import { ApiKey, type UpdateFeaturesResponse } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const TV = 'transaction.version';
const UPGRADE = 1;
const SAFE = 2;
const UNSAFE = 3;
const update = (feature: string, maxVersionLevel: number, upgradeType = UPGRADE) => ({ feature, maxVersionLevel, allowDowngrade: false, upgradeType });

describe('UpdateFeatures', () => {
  const broker = suiteBroker();

  async function features(c: RawClient): Promise<{ epoch: number; tv: number | undefined }> {
    const r = await c.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    const f = (r.body.finalizedFeatures as { name: string; maxVersionLevel: number }[]).find((x) => x.name === TV);
    return { epoch: r.body.finalizedFeaturesEpoch, tv: f?.maxVersionLevel };
  }
  const send = async (c: RawClient, version: number, featureUpdates: unknown[], validateOnly = false) =>
    (await c.request(ApiKey.UpdateFeatures, version, { timeoutMs: 5000, featureUpdates, validateOnly })).body as UpdateFeaturesResponse;

  test('refusals: unknown feature, out of range, downgrade as upgrade, bad type, duplicates', async () => {
    const c = await RawClient.connect(broker.port);
    try {
      const before = await features(c);
      assert.deepEqual(before, { epoch: 1, tv: 2 });
      const cases: [unknown[], number, RegExp][] = [
        [[update('no.such.feature', 1)], ErrorCode.INVALID_UPDATE_VERSION, /does not support this feature/],
        [[update(TV, 3)], ErrorCode.INVALID_UPDATE_VERSION, /only supports versions 0-2/],
        [[update(TV, -1, UNSAFE)], ErrorCode.INVALID_UPDATE_VERSION, /cannot be less than 0/],
        [[update(TV, 1)], ErrorCode.INVALID_UPDATE_VERSION, /Can't downgrade .* without setting the upgrade type/],
        [[update(TV, 1, 7)], ErrorCode.INVALID_REQUEST, /Unknown upgrade type 7/],
        [[update(TV, 1, SAFE), update(TV, 0, SAFE)], ErrorCode.INVALID_REQUEST, /named twice/],
        [[update('', 1)], ErrorCode.INVALID_REQUEST, /must not be empty/],
      ];
      for (const [updates, code, message] of cases) {
        const v2 = await send(c, 2, updates);
        assert.equal(v2.errorCode, code, JSON.stringify(updates));
        assert.match(v2.errorMessage ?? '', message);
        assert.deepEqual(v2.results, []);
      }
      // v1 repeats the top-level error for every feature; a valid update next to an invalid one is not applied.
      const v1 = await send(c, 1, [update(TV, 1, SAFE), update('no.such.feature', 1)]);
      assert.equal(v1.errorCode, ErrorCode.INVALID_UPDATE_VERSION);
      assert.deepEqual(
        v1.results.map((r) => [r.feature, r.errorCode]),
        [
          [TV, ErrorCode.INVALID_UPDATE_VERSION],
          ['no.such.feature', ErrorCode.INVALID_UPDATE_VERSION],
        ],
      );
      // v0's allowDowngrade=false is an upgrade only.
      const v0 = await send(c, 0, [{ feature: TV, maxVersionLevel: 1, allowDowngrade: false, upgradeType: 1 }]);
      assert.equal(v0.errorCode, ErrorCode.INVALID_UPDATE_VERSION);
      assert.deepEqual(await features(c), before, 'nothing changed');
    } finally {
      c.close();
    }
  });

  test('validate_only, downgrade, disable and upgrade bump the epoch and persist over a restart', async () => {
    let c = await RawClient.connect(broker.port);
    try {
      const dry = await send(c, 1, [update(TV, 1, SAFE)], true);
      assert.deepEqual([dry.errorCode, dry.results.map((r) => r.errorCode)], [ErrorCode.NONE, [ErrorCode.NONE]]);
      assert.deepEqual(await features(c), { epoch: 1, tv: 2 }, 'validate_only changes nothing');

      assert.equal((await send(c, 2, [update(TV, 1, SAFE)])).errorCode, ErrorCode.NONE);
      assert.deepEqual(await features(c), { epoch: 2, tv: 1 });
      // The same level again is no change: the epoch stays.
      assert.equal((await send(c, 2, [update(TV, 1, UPGRADE)])).errorCode, ErrorCode.NONE);
      assert.deepEqual(await features(c), { epoch: 2, tv: 1 });
      // Level 0 removes the feature from the finalized ones (v0's allowDowngrade).
      assert.equal((await send(c, 0, [{ feature: TV, maxVersionLevel: 0, allowDowngrade: true, upgradeType: 1 }])).errorCode, ErrorCode.NONE);
      assert.deepEqual(await features(c), { epoch: 3, tv: undefined });
      assert.equal((await send(c, 2, [update(TV, 1, UPGRADE)])).errorCode, ErrorCode.NONE);
      assert.deepEqual(await features(c), { epoch: 4, tv: 1 });
      c.close();
      await broker.restart();
      c = await RawClient.connect(broker.port);
      assert.deepEqual(await features(c), { epoch: 4, tv: 1 }, 'the finalized level survives a restart');
      assert.equal((await send(c, 2, [update(TV, 2, UPGRADE)])).errorCode, ErrorCode.NONE);
      assert.deepEqual(await features(c), { epoch: 5, tv: 2 });
    } finally {
      c.close();
    }
  });
});

describe('UpdateFeatures authorization', () => {
  const broker = suiteBroker({ config: saslPlainAclConfig(['alice']) });
  const conn = (user: string) => connectAs(broker.port, user);

  test('needs ALTER on the cluster', async () => {
    const alice = await conn('alice');
    const admin = await conn('admin');
    try {
      const body = { timeoutMs: 5000, featureUpdates: [update(TV, 1, SAFE)], validateOnly: false };
      const refused = await alice.request<UpdateFeaturesResponse>(ApiKey.UpdateFeatures, body);
      assert.equal(refused.errorCode, ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      const done = await admin.request<UpdateFeaturesResponse>(ApiKey.UpdateFeatures, body);
      assert.equal(done.errorCode, ErrorCode.NONE);
    } finally {
      alice.close();
      admin.close();
    }
  });
});
