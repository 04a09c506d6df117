// Apache Spark 4.2 with its Kafka source and sink (spark-sql-kafka-0-10) against a Tributary broker
// process, Spark in local mode (src/tributary/compat/SparkKafkaJob.java; setup.ts resolves and
// compiles it). A Structured Streaming word count reads a three-partition topic into a stateful
// aggregation and writes the counts to another topic, is restarted from its checkpoint after more
// input, and a batch query reads records back with their keys, headers, partitions and offsets.
// The input is produced, and the output read, with Tributary's own client. Without Java, Maven or
// Maven Central the test is skipped with the reason.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Admin } from '../../../src/client/admin.js';
import { Producer, type ProducerRecord } from '../../../src/client/producer.js';
import { startBrokerProcess, tempDir, type BrokerProcess } from '../../helpers/broker-process.js';
import { rng } from '../../helpers/rng.js';
import { sparkDir, sparkSetup } from './setup.js';
import { readWholeTopic } from '../../helpers/topic-reader.js';

// What Spark's launcher passes to its JVMs on Java 17+ (org.apache.spark.launcher.JavaModuleOptions).
const JVM_MODULE_OPTS = [
  '-XX:+IgnoreUnrecognizedVMOptions',
  '--add-modules=jdk.incubator.vector',
  ...['java.lang', 'java.lang.invoke', 'java.lang.reflect', 'java.io', 'java.net', 'java.nio', 'java.util', 'java.util.concurrent', 'java.util.concurrent.atomic']
    .concat(['jdk.internal.ref', 'sun.nio.ch', 'sun.nio.cs', 'sun.security.action', 'sun.util.calendar'])
    .map((p) => `--add-opens=java.base/${p}=ALL-UNNAMED`),
  '--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED',
  '-Dio.netty.tryReflectionSetAccessible=true',
];

interface StreamSummary {
  command: 'stream';
  batches: number;
  inputRows: number;
  endOffset: Record<string, Record<string, number>> | null;
  lastBatchId: number;
  ms: number;
}
interface BatchRow {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
  timestampType: number;
  headers: Array<{ key: string; value: string | null }> | null;
}
interface BatchSummary {
  command: 'batch';
  /** Empty when the read failed. */
  rows: BatchRow[];
  /** The first line of the error when the read failed. */
  error?: string;
}
type Summary = StreamSummary | BatchSummary;

/** Runs the program with its commands; resolves with the JSON line each command (but conf and delete) printed. */
function runJob(cp: string, bootstrap: string, work: string, commands: string[][], timeoutMs: number): Promise<Summary[]> {
  mkdirSync(work, { recursive: true });
  return new Promise((resolve, reject) => {
    const child = spawn(
      'java',
      [
        '-Xmx512m',
        '-XX:+UseSerialGC',
        '-XX:TieredStopAtLevel=1',
        ...JVM_MODULE_OPTS,
        `-Djava.io.tmpdir=${work}`,
        `-Dlog4j2.configurationFile=${join(sparkDir, 'log4j2.properties')}`,
        '-cp',
        cp,
        'tributary.compat.SparkKafkaJob',
        bootstrap,
        work,
        ...commands.flat(),
      ],
      // In the test's temp dir: nothing Spark writes lands in the repository.
      // SPARK_LOCAL_IP: the executor's address on loopback too (Spark would pick another interface
      // when the host name resolves to 127.0.0.1).
      { cwd: work, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SPARK_LOCAL_IP: '127.0.0.1' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d.toString()));
    child.stderr.on('data', (d) => (stderr = (stderr + d.toString()).slice(-20_000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter((l) => l.startsWith('{"command"'));
      if (code !== 0 || lines.length !== commands.filter((c) => c[0] !== 'conf' && c[0] !== 'delete').length) {
        reject(new Error(`SparkKafkaJob exited with ${code ?? signal}\n${stdout.slice(-4000)}\n${stderr.slice(-8000)}`));
      } else {
        const summaries = lines.map((l) => JSON.parse(l) as Summary);
        // Spark returns a batch read's rows in no particular order (no sort: one stage less).
        for (const s of summaries) if (s.command === 'batch') s.rows.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
        resolve(summaries);
      }
    });
  });
}

/** Lines of words drawn from a vocabulary; adds each word to `counts`. */
function lines(random: () => number, n: number, vocabulary: string[], counts: Map<string, number>): string[] {
  return Array.from({ length: n }, () => {
    const words = Array.from({ length: 5 }, () => vocabulary[Math.floor(random() * vocabulary.length)]!);
    for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
    return words.join(' ');
  });
}

const b64 = (b: Buffer | null) => (b === null ? null : b.toString('base64'));

const cp = sparkSetup();
const skip = cp.startsWith('SKIP: ') ? `spark: ${cp.slice(6)}` : false;
if (skip) console.log(`# SKIP ${skip}`);

describe('Apache Spark 4.2 Kafka source and sink', { skip }, () => {
  let broker: BrokerProcess;
  let work: string;
  before(async () => {
    // The deprecated offset fetching joins a group of one consumer per read: no need to wait
    // group.initial.rebalance.delay.ms (3 s) for others to join.
    broker = await startBrokerProcess({ overrides: { 'group.initial.rebalance.delay.ms': '0' } });
    work = tempDir('tributary-spark-');
  });
  after(async () => {
    await broker?.stop();
    broker?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('a stateful streaming word count restarted from its checkpoint, and a batch read of keys, headers and offsets', async () => {
    const { bootstrap } = broker;
    const admin = new Admin({ bootstrap });
    const producer = new Producer({ bootstrap });
    try {
      await admin.createTopics([
        { name: 'spark-in', partitions: 3 },
        { name: 'spark-out', partitions: 2 },
        { name: 'spark-batch', partitions: 3 },
        { name: 'spark-txn', partitions: 3 },
      ]);
      const random = rng(4242);
      const counts = new Map<string, number>();
      const send = (ls: string[]) =>
        producer.send(
          'spark-in',
          ls.map((value, i): ProducerRecord => ({ key: `line${i}`, value, partition: i % 3 })),
        );

      // Round one: 300 lines over the three partitions.
      const first = lines(random, 300, ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'], counts);
      await send(first);
      const afterFirst = new Map(counts);

      // The batch topic: keys (null, text, bytes that are not UTF-8), values (null, empty),
      // headers (none, repeated keys, null and binary values), explicit timestamps, in two sends
      // so that each partition holds several record batches.
      const batchRecords: ProducerRecord[] = Array.from({ length: 24 }, (_, i) => ({
        partition: i % 3,
        key: i % 4 === 0 ? null : i % 4 === 1 ? Buffer.from([0xff, 0x00, i]) : `k${i}`,
        value: i === 5 ? null : i === 7 ? Buffer.alloc(0) : `v${i}`,
        timestamp: 1_700_000_000_000 + i * 1000,
        headers:
          i % 5 === 0
            ? []
            : [
                { key: 'h', value: `x${i}` },
                { key: 'h', value: null },
                { key: 'bin', value: Buffer.from([i, 0xfe]) },
              ],
      }));
      const written = [...(await producer.send('spark-batch', batchRecords.slice(0, 10))), ...(await producer.send('spark-batch', batchRecords.slice(10)))];

      const checkpoint = join(work, 'checkpoint');
      const stream = ['stream', 'spark-in', 'spark-out', checkpoint];
      const [run1] = (await runJob(cp, bootstrap, join(work, 'run1'), [stream], 180_000)) as [StreamSummary];
      assert.equal(run1.inputRows, 300, JSON.stringify(run1));
      assert.equal(run1.batches, 1);
      assert.deepEqual(run1.endOffset, { 'spark-in': { '0': 100, '1': 100, '2': 100 } });
      // Update mode: one record per word the batch changed, its count so far (the value as text).
      const out1 = await readWholeTopic(bootstrap, 'spark-out');
      assert.equal(out1.length, afterFirst.size, 'one output record per distinct word');
      for (const r of out1) assert.equal(Number(r.value!.toString()), afterFirst.get(r.key!.toString()), `count of ${r.key!.toString()}`);

      // Round two: 60 more lines, some words new; then the query restarted (a new JVM) from its
      // checkpoint. It must resume at the offsets its checkpoint committed (not `earliest` again)
      // with the counts restored from its state store: reprocessing would double the counts, a lost
      // state would restart them. Spark's Kafka sink is at-least-once (a batch that failed after
      // writing is written again when the query restarts, as the batch it never committed); with
      // no failure here every batch runs once, so the output is exact.
      const second = lines(random, 60, ['alpha', 'golf', 'india', 'juliett', 'kilo'], counts);
      const touched = new Set(second.flatMap((l) => l.split(' ')));
      await send(second);
      const endsBefore = new Map<number, number>();
      for (const r of out1) endsBefore.set(r.partition, Math.max(endsBefore.get(r.partition) ?? -1, r.offset));

      const [run2, run3, all, slice, byTime, byConsumer, , committed, lost, skipped, afterDelete] = (await runJob(
        cp,
        bootstrap,
        join(work, 'run2'),
        [
          stream,
          // Once more with nothing new: no batch, no output.
          stream,
          ['batch', 'spark-batch', 'earliest', 'latest', '-'],
          // Spark's JSON offsets: -2 is earliest, -1 latest.
          ['batch', 'spark-batch', '{"spark-batch":{"0":2,"1":-2,"2":-2}}', '{"spark-batch":{"0":5,"1":-1,"2":3}}', '-'],
          // Between two times: from the first record at 1_700_000_010_000 or later, up to the
          // first at 1_700_000_020_000 or later (excluded).
          ['batch', 'spark-batch', 'ts:1700000010000', 'ts:1700000020000', '-'],
          // Offsets found the way Spark did before 3.1 (a consumer subscribing with a group, then
          // seekToBeginning/seekToEnd and position) instead of Admin.listOffsets.
          ['conf', 'spark.sql.streaming.kafka.useDeprecatedOffsetFetching', 'true'],
          ['batch', 'spark-batch', 'earliest', 'latest', '-'],
          ['conf', 'spark.sql.streaming.kafka.useDeprecatedOffsetFetching', 'false'],
          // A committed, an aborted and a committed transaction per partition, read with
          // read_committed: Spark's consumer has to step over the aborted records and the
          // transaction markers (offsets that hold no record it is given).
          ['txn', 'spark-txn', '3'],
          ['batch', 'spark-txn', 'earliest', 'latest', 'kafka.isolation.level=read_committed'],
          // Records deleted (DeleteRecords) below where a read starts: Spark fails, as it must
          // (failOnDataLoss defaults to true), unless told to go on from the log start offset.
          ['delete', 'spark-batch', '0', '3'],
          ['batch', 'spark-batch', JSON.stringify({ 'spark-batch': { 0: 1, 1: -2, 2: -2 } }), 'latest', '-'],
          ['batch', 'spark-batch', JSON.stringify({ 'spark-batch': { 0: 1, 1: -2, 2: -2 } }), 'latest', 'failOnDataLoss=false'],
          ['batch', 'spark-batch', 'earliest', 'latest', '-'],
        ],
        180_000,
      )) as [StreamSummary, StreamSummary, BatchSummary, BatchSummary, BatchSummary, BatchSummary, unknown, BatchSummary, BatchSummary, BatchSummary, BatchSummary];
      assert.equal(run2.inputRows, 60, `only the new input: ${JSON.stringify(run2)}`);
      assert.equal(run2.batches, 1);
      assert.equal(run2.lastBatchId, 1, 'the batch after the checkpointed one');
      assert.deepEqual(run2.endOffset, { 'spark-in': { '0': 120, '1': 120, '2': 120 } });
      assert.equal(run3.inputRows, 0, JSON.stringify(run3));

      const out2 = await readWholeTopic(bootstrap, 'spark-out');
      const added = out2.filter((r) => r.offset > (endsBefore.get(r.partition) ?? -1));
      assert.equal(out2.length, out1.length + added.length);
      assert.deepEqual(new Set(added.map((r) => r.key!.toString())), touched, 'a record for each word of round two, once');
      assert.equal(added.length, touched.size);
      const latest = new Map(out2.map((r) => [r.key!.toString(), Number(r.value!.toString())]));
      assert.deepEqual(latest, counts, 'every count exact over both rounds');

      // The batch reads: exactly what the producer wrote, where it wrote it.
      const expected = batchRecords
        .map((r, i) => ({
          partition: written[i]!.partition,
          offset: written[i]!.offset,
          key: b64(typeof r.key === 'string' ? Buffer.from(r.key) : (r.key ?? null)),
          value: b64(typeof r.value === 'string' ? Buffer.from(r.value) : (r.value ?? null)),
          timestamp: r.timestamp!,
          timestampType: 0,
          // Spark gives a record without headers a null column, not an empty array.
          headers: (r.headers as Array<{ key: string; value: string | Buffer | null }>).length
            ? (r.headers as Array<{ key: string; value: string | Buffer | null }>).map((h) => ({
                key: h.key,
                value: b64(typeof h.value === 'string' ? Buffer.from(h.value) : h.value),
              }))
            : null,
        }))
        .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      assert.deepEqual(
        expected.map((r) => [r.partition, r.offset]),
        [0, 1, 2].flatMap((p) => Array.from({ length: 8 }, (_, o) => [p, o])),
      );
      assert.deepEqual(all.rows, expected);
      assert.deepEqual(
        slice.rows,
        expected.filter((r) => (r.partition === 0 && r.offset >= 2 && r.offset < 5) || r.partition === 1 || (r.partition === 2 && r.offset < 3)),
      );
      assert.deepEqual(
        byTime.rows,
        expected.filter((r) => r.timestamp >= 1_700_000_010_000 && r.timestamp < 1_700_000_020_000),
      );
      assert.equal(byTime.rows.length, 10);
      assert.deepEqual(byConsumer.rows, expected);

      // The transactions as Tributary's own client reads them (read_uncommitted: aborted records
      // too, markers skipped); Spark's read_committed rows are the committed ones among them.
      const txnRecords = await readWholeTopic(bootstrap, 'spark-txn');
      assert.deepEqual(
        txnRecords.map((r) => [r.partition, r.offset]),
        [0, 1, 2].flatMap((p) => [0, 1, 2, 4, 5, 6, 8, 9].map((o) => [p, o])),
        'three records, a marker, three aborted records, a marker, two records (and a marker) per partition',
      );
      assert.deepEqual(
        committed.rows.map((r) => ({ partition: r.partition, offset: r.offset, key: r.key, value: r.value, headers: r.headers })),
        txnRecords
          .filter((r) => !r.value!.toString().startsWith('a-'))
          .map((r) => ({ partition: r.partition, offset: r.offset, key: b64(r.key), value: b64(r.value), headers: null })),
      );
      assert.deepEqual(
        committed.rows.map((r) => Buffer.from(r.value!, 'base64').toString()),
        [0, 1, 2].flatMap((p) => [`c1-${p}-0`, `c1-${p}-1`, `c1-${p}-2`, `c2-${p}-0`, `c2-${p}-1`]),
      );

      // After DeleteRecords before offset 3 of partition 0.
      assert.match(lost.error ?? '', /Some data may have been lost/, JSON.stringify(lost).slice(0, 2000));
      const kept = expected.filter((r) => r.partition !== 0 || r.offset >= 3);
      assert.deepEqual(skipped.rows, kept);
      assert.deepEqual(afterDelete.rows, kept);
    } finally {
      await producer.close();
      await admin.close();
    }
  });
});
