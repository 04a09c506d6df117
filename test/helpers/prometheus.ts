// A strict reader of the Prometheus text exposition format (0.0.4), for tests: it throws on any
// line a Prometheus server would refuse or misread (bad names, bad escapes, a TYPE after its
// samples, a family split in two, duplicate series, histogram buckets that are not cumulative or
// whose +Inf bucket differs from _count), and returns the samples for assertions.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  /** The samples of `name` whose labels include every given label. */
  find(name: string, labels?: Record<string, string>): Sample[];
  /** The one sample of `name` with exactly these labels; undefined when absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes "Nan"). */
function parseValue(s: string, line: string): number {
  const l = s.toLowerCase();
  if (l === 'nan') return NaN;
  if (l === '+inf' || l === 'inf' || l === '+infinity' || l === 'infinity') return Infinity;
  if (l === '-inf' || l === '-infinity') return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad sample value in: ${line}`);
  return Number(s);
}

/** The family a sample belongs to (histogram and summary samples carry a suffix). */
function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      const t = types.get(base);
      if (t === 'histogram' || (t === 'summary' && suffix !== '_bucket')) return base;
    }
  }
  return name;
}

export function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const finished = new Set<string>();
  const seen = new Set<string>();
  let current: string | null = null;
  const enter = (family: string, line: string) => {
    if (family === current) return;
    if (finished.has(family)) throw new Error(`family ${family} is split in two: ${line}`);
    if (current) finished.add(current);
    current = family;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, rest] = m;
      if (!NAME.test(name!)) throw new Error(`bad metric name: ${line}`);
      enter(name!, line);
      if (kind === 'TYPE') {
        if (types.has(name!)) throw new Error(`second TYPE for ${name}`);
        if (seen.has(`family:${name}`)) throw new Error(`TYPE after samples: ${line}`);
        if (!TYPES.has(rest ?? '')) throw new Error(`bad type: ${line}`);
        types.set(name!, rest!);
      } else {
        if (helps.has(name!)) throw new Error(`second HELP for ${name}`);
        helps.add(name!);
        if (/\\[^\\n]/.test((rest ?? '').replace(/\\\\/g, ''))) throw new Error(`bad escape in HELP: ${line}`);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const [, name, rawLabels, rawValue] = m;
    const labels: Record<string, string> = {};
    if (rawLabels) {
      let body = rawLabels.slice(1, -1);
      while (body.length > 0) {
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,?)/.exec(body);
        if (!lm) throw new Error(`bad labels in: ${line}`);
        if (!LABEL.test(lm[1]!) || lm[1]!.startsWith('__')) throw new Error(`bad label name in: ${line}`);
        if (lm[1]! in labels) throw new Error(`duplicate label ${lm[1]} in: ${line}`);
        labels[lm[1]!] = lm[2]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
        body = body.slice(lm[0].length);
        if (lm[3] === '' && body.length > 0) throw new Error(`missing comma in labels: ${line}`);
      }
    }
    const family = familyOf(name!, types);
    enter(family, line);
    seen.add(`family:${family}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`duplicate series: ${line}`);
    seen.add(key);
    const value = parseValue(rawValue!, line);
    if (types.get(family) === 'counter' && !(value >= 0)) throw new Error(`negative or NaN counter: ${line}`);
    samples.push({ name: name!, labels, value });
  }
  // Histograms: cumulative buckets, +Inf present and equal to _count.
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, { le: number; v: number }[]>();
    for (const s of samples) {
      if (s.name !== `${family}_bucket`) continue;
      if (s.labels.le === undefined) throw new Error(`bucket without le in ${family}`);
      const { le, ...rest } = s.labels;
      const k = JSON.stringify(Object.entries(rest).sort());
      series.set(k, [...(series.get(k) ?? []), { le: parseValue(le, le), v: s.value }]);
    }
    for (const [k, buckets] of series) {
      buckets.sort((a, b) => a.le - b.le);
      for (let i = 1; i < buckets.length; i++) if (buckets[i]!.v < buckets[i - 1]!.v) throw new Error(`${family}${k}: buckets not cumulative`);
      const inf = buckets.at(-1)!;
      if (inf.le !== Infinity) throw new Error(`${family}${k}: no +Inf bucket`);
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(Object.entries(s.labels).sort()) === k);
      if (!count || count.value !== inf.v) throw new Error(`${family}${k}: _count differs from the +Inf bucket`);
    }
  }
  const matches = (s: Sample, labels: Record<string, string>) => Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return {
    samples,
    types,
    find: (name, labels = {}) => samples.filter((s) => s.name === name && matches(s, labels)),
    value: (name, labels = {}) => samples.find((s) => s.name === name && Object.keys(s.labels).length === Object.keys(labels).length && matches(s, labels))?.value,
  };
}
