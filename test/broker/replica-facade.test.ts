// The replica façade (src/broker/partition.ts) in process: the single-node assignment, acks
// against a held high watermark, fetch wake-ups on high watermark moves, leader epoch checks and
// follower appends.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Partition, type TopicState } from '../../src/broker/partition.js';
import { ErrorCode, KafkaError } from '../../src/protocol/errors.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { batch, config, decodeAll, openLog, suiteTempDir } from '../storage/helpers.js';
import { settledWithinTurns } from '../helpers/wait.js';

function topic(name: string): TopicState {
  return { name, id: 'AAAAAAAAAAAAAAAAAAAAAA', internal: false, overrides: {}, configs: new Map(), partitions: [] };
}

function hasCode(code: number) {
  return (err: unknown) => err instanceof KafkaError && err.code === code;
}

describe('replica façade', () => {
  const root = suiteTempDir('tributary-replica-facade-');

  it('on a single node: leader, replicas and ISR are this node at epoch 0; acks=all resolves with the local write', async () => {
    const log = await openLog(path.join(root, 'single-0'), config());
    const p = new Partition(topic('single'), 0, log, 7);
    assert.deepEqual([p.leaderId, p.leaderEpoch, [...p.replicas], [...p.isr], p.partitionEpoch, p.isLeader], [7, 0, [7], [7], 0, true]);
    assert.equal(log.latestEpoch, 0, 'epoch 0 starts at the log end');
    const r = p.append(batch('a', 3));
    await r.done;
    assert.equal(p.highWatermark, 3);
    const read = await p.read({ fetchOffset: 0, maxBytes: 1 << 20, isolation: 'read_committed' });
    assert.deepEqual(
      decodeAll(read.records).map((x) => x.offset),
      [0, 1, 2],
    );
    assert.deepEqual(read.abortedTransactions, []);
    assert.equal((await p.read({ fetchOffset: 0, maxBytes: 1 << 20, isolation: 'high_watermark' })).abortedTransactions, null);
    await log.close();
  });

  it('acks=all waits for a held high watermark, acks=1 does not; fetches wake when it moves', async () => {
    const log = await openLog(path.join(root, 'held-0'), config());
    const p = new Partition(topic('held'), 0, log, 1, { leaderId: 1, leaderEpoch: 4, replicas: [1, 2, 3], isr: [1, 2, 3], partitionEpoch: 9 });
    assert.deepEqual(p.outOfSyncReplicas, []);
    log.holdHighWatermark();
    const all = p.append(batch('a', 2), { acks: -1 });
    const one = p.append(batch('b', 1), { acks: 1 });
    await one.done;
    assert.equal(log.durableEndOffset, 3);
    assert.equal(await settledWithinTurns(all.done), false, 'acks=all is parked while the HW is held');
    let woken = 0;
    p.watch(() => woken++);
    let followerWoken = 0;
    p.watch(() => followerWoken++, 'log_end');
    await p.append(batch('late', 1), { acks: 1 }).done;
    await new Promise((r) => setImmediate(r));
    assert.equal(followerWoken, 1, 'a follower fetch wakes when the durable end moves');
    assert.equal(woken, 0, 'a consumer fetch does not: the HW is held');
    const replicaRead = await p.read({ fetchOffset: 0, maxBytes: 1 << 20, isolation: 'log_end' });
    assert.deepEqual(
      decodeAll(replicaRead.records).map((x) => x.offset),
      [0, 1, 2, 3],
      'a follower reads up to the durable end',
    );
    assert.equal((await p.read({ fetchOffset: 0, maxBytes: 1 << 20, isolation: 'high_watermark' })).records, null);

    log.setHighWatermark(1);
    assert.equal(await settledWithinTurns(all.done), false, 'the HW has not passed the batch yet');
    assert.equal(woken, 1, 'a HW move wakes parked fetches');
    log.setHighWatermark(2);
    assert.equal(await settledWithinTurns(all.done), true, 'released once the HW passes the batch');
    assert.equal(log.latestEpoch, 4, 'the leader epoch is stamped');

    const orphan = p.append(batch('c', 1), { acks: -1 });
    await assert.rejects(
      (async () => {
        await new Promise((r) => setImmediate(r));
        p.applyAssignment({ leaderId: 2, leaderEpoch: 5, replicas: [1, 2, 3], isr: [2, 3], partitionEpoch: 10 });
        await orphan.done;
      })(),
      hasCode(ErrorCode.NOT_LEADER_OR_FOLLOWER),
      'an acks=all append of a lost leadership is not acknowledged',
    );
    await log.close();
  });

  it('checks leader epochs and refuses leader work as a follower', async () => {
    const log = await openLog(path.join(root, 'follower-0'), config());
    const p = new Partition(topic('f'), 0, log, 1, { leaderId: 1, leaderEpoch: 2, replicas: [1, 2], isr: [1, 2], partitionEpoch: 1 });
    assert.equal(p.checkLeaderEpoch(-1), ErrorCode.NONE);
    assert.equal(p.checkLeaderEpoch(2), ErrorCode.NONE);
    assert.equal(p.checkLeaderEpoch(1), ErrorCode.FENCED_LEADER_EPOCH);
    assert.equal(p.checkLeaderEpoch(3), ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.throws(() => p.appendAsFollower(batch('x')), hasCode(ErrorCode.NOT_LEADER_OR_FOLLOWER));

    let woken = 0;
    p.watch(() => woken++);
    p.applyAssignment({ leaderId: 2, leaderEpoch: 3, replicas: [1, 2], isr: [2], partitionEpoch: 2 });
    assert.equal(woken, 1, 'parked fetches re-check after an assignment change');
    assert.equal(p.isLeader, false);
    assert.deepEqual(p.outOfSyncReplicas, [1]);
    assert.equal(p.checkLeaderEpoch(3), ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.throws(() => p.append(batch('y')), hasCode(ErrorCode.NOT_LEADER_OR_FOLLOWER));
    assert.throws(() => p.writeTxnMarker({ producerId: 1, producerEpoch: 0, coordinatorEpoch: 0, commit: true }), hasCode(ErrorCode.NOT_LEADER_OR_FOLLOWER));
    await assert.rejects(p.deleteRecords(0), hasCode(ErrorCode.NOT_LEADER_OR_FOLLOWER));

    log.holdHighWatermark();
    const leaderBatch = buildRecordBatch([{ key: 'k', value: 'v' }], { baseOffset: 0, partitionLeaderEpoch: 3 });
    await p.appendAsFollower(leaderBatch).done;
    assert.equal(log.latestEpoch, 3, "the follower's epoch cache learns the leader's epoch from the batch");
    assert.equal(p.logEndOffset, 1);
    assert.equal(p.highWatermark, 0);
    await log.close();
  });
});
