// Streams groups over the wire: group configs (the GROUP config resource: streams.* and
// consumer.* validated against the broker's group.*.min/max bounds, used by the coordinator) and
// the KIP-1331 versions, StreamsGroupHeartbeat v1 (MISSING_CLIENT_TAGS only from v1, the
// int64 AcceptableRecoveryLag), StreamsGroupDescribe v1 (topology description status, assignor
// name) and StreamsGroupTopologyDescriptionUpdate, answered as Kafka does without a topology
// description plugin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { streamsJoinHeartbeat } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const GROUP = 32;
const DYNAMIC_GROUP_CONFIG = 8;
const MISSING_CLIENT_TAGS = 6;

describe('streams group configs and the KIP-1331 versions', () => {
  const broker = suiteBroker({ config: { 'group.streams.max.standby.replicas': 1 } });
  let c: RawClient;
  before(async () => {
    c = await RawClient.connect(broker.port);
  });
  after(() => c?.close());

  const alter = async (group: string, configs: Record<string, string | null>) => {
    const r = await c.request(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [
        {
          resourceType: GROUP,
          resourceName: group,
          configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: value === null ? 1 : 0, value })),
        },
      ],
      validateOnly: false,
    });
    const res = r.body.responses[0];
    return [res.errorCode, res.errorMessage] as [number, string | null];
  };
  const describeConfig = async (group: string, key: string) => {
    const r = await c.request(ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: GROUP, resourceName: group, configurationKeys: [key] }],
      includeSynonyms: true,
      includeDocumentation: false,
    });
    const e = r.body.results[0].configs[0];
    return [e.value, e.configSource];
  };
  const heartbeat = (version: number, group: string, memberId: string, clientTags: { key: string; value: string }[]) =>
    c.request(ApiKey.StreamsGroupHeartbeat, version, streamsJoinHeartbeat(group, memberId, { clientTags }));

  test('group configs are validated against the broker bounds and described as DYNAMIC_GROUP_CONFIG', async () => {
    assert.deepEqual(await alter('sg', { 'streams.num.standby.replicas': '2' }), [ErrorCode.INVALID_CONFIG, 'streams.num.standby.replicas must be less than or equal to 1']);
    assert.deepEqual(await alter('sg', { 'streams.session.timeout.ms': '6000' }), [
      ErrorCode.INVALID_CONFIG,
      'streams.session.timeout.ms must be in the range 45000 to 60000 inclusive.',
    ]);
    assert.deepEqual(await alter('sg', { 'consumer.heartbeat.interval.ms': '20000' }), [
      ErrorCode.INVALID_CONFIG,
      'consumer.heartbeat.interval.ms must be in the range 5000 to 15000 inclusive.',
    ]);
    assert.deepEqual(await alter('sg', { 'streams.rack.aware.assignment.tags': 'zone,zone' }), [
      ErrorCode.INVALID_CONFIG,
      'streams.rack.aware.assignment.tags must not contain duplicate tag keys.',
    ]);
    assert.deepEqual(await alter('sg', { 'streams.heartbeat.interval.ms': '6000', 'streams.rack.aware.assignment.tags': 'zone', 'streams.num.standby.replicas': '1' }), [
      ErrorCode.NONE,
      null,
    ]);
    assert.deepEqual(await describeConfig('sg', 'streams.heartbeat.interval.ms'), ['6000', DYNAMIC_GROUP_CONFIG]);
    assert.deepEqual(await describeConfig('sg', 'streams.rack.aware.assignment.tags'), ['zone', DYNAMIC_GROUP_CONFIG]);
    // Not set on the group: the broker's value.
    assert.deepEqual(await describeConfig('sg', 'streams.session.timeout.ms'), ['45000', 5]);
  });

  test('the heartbeat uses the group configs; MISSING_CLIENT_TAGS is answered from v1 on', async () => {
    const v1 = await heartbeat(1, 'sg', 'm1', []);
    assert.equal(v1.body.errorCode, ErrorCode.NONE, v1.body.errorMessage);
    assert.equal(v1.body.heartbeatIntervalMs, 6000);
    assert.equal(v1.body.acceptableRecoveryLag, 10000);
    assert.equal(v1.body.topologyDescriptionRequired, false);
    const missing = v1.body.status.find((s: { statusCode: number }) => s.statusCode === MISSING_CLIENT_TAGS);
    assert.ok(missing, 'MISSING_CLIENT_TAGS at v1');
    assert.match(missing.statusDetail, /Missing required client tags for rack-aware standby assignment: \[zone\]/);
    const v0 = await heartbeat(0, 'sg', 'm2', []);
    assert.equal(v0.body.errorCode, ErrorCode.NONE);
    assert.equal(v0.body.acceptableRecoveryLagLegacy, 10000);
    assert.ok(!v0.body.status.some((s: { statusCode: number }) => s.statusCode === MISSING_CLIENT_TAGS), 'no MISSING_CLIENT_TAGS at v0');
    const tagged = await heartbeat(1, 'sg', 'm3', [{ key: 'zone', value: 'z1' }]);
    assert.ok(!tagged.body.status.some((s: { statusCode: number }) => s.statusCode === MISSING_CLIENT_TAGS));
    // Another group keeps the broker's heartbeat interval.
    assert.equal((await heartbeat(1, 'sg-other', 'm1', [])).body.heartbeatIntervalMs, 5000);
  });

  test('StreamsGroupDescribe v1 and StreamsGroupTopologyDescriptionUpdate without a topology description plugin', async () => {
    const d = async (includeTopologyDescription: boolean) =>
      (await c.request(ApiKey.StreamsGroupDescribe, 1, { groupIds: ['sg'], includeAuthorizedOperations: false, includeTopologyDescription })).body.groups[0];
    const asked = await d(true);
    assert.equal(asked.errorCode, ErrorCode.NONE);
    assert.equal(asked.topologyDescriptionStatus, 1, 'NOT_STORED');
    assert.equal(asked.topologyDescription, null);
    assert.equal(asked.assignorName, 'sticky');
    assert.equal((await d(false)).topologyDescriptionStatus, 0, 'NOT_REQUESTED');
    const u = await c.request(ApiKey.StreamsGroupTopologyDescriptionUpdate, 0, {
      groupId: 'sg',
      memberId: 'm1',
      topologyEpoch: 0,
      topologyDescription: { subtopologies: [], globalStores: [] },
    });
    assert.equal(u.body.errorCode, ErrorCode.UNSUPPORTED_VERSION);
    assert.equal(u.body.errorMessage, 'The broker has no streams group topology description plugin configured.');
  });
});
