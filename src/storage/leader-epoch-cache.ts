// Which leader epoch started at which offset, for OffsetForLeaderEpoch and log truncation.
// Persisted as the text file `leader-epoch-checkpoint`: a version line, an entry count, then
// one "epoch startOffset" line per entry; always replaced atomically.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { fsyncDir, TMP_SUFFIX, writeFileAtomicSync } from '../common/atomic-file.js';
import { LEADER_EPOCH_CHECKPOINT } from './file-names.js';

export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;
const CHECKPOINT_VERSION = 0;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

export interface EpochEndOffset {
  leaderEpoch: number;
  endOffset: number;
}

export class LeaderEpochCache {
  /** The checkpoint file holds assignments that were written without an fsync. */
  private unsynced = false;
  /**
   * The log's directory does not exist yet (a new partition whose files are created on its
   * first write): checkpoint writes wait in memory until materialize().
   */
  private deferred = false;
  /** A write waited while deferred. */
  private pendingWrite = false;

  private constructor(
    private readonly file: string,
    private epochs: EpochEntry[],
    private readonly logger: Logger,
  ) {}

  /** Reads the checkpoint in `dir` (unless `exists` is false); a missing or unreadable file yields an empty cache. */
  static load(dir: string, logger: Logger, exists = true): LeaderEpochCache {
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT);
    if (!exists) return new LeaderEpochCache(file, [], logger);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ err, file }, 'cannot read leader epoch checkpoint');
      return new LeaderEpochCache(file, [], logger);
    }
    const epochs = parseCheckpoint(text);
    if (epochs === null) {
      logger.warn({ file }, 'ignoring malformed leader epoch checkpoint');
      return new LeaderEpochCache(file, [], logger);
    }
    return new LeaderEpochCache(file, epochs, logger);
  }

  /** Holds checkpoint writes in memory until materialize() (the directory is not there yet). */
  defer(): void {
    this.deferred = true;
  }

  /**
   * The directory exists now: a write that waited is done, off the event loop (without an
   * fsync: made durable with the log's next fsync, as an 'unsynced' assignment). Assignments
   * made meanwhile wait too and are written after it. `check` runs after every write and may
   * throw to give up (the log is going away). On failure the write is still pending, the cache
   * stays deferred, and KAFKA_STORAGE_ERROR is thrown.
   */
  async materialize(check: () => void = () => {}): Promise<void> {
    if (!this.deferred) return;
    let wrote = false;
    try {
      while (this.pendingWrite) {
        this.pendingWrite = false;
        wrote = true;
        await writeUnsynced(this.file, this.serialize(this.epochs));
        check();
      }
    } catch (err) {
      if (wrote) this.pendingWrite = true;
      if (err instanceof KafkaError) throw err;
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `cannot write ${this.file}: ${(err as Error).message}`);
    }
    if (wrote) this.unsynced = true;
    this.deferred = false;
  }

  get entries(): readonly EpochEntry[] {
    return this.epochs;
  }

  /** The newest epoch, or UNDEFINED_EPOCH (-1) when none is known. */
  get latestEpoch(): number {
    return this.epochs.at(-1)?.epoch ?? UNDEFINED_EPOCH;
  }

  /**
   * Records that `epoch` starts at `startOffset`. Ignored unless the epoch is newer than the
   * latest. Entries starting at or after `startOffset` are superseded. With `persist` (default)
   * the checkpoint is rewritten (and fsynced, unless 'unsynced': then syncIfNeeded makes it
   * durable with the log's next fsync) before the change becomes visible; an I/O failure throws
   * KAFKA_STORAGE_ERROR and leaves the cache unchanged.
   */
  assign(epoch: number, startOffset: number, persist: boolean | 'unsynced' = true): boolean {
    if (epoch < 0 || epoch <= this.latestEpoch) return false;
    const updated = this.epochs.filter((e) => e.startOffset < startOffset);
    updated.push({ epoch, startOffset });
    if (persist) this.write(updated, persist === true);
    if (persist === 'unsynced') this.unsynced = true;
    this.epochs = updated;
    return true;
  }

  /**
   * fsyncs the checkpoint (and its directory) if assignments were written without it. The log
   * calls this whenever it fsyncs its data, before that data counts as flushed: the epochs are
   * then exactly as durable as the batches they describe, which carry their epoch anyway (a
   * recovery that rescans them assigns it again). Kafka stopped fsyncing on assignment for the
   * same reason (KAFKA-15046): two synchronous fsyncs per new epoch stalled every partition.
   */
  async syncIfNeeded(options: { syncDir?: boolean } = {}): Promise<void> {
    if (!this.unsynced || this.deferred) return;
    // Cleared first: an assignment during the fsync (a newer file, renamed over) sets it again.
    this.unsynced = false;
    try {
      const handle = await fsp.open(this.file, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (options.syncDir ?? true) await fsyncDir(path.dirname(this.file));
    } catch (err) {
      this.unsynced = true;
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `cannot fsync ${this.file}: ${(err as Error).message}`);
    }
  }

  /**
   * OffsetForLeaderEpoch: for the latest epoch, the log end offset; for an older epoch, the
   * start offset of the first newer epoch, reported with the largest known epoch ≤ the requested
   * one (or the requested epoch itself if it predates every known epoch). Unknown newer epochs
   * and UNDEFINED_EPOCH give (-1, -1).
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const undefinedResult = { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH || this.epochs.length === 0) return undefinedResult;
    if (requestedEpoch === this.latestEpoch) return { leaderEpoch: requestedEpoch, endOffset: logEndOffset };
    const higher = this.epochs.findIndex((e) => e.epoch > requestedEpoch);
    if (higher < 0) return undefinedResult;
    if (higher === 0) return { leaderEpoch: requestedEpoch, endOffset: this.epochs[0]!.startOffset };
    return { leaderEpoch: this.epochs[higher - 1]!.epoch, endOffset: this.epochs[higher]!.startOffset };
  }

  /** The epoch in force at `offset`, or UNDEFINED_EPOCH. */
  epochForOffset(offset: number): number {
    let epoch = UNDEFINED_EPOCH;
    for (const entry of this.epochs) {
      if (entry.startOffset > offset) break;
      epoch = entry.epoch;
    }
    return epoch;
  }

  /** Drops the entries that start at or after `endOffset` (the log was truncated there). */
  truncateFromEnd(endOffset: number, persist = true): void {
    const kept = this.epochs.filter((e) => e.startOffset < endOffset);
    if (kept.length === this.epochs.length) return;
    this.epochs = kept;
    if (persist) this.persistQuietly();
  }

  /** Forgets epochs wholly below `startOffset` (the log start moved), keeping the one in force there. */
  truncateFromStart(startOffset: number, persist = true): void {
    let firstKept = 0;
    while (firstKept + 1 < this.epochs.length && this.epochs[firstKept + 1]!.startOffset <= startOffset) firstKept++;
    const kept = this.epochs.slice(firstKept).map((e) => ({ ...e }));
    if (kept.length > 0 && kept[0]!.startOffset < startOffset) kept[0]!.startOffset = startOffset;
    // Every open calls this: rewriting an unchanged checkpoint would cost two fsyncs per partition.
    if (kept.length === this.epochs.length && kept.every((e, i) => e.startOffset === this.epochs[i]!.startOffset)) return;
    this.epochs = kept;
    if (persist) this.persistQuietly();
  }

  /** Rewrites the checkpoint; throws KAFKA_STORAGE_ERROR on failure. */
  persist(): void {
    this.write(this.epochs);
  }

  private persistQuietly(): void {
    try {
      this.write(this.epochs);
    } catch (err) {
      this.logger.error({ err, file: this.file }, 'cannot write leader epoch checkpoint');
    }
  }

  private serialize(epochs: EpochEntry[]): string {
    return [String(CHECKPOINT_VERSION), String(epochs.length), ...epochs.map((e) => `${e.epoch} ${e.startOffset}`)].join('\n') + '\n';
  }

  private write(epochs: EpochEntry[], sync = true): void {
    if (this.deferred) {
      this.pendingWrite = true;
      return;
    }
    try {
      writeFileAtomicSync(this.file, this.serialize(epochs), { sync });
    } catch (err) {
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `cannot write ${this.file}: ${(err as Error).message}`);
    }
  }
}

/** Replaces `file` atomically (tmp + rename) without an fsync, asynchronously. */
async function writeUnsynced(file: string, text: string): Promise<void> {
  const tmp = file + TMP_SUFFIX;
  await fsp.writeFile(tmp, text);
  await fsp.rename(tmp, file);
}

function parseCheckpoint(text: string): EpochEntry[] | null {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length < 2 || Number(lines[0]) !== CHECKPOINT_VERSION) return null;
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count < 0 || lines.length !== count + 2) return null;
  const epochs: EpochEntry[] = [];
  for (const line of lines.slice(2)) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 2) return null;
    const epoch = Number(parts[0]);
    const startOffset = Number(parts[1]);
    if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(startOffset) || epoch < 0 || startOffset < 0) return null;
    const previous = epochs.at(-1);
    if (previous && (epoch <= previous.epoch || startOffset < previous.startOffset)) return null;
    epochs.push({ epoch, startOffset });
  }
  return epochs;
}
