// The cluster torture's final judgement (cluster/harness.ts `judge`) on replicas written here by
// hand: it passes identical logs holding what was acknowledged, and finds each kind of damage a
// broken replication would leave (a lost, moved, duplicated or reordered record, a replica that
// differs below the high watermark, an aborted transaction committed).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { emptyReport, judge } from './cluster/harness.js';
import { TOPIC, TXN_TOPIC, type ProducerOutcome, type TxnOutcome } from './cluster/workload.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface BatchSpec {
  values: string[];
  producerId?: number;
  transactional?: boolean;
  /** A transaction marker: 0 abort, 1 commit. */
  marker?: 0 | 1;
}

/** Writes batches back to back from offset 0 into one segment of `topic-partition`. */
function writeLog(dir: string, topic: string, partition: number, batches: BatchSpec[]): void {
  const path = join(dir, `${topic}-${partition}`);
  mkdirSync(path, { recursive: true });
  let offset = 0;
  const bytes: Buffer[] = [];
  for (const b of batches) {
    const records = b.marker !== undefined ? [{ key: Buffer.from([0, 0, 0, b.marker]), value: Buffer.from([0, 0, 0, 0, 0, 0]) }] : b.values.map((v) => ({ key: v, value: v }));
    bytes.push(
      buildRecordBatch(records, {
        baseOffset: offset,
        baseTimestamp: 1_700_000_000_000,
        producerId: b.producerId ?? -1,
        transactional: b.transactional ?? b.marker !== undefined,
        control: b.marker !== undefined,
      }),
    );
    offset += records.length;
  }
  writeFileSync(join(path, '00000000000000000000.log'), Buffer.concat(bytes));
}

interface Scenario {
  /** Per node: TOPIC-0 batches (TOPIC has one partition here). */
  logs: BatchSpec[][];
  /** Per node: TXN_TOPIC-0 batches (TXN_TOPIC-1 stays empty). */
  txnLogs?: BatchSpec[][];
  hw: number;
  txnHw?: number;
  acked: Record<string, number | null>;
  txns?: TxnOutcome['txns'];
}

function run(s: Scenario) {
  const nodes = s.logs.map((batches, i) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cluster-checker-'));
    dirs.push(dataDir);
    writeLog(dataDir, TOPIC, 0, batches);
    writeLog(dataDir, TXN_TOPIC, 0, s.txnLogs?.[i] ?? []);
    writeLog(dataDir, TXN_TOPIC, 1, []);
    return { id: i + 1, dataDir };
  });
  const outcome: ProducerOutcome = {
    name: 'p',
    acked: new Map(Object.entries(s.acked).map(([v, offset]) => [v, { partition: 0, offset }])),
    indeterminate: new Set(),
    sends: 1,
    failures: 0,
    incarnations: 1,
    skipped: null,
    errors: [],
  };
  const report = emptyReport(1);
  const ids = nodes.map((n) => n.id);
  const txnHw = s.txnHw ?? 0;
  judge(nodes, {
    partitions: 1,
    hw: new Map([
      [`${TOPIC}-0`, s.hw],
      [`${TXN_TOPIC}-0`, txnHw],
      [`${TXN_TOPIC}-1`, 0],
    ]),
    isr: new Map([
      [`${TOPIC}-0`, ids],
      [`${TXN_TOPIC}-0`, ids],
      [`${TXN_TOPIC}-1`, ids],
    ]),
    outcomes: [outcome],
    txns: { txns: s.txns ?? new Map(), seen: new Set(), failures: 0, errors: [] },
    report,
    violations: report.violations,
  });
  return report;
}

const good: BatchSpec[] = [{ values: ['p.1:0', 'p.1:1'] }, { values: ['p.1:2'] }];

test('identical replicas holding every acknowledged record once, in order: no violation', () => {
  const r = run({ logs: [good, good, good], hw: 3, acked: { 'p.1:0': 0, 'p.1:1': 1, 'p.1:2': 2 } });
  assert.deepEqual(r.violations, []);
  assert.equal(r.replicasCompared, 6); // 3 partitions, 2 followers each
  assert.ok(r.bytesCompared > 0);
  assert.equal(r.recordsLost, 0);
});

test('a suffix past the high watermark on one replica is allowed; a replica short of it is not', () => {
  const longer: BatchSpec[] = [...good, { values: ['p.1:3'] }];
  assert.deepEqual(run({ logs: [good, longer, good], hw: 3, acked: { 'p.1:0': 0 } }).violations, []);
  const short = run({ logs: [good, good.slice(0, 1), good], hw: 3, acked: { 'p.1:0': 0 } });
  assert.match(short.violations.join('\n'), /replica on broker 2 differs from broker 1 below the high watermark 3/);
});

test('a lost, a moved, a duplicated and a reordered record are each found', () => {
  const lost = run({ logs: [good, good, good], hw: 3, acked: { 'p.1:0': 0, 'p.1:9': null } });
  assert.equal(lost.recordsLost, 1);
  assert.match(lost.violations.join('\n'), /lost: p\.1:9/);

  const moved = run({ logs: [good, good, good], hw: 3, acked: { 'p.1:2': 1 } });
  assert.match(moved.violations.join('\n'), /moved: p\.1:2: acknowledged on jepsen-0 at 1, found on jepsen-0 at 2/);

  const twice: BatchSpec[] = [{ values: ['p.1:0', 'p.1:1'] }, { values: ['p.1:1'] }];
  const dup = run({ logs: [twice, twice, twice], hw: 3, acked: { 'p.1:1': 1 } });
  assert.equal(dup.duplicates, 1);

  const swapped: BatchSpec[] = [{ values: ['p.1:1'] }, { values: ['p.1:0'] }];
  const order = run({ logs: [swapped, swapped, swapped], hw: 2, acked: {} });
  assert.match(order.violations.join('\n'), /out of order: p\.1:0/);
});

test('a replica whose bytes differ below the high watermark is found', () => {
  const other: BatchSpec[] = [{ values: ['p.1:0', 'p.1:1'] }, { values: ['p.2:2'] }];
  const r = run({ logs: [good, good, other], hw: 3, acked: { 'p.1:0': 0 } });
  assert.match(r.violations.join('\n'), /replica on broker 3 differs/);
});

test('transactions: committed under COMMIT, aborted under ABORT pass; an aborted one committed in the log or a committed one left open is found', () => {
  const txnLog: BatchSpec[] = [
    { values: ['tx:1.0:0/1'], producerId: 7, transactional: true },
    { values: [], producerId: 7, marker: 1 },
    { values: ['tx:1.1:0/1'], producerId: 7, transactional: true },
    { values: [], producerId: 7, marker: 0 },
    { values: ['tx:1.2:0/1'], producerId: 7, transactional: true },
  ];
  const logs = [good, good, good];
  const txnLogs = [txnLog, txnLog, txnLog];
  const ok = run({
    logs,
    txnLogs,
    hw: 3,
    txnHw: 4,
    acked: {},
    txns: new Map([
      ['1.0', { values: ['tx:1.0:0/1'], outcome: 'committed' as const }],
      ['1.1', { values: ['tx:1.1:0/1'], outcome: 'aborted' as const }],
    ]),
  });
  assert.deepEqual(ok.violations, []);
  assert.equal(ok.transactions.recordsCommittedInLog, 1);
  assert.equal(ok.transactions.recordsAbortedInLog, 1);

  const bad = run({
    logs,
    txnLogs,
    hw: 3,
    txnHw: 5,
    acked: {},
    txns: new Map([
      ['1.0', { values: ['tx:1.0:0/1'], outcome: 'aborted' as const }],
      ['1.2', { values: ['tx:1.2:0/1'], outcome: 'committed' as const }],
    ]),
  });
  const text = bad.violations.join('\n');
  assert.match(text, /the aborted transaction 1\.0 has 1 record\(s\) under a COMMIT marker/);
  assert.match(text, /the committed transaction 1\.2 has 0 of 1 records under a COMMIT marker \(1 with no marker\)/);
});
