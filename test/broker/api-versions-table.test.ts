import { test } from 'node:test';
import assert from 'node:assert/strict';
import { supportedApis } from '../../src/broker/request-handler.js';
import { advertisedVersions } from '../../src/broker/api.js';
import { ApiKey, apiByKey } from '../../src/protocol/generated/index.js';

// The codecs come from Kafka 4.4's schemas, but a version is advertised only where its new fields
// are handled. Each entry below that is lower than the schema's maximum names why in its handler.
const expected: Record<string, [number, number]> = {
  Produce: [0, 13],
  Fetch: [4, 18],
  ListOffsets: [1, 10], // v11: tiered storage (KIP-1023)
  OffsetCommit: [2, 10],
  OffsetFetch: [1, 10],
  JoinGroup: [2, 9],
  ApiVersions: [0, 5],
  InitProducerId: [0, 5], // v6: KIP-939 2PC, unstable
  WriteTxnMarkers: [1, 2], // v2: KIP-1228, the transaction version of a marker
  EndTxn: [0, 5],
  TxnOffsetCommit: [0, 6],
  DeleteGroups: [0, 3], // v3: error message, null here
  DescribeLogDirs: [1, 5], // v5: is_cordoned, never here
  ListTransactions: [0, 2], // v2: transactional id pattern
  StreamsGroupHeartbeat: [0, 1],
  StreamsGroupDescribe: [0, 1],
  StreamsGroupTopologyDescriptionUpdate: [0, 0],
};

test('ApiVersions advertises only the versions the handlers implement', () => {
  const table = new Map(advertisedVersions(supportedApis()).map((a) => [a.apiKey, a]));
  for (const [name, [lo, hi]] of Object.entries(expected)) {
    const key = (ApiKey as Record<string, number>)[name]!;
    const got = table.get(key);
    assert.ok(got, `${name} advertised`);
    assert.deepStrictEqual([got.minVersion, got.maxVersion], [lo, hi], name);
  }
  // Everything else is advertised within its schema's range (an unstable latest version excluded).
  for (const a of table.values()) {
    const spec = apiByKey.get(a.apiKey)!;
    assert.ok(a.maxVersion <= (spec.latestVersionUnstable ? spec.maxVersion - 1 : spec.maxVersion), spec.name);
  }
});
