// The word count the Kafka Streams compat tests run (StreamsApp.java reads `words-in`, writes
// each word's running count to `word-counts-out` with exactly_once_v2): producing random lines
// of words with their expected counts, reading the committed output back with Kafka's console
// consumer, and waiting until every word's count is exact, failing at once on a count above it.
import assert from 'node:assert/strict';
import { waitUntil } from './wait.js';

const T = 'org.apache.kafka.tools.';

export interface WordCountOptions {
  /** Runs a Kafka tool's main class against the broker; resolves with its stdout (exit 0 asserted). */
  run(main: string, args: string[], stdin?: string): Promise<string>;
  random: () => number;
  vocabulary: string[];
  wordsPerLine: number;
  /** The console consumer's --timeout-ms. */
  consumerTimeoutMs: number;
}

export class WordCounts {
  /** word → how many times it was produced. */
  readonly expected = new Map<string, number>();
  constructor(private readonly opts: WordCountOptions) {}

  /** n lines of words (keys line0, line1, …) to words-in; the words produced. */
  async produce(n: number): Promise<number> {
    const { vocabulary, random, wordsPerLine } = this.opts;
    const lines: string[] = [];
    let words = 0;
    for (let i = 0; i < n; i++) {
      const ws = Array.from({ length: wordsPerLine }, () => vocabulary[Math.floor(random() * vocabulary.length)]!);
      for (const w of ws) this.expected.set(w, (this.expected.get(w) ?? 0) + 1);
      words += ws.length;
      lines.push(`line${i}:${ws.join(' ')}`);
    }
    await this.opts.run(
      `${T}ConsoleProducer`,
      ['--topic', 'words-in', '--reader-property', 'parse.key=true', '--reader-property', 'key.separator=:'],
      `${lines.join('\n')}\n`,
    );
    return words;
  }

  /** The committed output of a topic: the last value per key (read_committed, Long values). */
  async committedLatest(topic: string): Promise<{ latest: Map<string, number>; records: number }> {
    const out = await this.opts.run(`${T}consumer.ConsoleConsumer`, [
      '--topic',
      topic,
      '--from-beginning',
      '--isolation-level',
      'read_committed',
      '--timeout-ms',
      String(this.opts.consumerTimeoutMs),
      '--formatter-property',
      'print.key=true',
      '--formatter-property',
      'key.separator=\t',
      '--formatter-property',
      'value.deserializer=org.apache.kafka.common.serialization.LongDeserializer',
    ]);
    const latest = new Map<string, number>();
    let records = 0;
    for (const line of out.split('\n')) {
      const [k, v] = line.split('\t');
      if (!k || v === undefined) continue;
      latest.set(k, Number(v));
      records++;
    }
    return { latest, records };
  }

  /** Waits until the committed word-counts-out holds every word's exact count, never more. */
  async waitForCounts(what: string, timeoutMs: number): Promise<void> {
    let last = '';
    const outcome = await waitUntil(
      async () => {
        const { latest } = await this.committedLatest('word-counts-out');
        const wrong = [...this.expected].filter(([w, n]) => latest.get(w) !== n);
        // A word above its true count fails at once; one below it may still be on its way.
        const over = wrong.filter(([w, n]) => (latest.get(w) ?? 0) > n);
        if (over.length > 0 || wrong.length === 0) return { latest, over };
        last = wrong.map(([w, n]) => `${w} ${latest.get(w) ?? 0}/${n}`).join(', ');
        return undefined;
      },
      { timeout: timeoutMs, interval: 500, message: () => `${what}: counts (${last})` },
    );
    assert.deepEqual(
      outcome.over.map(([w, n]) => `${w}: ${outcome.latest.get(w)} > ${n}`),
      [],
      `${what}: a word counted more than once`,
    );
    // Nothing counted twice: no word above its true count, no word that was never sent.
    assert.deepEqual([...outcome.latest.keys()].sort(), [...this.expected.keys()].sort());
  }
}
