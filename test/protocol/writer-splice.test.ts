// The Writer's splicing (large raw() buffers referenced, not copied) must give the very bytes a
// copying Writer gives, whatever sizes, patches and tagged-field insertions come around them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../src/protocol/primitives.js';
import { apiByKey, ApiKey } from '../../src/protocol/generated/index.js';
import { rng } from '../helpers/rng.js';

test('random programs write the same bytes with and without splicing', () => {
  const random = rng(20261125);
  for (let program = 0; program < 300; program++) {
    const plain = new Writer(16);
    const spliced = new Writer(16, { spliceMinBytes: 8 });
    const both = (fn: (w: Writer) => void) => {
      fn(plain);
      fn(spliced);
    };
    const reserved: number[] = [];
    const open: number[] = [];
    for (let op = 0; op < 40; op++) {
      const r = random();
      if (r < 0.3) {
        const data = Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256)));
        both((w) => w.raw(data));
      } else if (r < 0.45) {
        const n = Math.floor(random() * 1e6);
        both((w) => w.uvarint(n));
      } else if (r < 0.55) {
        const lengths = [plain.length, spliced.length];
        assert.equal(lengths[0], lengths[1]);
        reserved.push(plain.reserveInt32());
        assert.equal(spliced.reserveInt32(), reserved.at(-1));
      } else if (r < 0.65 && reserved.length > 0) {
        const at = reserved.splice(Math.floor(random() * reserved.length), 1)[0]!;
        const value = plain.length - at;
        both((w) => w.patchInt32(at, value));
      } else if (r < 0.75) {
        open.push(plain.length);
      } else if (r < 0.85 && open.length > 0) {
        const start = open.pop()!;
        // Positions taken inside the shifted region are stale now, as for any insertSizeAt user:
        // patch them first.
        for (let i = reserved.length - 1; i >= 0; i--) {
          if (reserved[i]! < start) continue;
          const at = reserved.splice(i, 1)[0]!;
          both((w) => w.patchInt32(at, 7));
        }
        both((w) => w.insertSizeAt(start));
        for (let i = open.length - 1; i >= 0; i--) if (open[i]! > start) open.splice(i, 1);
      } else {
        const s = `s${op}-${Math.floor(random() * 1000)}`;
        both((w) => w.compactString(s));
      }
      assert.equal(spliced.length, plain.length);
    }
    // A reserved int32 holds whatever the buffer held until it is patched.
    for (const at of reserved) both((w) => w.patchInt32(at, 0x01020304));
    const expected = plain.finish();
    assert.deepEqual(Buffer.concat(spliced.finishChunks()), expected, `program ${program}`);
    assert.deepEqual(spliced.finish(), expected);
  }
});

test('a FetchResponse with large records encodes identically at every version, the records referenced', () => {
  const spec = apiByKey.get(ApiKey.Fetch)!;
  const records = Buffer.alloc(100_000, 7);
  for (let version = 4; version <= 17; version++) {
    const body = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [0, 1].map((t) => ({
        topic: `t${t}`,
        topicId: '00000000-0000-0000-0000-00000000000' + t,
        partitions: [0, 1].map((partitionIndex) => ({
          partitionIndex,
          errorCode: 0,
          highWatermark: 10,
          lastStableOffset: 10,
          logStartOffset: 0,
          // Tagged fields after the records exercise insertSizeAt behind a splice.
          divergingEpoch: version >= 12 ? { epoch: 3, endOffset: 5 } : { epoch: -1, endOffset: -1 },
          currentLeader: version >= 12 ? { leaderId: 1, leaderEpoch: 2 } : { leaderId: -1, leaderEpoch: -1 },
          snapshotId: { endOffset: -1, epoch: -1 },
          abortedTransactions: null,
          preferredReadReplica: -1,
          records,
        })),
      })),
      nodeEndpoints: [],
    };
    const plain = new Writer();
    spec.encodeResponse(plain, version, body);
    const spliced = new Writer(256, { spliceMinBytes: 16 * 1024 });
    spec.encodeResponse(spliced, version, body);
    const chunks = spliced.finishChunks();
    assert.deepEqual(Buffer.concat(chunks), plain.finish(), `v${version}`);
    assert.equal(chunks.filter((c) => c === records).length, 4, "each partition's records are the caller's buffer, not a copy");
  }
});
