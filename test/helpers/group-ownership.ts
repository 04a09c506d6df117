// Partition ownership in a consumer group as its member programs report it (the Java compat
// tests' GroupMember.java prints `ASSIGNED t-0,t-1`, `REVOKED …`, `LOST …` from its rebalance
// listener and `RECORD t-p offset` per record): who owns what, every partition handed to a member
// while another still owned it, and the records consumed.
import type { ChildProcess } from 'node:child_process';

/** A member program: its stdout lines so far, and the process. */
export interface MemberOutput {
  lines(): string[];
  readonly child: ChildProcess;
}

export class GroupOwnership {
  readonly owner = new Map<string, string>();
  readonly violations: string[] = [];
  readonly records = new Set<string>();
  watch(name: string, p: MemberOutput): void {
    let seen = 0;
    const scan = () => {
      const lines = p.lines();
      for (; seen < lines.length; seen++) {
        const [kind, arg = '', offset] = lines[seen]!.split(' ');
        const parts = arg === '' ? [] : arg.split(',');
        if (kind === 'ASSIGNED') {
          for (const tp of parts) {
            const prev = this.owner.get(tp);
            if (prev !== undefined && prev !== name) this.violations.push(`${tp} assigned to ${name} while ${prev} owns it`);
            this.owner.set(tp, name);
          }
        } else if (kind === 'REVOKED' || kind === 'LOST') {
          for (const tp of parts) if (this.owner.get(tp) === name) this.owner.delete(tp);
        } else if (kind === 'RECORD') {
          this.records.add(`${arg}:${offset}`);
        }
      }
    };
    p.child.stdout!.on('data', () => setImmediate(scan));
  }
  of(name: string): string[] {
    return [...this.owner].filter(([, m]) => m === name).map(([tp]) => tp);
  }
  forget(name: string): void {
    for (const [tp, m] of [...this.owner]) if (m === name) this.owner.delete(tp);
  }
}
