// Several log directories on one broker (JBOD, `log.dirs`): one LogManager per directory, and
// the placement of each partition replica in one of them. A replica found on disk stays where it
// is; a new one goes to the directory holding the fewest partitions, as Kafka places it. A
// replica can be moved to another directory of the same broker (AlterReplicaLogDirs): see
// moveLog for how that stays crash safe.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir } from '../common/atomic-file.js';
import type { LogConfig } from './log-config.js';
import { LogManager, parsePartitionDirName, partitionDirName, type LogManagerOptions, type TopicPartitionDir } from './log-manager.js';
import type { PartitionLog } from './partition-log.js';
import type { CleanResult } from './log-cleaner.js';

/** A partition directory being copied into another log dir (not yet a replica there). */
const MOVING_SUFFIX = '.move';
/** A partition directory whose copy in another log dir is complete: removed once that copy is in place. */
const MOVED_SUFFIX = '.moved';

export class LogDirs {
  /** Which directory's manager holds each partition (by `<topic>-<partition>`). */
  private readonly placement = new Map<string, LogManager>();

  private constructor(readonly managers: LogManager[]) {}

  /**
   * Opens every directory (at least one). Finishes or rolls back a move that a crash interrupted,
   * then records where each partition on disk lives; a partition found in two directories is
   * refused, as Kafka refuses to start then.
   */
  static async open(dirs: string[], opts: LogManagerOptions): Promise<LogDirs> {
    if (dirs.length === 0) throw new Error('log.dirs names no directory');
    const unique = [...new Set(dirs.map((d) => path.resolve(d)))];
    for (const d of unique) await fsp.mkdir(d, { recursive: true });
    await recoverMoves(unique, opts);
    const managers: LogManager[] = [];
    try {
      for (const d of unique) managers.push(await LogManager.open(d, opts));
    } catch (err) {
      for (const m of managers) await m.close().catch(() => undefined);
      throw err;
    }
    const logDirs = new LogDirs(managers);
    for (const m of managers) {
      for (const p of await m.partitionDirs()) {
        const key = partitionDirName(p.topic, p.partition);
        const other = logDirs.placement.get(key);
        if (other) {
          for (const mm of managers) await mm.close().catch(() => undefined);
          throw new Error(`partition ${key} is in two log directories: ${other.logDir} and ${m.logDir}`);
        }
        logDirs.placement.set(key, m);
      }
    }
    return logDirs;
  }

  /** The first directory (where the single-node metadata lives). */
  get logDir(): string {
    return this.managers[0]!.logDir;
  }

  /** The directories, resolved, in `log.dirs` order. */
  get dirs(): string[] {
    return this.managers.map((m) => m.logDir);
  }

  /** The directory a partition's replica is in, if it has one on this broker. */
  dirOf(topic: string, partition: number): string | undefined {
    return this.placement.get(partitionDirName(topic, partition))?.logDir;
  }

  /** How many partitions each directory holds (placed ones, open or not). */
  partitionCounts(): Map<string, number> {
    const counts = new Map(this.managers.map((m) => [m.logDir, 0]));
    for (const m of this.placement.values()) counts.set(m.logDir, counts.get(m.logDir)! + 1);
    return counts;
  }

  private pickManager(): LogManager {
    const counts = this.partitionCounts();
    let best = this.managers[0]!;
    for (const m of this.managers) if (counts.get(m.logDir)! < counts.get(best.logDir)!) best = m;
    return best;
  }

  /** Opens (or creates) a partition's log: where it is on disk, else in the directory with the fewest partitions. */
  openLog(topic: string, partition: number, config: LogConfig): Promise<PartitionLog> {
    const key = partitionDirName(topic, partition);
    let m = this.placement.get(key);
    if (!m) {
      m = this.pickManager();
      this.placement.set(key, m);
    }
    const opening = m.openLog(topic, partition, config);
    const placed = m;
    opening.catch(() => {
      // A log that could not be created leaves no placement behind (nothing is on disk).
      if (this.placement.get(key) === placed && !fs.existsSync(path.join(placed.logDir, key))) this.placement.delete(key);
    });
    return opening;
  }

  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.placement.get(partitionDirName(topic, partition))?.getLog(topic, partition);
  }

  allLogs(): Array<{ topic: string; partition: number; log: PartitionLog; logDir: string }> {
    return this.managers.flatMap((m) => m.allLogs().map((l) => ({ ...l, logDir: m.logDir })));
  }

  async partitionDirs(): Promise<TopicPartitionDir[]> {
    return (await Promise.all(this.managers.map((m) => m.partitionDirs()))).flat();
  }

  async deleteLog(topic: string, partition: number): Promise<void> {
    const key = partitionDirName(topic, partition);
    const m = this.placement.get(key);
    if (!m) {
      // Never placed: still remove a directory of that name anywhere (a leftover).
      await Promise.all(this.managers.map((mm) => mm.deleteLog(topic, partition)));
      return;
    }
    await m.deleteLog(topic, partition);
    if (this.placement.get(key) === m) this.placement.delete(key);
  }

  async runRetention(): Promise<number> {
    let deleted = 0;
    for (const m of this.managers) deleted += await m.runRetention();
    return deleted;
  }

  async runCleaner(maxLogs?: number): Promise<CleanResult[]> {
    const out: CleanResult[] = [];
    for (const m of this.managers) out.push(...(await m.runCleaner(maxLogs)));
    return out;
  }

  expireProducers(now?: number): number {
    return this.managers.reduce((n, m) => n + m.expireProducers(now), 0);
  }

  /**
   * Moves a partition's replica into another of these directories. The caller has closed the
   * log and keeps appends paused until it reopens it (openLog finds it in its new directory).
   *
   * On one filesystem a rename moves it whole, atomically. Across filesystems it is copied to
   * `<name>.move` in the target, fsynced, then the source is renamed `<name>.moved` (from here
   * the copy is the replica), the copy renamed into place, and the source removed; open()
   * finishes or rolls back a move that a crash interrupted, so the partition is in exactly one
   * directory with every record once.
   */
  async moveLog(topic: string, partition: number, targetDir: string): Promise<void> {
    const key = partitionDirName(topic, partition);
    const from = this.placement.get(key);
    const to = this.managers.find((m) => m.logDir === path.resolve(targetDir));
    if (!to) throw new Error(`${targetDir} is not a log directory of this broker`);
    if (!from || from === to) return;
    if (from.getLog(topic, partition) && !from.getLog(topic, partition)!.isClosed) throw new Error(`close ${key} before moving it`);
    const src = path.join(from.logDir, key);
    const dst = path.join(to.logDir, key);
    // The checkpoint entries go first: the target's are dropped at its next open while the
    // directory is not there yet, the source's while it is gone.
    await to.adopt(topic, partition, from.checkpointEntries(topic, partition));
    try {
      await fsp.rename(src, dst);
      await fsyncDir(to.logDir);
      await fsyncDir(from.logDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      const moving = dst + MOVING_SUFFIX;
      await fsp.rm(moving, { recursive: true, force: true });
      await copyDirDurably(src, moving);
      await fsyncDir(to.logDir);
      await fsp.rename(src, src + MOVED_SUFFIX);
      await fsyncDir(from.logDir);
      await fsp.rename(moving, dst);
      await fsyncDir(to.logDir);
      await fsp.rm(src + MOVED_SUFFIX, { recursive: true, force: true });
    }
    this.placement.set(key, to);
    await from.forget(topic, partition);
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.managers.map((m) => m.close()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** Copies a partition directory (flat: segment, index and snapshot files) and fsyncs every file and the directory. */
async function copyDirDurably(src: string, dst: string): Promise<void> {
  await fsp.mkdir(dst, { recursive: true });
  for (const e of await fsp.readdir(src, { withFileTypes: true })) {
    if (!e.isFile()) continue;
    const to = path.join(dst, e.name);
    await fsp.copyFile(path.join(src, e.name), to);
    const fh = await fsp.open(to, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  await fsyncDir(dst);
}

/**
 * Completes or undoes moves a crash interrupted: a `.move` copy whose source is already
 * `.moved` becomes the replica; a `.move` copy whose source is still live is dropped; a `.moved`
 * source whose copy is in place is removed.
 */
async function recoverMoves(dirs: string[], opts: LogManagerOptions): Promise<void> {
  const names = new Map<string, Set<string>>();
  for (const d of dirs) names.set(d, new Set(await fsp.readdir(d)));
  const liveSomewhere = (key: string) => dirs.some((d) => names.get(d)!.has(key));
  for (const d of dirs) {
    for (const name of names.get(d)!) {
      if (!name.endsWith(MOVING_SUFFIX)) continue;
      const key = name.slice(0, -MOVING_SUFFIX.length);
      if (!parsePartitionDirName(key)) continue;
      const sourceMoved = dirs.some((o) => names.get(o)!.has(key + MOVED_SUFFIX));
      if (sourceMoved && !liveSomewhere(key)) {
        await fsp.rename(path.join(d, name), path.join(d, key));
        await fsyncDir(d);
        names.get(d)!.add(key);
        opts.logger.warn({ partition: key, logDir: d }, 'finished moving a replica between log directories');
      } else {
        await fsp.rm(path.join(d, name), { recursive: true, force: true });
        opts.logger.warn({ partition: key, logDir: d }, 'dropped the copy of an interrupted move between log directories');
      }
    }
  }
  for (const d of dirs) {
    for (const name of names.get(d)!) {
      if (!name.endsWith(MOVED_SUFFIX)) continue;
      const key = name.slice(0, -MOVED_SUFFIX.length);
      if (liveSomewhere(key)) await fsp.rm(path.join(d, name), { recursive: true, force: true });
      else {
        // No copy anywhere (cannot happen in the order moveLog writes, but never lose data).
        await fsp.rename(path.join(d, name), path.join(d, key));
        await fsyncDir(d);
      }
    }
  }
}
