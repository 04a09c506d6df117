// Tells, for batches visited in offset order, which hold data of an aborted transaction: the
// cleaner drops those records and keeps them out of its offset map (an aborted value must not
// shadow an older committed one), as Kafka's cleaner does.
import { isControl, isTransactional, type BatchHeader } from '../protocol/records/record-batch.js';
import type { AbortedTxn } from './txn-index.js';

export class AbortedBatchTracker {
  /** Not yet started, by first offset. */
  private readonly upcoming: AbortedTxn[];
  private next = 0;
  /** producerId → the aborted transaction of that producer the walk is inside of. */
  private readonly current = new Map<number, AbortedTxn>();

  constructor(aborted: readonly AbortedTxn[]) {
    this.upcoming = [...aborted].sort((a, b) => a.firstOffset - b.firstOffset);
  }

  /** Call for every batch, in offset order; true when its records belong to an aborted transaction. */
  isAborted(header: BatchHeader): boolean {
    const lastOffset = header.baseOffset + header.lastOffsetDelta;
    while (this.next < this.upcoming.length && this.upcoming[this.next]!.firstOffset <= lastOffset) {
      const txn = this.upcoming[this.next++]!;
      this.current.set(txn.producerId, txn);
    }
    const txn = this.current.get(header.producerId);
    if (!txn || header.baseOffset > txn.lastOffset) return false;
    if (isControl(header.attributes)) {
      if (header.baseOffset === txn.lastOffset) this.current.delete(header.producerId);
      return false;
    }
    return isTransactional(header.attributes);
  }
}
