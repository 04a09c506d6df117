// Kafka Streams 4.4 (exactly_once_v2) against a Tributary broker process: StreamsApp.java counts
// words (repartition topic, count store and changelog) and sums amounts per one-minute window
// (window store). The app is killed with SIGKILL in the middle of a batch and restarted: the
// committed output must count every word exactly once and the store must come back from its
// changelog. Then two instances share the tasks and the counts stay exact.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { rng } from '../../helpers/rng.js';
import { waitUntil } from '../../helpers/wait.js';
import { WordCounts } from '../../helpers/word-counts.js';
import { javaSetup, spawnJava, Tools, type JavaProcess, type JavaSetup } from './harness.js';

const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;

const T = 'org.apache.kafka.tools.';
const APP = 'compat-streams';
const VOCAB = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'mike', 'november', 'oscar', 'papa'];

describe('Kafka Streams', { skip }, () => {
  let broker: BrokerProcess;
  let tools: Tools;
  let tmp: string;
  const apps: JavaProcess[] = [];
  const expectedSums = new Map<string, number>();
  let totalWords = 0;
  const random = rng(16);

  const run = (main: string, args: string[], stdin = '') => tools.runOk(broker.bootstrap, main, args, stdin);
  const counts = new WordCounts({ run, random, vocabulary: VOCAB, wordsPerLine: 8, consumerTimeoutMs: 2500 });
  const { expected } = counts;
  /** n lines of 8 words; the expected counts follow. */
  const produceWords = async (n: number) => {
    const words = await counts.produce(n);
    totalWords += words;
    return words;
  };
  const committedLatest = (topic: string) => counts.committedLatest(topic);
  const waitForCounts = (what: string, timeoutMs = 120_000) => counts.waitForCounts(what, timeoutMs);

  async function produceAmounts(n: number): Promise<void> {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const user = `user${i % 5}`;
      const amount = 1 + Math.floor(random() * 100);
      expectedSums.set(user, (expectedSums.get(user) ?? 0) + amount);
      lines.push(`${user}:${amount}`);
    }
    await run(`${T}ConsoleProducer`, ['--topic', 'amounts-in', '--reader-property', 'parse.key=true', '--reader-property', 'key.separator=:'], `${lines.join('\n')}\n`);
  }

  async function waitForSums(timeoutMs = 120_000): Promise<void> {
    let last = '';
    await waitUntil(
      async () => {
        const { latest } = await committedLatest('window-sums-out');
        const perUser = new Map<string, number>();
        for (const [k, v] of latest) {
          const user = k.split('@')[0]!;
          perUser.set(user, (perUser.get(user) ?? 0) + v);
        }
        const wrong = [...expectedSums].filter(([u, n]) => perUser.get(u) !== n);
        last = wrong.map(([u, n]) => `${u} ${perUser.get(u) ?? 0}/${n}`).join(', ');
        return wrong.length === 0;
      },
      { timeout: timeoutMs, interval: 500, message: () => `window sums (${last})` },
    );
  }

  function startApp(s: JavaSetup, stateDir: string): JavaProcess {
    const app = spawnJava(`${s.classes}:${s.cp.k4}`, 'tributary.compat.StreamsApp', [broker.bootstrap, APP, stateDir], { jvmOpts: ['-Xmx320m'] });
    apps.push(app);
    return app;
  }

  before(async () => {
    if (typeof setup === 'string') return;
    broker = await startBrokerProcess({
      overrides: { 'transaction.abort.timed.out.transaction.cleanup.interval.ms': '1000', 'group.initial.rebalance.delay.ms': '0' },
    });
    tmp = mkdtempSync(join(tmpdir(), 'tributary-streams-'));
    tools = await Tools.start(setup);
    await run(`${T}TopicCommand`, ['--create', '--topic', 'words-in', '--partitions', '3']);
    await run(`${T}TopicCommand`, ['--create', '--topic', 'amounts-in', '--partitions', '3']);
  });
  after(async () => {
    for (const a of apps) await a.kill();
    await tools?.close();
    await broker?.stop();
    broker?.cleanup();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('word count and windowed sums, exactly once, with repartition and changelog topics', async () => {
    const s = setup as JavaSetup;
    const app = startApp(s, join(tmp, 'a'));
    await app.waitForLine(/^STATE RUNNING$/, 90_000);
    await produceWords(200);
    await produceAmounts(100);
    await waitForCounts('first batch');
    await waitForSums();
    const list = await run(`${T}TopicCommand`, ['--list']);
    assert.match(list, new RegExp(`^${APP}-by-word-repartition$`, 'm'));
    assert.match(list, new RegExp(`^${APP}-word-counts-changelog$`, 'm'));
    assert.match(list, new RegExp(`^${APP}-window-sums-changelog$`, 'm'));
    const changelog = await run(`${T}TopicCommand`, ['--describe', '--topic', `${APP}-word-counts-changelog`]);
    assert.match(changelog, /cleanup\.policy=compact/);
    const windowChangelog = await run(`${T}TopicCommand`, ['--describe', '--topic', `${APP}-window-sums-changelog`]);
    assert.match(windowChangelog, /cleanup\.policy=compact,delete/);
    const repartition = await run(`${T}TopicCommand`, ['--describe', '--topic', `${APP}-by-word-repartition`]);
    assert.match(repartition, /PartitionCount: 3/);
    const [, count] = /^COUNT alpha (\d+)$/.exec(await app.ask('count alpha', /^COUNT alpha /))!;
    assert.equal(Number(count), expected.get('alpha'));
  });

  test('killed with SIGKILL mid-stream and restarted: exactly-once output, store restored from the changelog', async () => {
    const s = setup as JavaSetup;
    const app = apps[0]!;
    const before = Number(/^PROGRESS (\d+)$/.exec(await app.ask('progress', /^PROGRESS /))![1]);
    const words = await produceWords(2500);
    await produceAmounts(300);
    // Kill it once it has read part of the batch, not all of it.
    let progress = before;
    await waitUntil(
      async () => {
        progress = Number(/^PROGRESS (\d+)$/.exec(await app.ask('progress', /^PROGRESS /))![1]);
        return progress >= before + words / 10;
      },
      { timeout: 60_000, interval: 50, message: () => `a tenth of the batch read (${progress - before} of ${words})` },
    );
    await app.kill();
    assert.ok(progress > before && progress < before + words, `killed mid-batch: ${progress - before} of ${words} words read`);
    const restarted = startApp(s, join(tmp, 'a'));
    await restarted.waitForLine(/^STATE RUNNING$/, 90_000);
    await waitForCounts('after the kill');
    await waitForSums();
    // The local state was dropped (no checkpoint after a crash under exactly-once) and rebuilt.
    const restored = restarted.lines().filter((l) => l.startsWith('RESTORED word-counts '));
    assert.ok(
      restored.some((l) => Number(l.split(' ').pop()) > 0),
      `word-counts restored from its changelog: ${restored.join('; ')}`,
    );
    for (const w of ['alpha', 'papa']) {
      const [, c] = new RegExp(`^COUNT ${w} (\\d+)$`).exec(await restarted.ask(`count ${w}`, new RegExp(`^COUNT ${w} `)))!;
      assert.equal(Number(c), expected.get(w), `store value of ${w}`);
    }
  });

  test('two instances share the tasks and keep counting exactly once', async () => {
    const s = setup as JavaSetup;
    const first = apps[apps.length - 1]!;
    const second = startApp(s, join(tmp, 'b'));
    let a = 0;
    let b = 0;
    await waitUntil(
      async () => {
        const ra = /^TASKS (\d+) (\w+)$/.exec(await first.ask('tasks', /^TASKS /))!;
        const rb = /^TASKS (\d+) (\w+)$/.exec(await second.ask('tasks', /^TASKS /))!;
        a = Number(ra[1]);
        b = Number(rb[1]);
        return ra[2] === 'RUNNING' && rb[2] === 'RUNNING' && a > 0 && b > 0 && a + b === 9;
      },
      { timeout: 90_000, interval: 250, message: () => `9 tasks split between two instances (${a} + ${b})` },
    );
    assert.ok(a > 0 && b > 0 && a + b === 9, `9 tasks (3 sub-topologies x 3 partitions) split between two instances: ${a} + ${b}`);
    await produceWords(300);
    await produceAmounts(50);
    await waitForCounts('with two instances');
    await waitForSums();
    assert.ok(totalWords > 0);
  });
});
