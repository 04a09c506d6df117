// What the KIP-848-family group APIs refuse before the coordinator sees a request
// (handlers/group-heartbeat-checks.ts): a protocol missing from
// group.coordinator.rebalance.protocols answers UNSUPPORTED_VERSION, a principal without READ
// (heartbeat) or DESCRIBE (describe) on the group GROUP_AUTHORIZATION_FAILED; a super user with
// the protocol enabled gets through.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import type { Connection } from '../../src/client/connection.js';
import { connectAs, saslPlainAclConfig } from '../helpers/sasl-plain-acls.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { consumerJoinHeartbeat, streamsJoinHeartbeat } from '../helpers/requests.js';

type HeartbeatAnswer = { errorCode: number; errorMessage: string | null; memberEpoch: number };
type DescribeAnswer = { groups: { errorCode: number }[] };

describe('group heartbeat checks', () => {
  const broker = suiteBroker({
    config: { ...saslPlainAclConfig(['alice']), 'group.coordinator.rebalance.protocols': 'classic,consumer' },
  });
  const withConn = async <T>(user: string, f: (c: Connection) => Promise<T>): Promise<T> => {
    const c = await connectAs(broker.port, user);
    try {
      return await f(c);
    } finally {
      c.close();
    }
  };
  const consumerHeartbeat = (c: Connection, groupId: string) => c.request<HeartbeatAnswer>(ApiKey.ConsumerGroupHeartbeat, consumerJoinHeartbeat(groupId, 'member-1', ['t']));
  const streamsHeartbeat = (c: Connection, groupId: string) =>
    c.request<HeartbeatAnswer>(ApiKey.StreamsGroupHeartbeat, streamsJoinHeartbeat(groupId, 'member-1', { processId: 'process-1' }));
  const describeBody = (groupId: string) => ({ groupIds: [groupId], includeAuthorizedOperations: false, includeTopologyDescription: false });

  test('a principal without READ or DESCRIBE on the group is refused', async () => {
    await withConn('alice', async (c) => {
      const hb = await consumerHeartbeat(c, 'g-alice');
      assert.equal(hb.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      assert.equal(hb.errorMessage, null);
      const d = await c.request<DescribeAnswer>(ApiKey.ConsumerGroupDescribe, describeBody('g-alice'));
      assert.equal(d.groups[0]!.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
      const sd = await c.request<DescribeAnswer>(ApiKey.StreamsGroupDescribe, describeBody('g-alice'));
      assert.equal(sd.groups[0]!.errorCode, ErrorCode.GROUP_AUTHORIZATION_FAILED);
    });
  });

  test('a protocol not in group.coordinator.rebalance.protocols answers UNSUPPORTED_VERSION; an enabled one goes through', async () => {
    await withConn('admin', async (c) => {
      const s = await streamsHeartbeat(c, 'g-streams');
      assert.equal(s.errorCode, ErrorCode.UNSUPPORTED_VERSION);
      assert.equal(s.errorMessage, 'The streams group protocol is not enabled.');
      const hb = await consumerHeartbeat(c, 'g-consumer');
      assert.equal(hb.errorCode, ErrorCode.NONE, hb.errorMessage ?? undefined);
      assert.ok(hb.memberEpoch > 0);
      // Describing a group of another kind, or of none.
      const sd = await c.request<{ groups: { errorCode: number; errorMessage: string | null; groupState: string }[] }>(
        ApiKey.StreamsGroupDescribe,
        describeBody('g-consumer'),
      );
      assert.deepEqual(
        sd.groups.map((g) => [g.errorCode, g.errorMessage, g.groupState]),
        [[ErrorCode.GROUP_ID_NOT_FOUND, 'Group g-consumer is not a streams group.', 'Dead']],
      );
      const cd = await c.request<{ groups: { errorCode: number; errorMessage: string | null; groupState: string }[] }>(ApiKey.ConsumerGroupDescribe, describeBody('g-none'));
      assert.deepEqual(
        cd.groups.map((g) => [g.errorCode, g.errorMessage, g.groupState]),
        [[ErrorCode.GROUP_ID_NOT_FOUND, 'Group g-none not found.', 'Dead']],
      );
    });
  });
});
