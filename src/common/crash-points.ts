// Test-only crash injection for the crash torture (test/torture/). With the environment variable
// TRIBUTARY_CRASH_AT=<point>:<n> the process SIGKILLs itself the n-th time it reaches <point>, so
// a kill lands exactly inside a roll, a cleaner swap or a retention pass instead of wherever a
// random timer happens to fall. Unset (always, outside the torture), every call is a no-op: the
// variable is read once at start-up and nothing else here has any effect.

export const CRASH_POINTS = [
  /** Inside a group commit: part of the write is on disk (a torn write), then the kill. */
  'append',
  /** A group commit is in the file; its appends are neither acknowledged nor in the high watermark. */
  'written',
  /** A new segment file exists; the previous segment's last batches may not be written yet. */
  'roll',
  /** A rolled segment's index files are written; its producer snapshot is not. */
  'seal',
  /** Retention or DeleteRecords checkpointed the new log start; the segments below it still exist. */
  'retention',
  /** A cleaner swap passed its commit point (the .swap file); the old segments are still in place. */
  'clean',
  /** An offset commit is in __consumer_offsets but not yet applied nor answered. */
  'offset-commit',
  /** Start-up recovery rescanned a segment, or cut a damaged one, and has written nothing else yet. */
  'recovery',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

function parse(spec: string | undefined): { point: CrashPoint; remaining: number } | null {
  if (!spec) return null;
  const match = /^([a-z-]+):(\d+)$/.exec(spec.trim());
  const point = match?.[1] as CrashPoint | undefined;
  if (!match || !point || !CRASH_POINTS.includes(point) || Number(match[2]) < 1) {
    throw new Error(`TRIBUTARY_CRASH_AT must be <point>:<n> with point one of ${CRASH_POINTS.join(', ')}; got ${spec}`);
  }
  return { point, remaining: Number(match[2]) };
}

const armed = parse(process.env.TRIBUTARY_CRASH_AT);

/**
 * Marks a crash point. When armed for it and this is the n-th time, runs `beforeKill` (e.g. to
 * leave half a write on disk) and kills the process with SIGKILL: no handler, no flush, no exit code.
 */
export function crashPoint(point: CrashPoint, beforeKill?: () => void): void {
  if (armed === null || armed.point !== point || --armed.remaining > 0) return;
  try {
    beforeKill?.();
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
}

/** Whether a crash point is armed (lets a call site skip preparing `beforeKill` work). */
export function crashPointArmed(point: CrashPoint): boolean {
  return armed !== null && armed.point === point;
}
