// A leader replica's replication bookkeeping in process (src/broker/partition.ts with
// FollowerProgress): the high watermark is the least log end of the ISR, acks=all waits for it
// and checks min.insync.replicas, laggards leave the ISR and caught-up followers rejoin through
// the proposer, a proposed ISR counts for the HW until it is settled. And the controller's rules
// for leaders and ISRs when brokers come and go.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Partition, type TopicState } from '../../src/broker/partition.js';
import { nextPartitionState } from '../../src/cluster/controller.js';
import { NO_LEADER, type PartitionState } from '../../src/cluster/metadata-port.js';
import { brokersOf } from '../../src/cluster/partition-changes.js';
import { ManualClock } from '../../src/common/clock.js';
import type { ConfigEntry } from '../../src/config/config.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { batch, config, openLog, suiteTempDir } from '../storage/helpers.js';
import { settledWithinTurns } from '../helpers/wait.js';

/** Registered brokers `ids`, none shutting down. */
const registered = (...ids: number[]) => brokersOf(ids.map((nodeId) => ({ nodeId })));

function topic(minIsr = 1): TopicState {
  const configs = new Map<string, ConfigEntry>([['min.insync.replicas', { name: 'min.insync.replicas', value: String(minIsr) } as ConfigEntry]]);
  return { name: 'replicated', id: 'AAAAAAAAAAAAAAAAAAAAAA', internal: false, overrides: {}, configs, partitions: [] };
}

/** A leader on node 1 of replicas [1, 2, 3]; proposals are recorded and applied on demand. */
async function leader(dir: string, minIsr = 1, isr = [1, 2, 3]) {
  const log = await openLog(dir, config());
  const clock = new ManualClock(1_000_000);
  const p = new Partition(topic(minIsr), 0, log, 1, { leaderId: 1, leaderEpoch: 5, replicas: [1, 2, 3], isr, partitionEpoch: 10 });
  const proposals: number[][] = [];
  let accept = true;
  p.enableReplication(
    async (_p, next) => {
      proposals.push(next);
      return accept;
    },
    clock,
    () => undefined,
  );
  /** The metadata applies the last proposal (the watch delivering the write). */
  const commit = () => p.applyAssignment({ leaderId: 1, leaderEpoch: 5, replicas: [1, 2, 3], isr: proposals.at(-1)!, partitionEpoch: p.partitionEpoch + 1 });
  return { log, clock, p, proposals, commit, refuse: () => (accept = false) };
}

describe('replication on the leader', () => {
  const root = suiteTempDir('tributary-replication-leader-');

  it('the HW is the least log end of the ISR; acks=all resolves only when every ISR follower fetched past it', async () => {
    const { log, p } = await leader(path.join(root, 'hw'));
    const all = p.append(batch('a', 3), { acks: -1 });
    await p.append(batch('b', 1), { acks: 1 }).done;
    assert.equal(p.highWatermark, 0, 'no follower has fetched at this epoch');
    assert.equal(await settledWithinTurns(all.done), false);
    p.recordFollowerFetch(2, 4, log.durableEndOffset);
    assert.equal(p.highWatermark, 0, 'follower 3 has not fetched yet');
    p.recordFollowerFetch(3, 2, log.durableEndOffset);
    assert.equal(p.highWatermark, 2);
    assert.equal(await settledWithinTurns(all.done), false, 'the batch ends at 3');
    p.recordFollowerFetch(3, 4, log.durableEndOffset);
    assert.equal(p.highWatermark, 4);
    await all.done;
    await log.close();
  });

  it('min.insync.replicas: NOT_ENOUGH_REPLICAS before the append, NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrank meanwhile', async () => {
    const small = await leader(path.join(root, 'min-1'), 2, [1]);
    assert.throws(
      () => small.p.append(batch('x', 1), { acks: -1 }),
      (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.NOT_ENOUGH_REPLICAS,
    );
    await small.p.append(batch('y', 1), { acks: 1 }).done;
    await small.log.close();

    const { log, clock, p, proposals, commit } = await leader(path.join(root, 'min-2'), 2, [1, 2]);
    const pending = p.append(batch('z', 1), { acks: -1 });
    await new Promise((r) => setImmediate(r));
    // Follower 2 falls behind: the leader drops it; the HW then needs only the leader.
    p.maybeShrinkIsr(0);
    await new Promise((r) => setImmediate(r));
    assert.equal(proposals.length, 0, 'follower 2 counts as caught up at the start of the epoch');
    await clock.advance(1000);
    p.maybeShrinkIsr(500);
    assert.deepEqual(proposals, [[1]]);
    commit();
    await assert.rejects(pending.done, (err: unknown) => err instanceof KafkaError && err.code === ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    await log.close();
  });

  it('a proposed ISR counts for the HW until it is settled; a refused one is forgotten; a caught-up follower rejoins', async () => {
    const { log, clock, p, proposals, commit, refuse } = await leader(path.join(root, 'isr'));
    await p.append(batch('a', 4), { acks: 1 }).done;
    p.recordFollowerFetch(2, 4, 4);
    await clock.advance(40_000);
    p.recordFollowerFetch(2, 4, 4);
    p.maybeShrinkIsr(30_000);
    assert.deepEqual(proposals, [[1, 2]], 'follower 3 never fetched in 40 s: dropped');
    assert.equal(p.highWatermark, 0, 'until the shrink is settled, follower 3 still counts');
    commit();
    assert.equal(p.highWatermark, 4, 'the ISR is [1, 2] now');
    // Follower 3 comes back: below the HW it stays out; at the HW it is proposed again.
    p.recordFollowerFetch(3, 2, 4);
    assert.equal(proposals.length, 1);
    refuse();
    p.recordFollowerFetch(3, 4, 4);
    assert.deepEqual(proposals.at(-1), [1, 2, 3]);
    await new Promise((r) => setImmediate(r));
    p.recordFollowerFetch(3, 4, 4);
    assert.equal(proposals.length, 3, 'the refused proposal was forgotten and made again');
    await log.close();
  });

  it('the controller: dead followers leave the ISR; leaders come from the ISR in replica order; unclean only when allowed', () => {
    const s: PartitionState = { replicas: [1, 2, 3], leader: 1, leaderEpoch: 2, isr: [1, 2, 3], partitionEpoch: 7 };
    assert.deepEqual(nextPartitionState(s, registered(1, 2)), { ...s, isr: [1, 2], partitionEpoch: 8 });
    assert.deepEqual(nextPartitionState({ ...s, isr: [3, 2, 1] }, registered(2, 3)), { ...s, isr: [3, 2], leader: 2, leaderEpoch: 3, partitionEpoch: 8 });
    const lonely: PartitionState = { replicas: [1, 2, 3], leader: 1, leaderEpoch: 2, isr: [1], partitionEpoch: 7 };
    assert.deepEqual(nextPartitionState(lonely, registered(2, 3)), { ...lonely, leader: NO_LEADER, leaderEpoch: 3, partitionEpoch: 8 });
    assert.deepEqual(nextPartitionState(lonely, registered(2, 3), true), { ...lonely, leader: 2, leaderEpoch: 3, isr: [2], partitionEpoch: 8 });
  });
});
