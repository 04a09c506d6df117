// A broker with more partitions than it has file descriptors to spare still shuts down cleanly:
// closing every log at once used to open a few files per log at the same time (EMFILE), which
// left the log directory "unclean" and forced a full recovery at the next start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, tempDir } from '../helpers/broker-process.js';
import { CLEAN_SHUTDOWN_MARKER } from '../../src/storage/log-manager.js';

test('600 partitions under a 900 file descriptor limit close cleanly', () => {
  const dataDir = tempDir();
  const script = join(dataDir, 'run.mts');
  writeFileSync(
    script,
    `import { startBroker } from ${JSON.stringify(join(repoRoot, 'src/index.ts'))};
const b = await startBroker({ dataDir: ${JSON.stringify(join(dataDir, 'data'))}, config: { 'log.level': 'error' } });
await b.broker.createTopic('wide', 600, {});
await b.stop();
`,
  );
  // Each open log holds its segment file; closing also opens index, snapshot and directory files.
  const r = spawnSync('bash', ['-c', `ulimit -n 900 && exec "${process.execPath}" --import tsx "${script}"`], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.ok(!/did not close cleanly|EMFILE/.test(r.stdout + r.stderr), (r.stdout + r.stderr).slice(0, 2000));
  assert.ok(existsSync(join(dataDir, 'data', CLEAN_SHUTDOWN_MARKER)), 'the clean shutdown marker was written');
});
