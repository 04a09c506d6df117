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
import { ErrorCode, KafkaError } from '../protocol/errors.js';

/** A partition directory being copied into another log dir (not yet a replica there). */
const MOVING_SUFFIX = '.move';
/** A partition directory whose copy in another log dir is complete: removed once that copy is in place. */
const MOVED_SUFFIX = '.moved';
/**
 * A file `<name>.future` next to a partition directory `<name>` marks it as the future replica
 * of an online move (AlterReplicaLogDirs): a copy still catching up, not the replica. Removing
 * the marker (after the source is renamed `.moved`) is the moment the copy becomes the replica.
 */
const FUTURE_MARKER = '.future';

/** The copy of a replica being made in another log directory (KIP-113's future replica). */
export interface FutureReplica {
  topic: string;
  partition: number;
  logDir: string;
  log: PartitionLog;
}

/** A move that a restart interrupted: to be started again once the partition is open. */
export interface PendingMove {
  topic: string;
  partition: number;
  logDir: string;
}

export class LogDirs {
  /** Which directory's manager holds each partition (by `<topic>-<partition>`). */
  private readonly placement = new Map<string, LogManager>();
  /** Future replicas of moves under way, by `<topic>-<partition>`. */
  private readonly futures = new Map<string, FutureReplica & { manager: LogManager }>();
  /** Where a replica not hosted yet goes when it is created (AlterReplicaLogDirs before the replica exists). */
  private readonly preferred = new Map<string, LogManager>();
  /** Moves a restart interrupted (their copies were dropped), to run again. */
  private pending: PendingMove[] = [];
  /** Directories whose I/O failed (KIP-112), with why: nothing in them is served any more. */
  private readonly offline = new Map<string, string>();

  private constructor(
    readonly managers: LogManager[],
    /** Every configured directory, resolved, in `log.dirs` order (offline ones too). */
    private readonly configured: string[],
  ) {}

  /**
   * Opens every directory (at least one). Finishes or rolls back a move that a crash interrupted,
   * then records where each partition on disk lives; a partition found in two directories is
   * refused, as Kafka refuses to start then.
   */
  static async open(dirs: string[], opts: LogManagerOptions): Promise<LogDirs> {
    if (dirs.length === 0) throw new Error('log.dirs names no directory');
    const configured = [...new Set(dirs.map((d) => path.resolve(d)))];
    // A directory that cannot be used starts offline (KIP-112) as long as another one works.
    const failed = new Map<string, string>();
    for (const d of configured) {
      const reason = await fsp.mkdir(d, { recursive: true }).then(
        () => LogDirs.probe(d, true, false),
        (err: unknown) => `${d}: ${(err as Error).message}`,
      );
      if (reason) failed.set(d, reason);
    }
    const unique = configured.filter((d) => !failed.has(d));
    if (unique.length === 0) throw new Error(`no log directory can be used: ${[...failed.values()].join('; ')}`);
    for (const [d, reason] of failed) opts.logger.error({ logDir: d, reason }, 'log directory is offline from the start');
    const pending = await recoverFutures(unique, opts);
    await recoverMoves(unique, opts);
    const managers: LogManager[] = [];
    try {
      for (const d of unique) managers.push(await LogManager.open(d, opts));
    } catch (err) {
      for (const m of managers) await m.close().catch(() => undefined);
      throw err;
    }
    const logDirs = new LogDirs(managers, configured);
    for (const [d, reason] of failed) logDirs.offline.set(d, reason);
    logDirs.pending = pending;
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
    return this.configured[0]!;
  }

  /** The directories, resolved, in `log.dirs` order (offline ones too). */
  get dirs(): string[] {
    return [...this.configured];
  }

  /** The managers of the directories that work. */
  private get online(): LogManager[] {
    return this.managers.filter((m) => !this.offline.has(m.logDir));
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
    const online = this.managers.filter((m) => !this.offline.has(m.logDir));
    if (online.length === 0) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, 'every log directory of this broker is offline');
    // One directory (the usual case) needs no count: counting every placement for each new
    // partition made creating 5,000 of them quadratic (0.4 s of 5.7 s).
    if (online.length === 1) return online[0]!;
    const counts = this.partitionCounts();
    let best = online[0]!;
    for (const m of online) if (counts.get(m.logDir)! < counts.get(best.logDir)!) best = m;
    return best;
  }

  /** Opens (or creates) a partition's log: where it is on disk, else in the directory with the fewest partitions. */
  openLog(topic: string, partition: number, config: LogConfig, existing = false): Promise<PartitionLog> {
    const key = partitionDirName(topic, partition);
    let m = this.placement.get(key);
    // A replica that should exist but is in no working directory may be in an offline one:
    // creating it empty elsewhere would lose its records (Kafka refuses too).
    if (!m && existing && this.offline.size > 0) {
      return Promise.reject(new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${key} is in no working log directory, and ${this.offlineDirs.join(', ')} is offline`));
    }
    if (!m) {
      m = this.preferred.get(key) ?? this.pickManager();
      this.preferred.delete(key);
      this.placement.set(key, m);
    }
    if (this.offline.has(m.logDir)) return Promise.reject(new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `the log directory of ${key}, ${m.logDir}, is offline`));
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
    return (await Promise.all(this.online.map((m) => m.partitionDirs()))).flat();
  }

  async deleteLog(topic: string, partition: number): Promise<void> {
    const key = partitionDirName(topic, partition);
    this.preferred.delete(key);
    await this.abortFuture(topic, partition);
    const m = this.placement.get(key);
    if (!m) {
      // Never placed: still remove a directory of that name anywhere (a leftover).
      await Promise.all(this.online.map((mm) => mm.deleteLog(topic, partition)));
      return;
    }
    // A replica in an offline directory stays there (its files cannot be removed now).
    if (!this.offline.has(m.logDir)) await m.deleteLog(topic, partition);
    if (this.placement.get(key) === m) this.placement.delete(key);
  }

  async runRetention(): Promise<number> {
    let deleted = 0;
    for (const m of this.online) deleted += await m.runRetention();
    return deleted;
  }

  async runCleaner(maxLogs?: number): Promise<CleanResult[]> {
    const out: CleanResult[] = [];
    for (const m of this.online) out.push(...(await m.runCleaner(maxLogs)));
    return out;
  }

  expireProducers(now?: number): number {
    return this.online.reduce((n, m) => n + m.expireProducers(now), 0);
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
      // A log never written has no directory (PartitionLogOptions.deferCreation): nothing to move.
      if (!fs.existsSync(src)) {
        this.placement.set(key, to);
        await from.forget(topic, partition);
        return;
      }
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

  // --- failed directories (KIP-112) ----------------------------------------------------------

  /** Why `dir` is offline, or undefined while it works. */
  offlineReason(dir: string): string | undefined {
    return this.offline.get(path.resolve(dir));
  }

  get offlineDirs(): string[] {
    return [...this.offline.keys()];
  }

  /**
   * Takes a failed directory offline: its logs are dropped without writing anything more to
   * them (no clean-shutdown marker either: the next start recovers them), new replicas go
   * elsewhere. Returns the partitions (`{topic, partition}`) that were placed there.
   */
  async markOffline(dir: string, reason: string): Promise<Array<{ topic: string; partition: number }>> {
    const m = this.managers.find((mm) => mm.logDir === path.resolve(dir));
    if (!m || this.offline.has(m.logDir)) return [];
    this.offline.set(m.logDir, reason);
    const lost: Array<{ topic: string; partition: number }> = [];
    for (const [key, placed] of this.placement) if (placed === m) lost.push(parsePartitionDirName(key)!);
    for (const [key, f] of this.futures) {
      if (f.manager !== m) continue;
      this.futures.delete(key);
      await f.log.abandon().catch(() => undefined);
    }
    for (const [key, placed] of this.preferred) if (placed === m) this.preferred.delete(key);
    await m.abandon();
    return lost;
  }

  /**
   * Whether a directory still works: it is a directory, and a file can be created, written,
   * fsynced (unless `sync` is false) and removed in it. `write` false only checks that it is a writable directory.
   */
  static async probe(dir: string, write: boolean, sync = true): Promise<string | null> {
    try {
      const st = await fsp.stat(dir);
      if (!st.isDirectory()) return `${dir} is not a directory`;
      await fsp.access(dir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
      if (write) {
        const file = path.join(dir, '.tributary-probe');
        const fh = await fsp.open(file, 'w');
        try {
          await fh.write('probe');
          if (sync) await fh.sync();
        } finally {
          await fh.close();
        }
        await fsp.rm(file);
      }
      return null;
    } catch (err) {
      return `${dir}: ${(err as Error).message}`;
    }
  }

  // --- online moves (AlterReplicaLogDirs, KIP-113) ------------------------------------------

  /** Whether `dir` is one of these directories (compared resolved). */
  hasDir(dir: string): boolean {
    return this.configured.includes(path.resolve(dir));
  }

  /** Remembers where a replica not hosted here yet is to be created (Kafka's preferred log dir). */
  setPreferredDir(topic: string, partition: number, dir: string): void {
    const m = this.managers.find((mm) => mm.logDir === path.resolve(dir));
    if (m) this.preferred.set(partitionDirName(topic, partition), m);
  }

  /** The future replica of a move under way, if any. */
  futureOf(topic: string, partition: number): FutureReplica | undefined {
    const f = this.futures.get(partitionDirName(topic, partition));
    return f ? { topic: f.topic, partition: f.partition, logDir: f.logDir, log: f.log } : undefined;
  }

  /** Moves that a restart interrupted (each to be started again); handed out once. */
  takePendingMoves(): PendingMove[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /**
   * Creates the future replica of `<topic>-<partition>` in `targetDir`: an empty log, marked as a
   * copy on disk (the marker is durable before the directory exists), not tracked by the
   * directory's flush, retention or cleaner until commitFuture. A future elsewhere is dropped first.
   */
  async createFuture(topic: string, partition: number, targetDir: string, config: LogConfig): Promise<PartitionLog> {
    const key = partitionDirName(topic, partition);
    const to = this.managers.find((m) => m.logDir === path.resolve(targetDir));
    if (!to) throw new Error(`${targetDir} is not a log directory of this broker`);
    if (this.placement.get(key) === to) throw new Error(`${key} is already in ${to.logDir}`);
    await this.abortFuture(topic, partition);
    const marker = path.join(to.logDir, key + FUTURE_MARKER);
    await fsp.writeFile(marker, '');
    await fsyncDir(to.logDir);
    await fsp.rm(path.join(to.logDir, key), { recursive: true, force: true });
    const log = await to.openDetached(topic, partition, config);
    this.futures.set(key, { topic, partition, logDir: to.logDir, log, manager: to });
    return log;
  }

  /** Drops a move's future replica (its log and directory, then its marker); nothing when there is none. */
  async abortFuture(topic: string, partition: number): Promise<void> {
    const key = partitionDirName(topic, partition);
    const f = this.futures.get(key);
    if (!f) return;
    this.futures.delete(key);
    await f.log.delete();
    await fsp.rm(path.join(f.logDir, key + FUTURE_MARKER), { force: true });
    await fsyncDir(f.logDir).catch(() => undefined);
  }

  /**
   * Makes the future replica the replica: `source` (the current log, whose every record the
   * future holds at the same offsets, flushed) is closed and renamed `<name>.moved`, then the
   * future's marker is removed — the durable switch — and the source deleted. A crash before the
   * switch leaves the source as the replica; after it, the copy (see recoverFutures).
   */
  async commitFuture(topic: string, partition: number, source: PartitionLog): Promise<void> {
    const key = partitionDirName(topic, partition);
    const f = this.futures.get(key);
    const from = this.placement.get(key);
    if (!f || !from) throw new Error(`no move of ${key} under way`);
    const to = f.manager;
    // Checkpoint entries first: dropped at the next open if the copy's directory goes.
    const entries = from.checkpointEntries(topic, partition);
    await to.adopt(topic, partition, { ...entries, startOffset: Math.max(entries.startOffset ?? 0, f.log.logStartOffset) });
    // A source never written has no directory (PartitionLogOptions.deferCreation): nothing to set
    // aside. Asked after the close, which waits for a creation of its files under way.
    await source.close();
    const sourceOnDisk = source.filesCreated;
    const src = path.join(from.logDir, key);
    if (sourceOnDisk) {
      await fsp.rename(src, src + MOVED_SUFFIX);
      await fsyncDir(from.logDir);
    }
    await fsp.rm(path.join(to.logDir, key + FUTURE_MARKER));
    await fsyncDir(to.logDir);
    this.futures.delete(key);
    to.install(topic, partition, f.log);
    this.placement.set(key, to);
    await from.forget(topic, partition);
    await fsp.rm(src + MOVED_SUFFIX, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    // Futures stay on disk: the next start drops them and runs their moves again.
    for (const f of [...this.futures.values()]) await f.log.close().catch(() => undefined);
    this.futures.clear();
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
 * Online moves a stop or crash interrupted: a future replica whose source is still a live
 * replica is dropped (its move is returned, to run again); one whose source is already renamed
 * `.moved` (or gone) is the replica: its marker goes. Runs before recoverMoves, which then
 * removes the `.moved` source.
 */
async function recoverFutures(dirs: string[], opts: LogManagerOptions): Promise<PendingMove[]> {
  const pending: PendingMove[] = [];
  const names = new Map<string, Set<string>>();
  for (const d of dirs) names.set(d, new Set(await fsp.readdir(d)));
  for (const d of dirs) {
    for (const name of names.get(d)!) {
      if (!name.endsWith(FUTURE_MARKER)) continue;
      const key = name.slice(0, -FUTURE_MARKER.length);
      const parsed = parsePartitionDirName(key);
      if (!parsed) continue;
      const sourceLive = dirs.some((o) => o !== d && names.get(o)!.has(key));
      if (sourceLive || !names.get(d)!.has(key)) {
        await fsp.rm(path.join(d, key), { recursive: true, force: true });
        names.get(d)!.delete(key);
        if (sourceLive) pending.push({ ...parsed, logDir: d });
        opts.logger.warn({ partition: key, logDir: d }, 'dropped the copy of an interrupted move between log directories; the move starts again');
      } else {
        opts.logger.warn({ partition: key, logDir: d }, 'finished moving a replica between log directories');
      }
      await fsp.rm(path.join(d, name), { force: true });
      await fsyncDir(d);
    }
  }
  return pending;
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
