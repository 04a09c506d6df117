// Kafka Streams 4.4 with group.protocol=streams (KIP-1071) against a Tributary broker process:
// the broker keeps the topology, creates the internal topics it declares, and assigns the tasks
// (active and, with group.streams.num.standby.replicas=1, standby) through StreamsGroupHeartbeat.
// StreamsApp.java (exactly_once_v2) counts words through a repartition topic and a count store.
// Two instances share the tasks with a standby of each stateful task on the other; the
// interactive-query metadata names both endpoints; Kafka's kafka-streams-groups tool describes
// the group; one instance closes and the other takes over every task; the broker is killed with
// SIGKILL in the middle of a batch, restarts, and reloads the group from its records. The
// committed output must count every word exactly once throughout.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { cli } from '../../helpers/cli.js';
import { rng } from '../../helpers/rng.js';
import { waitUntil } from '../../helpers/wait.js';
import { WordCounts } from '../../helpers/word-counts.js';
import { javaSetup, spawnJava, Tools, type JavaProcess, type JavaSetup } from './harness.js';

const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;

const T = 'org.apache.kafka.tools.';
const APP = 'streams-kip1071';
const VOCAB = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];
const BROKER_OVERRIDES = {
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': '1000',
  'group.streams.heartbeat.interval.ms': '500',
  'group.streams.session.timeout.ms': '10000',
  'group.streams.num.standby.replicas': '1',
};

interface GroupJson {
  group: string;
  type: string;
  state: string;
  members: { memberId: string; assignment: { topic: string; partitions: number[] }[]; standbyAssignment?: { topic: string; partitions: number[] }[] }[];
}

describe('Kafka Streams with group.protocol=streams (KIP-1071)', { skip }, () => {
  let broker: BrokerProcess;
  let tools: Tools;
  let tmp: string;
  let dataDir: string;
  const apps: JavaProcess[] = [];
  const random = rng(1071);

  const run = (main: string, args: string[], stdin = '') => tools.runOk(broker.bootstrap, main, args, stdin);
  const counts = new WordCounts({ run, random, vocabulary: VOCAB, wordsPerLine: 6, consumerTimeoutMs: 2000 });
  const produceWords = (n: number) => counts.produce(n);
  const waitForCounts = (what: string, timeoutMs = 90_000) => counts.waitForCounts(what, timeoutMs);

  async function describeGroup(): Promise<GroupJson> {
    const r = await cli(['groups', 'describe', APP, '--json', '--bootstrap-server', broker.bootstrap]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as GroupJson[])[0]!;
  }

  async function tasksOf(app: JavaProcess): Promise<{ active: number; state: string; standby: number }> {
    const [, active, state] = /^TASKS (\d+) (\w+)$/.exec(await app.ask('tasks', /^TASKS /))!;
    const [, standby] = /^STANDBY (\d+)$/.exec(await app.ask('standby', /^STANDBY /))!;
    return { active: Number(active), state: state!, standby: Number(standby) };
  }

  function startApp(s: JavaSetup, name: string, port: number): JavaProcess {
    const app = spawnJava(`${s.classes}:${s.cp.k4}`, 'tributary.compat.StreamsApp', [broker.bootstrap, APP, join(tmp, name), 'streams', `localhost:${port}`], {
      jvmOpts: ['-Xmx320m'],
    });
    apps.push(app);
    return app;
  }

  before(async () => {
    if (typeof setup === 'string') return;
    tmp = mkdtempSync(join(tmpdir(), 'tributary-streams-kip1071-'));
    dataDir = join(tmp, 'broker');
    broker = await startBrokerProcess({ dataDir, overrides: BROKER_OVERRIDES });
    tools = await Tools.start(setup);
    await run(`${T}TopicCommand`, ['--create', '--topic', 'words-in', '--partitions', '3']);
    await run(`${T}TopicCommand`, ['--create', '--topic', 'amounts-in', '--partitions', '3']);
  });
  after(async () => {
    for (const a of apps) await a.kill();
    await tools?.close();
    await broker?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('one instance: the broker creates the internal topics and assigns every task', async () => {
    const s = setup as JavaSetup;
    const a = startApp(s, 'a', 7101);
    await a.waitForLine(/^STATE RUNNING$/, 90_000);
    await produceWords(150);
    await waitForCounts('one instance');
    // The internal topics were created by the group coordinator, with the partition counts and
    // configs the topology declares (the client does not create them under this protocol).
    const repartition = await run(`${T}TopicCommand`, ['--describe', '--topic', `${APP}-by-word-repartition`]);
    assert.match(repartition, /PartitionCount: 3/);
    const changelog = await run(`${T}TopicCommand`, ['--describe', '--topic', `${APP}-word-counts-changelog`]);
    assert.match(changelog, /PartitionCount: 3/);
    assert.match(changelog, /cleanup\.policy=compact/);
    await waitUntil(async () => (await tasksOf(a)).active === 9, { timeout: 30_000, interval: 250, message: 'all 9 tasks on the only instance' });
    const listed = await cli(['groups', 'list', '--state', '--bootstrap-server', broker.bootstrap]);
    assert.match(listed.stdout, new RegExp(`^${APP}\\s+Stable\\s+streams\\s+streams$`, 'm'));
    const g = await describeGroup();
    assert.equal(g.type, 'streams');
    assert.equal(g.members.length, 1);
  });

  test('two instances share the tasks, with standbys on the other instance and both endpoints known', async () => {
    const s = setup as JavaSetup;
    const a = apps[0]!;
    const b = startApp(s, 'b', 7102);
    let ta = { active: 0, state: '', standby: 0 };
    let tb = { active: 0, state: '', standby: 0 };
    await waitUntil(
      async () => {
        ta = await tasksOf(a);
        tb = await tasksOf(b);
        // 3 subtopologies x 3 partitions; the 6 tasks of the 2 stateful ones get one standby each.
        return ta.state === 'RUNNING' && tb.state === 'RUNNING' && ta.active > 0 && tb.active > 0 && ta.active + tb.active === 9 && ta.standby + tb.standby === 6;
      },
      { timeout: 90_000, interval: 300, message: () => `9 active tasks and 6 standbys over two instances (${JSON.stringify([ta, tb])})` },
    );
    // The group as described: two members, each with partitions, standbys of the stateful tasks.
    const g = await describeGroup();
    assert.equal(g.state, 'Stable');
    assert.equal(g.members.length, 2);
    for (const m of g.members) {
      assert.ok(m.assignment.length > 0, `member ${m.memberId} has active tasks`);
      assert.ok((m.standbyAssignment ?? []).length > 0, `member ${m.memberId} has standby tasks`);
    }
    // Interactive queries: each instance knows both endpoints and what they serve.
    let hosts: string[] = [];
    await waitUntil(
      async () => {
        const from = a.lines().length;
        await a.ask('hosts', /^HOSTS$/);
        await a.waitForLine(/^END$/, 10_000, from);
        hosts = a
          .lines()
          .slice(from)
          .filter((l) => l.startsWith('HOST '));
        return hosts.length === 2 && hosts.every((h) => Number(h.split(' ')[2]) > 0 && Number(h.split(' ')[3]) > 0);
      },
      { timeout: 30_000, interval: 500, message: () => `both endpoints with active and standby partitions in the IQ metadata (${hosts.join('; ')})` },
    );
    assert.deepEqual(hosts.map((h) => h.split(' ')[1]).sort(), ['localhost:7101', 'localhost:7102']);
    // Kafka's own kafka-streams-groups tool sees the group, its members and their tasks.
    const list = await run(`${T}streams.StreamsGroupCommand`, ['--list', '--state']);
    const described = await run(`${T}streams.StreamsGroupCommand`, ['--describe', '--group', APP, '--members', '--verbose']);
    const offsets = await run(`${T}streams.StreamsGroupCommand`, ['--describe', '--group', APP, '--offsets']);
    assert.match(list, new RegExp(`^${APP}\\s+Stable$`, 'm'));
    const memberLines = described.split('\n').filter((l) => l.startsWith(APP));
    assert.equal(memberLines.length, 2, described);
    for (const l of memberLines) assert.match(l, /\sstreams\s.*ACTIVE: .*STANDBY: \d+:\[/, l);
    for (const p of [0, 1, 2]) assert.match(offsets, new RegExp(`^${APP}\\s+words-in\\s+${p}\\s+\\d+$`, 'm'), offsets);
    await produceWords(200);
    await waitForCounts('two instances');
  });

  test('an instance closes: the other takes over all its tasks and the counts stay exact', async () => {
    const a = apps[0]!;
    const b = apps[1]!;
    b.child.stdin!.end();
    await b.waitForLine(/^CLOSED$/, 60_000);
    await waitUntil(async () => (await tasksOf(a)).active === 9, { timeout: 60_000, interval: 300, message: 'all 9 tasks back on the remaining instance' });
    const g = await describeGroup();
    assert.equal(g.members.length, 1);
    await produceWords(150);
    await waitForCounts('after one instance closed');
  });

  test('the broker is killed (kill -9) and restarts mid-stream: the group comes back from its records and the counts stay exact', async () => {
    const a = apps[0]!;
    const before = await describeGroup();
    await produceWords(400);
    // kill -9 while the app is processing the batch (transactions open, offsets being committed).
    await broker.kill();
    broker = await startBrokerProcess({ dataDir, port: broker.port, overrides: BROKER_OVERRIDES });
    // The member is still known (reloaded from __consumer_offsets), not a new one.
    const reloaded = await describeGroup();
    assert.deepEqual(
      reloaded.members.map((m) => m.memberId),
      before.members.map((m) => m.memberId),
    );
    await waitForCounts('after the broker restart', 120_000);
    await waitUntil(async () => (await tasksOf(a)).active === 9, { timeout: 30_000, interval: 300, message: 'all 9 tasks after the restart' });
  });
});
