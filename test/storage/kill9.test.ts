// Crash safety with a real kill -9: a child appends and reports acknowledged offsets; after the
// kill, every acknowledged batch must be in the recovered log, offsets contiguous, and retries of
// the last batches must still be recognised as duplicates.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { config, decodeAll, openLog, readAll, rng, suiteTempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'fixtures', 'append-child.ts');
const PRODUCER_ID = 777;

interface Ack {
  n: number;
  offset: number;
  count: number;
}

/** Runs the child until it acknowledged `minAcks` batches (or a time limit), then kills it with SIGKILL. */
function runAndKill(dir: string, flushMessages: number, minAcks: number, extraDelayMs: number): Promise<{ acks: Ack[]; start: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, String(flushMessages)], {
      cwd: path.resolve(here, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Ack[] = [];
    let start = -1;
    let buffered = '';
    let stderr = '';
    let killTimer: NodeJS.Timeout | null = null;
    const kill = () => {
      if (!killTimer) killTimer = setTimeout(() => child.kill('SIGKILL'), extraDelayMs);
    };
    const limit = setTimeout(kill, 8000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!; // an unterminated line was not fully reported: ignore it
      for (const line of lines) {
        const parts = line.split(' ');
        if (parts[0] === 'ready') start = Number(parts[1]);
        else acks.push({ n: Number(parts[0]), offset: Number(parts[1]), count: Number(parts[2]) });
      }
      if (acks.length >= minAcks) kill();
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      if (killTimer) clearTimeout(killTimer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}: ${stderr}`));
      else resolve({ acks, start });
    });
  });
}

function sequenceOf(n: number): number {
  const full = Math.floor(n / 3);
  const rest = n % 3;
  return full * 6 + (rest === 0 ? 0 : rest === 1 ? 1 : 3);
}

function batchFor(n: number): Buffer {
  const count = (n % 3) + 1;
  const records = Array.from({ length: count }, (_, i) => ({ value: `n${n}-r${i}-${'x'.repeat((n * 37) % 200)}` }));
  return buildRecordBatch(records, { producerId: PRODUCER_ID, producerEpoch: 0, baseSequence: sequenceOf(n) });
}

describe('kill -9', () => {
  const root = suiteTempDir('tributary-kill9-');

  it('keeps every acknowledged batch and recognises retries after the crash', { timeout: 120_000 }, async (t) => {
    const dir = path.join(root, 'crash-0');
    const random = rng(99);
    const allAcks = new Map<number, Ack>();
    let batchesInLog = 0;
    // Rounds alternate flush policies; each restarts the child on the recovered log.
    const rounds = [
      { flush: Number.MAX_SAFE_INTEGER, minAcks: 400 },
      { flush: 1, minAcks: 60 },
      { flush: Number.MAX_SAFE_INTEGER, minAcks: 800 },
      { flush: 5, minAcks: 100 },
    ];
    for (const [round, { flush, minAcks }] of rounds.entries()) {
      const { acks, start } = await runAndKill(dir, flush, minAcks, Math.floor(random() * 40));
      assert.ok(acks.length >= Math.min(minAcks, 10), `round ${round}: only ${acks.length} acks`);
      assert.equal(start, batchesInLog, 'the child continues after the last batch in the log');
      for (const ack of acks) allAcks.set(ack.n, ack);

      const log = await openLog(dir, config({ segmentBytes: 16 * 1024, indexIntervalBytes: 512 }), { hadCleanShutdown: false });
      const records = await readAll(log);
      // Offsets are contiguous from 0, and each batch's records are in order.
      assert.deepEqual(
        records.map((r) => r.offset),
        Array.from({ length: records.length }, (_, i) => i),
        `round ${round}`,
      );
      const byOffset = new Map(records.map((r) => [r.offset, r.value]));
      for (const ack of allAcks.values()) {
        for (let i = 0; i < ack.count; i++) {
          const value = byOffset.get(ack.offset + i);
          assert.ok(value?.startsWith(`n${ack.n}-r${i}-`), `round ${round}: acknowledged batch ${ack.n} at ${ack.offset + i} is ${value}`);
        }
      }
      // The batches in the log are exactly 0..m with no gap.
      const numbers = [...new Set(records.map((r) => Number(r.value.split('-')[0]!.slice(1))))];
      assert.deepEqual(
        numbers,
        Array.from({ length: numbers.length }, (_, i) => i),
      );
      const last = numbers.length - 1;
      assert.ok(last >= Math.max(...allAcks.keys()));

      // Retrying any of the last five batches in the log (the producer state's window) is a
      // duplicate answered with the original offsets; acknowledged ones included.
      for (let n = Math.max(0, last - 4); n <= last; n++) {
        const retry = log.append(batchFor(n), 0);
        assert.equal(retry.duplicate, true, `round ${round}: retry of ${n}`);
        const expectedOffset = records.find((r) => r.value.startsWith(`n${n}-r0-`))!.offset;
        assert.equal(retry.baseOffset, expectedOffset);
        await retry.done;
      }
      // Reading the last batch directly works too.
      const end = log.logEndOffset;
      const tail = await log.read(end - 1, 1 << 16, log.highWatermark, true);
      assert.ok(decodeAll(tail.records).some((r) => r.offset === end - 1));
      batchesInLog = numbers.length;
      t.diagnostic(`round ${round}: ${acks.length} acks, log holds batches 0..${last} (${records.length} records)`);
      await log.close();
    }
  });
});
