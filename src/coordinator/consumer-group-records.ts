// The KIP-848 consumer group records in __consumer_offsets, in the layouts Kafka's coordinator
// writes them. A key is an int16 record type then the (non-flexible) key fields; a value is an
// int16 version (0) then the (flexible: compact strings, tagged fields) value fields.
//
//   3 ConsumerGroupMetadata                 key: group              value: epoch int32
//   4 ConsumerGroupPartitionMetadata        key: group              value: topics [id uuid, name, partitions int32, racks []]
//   5 ConsumerGroupMemberMetadata           key: group, member id   value: instance id?, rack id?, client id, client host,
//                                                                          subscribed names [], regex?, rebalance timeout, assignor?,
//                                                                          tag 0: classic member metadata? (session timeout,
//                                                                          supported protocols [name, metadata bytes])
//   6 ConsumerGroupTargetAssignmentMetadata key: group              value: assignment epoch int32
//   7 ConsumerGroupTargetAssignmentMember   key: group, member id   value: partitions [topic id uuid, [int32]]
//   8 ConsumerGroupCurrentMemberAssignment  key: group, member id   value: member epoch, previous epoch, state int8,
//                                                                          assigned [..], pending revocation [..]; each
//                                                                          topic's tag 0: the epoch at which each of its
//                                                                          partitions was assigned (Kafka 4.4, KIP-1251)
//
// A null value is a tombstone.
import { Reader, Writer } from '../protocol/primitives.js';
import type { Assignment } from './consumer-group-assignors.js';

export const CG_METADATA = 3;
export const CG_PARTITION_METADATA = 4;
export const CG_MEMBER_METADATA = 5;
export const CG_TARGET_METADATA = 6;
export const CG_TARGET_MEMBER = 7;
export const CG_CURRENT_MEMBER = 8;

export type ConsumerGroupKey =
  | { type: typeof CG_METADATA | typeof CG_PARTITION_METADATA | typeof CG_TARGET_METADATA; group: string }
  | { type: typeof CG_MEMBER_METADATA | typeof CG_TARGET_MEMBER | typeof CG_CURRENT_MEMBER; group: string; memberId: string };

export interface MemberMetadataValue {
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  subscribedTopicRegex: string | null;
  rebalanceTimeoutMs: number;
  serverAssignor: string | null;
  /**
   * Set for a member that speaks the classic protocol (JoinGroup/SyncGroup) inside a consumer
   * group (online migration).
   */
  classic: ClassicMemberMetadata | null;
}

export interface ClassicMemberMetadata {
  sessionTimeoutMs: number;
  protocols: { name: string; metadata: Buffer }[];
}

/** Topic id → partition → the member epoch at which the partition was assigned to the member. */
export type PartitionEpochs = Map<string, Map<number, number>>;

export interface CurrentAssignmentValue {
  memberEpoch: number;
  previousMemberEpoch: number;
  state: number;
  assigned: Assignment;
  pendingRevocation: Assignment;
  /**
   * The assignment epoch of each partition of `assigned` and `pendingRevocation` (entries of
   * other partitions are ignored). An offset commit at an older member epoch is accepted for a
   * partition assigned at or before it.
   */
  assignmentEpochs: PartitionEpochs;
}

export interface TopicMetadata {
  id: string;
  name: string;
  numPartitions: number;
}

export function encodeConsumerGroupKey(k: ConsumerGroupKey): Buffer {
  const w = new Writer(64);
  w.int16(k.type);
  w.string(k.group);
  if ('memberId' in k) w.string(k.memberId);
  return w.finish();
}

/** A consumer group key (types 3-8), or null for any other record type. */
export function decodeConsumerGroupKey(buf: Buffer): ConsumerGroupKey | null {
  const r = new Reader(buf);
  const type = r.int16();
  if (type === CG_METADATA || type === CG_PARTITION_METADATA || type === CG_TARGET_METADATA) return { type, group: r.string() };
  if (type === CG_MEMBER_METADATA || type === CG_TARGET_MEMBER || type === CG_CURRENT_MEMBER) return { type, group: r.string(), memberId: r.string() };
  return null;
}

function value(): Writer {
  const w = new Writer(128);
  w.int16(0);
  return w;
}

/**
 * An assignment as []TopicPartitions. With `epochs`, each topic carries the assignment epoch of
 * each of its partitions (tagged field 0, in the partitions' order); a partition without one
 * gets `defaultEpoch`.
 */
function writeAssignment(w: Writer, a: Assignment, epochs?: PartitionEpochs, defaultEpoch = 0): void {
  const topics = [...a].filter(([, parts]) => parts.size > 0);
  w.compactArrayLength(topics.length);
  for (const [topicId, parts] of topics) {
    w.uuid(topicId);
    const sorted = [...parts].sort((x, y) => x - y);
    w.compactArrayLength(sorted.length);
    for (const p of sorted) w.int32(p);
    if (!epochs) {
      w.uvarint(0);
      continue;
    }
    const body = new Writer(4 * sorted.length + 4);
    body.compactArrayLength(sorted.length);
    for (const p of sorted) body.int32(epochs.get(topicId)?.get(p) ?? defaultEpoch);
    const bytes = body.finish();
    w.uvarint(1);
    w.uvarint(0);
    w.uvarint(bytes.length);
    w.raw(bytes);
  }
}

/**
 * An assignment as []TopicPartitions; the assignment epochs it carries go into `epochs`. A topic
 * without them (a record of an older version), or with not one per partition, gets
 * `defaultEpoch` for each partition, as in Kafka.
 */
function readAssignment(r: Reader, epochs?: PartitionEpochs, defaultEpoch = 0): Assignment {
  const a: Assignment = new Map();
  for (let i = 0, n = r.compactArrayLength(); i < n; i++) {
    const topicId = r.uuid();
    const list: number[] = [];
    for (let j = 0, m = r.compactArrayLength(); j < m; j++) list.push(r.int32());
    let assignedAt: number[] | null = null;
    for (let t = 0, tags = r.uvarint(); t < tags; t++) {
      const tag = r.uvarint();
      const len = r.uvarint();
      if (tag !== 0) {
        r.skip(len);
        continue;
      }
      const body = new Reader(r.raw(len));
      const count = body.compactNullableArrayLength();
      if (count < 0) continue; // null: none recorded
      assignedAt = [];
      for (let j = 0; j < count; j++) assignedAt.push(body.int32());
    }
    a.set(topicId, new Set(list));
    if (epochs) {
      const byPartition = epochs.get(topicId) ?? new Map<number, number>();
      const valid = assignedAt !== null && assignedAt.length === list.length;
      list.forEach((p, j) => byPartition.set(p, valid ? assignedAt![j]! : defaultEpoch));
      epochs.set(topicId, byPartition);
    }
  }
  return a;
}

export function encodeEpochValue(epoch: number): Buffer {
  const w = value();
  w.int32(epoch);
  w.uvarint(0);
  return w.finish();
}

export function decodeEpochValue(buf: Buffer): number {
  const r = new Reader(buf);
  r.int16();
  return r.int32();
}

export function encodePartitionMetadataValue(topics: TopicMetadata[]): Buffer {
  const w = value();
  w.compactArrayLength(topics.length);
  for (const t of topics) {
    w.uuid(t.id);
    w.compactString(t.name);
    w.int32(t.numPartitions);
    w.compactArrayLength(0); // partition racks: no racks here
    w.uvarint(0);
  }
  w.uvarint(0);
  return w.finish();
}

export function decodePartitionMetadataValue(buf: Buffer): TopicMetadata[] {
  const r = new Reader(buf);
  r.int16();
  const out: TopicMetadata[] = [];
  for (let i = 0, n = r.compactArrayLength(); i < n; i++) {
    const id = r.uuid();
    const name = r.compactString();
    const numPartitions = r.int32();
    for (let j = 0, m = r.compactArrayLength(); j < m; j++) {
      r.int32();
      for (let k = 0, q = r.compactArrayLength(); k < q; k++) r.compactString();
      r.skipTaggedFields();
    }
    r.skipTaggedFields();
    out.push({ id, name, numPartitions });
  }
  return out;
}

export function encodeMemberMetadataValue(v: MemberMetadataValue): Buffer {
  const w = value();
  w.compactNullableString(v.instanceId);
  w.compactNullableString(v.rackId);
  w.compactString(v.clientId);
  w.compactString(v.clientHost);
  w.compactArrayLength(v.subscribedTopicNames.length);
  for (const t of v.subscribedTopicNames) w.compactString(t);
  w.compactNullableString(v.subscribedTopicRegex);
  w.int32(v.rebalanceTimeoutMs);
  w.compactNullableString(v.serverAssignor);
  if (v.classic === null) {
    w.uvarint(0);
  } else {
    // Kafka's ClassicMemberMetadata is tagged field 0.
    const c = new Writer(64);
    c.int32(v.classic.sessionTimeoutMs);
    c.compactArrayLength(v.classic.protocols.length);
    for (const p of v.classic.protocols) {
      c.compactString(p.name);
      c.compactBytes(p.metadata);
      c.uvarint(0);
    }
    c.uvarint(0);
    const body = c.finish();
    w.uvarint(1);
    w.uvarint(0);
    w.uvarint(body.length);
    w.raw(body);
  }
  return w.finish();
}

export function decodeMemberMetadataValue(buf: Buffer): MemberMetadataValue {
  const r = new Reader(buf);
  r.int16();
  const instanceId = r.compactNullableString();
  const rackId = r.compactNullableString();
  const clientId = r.compactString();
  const clientHost = r.compactString();
  const subscribedTopicNames: string[] = [];
  for (let i = 0, n = r.compactArrayLength(); i < n; i++) subscribedTopicNames.push(r.compactString());
  const subscribedTopicRegex = r.compactNullableString();
  const rebalanceTimeoutMs = r.int32();
  const serverAssignor = r.compactNullableString();
  let classic: ClassicMemberMetadata | null = null;
  for (let i = 0, n = r.uvarint(); i < n; i++) {
    const tag = r.uvarint();
    const len = r.uvarint();
    if (tag !== 0) {
      r.skip(len);
      continue;
    }
    const c = new Reader(r.raw(len));
    const sessionTimeoutMs = c.int32();
    const protocols: { name: string; metadata: Buffer }[] = [];
    for (let j = 0, m = c.compactArrayLength(); j < m; j++) {
      const name = c.compactString();
      const metadata = Buffer.from(c.compactBytes());
      c.skipTaggedFields();
      protocols.push({ name, metadata });
    }
    classic = { sessionTimeoutMs, protocols };
  }
  return { instanceId, rackId, clientId, clientHost, subscribedTopicNames, subscribedTopicRegex, rebalanceTimeoutMs, serverAssignor, classic };
}

export function encodeTargetMemberValue(a: Assignment): Buffer {
  const w = value();
  writeAssignment(w, a);
  w.uvarint(0);
  return w.finish();
}

export function decodeTargetMemberValue(buf: Buffer): Assignment {
  const r = new Reader(buf);
  r.int16();
  return readAssignment(r);
}

export function encodeCurrentAssignmentValue(v: CurrentAssignmentValue): Buffer {
  const w = value();
  w.int32(v.memberEpoch);
  w.int32(v.previousMemberEpoch);
  w.int8(v.state);
  const fallback = Math.max(v.memberEpoch, 0);
  writeAssignment(w, v.assigned, v.assignmentEpochs, fallback);
  writeAssignment(w, v.pendingRevocation, v.assignmentEpochs, fallback);
  w.uvarint(0);
  return w.finish();
}

export function decodeCurrentAssignmentValue(buf: Buffer): CurrentAssignmentValue {
  const r = new Reader(buf);
  r.int16();
  const memberEpoch = r.int32();
  const previousMemberEpoch = r.int32();
  const state = r.int8();
  // Records written before assignment epochs existed: every partition counts as assigned at the member epoch.
  const fallback = Math.max(memberEpoch, 0);
  const assignmentEpochs: PartitionEpochs = new Map();
  const assigned = readAssignment(r, assignmentEpochs, fallback);
  const pendingRevocation = readAssignment(r, assignmentEpochs, fallback);
  return { memberEpoch, previousMemberEpoch, state, assigned, pendingRevocation, assignmentEpochs };
}
