// The one clock: ManualClock's timers, and a broker started with a ManualClock stamping its log with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, startBroker, Admin, Producer, Consumer, type ConsumerRecord } from '../../src/index.js';

test('ManualClock fires due timers in time order, skips cancelled ones, and only when advanced', async () => {
  const clock = new ManualClock(1000);
  const fired: string[] = [];
  clock.schedule(300, () => fired.push(`b@${clock.now()}`));
  clock.schedule(100, () => fired.push(`a@${clock.now()}`));
  const cancel = clock.schedule(200, () => fired.push('cancelled'));
  cancel();
  clock.set(1050);
  assert.deepEqual(fired, [], 'set() moves time without firing');
  await clock.advance(100);
  assert.deepEqual(fired, ['a@1100']);
  assert.equal(clock.now(), 1150);
  await clock.advance(1000);
  assert.deepEqual(fired, ['a@1100', 'b@1300']);
  assert.equal(clock.now(), 2150);
  assert.equal(clock.monotonicMs(), clock.now());
});

test('startBroker({ clock }): LogAppendTime comes from the broker clock, not the wall clock', async () => {
  const clock = new ManualClock(1_500_000_000_000);
  const b = await startBroker({ storage: 'memory', clock });
  try {
    const admin = new Admin({ bootstrap: b.bootstrap });
    await admin.createTopics([{ name: 'lat', partitions: 1, configs: { 'message.timestamp.type': 'LogAppendTime' } }]);
    await admin.close();
    const producer = new Producer({ bootstrap: b.bootstrap });
    await producer.send('lat', [{ value: 'first' }]);
    clock.set(clock.now() + 3_600_000);
    await producer.send('lat', [{ value: 'second' }]);
    await producer.close();
    const consumer = new Consumer({ bootstrap: b.bootstrap });
    await consumer.assign('lat');
    const got: ConsumerRecord[] = [];
    for await (const r of consumer.records()) got.push(r);
    await consumer.close();
    assert.deepEqual(
      got.map((r) => [r.value!.toString(), r.timestamp]),
      [
        ['first', 1_500_000_000_000],
        ['second', 1_500_003_600_000],
      ],
    );
  } finally {
    await b.stop();
  }
});
