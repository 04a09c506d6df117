import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configTables } from '../../src/config/docs.js';
import { brokerConfigDefs, topicConfigDefs } from '../../src/config/registry.js';
import { repoRoot } from '../helpers/broker-process.js';

test('README carries the configuration tables generated from the registry (run `npm run docs`)', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  assert.ok(readme.includes(configTables()), 'README config tables are stale: run `npm run docs`');
  for (const name of [...brokerConfigDefs.keys(), ...topicConfigDefs.keys()]) assert.ok(readme.includes(`\`${name}\``), name);
});
