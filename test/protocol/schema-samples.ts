// Builds sample messages straight from the JSON schemas (independently of the generator's code
// paths) for the round-trip tests: every field present in a version gets a non-default value,
// absent fields get their documented default.

import { loadSchemas, type RawField, type RawSchema } from '../../src/protocol/codegen/generate.js';
import { ZERO_UUID } from '../../src/protocol/primitives.js';

export type Rng = () => number;

/** Deterministic PRNG (mulberry32): the test kit's, under the name these tests use. */
export { rng as seeded } from '../helpers/rng.js';

export function inVersions(spec: string | undefined, v: number): boolean {
  if (spec === undefined || spec === 'none' || spec === '') return false;
  if (spec.endsWith('+')) return v >= Number(spec.slice(0, -1));
  const [lo, hi] = spec.split('-');
  return v >= Number(lo) && v <= Number(hi ?? lo);
}

export function versionBounds(spec: string): [number, number] | null {
  if (spec === 'none') return null;
  const [lo, hi] = spec.split('-');
  return [Number(lo), Number(hi ?? lo)];
}

export const camel = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

let cachedSchemas: RawSchema[] | null = null;
export function schemas(): RawSchema[] {
  cachedSchemas ??= loadSchemas();
  return cachedSchemas;
}

/** Every struct definition of a schema by type name (inline and common). */
function structTable(schema: RawSchema): Map<string, RawField[]> {
  const table = new Map<string, RawField[]>();
  for (const c of schema.commonStructs ?? []) table.set(c.name, c.fields);
  const walk = (fields: RawField[]) => {
    for (const f of fields) {
      if (f.fields) {
        table.set(f.type.replace(/^\[\]/, ''), f.fields);
        walk(f.fields);
      }
    }
  };
  walk(schema.fields ?? []);
  for (const c of schema.commonStructs ?? []) walk(c.fields);
  return table;
}

const INT_RANGES: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  int64: [-(2 ** 53) + 1, 2 ** 53 - 1],
};

function parseIntDefault(d: string | number): number {
  if (typeof d === 'number') return d;
  const neg = d.startsWith('-');
  const body = neg ? d.slice(1) : d;
  const v = body.startsWith('0x') ? parseInt(body.slice(2), 16) : Number(body);
  return neg ? -v : v;
}

export class SampleBuilder {
  private readonly structs: Map<string, RawField[]>;

  constructor(
    readonly schema: RawSchema,
    private readonly rng: Rng,
  ) {
    this.structs = structTable(schema);
  }

  private structFields(type: string): RawField[] {
    const f = this.structs.get(type.replace(/^\[\]/, ''));
    if (!f) throw new Error(`no struct ${type} in ${this.schema.name}`);
    return f;
  }

  private isStruct(type: string): boolean {
    return /^[A-Z]/.test(type.replace(/^\[\]/, ''));
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.rng() * (hi - lo + 1));
  }

  defaultOf(f: RawField): unknown {
    const d = f.default;
    if (d === 'null') return null;
    if (f.type.startsWith('[]')) return [];
    if (this.isStruct(f.type)) return this.defaultStruct(this.structFields(f.type));
    switch (f.type) {
      case 'bool':
        return d === true || d === 'true';
      case 'string':
        return d === undefined ? '' : String(d);
      case 'uuid':
        return ZERO_UUID;
      case 'bytes':
        return Buffer.alloc(0);
      case 'records':
        return null;
      case 'float64':
        return d === undefined ? 0 : Number(d);
      default:
        return d === undefined ? 0 : parseIntDefault(d as string | number);
    }
  }

  defaultStruct(fields: RawField[]): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (const f of fields) o[camel(f.name)] = this.defaultOf(f);
    return o;
  }

  /** A message for `version`; `tagProbability` is the chance a tagged field is set. */
  build(version: number): Record<string, unknown> {
    return this.struct(this.schema.fields ?? [], version);
  }

  private struct(fields: RawField[], version: number): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    for (const f of fields) {
      const key = camel(f.name);
      if (!inVersions(f.versions, version)) o[key] = this.defaultOf(f);
      else if (inVersions(f.taggedVersions, version) && this.rng() < 0.35) o[key] = this.defaultOf(f);
      else o[key] = this.value(f, version);
    }
    return o;
  }

  private value(f: RawField, version: number): unknown {
    if (inVersions(f.nullableVersions, version) && this.rng() < 0.25) return null;
    if (f.type.startsWith('[]')) {
      const elemType = f.type.slice(2);
      const n = this.int(1, 2);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) {
        out.push(this.isStruct(elemType) ? this.struct(this.structFields(elemType), version) : this.prim(elemType, undefined));
      }
      return out;
    }
    if (this.isStruct(f.type)) return this.struct(this.structFields(f.type), version);
    return this.prim(f.type, f.default);
  }

  private prim(type: string, d: string | number | boolean | undefined): unknown {
    switch (type) {
      case 'bool':
        return !(d === true || d === 'true');
      case 'string': {
        const alphabet = ['a', 'b', 'z', 'Q', '0', '-', '.', '_', 'é', 'ß', '☃', '日', '𝄞'];
        let s = '';
        const len = this.int(1, 8);
        for (let i = 0; i < len; i++) s += alphabet[this.int(0, alphabet.length - 1)];
        return s === d ? s + 'x' : s;
      }
      case 'uuid': {
        const b = Buffer.alloc(16);
        for (let i = 0; i < 16; i++) b[i] = this.int(0, 255);
        b[0] = b[0]! | 1;
        const h = b.toString('hex');
        return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
      }
      case 'bytes':
      case 'records': {
        const b = Buffer.alloc(this.int(1, 6));
        for (let i = 0; i < b.length; i++) b[i] = this.int(0, 255);
        return b;
      }
      case 'float64': {
        const v = Math.round((this.rng() - 0.5) * 2e9) / 1024;
        return v === 0 ? 0.5 : v;
      }
      default: {
        const range = INT_RANGES[type];
        if (!range) throw new Error(`unknown primitive ${type}`);
        const def = d === undefined ? 0 : parseIntDefault(d as string | number);
        // Mix small values, extremes and random ones.
        const pick = this.rng();
        let v: number;
        if (pick < 0.15) v = range[0];
        else if (pick < 0.3) v = range[1];
        else if (pick < 0.5) v = this.int(-3, 300);
        else v = this.int(range[0], range[1]);
        v = Math.min(range[1], Math.max(range[0], v));
        if (v === def) v = v === range[1] ? v - 1 : v + 1;
        return v;
      }
    }
  }
}
