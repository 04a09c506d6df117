// Partitions assigned by topic id, as consumer groups (KIP-848) and share groups (KIP-932) hold
// them: how many, whether two are the same, their wire forms, and whether the topics a target was
// computed from are still the same.
import type { Assignment } from './consumer-group-assignors.js';
import type { TopicMetadata } from './consumer-group-records.js';

/** How many partitions the assignment holds, over all its topics. */
export const assignmentSize = (a: Assignment): number => [...a.values()].reduce((n, s) => n + s.size, 0);

export function sameAssignment(a: Assignment, b: Assignment): boolean {
  if (assignmentSize(a) !== assignmentSize(b)) return false;
  for (const [t, parts] of a) for (const p of parts) if (!b.get(t)?.has(p)) return false;
  return true;
}

/** The assignment as a heartbeat or describe answers it: topics with partitions, partitions in order. */
export function toWire(a: Assignment): { topicId: string; partitions: number[] }[] {
  return [...a].filter(([, p]) => p.size > 0).map(([topicId, p]) => ({ topicId, partitions: [...p].sort((x, y) => x - y) }));
}

/** The assignment as ConsumerGroupDescribe and ShareGroupDescribe answer it: with topic names; none is empty. */
export function describedAssignment(
  a: Assignment | undefined,
  topicName: (topicId: string) => string,
): { topicPartitions: { topicId: string; topicName: string; partitions: number[] }[] } {
  return { topicPartitions: toWire(a ?? new Map<string, Set<number>>()).map((t) => ({ topicId: t.topicId, topicName: topicName(t.topicId), partitions: t.partitions })) };
}

/** Whether two views of the subscribed topics (name → metadata) name the same ids and partition counts. */
export function sameTopics(a: Map<string, TopicMetadata>, b: Map<string, TopicMetadata>): boolean {
  if (a.size !== b.size) return false;
  for (const [n, t] of a) {
    const o = b.get(n);
    if (!o || o.id !== t.id || o.numPartitions !== t.numPartitions) return false;
  }
  return true;
}
