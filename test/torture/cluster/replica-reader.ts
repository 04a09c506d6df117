// Reads one replica of a partition straight from a (stopped) broker's log directory: its segment
// files in offset order, decoded by the torture's own batch decoder (../log-reader.ts, which checks
// CRCs itself), so the final check does not trust the broker that wrote the data.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeBatches, type ReadBatch } from '../log-reader.js';

export interface ReplicaBatch extends ReadBatch {
  /** The whole batch as it is on disk. */
  bytes: Buffer;
}

export interface Replica {
  /** False when the broker has no directory for the partition. */
  exists: boolean;
  /** The first offset on disk (the base offset of the first batch), or null when empty. */
  startOffset: number | null;
  /** The offset after the last batch on disk (the log end offset), 0 when empty. */
  endOffset: number;
  batches: ReplicaBatch[];
}

/** Segment files of a partition directory, by base offset. */
function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
}

export function readReplica(logDir: string, topic: string, partition: number): Replica {
  const dir = join(logDir, `${topic}-${partition}`);
  if (!existsSync(dir)) return { exists: false, startOffset: null, endOffset: 0, batches: [] };
  const batches: ReplicaBatch[] = [];
  for (const file of segmentFiles(dir)) {
    const data = readFileSync(join(dir, file));
    const decoded = decodeBatches(data);
    let pos = 0;
    for (const b of decoded.list) {
      const length = data.readInt32BE(pos + 8);
      batches.push({ ...b, bytes: data.subarray(pos, pos + 12 + length) });
      pos += 12 + length;
    }
    if (pos !== data.length) throw new Error(`${dir}/${file}: ${data.length - pos} bytes after the last whole batch (a stopped broker leaves none)`);
  }
  const last = batches.at(-1);
  return { exists: true, startOffset: batches[0]?.baseOffset ?? null, endOffset: last ? last.nextOffset : 0, batches };
}

/** The batches of a replica below `offset` (a batch reaching past it is left out and reported). */
export function prefixBelow(replica: Replica, offset: number): { batches: ReplicaBatch[]; straddling: ReplicaBatch | null } {
  const batches: ReplicaBatch[] = [];
  for (const b of replica.batches) {
    if (b.nextOffset <= offset) batches.push(b);
    else return { batches, straddling: b.baseOffset < offset ? b : null };
  }
  return { batches, straddling: null };
}
