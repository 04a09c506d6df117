// Moving a replica between the log directories of this broker while it keeps serving
// (AlterReplicaLogDirs, KIP-113). As Kafka's ReplicaAlterLogDirsThread: a future replica is
// created in the target directory and fed from the current log, batch by batch at the same
// offsets (the follower's append path, which rebuilds producer state, the aborted-transaction
// index and the leader-epoch cache); once it has caught up, writes to the partition pause for
// a moment, the last batches are copied, the façade switches to the copy, and LogDirs makes
// the switch durable and deletes the old replica. Reads never stop; a write arriving in the
// short pause answers NOT_LEADER_OR_FOLLOWER, which producers retry.
import type { Clock } from '../common/clock.js';
import type { Logger } from 'pino';
import { readInt64 } from '../protocol/records/int64.js';
import { BatchField } from '../protocol/records/record-batch.js';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { LogDirs } from '../storage/log-dirs.js';
import type { LogConfig, PartitionLog } from '../storage/partition-log.js';
import type { Partition } from './partition.js';

/** Bytes copied per step. */
const COPY_CHUNK_BYTES = 1024 * 1024;
/** How long a caught-up copy waits for new data before looking again. */
const IDLE_WAIT_MS = 100;
/** The longest the swap waits for reads of the old log to finish before closing it. */
const READ_DRAIN_MS = 5_000;

interface Move {
  partition: Partition;
  targetDir: string;
  cancelled: boolean;
  run: Promise<void>;
}

export interface LogDirMoverHost {
  clock: Clock;
  logs: LogDirs;
  logger: Logger;
  /** The partition as hosted now (undefined once deleted or moved off this broker). */
  partition(topic: string, index: number): Partition | undefined;
  logConfig(topic: string): LogConfig | undefined;
  /** replica.alter.log.dirs.io.max.bytes.per.second: the copying rate of all moves together. */
  maxBytesPerSecond(): number;
}

export class LogDirMover {
  private readonly moves = new Map<string, Move>();
  private stopped = false;
  /** The throttle's one-second window: when it started and the bytes copied in it (all moves). */
  private window = { startMs: 0, bytes: 0 };

  constructor(private readonly host: LogDirMoverHost) {}

  private static key(topic: string, index: number): string {
    return `${topic}-${index}`;
  }

  /** The target directory of the move of a partition under way, if any. */
  targetOf(topic: string, index: number): string | undefined {
    return this.moves.get(LogDirMover.key(topic, index))?.targetDir;
  }

  /**
   * Moves `p`'s replica to `targetDir` (one of log.dirs). A move of it to another directory is
   * cancelled first; asking for the directory it is in cancels any move and does nothing else.
   */
  async alter(p: Partition, targetDir: string): Promise<void> {
    const key = LogDirMover.key(p.topicName, p.index);
    const current = this.moves.get(key);
    if (current && current.targetDir === targetDir && current.partition === p) return;
    if (current) await this.cancel(key);
    if (this.stopped || this.host.logs.dirOf(p.topicName, p.index) === targetDir) return;
    const config = this.host.logConfig(p.topicName);
    if (!config) return;
    const move: Move = { partition: p, targetDir, cancelled: false, run: Promise.resolve() };
    this.moves.set(key, move);
    // The future replica (and its marker) is on disk before the request is answered, as in
    // Kafka: a crash after the answer runs the move again at the next start.
    let future: PartitionLog;
    let started!: () => void;
    move.run = new Promise<void>((resolve) => (started = resolve));
    try {
      this.host.logger.info(
        { topic: p.topicName, partition: p.index, from: this.host.logs.dirOf(p.topicName, p.index), to: targetDir },
        'moving a replica between log directories',
      );
      future = await this.start(move, config);
    } catch (err) {
      if (this.moves.get(key) === move) this.moves.delete(key);
      started();
      await this.host.logs.abortFuture(p.topicName, p.index).catch(() => undefined);
      throw err;
    }
    started();
    move.run = this.copy(move, config, future)
      .catch((err: unknown) => {
        if (this.live(move)) this.host.logger.error({ err, topic: p.topicName, partition: p.index, logDir: targetDir }, 'moving a replica between log directories failed');
        return this.host.logs.abortFuture(p.topicName, p.index).catch(() => undefined);
      })
      .finally(() => {
        if (this.moves.get(key) === move) this.moves.delete(key);
      });
  }

  /** Waits for the move of a partition (tests). */
  async settled(topic: string, index: number): Promise<void> {
    await this.moves.get(LogDirMover.key(topic, index))?.run;
  }

  private async cancel(key: string): Promise<void> {
    const move = this.moves.get(key);
    if (!move) return;
    move.cancelled = true;
    await move.run;
  }

  /** Stops every move; their future replicas stay on disk and the next start runs them again. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const m of this.moves.values()) m.cancelled = true;
    await Promise.all([...this.moves.values()].map((m) => m.run));
  }

  private live(move: Move): boolean {
    const p = move.partition;
    return !move.cancelled && !this.stopped && p.offlineReason === null && this.host.partition(p.topicName, p.index) === p;
  }

  private async copy(move: Move, config: LogConfig, first: PartitionLog): Promise<void> {
    const p = move.partition;
    const { topic, index } = { topic: p.topicName, index: p.index };
    let future = first;
    let truncations = p.truncations;
    for (;;) {
      if (!this.live(move)) {
        if (!this.stopped) await this.host.logs.abortFuture(topic, index);
        return;
      }
      if (p.truncations !== truncations) {
        // The replica cut its tail (a follower diverged): the copy may hold batches it no longer has.
        truncations = p.truncations;
        future = await this.start(move, config);
        continue;
      }
      const source = p.log;
      if (future.logEndOffset >= source.durableEndOffset) {
        // False: something moved under the swap; copy what is new (or start again), then retry.
        if (await this.trySwap(move, future, truncations)) return;
        continue;
      }
      const copied = await this.copyStep(source, future, this.chunkBytes());
      if (copied < 0) future = await this.start(move, config);
      else await this.throttle(copied);
    }
  }

  /** A fresh future replica, starting where the source's first batch does. */
  private async start(move: Move, config: LogConfig): Promise<PartitionLog> {
    const p = move.partition;
    const future = await this.host.logs.createFuture(p.topicName, p.index, move.targetDir, config);
    const source = p.log;
    const first = await source.readForReplica(source.logStartOffset, 1, true);
    const base = first.records ? readInt64(first.records, BatchField.baseOffset) : source.logStartOffset;
    if (base > 0) await future.truncateFullyAndStartAt(base);
    return future;
  }

  private chunkBytes(): number {
    return Math.max(1, Math.min(COPY_CHUNK_BYTES, this.host.maxBytesPerSecond()));
  }

  /** Waits as long as the copying rate limit asks after `bytes` more were copied (all moves share it). */
  private async throttle(bytes: number): Promise<void> {
    const rate = this.host.maxBytesPerSecond();
    const now = this.host.clock.monotonicMs();
    if (now - this.window.startMs >= 1000) this.window = { startMs: now, bytes: 0 };
    this.window.bytes += bytes;
    if (rate <= 0 || rate >= Number.MAX_SAFE_INTEGER) {
      await new Promise((resolve) => setImmediate(resolve));
      return;
    }
    const due = this.window.startMs + (this.window.bytes / rate) * 1000;
    if (due > now) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, due - now)));
    else await new Promise((resolve) => setImmediate(resolve));
  }

  /** Copies the next chunk; the bytes copied, or -1 when the source no longer has what the copy needs next. */
  private async copyStep(source: PartitionLog, future: PartitionLog, maxBytes = COPY_CHUNK_BYTES): Promise<number> {
    let records: Buffer | null;
    try {
      records = (await source.readForReplica(future.logEndOffset, maxBytes, true)).records;
    } catch (err) {
      if (err instanceof KafkaError && err.code === ErrorCode.OFFSET_OUT_OF_RANGE) return -1;
      throw err;
    }
    if (!records) return 0;
    await future.appendAsFollower(records).done;
    return records.length;
  }

  /**
   * Writes pause; the copy takes the last batches, the façade switches to it, and the switch is
   * made durable. False (writes resume on the old log) if the source changed under it.
   */
  private async trySwap(move: Move, future: PartitionLog, truncations: number): Promise<boolean> {
    const p = move.partition;
    const source = p.log;
    // Let a caught-up copy wait a little for the next batch instead of spinning.
    if (future.logEndOffset >= source.logEndOffset && source.logEndOffset === source.durableEndOffset) {
      // nothing in flight: swap now
    } else if (future.logEndOffset >= source.durableEndOffset) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, IDLE_WAIT_MS);
        p.watch(() => {
          clearTimeout(t);
          resolve();
        }, 'log_end');
      });
      if (future.logEndOffset < source.durableEndOffset) return false;
    }
    p.pauseWrites(`${p.topicName}-${p.index} is moving to another log directory; retry`);
    let swapped = false;
    try {
      await source.flush();
      while (future.logEndOffset < source.logEndOffset) {
        if (!this.live(move) || p.truncations !== truncations) return false;
        if ((await this.copyStep(source, future)) < 0) return false;
      }
      if (!this.live(move) || p.truncations !== truncations || future.logEndOffset !== source.logEndOffset) return false;
      // An epoch this replica started with no batch yet (a new leader's) is not in the batches.
      if (source.latestEpoch > future.latestEpoch) future.assignEpoch(source.latestEpoch, source.logEndOffset);
      if (source.logStartOffset > future.logStartOffset) await future.followLeaderLogStart(source.logStartOffset);
      await future.flush();
      p.swapLog(future);
      swapped = true;
      const deadline = this.host.clock.monotonicMs() + READ_DRAIN_MS;
      while (p.readsOn(source) > 0 && this.host.clock.monotonicMs() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
      await this.host.logs.commitFuture(p.topicName, p.index, source);
      this.host.logger.info({ topic: p.topicName, partition: p.index, logDir: move.targetDir, logEndOffset: future.logEndOffset }, 'replica moved to another log directory');
      return true;
    } catch (err) {
      if (swapped) {
        // Serving from the copy already, but on disk the old replica may still be the replica:
        // nothing more is served from here (the next start keeps one of the two).
        this.host.logger.error({ err, topic: p.topicName, partition: p.index }, 'the switch to the moved replica did not complete');
        p.markOffline(`the move of ${p.topicName}-${p.index} to another log directory failed: ${(err as Error).message}`);
        return true;
      }
      throw err;
    } finally {
      p.resumeWrites();
    }
  }
}
