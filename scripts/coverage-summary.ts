// Prints the coverage of src/ per folder (storage, protocol, coordinator, ...) from the json-summary
// that `c8 npm test` writes (.c8rc.json: coverage/coverage-summary.json). Broker processes count
// too: they run dist/, which c8 maps back to src/ through the source maps. No threshold.
// Usage: npm run coverage (after `npx c8 npm test`), as .ci/run does.
import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

interface Metric {
  total: number;
  covered: number;
}
type FileSummary = Record<'lines' | 'statements' | 'functions' | 'branches', Metric>;

const root = resolve(import.meta.dirname, '..');
const file = resolve(root, process.argv[2] ?? 'coverage/coverage-summary.json');
const summary = JSON.parse(readFileSync(file, 'utf8')) as Record<string, FileSummary>;

const folders = new Map<string, FileSummary>();
const empty = (): FileSummary => ({
  lines: { total: 0, covered: 0 },
  statements: { total: 0, covered: 0 },
  functions: { total: 0, covered: 0 },
  branches: { total: 0, covered: 0 },
});
const add = (into: FileSummary, from: FileSummary) => {
  for (const k of ['lines', 'statements', 'functions', 'branches'] as const) {
    into[k].total += from[k].total;
    into[k].covered += from[k].covered;
  }
};
const total = empty();
for (const [path, s] of Object.entries(summary)) {
  if (path === 'total') continue;
  const rel = relative(resolve(root, 'src'), path);
  if (rel.startsWith('..')) continue;
  const folder = rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : '(src)';
  if (!folders.has(folder)) folders.set(folder, empty());
  add(folders.get(folder)!, s);
  add(total, s);
}

const pct = (m: Metric) => (m.total === 0 ? '   -  ' : `${((100 * m.covered) / m.total).toFixed(1).padStart(5)}%`);
const row = (name: string, s: FileSummary) => `${name.padEnd(14)} ${pct(s.lines)}  ${pct(s.branches)}  ${pct(s.functions)}  ${String(s.lines.total).padStart(7)}`;
console.log('Coverage of src/ by folder (tests and broker processes together)');
console.log(`${'folder'.padEnd(14)}  lines  branches  functions  lines total`);
// The folders the data path runs through first, then the rest.
const first = ['protocol', 'storage', 'coordinator'];
const names = [...first.filter((f) => folders.has(f)), ...[...folders.keys()].filter((f) => !first.includes(f)).sort()];
for (const name of names) console.log(row(name, folders.get(name)!));
console.log(row('all of src', total));
