// KIP-932 share groups at the protocol level, against an in-process broker (the Java
// KafkaShareConsumer runs in test/compat/java/share-groups.test.ts): membership and the simple
// assignor, share session epochs, acquisition and acknowledgement rules (a record can only be
// acknowledged by the member holding it), the delivery limit, group configs, and the release of
// what a member holds when its connection drops.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { consumerJoinHeartbeat, createTopic, produceRequest } from '../helpers/requests.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { INTER_BROKER_CLIENT_ID } from '../../src/broker/inter-broker.js';
import { waitUntil } from '../helpers/wait.js';

const ACCEPT = 1;
const RELEASE = 2;

interface Acquired {
  firstOffset: number;
  lastOffset: number;
  deliveryCount: number;
}

describe('share groups (KIP-932) on the wire', () => {
  const broker = suiteBroker();
  let raw: RawClient;
  let topicId: string;

  async function heartbeat(groupId: string, memberId: string, memberEpoch: number, topics: string[] | null) {
    const r = await raw.request(ApiKey.ShareGroupHeartbeat, 1, { groupId, memberId, memberEpoch, rackId: null, subscribedTopicNames: topics });
    return r.body as { errorCode: number; memberEpoch: number; assignment: { topicPartitions: { topicId: string; partitions: number[] }[] } | null };
  }

  async function shareFetch(
    groupId: string,
    memberId: string,
    epoch: number,
    partitions: { partition: number; acks?: { firstOffset: number; lastOffset: number; acknowledgeTypes: number[] }[] }[],
    maxWaitMs = 0,
  ) {
    const r = await raw.request(ApiKey.ShareFetch, 1, {
      groupId,
      memberId,
      shareSessionEpoch: epoch,
      maxWaitMs,
      minBytes: 1,
      maxBytes: 1 << 20,
      maxRecords: 500,
      batchSize: 500,
      topics: [{ topicId, partitions: partitions.map((p) => ({ partitionIndex: p.partition, partitionMaxBytes: 0, acknowledgementBatches: p.acks ?? [] })) }],
      forgottenTopicsData: [],
    });
    const body = r.body as {
      errorCode: number;
      responses: { partitions: { partitionIndex: number; errorCode: number; acknowledgeErrorCode: number; acquiredRecords: Acquired[] }[] }[];
    };
    return { errorCode: body.errorCode, partitions: body.responses.flatMap((t) => t.partitions) };
  }

  async function acknowledge(groupId: string, memberId: string, epoch: number, firstOffset: number, lastOffset: number, type: number) {
    const r = await raw.request(ApiKey.ShareAcknowledge, 1, {
      groupId,
      memberId,
      shareSessionEpoch: epoch,
      topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset, lastOffset, acknowledgeTypes: [type] }] }] }],
    });
    const body = r.body as { errorCode: number; responses: { partitions: { errorCode: number }[] }[] };
    return { errorCode: body.errorCode, partition: body.responses[0]?.partitions[0]?.errorCode };
  }

  async function setGroupConfigs(group: string, configs: Record<string, string>) {
    const r = await raw.request(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [{ resourceType: 32, resourceName: group, configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value })) }],
      validateOnly: false,
    });
    return r.body.responses[0].errorCode as number;
  }

  test('membership, assignment, session epochs and acknowledgement rules', async () => {
    raw = await RawClient.connect(broker.port);
    await createTopic(raw, 'wire-q', 2);
    const md = await raw.request(ApiKey.Metadata, 12, {
      topics: [{ name: 'wire-q', topicId: '00000000-0000-0000-0000-000000000000' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    topicId = md.body.topics[0].topicId as string;
    assert.equal(await setGroupConfigs('wq', { 'share.auto.offset.reset': 'earliest' }), ErrorCode.NONE);
    assert.equal(await setGroupConfigs('wq', { 'share.delivery.count.limit': '1' }), ErrorCode.INVALID_CONFIG, 'below the minimum of 2');
    const cfg = await raw.request(ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: 32, resourceName: 'wq', configurationKeys: ['share.auto.offset.reset', 'share.record.lock.duration.ms'] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    assert.deepEqual(
      cfg.body.results[0].configs.map((c: { name: string; value: string }) => [c.name, c.value]),
      [
        ['share.auto.offset.reset', 'earliest'],
        ['share.record.lock.duration.ms', '30000'],
      ],
    );
    const r = await raw.request(ApiKey.Produce, 9, produceRequest('wire-q', 0, buildRecordBatch([{ value: 'a' }, { value: 'b' }, { value: 'c' }])));
    assert.equal(r.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);

    // Joining: a first heartbeat needs the subscription; two members split the two partitions.
    const m1 = randomUUID();
    const m2 = randomUUID();
    assert.equal((await heartbeat('wq', m1, 0, null)).errorCode, ErrorCode.INVALID_REQUEST);
    const j1 = await heartbeat('wq', m1, 0, ['wire-q']);
    assert.equal(j1.errorCode, ErrorCode.NONE);
    assert.deepEqual(j1.assignment?.topicPartitions[0]?.partitions, [0, 1]);
    const j2 = await heartbeat('wq', m2, 0, ['wire-q']);
    assert.equal(j2.assignment?.topicPartitions[0]?.partitions.length, 1);
    const again = await heartbeat('wq', m1, j1.memberEpoch, null);
    assert.equal(again.assignment?.topicPartitions[0]?.partitions.length, 1, 'the first member gives one partition up');
    // One answer behind (its previous epoch) is still answered, as Kafka 4.4 does; ahead is fenced.
    assert.equal((await heartbeat('wq', m1, j1.memberEpoch, null)).errorCode, ErrorCode.NONE);
    assert.equal((await heartbeat('wq', m1, again.memberEpoch + 1, null)).errorCode, ErrorCode.FENCED_MEMBER_EPOCH);
    assert.equal((await heartbeat('wq', randomUUID(), 5, null)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

    // Share sessions: only epoch 0 opens one; the next request must carry the next epoch.
    assert.equal((await shareFetch('wq', m1, 1, [{ partition: 0 }])).errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND);
    const f1 = await shareFetch('wq', m1, 0, [{ partition: 0 }]);
    assert.equal(f1.errorCode, ErrorCode.NONE);
    assert.deepEqual(f1.partitions[0]?.acquiredRecords, [{ firstOffset: 0, lastOffset: 2, deliveryCount: 1 }]);
    assert.equal((await shareFetch('wq', m1, 5, [])).errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH);
    // Another member cannot acknowledge what m1 holds, nor fetch it.
    const f2 = await shareFetch('wq', m2, 0, [{ partition: 0 }]);
    assert.deepEqual(
      f2.partitions.flatMap((p) => p.acquiredRecords),
      [],
    );
    assert.deepEqual(await acknowledge('wq', m2, 1, 0, 0, ACCEPT), { errorCode: ErrorCode.NONE, partition: ErrorCode.INVALID_RECORD_STATE });
    // m1 accepts 0 and releases 1-2 (piggybacked on its next fetch), which acquires 1-2 again.
    assert.deepEqual(await acknowledge('wq', m1, 1, 0, 0, ACCEPT), { errorCode: ErrorCode.NONE, partition: ErrorCode.NONE });
    assert.deepEqual(await acknowledge('wq', m1, 2, 0, 0, ACCEPT), { errorCode: ErrorCode.NONE, partition: ErrorCode.INVALID_RECORD_STATE }, 'already acknowledged');
    const f3 = await shareFetch('wq', m1, 3, [{ partition: 0, acks: [{ firstOffset: 1, lastOffset: 2, acknowledgeTypes: [RELEASE] }] }]);
    assert.equal(f3.partitions[0]?.acknowledgeErrorCode, ErrorCode.NONE);
    assert.deepEqual(f3.partitions[0]?.acquiredRecords, [{ firstOffset: 1, lastOffset: 2, deliveryCount: 2 }]);
    // Epoch -1 ends the session and releases what it held: m2 gets 1-2 at once.
    assert.equal((await shareFetch('wq', m1, -1, [])).errorCode, ErrorCode.NONE);
    const f4 = await shareFetch('wq', m2, 2, [{ partition: 0 }]);
    assert.deepEqual(f4.partitions[0]?.acquiredRecords, [{ firstOffset: 1, lastOffset: 2, deliveryCount: 3 }]);
    const offsets = await raw.request(ApiKey.DescribeShareGroupOffsets, 1, { groups: [{ groupId: 'wq', topics: [{ topicName: 'wire-q', partitions: [0] }] }] });
    assert.equal(offsets.body.groups[0].topics[0].partitions[0].startOffset, 1);
    assert.equal(offsets.body.groups[0].topics[0].partitions[0].lag, 2);
    // A group with members cannot have its offsets altered; leaving empties it.
    const alter = await raw.request(ApiKey.AlterShareGroupOffsets, 0, {
      groupId: 'wq',
      topics: [{ topicName: 'wire-q', partitions: [{ partitionIndex: 0, startOffset: 0 }] }],
    });
    assert.equal(alter.body.errorCode, ErrorCode.NON_EMPTY_GROUP);
    assert.equal((await heartbeat('wq', m1, again.memberEpoch, null)).errorCode, ErrorCode.NONE);
    const left = await raw.request(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'wq', memberId: m2, memberEpoch: -1, rackId: null, subscribedTopicNames: null });
    assert.equal(left.body.memberEpoch, -1);
    // ListGroups shows the share group; a consumer-protocol member cannot take its id.
    const list = await raw.request(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['share'] });
    assert.deepEqual(
      list.body.groups.map((g: { groupId: string; groupType: string; groupState: string }) => [g.groupId, g.groupType, g.groupState]),
      [['wq', 'share', 'Stable']],
    );
    const cg = await raw.request(ApiKey.ConsumerGroupHeartbeat, 0, consumerJoinHeartbeat('wq', '', ['wire-q']));
    assert.equal(cg.body.errorCode, ErrorCode.GROUP_ID_NOT_FOUND);
    raw.close();
  });

  test('a record released at the delivery limit is archived: the start offset moves past it', async () => {
    raw = await RawClient.connect(broker.port);
    assert.equal(await setGroupConfigs('wq-limit', { 'share.auto.offset.reset': 'earliest', 'share.delivery.count.limit': '2' }), ErrorCode.NONE);
    const m = randomUUID();
    await heartbeat('wq-limit', m, 0, ['wire-q']);
    let epoch = 0;
    const fetch = async (acks?: { firstOffset: number; lastOffset: number; acknowledgeTypes: number[] }[]) => {
      const f = await shareFetch('wq-limit', m, epoch, [{ partition: 0, acks }]);
      epoch++;
      return f.partitions[0]?.acquiredRecords ?? [];
    };
    assert.deepEqual(await fetch(), [{ firstOffset: 0, lastOffset: 2, deliveryCount: 1 }]);
    assert.deepEqual(await fetch([{ firstOffset: 0, lastOffset: 2, acknowledgeTypes: [RELEASE] }]), [{ firstOffset: 0, lastOffset: 2, deliveryCount: 2 }]);
    // The second release reaches the limit: nothing is left to deliver.
    assert.deepEqual(await fetch([{ firstOffset: 0, lastOffset: 2, acknowledgeTypes: [RELEASE] }]), []);
    // An acknowledgement far outside the in-flight records is refused at once.
    const huge = await shareFetch('wq-limit', m, epoch++, [{ partition: 0, acks: [{ firstOffset: 0, lastOffset: 2 ** 52, acknowledgeTypes: [ACCEPT] }] }]);
    assert.equal(huge.partitions[0]?.acknowledgeErrorCode, ErrorCode.INVALID_RECORD_STATE);
    const offsets = await raw.request(ApiKey.DescribeShareGroupOffsets, 1, { groups: [{ groupId: 'wq-limit', topics: null }] });
    const p0 = (offsets.body.groups[0].topics[0].partitions as { partitionIndex: number; startOffset: number; lag: number }[]).find((p) => p.partitionIndex === 0);
    assert.deepEqual([p0?.startOffset, p0?.lag], [3, 0]);
    raw.close();
  });

  test('DescribeShareGroupOffsets answers the error of a share coordinator that cannot be asked', async () => {
    raw = await RawClient.connect(broker.port);
    const describe = async (topics: { topicName: string; partitions: number[] }[] | null) => {
      const r = await raw.request(ApiKey.DescribeShareGroupOffsets, 1, { groups: [{ groupId: 'wq-limit', topics }] });
      return (r.body.groups[0].topics as { partitions: { partitionIndex: number; startOffset: number; errorCode: number }[] }[]).flatMap((t) =>
        t.partitions.map((p) => [p.partitionIndex, p.startOffset, p.errorCode]),
      );
    };
    assert.deepEqual(await describe(null), [[0, 3, ErrorCode.NONE]]);
    // The share coordinator of partition 0 is loading: its summary cannot be had just now.
    const persister = broker.broker.shares.persister;
    const summaries = persister.summaries.bind(persister);
    persister.summaries = async (groupId, keys) => {
      const out = await summaries(groupId, keys);
      for (const k of keys) if (k.partition === 0) out.set(`${k.topicId}:0`, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
      return out;
    };
    try {
      assert.deepEqual(await describe([{ topicName: 'wire-q', partitions: [0, 1] }]), [
        [0, -1, ErrorCode.COORDINATOR_NOT_AVAILABLE],
        [1, -1, ErrorCode.NONE],
      ]);
      // Also when every partition of the group is asked for (the group subscribes to the topic):
      // partition 1 has no state, partition 0 is not left out as if it had none.
      assert.deepEqual(await describe(null), [[0, -1, ErrorCode.COORDINATOR_NOT_AVAILABLE]]);
    } finally {
      persister.summaries = summaries;
    }
    raw.close();
  });

  test('RENEW (v2) keeps a record acquired by its holder', async () => {
    raw = await RawClient.connect(broker.port);
    assert.equal(await setGroupConfigs('wq-renew', { 'share.auto.offset.reset': 'earliest' }), ErrorCode.NONE);
    const a = randomUUID();
    const b = randomUUID();
    await heartbeat('wq-renew', a, 0, ['wire-q']);
    await heartbeat('wq-renew', b, 0, ['wire-q']);
    assert.deepEqual((await shareFetch('wq-renew', a, 0, [{ partition: 0 }])).partitions[0]?.acquiredRecords, [{ firstOffset: 0, lastOffset: 2, deliveryCount: 1 }]);
    const renew = await raw.request(ApiKey.ShareAcknowledge, 2, {
      groupId: 'wq-renew',
      memberId: a,
      shareSessionEpoch: 1,
      isRenewAck: true,
      topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 0, lastOffset: 2, acknowledgeTypes: [4] }] }] }],
    });
    assert.equal(renew.body.responses[0].partitions[0].errorCode, ErrorCode.NONE);
    // RENEW does not exist in v1.
    const v1 = await raw.request(ApiKey.ShareAcknowledge, 1, {
      groupId: 'wq-renew',
      memberId: a,
      shareSessionEpoch: 2,
      topics: [{ topicId, partitions: [{ partitionIndex: 0, acknowledgementBatches: [{ firstOffset: 0, lastOffset: 2, acknowledgeTypes: [4] }] }] }],
    });
    assert.equal(v1.body.responses[0].partitions[0].errorCode, ErrorCode.INVALID_REQUEST);
    // Still a's: b gets nothing, and a can accept them.
    assert.deepEqual(
      (await shareFetch('wq-renew', b, 0, [{ partition: 0 }])).partitions.flatMap((p) => p.acquiredRecords),
      [],
    );
    assert.deepEqual(await acknowledge('wq-renew', a, 3, 0, 2, ACCEPT), { errorCode: ErrorCode.NONE, partition: ErrorCode.NONE });
    raw.close();
  });

  test('an acknowledgement whose state write fails is undone and answered with the error', async () => {
    raw = await RawClient.connect(broker.port);
    const g = 'wq-ackfail';
    assert.equal(await setGroupConfigs(g, { 'share.auto.offset.reset': 'earliest', 'share.delivery.count.limit': '2' }), ErrorCode.NONE);
    const m = randomUUID();
    const other = randomUUID();
    await heartbeat(g, m, 0, ['wire-q']);
    await heartbeat(g, other, 0, ['wire-q']);
    assert.deepEqual((await shareFetch(g, m, 0, [{ partition: 0 }])).partitions[0]?.acquiredRecords, [{ firstOffset: 0, lastOffset: 2, deliveryCount: 1 }]);
    assert.deepEqual(
      (await shareFetch(g, other, 0, [{ partition: 0 }])).partitions.flatMap((p) => p.acquiredRecords),
      [],
    );
    // The share coordinator fails the next writes (as a coordinator on the move does).
    const persister = broker.broker.shares.persister;
    const write = persister.write.bind(persister);
    let failures = 0;
    persister.write = () => {
      failures++;
      return Promise.resolve(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    };
    try {
      assert.deepEqual(await acknowledge(g, m, 1, 0, 2, ACCEPT), { errorCode: ErrorCode.NONE, partition: ErrorCode.COORDINATOR_NOT_AVAILABLE });
      const piggybacked = await shareFetch(g, m, 2, [{ partition: 0, acks: [{ firstOffset: 0, lastOffset: 2, acknowledgeTypes: [RELEASE] }] }]);
      assert.equal(piggybacked.partitions[0]?.acknowledgeErrorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
      assert.equal(failures, 2);
    } finally {
      persister.write = write;
    }
    // Neither the accept nor the release took effect: the records are still m's, not available to
    // another member, and m can settle them now.
    assert.deepEqual(
      (await shareFetch(g, other, 1, [{ partition: 0 }])).partitions.flatMap((p) => p.acquiredRecords),
      [],
    );
    assert.deepEqual(await acknowledge(g, m, 3, 0, 0, ACCEPT), { errorCode: ErrorCode.NONE, partition: ErrorCode.NONE });
    assert.deepEqual(await acknowledge(g, m, 4, 1, 2, RELEASE), { errorCode: ErrorCode.NONE, partition: ErrorCode.NONE });
    assert.deepEqual((await shareFetch(g, other, 2, [{ partition: 0 }])).partitions[0]?.acquiredRecords, [{ firstOffset: 1, lastOffset: 2, deliveryCount: 2 }]);
    const summary = await raw.request(ApiKey.ReadShareGroupStateSummary, 1, { groupId: g, topics: [{ topicId, partitions: [{ partition: 0, leaderEpoch: -1 }] }] });
    assert.equal(summary.body.results[0].partitions[0].startOffset, 1, 'the accepted record was written once the coordinator answered');
    raw.close();
  });

  test('a lock that expires while a failing acknowledgement is written still releases the records', async () => {
    raw = await RawClient.connect(broker.port);
    const g = 'wq-ackfail-lock';
    assert.equal(await setGroupConfigs(g, { 'share.auto.offset.reset': 'earliest', 'share.record.lock.duration.ms': '1000' }), ErrorCode.NONE);
    const m = randomUUID();
    const other = randomUUID();
    assert.deepEqual((await shareFetch(g, m, 0, [{ partition: 0 }])).partitions[0]?.acquiredRecords, [{ firstOffset: 0, lastOffset: 2, deliveryCount: 1 }]);
    // The write outlives the 1 s lock, then fails: the records are m's again, but their lock is over.
    const persister = broker.broker.shares.persister;
    const write = persister.write.bind(persister);
    persister.write = () => new Promise((resolve) => setTimeout(() => resolve(ErrorCode.COORDINATOR_NOT_AVAILABLE), 1300));
    try {
      assert.deepEqual(await acknowledge(g, m, 1, 0, 2, ACCEPT), { errorCode: ErrorCode.NONE, partition: ErrorCode.COORDINATOR_NOT_AVAILABLE });
    } finally {
      persister.write = write;
    }
    let got: Acquired[] = [];
    let epoch = 0;
    await waitUntil(async () => (got = (await shareFetch(g, other, epoch++, [{ partition: 0 }])).partitions.flatMap((p) => p.acquiredRecords)).length > 0, {
      timeout: 5000,
      message: 'the records come back once their lock is found expired',
    });
    assert.deepEqual(got, [{ firstOffset: 0, lastOffset: 2, deliveryCount: 2 }]);
    raw.close();
  });

  test('a member whose connection drops loses what it holds at once, not after the lock', async () => {
    raw = await RawClient.connect(broker.port);
    assert.equal(await setGroupConfigs('wq-drop', { 'share.auto.offset.reset': 'earliest', 'share.record.lock.duration.ms': '60000' }), ErrorCode.NONE);
    const a = randomUUID();
    const b = randomUUID();
    await heartbeat('wq-drop', a, 0, ['wire-q']);
    await heartbeat('wq-drop', b, 0, ['wire-q']);
    assert.deepEqual((await shareFetch('wq-drop', a, 0, [{ partition: 0 }])).partitions[0]?.acquiredRecords, [{ firstOffset: 0, lastOffset: 2, deliveryCount: 1 }]);
    // While a's connection is open its records stay a's.
    const other = raw;
    raw = await RawClient.connect(broker.port);
    assert.deepEqual(
      (await shareFetch('wq-drop', b, 0, [{ partition: 0 }])).partitions.flatMap((p) => p.acquiredRecords),
      [],
    );
    const started = Date.now();
    other.close();
    let got: Acquired[] = [];
    let epoch = 1;
    await waitUntil(
      async () => {
        got = (await shareFetch('wq-drop', b, epoch++, [{ partition: 0 }])).partitions.flatMap((p) => p.acquiredRecords);
        return got.length > 0;
      },
      { timeout: 10_000, message: "the dropped member's records come back" },
    );
    assert.ok(Date.now() - started < 30_000, 'long before the 60 s lock expires');
    assert.deepEqual(got, [{ firstOffset: 0, lastOffset: 2, deliveryCount: 2 }]);
    // a's share session is gone with its connection.
    assert.equal((await shareFetch('wq-drop', a, 1, [{ partition: 0 }])).errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND);
    raw.close();
  });

  test("a group coordinator on another broker ends a departed member's session: what it holds is released", async () => {
    raw = await RawClient.connect(broker.port);
    const g = 'wq-left-elsewhere';
    assert.equal(await setGroupConfigs(g, { 'share.auto.offset.reset': 'earliest', 'share.record.lock.duration.ms': '60000' }), ErrorCode.NONE);
    const a = randomUUID();
    const b = randomUUID();
    assert.deepEqual((await shareFetch(g, a, 0, [{ partition: 0 }])).partitions[0]?.acquiredRecords, [{ firstOffset: 0, lastOffset: 2, deliveryCount: 1 }]);
    // What the group coordinator of a cluster sends each broker when a member leaves there.
    const peer = await RawClient.connect(broker.port);
    peer.clientId = INTER_BROKER_CLIENT_ID;
    try {
      const left = await peer.request(ApiKey.ShareAcknowledge, 1, { groupId: g, memberId: a, shareSessionEpoch: -1, topics: [] });
      assert.equal(left.body.errorCode, ErrorCode.NONE);
      // Also for a member this broker has no session of (nothing to release).
      const unknown = await peer.request(ApiKey.ShareAcknowledge, 1, { groupId: g, memberId: randomUUID(), shareSessionEpoch: -1, topics: [] });
      assert.equal(unknown.body.errorCode, ErrorCode.NONE);
    } finally {
      peer.close();
    }
    // At once, long before the 60 s lock: b gets the records, and a's session is gone.
    assert.deepEqual((await shareFetch(g, b, 0, [{ partition: 0 }])).partitions[0]?.acquiredRecords, [{ firstOffset: 0, lastOffset: 2, deliveryCount: 2 }]);
    assert.equal((await shareFetch(g, a, 1, [{ partition: 0 }])).errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND);
    // A client's own final ShareAcknowledge still needs its session.
    assert.equal((await acknowledge(g, a, -1, 0, 0, ACCEPT)).errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND);
    raw.close();
  });

  test("the share coordinator's APIs: initialize, write, read with leader epochs, summary, delete", async () => {
    raw = await RawClient.connect(broker.port);
    const g = 'wq-state';
    const topics = (parts: object[]) => [{ topicId, partitions: parts }];
    const read = async (leaderEpoch: number) =>
      (await raw.request(ApiKey.ReadShareGroupState, 0, { groupId: g, topics: topics([{ partition: 1, leaderEpoch }]) })).body.results[0].partitions[0] as {
        errorCode: number;
        stateEpoch: number;
        startOffset: number;
        stateBatches: { firstOffset: number; lastOffset: number; deliveryState: number; deliveryCount: number }[];
      };
    const write = async (stateEpoch: number, leaderEpoch: number, startOffset: number, stateBatches: object[]) =>
      (
        await raw.request(ApiKey.WriteShareGroupState, 1, {
          groupId: g,
          topics: topics([{ partition: 1, stateEpoch, leaderEpoch, startOffset, deliveryCompleteCount: -1, stateBatches }]),
        })
      ).body.results[0].partitions[0].errorCode as number;
    const summary = async () =>
      (await raw.request(ApiKey.ReadShareGroupStateSummary, 1, { groupId: g, topics: topics([{ partition: 1, leaderEpoch: -1 }]) })).body.results[0].partitions[0] as {
        errorCode: number;
        stateEpoch: number;
        leaderEpoch: number;
        startOffset: number;
        deliveryCompleteCount: number;
      };
    // Nothing yet: start offset -1.
    assert.deepEqual([(await read(0)).errorCode, (await read(0)).startOffset], [ErrorCode.NONE, -1]);
    const init = await raw.request(ApiKey.InitializeShareGroupState, 0, { groupId: g, topics: topics([{ partition: 1, stateEpoch: 1, startOffset: 5 }]) });
    assert.equal(init.body.results[0].partitions[0].errorCode, ErrorCode.NONE);
    // A leader at epoch 3 writes; acquired (1) is stored as available.
    const batches = [
      { firstOffset: 5, lastOffset: 6, deliveryState: 2, deliveryCount: 1 },
      { firstOffset: 7, lastOffset: 7, deliveryState: 1, deliveryCount: 2 },
    ];
    assert.equal(await write(1, 3, 5, batches), ErrorCode.NONE);
    const got = await read(3);
    assert.equal(got.stateEpoch, 1);
    assert.deepEqual(got.stateBatches, [batches[0], { ...batches[1], deliveryState: 0 }]);
    assert.deepEqual(await summary(), {
      partition: 1,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      stateEpoch: 1,
      leaderEpoch: 3,
      startOffset: 5,
      deliveryCompleteCount: 2,
    });
    // A newer leader reads: the older one is fenced from then on, for reads and writes.
    assert.equal((await read(4)).errorCode, ErrorCode.NONE);
    assert.equal(await write(1, 3, 6, []), ErrorCode.FENCED_LEADER_EPOCH);
    assert.equal((await read(3)).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    // A reset (a new state epoch) fences the state epoch the leader knew.
    const reset = await raw.request(ApiKey.InitializeShareGroupState, 0, { groupId: g, topics: topics([{ partition: 1, stateEpoch: 2, startOffset: 0 }]) });
    assert.equal(reset.body.results[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.equal(await write(1, 4, 6, []), ErrorCode.FENCED_STATE_EPOCH);
    assert.deepEqual([(await summary()).stateEpoch, (await summary()).startOffset], [2, 0]);
    // FindCoordinator v6 names the share coordinator of a share-partition (key type SHARE, 2).
    const find = async (version: number, key: string) =>
      (await raw.request(ApiKey.FindCoordinator, version, { key: '', keyType: 2, coordinatorKeys: [key] })).body.coordinators[0] as { errorCode: number; nodeId: number };
    const found = await find(6, `${g}:${topicId}:1`);
    assert.deepEqual([found.errorCode, found.nodeId], [ErrorCode.NONE, 1]);
    assert.equal((await find(6, `${g}:not-a-uuid:1`)).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await find(6, `${g}:${topicId}:-1`)).errorCode, ErrorCode.INVALID_REQUEST);
    assert.equal((await find(5, `${g}:${topicId}:1`)).errorCode, ErrorCode.UNSUPPORTED_VERSION);
    const del = await raw.request(ApiKey.DeleteShareGroupState, 0, { groupId: g, topics: topics([{ partition: 1 }]) });
    assert.equal(del.body.results[0].partitions[0].errorCode, ErrorCode.NONE);
    assert.equal((await summary()).startOffset, -1);
    raw.close();
  });

  test('a share-partition whose state was reset elsewhere is fenced, then reads the new state', async () => {
    raw = await RawClient.connect(broker.port);
    const g = 'wq-fence';
    assert.equal(await setGroupConfigs(g, { 'share.auto.offset.reset': 'earliest' }), ErrorCode.NONE);
    const m = randomUUID();
    assert.deepEqual((await shareFetch(g, m, 0, [{ partition: 0 }])).partitions[0]?.acquiredRecords, [{ firstOffset: 0, lastOffset: 2, deliveryCount: 1 }]);
    assert.deepEqual(await acknowledge(g, m, 1, 0, 2, ACCEPT), { errorCode: ErrorCode.NONE, partition: ErrorCode.NONE });
    const more = await raw.request(ApiKey.Produce, 9, produceRequest('wire-q', 0, buildRecordBatch([{ value: 'd' }, { value: 'e' }])));
    assert.equal(more.body.responses[0].partitionResponses[0].errorCode, ErrorCode.NONE);
    // Another broker's admin (here the RPC itself) moves the start back with a new state epoch.
    const before = await raw.request(ApiKey.ReadShareGroupStateSummary, 1, { groupId: g, topics: [{ topicId, partitions: [{ partition: 0, leaderEpoch: -1 }] }] });
    const stateEpoch = before.body.results[0].partitions[0].stateEpoch as number;
    const init = await raw.request(ApiKey.InitializeShareGroupState, 0, {
      groupId: g,
      topics: [{ topicId, partitions: [{ partition: 0, stateEpoch: stateEpoch + 1, startOffset: 1 }] }],
    });
    assert.equal(init.body.results[0].partitions[0].errorCode, ErrorCode.NONE);
    // The leader's copy is stale: its next write is fenced, the member is told to refresh ...
    assert.equal((await shareFetch(g, m, 2, [{ partition: 0 }])).partitions[0]?.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // ... and the next fetch reads the reset state: everything from offset 1, delivered afresh.
    assert.deepEqual((await shareFetch(g, m, 3, [{ partition: 0 }])).partitions[0]?.acquiredRecords, [{ firstOffset: 1, lastOffset: 4, deliveryCount: 1 }]);
    raw.close();
  });
});
