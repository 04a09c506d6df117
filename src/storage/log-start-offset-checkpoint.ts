// The log start offsets of every partition of a log directory, in `log-start-offset-checkpoint`:
// a version line (0), an entry count, then one `topic partition offset` line per partition.
// Replaced atomically (tmp, fsync, rename, fsync dir) whenever a log start offset moves.
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomic } from '../common/atomic-file.js';
import { LOG_START_OFFSET_CHECKPOINT } from './file-names.js';

const VERSION = 0;

/** Keyed by partition directory name (`<topic>-<partition>`). */
export type StartOffsets = Map<string, { topic: string; partition: number; offset: number }>;

export function formatStartOffsets(entries: StartOffsets): string {
  const lines = [String(VERSION), String(entries.size)];
  for (const e of entries.values()) lines.push(`${e.topic} ${e.partition} ${e.offset}`);
  return lines.join('\n') + '\n';
}

/** Null when the text is not a well-formed checkpoint. */
export function parseStartOffsets(text: string): StartOffsets | null {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length < 2 || lines[0]!.trim() !== String(VERSION)) return null;
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count < 0 || lines.length !== count + 2) return null;
  const out: StartOffsets = new Map();
  for (const line of lines.slice(2)) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3) return null;
    const [topic, p, o] = parts as [string, string, string];
    const partition = Number(p);
    const offset = Number(o);
    if (!Number.isSafeInteger(partition) || partition < 0 || !Number.isSafeInteger(offset) || offset < 0) return null;
    out.set(`${topic}-${partition}`, { topic, partition, offset });
  }
  return out;
}

/** Reads the checkpoint of `logDir`; missing means empty, malformed is logged and ignored. */
export function readStartOffsets(logDir: string, logger: Logger): Promise<StartOffsets> {
  return readOffsetCheckpoint(path.join(logDir, LOG_START_OFFSET_CHECKPOINT), logger);
}

/** Reads any checkpoint file of this format (the cleaner's uses it too). */
export async function readOffsetCheckpoint(file: string, logger: Logger): Promise<StartOffsets> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ err, file }, 'cannot read an offset checkpoint');
    return new Map();
  }
  const parsed = parseStartOffsets(text);
  if (!parsed) {
    logger.warn({ file }, 'ignoring a malformed offset checkpoint');
    return new Map();
  }
  return parsed;
}

export function writeStartOffsets(logDir: string, entries: StartOffsets): Promise<void> {
  return writeFileAtomic(path.join(logDir, LOG_START_OFFSET_CHECKPOINT), formatStartOffsets(entries));
}
