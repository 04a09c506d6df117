// Whole-file replacement that survives crashes: write a temporary file, fsync it, rename it
// over the target, fsync the directory.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** The suffix of a file being written before its atomic rename. */
export const TMP_SUFFIX = '.tmp';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export async function writeFileAtomic(file: string, data: Buffer | string, options: { syncDir?: boolean } = {}): Promise<void> {
  const tmp = file + TMP_SUFFIX;
  const handle = await fsp.open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, file);
  if (options.syncDir ?? true) await fsyncDir(path.dirname(file));
}

/**
 * `sync: false` keeps the atomic rename (a reader sees the old or the new file, never a torn
 * one) but leaves both to the page cache: for files whose loss in a power failure is repaired
 * at the next open.
 */
export function writeFileAtomicSync(file: string, data: Buffer | string, options: { syncDir?: boolean; sync?: boolean } = {}): void {
  const sync = options.sync ?? true;
  const tmp = file + TMP_SUFFIX;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeFileSync(fd, data);
    if (sync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (sync && (options.syncDir ?? true)) fsyncDirSync(path.dirname(file));
}
