// File naming inside a partition directory: every file is named after a 20-digit offset.
import path from 'node:path';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';
/** The aborted-transaction index (see txn-index.ts). */
export const TXN_INDEX_SUFFIX = '.txnindex';
export const SNAPSHOT_SUFFIX = '.snapshot';
export { TMP_SUFFIX } from '../common/atomic-file.js';
/** A segment file being deleted: renamed first, removed once no reader holds it. */
export const DELETED_SUFFIX = '.deleted';
export const LEADER_EPOCH_CHECKPOINT = 'leader-epoch-checkpoint';
/** One per log directory: `topic partition logStartOffset` lines. */
export const LOG_START_OFFSET_CHECKPOINT = 'log-start-offset-checkpoint';

export function offsetFileStem(offset: number): string {
  return String(offset).padStart(20, '0');
}

export function offsetFilePath(dir: string, offset: number, suffix: string): string {
  return path.join(dir, offsetFileStem(offset) + suffix);
}

/** The offset a file is named after, or null if `name` is not `<20 digits><suffix>`. */
export function parseOffsetFileName(name: string, suffix: string): number | null {
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, -suffix.length);
  if (!/^\d{20}$/.test(stem)) return null;
  const offset = Number(stem);
  return Number.isSafeInteger(offset) ? offset : null;
}
