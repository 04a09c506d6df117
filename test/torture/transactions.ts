// "Transactions intact" for the crash torture, as far as the wire allows today: the partition side
// of transactions is in (LSO, open transactions in producer state and its snapshots), the
// transaction coordinator (AddPartitionsToTxn, EndTxn) is not, so no transaction can be ended
// over the wire yet. One producer keeps a transaction open on `torture-txn-0` for the whole run,
// another writes plain idempotent data next to it. After every kill and restart:
//   - both producers' acknowledged records are there exactly once, in order (the harness judges them);
//   - the last stable offset (ListOffsets read_committed) is still pinned at the first offset of the
//     open transaction: a crash must not forget it, or uncommitted data would become visible;
//   - a read_committed Fetch returns exactly the records below the LSO, and says so in lastStableOffset.
// When the coordinator lands: let the transactional producer commit and abort (EndTxn) and check
// that read_committed sees exactly the committed records, with the aborted ones listed.
import { ErrorCode, errorName } from '../../src/protocol/errors.js';
import { RawClient } from '../helpers/raw-client.js';
import { fetchRequest } from '../helpers/requests.js';
import { PartitionProducer, request, type TortureExtension } from './harness.js';
import { API, decodeBatches, listOffset, readPartition } from './log-reader.js';

const TOPIC = 'torture-txn';
const READ_COMMITTED = 1;

export function openTransactionExtension(): TortureExtension {
  const plain = new PartitionProducer(TOPIC, 0, 'plain', { label: 'txn-plain' });
  const open = new PartitionProducer(TOPIC, 0, 'plain', { label: 'txn-open', transactionalId: 'torture-tx' });
  return {
    name: 'transactions',
    topics: [{ name: TOPIC, partitions: 1, kind: 'plain', configs: { 'segment.bytes': '8192' } }],
    producers: [plain, open],
    async verify(client: RawClient): Promise<string[]> {
      const problems: string[] = [];
      const all = await readPartition(client, TOPIC, 0);
      const openOffsets = all.records.filter((r) => r.value?.startsWith('txn-open:')).map((r) => r.offset);
      const expectedLso = openOffsets.length > 0 ? Math.min(...openOffsets) : all.highWatermark;
      const lso = await listOffset(client, TOPIC, 0, -1, READ_COMMITTED);
      if (lso !== expectedLso) {
        problems.push(`last stable offset ${lso}, but the open transaction starts at ${openOffsets[0] ?? 'none'} (high watermark ${all.highWatermark})`);
      }
      // read_committed sees exactly what lies below the LSO.
      const below = all.records.filter((r) => r.offset < lso).map((r) => `${r.offset}:${r.value}`);
      const seen: string[] = [];
      let offset = all.logStartOffset;
      for (let i = 0; offset < lso && i < 10_000; i++) {
        const res = await request(client, API.Fetch, 12, fetchRequest({ isolationLevel: READ_COMMITTED, topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: offset }] }] }));
        const p = res.body.responses[0].partitions[0];
        if (p.errorCode !== ErrorCode.NONE) return [...problems, `read_committed fetch at ${offset}: ${errorName(p.errorCode)}`];
        if (Number(p.lastStableOffset) !== lso) problems.push(`fetch says lastStableOffset ${p.lastStableOffset}, ListOffsets ${lso}`);
        const decoded = decodeBatches(p.records ?? Buffer.alloc(0));
        if (decoded.nextOffset === null) break;
        for (const r of decoded.records) if (r.offset >= offset) seen.push(`${r.offset}:${r.value}`);
        offset = decoded.nextOffset;
      }
      const leaked = seen.filter((r) => Number(r.split(':')[0]) >= lso);
      if (leaked.length > 0) problems.push(`read_committed returned ${leaked.length} records at or above the LSO ${lso}, first ${leaked[0]!.slice(0, 40)}`);
      const visible = seen.filter((r) => Number(r.split(':')[0]) < lso);
      if (visible.join('\n') !== below.join('\n')) problems.push(`read_committed returned ${visible.length} records below the LSO ${lso}, read_uncommitted ${below.length}`);
      return problems;
    },
  };
}
