// The KIP-1071 streams group records in the group's __consumer_offsets partition. A key is an
// int16 record type then the group id (and member id); record types 17-22 follow the consumer
// (3-8) and share group types. A value is an int16 version (0) then a UTF-8 JSON document: this
// layout is Tributary's own (only Tributary reads these records back).
//
//   17 StreamsGroupMetadata              key: group             value: { epoch, metadata }  (metadata: the topics' signature)
//   18 StreamsGroupTopology              key: group             value: the topology (epoch, subtopologies)
//   19 StreamsGroupMemberMetadata        key: group, member id  value: instance, rack, client, process, endpoint, tags, ...
//   20 StreamsGroupTargetAssignmentMeta  key: group             value: { epoch }
//   21 StreamsGroupTargetAssignmentMember key: group, member id value: { active, standby, warmup }
//   22 StreamsGroupCurrentMemberAssignment key: group, member id value: epochs, state, assigned and pending-revocation tasks
//
// A null value is a tombstone.
import { Reader, Writer } from '../protocol/primitives.js';
import type { TaskMap, Tasks } from './streams-group-assignor.js';

export const SG_METADATA = 17;
export const SG_TOPOLOGY = 18;
export const SG_MEMBER_METADATA = 19;
export const SG_TARGET_METADATA = 20;
export const SG_TARGET_MEMBER = 21;
export const SG_CURRENT_MEMBER = 22;

const GROUP_TYPES = new Set([SG_METADATA, SG_TOPOLOGY, SG_TARGET_METADATA]);
const MEMBER_TYPES = new Set([SG_MEMBER_METADATA, SG_TARGET_MEMBER, SG_CURRENT_MEMBER]);

export type StreamsGroupKey = { type: number; group: string; memberId?: string };

export function encodeStreamsGroupKey(type: number, group: string, memberId?: string): Buffer {
  const w = new Writer(64);
  w.int16(type);
  w.string(group);
  if (memberId !== undefined) w.string(memberId);
  return w.finish();
}

/** A streams group key (types 17-22), or null for any other record type. */
export function decodeStreamsGroupKey(buf: Buffer): StreamsGroupKey | null {
  const r = new Reader(buf);
  const type = r.int16();
  if (GROUP_TYPES.has(type)) return { type, group: r.string() };
  if (MEMBER_TYPES.has(type)) return { type, group: r.string(), memberId: r.string() };
  return null;
}

export function encodeJsonValue(v: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(v), 'utf8');
  const out = Buffer.alloc(2 + body.length);
  out.writeInt16BE(0, 0);
  body.copy(out, 2);
  return out;
}

export function decodeJsonValue<T>(buf: Buffer): T {
  return JSON.parse(buf.subarray(2).toString('utf8')) as T;
}

/** Tasks as JSON: subtopology id → sorted partitions. */
export type WireTaskMap = [string, number[]][];
export interface WireTasks {
  active: WireTaskMap;
  standby: WireTaskMap;
  warmup: WireTaskMap;
}

export const taskMapToJson = (m: TaskMap): WireTaskMap => [...m].filter(([, p]) => p.size > 0).map(([s, p]) => [s, [...p].sort((a, b) => a - b)]);
export const taskMapFromJson = (w: WireTaskMap | undefined): TaskMap => new Map((w ?? []).map(([s, p]) => [s, new Set(p)]));
export const tasksToJson = (t: Tasks): WireTasks => ({ active: taskMapToJson(t.active), standby: taskMapToJson(t.standby), warmup: taskMapToJson(t.warmup) });
export const tasksFromJson = (w: WireTasks | undefined): Tasks => ({
  active: taskMapFromJson(w?.active),
  standby: taskMapFromJson(w?.standby),
  warmup: taskMapFromJson(w?.warmup),
});
