// The consumer protocol's embedded assignment and subscription (src/protocol/consumer-protocol.ts),
// decoded as Kafka's ConsumerProtocol decodes them: every version we have, newer versions read as
// our newest, and null (never an exception) for bytes that are not one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeConsumerAssignment, decodeConsumerSubscription, decodeSubscribedTopics } from '../../src/protocol/consumer-protocol.js';
import { encodeConsumerProtocolAssignment, type ConsumerProtocolAssignment } from '../../src/protocol/generated/consumer-protocol-assignment.js';
import { encodeConsumerProtocolSubscription, type ConsumerProtocolSubscription } from '../../src/protocol/generated/consumer-protocol-subscription.js';
import { Writer } from '../../src/protocol/primitives.js';

/** The version prefix, then the body as `version` has it, then `extra` (what a newer version appends). */
function prefixed(version: number, body: (w: Writer) => void, extra?: (w: Writer) => void): Buffer {
  const w = new Writer(64);
  w.int16(version);
  body(w);
  extra?.(w);
  return Buffer.from(w.finish());
}

const ASSIGNMENT: ConsumerProtocolAssignment = {
  // Out of order on purpose: the decoder gives them as the bytes do, sorting is the caller's.
  assignedPartitions: [
    { topic: 'b', partitions: [2, 0, 1] },
    { topic: 'a', partitions: [5] },
  ],
  userData: Buffer.from('ud'),
};

const assignmentBytes = (version: number, extra?: (w: Writer) => void) =>
  prefixed(version, (w) => encodeConsumerProtocolAssignment(w, Math.min(version, 3), ASSIGNMENT), extra);

const SUBSCRIPTION: ConsumerProtocolSubscription = {
  topics: ['t2', 't1'],
  userData: Buffer.from('ud'),
  ownedPartitions: [{ topic: 't1', partitions: [3, 1] }],
  generationId: 7,
  rackId: 'rack-a',
};

const subscriptionBytes = (version: number, extra?: (w: Writer) => void) =>
  prefixed(version, (w) => encodeConsumerProtocolSubscription(w, Math.min(version, 3), SUBSCRIPTION), extra);

/** What a subscription of `version` carries of SUBSCRIPTION (the rest at its defaults). */
function subscriptionAt(version: number): ConsumerProtocolSubscription {
  return {
    topics: SUBSCRIPTION.topics,
    userData: SUBSCRIPTION.userData,
    ownedPartitions: version >= 1 ? SUBSCRIPTION.ownedPartitions : [],
    generationId: version >= 2 ? SUBSCRIPTION.generationId : -1,
    rackId: version >= 3 ? SUBSCRIPTION.rackId : null,
  };
}

/** Fields a hypothetical version 4 appends: Kafka reads it as version 3 and ignores them. */
const newerFields = (w: Writer) => {
  w.int32(42);
  w.string('a field from the future');
};

/** Every proper prefix of `bytes`, the empty one included. */
const truncations = (bytes: Buffer) => Array.from({ length: bytes.length }, (_, n) => bytes.subarray(0, n));

test('an assignment of every version decodes to its topic-partitions in the order given', () => {
  for (const version of [0, 1, 2, 3]) {
    assert.deepEqual(decodeConsumerAssignment(assignmentBytes(version)), ASSIGNMENT.assignedPartitions, `v${version}`);
  }
});

test('an assignment of a newer version is read as the newest we know, its extra fields ignored', () => {
  for (const version of [4, 0x7fff]) {
    assert.deepEqual(decodeConsumerAssignment(assignmentBytes(version, newerFields)), ASSIGNMENT.assignedPartitions, `v${version}`);
  }
});

test('an assignment with no topics and null user data decodes to no partitions', () => {
  const bytes = prefixed(0, (w) => encodeConsumerProtocolAssignment(w, 0, { assignedPartitions: [], userData: null }));
  assert.deepEqual(decodeConsumerAssignment(bytes), []);
});

test('assignment bytes that are not one are null: empty, truncated anywhere, a negative version', () => {
  assert.equal(decodeConsumerAssignment(Buffer.alloc(0)), null);
  for (const cut of truncations(assignmentBytes(3))) assert.equal(decodeConsumerAssignment(cut), null, `${cut.length} bytes`);
  // A well-formed body behind a version Kafka refuses.
  assert.equal(decodeConsumerAssignment(assignmentBytes(0).fill(0xff, 0, 2)), null);
  // A topic name of negative length, and a partition count beyond the bytes.
  assert.equal(decodeConsumerAssignment(Buffer.from([0, 0, 0, 0, 0, 1, 0xff, 0xfe])), null);
  assert.equal(decodeConsumerAssignment(Buffer.from([0, 0, 0, 0, 0, 1, 0, 1, 0x61, 0, 0, 1, 0])), null);
});

test('a subscription of every version decodes to the fields that version has', () => {
  for (const version of [0, 1, 2, 3]) {
    assert.deepEqual(decodeConsumerSubscription(subscriptionBytes(version)), subscriptionAt(version), `v${version}`);
  }
});

test('a subscription of a newer version is read as the newest we know, its extra fields ignored', () => {
  assert.deepEqual(decodeConsumerSubscription(subscriptionBytes(4, newerFields)), subscriptionAt(3));
});

test('subscription bytes that are not one are null: empty, truncated anywhere, a negative version', () => {
  assert.equal(decodeConsumerSubscription(Buffer.alloc(0)), null);
  for (const cut of truncations(subscriptionBytes(3))) assert.equal(decodeConsumerSubscription(cut), null, `${cut.length} bytes`);
  assert.equal(decodeConsumerSubscription(subscriptionBytes(0).fill(0xff, 0, 2)), null);
});

test("a subscription's topics are its version-0 prefix, whatever the version says and whatever follows", () => {
  const topicsEnd = 2 + 4 + (2 + 2) * 2; // version, count, two two-letter names
  for (const version of [0, 1, 2, 3]) {
    const bytes = subscriptionBytes(version);
    assert.deepEqual(decodeSubscribedTopics(bytes), SUBSCRIPTION.topics, `v${version}`);
    // Only the topics and the user data after them have to be there.
    assert.deepEqual(decodeSubscribedTopics(bytes.subarray(0, topicsEnd + 4 + 2)), SUBSCRIPTION.topics, `v${version} cut after the user data`);
  }
  assert.deepEqual(decodeSubscribedTopics(subscriptionBytes(0).fill(0xff, 0, 2)), SUBSCRIPTION.topics, 'a negative version');
  assert.deepEqual(decodeSubscribedTopics(subscriptionBytes(4, newerFields)), SUBSCRIPTION.topics, 'a newer version');
  for (const cut of truncations(subscriptionBytes(0))) assert.equal(decodeSubscribedTopics(cut), null, `${cut.length} bytes`);
});
