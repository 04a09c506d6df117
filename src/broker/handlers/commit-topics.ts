// The topics of an OffsetCommit or TxnOffsetCommit, sorted as Kafka 4.4's request handler sorts
// them before the group coordinator sees them (KafkaApis.handleOffsetCommitRequest and
// handleTxnOffsetCommitRequest walk the topics the same way): a partition that does not exist,
// or of a topic that may not be read, answers by itself, whatever the group's state, and a
// request left without partitions never reaches the coordinator (nor creates a group, nor checks
// a transaction).
import { ErrorCode } from '../../protocol/errors.js';
import { ZERO_UUID } from '../../protocol/primitives.js';
import type { Connection } from '../../network/connection.js';
import type { Broker } from '../broker.js';
import { Op } from '../security/security.js';

export interface CommitTopicAnswer {
  name: string;
  topicId: string;
  partitions: { partitionIndex: number; errorCode: number }[];
}

/** What sorting a commit's topics asks of the broker. */
export interface CommitTopicChecks {
  /** The request names topics by id (OffsetCommit v10, TxnOffsetCommit v6) instead of by name. */
  useTopicIds: boolean;
  /** The name of the topic with this id, undefined when the broker knows no such topic. */
  nameOf(topicId: string): string | undefined;
  /** Whether the client may READ the topic. */
  mayRead(topic: string): boolean;
  exists(topic: string, partition: number): boolean;
}

/** The checks of a commit's topics on this broker, for a client on `conn`. */
export function commitTopicChecks(broker: Broker, conn: Connection, useTopicIds: boolean): CommitTopicChecks {
  return {
    useTopicIds,
    nameOf: (topicId) => broker.topicsById.get(topicId)?.name,
    mayRead: (topic) => broker.security.topic(conn, Op.READ, topic),
    exists: (topic, partition) => broker.partitionExists(topic, partition),
  };
}

export interface SortedCommitTopics<T> {
  /** The topics for the group coordinator: by name, with only their partitions that exist. */
  known: T[];
  /**
   * The answer to the request: the coordinator's answers (`committed`, one per topic it was
   * given) as they are when nothing failed here; else the partitions that failed here, in
   * request order, with the coordinator's answers merged in.
   */
  answer(committed: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[]): CommitTopicAnswer[];
}

/**
 * Each topic in request order, as Kafka does: an id the broker does not know (never created, or
 * a deleted topic's, also once the name exists again; the zero id) answers UNKNOWN_TOPIC_ID;
 * then READ on the topic, by name (without it every partition answers TOPIC_AUTHORIZATION_FAILED,
 * uncommitted); then a partition that does not exist answers UNKNOWN_TOPIC_OR_PARTITION. Kafka's
 * response builder (OffsetCommitResponse.Builder, TxnOffsetCommitResponse.Builder) keeps one
 * entry per topic (by id, or by name), in the order of their first failure, and appends the
 * coordinator's answers to it: the failures come first, then the topics that only the
 * coordinator answered, a topic named twice merged into one entry. When nothing failed here the
 * builder takes the coordinator's answer whole: one entry per topic of the request, in its order,
 * a topic named twice answered twice.
 */
export function sortCommitTopics<P extends { partitionIndex: number }, T extends { name: string; topicId: string; partitions: P[] }>(
  topics: T[],
  checks: CommitTopicChecks,
): SortedCommitTopics<T> {
  const failed: CommitTopicAnswer[] = [];
  const known: T[] = [];
  const fail = (t: T, name: string, partitions: P[], errorCode: number) =>
    failed.push({
      name,
      topicId: checks.useTopicIds ? t.topicId : ZERO_UUID,
      partitions: partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
    });
  for (const t of topics) {
    const name = checks.useTopicIds ? (t.topicId === ZERO_UUID ? undefined : checks.nameOf(t.topicId)) : t.name;
    if (name === undefined) {
      fail(t, '', t.partitions, ErrorCode.UNKNOWN_TOPIC_ID);
      continue;
    }
    if (!checks.mayRead(name)) {
      fail(t, name, t.partitions, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      continue;
    }
    const here = t.partitions.filter((p) => checks.exists(name, p.partitionIndex));
    if (here.length < t.partitions.length) {
      fail(
        t,
        name,
        t.partitions.filter((p) => !checks.exists(name, p.partitionIndex)),
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      );
    }
    if (here.length > 0) known.push(here.length === t.partitions.length && name === t.name ? t : { ...t, name, partitions: here });
  }
  const idOf = new Map(known.map((t) => [t.name, checks.useTopicIds ? t.topicId : ZERO_UUID]));
  return {
    known,
    answer: (committed) => {
      const answered = committed.map((t) => ({ name: t.name, topicId: idOf.get(t.name) ?? ZERO_UUID, partitions: t.partitions }));
      return failed.length === 0 ? answered : mergeTopicAnswers(failed, answered);
    },
  };
}

/** One answer for each topic (by name and id), its partitions gathered from every list in order. */
function mergeTopicAnswers(...lists: CommitTopicAnswer[][]): CommitTopicAnswer[] {
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
