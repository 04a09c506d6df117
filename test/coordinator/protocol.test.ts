// Every version of every group API, through our own codecs against a broker: the answers a client
// of each version gets (and that no version trips the encoder).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker, withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTopic, metadataRequest } from '../helpers/requests.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A dynamic consumer's JoinGroup (range assignor), good for every version. */
const joinGroupBody = (groupId: string, memberId: string) => ({
  groupId,
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 10_000,
  memberId,
  groupInstanceId: null,
  protocolType: 'consumer',
  protocols: [{ name: 'range', metadata: Buffer.from('meta') }],
  reason: null,
});

describe('group APIs at every version', () => {
  const broker = suiteBroker({ config: { 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.num.partitions': 7 } });
  let client: RawClient;
  before(async () => {
    client = await RawClient.connect(broker.port);
    await createTopic(client, 'gt', 2);
  });
  after(() => client?.close());

  test('FindCoordinator v0-v6, single and batched, for groups and transactional ids', async () => {
    for (const v of range(0, 3)) {
      const r = await client.request(ApiKey.FindCoordinator, v, { key: `g${v}`, keyType: 0, coordinatorKeys: [] });
      assert.equal(r.body.errorCode, ErrorCode.NONE, `v${v}`);
      assert.equal(r.body.nodeId, 1);
      assert.equal(r.body.port, broker.port);
      if (v >= 1) {
        const t = await client.request(ApiKey.FindCoordinator, v, { key: 'tx', keyType: 1, coordinatorKeys: [] });
        assert.equal(t.body.errorCode, ErrorCode.NONE);
        assert.equal(t.body.port, broker.port);
        const empty = await client.request(ApiKey.FindCoordinator, v, { key: '', keyType: 1, coordinatorKeys: [] });
        assert.equal(empty.body.errorCode, ErrorCode.INVALID_REQUEST);
      }
    }
    for (const v of range(4, 6)) {
      const r = await client.request(ApiKey.FindCoordinator, v, { key: '', keyType: 0, coordinatorKeys: ['a', 'b'] });
      assert.deepEqual(
        r.body.coordinators.map((c: any) => [c.key, c.nodeId, c.port, c.errorCode]),
        [
          ['a', 1, broker.port, ErrorCode.NONE],
          ['b', 1, broker.port, ErrorCode.NONE],
        ],
      );
    }
    // The offsets topic now exists, internal and compacted, with the configured partition count.
    const md = await client.request(ApiKey.Metadata, 12, metadataRequest(['__consumer_offsets']));
    assert.equal(md.body.topics[0].isInternal, true);
    assert.equal(md.body.topics[0].partitions.length, 7);
  });

  test('JoinGroup v2-v9 with SyncGroup, Heartbeat and LeaveGroup of matching vintage', async () => {
    for (const v of range(2, 9)) {
      const group = `join-v${v}`;
      const join = (memberId: string) => client.request(ApiKey.JoinGroup, v, joinGroupBody(group, memberId));
      let r = await join('');
      if (v >= 4) {
        assert.equal(r.body.errorCode, ErrorCode.MEMBER_ID_REQUIRED, `v${v}`);
        r = await join(r.body.memberId);
      }
      assert.equal(r.body.errorCode, ErrorCode.NONE, `v${v}`);
      assert.equal(r.body.generationId, 1);
      assert.equal(r.body.leader, r.body.memberId);
      assert.equal(r.body.protocolName, 'range');
      assert.equal(r.body.members[0].metadata.toString(), 'meta');
      const memberId = r.body.memberId;
      const syncVersion = Math.min(v - 2, 5);
      const s = await client.request(ApiKey.SyncGroup, syncVersion, {
        groupId: group,
        generationId: 1,
        memberId,
        groupInstanceId: null,
        protocolType: syncVersion >= 5 ? 'consumer' : null,
        protocolName: syncVersion >= 5 ? 'range' : null,
        assignments: [{ memberId, assignment: Buffer.from('assigned') }],
      });
      assert.equal(s.body.errorCode, ErrorCode.NONE);
      assert.equal(s.body.assignment.toString(), 'assigned');
      const hbVersion = Math.min(v - 2, 4);
      const hb = await client.request(ApiKey.Heartbeat, hbVersion, { groupId: group, generationId: 1, memberId, groupInstanceId: null });
      assert.equal(hb.body.errorCode, ErrorCode.NONE);
      const stale = await client.request(ApiKey.Heartbeat, hbVersion, { groupId: group, generationId: 0, memberId, groupInstanceId: null });
      assert.equal(stale.body.errorCode, ErrorCode.ILLEGAL_GENERATION);
      const leaveVersion = Math.min(v - 2, 5);
      const leave = await client.request(ApiKey.LeaveGroup, leaveVersion, {
        groupId: group,
        memberId: leaveVersion < 3 ? memberId : '',
        members:
          leaveVersion < 3
            ? []
            : [
                { memberId, groupInstanceId: null, reason: null },
                { memberId: 'ghost', groupInstanceId: null, reason: null },
              ],
      });
      assert.equal(leave.body.errorCode, ErrorCode.NONE, `LeaveGroup v${leaveVersion}`);
      if (leaveVersion >= 3)
        assert.deepEqual(
          leave.body.members.map((m: any) => m.errorCode),
          [ErrorCode.NONE, ErrorCode.UNKNOWN_MEMBER_ID],
        );
      const gone = await client.request(ApiKey.Heartbeat, hbVersion, { groupId: group, generationId: 1, memberId, groupInstanceId: null });
      assert.equal(gone.body.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    }
  });

  test('JoinGroup refusals: empty group id, session timeout out of bounds, unknown member', async () => {
    const join = (groupId: string, sessionTimeoutMs: number, memberId = '') =>
      client.request(ApiKey.JoinGroup, 9, {
        groupId,
        sessionTimeoutMs,
        rebalanceTimeoutMs: 10_000,
        memberId,
        groupInstanceId: null,
        protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
        reason: 'test',
      });
    assert.equal((await join('', 10_000)).body.errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal((await join('refusals', 5999)).body.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal((await join('refusals', 1_800_001)).body.errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
    assert.equal((await join('refusals', 10_000, 'made-up')).body.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const sync = await client.request(ApiKey.SyncGroup, 5, {
      groupId: 'refusals',
      generationId: 1,
      memberId: 'made-up',
      groupInstanceId: null,
      protocolType: 'consumer',
      protocolName: 'range',
      assignments: [],
    });
    assert.equal(sync.body.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const list = await client.request(ApiKey.ListGroups, 4, { statesFilter: [], typesFilter: [] });
    assert.ok(!list.body.groups.some((g: any) => g.groupId === 'refusals'), 'refused joins leave no group behind');
  });

  test('OffsetCommit v2-v9, OffsetFetch v1-v9 (v8+ for several groups), OffsetDelete', async () => {
    for (const v of range(2, 9)) {
      const r = await client.request(ApiKey.OffsetCommit, v, {
        groupId: `commit-v${v}`,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: [
          {
            name: 'gt',
            partitions: [
              { partitionIndex: 0, committedOffset: 100 + v, committedLeaderEpoch: v >= 6 ? 0 : -1, committedMetadata: `m${v}` },
              { partitionIndex: 5, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null },
            ],
          },
        ],
      });
      // As in Kafka, a partition that does not exist is answered first, before the group's.
      assert.deepEqual(
        r.body.topics[0].partitions.map((p: any) => [p.partitionIndex, p.errorCode]),
        [
          [5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
          [0, ErrorCode.NONE],
        ],
        `v${v}`,
      );
      const member = await client.request(ApiKey.OffsetCommit, v, {
        groupId: `nobody-v${v}`,
        generationIdOrMemberEpoch: 3,
        memberId: 'm',
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: [{ name: 'gt', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
      assert.equal(member.body.topics[0].partitions[0].errorCode, v >= 9 ? ErrorCode.GROUP_ID_NOT_FOUND : ErrorCode.ILLEGAL_GENERATION);
    }
    for (const v of range(1, 7)) {
      const r = await client.request(ApiKey.OffsetFetch, v, { groupId: 'commit-v6', topics: [{ name: 'gt', partitionIndexes: [0, 1] }], groups: [], requireStable: v >= 7 });
      assert.deepEqual(
        r.body.topics[0].partitions.map((p: any) => [p.partitionIndex, p.committedOffset, p.committedLeaderEpoch, p.metadata]),
        [
          [0, 106, v >= 5 ? 0 : -1, 'm6'],
          [1, -1, -1, ''],
        ],
        `v${v}`,
      );
      if (v >= 2) {
        const all = await client.request(ApiKey.OffsetFetch, v, { groupId: 'commit-v6', topics: null, groups: [], requireStable: false });
        assert.deepEqual(
          all.body.topics.map((t: any) => [t.name, t.partitions.length]),
          [['gt', 1]],
        );
      }
    }
    for (const v of [8, 9]) {
      const r = await client.request(ApiKey.OffsetFetch, v, {
        groupId: '',
        topics: [],
        requireStable: true,
        groups: [
          { groupId: 'commit-v2', memberId: null, memberEpoch: -1, topics: null },
          { groupId: 'commit-v9', memberId: null, memberEpoch: -1, topics: [{ name: 'gt', partitionIndexes: [0] }] },
          { groupId: 'unknown', memberId: null, memberEpoch: -1, topics: [{ name: 'gt', partitionIndexes: [0] }] },
        ],
      });
      assert.deepEqual(
        r.body.groups.map((g: any) => [g.groupId, g.errorCode, g.topics.map((t: any) => t.partitions.map((p: any) => p.committedOffset))]),
        [
          ['commit-v2', 0, [[102]]],
          ['commit-v9', 0, [[109]]],
          ['unknown', 0, [[-1]]],
        ],
      );
    }
    const del = await client.request(ApiKey.OffsetDelete, 0, { groupId: 'commit-v2', topics: [{ name: 'gt', partitions: [{ partitionIndex: 0 }] }] });
    assert.equal(del.body.errorCode, ErrorCode.NONE);
    assert.equal(del.body.topics[0].partitions[0].errorCode, ErrorCode.NONE);
    const after = await client.request(ApiKey.OffsetFetch, 6, { groupId: 'commit-v2', topics: [{ name: 'gt', partitionIndexes: [0] }], groups: [], requireStable: false });
    assert.equal(after.body.topics[0].partitions[0].committedOffset, -1);
    const missing = await client.request(ApiKey.OffsetDelete, 0, { groupId: 'missing', topics: [] });
    assert.equal(missing.body.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
  });

  test('OffsetFetch of all topics (null list) forgets a deleted topic at once, as Kafka does', async () => {
    for (const name of ['of-gone', 'of-stays']) await createTopic(client, name, 2);
    const commit = await client.request(ApiKey.OffsetCommit, 8, {
      groupId: 'of-deleted',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: ['of-gone', 'of-stays'].map((name) => ({
        name,
        partitions: [0, 1].map((p) => ({ partitionIndex: p, committedOffset: 5 + p, committedLeaderEpoch: -1, committedMetadata: '' })),
      })),
    });
    assert.ok(commit.body.topics.every((t: any) => t.partitions.every((p: any) => p.errorCode === ErrorCode.NONE)));
    const all = async (v: number) => {
      const r = await client.request(ApiKey.OffsetFetch, v, {
        groupId: v >= 8 ? '' : 'of-deleted',
        topics: v >= 8 ? [] : null,
        requireStable: false,
        groups: v >= 8 ? [{ groupId: 'of-deleted', memberId: null, memberEpoch: -1, topics: null }] : [],
      });
      const topics = v >= 8 ? r.body.groups[0].topics : r.body.topics;
      return topics.map((t: any) => [t.name, t.partitions.map((p: any) => p.committedOffset)]).sort();
    };
    assert.deepEqual(await all(7), [
      ['of-gone', [5, 6]],
      ['of-stays', [5, 6]],
    ]);
    const del = await client.request(ApiKey.DeleteTopics, 6, {
      topics: [{ name: 'of-gone', topicId: '00000000-0000-0000-0000-000000000000' }],
      topicNames: [],
      timeoutMs: 5000,
    });
    assert.equal(del.body.responses[0].errorCode, ErrorCode.NONE);
    for (const v of [2, 7, 8, 9]) assert.deepEqual(await all(v), [['of-stays', [5, 6]]], `v${v}`);
    // A topic created again under the name starts without the old topic's positions.
    await createTopic(client, 'of-gone', 2);
    assert.deepEqual(await all(8), [['of-stays', [5, 6]]]);
    const byName = await client.request(ApiKey.OffsetFetch, 6, {
      groupId: 'of-deleted',
      topics: [{ name: 'of-gone', partitionIndexes: [0] }],
      groups: [],
      requireStable: false,
    });
    assert.equal(byName.body.topics[0].partitions[0].committedOffset, -1);
  });

  test('ListGroups v0-v5 (state and type filters), DescribeGroups v0-v6, DeleteGroups v0-v2', async () => {
    // A live group to describe.
    const join = await client.request(ApiKey.JoinGroup, 5, {
      groupId: 'live',
      sessionTimeoutMs: 30_000,
      rebalanceTimeoutMs: 30_000,
      memberId: '',
      groupInstanceId: 'inst-1',
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from('sub') }],
      reason: null,
    });
    assert.equal(join.body.errorCode, ErrorCode.NONE);
    await client.request(ApiKey.SyncGroup, 3, {
      groupId: 'live',
      generationId: 1,
      memberId: join.body.memberId,
      groupInstanceId: 'inst-1',
      protocolType: null,
      protocolName: null,
      assignments: [{ memberId: join.body.memberId, assignment: Buffer.from('asg') }],
    });
    for (const v of range(0, 5)) {
      const r = await client.request(ApiKey.ListGroups, v, { statesFilter: v >= 4 ? ['Stable'] : [], typesFilter: v >= 5 ? ['classic'] : [] });
      const names = r.body.groups.map((g: any) => g.groupId);
      assert.ok(names.includes('live'), `v${v}`);
      if (v >= 4) {
        assert.deepEqual(names, ['live'], 'only Stable groups');
        assert.equal(r.body.groups[0].groupState, 'Stable');
      } else {
        assert.ok(names.includes('commit-v3'));
      }
    }
    const empty = await client.request(ApiKey.ListGroups, 4, { statesFilter: ['empty'], typesFilter: [] });
    assert.ok(empty.body.groups.every((g: any) => g.groupState === 'Empty') && empty.body.groups.length > 0);
    const consumerOnly = await client.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] });
    assert.deepEqual(consumerOnly.body.groups, [], 'there are no KIP-848 groups');

    for (const v of range(0, 6)) {
      const r = await client.request(ApiKey.DescribeGroups, v, { groups: ['live', 'nope'], includeAuthorizedOperations: v >= 3 });
      const [live, nope] = r.body.groups;
      assert.equal(live.errorCode, ErrorCode.NONE);
      assert.equal(live.groupState, 'Stable');
      assert.equal(live.protocolType, 'consumer');
      assert.equal(live.protocolData, 'range');
      assert.equal(live.members.length, 1);
      assert.equal(live.members[0].memberMetadata.toString(), 'sub');
      assert.equal(live.members[0].memberAssignment.toString(), 'asg');
      assert.equal(live.members[0].clientHost, '/127.0.0.1');
      if (v >= 4) assert.equal(live.members[0].groupInstanceId, 'inst-1');
      if (v >= 6) {
        assert.equal(nope.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
      } else {
        assert.equal(nope.errorCode, ErrorCode.NONE);
        assert.equal(nope.groupState, 'Dead');
      }
    }
    for (const v of range(0, 2)) {
      const r = await client.request(ApiKey.DeleteGroups, v, { groupsNames: [`commit-v${v + 3}`, 'live', 'never'] });
      assert.deepEqual(
        r.body.results.map((x: any) => x.errorCode),
        [ErrorCode.NONE, ErrorCode.NON_EMPTY_GROUP, ErrorCode.GROUP_ID_NOT_FOUND],
      );
    }
    const fetched = await client.request(ApiKey.OffsetFetch, 6, { groupId: 'commit-v3', topics: null, groups: [], requireStable: false });
    assert.deepEqual(fetched.body.topics, [], 'a deleted group has no offsets');
  });
});

describe('__consumer_offsets created by someone else first', () => {
  test('a Metadata auto-create of the offsets topic does not break the coordinator', async (t) => {
    const broker = await withBroker(t, { config: { 'num.partitions': 3 } });
    const client = await RawClient.connect(broker.port);
    try {
      const md = await client.request(ApiKey.Metadata, 9, {
        topics: [
          { topicId: '00000000-0000-0000-0000-000000000000', name: '__consumer_offsets' },
          { topicId: '00000000-0000-0000-0000-000000000000', name: 'data' },
        ],
        allowAutoTopicCreation: true,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      assert.equal(md.body.topics[0].errorCode, ErrorCode.NONE);
      const fc = await client.request(ApiKey.FindCoordinator, 3, { key: 'g', keyType: 0, coordinatorKeys: [] });
      assert.equal(fc.body.errorCode, ErrorCode.NONE);
      for (const group of ['g', 'h', 'i', 'j']) {
        const r = await client.request(ApiKey.OffsetCommit, 8, {
          groupId: group,
          generationIdOrMemberEpoch: -1,
          memberId: '',
          groupInstanceId: null,
          retentionTimeMs: -1,
          topics: [{ name: 'data', partitions: [{ partitionIndex: 2, committedOffset: 0, committedLeaderEpoch: -1, committedMetadata: null }] }],
        });
        assert.equal(r.body.topics[0].partitions[0].errorCode, ErrorCode.NONE, group);
      }
    } finally {
      client.close();
    }
  });
});

describe('group.max.size', () => {
  test('a JoinGroup beyond the broker config gets GROUP_MAX_SIZE_REACHED with no member id', async (t) => {
    const broker = await withBroker(t, { config: { 'group.max.size': 1, 'group.initial.rebalance.delay.ms': 0 } });
    const client = await RawClient.connect(broker.port);
    try {
      const join = (memberId: string) => client.request(ApiKey.JoinGroup, 9, joinGroupBody('full', memberId));
      const first = await join('');
      assert.equal(first.body.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
      assert.equal((await join(first.body.memberId)).body.errorCode, ErrorCode.NONE);
      const second = await join('');
      assert.deepEqual([second.body.errorCode, second.body.memberId], [ErrorCode.GROUP_MAX_SIZE_REACHED, '']);
    } finally {
      client.close();
    }
  });
});
