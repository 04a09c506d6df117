// Errors of the client library. Every failure carries a Kafka error name (e.g.
// UNKNOWN_TOPIC_OR_PARTITION), whether the broker returned it or the client decided it (a refused
// connection is NETWORK_EXCEPTION, a request without an answer REQUEST_TIMED_OUT).
import { errorName } from '../protocol/errors.js';

export class KafkaClientError extends Error {
  constructor(
    /** Kafka's name for the error, e.g. TOPIC_ALREADY_EXISTS. */
    readonly type: string,
    message?: string,
    /** The numeric code when the broker returned one. */
    readonly code?: number,
  ) {
    super(message && message !== type ? message : type);
    this.name = 'KafkaClientError';
  }

  /** Whether a retry after a metadata refresh may succeed. */
  get retriable(): boolean {
    return RETRIABLE.has(this.type);
  }
}

const RETRIABLE = new Set([
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'NOT_CONTROLLER',
  'UNKNOWN_TOPIC_ID',
  'INCONSISTENT_TOPIC_ID',
]);

/** Throws a KafkaClientError when `code` is not NONE. */
export function throwIfError(code: number, message?: string | null, context?: string): void {
  if (code === 0) return;
  const type = errorName(code);
  const parts = [context, message].filter((p): p is string => !!p);
  throw new KafkaClientError(type, parts.length > 0 ? parts.join(': ') : type, code);
}

/**
 * Consumer-protocol bytes (a member's subscription or assignment) that do not decode. Kafka's
 * clients fail with a schema error there; its coordinator calls the same bytes
 * INCONSISTENT_GROUP_PROTOCOL, the Kafka name used here.
 */
export function malformedConsumerProtocol(what: string): KafkaClientError {
  return new KafkaClientError('INCONSISTENT_GROUP_PROTOCOL', `${what} is not consumer-protocol data`);
}
