// The records the group coordinator writes to __consumer_offsets. Keys and values are
// version-prefixed (int16) big-endian structures with Kafka's string (int16 length) and bytes
// (int32 length) encodings, following the layouts Kafka's own coordinator uses:
//
//   offset commit key   v1: group string, topic string, partition int32
//   offset commit value v3: offset int64, leader epoch int32, metadata string, commit timestamp int64
//   group key           v2: group string
//   group value         v3: protocol type string, generation int32, protocol nullable string,
//                           leader nullable string, state timestamp int64, members array of
//                           { member id string, instance id nullable string, client id string,
//                             client host string, rebalance timeout int32, session timeout int32,
//                             subscription bytes, assignment bytes }
//
// A null value is a tombstone: compaction keeps only the latest record per key, so an offset
// key or a group key followed by a tombstone disappears.
import { Reader, Writer } from '../protocol/primitives.js';

export const OFFSET_KEY_VERSION = 1;
export const OFFSET_VALUE_VERSION = 3;
export const GROUP_KEY_VERSION = 2;
export const GROUP_VALUE_VERSION = 3;

export interface OffsetKey {
  kind: 'offset';
  group: string;
  topic: string;
  partition: number;
}

export interface GroupKey {
  kind: 'group';
  group: string;
}

export type CoordinatorKey = OffsetKey | GroupKey;

export interface OffsetValue {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
}

export interface MemberValue {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupValue {
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  stateTimestamp: number;
  members: MemberValue[];
}

/** One record for the log: a key and a value (null = tombstone). */
export interface CoordinatorRecord {
  key: Buffer;
  value: Buffer | null;
}

export function encodeOffsetKey(group: string, topic: string, partition: number): Buffer {
  const w = new Writer(64);
  w.int16(OFFSET_KEY_VERSION);
  w.string(group);
  w.string(topic);
  w.int32(partition);
  return w.finish();
}

export function encodeGroupKey(group: string): Buffer {
  const w = new Writer(32);
  w.int16(GROUP_KEY_VERSION);
  w.string(group);
  return w.finish();
}

/** Decodes a key; null for versions this broker does not know (they are skipped on replay). */
export function decodeKey(buf: Buffer): CoordinatorKey | null {
  const r = new Reader(buf);
  const version = r.int16();
  if (version === 0 || version === 1) {
    return { kind: 'offset', group: r.string(), topic: r.string(), partition: r.int32() };
  }
  if (version === 2) return { kind: 'group', group: r.string() };
  return null;
}

export function encodeOffsetValue(v: OffsetValue): Buffer {
  const w = new Writer(64);
  w.int16(OFFSET_VALUE_VERSION);
  w.int64(v.offset);
  w.int32(v.leaderEpoch);
  w.string(v.metadata);
  w.int64(v.commitTimestamp);
  return w.finish();
}

export function decodeOffsetValue(buf: Buffer): OffsetValue | null {
  const r = new Reader(buf);
  const version = r.int16();
  if (version !== OFFSET_VALUE_VERSION) return null;
  return { offset: r.int64(), leaderEpoch: r.int32(), metadata: r.string(), commitTimestamp: r.int64() };
}

export function encodeGroupValue(v: GroupValue): Buffer {
  const w = new Writer(256);
  w.int16(GROUP_VALUE_VERSION);
  w.string(v.protocolType);
  w.int32(v.generation);
  w.nullableString(v.protocol);
  w.nullableString(v.leader);
  w.int64(v.stateTimestamp);
  w.arrayLength(v.members.length);
  for (const m of v.members) {
    w.string(m.memberId);
    w.nullableString(m.groupInstanceId);
    w.string(m.clientId);
    w.string(m.clientHost);
    w.int32(m.rebalanceTimeoutMs);
    w.int32(m.sessionTimeoutMs);
    w.bytes(m.subscription);
    w.bytes(m.assignment);
  }
  return w.finish();
}

export function decodeGroupValue(buf: Buffer): GroupValue | null {
  const r = new Reader(buf);
  const version = r.int16();
  if (version !== GROUP_VALUE_VERSION) return null;
  const protocolType = r.string();
  const generation = r.int32();
  const protocol = r.nullableString();
  const leader = r.nullableString();
  const stateTimestamp = r.int64();
  const members: MemberValue[] = [];
  for (let i = 0, n = r.arrayLength(); i < n; i++) {
    members.push({
      memberId: r.string(),
      groupInstanceId: r.nullableString(),
      clientId: r.string(),
      clientHost: r.string(),
      rebalanceTimeoutMs: r.int32(),
      sessionTimeoutMs: r.int32(),
      subscription: Buffer.from(r.bytes()),
      assignment: Buffer.from(r.bytes()),
    });
  }
  return { protocolType, generation, protocol, leader, stateTimestamp, members };
}

/** Java's String.hashCode over UTF-16 code units, as a signed 32-bit integer. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The __consumer_offsets partition that coordinates a group, as Kafka computes it. */
export function partitionForGroup(groupId: string, partitions: number): number {
  const h = javaStringHashCode(groupId);
  // Kafka's Utils.abs maps MIN_VALUE to 0 (h & 0x7fffffff), not to a negative number.
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}
