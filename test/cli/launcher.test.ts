// The launcher of the build (src/cli/launcher.ts): the code cache the build records must be one
// this Node accepts for this build, and a missing, corrupt or foreign cache must only cost
// start-up time, never run bytecode that is not the bundle's. The same for cluster mode's script
// (cluster.cjs, src/cli/cluster-packages.ts), which only a broker in cluster mode loads.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Module } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import vm from 'node:vm';
import type { EtcdProcess } from '../../src/cluster/etcd-process.js';
import { BUILD_ID_LENGTH, BUILD_ID_MARK, CODE_CACHE_TRACE_ENV } from '../../src/cli/code-cache.js';
import { run } from '../helpers/cli.js';
import { compiled, repoRoot } from '../helpers/dist.js';
import { etcdMissing, withEtcd } from '../helpers/etcd.js';
import { tempDir } from '../helpers/broker-process.js';

const DESCRIPTION = 'A Kafka-compatible event streaming broker';

/** Runs `tributary help` from a copy of the launcher and `program` beside dist/cli, with `cache`. */
async function helpFromCopy(program: string, cache: Buffer | null): Promise<string> {
  // Beside dist/cli, so the bundle still finds the package's node_modules above it.
  const cliDir = dirname(compiled('cli/tributary.js'));
  const dir = mkdtempSync(join(dirname(cliDir), 'launcher-test-'));
  try {
    copyFileSync(join(cliDir, 'tributary.js'), join(dir, 'tributary.js'));
    writeFileSync(join(dir, 'cli.cjs'), program);
    if (cache) writeFileSync(join(dir, 'cli.v8cache'), cache);
    const r = await run(process.execPath, [join(dir, 'tributary.js'), 'help']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Asserts that dist/cli's `name`.v8cache is a code cache of this build of `name`.cjs (its build
 * id, then V8's data) that this Node's V8 accepts; returns the cache.
 */
function assertCacheOfThisBuild(name: 'cli' | 'cluster'): Buffer {
  const file = compiled(`cli/${name}.cjs`);
  const source = readFileSync(file, 'utf8');
  const buildId = source.slice(source.lastIndexOf(BUILD_ID_MARK) + BUILD_ID_MARK.length).trim();
  assert.equal(buildId.length, BUILD_ID_LENGTH);
  const data = readFileSync(compiled(`cli/${name}.v8cache`));
  assert.equal(data.subarray(0, BUILD_ID_LENGTH).toString('latin1'), buildId);
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData: data.subarray(BUILD_ID_LENGTH) });
  assert.equal(script.cachedDataRejected, false);
  return data;
}

describe('the CLI launcher', () => {
  const program = () => readFileSync(compiled('cli/cli.cjs'), 'utf8');
  const cache = () => readFileSync(compiled('cli/cli.v8cache'));

  it("records a code cache of this build that this Node's V8 accepts", () => {
    assertCacheOfThisBuild('cli');
  });

  for (const kind of ['missing', 'corrupt'] as const) {
    it(`runs the program from its source when the cache is ${kind}`, async () => {
      const data = kind === 'corrupt' ? Buffer.concat([cache().subarray(0, BUILD_ID_LENGTH), Buffer.alloc(4096, 7)]) : null;
      assert.match(await helpFromCopy(program(), data), new RegExp(DESCRIPTION));
    });
  }

  it('ignores the cache of another build, even of the same length (V8 would take it)', async () => {
    // Another build: one string changed (same length), so its build id differs too.
    const source = program();
    assert.ok(source.includes(DESCRIPTION));
    const mark = source.lastIndexOf(BUILD_ID_MARK) + BUILD_ID_MARK.length;
    const other = `${source.slice(0, mark).replace(DESCRIPTION, DESCRIPTION.toUpperCase())}${'0'.repeat(BUILD_ID_LENGTH)}\n`;
    assert.equal(other.length, source.length);
    // With this build's cache, V8 would run main() from its recorded bytecode: the old string.
    assert.match(await helpFromCopy(other, cache()), new RegExp(DESCRIPTION.toUpperCase()));
  });
});

/** `source` as another build of the same length would be: `from` changed to `to`, another build id. */
function otherBuild(source: string, from: string, to: string): string {
  assert.equal(from.length, to.length);
  assert.ok(source.includes(from));
  const mark = source.lastIndexOf(BUILD_ID_MARK) + BUILD_ID_MARK.length;
  const other = `${source.slice(0, mark).replace(from, to)}${'0'.repeat(BUILD_ID_LENGTH)}\n`;
  assert.equal(other.length, source.length);
  return other;
}

/**
 * Starts a broker from the launcher `cli` with `overrides`, waits until it has started, kills it
 * and returns what the launcher said on stderr about the code caches (CODE_CACHE_TRACE_ENV).
 */
async function cacheTraceOfBroker(cli: string, overrides: Record<string, string>): Promise<string[]> {
  const dataDir = tempDir();
  const args = [cli, 'broker', '--override', 'listeners=PLAINTEXT://127.0.0.1:0', '--override', 'http.listeners=http://127.0.0.1:0', '--override', `log.dirs=${dataDir}`];
  for (const [k, v] of Object.entries(overrides)) args.push('--override', `${k}=${v}`);
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, [CODE_CACHE_TRACE_ENV]: '1' } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((res) => child.once('exit', res));
  try {
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`the broker did not start in 60 s; stderr: ${stderr}`)), 60_000);
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (line.includes('"msg":"broker started"')) {
          clearTimeout(timer);
          res();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        rej(new Error(`the broker exited with ${code}; stderr: ${stderr}`));
      });
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
  return stderr.split('\n').filter((l) => l.includes('code cache'));
}

/** Date's methods that work in local time (and so make V8 load the time zone). */
const LOCAL_TIME_METHODS = [
  'getMilliseconds',
  'setMilliseconds',
  'getSeconds',
  'setSeconds',
  'getMinutes',
  'setMinutes',
  'getHours',
  'setHours',
  'getDate',
  'setDate',
  'getDay',
  'getMonth',
  'setMonth',
  'getFullYear',
  'setFullYear',
  'getTimezoneOffset',
  'toString',
  'toDateString',
  'toTimeString',
  'toLocaleString',
];

describe("cluster mode's script", () => {
  const script = () => readFileSync(compiled('cli/cluster.cjs'), 'utf8');
  const cache = () => readFileSync(compiled('cli/cluster.v8cache'));
  let etcd: EtcdProcess | undefined;
  let prefixes = 0;
  const clusterMode = () => ({ 'node.id': '1', 'etcd.endpoints': etcd!.endpoint, 'etcd.prefix': `/launcher-test-${prefixes++}` });
  before(async () => {
    if (!etcdMissing) etcd = await withEtcd();
  });
  after(() => etcd?.close());

  it("has a code cache of this build that this Node's V8 accepts", () => {
    const data = assertCacheOfThisBuild('cluster');
    // More than the packages' start-up code: the training broker ran in cluster mode.
    assert.ok(data.length > 400_000, `${data.length} bytes`);
  });

  it("carries etcd's gRPC services precomputed and its own codec, not the .proto files, their parser or protobufjs", () => {
    // src/cli/etcd3-services.ts: parsing etcd3's .proto files at start cost a broker ~17 MB of
    // garbage and more idle memory; the build computes them once (scripts/etcd3-descriptor.ts).
    // src/cli/etcd3-codec.ts: protobufjs's types, generated code and runtime, with long.js, cost
    // each cluster broker ~1.5 MiB of heap.
    const { sources } = JSON.parse(readFileSync(compiled('cli/cluster.cjs.map'), 'utf8')) as { sources: string[] };
    assert.ok(sources.some((s) => s.endsWith('src/cli/etcd3-services.ts')));
    assert.ok(sources.some((s) => s.endsWith('src/cli/etcd3-codec.ts')));
    assert.deepEqual(
      sources.filter((s) => /@grpc\/proto-loader\/|node_modules\/(@?protobufjs|long)\/|\.proto$/.test(s)),
      [],
    );
  });

  it('starts no WebAssembly engine', async () => {
    // long.js's helper module (protobufjs's 64-bit integers, no longer bundled) started V8's
    // WebAssembly engine in every cluster broker, ~1 MiB of its RSS. Counted in a process of its own.
    const probe = `
      let made = 0;
      for (const name of ['Module', 'Instance']) {
        WebAssembly[name] = new Proxy(WebAssembly[name], { construct: (target, args) => (made++, Reflect.construct(target, args)) });
      }
      const { etcd3 } = require(${JSON.stringify(compiled('cli/cluster.cjs'))});
      process.stdout.write(JSON.stringify({ made, client: typeof etcd3.Etcd3 }));`;
    const r = await run(process.execPath, ['-e', probe]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { made: 0, client: 'function' });
  });

  it("keeps the etcd client's backoff in UTC: no local time, so no time zone loaded", async () => {
    // A Date's first local-time operation loads the time zone from ICU, ~0.5 MiB of each cluster
    // broker's RSS, for grpc-js's backoff timer adding a delay (scripts/bundle-cli.ts,
    // grpcBackoffInUtc). A call to a closed port runs that timer; local-time methods are counted.
    const probe = `
      const used = {};
      for (const name of ${JSON.stringify(LOCAL_TIME_METHODS)}) {
        const real = Date.prototype[name];
        Date.prototype[name] = function (...args) { used[name] = (used[name] ?? 0) + 1; return real.apply(this, args); };
      }
      const { etcd3 } = require(${JSON.stringify(compiled('cli/cluster.cjs'))});
      const client = new etcd3.Etcd3({ hosts: 'http://127.0.0.1:1' });
      client.get('k').string().then(() => 'answered', (err) => err.constructor.name).then((outcome) => {
        process.stdout.write(JSON.stringify({ outcome, used }));
        client.close();
      });`;
    const r = await run(process.execPath, ['-e', probe]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { outcome: 'GRPCUnavailableError', used: {} });
  });

  it('is compiled from its cache by a broker in cluster mode, and never by a single node', { skip: etcdMissing }, async () => {
    assert.deepEqual(await cacheTraceOfBroker(compiled('cli/tributary.js'), clusterMode()), [
      'tributary: cli.cjs: code cache accepted',
      'tributary: cluster.cjs: code cache accepted',
    ]);
    assert.deepEqual(await cacheTraceOfBroker(compiled('cli/tributary.js'), {}), ['tributary: cli.cjs: code cache accepted']);
  });

  it('is compiled from its source when the cache is of another build, and the broker joins', { skip: etcdMissing }, async () => {
    // A copy of the build beside dist/cli (so it finds node_modules), whose cluster.cjs is
    // another build of the same length: V8 alone would take the cache (it checks the length).
    const cliDir = dirname(compiled('cli/tributary.js'));
    const dir = mkdtempSync(join(dirname(cliDir), 'launcher-test-'));
    try {
      cpSync(cliDir, dir, { recursive: true });
      const other = otherBuild(script(), 'Private key must be given', 'PRIVATE KEY MUST BE GIVEN'); // a grpc-js message
      const v8Alone = new vm.Script(Module.wrap(other), { filename: join(dir, 'cluster.cjs'), cachedData: cache().subarray(BUILD_ID_LENGTH) });
      assert.equal(v8Alone.cachedDataRejected, false);
      writeFileSync(join(dir, 'cluster.cjs'), other);
      assert.deepEqual(await cacheTraceOfBroker(join(dir, 'tributary.js'), clusterMode()), [
        'tributary: cli.cjs: code cache accepted',
        'tributary: cluster.cjs: code cache stale',
      ]);
      rmSync(join(dir, 'cluster.v8cache'));
      assert.deepEqual(await cacheTraceOfBroker(join(dir, 'tributary.js'), clusterMode()), [
        'tributary: cli.cjs: code cache accepted',
        'tributary: cluster.cjs: code cache missing',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
