// The server-side task assignor of KIP-1071 streams groups: Kafka's `sticky` assignor, in its
// behaviour. A task is (subtopology id, partition). Members are grouped by their process (one
// Kafka Streams instance, several stream threads = several members); a process's capacity is its
// number of members.
//
// - Active tasks: the stateful tasks are balanced first, then the stateless ones fill up the
//   remaining capacity. A task stays with its previous active owner while that member is under
//   its quota (ceil(tasks / members)); else it goes to a member that holds it as a standby (its
//   state is there); else to the least loaded process, and within it the least loaded member.
// - Standby tasks (`group.streams.num.standby.replicas`): each stateful task gets up to that many
//   standbys, each on a different process than the active task and than each other, previous
//   holders first, then the least loaded processes. Fewer processes mean fewer standbys.
// - Rack awareness (as Kafka Streams' client-tag-aware standby assignor does on the client side;
//   Kafka 4.4's broker-side sticky assignor only reports missing tags): a member may carry its
//   placement, values by dimension (the client tags named by `rack.aware.assignment.tags`, or
//   else its rack id). A standby then goes first to a process whose values differ, in the most
//   dimensions, from those of the active task's process and of the standbys placed before it;
//   only among equally distinct processes do previous holders, then load, decide.
// - Warm-up tasks: Kafka's sticky assignor hands none out (they belong to a high-availability
//   assignor); so neither does this one.

/** subtopology id → partitions */
export type TaskMap = Map<string, Set<number>>;

export interface Tasks {
  active: TaskMap;
  standby: TaskMap;
  warmup: TaskMap;
}

export const emptyTasks = (): Tasks => ({ active: new Map(), standby: new Map(), warmup: new Map() });

export interface AssignorMember {
  memberId: string;
  processId: string;
  /** What the member had before (its previous target): stickiness. */
  previous: Tasks;
  /** Where the member runs: a value per dimension (client tag key, or rack); standbys spread over them. */
  placement?: ReadonlyMap<string, string>;
}

export interface AssignorInput {
  members: AssignorMember[];
  /** subtopology id → number of tasks (partitions) and whether it has state. */
  subtopologies: Map<string, { tasks: number; stateful: boolean }>;
  numStandbyReplicas: number;
}

interface Proc {
  id: string;
  /** The placement of its first member (a process's members share their configuration). */
  placement: ReadonlyMap<string, string>;
  members: string[];
  /** Tasks (active + standby) per member. */
  load: Map<string, number>;
  active: Map<string, number>;
  tasks: Set<string>;
}

const key = (s: string, p: number) => `${s}\u0000${p}`;
const unkey = (k: string): [string, number] => {
  const i = k.indexOf('\u0000');
  return [k.slice(0, i), Number(k.slice(i + 1))];
};

function add(m: TaskMap, s: string, p: number): void {
  let set = m.get(s);
  if (!set) {
    set = new Set();
    m.set(s, set);
  }
  set.add(p);
}

export function assignTasks(input: AssignorInput): Map<string, Tasks> {
  const out = new Map<string, Tasks>();
  const members = [...input.members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0));
  for (const m of members) out.set(m.memberId, emptyTasks());
  if (members.length === 0) return out;

  const procs = new Map<string, Proc>();
  const procOf = new Map<string, Proc>();
  for (const m of members) {
    let p = procs.get(m.processId);
    if (!p) {
      p = { id: m.processId, placement: m.placement ?? new Map(), members: [], load: new Map(), active: new Map(), tasks: new Set() };
      procs.set(m.processId, p);
    }
    p.members.push(m.memberId);
    p.load.set(m.memberId, 0);
    p.active.set(m.memberId, 0);
    procOf.set(m.memberId, p);
  }
  const procLoad = (p: Proc) => [...p.load.values()].reduce((a, b) => a + b, 0) / p.members.length;
  const leastLoadedMember = (p: Proc, byActive: boolean) =>
    p.members.reduce((best, id) => {
      const l = byActive ? p.active.get(id)! : p.load.get(id)!;
      const b = byActive ? p.active.get(best)! : p.load.get(best)!;
      return l < b ? id : best;
    }, p.members[0]!);

  const prevActive = new Map<string, string>();
  const prevStandby = new Map<string, string[]>();
  for (const m of members) {
    for (const [s, parts] of m.previous.active) for (const p of parts) prevActive.set(key(s, p), m.memberId);
    for (const map of [m.previous.standby, m.previous.warmup])
      for (const [s, parts] of map)
        for (const p of parts) {
          const k = key(s, p);
          prevStandby.set(k, [...(prevStandby.get(k) ?? []), m.memberId]);
        }
  }

  const stateful: string[] = [];
  const stateless: string[] = [];
  for (const [s, info] of [...input.subtopologies].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    for (let p = 0; p < info.tasks; p++) (info.stateful ? stateful : stateless).push(key(s, p));
  }
  const activeOwner = new Map<string, string>();
  const assignActive = (memberId: string, k: string) => {
    const [s, p] = unkey(k);
    add(out.get(memberId)!.active, s, p);
    const proc = procOf.get(memberId)!;
    proc.load.set(memberId, proc.load.get(memberId)! + 1);
    proc.active.set(memberId, proc.active.get(memberId)! + 1);
    proc.tasks.add(k);
    activeOwner.set(k, memberId);
  };

  const total = stateful.length + stateless.length;
  const quota = Math.ceil(total / members.length);
  for (const list of [stateful, stateless]) {
    const listQuota = Math.ceil(list.length / members.length);
    const inList = new Map<string, number>();
    const under = (id: string) => (inList.get(id) ?? 0) < listQuota && procOf.get(id)!.active.get(id)! < quota;
    const take = (id: string, k: string) => {
      assignActive(id, k);
      inList.set(id, (inList.get(id) ?? 0) + 1);
    };
    const left: string[] = [];
    // Sticky: the previous active owner keeps the task while under its quota.
    for (const k of list) {
      const prev = prevActive.get(k);
      if (prev !== undefined && out.has(prev) && under(prev)) take(prev, k);
      else left.push(k);
    }
    const rest: string[] = [];
    // Then a previous standby holder (its state is local).
    for (const k of left) {
      const holder = (prevStandby.get(k) ?? []).find((id) => out.has(id) && under(id));
      if (holder !== undefined) take(holder, k);
      else rest.push(k);
    }
    // Then the least loaded process, least loaded member in it.
    for (const k of rest) {
      let best: string | undefined;
      let bestScore: [number, number] = [Infinity, Infinity];
      for (const strict of [true, false]) {
        for (const m of members) {
          if (strict && !under(m.memberId)) continue;
          const proc = procOf.get(m.memberId)!;
          const score: [number, number] = [procLoad(proc), proc.active.get(m.memberId)!];
          if (score[0] < bestScore[0] || (score[0] === bestScore[0] && score[1] < bestScore[1])) [best, bestScore] = [m.memberId, score];
        }
        // Every member at its quota for this list (rounding): the least loaded overall.
        if (best !== undefined) break;
      }
      take(best!, k);
    }
  }

  if (input.numStandbyReplicas > 0) {
    for (const k of stateful) {
      const activeProc = procOf.get(activeOwner.get(k)!)!;
      const used = new Set<string>([activeProc.id]);
      // The placement values taken so far by this task's replicas, per dimension.
      const taken = new Map<string, Set<string>>();
      const takePlacement = (p: Proc) => {
        for (const [dim, value] of p.placement) taken.set(dim, (taken.get(dim) ?? new Set()).add(value));
      };
      const distinctness = (p: Proc) => {
        let n = 0;
        for (const [dim, value] of p.placement) if (!taken.get(dim)?.has(value)) n++;
        return n;
      };
      takePlacement(activeProc);
      const previous = new Set((prevStandby.get(k) ?? []).filter((id) => out.has(id)));
      for (let r = 0; r < input.numStandbyReplicas; r++) {
        // Most distinct placement first; then a previous holder of the task; then the least loaded.
        let target: string | undefined;
        let best: [number, number, number] = [-1, -1, Infinity];
        for (const p of procs.values()) {
          if (used.has(p.id)) continue;
          const holder = p.members.find((id) => previous.has(id));
          const score: [number, number, number] = [distinctness(p), holder !== undefined ? 1 : 0, procLoad(p)];
          const better = score[0] !== best[0] ? score[0] > best[0] : score[1] !== best[1] ? score[1] > best[1] : score[2] < best[2];
          if (better) [target, best] = [holder ?? leastLoadedMember(p, false), score];
        }
        if (target === undefined) break;
        const proc = procOf.get(target)!;
        used.add(proc.id);
        takePlacement(proc);
        const [s, p] = unkey(k);
        add(out.get(target)!.standby, s, p);
        proc.load.set(target, proc.load.get(target)! + 1);
      }
    }
  }
  return out;
}
