// The log start offset of one partition log and everything that moves it: the checkpoint
// applied at open, retention (retention.ms, retention.bytes) and DeleteRecords. Start moves and
// segment deletions are serialized with each other and with the cleaner's swaps (`serialized`).
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { crashPoint } from '../common/crash-points.js';
import { LogSegment } from './log-segment.js';
import { LogState, storageError } from './log-state.js';
import type { LogWriter } from './log-writer.js';

/** What one retention pass did to a log. */
export interface RetentionResult {
  deletedSegments: number;
  deletedBytes: number;
  logStartOffset: number;
}

export class LogRetention {
  /** Serializes log start moves and segment deletions (retention, DeleteRecords, cleaner swaps). */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly state: LogState,
    private readonly writer: LogWriter,
    /** Persists a new log start offset before it is used; null keeps it in memory only. */
    private readonly persistStart: ((offset: number) => Promise<void>) | null,
  ) {}

  /** Resolves once every start move, deletion or swap queued so far is done. */
  get idle(): Promise<unknown> {
    return this.chain;
  }

  /** Runs `task` after every earlier start move, deletion or swap of this log. */
  serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task, task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * At open: the log start is the checkpointed one or the first segment's base, whichever is
   * larger. Segments wholly below it (a crash between the checkpoint and their deletion) are
   * deleted; if recovery left the log end below it, the log restarts empty at the start offset,
   * so offsets that were deleted never come back.
   */
  async applyCheckpointedStart(checkpointed: number): Promise<void> {
    const s = this.state;
    s.startOffset = Math.max(checkpointed, s.segments[0]!.baseOffset);
    const victims: LogSegment[] = [];
    while (s.segments.length > 1 && s.segments[1]!.baseOffset <= s.startOffset) victims.push(s.segments.shift()!);
    const last = s.activeSegment;
    if (last.nextOffset < s.startOffset) {
      s.logger.warn({ dir: s.dir, logStartOffset: s.startOffset, logEndOffset: last.nextOffset }, 'the log ends below its checkpointed start offset; it restarts empty there');
      victims.push(last);
      s.segments = [LogSegment.create(s.dir, s.startOffset, s.config, s.io)];
      this.writer.needsDirSync = true;
    }
    for (const victim of victims) await victim.deleteAsync();
    if (victims.length > 0) {
      s.logger.info({ dir: s.dir, logStartOffset: s.startOffset, segments: victims.length }, 'deleted segments below the log start offset');
    }
  }

  /** Persists a new log start offset, then makes it visible. Never moves it backwards. */
  async advanceStartOffset(offset: number): Promise<void> {
    const s = this.state;
    if (offset <= s.startOffset) return;
    try {
      if (this.persistStart) await this.persistStart(offset);
    } catch (err) {
      throw storageError(err, `cannot checkpoint the log start offset of ${s.dir}`);
    }
    if (offset <= s.startOffset) return;
    s.startOffset = offset;
    s.epochs.truncateFromStart(offset);
  }

  /** Whether a segment may go: sealed (fsynced, indexes written) and wholly below the high watermark. */
  private deletable(segment: LogSegment, next: LogSegment | undefined): boolean {
    const s = this.state;
    if (next) return segment.state === 'sealed' && next.baseOffset <= s.highWatermark;
    // The active segment, only when rolling it loses nothing in flight.
    return !segment.isEmpty && s.highWatermark === s.nextOffset && !this.writer.inFlight;
  }

  /**
   * How many segments, oldest first, are past retention: first by time (largest timestamp
   * older than retention.ms), then by size (while what remains is at least retention.bytes).
   * Both stop at the first segment that does not qualify, as Kafka's do.
   */
  private countExpired(now: number): number {
    const segments = this.state.segments;
    const { retentionMs, retentionBytes } = this.state.config;
    let count = 0;
    const ok = (i: number) => this.deletable(segments[i]!, segments[i + 1]);
    if (retentionMs >= 0) {
      while (count < segments.length && ok(count) && now - segments[count]!.largestTimestamp > retentionMs) count++;
    }
    if (retentionBytes >= 0) {
      let excess = -retentionBytes;
      for (let i = count; i < segments.length; i++) excess += segments[i]!.size;
      while (count < segments.length && ok(count) && excess - segments[count]!.size >= 0) {
        excess -= segments[count]!.size;
        count++;
      }
    }
    return count;
  }

  /**
   * One retention pass (the log manager runs it every log.retention.check.interval.ms): with
   * cleanup.policy `delete`, removes the segments past retention.ms / retention.bytes; for every
   * policy, removes segments wholly below the log start offset. When the whole log has expired
   * the active segment is rolled first, so the log empties out with start = end.
   */
  applyRetention(now: number): Promise<RetentionResult> {
    const s = this.state;
    return this.serialized(async () => {
      const result: RetentionResult = { deletedSegments: 0, deletedBytes: 0, logStartOffset: s.startOffset };
      if (s.closed || s.truncating) return result;
      // Only sealed segments are deleted: let rolled ones finish sealing first.
      await this.writer.background;
      if (s.closed) return result;
      if (s.config.cleanupPolicy.includes('delete')) {
        let count = this.countExpired(now);
        if (count === s.segments.length && count > 0) {
          this.writer.roll(s.nextOffset);
          this.writer.sealRolledSegments();
          await this.writer.background;
          if (s.closed) return result;
          count = Math.min(this.countExpired(now), s.segments.length - 1);
        }
        if (count > 0) await this.advanceStartOffset(s.segments[count]!.baseOffset);
      }
      const deleted = await this.deleteSegmentsBelowStart();
      result.deletedSegments = deleted.segments;
      result.deletedBytes = deleted.bytes;
      result.logStartOffset = s.startOffset;
      if (deleted.segments > 0) {
        s.logger.info({ dir: s.dir, ...result }, 'retention deleted segments');
      }
      return result;
    });
  }

  /**
   * DeleteRecords: moves the log start offset to `offset` (-1 = the high watermark) and removes
   * the segments wholly below it. Returns the new log start offset (the low watermark).
   * OFFSET_OUT_OF_RANGE above the high watermark; POLICY_VIOLATION for compact-only topics.
   */
  deleteRecords(offset: number): Promise<number> {
    const s = this.state;
    if (s.closed) return Promise.reject(new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${s.dir} is closed`));
    if (!s.config.cleanupPolicy.includes('delete')) {
      return Promise.reject(new KafkaError(ErrorCode.POLICY_VIOLATION, `Records of partition ${s.dir} can not be deleted due to the configured policy`));
    }
    const hw = s.highWatermark;
    const target = offset === -1 ? hw : offset;
    if (target < 0 || target > hw) {
      return Promise.reject(new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `cannot delete below offset ${offset}: the high watermark of ${s.dir} is ${hw}`));
    }
    return this.serialized(async () => {
      s.checkOpen();
      await this.advanceStartOffset(target);
      await this.deleteSegmentsBelowStart();
      return s.startOffset;
    });
  }

  /**
   * A follower's log start follows its leader's (moved there by retention or DeleteRecords),
   * whatever the cleanup policy, never past this replica's own high watermark.
   */
  followStartOffset(offset: number): Promise<void> {
    const s = this.state;
    const target = Math.min(offset, s.highWatermark);
    if (target <= s.startOffset || s.closed) return Promise.resolve();
    return this.serialized(async () => {
      if (target <= s.startOffset || s.closed) return;
      await this.advanceStartOffset(target);
      await this.deleteSegmentsBelowStart();
    });
  }

  /** Deletes sealed segments whose successor starts at or below the log start offset. */
  private async deleteSegmentsBelowStart(): Promise<{ segments: number; bytes: number }> {
    const s = this.state;
    // Segments rolled just now are sealed in the background; deleting waits for that.
    if (s.segments.length > 1 && s.segments[1]!.baseOffset <= s.startOffset) await this.writer.background;
    const victims: LogSegment[] = [];
    for (let i = 0; i + 1 < s.segments.length; i++) {
      const segment = s.segments[i]!;
      if (s.segments[i + 1]!.baseOffset > s.startOffset || segment.state !== 'sealed') break;
      victims.push(segment);
    }
    if (victims.length === 0) return { segments: 0, bytes: 0 };
    crashPoint('retention');
    s.segments = s.segments.slice(victims.length);
    let bytes = 0;
    for (const victim of victims) bytes += victim.size;
    await Promise.all(
      victims.map((victim) =>
        victim.deleteAsync().catch((err: unknown) => {
          // Out of the log already; the next open removes what is left (it is below the start).
          s.logger.error({ err, segment: victim.logPath }, 'cannot delete segment files');
        }),
      ),
    );
    return { segments: victims.length, bytes };
  }
}
