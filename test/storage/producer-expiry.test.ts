// producer.id.expiration.ms: idle producers are forgotten (memory and snapshots stay bounded by
// the producers actually writing), but never one with an open transaction.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, test } from 'node:test';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { config, openLog, removeDir, tempDir } from './helpers.js';
import { ManualClock } from '../../src/common/clock.js';

const root = tempDir();
after(() => removeDir(root));

const DAY = 86_400_000;

function producerBatch(producerId: number, sequence: number, timestamp: number, transactional = false): Buffer {
  return buildRecordBatch([{ value: `p${producerId}-${sequence}`, timestamp }], { producerId, producerEpoch: 0, baseSequence: sequence, transactional });
}

test('idle producers expire by their last batch timestamp; open transactions keep theirs', async () => {
  const clock = new ManualClock(10 * DAY);
  const log = await openLog(path.join(root, 'expiry'), config(), { clock });
  try {
    await log.append(producerBatch(1, 0, clock.now() - 2 * DAY), 0).done;
    await log.append(producerBatch(2, 0, clock.now() - 2 * DAY, true), 0).done; // its transaction stays open
    await log.append(producerBatch(3, 0, clock.now()), 0).done;
    const retried = log.append(producerBatch(1, 0, clock.now() - 2 * DAY), 0);
    assert.equal(retried.duplicate, true, 'still known: the retry is recognised');

    assert.equal(log.expireProducers(DAY), 1);
    const ids = [...log.producerState.entries()].map((e) => e.producerId).sort();
    assert.deepEqual(ids, [2, 3], 'producer 1 is gone; 2 has an open transaction; 3 wrote recently');

    // Forgotten means new: the next batch of producer 1 may start anywhere, as after Kafka's expiry.
    const after = log.append(producerBatch(1, 7, clock.now()), 0);
    assert.notEqual(after.duplicate, true);
    await after.done;
    clock.set(clock.now() + 2 * DAY);
    assert.equal(log.expireProducers(DAY), 2, 'producers 1 and 3 are idle again');
    assert.deepEqual(
      [...log.producerState.entries()].map((e) => e.producerId),
      [2],
    );
  } finally {
    await log.close();
  }
});
