// All partition logs of one log directory: opening them with the right recovery mode, the
// clean-shutdown marker, the log start offset checkpoint, the periodic flusher for flush.ms and
// the retention task.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { fsyncDir, writeFileAtomic } from '../common/atomic-file.js';
import type { LogConfig } from './log-config.js';
import type { LogIo } from './log-io.js';
import { CLEANER_OFFSET_CHECKPOINT, cleanableState, cleanLog, CleanResult, offsetMapCapacity } from './log-cleaner.js';
import { formatStartOffsets, readOffsetCheckpoint, readStartOffsets, StartOffsets, writeStartOffsets } from './log-start-offset-checkpoint.js';
import { PartitionLog } from './partition-log.js';
import { systemClock, type Clock } from '../common/clock.js';

/** Present in the log directory only between a clean close and the next open. */
export const CLEAN_SHUTDOWN_MARKER = '.kafka_cleanshutdown';

/** Logs whose retention runs at the same time. */
const RETENTION_CONCURRENCY = 16;
/** Logs closed at the same time. */
const CLOSE_CONCURRENCY = 64;

export interface LogManagerOptions {
  logger: Logger;
  /** How often logs are checked against their flush.ms (default 1000 ms). */
  flushCheckIntervalMs?: number;
  /** log.retention.check.interval.ms: how often retention runs (default 300000 ms; 0 = never, tests call runRetention). */
  retentionCheckIntervalMs?: number;
  /** log.cleaner.enable: run the log cleaner on compacted logs (default true). */
  cleanerEnabled?: boolean;
  /** log.cleaner.backoff.ms: how often the cleaner looks for work (default 15000 ms; 0 = never, tests call runCleaner). */
  cleanerBackoffMs?: number;
  /** log.cleaner.dedupe.buffer.size: memory budget of the offset map (default 128 MiB). */
  cleanerDedupeBufferSize?: number;
  /** producer.id.expiration.ms (default 86400000). */
  producerIdExpirationMs?: number;
  /** producer.id.expiration.check.interval.ms (default 600000; 0 = never). */
  producerIdExpirationCheckIntervalMs?: number;
  /** Passed to every PartitionLog (tests). */
  io?: LogIo;
  /** The clock of every PartitionLog and of the retention, cleaner and flush schedules (default: the system's). */
  clock?: Clock;
}

export interface TopicPartitionDir {
  topic: string;
  partition: number;
  dir: string;
}

export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** Splits `<topic>-<partition>` at the last dash; null for names that are not partition dirs. */
export function parsePartitionDirName(name: string): { topic: string; partition: number } | null {
  const match = /^(.+)-(\d+)$/.exec(name);
  if (!match) return null;
  const partition = Number(match[2]);
  return Number.isSafeInteger(partition) ? { topic: match[1]!, partition } : null;
}

export class LogManager {
  private readonly logs = new Map<string, Promise<PartitionLog>>();
  private readonly opened = new Map<string, PartitionLog>();
  private flushTimer: NodeJS.Timeout | null = null;
  private flushing = false;
  private retentionTimer: NodeJS.Timeout | null = null;
  private producerExpiryTimer: NodeJS.Timeout | null = null;
  private retentionRun: Promise<number> | null = null;
  private closed = false;
  /** Set once close() has closed every log: from then on nothing may write a checkpoint. */
  private logsClosed = false;
  private cleanerTimer: NodeJS.Timeout | null = null;
  private cleanerRun: Promise<CleanResult[]> | null = null;
  /** Cleaner checkpoints (first dirty offset) by partition directory. */
  private cleanerOffsets: StartOffsets = new Map();
  private cleanerCheckpointChain: Promise<void> = Promise.resolve();
  /** Earliest delete horizon of the tombstones each log kept at its last clean (in memory only). */
  private readonly tombstoneHorizons = new Map<string, number>();
  /** The checkpoint write that has not started yet; later moves join it. */
  private checkpointQueued: Promise<void> | null = null;
  private checkpointChain: Promise<void> = Promise.resolve();

  private constructor(
    readonly logDir: string,
    /** Whether the previous process closed this directory cleanly. */
    readonly hadCleanShutdown: boolean,
    private readonly opts: LogManagerOptions,
    /** Log start offsets by partition directory, as last checkpointed (or about to be). */
    private readonly startOffsets: StartOffsets,
  ) {}

  private get clock(): Clock {
    return this.opts.clock ?? systemClock;
  }

  /** Opens the log directory; consumes the clean-shutdown marker left by the last close. */
  static async open(logDir: string, opts: LogManagerOptions): Promise<LogManager> {
    await fsp.mkdir(logDir, { recursive: true });
    const marker = path.join(logDir, CLEAN_SHUTDOWN_MARKER);
    const hadCleanShutdown = fs.existsSync(marker);
    if (hadCleanShutdown) {
      await fsp.rm(marker, { force: true });
      await fsyncDir(logDir);
    }
    // Recovery is of partition logs: a directory without any (a first start) has nothing to
    // recover, and saying it needs recovery would send a new user looking for a crash.
    const holdsLogs = hadCleanShutdown || (await fsp.readdir(logDir)).some((name) => parsePartitionDirName(name) !== null);
    const state = hadCleanShutdown ? 'log directory was shut down cleanly' : holdsLogs ? 'log directory needs recovery' : 'log directory holds no logs to recover';
    opts.logger.info({ logDir, hadCleanShutdown }, state);
    // Entries of partitions whose directory is gone (deleted topics) must not outlive them, or
    // a topic created again under the same name would start at the old offset.
    const startOffsets = await readStartOffsets(logDir, opts.logger);
    for (const key of [...startOffsets.keys()]) {
      if (!fs.existsSync(path.join(logDir, key))) startOffsets.delete(key);
    }
    const manager = new LogManager(logDir, hadCleanShutdown, opts, startOffsets);
    manager.cleanerOffsets = await readOffsetCheckpoint(path.join(logDir, CLEANER_OFFSET_CHECKPOINT), opts.logger);
    for (const key of [...manager.cleanerOffsets.keys()]) {
      if (!fs.existsSync(path.join(logDir, key))) manager.cleanerOffsets.delete(key);
    }
    const cleanerBackoff = opts.cleanerBackoffMs ?? 15_000;
    if ((opts.cleanerEnabled ?? true) && cleanerBackoff > 0) {
      manager.cleanerTimer = setInterval(() => void manager.runCleaner(), cleanerBackoff);
      manager.cleanerTimer.unref();
    }
    const interval = opts.flushCheckIntervalMs ?? 1000;
    manager.flushTimer = setInterval(() => manager.flushDueLogs(), interval);
    manager.flushTimer.unref();
    const producerExpiryInterval = opts.producerIdExpirationCheckIntervalMs ?? 600_000;
    if (producerExpiryInterval > 0) {
      manager.producerExpiryTimer = setInterval(() => manager.expireProducers(), producerExpiryInterval);
      manager.producerExpiryTimer.unref();
    }
    const retentionInterval = opts.retentionCheckIntervalMs ?? 300_000;
    if (retentionInterval > 0) {
      manager.retentionTimer = setInterval(() => void manager.runRetention(), retentionInterval);
      manager.retentionTimer.unref();
    }
    return manager;
  }

  private key(topic: string, partition: number): string {
    return partitionDirName(topic, partition);
  }

  /** Opens (or creates) a partition's log; returns the already open log if there is one. */
  openLog(topic: string, partition: number, config: LogConfig): Promise<PartitionLog> {
    if (this.closed) return Promise.reject(new Error('log manager is closed'));
    const key = this.key(topic, partition);
    let log = this.logs.get(key);
    if (!log) {
      const dir = path.join(this.logDir, key);
      log = PartitionLog.open(dir, config, {
        logger: this.opts.logger.child({ topic, partition }),
        hadCleanShutdown: this.hadCleanShutdown,
        io: this.opts.io,
        clock: this.opts.clock,
        logStartOffsetCheckpoint: this.startOffsets.get(key)?.offset ?? 0,
        persistLogStartOffset: (offset) => this.checkpointStartOffset(topic, partition, offset),
        deferCreation: true,
      });
      this.logs.set(key, log);
      log.then(
        (opened) => this.opened.set(key, opened),
        () => this.logs.delete(key),
      );
    }
    return log;
  }

  /**
   * Opens (creating) a partition's log in this directory without tracking it: no flush, retention
   * or cleaner passes and no checkpoint entries until install(). The future replica of a move
   * between log directories (LogDirs.createFuture).
   */
  openDetached(topic: string, partition: number, config: LogConfig): Promise<PartitionLog> {
    if (this.closed) return Promise.reject(new Error('log manager is closed'));
    const key = this.key(topic, partition);
    return PartitionLog.open(path.join(this.logDir, key), config, {
      logger: this.opts.logger.child({ topic, partition, future: true }),
      hadCleanShutdown: true,
      io: this.opts.io,
      clock: this.opts.clock,
      logStartOffsetCheckpoint: 0,
      persistLogStartOffset: (offset) => this.checkpointStartOffset(topic, partition, offset),
    });
  }

  /** Starts tracking a log opened by openDetached, as if openLog had opened it. */
  install(topic: string, partition: number, log: PartitionLog): void {
    const key = this.key(topic, partition);
    this.logs.set(key, Promise.resolve(log));
    this.opened.set(key, log);
  }

  /** Records a partition's new log start offset and resolves once a checkpoint holding it is on disk. */
  private checkpointStartOffset(topic: string, partition: number, offset: number): Promise<void> {
    // A retention pass that close() is waiting for may still move a start: its checkpoint is
    // written (close awaits the checkpoint chain), or the pass would fail and log an error.
    if (this.logsClosed) return Promise.reject(new Error('log manager is closed'));
    const key = this.key(topic, partition);
    // A log deleted meanwhile (topic deletion) must not leave an entry behind.
    if (!this.logs.has(key)) return Promise.resolve();
    const current = this.startOffsets.get(key);
    if (!current || current.offset < offset) this.startOffsets.set(key, { topic, partition, offset });
    return this.writeCheckpoint();
  }

  /** Writes the checkpoint once every earlier write is done; calls made before it starts share it. */
  private writeCheckpoint(): Promise<void> {
    if (this.checkpointQueued) return this.checkpointQueued;
    const write = this.checkpointChain.then(() => {
      this.checkpointQueued = null;
      return writeStartOffsets(this.logDir, new Map(this.startOffsets));
    });
    this.checkpointQueued = write;
    this.checkpointChain = write.catch((err: unknown) => {
      this.opts.logger.error({ err, logDir: this.logDir }, 'cannot write the log start offset checkpoint');
    });
    return write;
  }

  /** Forgets idle producers of every open log (producer.id.expiration.ms); returns how many. */
  expireProducers(now: number = this.clock.now()): number {
    const expirationMs = this.opts.producerIdExpirationMs ?? 86_400_000;
    let removed = 0;
    for (const log of this.opened.values()) removed += log.expireProducers(expirationMs, now);
    if (removed > 0) this.opts.logger.info({ producers: removed }, 'expired idle producer ids');
    return removed;
  }

  /**
   * One retention pass over every open log (see PartitionLog.applyRetention); resolves to the
   * number of segments deleted. A pass still running is joined, not doubled.
   */
  runRetention(): Promise<number> {
    if (this.retentionRun) return this.retentionRun;
    const now = this.clock.now();
    const run = (async () => {
      let deleted = 0;
      const logs = [...this.opened.values()];
      // A few logs at a time: their checkpoint writes coalesce, and the disk is not flooded.
      for (let i = 0; i < logs.length && !this.closed; i += RETENTION_CONCURRENCY) {
        await Promise.all(
          logs.slice(i, i + RETENTION_CONCURRENCY).map(async (log) => {
            try {
              const result = await log.applyRetention(now);
              deleted += result.deletedSegments;
            } catch (err) {
              this.opts.logger.error({ err, dir: log.dir }, 'retention failed');
            }
          }),
        );
      }
      return deleted;
    })();
    this.retentionRun = run;
    void run.finally(() => {
      this.retentionRun = null;
    });
    return run;
  }

  /** The cleaner checkpoint of a partition: offsets below it have been cleaned (0 if never). */
  cleanerCheckpoint(topic: string, partition: number): number {
    return this.cleanerOffsets.get(this.key(topic, partition))?.offset ?? 0;
  }

  /**
   * One cleaner round: cleans, one after the other, the compacted logs that need it, dirtiest
   * first — dirty ratio at least min.cleanable.dirty.ratio, or oldest dirty data past
   * max.compaction.lag.ms, or kept tombstones whose delete horizon has passed — until none is
   * left (each log at most `maxLogs` times). A round still running is joined, not doubled.
   */
  runCleaner(maxLogs = 16): Promise<CleanResult[]> {
    if (this.cleanerRun) return this.cleanerRun;
    const run = (async () => {
      const results: CleanResult[] = [];
      for (let i = 0; i < maxLogs && !this.closed; i++) {
        const picked = this.pickLogToClean();
        if (!picked) break;
        const { key, topic, partition, log } = picked;
        try {
          const result = await cleanLog(log, {
            checkpoint: this.cleanerCheckpoint(topic, partition),
            maxMapEntries: offsetMapCapacity(this.opts.cleanerDedupeBufferSize ?? 128 * 1024 * 1024),
            logger: this.opts.logger,
            shouldStop: () => this.closed || this.opened.get(key) !== log,
          });
          results.push(result);
          if (result.aborted) break;
          this.tombstoneHorizons.set(key, result.earliestTombstoneHorizon);
          if (this.opened.get(key) === log) {
            this.cleanerOffsets.set(key, { topic, partition, offset: result.cleanedTo });
            await this.writeCleanerCheckpoint();
          }
        } catch (err) {
          this.opts.logger.error({ err, dir: log.dir }, 'log cleaning failed');
          break;
        }
      }
      return results;
    })();
    this.cleanerRun = run;
    void run.finally(() => {
      this.cleanerRun = null;
    });
    return run;
  }

  private pickLogToClean(): { key: string; topic: string; partition: number; log: PartitionLog } | null {
    const now = this.clock.now();
    let best: { key: string; topic: string; partition: number; log: PartitionLog; score: number } | null = null;
    for (const [key, log] of this.opened) {
      const config = log.currentConfig;
      if (log.isClosed || !config.cleanupPolicy.includes('compact')) continue;
      const { topic, partition } = parsePartitionDirName(key)!;
      const state = cleanableState(log, this.cleanerCheckpoint(topic, partition), now);
      let score = -1;
      if (state.dirtyBytes > 0 && (state.dirtyRatio >= config.minCleanableDirtyRatio || state.overdue)) {
        score = state.overdue ? 2 + state.dirtyRatio : state.dirtyRatio;
      } else {
        const horizon = this.tombstoneHorizons.get(key) ?? -1;
        if (horizon >= 0 && horizon <= now && state.cleanBytes > 0) score = 0;
      }
      if (score >= 0 && (!best || score > best.score)) best = { key, topic, partition, log, score };
    }
    return best;
  }

  private writeCleanerCheckpoint(): Promise<void> {
    const text = formatStartOffsets(new Map(this.cleanerOffsets));
    const write = this.cleanerCheckpointChain.then(() => writeFileAtomic(path.join(this.logDir, CLEANER_OFFSET_CHECKPOINT), text));
    this.cleanerCheckpointChain = write.catch((err: unknown) => {
      this.opts.logger.error({ err, logDir: this.logDir }, 'cannot write the cleaner offset checkpoint');
    });
    return write;
  }

  /** The open log of a partition, if any. */
  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.opened.get(this.key(topic, partition));
  }

  /** Every open log. */
  allLogs(): Array<{ topic: string; partition: number; log: PartitionLog }> {
    return [...this.opened.entries()].map(([key, log]) => ({ ...parsePartitionDirName(key)!, log }));
  }

  /** Partition directories present on disk (open or not). */
  async partitionDirs(): Promise<TopicPartitionDir[]> {
    const entries = await fsp.readdir(this.logDir, { withFileTypes: true });
    const dirs: TopicPartitionDir[] = [];
    for (const entry of entries) {
      const parsed = entry.isDirectory() ? parsePartitionDirName(entry.name) : null;
      if (parsed) dirs.push({ ...parsed, dir: path.join(this.logDir, entry.name) });
    }
    return dirs;
  }

  /** Closes a partition's log and removes its directory (also when it was never opened). */
  async deleteLog(topic: string, partition: number): Promise<void> {
    const key = this.key(topic, partition);
    const pending = this.logs.get(key);
    this.logs.delete(key);
    this.opened.delete(key);
    const log = pending ? await pending.catch(() => null) : null;
    if (log) await log.delete();
    else await fsp.rm(path.join(this.logDir, key), { recursive: true, force: true });
    // After the directory is gone: a crash in between leaves an entry that the next open drops.
    if (this.startOffsets.delete(key) && !this.closed) await this.writeCheckpoint();
    this.tombstoneHorizons.delete(key);
    if (this.cleanerOffsets.delete(key) && !this.closed) await this.writeCleanerCheckpoint();
  }

  /** A partition's checkpoint entries here (log start offset, cleaner offset), to carry along when it moves. */
  checkpointEntries(topic: string, partition: number): { startOffset?: number; cleanerOffset?: number } {
    const key = this.key(topic, partition);
    return { startOffset: this.startOffsets.get(key)?.offset, cleanerOffset: this.cleanerOffsets.get(key)?.offset };
  }

  /** Takes in the checkpoint entries of a partition moving into this directory, written before its data arrives. */
  async adopt(topic: string, partition: number, entries: { startOffset?: number; cleanerOffset?: number }): Promise<void> {
    const key = this.key(topic, partition);
    if (entries.startOffset !== undefined) {
      this.startOffsets.set(key, { topic, partition, offset: entries.startOffset });
      await this.writeCheckpoint();
    }
    if (entries.cleanerOffset !== undefined) {
      this.cleanerOffsets.set(key, { topic, partition, offset: entries.cleanerOffset });
      await this.writeCleanerCheckpoint();
    }
  }

  /**
   * Stops tracking a partition that moved to another directory (its log closed, its directory
   * gone from here): drops it and its checkpoint entries without touching its files.
   */
  async forget(topic: string, partition: number): Promise<void> {
    const key = this.key(topic, partition);
    this.logs.delete(key);
    this.opened.delete(key);
    this.tombstoneHorizons.delete(key);
    if (this.startOffsets.delete(key) && !this.closed) await this.writeCheckpoint();
    if (this.cleanerOffsets.delete(key) && !this.closed) await this.writeCleanerCheckpoint();
  }

  private flushDueLogs(): void {
    if (this.flushing) return;
    this.flushing = true;
    const now = this.clock.now();
    void Promise.allSettled(
      [...this.opened.values()].map((log) => log.flushIfDue(now).catch((err: unknown) => this.opts.logger.error({ err, dir: log.dir }, 'periodic flush failed'))),
    ).finally(() => {
      this.flushing = false;
    });
  }

  /**
   * The directory failed (KIP-112): every log is dropped without writing anything more, the
   * periodic tasks stop, and no clean-shutdown marker is written. close() does nothing after.
   */
  async abandon(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.logsClosed = true;
    for (const t of [this.flushTimer, this.retentionTimer, this.producerExpiryTimer, this.cleanerTimer]) if (t) clearInterval(t);
    this.flushTimer = this.retentionTimer = this.producerExpiryTimer = this.cleanerTimer = null;
    const logs = await Promise.allSettled([...this.logs.values()]);
    this.logs.clear();
    this.opened.clear();
    await Promise.all(logs.flatMap((r) => (r.status === 'fulfilled' ? [r.value.abandon()] : [])));
    this.opts.logger.error({ logDir: this.logDir }, 'log directory is offline');
  }

  /**
   * Closes every log (flushing, writing indexes and snapshots), then writes the clean-shutdown
   * marker — only if every log closed without error.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.retentionTimer = null;
    if (this.producerExpiryTimer) clearInterval(this.producerExpiryTimer);
    this.producerExpiryTimer = null;
    if (this.cleanerTimer) clearInterval(this.cleanerTimer);
    this.cleanerTimer = null;
    await this.retentionRun;
    await this.cleanerRun;
    await this.cleanerCheckpointChain;
    const logs = await Promise.allSettled([...this.logs.values()]);
    // A bounded number at a time: each close opens files to fsync them, and 10,000 partitions
    // closing at once run out of file descriptors (EMFILE), which would make the shutdown unclean.
    const results: PromiseSettledResult<void>[] = [];
    for (let i = 0; i < logs.length; i += CLOSE_CONCURRENCY) {
      const batch = logs.slice(i, i + CLOSE_CONCURRENCY);
      results.push(...(await Promise.allSettled(batch.map((r) => (r.status === 'fulfilled' ? r.value.close() : Promise.reject(r.reason))))));
    }
    this.logs.clear();
    this.opened.clear();
    this.logsClosed = true;
    await this.checkpointChain;
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) {
      for (const failure of failures) this.opts.logger.error({ err: failure.reason }, 'log did not close cleanly');
      this.opts.logger.error({ logDir: this.logDir }, 'not writing the clean shutdown marker: the next start recovers');
      return;
    }
    await writeFileAtomic(path.join(this.logDir, CLEAN_SHUTDOWN_MARKER), '');
    this.opts.logger.info({ logDir: this.logDir, logs: logs.length }, 'log directory closed cleanly');
  }
}
