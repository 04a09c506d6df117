// The server-side assignors of KIP-848 consumer groups (`group.consumer.assignors`): `uniform`
// (sticky and balanced, Kafka's default) and `range` (contiguous ranges per topic). Both take the
// members' subscriptions and the subscribed topics' partition counts, and give every member its
// target assignment. Pure functions: the consumer group decides when to run them.

/** topic id → partitions */
export type Assignment = Map<string, Set<number>>;

export interface AssignorMember {
  memberId: string;
  /** Ids of the topics the member subscribes to (those that exist). */
  topics: ReadonlySet<string>;
  /** The member's current target, for stickiness. */
  current: Assignment | undefined;
}

export interface AssignorInput {
  members: AssignorMember[];
  /** topic id → number of partitions, for every subscribed topic that exists. */
  partitions: ReadonlyMap<string, number>;
}

export type Assignor = (input: AssignorInput) => Map<string, Assignment>;

function add(a: Assignment, topicId: string, partition: number): void {
  let set = a.get(topicId);
  if (!set) {
    set = new Set();
    a.set(topicId, set);
  }
  set.add(partition);
}

/**
 * Balanced and sticky: each member keeps as much of its current target as its fair share allows
 * (the share is computed over the members that can take each partition), and the partitions
 * left over go, one by one, to the eligible member holding the fewest.
 */
export const uniformAssignor: Assignor = ({ members, partitions }) => {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  const out = new Map<string, Assignment>(sorted.map((m) => [m.memberId, new Map()]));
  const count = new Map<string, number>(sorted.map((m) => [m.memberId, 0]));
  const all: [string, number][] = [];
  for (const topicId of [...partitions.keys()].sort()) {
    if (!sorted.some((m) => m.topics.has(topicId))) continue;
    for (let p = 0; p < partitions.get(topicId)!; p++) all.push([topicId, p]);
  }
  if (sorted.length === 0) return out;
  // Fair shares: floor(total / members), the first `total % members` (most sticky first) get one more.
  const floor = Math.floor(all.length / sorted.length);
  let extra = all.length % sorted.length;
  const retained = sorted.map((m) => {
    const keep: [string, number][] = [];
    for (const [topicId, parts] of m.current ?? []) {
      if (!m.topics.has(topicId)) continue;
      for (const p of parts) if (p < (partitions.get(topicId) ?? 0)) keep.push([topicId, p]);
    }
    keep.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
    return { m, keep };
  });
  const taken = new Set<string>();
  for (const { m, keep } of [...retained].sort((a, b) => b.keep.length - a.keep.length)) {
    let quota = floor;
    if (extra > 0 && keep.length > floor) {
      quota++;
      extra--;
    }
    let n = 0;
    for (const [topicId, p] of keep) {
      if (n >= quota) break;
      const k = `${topicId}:${p}`;
      if (taken.has(k)) continue;
      taken.add(k);
      add(out.get(m.memberId)!, topicId, p);
      n++;
    }
    count.set(m.memberId, n);
  }
  for (const [topicId, p] of all) {
    if (taken.has(`${topicId}:${p}`)) continue;
    let best: string | null = null;
    for (const m of sorted) {
      if (!m.topics.has(topicId)) continue;
      if (best === null || count.get(m.memberId)! < count.get(best)!) best = m.memberId;
    }
    if (best === null) continue;
    add(out.get(best)!, topicId, p);
    count.set(best, count.get(best)! + 1);
  }
  return out;
};

/** Per topic, its subscribers (by member id) get contiguous ranges; the first ones one more. */
export const rangeAssignor: Assignor = ({ members, partitions }) => {
  const out = new Map<string, Assignment>(members.map((m) => [m.memberId, new Map()]));
  for (const [topicId, n] of partitions) {
    const subs = members
      .filter((m) => m.topics.has(topicId))
      .map((m) => m.memberId)
      .sort();
    if (subs.length === 0) continue;
    const per = Math.floor(n / subs.length);
    const extra = n % subs.length;
    let next = 0;
    subs.forEach((memberId, i) => {
      const len = per + (i < extra ? 1 : 0);
      for (let p = next; p < next + len; p++) add(out.get(memberId)!, topicId, p);
      next += len;
    });
  }
  return out;
};

export const ASSIGNORS: Record<string, Assignor> = { uniform: uniformAssignor, range: rangeAssignor };
