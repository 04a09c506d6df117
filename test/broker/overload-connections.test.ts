// max.connections, max.connections.per.ip and its overrides on a real broker process: excess
// connections are closed right after accept with a log line, and closing one frees its slot.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { suiteBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { admitted, rawClientFrom } from '../helpers/overload.js';
import { elapse, waitUntil } from '../helpers/wait.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';

const broker = suiteBroker({ process: true, config: { 'max.connections': 5, 'max.connections.per.ip': 2, 'max.connections.per.ip.overrides': '127.0.0.2:4' } });
const open: RawClient[] = [];

after(() => {
  for (const c of open) c.close();
});

async function from(address: string): Promise<RawClient> {
  const c = await rawClientFrom(broker.port, address);
  open.push(c);
  return c;
}

/**
 * Time for the broker to notice closed connections. Not a wait for a condition: a broker process
 * does not show its connection count (where a test can, it polls a new connection instead).
 */
async function settle(): Promise<void> {
  await elapse(200);
}

test('per-IP limit, its override and the broker-wide limit', async () => {
  const a1 = await from('127.0.0.1');
  const a2 = await from('127.0.0.1');
  assert.equal(await admitted(a1), true);
  assert.equal(await admitted(a2), true);
  const a3 = await from('127.0.0.1');
  assert.equal(await admitted(a3), false, 'a third connection from 127.0.0.1 is over max.connections.per.ip=2');

  // 127.0.0.2 may have 4, but the broker as a whole only 5: the fourth from .2 is the sixth.
  const b = [await from('127.0.0.2'), await from('127.0.0.2'), await from('127.0.0.2')];
  for (const c of b) assert.equal(await admitted(c), true, 'the override lets 127.0.0.2 past the per-IP limit');
  const b4 = await from('127.0.0.2');
  assert.equal(await admitted(b4), false, 'max.connections=5 is reached');

  // The broker's log lines come through its stdout pipe, which may trail the refused socket.
  await waitUntil(() => broker.logs.some((l) => String(l.msg).startsWith('refusing connection') && /max\.connections\.per\.ip 2/.test(String(l.msg))), {
    timeout: 5000,
    message: 'the per-IP refusal is logged',
  });

  // Closing a connection frees its slot (per IP and in total).
  a1.close();
  const b5 = await waitUntil(
    async (): Promise<RawClient | null> => {
      const c = await from('127.0.0.2');
      return (await admitted(c)) ? c : null;
    },
    { timeout: 5000, interval: 50, message: 'the slot freed by a closed connection to be reused' },
  );
  const b6 = await from('127.0.0.2');
  assert.equal(await admitted(b6), false, 'the broker is full again');
  for (const c of [a2, ...b, b5]) c.close();
  await settle();
});

test('max.connections.per.ip can be raised at runtime with IncrementalAlterConfigs', async () => {
  const admin = await from('127.0.0.3');
  const r = await admin.request(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'max.connections.per.ip', configOperation: 0, value: '3' }] }],
    validateOnly: false,
  });
  assert.equal(r.body.responses[0].errorCode, ErrorCode.NONE, r.body.responses[0].errorMessage);
  const c = [await from('127.0.0.3'), await from('127.0.0.3')];
  for (const x of c) assert.equal(await admitted(x), true, 'three connections from one address are allowed now');
  const over = await from('127.0.0.3');
  assert.equal(await admitted(over), false);

  const bad = await admin.request(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'max.connections.per.ip.overrides', configOperation: 0, value: 'nonsense' }] }],
    validateOnly: false,
  });
  assert.equal(bad.body.responses[0].errorCode, ErrorCode.INVALID_CONFIG);
});
