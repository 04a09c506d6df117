// The Java client (kafka-clients, newest 4.x and 3.9) against a Tributary broker process:
// ClientSuite.java runs each check in one JVM per client version and prints a RESULT line per
// check; each check is a test here. See ClientSuite.java for what each one asserts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';
import { javaSetup, runJava, slf4jSimple } from './harness.js';

const setup = javaSetup();
const skip = typeof setup === 'string' ? setup : false;

const CHECKS = [
  'produce-none',
  'produce-gzip',
  'produce-snappy',
  'produce-lz4',
  'produce-zstd',
  'transactions',
  'classic-group',
  'admin-topics',
  'admin-configs',
  'admin-offsets-records',
  'admin-groups',
  'admin-cluster-logdirs',
  'admin-quotas',
  'admin-transactions-producers',
  'admin-elect-reassign',
];

describe('Java client', { skip }, () => {
  let broker: BrokerProcess;
  before(async () => {
    broker = await startBrokerProcess({ overrides: { 'num.partitions': '1' } });
  });
  after(async () => {
    await broker?.stop();
    broker?.cleanup();
  });

  for (const [label, version] of [
    ['k4', '4.'],
    ['k39', '3.9.'],
  ] as const) {
    describe(`kafka-clients ${version}x`, () => {
      const results = new Map<string, { ok: boolean; detail: string }>();
      let output = '';
      before(async () => {
        if (typeof setup === 'string') return;
        const cp = label === 'k4' ? `${setup.classes}:${setup.cp.k4}` : `${setup.classes}:${setup.cp.k39}:${slf4jSimple(setup)}`;
        const r = await runJava(cp, 'tributary.compat.ClientSuite', [broker.bootstrap, label], 400_000);
        output = `exit ${r.code}\n${r.stdout}\nstderr tail:\n${r.stderr.slice(-4000)}`;
        const v = /^CLIENT_VERSION\t(.*)$/m.exec(r.stdout)?.[1];
        assert.ok(v?.startsWith(version), `client version ${v}: ${output}`);
        for (const line of r.stdout.split('\n')) {
          const [tag, name, status, detail] = line.split('\t');
          if (tag === 'RESULT' && name) results.set(name, { ok: status === 'OK', detail: detail ?? '' });
        }
      });
      for (const check of CHECKS) {
        test(check, (t) => {
          const r = results.get(check);
          assert.ok(r, `no result for ${check}:\n${output}`);
          assert.ok(r.ok, `${check}: ${r.detail}`);
          t.diagnostic(r.detail);
        });
      }
    });
  }
});
