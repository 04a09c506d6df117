// The launcher of the build (src/cli/launcher.ts): the code cache the build records must be one
// this Node accepts, and a missing or unusable cache must only cost start-up time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Module } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { run } from '../helpers/cli.js';
import { compiled } from '../helpers/dist.js';

describe('the CLI launcher', () => {
  it("records a code cache that this Node's V8 accepts for the bundle", () => {
    const program = compiled('cli/cli.cjs');
    const cachedData = readFileSync(compiled('cli/cli.v8cache'));
    const script = new vm.Script(Module.wrap(readFileSync(program, 'utf8')), { filename: program, cachedData });
    assert.equal(script.cachedDataRejected, false);
  });

  for (const cache of ['missing', 'corrupt'] as const) {
    it(`runs the program from its source when the cache is ${cache}`, async () => {
      // A copy beside dist/cli, so the bundle still finds the package's node_modules above it.
      const cliDir = dirname(compiled('cli/tributary.js'));
      const dir = mkdtempSync(join(dirname(cliDir), 'launcher-test-'));
      try {
        for (const file of ['tributary.js', 'cli.cjs']) copyFileSync(join(cliDir, file), join(dir, file));
        if (cache === 'corrupt') writeFileSync(join(dir, 'cli.v8cache'), Buffer.alloc(4096, 7));
        const r = await run(process.execPath, [join(dir, 'tributary.js'), 'broker', '--print-config', '--override', 'num.partitions=7']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        assert.match(r.stdout, /^num\.partitions=7 /m);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
