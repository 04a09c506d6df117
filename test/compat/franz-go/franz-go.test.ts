// franz-go (github.com/twmb/franz-go: kgo and kadm) against a Tributary broker process. The Go
// program is compat_test.go beside this file; its modules come from the Go module proxy into the
// default module cache (outside the repository). Where Go or the proxy is missing, the test is
// skipped with the reason.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, startBrokerProcess, type BrokerProcess } from '../../helpers/broker-process.js';

const dir = join(repoRoot, 'test/compat/franz-go');
const env = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' };

function unavailable(): string | null {
  const version = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) return 'franz-go: the go toolchain is not installed';
  const dl = spawnSync('go', ['mod', 'download'], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
  if (dl.status !== 0) return `franz-go: the Go module proxy is unreachable (go mod download: ${(dl.stderr || String(dl.error)).trim().slice(-300)})`;
  return null;
}

function goTest(bootstrap: string, timeoutMs: number): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('go', ['test', '-count=1', '-v', `-timeout=${Math.floor(timeoutMs / 1000) - 10}s`, './...'], {
      cwd: dir,
      env: { ...env, TRIBUTARY_BOOTSTRAP: bootstrap },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d.toString()));
    child.stderr.on('data', (d) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

const skip = unavailable();
if (skip) console.log(`# SKIP ${skip}`);

describe('franz-go (kgo, kadm)', { skip: skip ?? false }, () => {
  let broker: BrokerProcess;
  before(async () => {
    // log.retention.hours is given at start-up: TestStaticBrokerConfigSource expects it reported
    // as STATIC_BROKER_CONFIG.
    broker = await startBrokerProcess({ overrides: { 'log.retention.hours': '72', 'num.partitions': '1' } });
  });
  after(async () => {
    await broker?.stop();
    broker?.cleanup();
  });

  test('produce (idempotent, every codec), consume, a 2-member group, transactions, kadm admin calls', async () => {
    const r = await goTest(broker.bootstrap, 420_000);
    const passed = [...r.output.matchAll(/^--- PASS: (Test\w+)/gm)].map((m) => m[1]);
    const tail = r.output.slice(-6000);
    assert.equal(r.status, 0, `go test failed:\n${tail}`);
    assert.doesNotMatch(r.output, /^--- SKIP/m, tail);
    assert.deepEqual(
      passed.sort(),
      [
        'TestAdminClusterLogDirsQuotas',
        'TestAdminOffsetsRecordsGroups',
        'TestAdminTopicsPartitionsConfigs',
        'TestConsumerGroupTwoMembers',
        'TestGroupTransactSession',
        'TestProduceConsumeEveryCodec',
        'TestStaticBrokerConfigSource',
        'TestTransactionalProducer',
      ],
      tail,
    );
  });
});
