// What a group API answers when its write to __consumer_offsets failed. Kafka 4.4 maps the
// error of a failed coordinator write the same way for every group API (its runtime's operation
// exception handler, and the classic group's join and sync completions): the client retries
// without a lookup, looks the coordinator up again, or gives up. Its transaction coordinator
// (TransactionStateManager) maps a failed __transaction_state write the same way.
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import type { CoordinatorLogger } from './ports.js';

/**
 * The client-visible code of a failed __consumer_offsets write, as Kafka 4.4 maps it:
 * - the partition is gone or short of replicas, or the write timed out: COORDINATOR_NOT_AVAILABLE;
 * - this broker no longer leads it or its log directory failed: NOT_COORDINATOR;
 * - the records cannot be written at all (too large, or not encodable): UNKNOWN_SERVER_ERROR;
 * - a failed transaction verification (NETWORK_EXCEPTION): COORDINATOR_LOAD_IN_PROGRESS;
 * - any other Kafka error as it is, and anything else (a bug) UNKNOWN_SERVER_ERROR.
 * Two codes of ours that Kafka's writer never gives: a replica count that dropped after the
 * append is one short of replicas, and a leader whose cluster lease is uncertain (so it may not
 * write) is one that may not coordinate now.
 */
export function groupWriteErrorCode(err: unknown): number {
  if (!(err instanceof KafkaError)) return ErrorCode.UNKNOWN_SERVER_ERROR;
  switch (err.code) {
    case ErrorCode.NETWORK_EXCEPTION:
      return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
    case ErrorCode.LEADER_NOT_AVAILABLE:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
    case ErrorCode.INVALID_FETCH_SIZE:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return err.code;
  }
}

/**
 * How long after a timer's failed write Kafka's coordinator runtime runs the timer again (its
 * CoordinatorTimerImpl, for the timers scheduled with retries: the session and rebalance timeouts
 * of consumer, streams and share group members).
 */
export const TIMER_RETRY_BACKOFF_MS = 500;

/**
 * Whether a timer whose write failed with `err` runs again: not when the coordinator is no longer
 * active here (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS), which Kafka's runtime ignores.
 */
export function timerRetries(err: unknown): boolean {
  return !(err instanceof KafkaError && (err.code === ErrorCode.NOT_COORDINATOR || err.code === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS));
}

/**
 * Logs a failed __consumer_offsets write: as a warning when the failure is one a coordinator meets
 * in normal operation (its partition moved away or is short of replicas, or the write timed out:
 * what maps to NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or COORDINATOR_LOAD_IN_PROGRESS, which
 * the client retries), as an error otherwise. Kafka 4.4 logs a classic group's failed writes at
 * warn; a coordinator failover in cluster mode is not an error.
 */
export function logWriteFailure(logger: CoordinatorLogger | undefined, err: unknown, fields: object, msg: string): void {
  switch (groupWriteErrorCode(err)) {
    case ErrorCode.NOT_COORDINATOR:
    case ErrorCode.COORDINATOR_NOT_AVAILABLE:
    case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
      logger?.warn({ err, ...fields }, msg);
      return;
    default:
      logger?.error({ err, ...fields }, msg);
  }
}
