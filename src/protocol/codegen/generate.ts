// Generates src/protocol/generated/*.ts from the Apache Kafka message schemas: those of the
// kafka-clients jar Maven resolves (kafka-schemas.ts), else the Kafka 4.0 copy beside the
// repository (../shared/kafka-protocol/messages). Run with `npm run codegen`.
// generateAll() returns the files as a map so tests can check the committed output is fresh.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveSchemas, type SchemaSource } from './kafka-schemas.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const generatedDir = path.join(repoRoot, 'src', 'protocol', 'generated');

let resolved: SchemaSource | null = null;
/** Where the schemas come from; Maven is asked only by `npm run codegen` (`maven`). */
export function schemaSource(maven = false): SchemaSource {
  if (resolved === null || (maven && resolved.fallback)) resolved = resolveSchemas({ maven, repoRoot });
  return resolved;
}

export function schemaDir(): string {
  return schemaSource().dir;
}

// ---------------------------------------------------------------------------------------------
// Schema model

/** A closed version interval; `hi` may be Infinity. Empty when lo > hi. */
export interface VRange {
  lo: number;
  hi: number;
}

const EMPTY: VRange = { lo: 1, hi: 0 };

export function parseRange(s: string | undefined): VRange {
  if (s === undefined || s === 'none' || s === '') return EMPTY;
  let m = /^(\d+)\+$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Infinity };
  m = /^(\d+)-(\d+)$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) };
  m = /^(\d+)$/.exec(s);
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) };
  throw new Error(`bad version range ${JSON.stringify(s)}`);
}

const isEmpty = (r: VRange) => r.lo > r.hi;
const intersect = (a: VRange, b: VRange): VRange => ({ lo: Math.max(a.lo, b.lo), hi: Math.min(a.hi, b.hi) });
const hull = (a: VRange, b: VRange): VRange => (isEmpty(a) ? b : isEmpty(b) ? a : { lo: Math.min(a.lo, b.lo), hi: Math.max(a.hi, b.hi) });
const contains = (outer: VRange, inner: VRange) => isEmpty(inner) || (outer.lo <= inner.lo && inner.hi <= outer.hi);

/** Strip `//` comments (outside of string literals) from the JSON-with-comments schema text. */
export function stripJsonComments(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

export interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  flexibleVersions?: string;
  default?: string | number | boolean;
  ignorable?: boolean;
  about?: string;
  entityType?: string;
  mapKey?: boolean;
  fields?: RawField[];
}

export interface RawSchema {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions?: string;
  latestVersionUnstable?: boolean;
  listeners?: string[];
  fields?: RawField[];
  commonStructs?: { name: string; versions?: string; fields: RawField[] }[];
}

export function loadSchemas(dir = schemaDir()): RawSchema[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(stripJsonComments(fs.readFileSync(path.join(dir, f), 'utf8'))) as RawSchema);
}

const PRIMS = ['bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'string', 'bytes', 'records', 'uuid'] as const;
type Prim = (typeof PRIMS)[number];

type FType = { kind: 'prim'; prim: Prim } | { kind: 'struct'; struct: Struct } | { kind: 'array'; elem: FType };

interface Field {
  name: string;
  camel: string;
  type: FType;
  versions: VRange;
  nullable: VRange;
  tagged: VRange;
  tag: number;
  /** Versions in which variable-length data uses the compact encoding. */
  flex: VRange;
  ignorable: boolean;
  rawDefault: string | number | boolean | undefined;
  about: string;
}

interface Struct {
  schemaName: string;
  tsName: string;
  fields: Field[];
  rawFields: RawField[];
  /** Hull of the versions in which this struct can be reached. */
  reach: VRange;
  topLevel: boolean;
}

interface Message {
  raw: RawSchema;
  name: string;
  valid: VRange;
  flex: VRange;
  root: Struct;
  structs: Struct[];
}

export function lowerCamel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

export function kebab(name: string): string {
  return name
    .replace(/KRaft/g, 'Kraft')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

function buildMessage(raw: RawSchema): Message {
  const valid = parseRange(raw.validVersions);
  const flex = parseRange(raw.flexibleVersions);
  const structsByName = new Map<string, Struct>();
  const order: Struct[] = [];
  const tsNameFor = (schemaName: string) => (schemaName.startsWith(raw.name) ? schemaName : raw.name + schemaName);

  const common = new Map<string, RawField[]>();
  for (const c of raw.commonStructs ?? []) common.set(c.name, c.fields);

  // Structs are listed in depth-first order of first use; common structs never used come last.
  const use = (schemaName: string, rawFields: RawField[] | undefined): Struct => {
    const existing = structsByName.get(schemaName);
    if (existing) {
      if (rawFields && JSON.stringify(existing.rawFields) !== JSON.stringify(rawFields)) {
        throw new Error(`${raw.name}: struct ${schemaName} is defined twice with different fields`);
      }
      return existing;
    }
    const fieldsOf = rawFields ?? common.get(schemaName);
    if (!fieldsOf) throw new Error(`${raw.name}: reference to undefined struct ${schemaName}`);
    if (rawFields && common.has(schemaName)) throw new Error(`${raw.name}: struct ${schemaName} shadows a common struct`);
    const s: Struct = { schemaName, tsName: tsNameFor(schemaName), fields: [], rawFields: fieldsOf, reach: EMPTY, topLevel: false };
    structsByName.set(schemaName, s);
    order.push(s);
    s.fields = convertFields(fieldsOf);
    return s;
  };

  const convertFields = (rawFields: RawField[]): Field[] =>
    rawFields.map((rf) => {
      const parseType = (t: string, fields: RawField[] | undefined): FType => {
        if (t.startsWith('[]')) return { kind: 'array', elem: parseType(t.slice(2), fields) };
        if ((PRIMS as readonly string[]).includes(t)) return { kind: 'prim', prim: t as Prim };
        if (!/^[A-Z]/.test(t)) throw new Error(`${raw.name}: unknown type ${t}`);
        return { kind: 'struct', struct: use(t, fields) };
      };
      const versions = parseRange(rf.versions);
      const tagged = parseRange(rf.taggedVersions);
      if (!isEmpty(tagged) && rf.tag === undefined) throw new Error(`${raw.name}.${rf.name}: taggedVersions without tag`);
      if (!isEmpty(tagged) && !contains(flex, intersect(tagged, valid))) {
        throw new Error(`${raw.name}.${rf.name}: tagged outside flexible versions`);
      }
      return {
        name: rf.name,
        camel: lowerCamel(rf.name),
        type: parseType(rf.type, rf.fields),
        versions,
        nullable: parseRange(rf.nullableVersions),
        tagged: intersect(tagged, versions),
        tag: rf.tag ?? -1,
        flex: rf.flexibleVersions !== undefined ? intersect(flex, parseRange(rf.flexibleVersions)) : flex,
        ignorable: rf.ignorable === true,
        rawDefault: rf.default,
        about: rf.about ?? '',
      };
    });

  const root: Struct = { schemaName: raw.name, tsName: raw.name, fields: [], rawFields: raw.fields ?? [], reach: valid, topLevel: true };
  root.fields = convertFields(root.rawFields);
  for (const name of common.keys()) use(name, undefined);

  // Reachable version hull of every struct (fixpoint; struct graphs are acyclic in practice).
  const propagate = (s: Struct) => {
    for (const f of s.fields) {
      const t = f.type.kind === 'array' ? f.type.elem : f.type;
      if (t.kind !== 'struct') continue;
      const r = intersect(s.reach, f.versions);
      const next = hull(t.struct.reach, r);
      if (next.lo !== t.struct.reach.lo || next.hi !== t.struct.reach.hi) {
        t.struct.reach = next;
        propagate(t.struct);
      }
    }
  };
  propagate(root);
  // Structs never reachable (e.g. fields of removed versions) still get code; give them the valid range.
  for (const s of order) if (isEmpty(s.reach)) s.reach = valid;

  // Tags must be unique per struct.
  for (const s of [root, ...order]) {
    const seen = new Set<number>();
    for (const f of s.fields) {
      if (f.tag < 0 || isEmpty(f.tagged)) continue;
      if (seen.has(f.tag)) throw new Error(`${raw.name}: duplicate tag ${f.tag} in ${s.schemaName}`);
      seen.add(f.tag);
    }
  }
  return { raw, name: raw.name, valid, flex, root, structs: order };
}

// ---------------------------------------------------------------------------------------------
// Code emission helpers

/** A version condition within `within`: null = never, '' = always, else a JS expression. */
function cond(r: VRange, within: VRange): string | null {
  const x = intersect(r, within);
  if (isEmpty(x)) return null;
  const parts: string[] = [];
  if (x.lo > within.lo) parts.push(`version >= ${x.lo}`);
  if (x.hi < within.hi) parts.push(x.lo === x.hi ? `version <= ${x.hi}` : `version <= ${x.hi}`);
  if (x.lo === x.hi && parts.length === 2) return `version === ${x.lo}`;
  return parts.join(' && ');
}

/** Choose between two code variants on a condition (statements). */
function branchStmt(c: string | null, yes: string, no: string, indent: string): string {
  if (c === '') return yes;
  if (c === null) return no;
  if (yes === no) return yes;
  return `if (${c}) ${yes}\n${indent}else ${no}`;
}

/** Choose between two expressions on a condition. */
function branchExpr(c: string | null, yes: string, no: string): string {
  if (c === '') return yes;
  if (c === null) return no;
  if (yes === no) return yes;
  const wrap = (e: string) => (e.includes(' ? ') ? `(${e})` : e);
  return `${c} ? ${wrap(yes)} : ${wrap(no)}`;
}

const RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false finally for ' +
    'function if import in instanceof new null return super switch this throw true try typeof var void while with ' +
    'yield let static implements interface package private protected public await arguments eval undefined NaN ' +
    'Infinity r w m version n i e tag size end a'
  ).split(' '),
);

const localName = (f: Field) =>
  RESERVED.has(f.camel) ||
  /^(encode|decode|default|isDefault)[A-Z]/.test(f.camel) ||
  /^(nonNull|unsupportedVersion|unrepresentable|ZERO_UUID|EMPTY_BYTES|Buffer)$/.test(f.camel)
    ? f.camel + '_'
    : f.camel;

function tsType(t: FType, nullable: boolean): string {
  let base: string;
  switch (t.kind) {
    case 'prim':
      base = primTs(t.prim);
      if (t.prim === 'records') return 'Buffer | null';
      break;
    case 'struct':
      base = t.struct.tsName;
      break;
    case 'array':
      base = `${tsType(t.elem, false)}[]`;
      break;
  }
  return nullable ? `${base} | null` : base;
}

function primTs(p: Prim): string {
  switch (p) {
    case 'bool':
      return 'boolean';
    case 'string':
    case 'uuid':
      return 'string';
    case 'bytes':
    case 'records':
      return 'Buffer';
    default:
      return 'number';
  }
}

function rangeText(r: VRange): string {
  if (isEmpty(r)) return 'none';
  if (r.hi === Infinity) return `${r.lo}+`;
  if (r.lo === r.hi) return `${r.lo}`;
  return `${r.lo}-${r.hi}`;
}

function parseIntDefault(s: string, field: string): number {
  const neg = s.startsWith('-');
  const body = neg ? s.slice(1) : s;
  let v: number;
  if (/^0x[0-9a-f]+$/i.test(body)) v = parseInt(body.slice(2), 16);
  else if (/^0[0-7]+$/.test(body)) v = parseInt(body.slice(1), 8);
  else if (/^\d+$/.test(body)) v = Number(body);
  else throw new Error(`${field}: bad integer default ${s}`);
  return neg ? -v : v;
}

/** Emits the code of one message (its structs' interfaces, codecs and default helpers). */
class Emitter {
  constructor(readonly msg: Message) {}

  private nullableTs(f: Field): boolean {
    if (f.type.kind === 'prim' && f.type.prim === 'records') return true;
    return !isEmpty(f.nullable) || f.rawDefault === 'null';
  }

  /** Default value expression for a field (as seen in the interface). */
  defaultExpr(f: Field): string {
    const d = f.rawDefault;
    const where = `${this.msg.name}.${f.name}`;
    const t = f.type;
    if (d === 'null') {
      if (!this.nullableTs(f)) throw new Error(`${where}: null default on a non-nullable field`);
      return 'null';
    }
    if (t.kind === 'array') {
      if (d !== undefined && d !== '') throw new Error(`${where}: unsupported array default ${String(d)}`);
      return '[]';
    }
    if (t.kind === 'struct') {
      if (d !== undefined) throw new Error(`${where}: unsupported struct default ${String(d)}`);
      return `default${t.struct.tsName}()`;
    }
    switch (t.prim) {
      case 'bool':
        if (d === undefined) return 'false';
        if (d === true || d === 'true') return 'true';
        if (d === false || d === 'false') return 'false';
        throw new Error(`${where}: bad bool default ${String(d)}`);
      case 'string':
        return JSON.stringify(d === undefined ? '' : String(d));
      case 'uuid':
        if (d !== undefined) throw new Error(`${where}: unsupported uuid default`);
        return 'ZERO_UUID';
      case 'bytes':
        if (d !== undefined) throw new Error(`${where}: unsupported bytes default`);
        return 'EMPTY_BYTES';
      case 'records':
        return 'null';
      case 'float64':
        return d === undefined ? '0' : String(Number(d));
      default: {
        if (d === undefined) return '0';
        const v = typeof d === 'number' ? d : parseIntDefault(String(d), where);
        return String(v);
      }
    }
  }

  /** Expression that is true when `x` differs from the field's default. */
  nonDefaultExpr(f: Field, x: string): string {
    return this.defaultTest(f, x, false);
  }

  /**
   * True when `x` is given and not the default: a field that a version cannot carry may be left
   * out of the message (callers written for older schemas know nothing of newer fields).
   */
  setExpr(f: Field, x: string): string {
    return `(${x} !== undefined && ${this.nonDefaultExpr(f, x)})`;
  }

  /** Expression that is true when `x` equals the field's default. */
  isDefaultExpr(f: Field, x: string): string {
    return this.defaultTest(f, x, true);
  }

  private defaultTest(f: Field, x: string, positive: boolean): string {
    const t = f.type;
    const eq = positive ? '===' : '!==';
    const or = positive ? '&&' : '||';
    if (f.rawDefault === 'null') return `${x} ${eq} null`;
    const def = t.kind === 'struct' ? '' : this.defaultExpr(f);
    const emptyTest = (): string => {
      const len = `${x}.length ${eq} 0`;
      return this.nullableTs(f) ? `(${x} ${positive ? '!==' : '==='} null ${or} ${len})` : len;
    };
    if (t.kind === 'array') return emptyTest();
    if (t.kind === 'struct') {
      const call = `${positive ? '' : '!'}isDefault${t.struct.tsName}(${x})`;
      return this.nullableTs(f) ? `(${x} ${positive ? '!==' : '==='} null ${or} ${call})` : call;
    }
    if (t.prim === 'bytes') return emptyTest();
    return `${x} ${eq} ${def}`;
  }

  // ---- encoding ----

  /** Statement(s) writing value `x` of field `f` (regular or tagged payload) within `within`. */
  writeValue(f: Field, t: FType, x: string, within: VRange, indent: string, nullableHere: VRange): string {
    const compact = cond(f.flex, within);
    const nullC = cond(nullableHere, within);
    const tsNullable = this.nullableTs(f);
    switch (t.kind) {
      case 'prim': {
        const p = t.prim;
        if (p === 'string' || p === 'bytes' || p === 'records') {
          const base = p === 'string' ? 'String' : 'Bytes';
          const lower = p === 'string' ? 'string' : 'bytes';
          const nn = (plain: string) => {
            if (!tsNullable) return `w.${plain}(${x});`;
            return `w.${plain}(nonNull(${x}, '${this.msg.name}.${f.camel}'));`;
          };
          const nullableVariant = branchStmt(compact, `w.compactNullable${base}(${x});`, `w.nullable${base}(${x});`, indent);
          const plainVariant = branchStmt(compact, nn(`compact${base}`), nn(lower), indent);
          if (nullC === '') return nullableVariant;
          if (nullC === null) return plainVariant;
          return `if (${nullC}) {\n${indent}  ${indentMore(nullableVariant, '  ')}\n${indent}} else {\n${indent}  ${indentMore(plainVariant, '  ')}\n${indent}}`;
        }
        return `w.${p}(${x});`;
      }
      case 'struct': {
        const enc = `encode${t.struct.tsName}(w, version, ${x});`;
        if (!tsNullable) return enc;
        const nullable = `if (${x} === null) w.int8(-1);\n${indent}else {\n${indent}  w.int8(1);\n${indent}  ${enc}\n${indent}}`;
        if (nullC === '') return nullable;
        const plain = `encode${t.struct.tsName}(w, version, nonNull(${x}, '${this.msg.name}.${f.camel}'));`;
        if (nullC === null) return plain;
        return `if (${nullC}) {\n${indent}  ${indentMore(nullable, '  ')}\n${indent}} else ${plain}`;
      }
      case 'array': {
        const elem = t.elem;
        let elemWrite: string;
        if (elem.kind === 'struct') elemWrite = `encode${elem.struct.tsName}(w, version, e);`;
        else if (elem.kind === 'prim') {
          const p = elem.prim;
          if (p === 'string') elemWrite = branchStmt(compact, 'w.compactString(e);', 'w.string(e);', indent + '  ');
          else if (p === 'bytes' || p === 'records') elemWrite = branchStmt(compact, 'w.compactBytes(e);', 'w.bytes(e);', indent + '  ');
          else elemWrite = `w.${p}(e);`;
        } else throw new Error('nested arrays are not supported');
        const len = (n: string) => branchStmt(compact, `w.compactArrayLength(${n});`, `w.arrayLength(${n});`, indent);
        const loop = `for (const e of ${x}) ${elemWrite}`;
        if (!tsNullable) return `${len(`${x}.length`)}\n${indent}${loop}`;
        const nullable = `if (${x} === null) {\n${indent}  ${indentMore(len('-1'), '  ')}\n${indent}} else {\n${indent}  ${indentMore(len(`${x}.length`), '  ')}\n${indent}  ${indentMore(loop, '  ')}\n${indent}}`;
        if (nullC === '') return nullable;
        const plainLoop = `{\n${indent}  const a = nonNull(${x}, '${this.msg.name}.${f.camel}');\n${indent}  ${indentMore(len('a.length'), '  ')}\n${indent}  for (const e of a) ${indentMore(elemWrite, '  ')}\n${indent}}`;
        if (nullC === null) return plainLoop;
        return `if (${nullC}) {\n${indent}  ${indentMore(nullable, '  ')}\n${indent}} else ${plainLoop}`;
      }
    }
  }

  encodeBody(s: Struct): string[] {
    const lines: string[] = [];
    const within = s.reach;
    const ind = '  ';
    for (const f of s.fields) {
      const x = `m.${f.camel}`;
      const present = intersect(f.versions, within);
      const regular = subtractSuffix(present, f.tagged);
      const regC = cond(regular, within);
      const presentC = cond(present, within);
      const nullableHere = f.nullable;
      const mustCheck = !f.ignorable && presentC !== '';
      const check = () => `throw unrepresentable('${this.msg.name}.${f.camel}', version);`;
      if (regC === null) {
        if (mustCheck) {
          const absent = presentC === null ? '' : `!(${presentC}) && `;
          lines.push(`${ind}if (${absent}${this.setExpr(f, x)}) ${check()}`);
        }
        continue;
      }
      const write = this.writeValue(f, f.type, x, regular, regC === '' ? ind : ind + '  ', nullableHere);
      const tagPart = cond(f.tagged, within);
      if (regC === '') {
        lines.push(`${ind}${write}`);
      } else if (mustCheck && tagPart === null) {
        lines.push(`${ind}if (${regC}) {\n${ind}  ${write}\n${ind}} else if (${this.setExpr(f, x)}) ${check()}`);
      } else {
        lines.push(`${ind}if (${regC}) {\n${ind}  ${write}\n${ind}}`);
        if (mustCheck) lines.push(`${ind}if (!(${presentC}) && ${this.setExpr(f, x)}) ${check()}`);
      }
    }
    // Tagged fields.
    const flexC = cond(this.msg.flex, within);
    const flexWithin = intersect(within, this.msg.flex);
    if (flexC !== null) {
      const tagged = s.fields.filter((f) => cond(f.tagged, within) !== null).sort((a, b) => a.tag - b.tag);
      const body: string[] = [];
      const inner = flexC === '' ? ind : ind + '  ';
      if (tagged.length === 0) {
        body.push(`${inner}w.uvarint(0);`);
      } else {
        const flags: string[] = [];
        for (const f of tagged) {
          const tc = cond(f.tagged, flexWithin);
          const nd = this.nonDefaultExpr(f, `m.${f.camel}`);
          const flag = `t${f.tag}`;
          flags.push(flag);
          body.push(`${inner}const ${flag} = ${tc ? `${tc} && ` : ''}${nd};`);
        }
        body.push(flags.length === 1 ? `${inner}w.uvarint(${flags[0]} ? 1 : 0);` : `${inner}w.uvarint(${flags.map((fl) => `(${fl} ? 1 : 0)`).join(' + ')});`);
        for (const f of tagged) {
          const write = this.writeValue(f, f.type, `m.${f.camel}`, intersect(f.tagged, flexWithin), inner + '  ', f.nullable);
          body.push(
            `${inner}if (t${f.tag}) {\n${inner}  w.uvarint(${f.tag});\n${inner}  const start = w.length;\n${inner}  ${write}\n${inner}  w.insertSizeAt(start);\n${inner}}`,
          );
        }
      }
      if (flexC === '') lines.push(...body);
      else lines.push(`${ind}if (${flexC}) {`, ...body, `${ind}}`);
    }
    return lines;
  }

  // ---- decoding ----

  /** Expression reading one scalar (non-array) value of field `f`. */
  readScalar(f: Field, t: FType, within: VRange, nullableHere: VRange): string {
    const compact = cond(f.flex, within);
    const nullC = cond(nullableHere, within);
    if (t.kind === 'struct') {
      const dec = `decode${t.struct.tsName}(r, version)`;
      const nullable = `r.int8() < 0 ? null : ${dec}`;
      if (!this.nullableTs(f)) return dec;
      return branchExpr(nullC, nullable, dec);
    }
    if (t.kind !== 'prim') throw new Error('readScalar on array');
    const p = t.prim;
    if (p === 'string' || p === 'bytes' || p === 'records') {
      const base = p === 'string' ? 'String' : 'Bytes';
      const lower = p === 'string' ? 'string' : 'bytes';
      const nullable = branchExpr(compact, `r.compactNullable${base}()`, `r.nullable${base}()`);
      const plain = branchExpr(compact, `r.compact${base}()`, `r.${lower}()`);
      return branchExpr(nullC, nullable, plain);
    }
    return `r.${p}()`;
  }

  /** Statements that read an array for field `f` into the already declared local `target`. */
  readArray(f: Field, t: FType & { kind: 'array' }, target: string, within: VRange, indent: string, nullableHere: VRange): string {
    const compact = cond(f.flex, within);
    const nullC = cond(nullableHere, within);
    const elem = t.elem;
    let elemRead: string;
    if (elem.kind === 'struct') elemRead = `decode${elem.struct.tsName}(r, version)`;
    else if (elem.kind === 'prim') {
      const p = elem.prim;
      if (p === 'string') elemRead = branchExpr(compact, 'r.compactString()', 'r.string()');
      else if (p === 'bytes' || p === 'records') elemRead = branchExpr(compact, 'r.compactBytes()', 'r.bytes()');
      else elemRead = `r.${p}()`;
    } else throw new Error('nested arrays are not supported');
    const elemTs = tsType(elem, false);
    const plainLen = branchExpr(compact, 'r.compactArrayLength()', 'r.arrayLength()');
    const nullLen = branchExpr(compact, 'r.compactNullableArrayLength()', 'r.nullableArrayLength()');
    const tsNullable = this.nullableTs(f);
    if (!tsNullable || nullC === null) {
      // target is a fresh empty array (or, for nullable types, assigned here).
      if (tsNullable) {
        return `{\n${indent}  const a: ${elemTs}[] = [];\n${indent}  for (let i = 0, n = ${plainLen}; i < n; i++) a.push(${elemRead});\n${indent}  ${target} = a;\n${indent}}`;
      }
      return `for (let i = 0, n = ${plainLen}; i < n; i++) ${target}.push(${elemRead});`;
    }
    const lenExpr = branchExpr(nullC, nullLen, plainLen);
    return (
      `{\n${indent}  const n = ${lenExpr};\n${indent}  if (n < 0) ${target} = null;\n${indent}  else {\n` +
      `${indent}    const a: ${elemTs}[] = [];\n${indent}    for (let i = 0; i < n; i++) a.push(${elemRead});\n${indent}    ${target} = a;\n${indent}  }\n${indent}}`
    );
  }

  decodeBody(s: Struct): string[] {
    const lines: string[] = [];
    const within = s.reach;
    const ind = '  ';
    const flexWithin = intersect(within, this.msg.flex);
    const flexC = cond(this.msg.flex, within);
    const tagged = flexC === null ? [] : s.fields.filter((f) => cond(f.tagged, within) !== null).sort((a, b) => a.tag - b.tag);
    for (const f of s.fields) {
      const local = localName(f);
      const present = intersect(f.versions, within);
      const regular = subtractSuffix(present, f.tagged);
      const regC = cond(regular, within);
      const isTagged = tagged.includes(f);
      const ts = tsType(f.type, this.nullableTs(f));
      const def = this.defaultExpr(f);
      if (f.type.kind === 'array') {
        const arrT = f.type;
        const simplePush = !this.nullableTs(f);
        if (regC === null) {
          lines.push(`${ind}${isTagged ? 'let' : 'const'} ${local}: ${ts} = ${def};`);
          continue;
        }
        if (simplePush && !isTagged) {
          lines.push(`${ind}const ${local}: ${ts} = [];`);
          const rd = this.readArray(f, arrT, local, regular, ind + (regC === '' ? '' : '  '), f.nullable);
          lines.push(regC === '' ? `${ind}${rd}` : `${ind}if (${regC}) {\n${ind}  ${rd}\n${ind}}`);
        } else {
          lines.push(regC === '' && !isTagged ? `${ind}let ${local}: ${ts};` : `${ind}let ${local}: ${ts} = ${def};`);
          if (!this.nullableTs(f)) {
            // Tagged non-nullable array: fill a fresh array and assign.
            const rd = `{\n${ind}  const a: ${tsType(arrT.elem, false)}[] = [];\n${ind}  ${this.readArray(f, arrT, 'a', regular, ind + '  ', f.nullable)}\n${ind}  ${local} = a;\n${ind}}`;
            lines.push(regC === '' ? `${ind}${rd}` : `${ind}if (${regC}) ${rd}`);
          } else {
            const rd = this.readArray(f, arrT, local, regular, ind + (regC === '' ? '' : '  '), f.nullable);
            lines.push(regC === '' ? `${ind}${rd}` : `${ind}if (${regC}) {\n${ind}  ${rd}\n${ind}}`);
          }
        }
        continue;
      }
      const kw = isTagged ? 'let' : 'const';
      if (regC === null) {
        lines.push(`${ind}${kw} ${local}: ${ts} = ${def};`);
      } else {
        const rd = this.readScalar(f, f.type, regular, f.nullable);
        const expr = regC === '' ? rd : `${regC} ? ${rd.includes('?') ? `(${rd})` : rd} : ${def}`;
        lines.push(`${ind}${kw} ${local}: ${ts} = ${expr};`);
      }
    }
    if (flexC !== null) {
      const body: string[] = [];
      const inner = flexC === '' ? ind : ind + '  ';
      if (tagged.length === 0) {
        body.push(`${inner}r.skipTaggedFields();`);
      } else {
        body.push(`${inner}for (let n = r.uvarint(); n > 0; n--) {`);
        body.push(`${inner}  const tag = r.uvarint();`);
        body.push(`${inner}  const size = r.uvarint();`);
        let first = true;
        for (const f of tagged) {
          const tc = cond(f.tagged, flexWithin);
          const tw = intersect(f.tagged, flexWithin);
          const local = localName(f);
          const i3 = inner + '    ';
          let read: string;
          if (f.type.kind === 'array') {
            if (this.nullableTs(f)) read = this.readArray(f, f.type, local, tw, i3, f.nullable);
            else
              read = `{\n${i3}  const a: ${tsType(f.type.elem, false)}[] = [];\n${i3}  ${this.readArray(f, f.type, 'a', tw, i3 + '  ', f.nullable)}\n${i3}  ${local} = a;\n${i3}}`;
          } else {
            read = `${local} = ${this.readScalar(f, f.type, tw, f.nullable)};`;
          }
          body.push(`${inner}  ${first ? '' : '} else '}if (tag === ${f.tag}${tc ? ` && ${tc}` : ''}) {\n${i3}const end = r.limit(size);\n${i3}${read}\n${i3}r.unlimit(end);`);
          first = false;
        }
        body.push(`${inner}  } else r.skip(size);`);
        body.push(`${inner}}`);
      }
      if (flexC === '') lines.push(...body);
      else lines.push(`${ind}if (${flexC}) {`, ...body, `${ind}}`);
    }
    const props = s.fields.map((f) => (localName(f) === f.camel ? f.camel : `${f.camel}: ${localName(f)}`));
    lines.push(props.length === 0 ? `${ind}return {};` : `${ind}return { ${props.join(', ')} };`);
    return lines;
  }

  // ---- per-struct output ----

  iface(s: Struct): string {
    const out: string[] = [];
    const desc = s.topLevel ? describeMessage(this.msg) : `${s.schemaName} (in ${this.msg.name})`;
    out.push(`/** ${escapeDoc(desc)} */`);
    if (s.fields.length === 0) {
      out.push(`// eslint-disable-next-line @typescript-eslint/no-empty-interface`);
      out.push(`export interface ${s.tsName} {}`);
      return out.join('\n');
    }
    out.push(`export interface ${s.tsName} {`);
    for (const f of s.fields) {
      const notes: string[] = [`v${rangeText(intersect(f.versions, this.msg.valid))}`];
      if (!isEmpty(f.nullable)) notes.push(`nullable v${rangeText(intersect(f.nullable, this.msg.valid))}`);
      if (!isEmpty(f.tagged)) notes.push(`tag ${f.tag}`);
      if (f.rawDefault !== undefined) notes.push(`default ${String(f.rawDefault)}`);
      out.push(`  /** [${notes.join(', ')}] ${escapeDoc(f.about)} */`);
      out.push(`  ${f.camel}: ${tsType(f.type, this.nullableTs(f))};`);
    }
    out.push('}');
    return out.join('\n');
  }

  codec(s: Struct): string {
    const exp = s.topLevel ? 'export ' : '';
    const out: string[] = [];
    const v = this.msg.valid;
    const check = s.topLevel ? `  if (version < ${v.lo} || version > ${v.hi}) throw unsupportedVersion('${this.msg.name}', version);\n` : '';
    const enc = check + this.encodeBody(s).join('\n');
    const mParam = s.fields.length === 0 ? '_m' : 'm';
    const wParam = /\bw\./.test(enc) ? 'w' : '_w';
    const vParam = (body: string) => (/\bversion\b/.test(body) ? 'version' : '_version');
    out.push(`${exp}function encode${s.tsName}(${wParam}: Writer, ${vParam(enc)}: number, ${mParam}: ${s.tsName}): void {\n${enc}\n}`);
    const dec = check + this.decodeBody(s).join('\n');
    out.push(`${exp}function decode${s.tsName}(r: Reader, ${vParam(dec)}: number): ${s.tsName} {\n${dec}\n}`);
    return out.join('\n\n');
  }

  /**
   * The StructShape of the root and of every struct reached through arrays (see primitives.ts):
   * what the request path needs to build an error response that mirrors the request.
   */
  shapes(withMake: boolean): string {
    const m = this.msg;
    const seen = new Set<Struct>();
    const todo: Struct[] = [m.root];
    const out: string[] = [];
    while (todo.length) {
      const s = todo.shift()!;
      if (seen.has(s)) continue;
      seen.add(s);
      const fields: string[] = [];
      s.fields.forEach((f, i) => {
        const raw = s.rawFields[i]!;
        const v = intersect(f.versions, s.reach);
        if (isEmpty(v)) return;
        const head = `name: '${f.camel}', versions: [${v.lo}, ${v.hi}]`;
        const t = f.type;
        if (t.kind === 'prim') {
          if (f.camel === 'errorCode' && t.prim === 'int16') fields.push(`{ ${head}, errorCode: true }`);
          else {
            const key = shapeKey(raw, f.camel, t.prim);
            if (key) fields.push(`{ ${head}, key: '${key}' }`);
          }
        } else if (t.kind === 'array' && t.elem.kind === 'struct') {
          todo.push(t.elem.struct);
          fields.push(`{ ${head}, elem: () => ${t.elem.struct.tsName}Shape }`);
        } else if (t.kind === 'array' && t.elem.kind === 'prim') {
          const key = raw.entityType ?? (t.elem.prim === 'int32' && /^partition(s|Indexes|Ids)$/.test(f.camel) ? 'partition' : undefined);
          if (key) fields.push(`{ ${head}, key: '${key}', items: true }`);
        }
      });
      const make = withMake ? `\n  make: () => default${s.tsName}(),` : '';
      const exp = s === m.root ? 'export ' : '';
      out.push(`${exp}const ${s.tsName}Shape: StructShape = {${make}\n  fields: [${fields.length ? `\n    ${fields.join(',\n    ')},\n  ` : ''}],\n};`);
    }
    return out.join('\n\n');
  }

  defaultFn(s: Struct): string {
    const props = s.fields.map((f) => `${f.camel}: ${this.defaultExpr(f)}`);
    return `function default${s.tsName}(): ${s.tsName} {\n  return { ${props.join(', ')} };\n}`;
  }

  isDefaultFn(s: Struct): string {
    const conds = s.fields.map((f) => this.isDefaultExpr(f, `m.${f.camel}`));
    const mParam = s.fields.length === 0 ? '_m' : 'm';
    return `function isDefault${s.tsName}(${mParam}: ${s.tsName}): boolean {\n  return ${conds.length ? conds.join(' &&\n    ') : 'true'};\n}`;
  }
}

/** Versions of `present` not covered by the (suffix) tagged range. */
function subtractSuffix(present: VRange, tagged: VRange): VRange {
  if (isEmpty(tagged) || isEmpty(present)) return present;
  const x = intersect(present, tagged);
  if (isEmpty(x)) return present;
  if (x.hi !== present.hi) throw new Error('tagged versions must be a suffix of the field versions');
  return { lo: present.lo, hi: x.lo - 1 };
}

/** Partition-index fields go by several names; they identify the same thing. */
const PARTITION_NAMES = new Set(['partition', 'partitionIndex', 'partitionId', 'index']);
const KEY_NAMES = new Set(['topicId', 'name', 'resourceType', 'resourceName', 'key']);

/** The identity of a scalar field for mirroring request items, or undefined. */
function shapeKey(raw: RawField, camel: string, prim: Prim): string | undefined {
  if (raw.entityType) return raw.entityType;
  if (prim === 'int32' && PARTITION_NAMES.has(camel)) return 'partition';
  if (KEY_NAMES.has(camel) || raw.mapKey) return camel;
  return undefined;
}

function indentMore(code: string, extra: string): string {
  return code.split('\n').join('\n' + extra);
}

function escapeDoc(s: string): string {
  return s.replace(/\*\//g, '*\\/').replace(/\s+/g, ' ').trim();
}

function describeMessage(m: Message): string {
  const r = m.raw;
  const parts = [`${m.name}`];
  if (r.apiKey !== undefined) parts.push(`(API key ${r.apiKey})`);
  parts.push(`versions ${r.validVersions}, flexible ${r.flexibleVersions ?? 'none'}`);
  if (r.latestVersionUnstable) parts.push('(latest version unstable)');
  return parts.join(' ') + '.';
}

// ---------------------------------------------------------------------------------------------
// Files

const HEADER =
  '// GENERATED FILE - DO NOT EDIT BY HAND.\n' +
  '// Generated by src/protocol/codegen/generate.ts (`npm run codegen`) from the Apache Kafka\n' +
  '// message schemas (Apache License 2.0; see NOTICE-kafka-protocol).\n';

function emitFile(msgs: Message[]): string {
  const parts: string[] = [];
  const emitters = msgs.map((m) => new Emitter(m));
  const bodies: string[] = [];
  for (const e of emitters) {
    const m = e.msg;
    const structs = [m.root, ...m.structs];
    const sect: string[] = [];
    sect.push(`// ${'-'.repeat(94)}\n// ${m.name}`);
    for (const s of structs) sect.push(e.iface(s));
    for (const s of structs) sect.push(e.codec(s));
    if (m.raw.type === 'request' || m.raw.type === 'response') sect.push(e.shapes(m.raw.type === 'response'));
    // Default helpers, kept only when referenced (transitively), in struct order.
    const helpers = structs.flatMap((s) => [
      { name: `default${s.tsName}`, code: e.defaultFn(s) },
      { name: `isDefault${s.tsName}`, code: e.isDefaultFn(s) },
    ]);
    const used = new Set<string>();
    let text = sect.join('\n');
    for (let changed = true; changed;) {
      changed = false;
      for (const h of helpers) {
        if (!used.has(h.name) && new RegExp(`\\b${h.name}\\(`).test(text)) {
          used.add(h.name);
          text += '\n' + h.code;
          changed = true;
        }
      }
    }
    sect.push(...helpers.filter((h) => used.has(h.name)).map((h) => h.code));
    bodies.push(sect.join('\n\n'));
  }
  const code = bodies.join('\n\n');
  const typeImports = ['Reader', 'StructShape', 'Writer'].filter((n) => n !== 'StructShape' || /: StructShape\b/.test(code));
  const fnImports = ['EMPTY_BYTES', 'ZERO_UUID', 'nonNull', 'unrepresentable', 'unsupportedVersion'].filter((n) => new RegExp(`\\b${n}\\b`).test(code));
  parts.push(HEADER);
  parts.push(`import type { ${typeImports.join(', ')} } from '../primitives.js';`);
  parts.push(`import { ${fnImports.join(', ')} } from '../primitives.js';\n`);
  parts.push(code);
  return parts.join('\n') + '\n';
}

export interface ApiInfo {
  apiKey: number;
  name: string;
  file: string;
  request: Message;
  response: Message;
}

export function generateAll(dir = schemaDir()): Map<string, string> {
  const raws = loadSchemas(dir);
  const files = new Map<string, string>();
  const requests = new Map<number, RawSchema>();
  const responses = new Map<number, RawSchema>();
  const others: RawSchema[] = [];
  for (const r of raws) {
    if (r.type === 'request') requests.set(r.apiKey!, r);
    else if (r.type === 'response') responses.set(r.apiKey!, r);
    else others.push(r);
  }
  const apis: ApiInfo[] = [];
  const moduleNames: string[] = [];
  const globalNames = new Map<string, string>();
  const claim = (name: string, file: string) => {
    const prev = globalNames.get(name);
    if (prev !== undefined) throw new Error(`exported name ${name} clashes between ${prev} and ${file}`);
    globalNames.set(name, file);
  };
  for (const key of [...requests.keys()].sort((a, b) => a - b)) {
    const req = requests.get(key)!;
    const resp = responses.get(key);
    if (!resp) throw new Error(`no response schema for API key ${key}`);
    if (isEmpty(parseRange(req.validVersions))) continue; // removed APIs (e.g. LeaderAndIsr in 4.0)
    if (req.validVersions !== resp.validVersions) throw new Error(`${req.name}/${resp.name}: version ranges differ`);
    const name = req.name.replace(/Request$/, '');
    const file = `${kebab(name)}.ts`;
    const rq = buildMessage(req);
    const rs = buildMessage(resp);
    apis.push({ apiKey: key, name, file, request: rq, response: rs });
    files.set(file, emitFile([rq, rs]));
    moduleNames.push(file);
    for (const m of [rq, rs]) for (const s of [m.root, ...m.structs]) claim(s.tsName, file);
    for (const m of [rq, rs]) claim(`${m.root.tsName}Shape`, file);
  }
  for (const r of others.sort((a, b) => a.name.localeCompare(b.name))) {
    if (isEmpty(parseRange(r.validVersions))) continue;
    const file = `${kebab(r.name)}.ts`;
    const m = buildMessage(r);
    files.set(file, emitFile([m]));
    moduleNames.push(file);
    for (const s of [m.root, ...m.structs]) claim(s.tsName, file);
  }
  files.set('index.ts', emitIndex(apis, moduleNames.sort()));
  const out = new Map<string, string>();
  for (const k of [...files.keys()].sort()) out.set(path.posix.join('src/protocol/generated', k), files.get(k)!);
  return out;
}

function emitIndex(apis: ApiInfo[], modules: string[]): string {
  const lines: string[] = [HEADER];
  lines.push(`import type { Reader, StructShape, Writer } from '../primitives.js';`);
  for (const a of apis) {
    const rq = a.request.name;
    const rs = a.response.name;
    lines.push(`import { decode${rq}, encode${rq}, decode${rs}, encode${rs}, ${rq}Shape, ${rs}Shape } from './${a.file.replace(/\.ts$/, '.js')}';`);
  }
  lines.push('');
  for (const m of modules) lines.push(`export * from './${m.replace(/\.ts$/, '.js')}';`);
  lines.push('');
  lines.push('/** Kafka API keys by name (without the Request suffix). */');
  lines.push('export const ApiKey = {');
  for (const a of apis) lines.push(`  ${a.name}: ${a.apiKey},`);
  lines.push('} as const;');
  lines.push('export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];');
  lines.push('');
  lines.push(`export interface ApiSpec {
  apiKey: number;
  name: string;
  minVersion: number;
  maxVersion: number;
  /** Lowest flexible version; Infinity when the API has none. */
  firstFlexibleVersion: number;
  latestVersionUnstable: boolean;
  listeners: string[];
  decodeRequest(r: Reader, v: number): any;
  encodeRequest(w: Writer, v: number, m: any): void;
  decodeResponse(r: Reader, v: number): any;
  encodeResponse(w: Writer, v: number, m: any): void;
  /** Error codes, item identities and arrays of the request and response (error responses). */
  requestShape: StructShape;
  responseShape: StructShape;
}`);
  lines.push('');
  lines.push('/** Every API of the schema set that still has valid versions, sorted by key. */');
  lines.push('export const apiSpecs: ApiSpec[] = [');
  for (const a of apis) {
    const rq = a.request;
    const rs = a.response;
    const flexLo = isEmpty(rq.flex) ? 'Infinity' : String(Math.max(rq.flex.lo, rq.valid.lo));
    lines.push('  {');
    lines.push(`    apiKey: ${a.apiKey},`);
    lines.push(`    name: '${a.name}',`);
    lines.push(`    minVersion: ${rq.valid.lo},`);
    lines.push(`    maxVersion: ${rq.valid.hi},`);
    lines.push(`    firstFlexibleVersion: ${flexLo},`);
    lines.push(`    latestVersionUnstable: ${rq.raw.latestVersionUnstable === true},`);
    lines.push(`    listeners: [${(rq.raw.listeners ?? []).map((l) => `'${l}'`).join(', ')}],`);
    lines.push(`    decodeRequest: decode${rq.name},`);
    lines.push(`    encodeRequest: encode${rq.name},`);
    lines.push(`    decodeResponse: decode${rs.name},`);
    lines.push(`    encodeResponse: encode${rs.name},`);
    lines.push(`    requestShape: ${rq.name}Shape,`);
    lines.push(`    responseShape: ${rs.name}Shape,`);
    lines.push('  },');
  }
  lines.push('];');
  lines.push('');
  lines.push('export const apiByKey: Map<number, ApiSpec> = new Map(apiSpecs.map((s) => [s.apiKey, s]));');
  return lines.join('\n') + '\n';
}

/** Write the generated files and delete stale ones. */
export function writeAll(): { written: number; deleted: string[] } {
  const files = generateAll();
  fs.mkdirSync(generatedDir, { recursive: true });
  const wanted = new Set<string>();
  let written = 0;
  for (const [rel, content] of files) {
    const abs = path.join(repoRoot, rel);
    wanted.add(path.basename(abs));
    const old = fs.existsSync(abs) ? fs.readFileSync(abs, 'utf8') : null;
    if (old !== content) {
      fs.writeFileSync(abs, content);
      written++;
    }
  }
  const deleted: string[] = [];
  for (const f of fs.readdirSync(generatedDir)) {
    if (!wanted.has(f)) {
      fs.rmSync(path.join(generatedDir, f), { recursive: true, force: true });
      deleted.push(f);
    }
  }
  return { written, deleted };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const src = schemaSource(true);
  if (src.fallback) console.warn(`codegen: falling back to the Kafka 4.0 schemas in ${src.dir}: ${src.reason}`);
  else console.log(`codegen: Kafka ${src.version} schemas from ${src.dir}`);
  if (process.argv.includes('--resolve-only')) process.exit(src.fallback ? 1 : 0);
  // The schemas' NOTICE goes with the code generated from them.
  const notice = path.join(src.dir, 'NOTICE');
  if (!src.fallback && fs.existsSync(notice)) fs.copyFileSync(notice, path.join(repoRoot, 'NOTICE-kafka-protocol'));
  const { written, deleted } = writeAll();
  console.log(`codegen: ${written} file(s) updated${deleted.length ? `, removed ${deleted.join(', ')}` : ''}`);
}
