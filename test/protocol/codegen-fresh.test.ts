import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { generateAll, generatedDir, repoRoot, schemaSource } from '../../src/protocol/codegen/generate.js';

// The committed code comes from Kafka 4.4's schemas (the kafka-clients jar in ~/.m2, which
// `npm run codegen` and .ci/run resolve with Maven); without them there is nothing to compare with.
const source = schemaSource();
const skip = source.fallback ? `Kafka 4.4 schemas unavailable (${source.reason}); only the 4.0 fallback is` : false;

test('committed generated code matches the schemas and the generator (run `npm run codegen`)', { skip }, () => {
  const files = generateAll();
  assert.ok(files.size > 90, `expected ~95 generated files, got ${files.size}`);
  const stale: string[] = [];
  for (const [rel, content] of files) {
    const abs = path.join(repoRoot, rel);
    const onDisk = fs.existsSync(abs) ? fs.readFileSync(abs, 'utf8') : null;
    if (onDisk !== content) stale.push(rel);
  }
  assert.deepStrictEqual(stale, [], 'out-of-date generated files; run `npm run codegen`');
  const expected = new Set([...files.keys()].map((rel) => path.basename(rel)));
  const extra = fs.readdirSync(generatedDir).filter((f) => !expected.has(f));
  assert.deepStrictEqual(extra, [], 'stale files in src/protocol/generated; run `npm run codegen`');
});

test('generation is deterministic', () => {
  const a = generateAll();
  const b = generateAll();
  assert.deepStrictEqual([...a.entries()], [...b.entries()]);
});

test('every generated file carries the provenance header', { skip }, () => {
  for (const [rel, content] of generateAll()) {
    assert.ok(content.startsWith('// GENERATED FILE - DO NOT EDIT BY HAND.'), rel);
    assert.match(content.split('\n').slice(0, 4).join('\n'), /Apache Kafka[\s\S]*Apache License 2\.0/, rel);
  }
});
