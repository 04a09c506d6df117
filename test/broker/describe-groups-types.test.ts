// DescribeGroups (API 15) of a group that is not a classic group: Kafka 4.4's describeGroups
// looks the id up among classic groups only, so a consumer, streams or share group is answered
// as not found ("Group ... is not a classic group.", GROUP_ID_NOT_FOUND from v6, Dead before),
// not in the classic format. kafkajs's admin describeGroups (v2) sees such a group Dead, as it
// would against Kafka; the Java AdminClient describes it with ConsumerGroupDescribe.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { DescribeGroupsResponse } from '../../src/protocol/generated/describe-groups.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { classicJoinRequest, consumerJoinHeartbeat, streamsJoinHeartbeat } from '../helpers/requests.js';

describe('DescribeGroups of groups of other types', () => {
  const broker = suiteBroker();

  test('a consumer, streams or share group is not a classic group; an unknown one is not found', async () => {
    const raw = await RawClient.connect(broker.port);
    try {
      const hb = await raw.request(ApiKey.ConsumerGroupHeartbeat, 1, consumerJoinHeartbeat('dg-consumer', 'm-1', ['dg-topic']));
      assert.equal(hb.body.errorCode, ErrorCode.NONE);
      const st = await raw.request(ApiKey.StreamsGroupHeartbeat, 0, streamsJoinHeartbeat('dg-streams', 'm-1'));
      assert.equal(st.body.errorCode, ErrorCode.NONE);
      const sh = await raw.request(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'dg-share', memberId: 'm-1', memberEpoch: 0, rackId: null, subscribedTopicNames: ['dg-topic'] });
      assert.equal(sh.body.errorCode, ErrorCode.NONE);
      const ids = ['dg-consumer', 'dg-streams', 'dg-share', 'dg-none'];

      const v6 = await raw.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, 6, { groups: ids, includeAuthorizedOperations: false });
      assert.deepEqual(
        v6.body.groups.map((g) => [g.groupId, g.errorCode, g.errorMessage, g.groupState, g.protocolType, g.members.length]),
        [
          ['dg-consumer', ErrorCode.GROUP_ID_NOT_FOUND, 'Group dg-consumer is not a classic group.', 'Dead', '', 0],
          ['dg-streams', ErrorCode.GROUP_ID_NOT_FOUND, 'Group dg-streams is not a classic group.', 'Dead', '', 0],
          ['dg-share', ErrorCode.GROUP_ID_NOT_FOUND, 'Group dg-share is not a classic group.', 'Dead', '', 0],
          ['dg-none', ErrorCode.GROUP_ID_NOT_FOUND, 'Group dg-none not found.', 'Dead', '', 0],
        ],
      );
      // Before v6 (what kafkajs and older tools send): Dead, no error, no members.
      const v5 = await raw.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, 5, { groups: ids, includeAuthorizedOperations: false });
      assert.deepEqual(
        v5.body.groups.map((g) => [g.groupId, g.errorCode, g.groupState, g.protocolType, g.protocolData, g.members.length]),
        ids.map((id) => [id, ErrorCode.NONE, 'Dead', '', '', 0]),
      );

      // kafkajs's admin (DescribeGroups v2) sees the consumer group as Kafka shows it: Dead.
      const admin = new kafkajs.Kafka({ clientId: 'dg-admin', brokers: [broker.bootstrap], logLevel: kafkajs.logLevel.NOTHING }).admin();
      await admin.connect();
      try {
        const { groups } = await admin.describeGroups(['dg-consumer']);
        assert.deepEqual(
          groups.map((g) => [g.groupId, g.state, g.protocolType, g.members.length]),
          [['dg-consumer', 'Dead', '', 0]],
        );
      } finally {
        await admin.disconnect();
      }

      // A classic group is still described.
      const join = { ...classicJoinRequest(''), groupId: 'dg-classic', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] };
      const j = await raw.request(ApiKey.JoinGroup, 3, join);
      assert.equal(j.body.errorCode, ErrorCode.NONE);
      const classic = await raw.request<DescribeGroupsResponse>(ApiKey.DescribeGroups, 6, { groups: ['dg-classic'], includeAuthorizedOperations: false });
      assert.equal(classic.body.groups[0]!.errorCode, ErrorCode.NONE);
      assert.equal(classic.body.groups[0]!.protocolType, 'consumer');
      assert.equal(classic.body.groups[0]!.members.length, 1);
    } finally {
      raw.close();
    }
  });
});
