// The topics of an OffsetCommit or TxnOffsetCommit, sorted as Kafka's request handler does before
// the group coordinator sees them: a partition that does not exist answers
// UNKNOWN_TOPIC_OR_PARTITION by itself, whatever the group's state, and a request left without
// partitions never reaches the coordinator (nor creates a group, nor checks a transaction).
import { ErrorCode } from '../../protocol/errors.js';

export interface CommitTopicAnswer {
  name: string;
  topicId: string;
  partitions: { partitionIndex: number; errorCode: number }[];
}

/** Splits `topics` (already named) into the partitions that exist and the answers of those that do not. */
export function splitUnknownPartitions<P extends { partitionIndex: number }, T extends { name: string; topicId: string; partitions: P[] }>(
  topics: T[],
  exists: (topic: string, partition: number) => boolean,
): { known: T[]; unknown: CommitTopicAnswer[] } {
  const known: T[] = [];
  const unknown: CommitTopicAnswer[] = [];
  for (const t of topics) {
    const here = t.partitions.filter((p) => exists(t.name, p.partitionIndex));
    const missing = t.partitions.filter((p) => !exists(t.name, p.partitionIndex));
    if (here.length > 0) known.push(here.length === t.partitions.length ? t : { ...t, partitions: here });
    if (missing.length > 0) {
      unknown.push({
        name: t.name,
        topicId: t.topicId,
        partitions: missing.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION })),
      });
    }
  }
  return { known, unknown };
}

/** One answer for each topic (by name and id), its partitions gathered from every list in order. */
export function mergeTopicAnswers(...lists: CommitTopicAnswer[][]): CommitTopicAnswer[] {
  const byTopic = new Map<string, CommitTopicAnswer>();
  for (const list of lists) {
    for (const t of list) {
      const key = `${t.topicId}\0${t.name}`;
      const seen = byTopic.get(key);
      if (seen) seen.partitions.push(...t.partitions);
      else byTopic.set(key, { ...t, partitions: [...t.partitions] });
    }
  }
  return [...byTopic.values()];
}
