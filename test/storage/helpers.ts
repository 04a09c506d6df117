// Shared helpers for the storage tests: temp dirs, a silent logger, batch builders.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { pino } from 'pino';
import { logConfig, LogConfig } from '../../src/storage/log-config.js';
import { PartitionLog, PartitionLogOptions } from '../../src/storage/partition-log.js';
import { buildRecordBatch, BuildBatchOptions } from '../../src/protocol/records/record-batch-builder.js';
import { splitBatches, readBatchHeader } from '../../src/protocol/records/record-batch.js';
import { decodeBatchRecords } from '../../src/protocol/records/records.js';
export { rng } from '../helpers/rng.js';

export const silentLogger = pino({ level: 'silent' });

export function tempDir(prefix = 'tributary-storage-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * A temporary directory for the tests of a describe block, removed by an after hook however they
 * end: the storage suites open each test's logs in a subdirectory of it.
 */
export function suiteTempDir(prefix?: string): string {
  const dir = tempDir(prefix);
  after(() => removeDir(dir));
  return dir;
}

/**
 * Runs `body` with a fresh temporary directory and removes the directory afterwards, whether
 * `body` passed or threw: the storage tests each open their logs in a directory of their own.
 */
export async function inTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = tempDir();
  try {
    return await body(dir);
  } finally {
    removeDir(dir);
  }
}

export function config(overrides: Partial<LogConfig> = {}): LogConfig {
  return logConfig(overrides);
}

export function openLog(dir: string, cfg: LogConfig, opts: Partial<PartitionLogOptions> = {}): Promise<PartitionLog> {
  return PartitionLog.open(dir, cfg, { logger: silentLogger, hadCleanShutdown: true, ...opts });
}

/** A batch of `count` records whose values are `${label}-${i}`. */
export function batch(label: string, count = 1, options: BuildBatchOptions & { valueSize?: number } = {}): Buffer {
  const records = Array.from({ length: count }, (_, i) => {
    const base = `${label}-${i}`;
    const value = options.valueSize ? base.padEnd(options.valueSize, '.') : base;
    return { key: `k-${label}`, value };
  });
  return buildRecordBatch(records, options);
}

export interface ReadRecord {
  offset: number;
  value: string;
  timestamp: number;
}

/** Decodes every record of the batches in `records`. */
export function decodeAll(records: Buffer | null): ReadRecord[] {
  if (!records) return [];
  const out: ReadRecord[] = [];
  for (const b of splitBatches(records, { rejectPartialTail: true })) {
    for (const r of decodeBatchRecords(b)) out.push({ offset: r.offset, value: r.value?.toString() ?? '', timestamp: r.timestamp });
  }
  return out;
}

/** Base offsets of the batches in `records`. */
export function batchOffsets(records: Buffer | null): number[] {
  if (!records) return [];
  return [...splitBatches(records, { rejectPartialTail: true })].map((b) => readBatchHeader(b).baseOffset);
}

/** Reads the whole log (below the high watermark) by fetching repeatedly. */
export async function readAll(log: PartitionLog, maxBytes = 64 * 1024): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  let offset = log.logStartOffset;
  for (let guard = 0; guard < 100000 && offset < log.highWatermark; guard++) {
    const result = await log.read(offset, maxBytes, log.highWatermark, true);
    const records = decodeAll(result.records);
    if (records.length === 0) throw new Error(`no progress reading at ${offset}`);
    for (const r of records) if (r.offset >= offset) out.push(r);
    offset = records[records.length - 1]!.offset + 1;
  }
  return out;
}

/**
 * Every batch of the log below the high watermark, each once and copied, empty (cleaned) batches
 * included: the cleaner tests look at batches as the log holds them.
 */
export async function readBatches(log: PartitionLog): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < log.highWatermark) {
    const { records } = await log.read(offset, 1 << 20);
    if (!records) break;
    for (const b of splitBatches(records, { rejectPartialTail: true })) {
      const header = readBatchHeader(b);
      if (header.baseOffset + header.lastOffsetDelta >= offset) out.push(Buffer.from(b));
      offset = Math.max(offset, header.baseOffset + header.lastOffsetDelta + 1);
    }
  }
  return out;
}

/** Files of a partition directory, sorted. */
export function listDir(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}
