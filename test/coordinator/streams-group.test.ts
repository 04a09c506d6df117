// KIP-1071 streams groups in-process: StreamsGroupHeartbeat through the group coordinator with a
// manual clock, an in-memory __consumer_offsets and a fake topic table. Topology validation and
// statuses, internal topic creation, the sticky assignor with standbys, revocation before
// reassignment, fencing, timeouts, offset commits with member epochs, interactive-query
// endpoints, and replay of the records by a new coordinator.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import type { GroupCoordinator } from '../../src/coordinator/group-coordinator.js';
import { StreamsStatus, type StreamsGroupConfig, type StreamsHeartbeatResult, type Topology } from '../../src/coordinator/streams-group.js';
import { assignTasks, emptyTasks } from '../../src/coordinator/streams-group-assignor.js';
import type { StreamsGroupHeartbeatRequest } from '../../src/protocol/generated/streams-group-heartbeat.js';
import type { ManualClock } from '../../src/common/clock.js';
import { coordinatorFixture, MemoryStore } from '../helpers/coordinator.js';

/** words-in → (repartition) → counts with a changelog: subtopology 0 stateless, 1 stateful. */
const TOPOLOGY: Topology = {
  epoch: 0,
  subtopologies: [
    {
      subtopologyId: '0',
      sourceTopics: ['words-in'],
      sourceTopicRegex: [],
      stateChangelogTopics: [],
      repartitionSinkTopics: ['app-by-word-repartition'],
      repartitionSourceTopics: [],
      copartitionGroups: [],
    },
    {
      subtopologyId: '1',
      sourceTopics: ['app-by-word-repartition'],
      sourceTopicRegex: [],
      stateChangelogTopics: [{ name: 'app-counts-changelog', partitions: 0, replicationFactor: 0, topicConfigs: [{ key: 'cleanup.policy', value: 'compact' }] }],
      repartitionSinkTopics: [],
      repartitionSourceTopics: [{ name: 'app-by-word-repartition', partitions: 0, replicationFactor: 0, topicConfigs: [] }],
      copartitionGroups: [],
    },
  ],
};

function setup(
  opts: {
    store?: MemoryStore;
    clock?: ManualClock;
    standbys?: number;
    withSource?: boolean;
    topics?: Map<string, number>;
    /** Configs set on groups (GROUP config resources), by group id. */
    groupConfigs?: Map<string, Partial<StreamsGroupConfig>>;
  } = {},
) {
  const topics = opts.topics ?? new Map<string, number>(opts.withSource === false ? [] : [['words-in', 4]]);
  const created: { name: string; partitions: number; configs: Record<string, string> }[] = [];
  const fixture = coordinatorFixture({
    store: opts.store,
    clock: opts.clock,
    partitionExists: (topic, partition) => partition < (topics.get(topic) ?? 0),
    streams: {
      topics: {
        get: (n) => (topics.has(n) ? { id: `id-${n}`, numPartitions: topics.get(n)! } : undefined),
        names: () => topics.keys(),
      },
      createTopic: (name, partitions, configs) => {
        created.push({ name, partitions, configs });
        topics.set(name, partitions);
        return Promise.resolve();
      },
      heartbeatIntervalMs: 1000,
      sessionTimeoutMs: 10_000,
      numStandbyReplicas: opts.standbys ?? 0,
      groupConfig: (groupId) => opts.groupConfigs?.get(groupId) ?? {},
      maxSize: 10,
    },
  });
  return { ...fixture, topics, created };
}

type Ids = { subtopologyId: string; partitions: number[] }[];

function hb(memberId: string, memberEpoch: number, over: Partial<StreamsGroupHeartbeatRequest> = {}): StreamsGroupHeartbeatRequest {
  const joining = memberEpoch === 0;
  return {
    groupId: 'app',
    memberId,
    memberEpoch,
    endpointInformationEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: joining ? 5000 : -1,
    topology: joining ? TOPOLOGY : null,
    activeTasks: joining ? [] : null,
    standbyTasks: joining ? [] : null,
    warmupTasks: joining ? [] : null,
    processId: joining ? `process-${memberId}` : null,
    userEndpoint: null,
    clientTags: joining ? [] : null,
    taskOffsets: null,
    taskEndOffsets: null,
    shutdownApplication: false,
    ...over,
  };
}

/** A Kafka Streams member that applies what it is told at once and reports what it owns. */
class Member {
  epoch = 0;
  active: Ids = [];
  standby: Ids = [];
  warmup: Ids = [];
  last: StreamsHeartbeatResult | null = null;
  constructor(
    readonly c: GroupCoordinator,
    readonly id: string,
    readonly over: Partial<StreamsGroupHeartbeatRequest> = {},
  ) {}
  async beat(extra: Partial<StreamsGroupHeartbeatRequest> = {}): Promise<StreamsHeartbeatResult> {
    const owned = this.epoch === 0 ? {} : { activeTasks: this.active, standbyTasks: this.standby, warmupTasks: this.warmup };
    const r = await this.c.streamsGroupHeartbeat(hb(this.id, this.epoch, { ...owned, ...this.over, ...extra }), 'client', '/127.0.0.1');
    this.last = r;
    if (r.errorCode === ErrorCode.NONE) {
      this.epoch = r.memberEpoch;
      if (r.activeTasks !== null) this.active = r.activeTasks;
      if (r.standbyTasks !== null) this.standby = r.standbyTasks;
      if (r.warmupTasks !== null) this.warmup = r.warmupTasks;
    }
    return r;
  }
  tasks(kind: 'active' | 'standby' = 'active'): string[] {
    return (kind === 'active' ? this.active : this.standby).flatMap((t) => t.partitions.map((p) => `${t.subtopologyId}_${p}`)).sort();
  }
}

const statusCodes = (r: StreamsHeartbeatResult) => (r.status ?? []).map((s) => s.statusCode);

/** Beats every member until nothing changes; checks that no active task ever has two owners. */
async function settle(members: Member[], rounds = 12): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    for (const m of members) {
      await m.beat();
      const owners = new Map<string, string>();
      for (const x of members)
        for (const t of x.tasks()) {
          assert.ok(!owners.has(t), `task ${t} active on ${owners.get(t)} and ${x.id}`);
          owners.set(t, x.id);
        }
    }
  }
}

describe('streams groups (KIP-1071)', () => {
  test('a missing source topic is a status, and tasks come once it exists', async () => {
    const { coordinator, topics } = setup({ withSource: false });
    const a = new Member(coordinator, 'a');
    const r = await a.beat();
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual(statusCodes(r), [StreamsStatus.MISSING_SOURCE_TOPICS]);
    assert.match(r.status![0]!.statusDetail, /words-in/);
    assert.deepEqual(a.tasks(), []);
    assert.equal(coordinator.streams.groups.get('app')!.state, 'NotReady');
    topics.set('words-in', 2);
    await a.beat(); // internal topics are created now
    await settle([a], 3);
    assert.deepEqual(statusCodes(a.last!), []);
    assert.deepEqual(a.tasks(), ['0_0', '0_1', '1_0', '1_1']);
  });

  test('the internal topics are created with the partitions the topology implies', async () => {
    const { coordinator, created } = setup();
    const a = new Member(coordinator, 'a');
    const r = await a.beat();
    assert.deepEqual(statusCodes(r), [StreamsStatus.MISSING_INTERNAL_TOPICS]);
    assert.deepEqual(a.tasks(), []);
    await Promise.resolve();
    assert.deepEqual(
      created.map((c) => [c.name, c.partitions, c.configs]),
      [
        ['app-by-word-repartition', 4, {}],
        ['app-counts-changelog', 4, { 'cleanup.policy': 'compact' }],
      ],
    );
    await settle([a], 2);
    assert.equal(a.tasks().length, 8);
    assert.equal(coordinator.streams.groups.get('app')!.state, 'Stable');
    // An existing internal topic with the wrong partition count is reported, not used.
    const wrong = setup({
      topics: new Map([
        ['words-in', 4],
        ['app-by-word-repartition', 2],
        ['app-counts-changelog', 4],
      ]),
    });
    const w = await new Member(wrong.coordinator, 'w').beat();
    assert.deepEqual(statusCodes(w), [StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS]);
    assert.deepEqual(w.activeTasks, []);
  });

  test('invalid requests and topologies are refused with Kafka error codes', async () => {
    const { coordinator } = setup();
    const bad = async (req: StreamsGroupHeartbeatRequest) => (await coordinator.streamsGroupHeartbeat(req, 'c', '/h')).errorCode;
    assert.equal(await bad(hb('', 0)), ErrorCode.INVALID_REQUEST);
    assert.equal(await bad(hb('a', 0, { topology: null })), ErrorCode.INVALID_REQUEST);
    assert.equal(await bad(hb('a', 0, { rebalanceTimeoutMs: -1 })), ErrorCode.INVALID_REQUEST);
    assert.equal(await bad(hb('a', 0, { processId: null })), ErrorCode.INVALID_REQUEST);
    assert.equal(await bad(hb('a', 0, { activeTasks: [{ subtopologyId: '0', partitions: [0] }] })), ErrorCode.INVALID_REQUEST);
    assert.equal(await bad(hb('a', -3)), ErrorCode.INVALID_REQUEST);
    const dup = { ...TOPOLOGY, subtopologies: [TOPOLOGY.subtopologies[0]!, TOPOLOGY.subtopologies[0]!] };
    assert.equal(await bad(hb('a', 0, { topology: dup })), ErrorCode.STREAMS_INVALID_TOPOLOGY);
    const badName = {
      ...TOPOLOGY,
      subtopologies: [{ ...TOPOLOGY.subtopologies[1]!, stateChangelogTopics: [{ name: 'a/b', partitions: 0, replicationFactor: 0, topicConfigs: [] }] }],
    };
    assert.equal(await bad(hb('a', 0, { topology: badName })), ErrorCode.STREAMS_INVALID_TOPOLOGY);
    assert.equal(await bad(hb('a', 3)), ErrorCode.GROUP_ID_NOT_FOUND);
    const a = new Member(coordinator, 'a');
    await a.beat();
    assert.equal(await bad(hb('zz', 1)), ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal(await bad(hb('a', a.epoch + 5, { activeTasks: [] })), ErrorCode.FENCED_MEMBER_EPOCH);
    // A newer topology while other members run: not supported, as in Kafka.
    const b = new Member(coordinator, 'b', { topology: { ...TOPOLOGY, epoch: 1 } });
    assert.equal((await b.beat()).errorCode, ErrorCode.STREAMS_INVALID_TOPOLOGY_EPOCH);
    // A consumer group id is not a streams group.
    assert.equal(coordinator.streams.groups.has('app'), true);
  });

  test('a second process: tasks are revoked before they move, balanced, with standbys elsewhere', async () => {
    const { coordinator } = setup({ standbys: 1 });
    const a = new Member(coordinator, 'a');
    await settle([a], 3);
    assert.equal(a.tasks().length, 8);
    assert.deepEqual(a.tasks('standby'), []); // one process: no standby anywhere
    const b = new Member(coordinator, 'b');
    const first = await b.beat();
    // b gets nothing a still owns: a must revoke first.
    assert.deepEqual(first.activeTasks, []);
    const epochBefore = a.epoch;
    const ra = await a.beat();
    assert.equal(ra.memberEpoch, epochBefore, 'the member keeps its epoch while it revokes');
    assert.equal(a.tasks().length, 4);
    await settle([a, b]);
    assert.equal(a.tasks().length, 4);
    assert.equal(b.tasks().length, 4);
    // Each stateful task (subtopology 1) has a standby on the other process, never its own.
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      for (const t of x.tasks('standby')) assert.ok(t.startsWith('1_') && y.tasks().includes(t), `${x.id} standby ${t} is active on ${y.id}`);
    }
    assert.equal(a.tasks('standby').length + b.tasks('standby').length, 4);
    const g = coordinator.streams.groups.get('app')!;
    assert.equal(g.state, 'Stable');
    assert.equal(a.epoch, g.assignmentEpoch);
  });

  test('a member that stops heartbeating is removed after its session timeout; its tasks move', async () => {
    const { coordinator, clock } = setup();
    const a = new Member(coordinator, 'a');
    const b = new Member(coordinator, 'b');
    await settle([a, b]);
    assert.equal(b.tasks().length, 4);
    for (let t = 0; t < 11; t++) {
      await clock.advance(1000);
      await a.beat();
    }
    assert.equal(coordinator.streams.groups.get('app')!.members.has('b'), false);
    await settle([a], 3);
    assert.equal(a.tasks().length, 8);
    // A leave (epoch -1) frees the tasks at once.
    const c = new Member(coordinator, 'c');
    await settle([a, c]);
    assert.equal(c.tasks().length, 4);
    assert.equal((await coordinator.streamsGroupHeartbeat(hb('c', -1), 'c', '/h')).errorCode, ErrorCode.NONE);
    await settle([a], 3);
    assert.equal(a.tasks().length, 8);
  });

  test('a member that does not revoke within its rebalance timeout is removed', async () => {
    const { coordinator, clock } = setup();
    const a = new Member(coordinator, 'a');
    await settle([a], 3);
    const b = new Member(coordinator, 'b');
    await b.beat();
    // a is asked to revoke half its tasks, keeps heartbeating, but never lets them go.
    const stuck = a.active;
    await a.beat();
    assert.equal(coordinator.streams.groups.get('app')!.members.get('a')!.state, 1 /* UNREVOKED_TASKS */);
    for (let t = 0; t < 6; t++) {
      await clock.advance(1000);
      await coordinator.streamsGroupHeartbeat(hb('a', a.epoch, { activeTasks: stuck, standbyTasks: [], warmupTasks: [] }), 'c', '/h');
      await b.beat();
    }
    assert.equal(coordinator.streams.groups.get('app')!.members.has('a'), false, 'removed after the 5 s rebalance timeout');
    await settle([b], 3);
    assert.equal(b.tasks().length, 8);
    assert.equal((await a.beat()).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('a static member that leaves with epoch -2 gets its tasks back under a new member id', async () => {
    const { coordinator } = setup();
    const a = new Member(coordinator, 'a', { instanceId: 'i-a' });
    const b = new Member(coordinator, 'b', { instanceId: 'i-b' });
    await settle([a, b]);
    const tasksOfB = b.tasks();
    const epoch = coordinator.streams.groups.get('app')!.groupEpoch;
    assert.equal((await coordinator.streamsGroupHeartbeat(hb('b', -2, { instanceId: 'i-b' }), 'c', '/h')).errorCode, ErrorCode.NONE);
    // Another member id with the same instance id while the old one is still active is refused.
    const thief = new Member(coordinator, 'thief', { instanceId: 'i-a' });
    assert.equal((await thief.beat()).errorCode, ErrorCode.UNRELEASED_INSTANCE_ID);
    const b2 = new Member(coordinator, 'b2', { instanceId: 'i-b', processId: 'process-b' });
    await settle([a, b2], 3);
    assert.deepEqual(b2.tasks(), tasksOfB);
    assert.equal(coordinator.streams.groups.get('app')!.groupEpoch, epoch, 'no rebalance for a returning static member');
  });

  test('statuses: a shutdown request reaches every member; a stale topology epoch is reported', async () => {
    const { coordinator } = setup();
    const a = new Member(coordinator, 'a', { topology: { ...TOPOLOGY, epoch: 2 } });
    const b = new Member(coordinator, 'b', { topology: { ...TOPOLOGY, epoch: 1 } });
    await settle([a, b], 3);
    assert.ok(statusCodes(b.last!).includes(StreamsStatus.STALE_TOPOLOGY));
    assert.ok(!statusCodes(a.last!).includes(StreamsStatus.STALE_TOPOLOGY));
    await a.beat({ shutdownApplication: true });
    assert.ok(statusCodes(a.last!).includes(StreamsStatus.SHUTDOWN_APPLICATION));
    await b.beat();
    assert.ok(statusCodes(b.last!).includes(StreamsStatus.SHUTDOWN_APPLICATION));
  });

  test('source topic regexes, and copartitioned sources that differ in partitions', async () => {
    const topics = new Map([
      ['orders-eu', 2],
      ['orders-us', 3],
      ['other', 5],
    ]);
    const { coordinator } = setup({ topics });
    const regexTopology: Topology = {
      epoch: 0,
      subtopologies: [
        {
          subtopologyId: '0',
          sourceTopics: [],
          sourceTopicRegex: ['orders-.*'],
          stateChangelogTopics: [],
          repartitionSinkTopics: [],
          repartitionSourceTopics: [],
          copartitionGroups: [],
        },
      ],
    };
    const a = new Member(coordinator, 'a', { topology: regexTopology });
    await settle([a], 3);
    assert.deepEqual(statusCodes(a.last!), []);
    assert.equal(a.tasks().length, 3, 'as many tasks as the largest matched topic has partitions');
    const g2 = setup({ topics });
    const nothing = new Member(g2.coordinator, 'a', {
      topology: { ...regexTopology, subtopologies: [{ ...regexTopology.subtopologies[0]!, sourceTopicRegex: ['nope-.*'] }] },
    });
    assert.deepEqual(statusCodes(await nothing.beat()), [StreamsStatus.MISSING_SOURCE_TOPICS]);
    const g3 = setup({ topics });
    const join = new Member(g3.coordinator, 'a', {
      topology: {
        epoch: 0,
        subtopologies: [
          {
            subtopologyId: '0',
            sourceTopics: ['orders-eu', 'orders-us'],
            sourceTopicRegex: [],
            stateChangelogTopics: [],
            repartitionSinkTopics: [],
            repartitionSourceTopics: [],
            copartitionGroups: [{ sourceTopics: [0, 1], sourceTopicRegex: [], repartitionSourceTopics: [] }],
          },
        ],
      },
    });
    const r = await join.beat();
    assert.deepEqual(statusCodes(r), [StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS]);
    assert.match(r.status![0]!.statusDetail, /orders-eu, orders-us/);
    assert.deepEqual(join.tasks(), []);
  });

  test('the sticky assignor keeps tasks where they were and balances over process capacity', () => {
    const subtopologies = new Map([
      ['0', { tasks: 6, stateful: false }],
      ['1', { tasks: 6, stateful: true }],
    ]);
    const first = assignTasks({
      members: [
        { memberId: 'a', processId: 'p1', previous: emptyTasks() },
        { memberId: 'b', processId: 'p2', previous: emptyTasks() },
      ],
      subtopologies,
      numStandbyReplicas: 0,
    });
    const count = (m: Map<string, Set<number>>) => [...m.values()].reduce((n, s) => n + s.size, 0);
    assert.equal(count(first.get('a')!.active), 6);
    assert.equal(count(first.get('b')!.active), 6);
    const second = assignTasks({
      members: [
        { memberId: 'a', processId: 'p1', previous: first.get('a')! },
        { memberId: 'b', processId: 'p2', previous: first.get('b')! },
        { memberId: 'c', processId: 'p3', previous: emptyTasks() },
      ],
      subtopologies,
      numStandbyReplicas: 0,
    });
    for (const id of ['a', 'b', 'c']) assert.equal(count(second.get(id)!.active), 4);
    // a and b keep only tasks they had.
    for (const id of ['a', 'b'])
      for (const [s, parts] of second.get(id)!.active) for (const p of parts) assert.ok(first.get(id)!.active.get(s)?.has(p), `${id} kept ${s}_${p}`);
    // A process with two members (threads) takes twice the tasks of one with one.
    const threads = assignTasks({
      members: [
        { memberId: 'a1', processId: 'p1', previous: emptyTasks() },
        { memberId: 'a2', processId: 'p1', previous: emptyTasks() },
        { memberId: 'b1', processId: 'p2', previous: emptyTasks() },
      ],
      subtopologies,
      numStandbyReplicas: 2,
    });
    assert.equal(count(threads.get('a1')!.active) + count(threads.get('a2')!.active), 8);
    assert.equal(count(threads.get('b1')!.active), 4);
    // Two processes: only one standby per stateful task can be placed.
    const standbys = [...threads.values()].reduce((n, t) => n + count(t.standby), 0);
    assert.equal(standbys, 6);
    for (const t of threads.values()) assert.equal(count(t.warmup), 0);
  });

  test('configs set on the group override the broker: heartbeat interval, session timeout, standbys', async () => {
    // The broker: 1 s heartbeats, 10 s sessions, no standbys; the group 'app' says otherwise.
    const groupConfigs = new Map<string, Partial<StreamsGroupConfig>>([['app', { heartbeatIntervalMs: 700, sessionTimeoutMs: 3000, numStandbyReplicas: 1 }]]);
    const { coordinator, clock } = setup({ groupConfigs });
    const a = new Member(coordinator, 'a');
    const b = new Member(coordinator, 'b');
    await settle([a, b]);
    assert.equal(a.last!.heartbeatIntervalMs, 700);
    // One standby of each stateful task (subtopology 1, 4 tasks), on the other process.
    assert.equal(a.tasks('standby').length + b.tasks('standby').length, 4);
    for (const t of a.tasks('standby')) assert.ok(b.tasks().includes(t), `standby ${t} of a is active on b`);
    // Another group on the same coordinator keeps the broker's values.
    const other = await coordinator.streamsGroupHeartbeat(hb('x', 0, { groupId: 'other' }), 'client', '/127.0.0.1');
    assert.equal(other.heartbeatIntervalMs, 1000);
    // Changing the group's standbys moves the group epoch: they are taken away.
    const epoch = coordinator.streams.groups.get('app')!.groupEpoch;
    groupConfigs.set('app', { heartbeatIntervalMs: 700, sessionTimeoutMs: 3000, numStandbyReplicas: 0 });
    await settle([a, b]);
    assert.ok(coordinator.streams.groups.get('app')!.groupEpoch > epoch);
    assert.deepEqual([...a.tasks('standby'), ...b.tasks('standby')], []);
    // b falls silent: the group's 3 s session timeout removes it, not the broker's 10 s.
    for (let t = 0; t < 4; t++) {
      await clock.advance(1000);
      await a.beat();
    }
    assert.equal(coordinator.streams.groups.get('app')!.members.has('b'), false);
  });

  test('the initial rebalance delay: a new group waits for its first assignment (ASSIGNMENT_DELAYED)', async () => {
    const groupConfigs = new Map<string, Partial<StreamsGroupConfig>>([['app', { initialRebalanceDelayMs: 2000 }]]);
    const { coordinator, clock } = setup({ groupConfigs });
    const a = new Member(coordinator, 'a');
    const b = new Member(coordinator, 'b');
    await a.beat();
    await clock.advance(1000);
    await b.beat();
    await a.beat();
    for (const m of [a, b]) {
      assert.ok(statusCodes(m.last!).includes(StreamsStatus.ASSIGNMENT_DELAYED), `${m.id} is told the assignment is delayed`);
      assert.deepEqual(m.tasks(), []);
      assert.ok(m.epoch > 0, `${m.id} has joined (epoch ${m.epoch}), so it does not join again`);
    }
    await clock.advance(1000);
    await settle([a, b], 2);
    // Both were there for the first assignment: 4 tasks each, and no task moved between them.
    assert.equal(a.tasks().length, 4);
    assert.equal(b.tasks().length, 4);
    assert.ok(!statusCodes(a.last!).includes(StreamsStatus.ASSIGNMENT_DELAYED));
    // A member joining the group that has members is not delayed.
    const c = new Member(coordinator, 'c');
    assert.ok(!statusCodes(await c.beat()).includes(StreamsStatus.ASSIGNMENT_DELAYED));
  });

  test("the initial rebalance delay's end whose write fails is undone and runs again 500 ms later", async () => {
    const groupConfigs = new Map<string, Partial<StreamsGroupConfig>>([['app', { initialRebalanceDelayMs: 2000 }]]);
    const { coordinator, clock, store } = setup({ groupConfigs });
    const a = new Member(coordinator, 'a');
    await a.beat();
    const group = coordinator.streams.groups.get('app')!;
    const before = [group.groupEpoch, group.assignmentEpoch, [...group.target.get('a')!.active.keys()].length];
    store.failWith = new KafkaError(ErrorCode.NOT_ENOUGH_REPLICAS, 'the ISR shrank');
    await clock.advance(2000);
    assert.deepEqual([group.groupEpoch, group.assignmentEpoch, [...group.target.get('a')!.active.keys()].length], before);
    store.failWith = null;
    await clock.advance(500);
    assert.equal(group.groupEpoch, (before[0] as number) + 1);
    await settle([a], 1);
    assert.equal(a.tasks().length, 8);
    assert.ok(!statusCodes(a.last!).includes(StreamsStatus.ASSIGNMENT_DELAYED));
  });

  test('rack-aware assignment tags: a member without them gets MISSING_CLIENT_TAGS; standbys go to other zones', async () => {
    const groupConfigs = new Map<string, Partial<StreamsGroupConfig>>([['app', { numStandbyReplicas: 1, rackAwareAssignmentTags: ['zone'] }]]);
    const { coordinator } = setup({ groupConfigs });
    const tagged = (zone: string) => ({ clientTags: [{ key: 'zone', value: zone }] });
    const untagged = new Member(coordinator, 'u');
    const r = await untagged.beat();
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.ok(statusCodes(r).includes(StreamsStatus.MISSING_CLIENT_TAGS));
    assert.match(r.status!.find((s) => s.statusCode === StreamsStatus.MISSING_CLIENT_TAGS)!.statusDetail, /\[zone\]/);
    assert.equal((await coordinator.streamsGroupHeartbeat(hb('u', -1), 'client', '/h')).errorCode, ErrorCode.NONE);
    // Four processes, two per zone: every standby lands in the other zone than its active task.
    const members = [
      new Member(coordinator, 'a', tagged('z1')),
      new Member(coordinator, 'b', tagged('z1')),
      new Member(coordinator, 'c', tagged('z2')),
      new Member(coordinator, 'd', tagged('z2')),
    ];
    await settle(members);
    assert.ok(!statusCodes(members[0]!.last!).includes(StreamsStatus.MISSING_CLIENT_TAGS));
    const zone = new Map([
      ['a', 'z1'],
      ['b', 'z1'],
      ['c', 'z2'],
      ['d', 'z2'],
    ]);
    let standbys = 0;
    for (const x of members)
      for (const t of x.tasks('standby')) {
        standbys++;
        const owner = members.find((y) => y.tasks().includes(t))!;
        assert.notEqual(zone.get(owner.id), zone.get(x.id), `standby ${t} on ${x.id} is in the zone of its active task on ${owner.id}`);
      }
    assert.equal(standbys, 4);
  });

  test('the assignor spreads standbys over placements, before stickiness and load', () => {
    const subtopologies = new Map([['s', { tasks: 8, stateful: true }]]);
    const count = (m: Map<string, Set<number>>) => [...m.values()].reduce((n, s) => n + s.size, 0);
    const zoneOf: Record<string, string> = { a: 'z1', b: 'z1', c: 'z2', d: 'z3' };
    const members = (previous: Map<string, ReturnType<typeof emptyTasks>>) =>
      Object.keys(zoneOf).map((id) => ({ memberId: id, processId: `p-${id}`, previous: previous.get(id) ?? emptyTasks(), placement: new Map([['zone', zoneOf[id]!]]) }));
    const activeOf = (result: Map<string, ReturnType<typeof emptyTasks>>, p: number) => [...result].find(([, t]) => t.active.get('s')?.has(p))![0];
    // Two standbys per task: with three zones, the active's and the two standbys' zones all differ.
    const two = assignTasks({ members: members(new Map()), subtopologies, numStandbyReplicas: 2 });
    for (let p = 0; p < 8; p++) {
      const zones = [zoneOf[activeOf(two, p)]!, ...[...two].filter(([, t]) => t.standby.get('s')?.has(p)).map(([id]) => zoneOf[id]!)];
      assert.equal(zones.length, 3);
      assert.equal(new Set(zones).size, 3, `task ${p}: zones ${zones.join(',')}`);
    }
    // A previous standby in the active task's zone gives way to a process in another zone.
    const sameZone = new Map([
      ['a', { active: new Map([['s', new Set([0])]]), standby: new Map(), warmup: new Map() }],
      ['b', { active: new Map(), standby: new Map([['s', new Set([0])]]), warmup: new Map() }],
    ]);
    const moved = assignTasks({ members: members(sameZone), subtopologies, numStandbyReplicas: 1 });
    assert.equal(activeOf(moved, 0), 'a');
    assert.ok(!moved.get('b')!.standby.get('s')?.has(0), "the standby left the active task's zone");
    assert.ok(['c', 'd'].some((id) => moved.get(id)!.standby.get('s')?.has(0)));
    // Without placements, the previous holder keeps its standby (stickiness).
    const plain = assignTasks({
      members: members(sameZone).map((m) => ({ ...m, placement: undefined })),
      subtopologies,
      numStandbyReplicas: 1,
    });
    assert.ok(plain.get('b')!.standby.get('s')?.has(0));
    assert.equal(
      [...plain.values()].reduce((n, t) => n + count(t.standby), 0),
      8,
    );
  });

  test('interactive queries: every endpoint with the partitions it serves, when the epoch moved', async () => {
    const { coordinator } = setup({ standbys: 1 });
    const a = new Member(coordinator, 'a', { userEndpoint: { host: 'ha', port: 1 } });
    const b = new Member(coordinator, 'b', { userEndpoint: { host: 'hb', port: 2 } });
    await settle([a, b]);
    const r = await a.beat({ endpointInformationEpoch: 0 });
    const eps = r.partitionsByUserEndpoint!;
    assert.deepEqual(eps.map((e) => e.userEndpoint.host).sort(), ['ha', 'hb']);
    const ofA = eps.find((e) => e.userEndpoint.host === 'ha')!;
    const activeParts = ofA.activePartitions.flatMap((t) => t.partitions.map((p) => `${t.topic}-${p}`));
    // The source partitions of a's active tasks (words-in for subtopology 0, the repartition topic for 1).
    const expected = a.tasks().map((t) => (t.startsWith('0_') ? `words-in-${t.slice(2)}` : `app-by-word-repartition-${t.slice(2)}`));
    assert.deepEqual(activeParts.sort(), expected.sort());
    assert.ok(ofA.standbyPartitions.length > 0);
    const again = await a.beat({ endpointInformationEpoch: r.endpointInformationEpoch });
    assert.equal(again.partitionsByUserEndpoint, null);
  });

  test('offset commits carry the member epoch; a classic or consumer join of the group is refused', async () => {
    const { coordinator } = setup();
    const a = new Member(coordinator, 'a');
    await settle([a], 3);
    const commit = (generationId: number, memberId = 'a') =>
      coordinator.commitOffsets({
        groupId: 'app',
        generationId,
        memberId,
        groupInstanceId: null,
        apiVersion: 9,
        topics: [{ name: 'words-in', partitions: [{ partitionIndex: 0, committedOffset: 5, committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
    assert.equal((await commit(a.epoch))[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
    assert.equal((await commit(a.epoch - 1))[0]!.partitions[0]!.errorCode, ErrorCode.STALE_MEMBER_EPOCH);
    assert.equal((await commit(a.epoch, 'nobody'))[0]!.partitions[0]!.errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    const join = await coordinator.join('app', {
      memberId: '',
      groupInstanceId: null,
      clientId: 'c',
      clientHost: '/h',
      rebalanceTimeoutMs: 1000,
      sessionTimeoutMs: 5000,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      requireKnownMemberId: false,
    } as never);
    assert.equal(join.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const listed = coordinator.listGroups().find((g) => g.groupId === 'app')!;
    assert.deepEqual([listed.type, listed.protocolType, listed.state], ['streams', 'streams', 'Stable']);
  });

  test('assignment epochs (Kafka 4.4): an older epoch commits the partitions of tasks held since then', async () => {
    const store = new MemoryStore();
    const { coordinator } = setup({ store });
    const a = new Member(coordinator, 'a');
    await settle([a], 3);
    const alone = a.epoch;
    assert.equal(a.tasks().length, 8);
    const b = new Member(coordinator, 'b');
    await settle([a, b], 6);
    const shared = a.epoch;
    assert.ok(shared > alone);
    const kept = a.tasks();
    assert.equal(kept.length, 4);
    await b.beat({ memberEpoch: -1 });
    await settle([a], 3);
    const last = a.epoch;
    assert.ok(last > shared);
    const gained = a.tasks().filter((t) => !kept.includes(t));
    assert.equal(gained.length, 4);
    // A task's partition in the topic its subtopology reads.
    const topicOf = (task: string) => ({ name: task.startsWith('0_') ? 'words-in' : 'app-by-word-repartition', partition: Number(task.slice(2)) });
    const commit = (c: GroupCoordinator, generationId: number, tasks: string[]) =>
      c
        .commitOffsets({
          groupId: 'app',
          memberId: 'a',
          generationId,
          groupInstanceId: null,
          apiVersion: 9,
          topics: tasks
            .map(topicOf)
            .map((t) => ({ name: t.name, partitions: [{ partitionIndex: t.partition, committedOffset: 3, committedLeaderEpoch: -1, committedMetadata: null }] })),
        })
        .then((r) => r.flatMap((t) => t.partitions.map((p) => p.errorCode)));
    const none = (n: number) => Array<number>(n).fill(ErrorCode.NONE);
    const stale = (n: number) => Array<number>(n).fill(ErrorCode.STALE_MEMBER_EPOCH);
    assert.deepEqual(await commit(coordinator, last, a.tasks()), none(8));
    assert.deepEqual(await commit(coordinator, shared, kept), none(4), 'held since before the bump');
    assert.deepEqual(await commit(coordinator, alone, kept), none(4), 'held since epoch ' + alone);
    assert.deepEqual(await commit(coordinator, shared, [gained[0]!]), stale(1), 'assigned at the new epoch');
    assert.deepEqual(await commit(coordinator, shared, [kept[0]!, gained[0]!]), stale(2), 'one stale partition fails the commit');
    assert.deepEqual(await commit(coordinator, last + 1, kept), stale(4), 'a newer epoch');
    assert.deepEqual(await commit(coordinator, 0, kept), stale(4), 'older than the assignment');
    // A reloaded coordinator knows the epochs too.
    coordinator.shutdown();
    const again = setup({
      topics: new Map([
        ['words-in', 4],
        ['app-by-word-repartition', 4],
        ['app-counts-changelog', 4],
      ]),
    }).coordinator;
    for (const r of store.records) again.replayRecord(r.key, r.value);
    again.finishLoading();
    assert.deepEqual(await commit(again, shared, kept), none(4));
    assert.deepEqual(await commit(again, shared, [gained[0]!]), stale(1));
    again.shutdown();
  });

  test('a new coordinator replays the records: members, epochs, topology and tasks come back', async () => {
    const store = new MemoryStore();
    const first = setup({ store, standbys: 1 });
    const a = new Member(first.coordinator, 'a', { userEndpoint: { host: 'ha', port: 1 } });
    const b = new Member(first.coordinator, 'b');
    await settle([a, b]);
    const before = first.coordinator.streams.groups.get('app')!;
    first.coordinator.shutdown();
    const second = setup({ store, standbys: 1, topics: first.topics });
    for (const r of store.records) second.coordinator.replayRecord(r.key, r.value);
    second.coordinator.finishLoading();
    const after = second.coordinator.streams.groups.get('app')!;
    assert.equal(after.groupEpoch, before.groupEpoch);
    assert.equal(after.assignmentEpoch, before.assignmentEpoch);
    assert.deepEqual(after.topology, before.topology);
    assert.deepEqual([...after.members.keys()].sort(), ['a', 'b']);
    assert.deepEqual(after.members.get('a')!.userEndpoint, { host: 'ha', port: 1 });
    // The members go on with their epochs and tasks, nothing moves.
    const ta = a.tasks();
    const a2 = Object.assign(new Member(second.coordinator, 'a'), { epoch: a.epoch, active: a.active, standby: a.standby });
    const r = await a2.beat();
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.memberEpoch, a.epoch);
    assert.deepEqual(a2.tasks(), ta);
    assert.equal(after.state, 'Stable');
    second.coordinator.shutdown();
    // Deleting the empty group tombstones it: a replay no longer finds it.
    const third = setup({ store, topics: first.topics });
    for (const r2 of store.records) third.coordinator.replayRecord(r2.key, r2.value);
    third.coordinator.finishLoading();
    for (const id of ['a', 'b']) assert.equal((await third.coordinator.streamsGroupHeartbeat(hb(id, -1), 'c', '/h')).errorCode, ErrorCode.NONE);
    assert.deepEqual(await third.coordinator.deleteGroups(['app']), [{ groupId: 'app', errorCode: ErrorCode.NONE }]);
    const fourth = setup({ store, topics: first.topics });
    for (const r2 of store.records) fourth.coordinator.replayRecord(r2.key, r2.value);
    fourth.coordinator.finishLoading();
    assert.equal(fourth.coordinator.streams.groups.has('app'), false);
    third.coordinator.shutdown();
    fourth.coordinator.shutdown();
  });
});
