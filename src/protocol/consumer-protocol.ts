// The consumer protocol that classic groups of protocol type "consumer" carry as opaque bytes: a
// member's subscription (JoinGroup metadata) and its assignment (SyncGroup, DescribeGroups), each
// an int16 version followed by the body. Read as Kafka's ConsumerProtocol reads them: a negative
// version is refused; a version newer than the schemas we have is read as our newest, since a
// newer version may only append fields (the bytes past what we know are ignored); bytes that end
// early, or hold an impossible length, are refused. Refused is null: what an undecodable member
// means (an error, no partitions, a failed upgrade) is for each caller to say.
import { decodeConsumerProtocolAssignment, type ConsumerProtocolAssignment, type ConsumerProtocolAssignmentTopicPartition } from './generated/consumer-protocol-assignment.js';
import { decodeConsumerProtocolSubscription, type ConsumerProtocolSubscription } from './generated/consumer-protocol-subscription.js';
import { ProtocolError, Reader } from './primitives.js';

/** The newest version of both schemas (Kafka keeps them in step). */
const NEWEST_VERSION = 3;

/**
 * The topic-partitions of a ConsumerProtocolAssignment, in the order the bytes give them, or null
 * if the bytes are not one. Empty bytes have no version, so they are null too.
 */
export function decodeConsumerAssignment(bytes: Buffer): ConsumerProtocolAssignmentTopicPartition[] | null {
  return versioned(bytes, (r, version) => decodeConsumerProtocolAssignment(r, version).assignedPartitions);
}

/** A whole ConsumerProtocolAssignment (its user data too), or null if the bytes are not one. */
export function decodeConsumerAssignmentMessage(bytes: Buffer): ConsumerProtocolAssignment | null {
  return versioned(bytes, (r, version) => decodeConsumerProtocolAssignment(r, version));
}

/** A ConsumerProtocolSubscription, or null if the bytes are not one. */
export function decodeConsumerSubscription(bytes: Buffer): ConsumerProtocolSubscription | null {
  return versioned(bytes, (r, version) => decodeConsumerProtocolSubscription(r, version));
}

/**
 * The topics of a subscription of any version, negative ones included, or null if they do not
 * decode. Kafka's classic group reads its members' topics this way, as the version-0 prefix every
 * version starts with, so that it depends on no version: the fields after the topics need not
 * decode.
 */
export function decodeSubscribedTopics(bytes: Buffer): string[] | null {
  return attempt(() => {
    const r = new Reader(bytes);
    r.int16();
    return decodeConsumerProtocolSubscription(r, 0).topics;
  });
}

function versioned<T>(bytes: Buffer, body: (r: Reader, version: number) => T): T | null {
  return attempt(() => {
    const r = new Reader(bytes);
    const version = r.int16();
    return version < 0 ? null : body(r, Math.min(version, NEWEST_VERSION));
  });
}

/** Null for what the reader refuses (bytes ending early, impossible lengths); anything else is a bug and propagates. */
function attempt<T>(decode: () => T | null): T | null {
  try {
    return decode();
  } catch (err) {
    if (err instanceof ProtocolError) return null;
    throw err;
  }
}
