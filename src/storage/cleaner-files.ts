// The log cleaner's files as a crash may leave them: `.cleaned` (a clean in progress) and
// `<base>.log.<end>.swap` (a committed clean not yet renamed into place). Kept apart from the
// cleaner so that opening a log (partition-log.ts) needs none of the cleaner itself.
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { fsyncDir } from '../common/atomic-file.js';
import { INDEX_SUFFIX, LOG_SUFFIX, offsetFilePath, offsetFileStem, parseOffsetFileName, TIME_INDEX_SUFFIX, TXN_INDEX_SUFFIX } from './file-names.js';

export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';

export function swapFileName(base: number, end: number): string {
  return `${offsetFileStem(base)}${LOG_SUFFIX}.${offsetFileStem(end)}${SWAP_SUFFIX}`;
}

const SWAP_NAME = /^(\d{20})\.log\.(\d{20})\.swap$/;

/**
 * On open, before segments are listed: `.cleaned` files (a clean that never reached its commit
 * point) are deleted; a `<base>.log.<end>.swap` file (committed) replaces every segment whose
 * base offset is in [base, end), and becomes `<base>.log`. Index files of those segments go, so
 * recovery rebuilds them.
 */
export async function finishInterruptedCleaning(dir: string, logger: Logger): Promise<void> {
  let names = await fsp.readdir(dir);
  let changed = false;
  for (const name of names) {
    if (name.endsWith(CLEANED_SUFFIX)) {
      await fsp.rm(path.join(dir, name), { force: true });
      changed = true;
    }
  }
  names = await fsp.readdir(dir);
  for (const name of names) {
    const match = SWAP_NAME.exec(name);
    if (!match) continue;
    const base = Number(match[1]);
    const end = Number(match[2]);
    for (const other of names) {
      if (other === name) continue;
      const offset =
        parseOffsetFileName(other, LOG_SUFFIX) ??
        parseOffsetFileName(other, INDEX_SUFFIX) ??
        parseOffsetFileName(other, TIME_INDEX_SUFFIX) ??
        parseOffsetFileName(other, TXN_INDEX_SUFFIX);
      if (offset !== null && offset >= base && offset < end) await fsp.rm(path.join(dir, other), { force: true });
    }
    await fsp.rename(path.join(dir, name), offsetFilePath(dir, base, LOG_SUFFIX));
    logger.warn({ dir, baseOffset: base, endOffset: end }, 'completed a log cleaner swap interrupted by a crash');
    changed = true;
  }
  if (changed) await fsyncDir(dir);
}
