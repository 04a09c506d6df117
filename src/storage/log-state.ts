// The state the parts of one partition log share: the segment list, the four offsets that
// describe it, the producer state and the leader epochs. PartitionLog (the façade) owns it; the
// write pipeline (log-writer.ts) and start-offset/retention (log-retention.ts) work on it.
//
// Offsets, in order (each ≤ the next):
//   startOffset       the log start: reads below it are OFFSET_OUT_OF_RANGE.
//   highWatermark     readers (consumers, coordinators replaying) never see data at or above it.
//   durableEnd        below it the data is in the file, fsynced when the flush policy asked: the
//                     local write acknowledged it. A single-node leader keeps highWatermark here.
//   nextOffset        the log end offset (LEO): the next offset to assign. Appends between
//                     durableEnd and nextOffset are assigned but not yet written.
import type { Logger } from 'pino';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { LeaderEpochCache } from './leader-epoch-cache.js';
import type { LogConfig } from './log-config.js';
import type { LogIo } from './log-io.js';
import type { LogSegment } from './log-segment.js';
import { ProducerStateManager } from './producer-state.js';
import type { Clock } from '../common/clock.js';

export class LogState {
  segments: LogSegment[] = [];
  nextOffset = 0;
  durableEnd = 0;
  highWatermark = 0;
  startOffset = 0;
  config: LogConfig;
  closed = false;
  /** A truncation is under way: appends and segment swaps are refused. */
  truncating = false;
  /**
   * The log of a new partition whose directory and first segment file do not exist yet: they
   * are created on its first write (LogWriter.createFiles, off the event loop). Closing it writes nothing.
   */
  filesPending = false;
  /**
   * Opened after a clean shutdown and not changed since: the active segment's index files and
   * the producer snapshot at the log end, as the last close wrote them, still describe it, so
   * closing it again writes nothing (LogWriter.touch ends this before the first change).
   */
  untouched = false;
  /** Bumped whenever the cleaner swaps segments: a read that failed across a swap is retried. */
  swaps = 0;
  readonly producers = new ProducerStateManager();
  epochs!: LeaderEpochCache;

  constructor(
    readonly dir: string,
    config: LogConfig,
    readonly logger: Logger,
    readonly io: LogIo,
    readonly clock: Clock,
  ) {
    this.config = { ...config };
  }

  get activeSegment(): LogSegment {
    return this.segments[this.segments.length - 1]!;
  }

  /** Throws KAFKA_STORAGE_ERROR when the log is closed. */
  checkOpen(): void {
    if (this.closed) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.dir} is closed`);
  }
}

/** Index of the last segment whose base offset is ≤ `offset` (0 if none). */
export function segmentIndexFor(segments: readonly LogSegment[], offset: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (segments[mid]!.baseOffset <= offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** A KafkaError as is; anything else as KAFKA_STORAGE_ERROR saying what failed. */
export function storageError(err: unknown, what: string): KafkaError {
  if (err instanceof KafkaError) return err;
  const reason = err instanceof Error ? err.message : String(err);
  return new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${what}: ${reason}`);
}
