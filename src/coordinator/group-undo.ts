// The undo of a group heartbeat whose write fails, as Kafka's coordinator runtime reverts the
// state a failed write changed: shared by the KIP-848 and streams groups (epoch-groups.ts) and the
// share groups (share-group.ts). Copy-on-write: the group's own fields (a handful) are saved when
// the heartbeat starts; a member's fields, the membership and the target only before their first
// change, and until the heartbeat's write is done (what timers and other requests change meanwhile
// is undone with it, as Kafka reverts everything after a failed write). So a heartbeat costs the
// same in a group of any size.

/** What an undo needs of a group. */
interface UndoableGroup<M, A> {
  readonly members: Map<string, M>;
  readonly target: Map<string, A>;
}

/** What one heartbeat changed of a group. */
export interface GroupUndo<G, M, A> {
  readonly groupId: string;
  /** The group as the heartbeat found it (null: the heartbeat may make it). */
  readonly group: G | null;
  readonly fields: Record<string, unknown>;
  /** Each member changed, with its fields as they were. */
  readonly members: Map<M, Partial<M>>;
  /** The members in order, saved before the first was added or removed. */
  membership: M[] | null;
  target: Map<string, A> | null;
  /** Set when the group became another type in this write (its members' timers all stopped). */
  downgraded: boolean;
  /** While the heartbeat is handled: the undo of the one before, if its write is still to come. */
  earlier: GroupUndo<G, M, A> | undefined;
  /** Once handled: the group's latest before it, while this one's write is to come. */
  previous: GroupUndo<G, M, A> | undefined;
  /** Its write failed while a later one was the group's latest: undone if that one is undone. */
  failed: boolean;
  /** Called once it is undone (a timer whose write failed runs again). */
  onUndone: (() => void) | null;
}

/** The undos of the heartbeats of one kind of group. */
export class GroupUndos<G extends UndoableGroup<M, A>, M extends { memberId: string }, A> {
  /** Each group's latest heartbeat handled: a failed write is undone only if no later one changed the group. */
  private readonly latest = new WeakMap<G, GroupUndo<G, M, A>>();
  /** The undo each change of a group saves into (its heartbeat is handled or being written). */
  private readonly saving = new WeakMap<G, GroupUndo<G, M, A>>();

  /** A heartbeat starts: the group's own fields are saved now, the rest as it changes. */
  start(groupId: string, group: G | undefined): GroupUndo<G, M, A> {
    const undo: GroupUndo<G, M, A> = {
      groupId,
      group: group ?? null,
      fields: group ? { ...(group as object) } : {},
      members: new Map(),
      membership: null,
      target: null,
      downgraded: false,
      earlier: group ? this.saving.get(group) : undefined,
      previous: undefined,
      failed: false,
      onUndone: null,
    };
    if (group) this.saving.set(group, undo);
    return undo;
  }

  /** The heartbeat was handled (its write to come): it is the group's latest. */
  handled(undo: GroupUndo<G, M, A>, group: G | undefined): void {
    undo.earlier = undefined;
    if (!group) return;
    undo.previous = this.latest.get(group);
    this.latest.set(group, undo);
  }

  /**
   * The heartbeat's write failed: the undos to roll back, latest first. While a later heartbeat
   * is the group's latest, none (this one is undone with that one, should its write fail too;
   * one that succeeds built on it). Else this one, and before it each earlier one whose write
   * failed meanwhile, back to one still to be written or written (the group's latest again);
   * none when `undoable` says the group cannot be put back.
   */
  failed(undo: GroupUndo<G, M, A>, group: G, undoable: () => boolean): GroupUndo<G, M, A>[] {
    if (this.latest.get(group) !== undo) {
      undo.failed = true;
      return [];
    }
    if (!undoable()) return [];
    const chain = [undo];
    let p = undo.previous;
    while (p?.failed) {
      chain.push(p);
      p = p.previous;
    }
    if (p) this.latest.set(group, p);
    else this.latest.delete(group);
    for (const u of chain) u.previous = undefined;
    return chain;
  }

  /** The heartbeat's write succeeded: what came before it is built on, never undone. */
  written(undo: GroupUndo<G, M, A>): void {
    undo.previous = undefined;
  }

  /** The heartbeat was refused and undone: an earlier one whose write is to come saves again. */
  refused(undo: GroupUndo<G, M, A>): void {
    if (undo.group && undo.earlier) this.saving.set(undo.group, undo.earlier);
    else if (undo.group) this.saving.delete(undo.group);
    undo.earlier = undefined;
  }

  /** The heartbeat's write is done (or failed): nothing more to save for it. */
  done(undo: GroupUndo<G, M, A>): void {
    if (undo.group && this.saving.get(undo.group) === undo) this.saving.delete(undo.group);
  }

  /** Saves a member's fields before a change to it (a no-op when no heartbeat of its group may be undone). */
  saveMember(group: G, m: M): void {
    const undo = this.saving.get(group);
    if (undo && !undo.members.has(m)) undo.members.set(m, { ...m });
  }

  /** Saves the membership before a member is added or removed. */
  saveMembership(group: G): void {
    const undo = this.saving.get(group);
    if (undo && !undo.membership) undo.membership = [...group.members.values()];
  }

  /** The group becomes another type in the write under way (the undo must restart every member's timers). */
  saveDowngrade(group: G): void {
    const undo = this.saving.get(group);
    if (undo) undo.downgraded = true;
  }

  saveTarget(group: G): void {
    const undo = this.saving.get(group);
    if (undo && !undo.target) undo.target = new Map(group.target);
  }

  /**
   * Puts back what the heartbeat (and what followed it) changed of `group`, but the group's own
   * fields (the caller's, from `undo.fields`) and the members' `timers`, which stay those running
   * now. `dropped` is called for each member no longer in the group; returns the members put
   * back in the group whose fields changed, for the caller to check their timers.
   */
  restore(undo: GroupUndo<G, M, A>, group: G, timers: readonly (keyof M)[], dropped: (m: M) => void): M[] {
    if (undo.membership) {
      const kept = new Set(undo.membership);
      for (const m of group.members.values()) if (!kept.has(m)) dropped(m);
      group.members.clear();
      for (const m of undo.membership) group.members.set(m.memberId, m);
    }
    const restored: M[] = [];
    for (const [member, fields] of undo.members) {
      const running = timers.map((k) => [k, member[k]] as const);
      Object.assign(member, fields);
      for (const [k, v] of running) member[k] = v;
      if (group.members.get(member.memberId) === member) restored.push(member);
    }
    if (undo.target) {
      group.target.clear();
      for (const [memberId, a] of undo.target) group.target.set(memberId, a);
    }
    return restored;
  }
}
