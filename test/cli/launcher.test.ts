// The launcher of the build (src/cli/launcher.ts): the code cache the build records must be one
// this Node accepts for this build, and a missing, corrupt or foreign cache must only cost
// start-up time, never run bytecode that is not the bundle's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Module } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { BUILD_ID_LENGTH, BUILD_ID_MARK } from '../../src/cli/code-cache.js';
import { run } from '../helpers/cli.js';
import { compiled } from '../helpers/dist.js';

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

describe('the CLI launcher', () => {
  const program = () => readFileSync(compiled('cli/cli.cjs'), 'utf8');
  const cache = () => readFileSync(compiled('cli/cli.v8cache'));

  it("records a code cache of this build that this Node's V8 accepts", () => {
    const source = program();
    const buildId = source.slice(source.lastIndexOf(BUILD_ID_MARK) + BUILD_ID_MARK.length).trim();
    assert.equal(buildId.length, BUILD_ID_LENGTH);
    const data = cache();
    assert.equal(data.subarray(0, BUILD_ID_LENGTH).toString('latin1'), buildId);
    const script = new vm.Script(Module.wrap(source), { filename: compiled('cli/cli.cjs'), cachedData: data.subarray(BUILD_ID_LENGTH) });
    assert.equal(script.cachedDataRejected, false);
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
