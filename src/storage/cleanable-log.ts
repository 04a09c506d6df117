// What the log cleaner (log-cleaner.ts) needs of a partition log. PartitionLog implements it;
// the cleaner depends on this interface only, so the two modules do not import each other.
import type { LogConfig } from './log-config.js';
import type { LogSegment } from './log-segment.js';
import type { ProducerStateManager } from './producer-state.js';
import type { AbortedTxn } from './txn-index.js';

export interface CleanableLog {
  readonly dir: string;
  readonly logStartOffset: number;
  readonly logEndOffset: number;
  /** Only data below it is cleaned: a transaction still open may yet be aborted. */
  readonly lastStableOffset: number;
  readonly isClosed: boolean;
  /** A snapshot of the segments, oldest first. */
  readonly segmentList: readonly LogSegment[];
  readonly currentConfig: Readonly<LogConfig>;
  /** Which producers have open transactions, and their last markers. */
  readonly producerState: ProducerStateManager;
  /** The log's wall clock. */
  now(): number;
  /** The aborted-transaction index entries overlapping [from, to) of `segments`, in marker order. */
  abortedTxnEntries(from: number, to: number, segments?: readonly LogSegment[]): AbortedTxn[];
  /** Runs `task` serialized with retention, DeleteRecords and other swaps of this log. */
  runExclusive<T>(task: () => Promise<T>): Promise<T>;
  /**
   * Replaces the adjacent sealed segments `old` by `replacement` in one synchronous step; false
   * (and nothing changed) when they are no longer part of the log as given.
   */
  replaceSegments(old: readonly LogSegment[], replacement: LogSegment): boolean;
}
