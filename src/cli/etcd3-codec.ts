// The protobuf encoding of etcd's gRPC messages for etcd3, read from a descriptor the build
// computed (scripts/etcd3-descriptor.ts), in place of protobufjs. Bundled into dist/cli/cluster.cjs
// only (src/cli/etcd3-services.ts uses it).
//
// Why: protobufjs made every cluster broker carry its reflection objects for all 101 etcd
// message types, the code it generates (with `new Function`) for every type used, its runtime
// and long.js for 64-bit integers: ~1.2 MiB of each idle broker's heap for the dozen messages a
// broker exchanges with etcd. etcd's messages need six scalar types, enums, nested messages,
// repeated fields and oneofs, which this reads from the descriptor as it goes.
//
// It converts exactly as etcd3's proto-loader call had protobufjs convert (test/cli/
// etcd3-services.test.ts compares the two on every message type): a request object as
// protobufjs's fromObject takes it, encoded as its encode writes it (the fields set, zeros too,
// in field number order); a response decoded and given as its toObject with etcd3's options
// (longs and enums as strings, defaults, oneofs named). 64-bit integers are BigInts while they
// are converted, never numbers.

/** One field of a message type, as the build found it. */
export interface Etcd3Field {
  name: string;
  id: number;
  /** A scalar type (SCALARS), or the full name of a message or enum type (etcdserverpb.KeyValue). */
  type: string;
  repeated?: true;
  /** The oneof the field is a member of. */
  oneof?: string;
}

/** A message type: its fields in declaration order. */
export interface Etcd3Message {
  fields: Etcd3Field[];
}

/** The message and enum types of the descriptor, by full name; an enum's values in declaration order. */
export interface Etcd3Types {
  messages: Record<string, Etcd3Message>;
  enums: Record<string, Record<string, number>>;
}

/** The scalar types the codec encodes (all that etcd's messages use): the build fails on others. */
export const SCALARS: readonly string[] = ['int64', 'uint64', 'uint32', 'int32', 'bool', 'string', 'bytes'];

/** protobufjs's recursion limit (util.recursionLimit), for the same refusal of deep nesting. */
const RECURSION_LIMIT = 100;
const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;

/** A value as protobufjs's fromObject leaves it: a number, BigInt (64-bit), string, bool, bytes, message or list. */
type Value = number | bigint | string | boolean | Uint8Array | Message | Value[];
type Message = Map<string, Value>;

/** A field with what its type is, resolved once per type. */
interface Resolved {
  field: Etcd3Field;
  message?: Codec;
  enumValues?: Record<string, number>;
  /** The enum's names by number (the last name of a number wins, as in protobufjs). */
  enumNames?: Map<number, string>;
  /** The enum's first value: a field's default. */
  enumDefault?: number;
}

/** Encodes requests and decodes responses of one message type. */
export class Codec {
  private resolved?: Resolved[];
  private byId?: Map<number, Resolved>;

  constructor(
    private readonly types: Etcd3Types,
    readonly name: string,
    private readonly codecs: Map<string, Codec>,
  ) {}

  /** The codec of message type `name` of `types`, shared through `codecs`. */
  static of(types: Etcd3Types, name: string, codecs: Map<string, Codec>): Codec {
    let codec = codecs.get(name);
    if (!codec) {
      if (!types.messages[name]) throw new Error(`no message type ${name} in etcd3's descriptor`);
      codec = new Codec(types, name, codecs);
      codecs.set(name, codec);
    }
    return codec;
  }

  /** The fields, resolved at first use: a type's codec is set up only when a message of it is. */
  private fields(): Resolved[] {
    if (this.resolved) return this.resolved;
    this.resolved = this.types.messages[this.name]!.fields.map((field) => {
      if (this.types.messages[field.type]) return { field, message: Codec.of(this.types, field.type, this.codecs) };
      const values = this.types.enums[field.type];
      if (!values) return { field };
      const enumNames = new Map<number, string>();
      for (const [name, n] of Object.entries(values)) enumNames.set(n, name);
      return { field, enumValues: values, enumNames, enumDefault: Object.values(values)[0] ?? 0 };
    });
    this.byId = new Map(this.resolved.map((r) => [r.field.id, r]));
    return this.resolved;
  }

  /** `value` (a request object) as protobuf bytes: protobufjs's encode(fromObject(value)). */
  encode(value: unknown): Buffer {
    const w = new Writer();
    this.write(this.fromObject(value, 0), w, 0);
    return w.finish();
  }

  /** `bytes` decoded as protobufjs's toObject(decode(bytes)) with etcd3's conversion options. */
  decode(bytes: Uint8Array): Record<string, unknown> {
    return this.toObject(this.read(new Reader(bytes), 0), 0);
  }

  /** protobufjs's fromObject: the fields of `d` that are set, converted to their types. */
  private fromObject(d: unknown, depth: number): Message {
    if (!isObject(d)) throw new TypeError(`.${this.name}: object expected`);
    if (depth > RECURSION_LIMIT) throw new Error('maximum nesting depth exceeded');
    const o = d as Record<string, unknown>;
    const m: Message = new Map();
    for (const r of this.fields()) {
      const { name, repeated } = r.field;
      const v = o[name];
      if (repeated) {
        if (!v) continue;
        if (!Array.isArray(v)) throw new TypeError(`.${this.name}.${name}: array expected`);
        const list: Value[] = [];
        for (const e of v) {
          const c = this.convert(r, e, depth);
          list.push(c === undefined ? r.enumDefault! : c); // an unknown enum name in a list: the default
        }
        m.set(name, list);
      } else if (v != null || r.enumValues) {
        const c = this.convert(r, v, depth);
        if (c !== undefined) m.set(name, c);
      }
    }
    return m;
  }

  /** One value as fromObject converts it; undefined for an enum name the type does not have. */
  private convert(r: Resolved, v: unknown, depth: number): Value | undefined {
    if (r.message) {
      if (!isObject(v)) throw new TypeError(`.${this.name}.${r.field.name}: object expected`);
      return r.message.fromObject(v, depth + 1);
    }
    if (r.enumValues) {
      if (typeof v === 'string' && Object.hasOwn(r.enumValues, v)) return r.enumValues[v]!;
      return typeof v === 'number' ? v : undefined;
    }
    switch (r.field.type) {
      case 'int64':
        return toInt64(v, false);
      case 'uint64':
        return toInt64(v, true);
      case 'uint32':
        return (v as number) >>> 0;
      case 'int32':
        return (v as number) | 0;
      case 'bool':
        return Boolean(v);
      case 'string':
        return String(v);
      case 'bytes':
        if (typeof v === 'string') return Buffer.from(v, 'base64');
        if ((v as { length?: number }).length! >= 0) return v instanceof Uint8Array ? v : Uint8Array.from(v as ArrayLike<number>);
        return undefined;
      default:
        throw new Error(`.${this.name}.${r.field.name}: type ${r.field.type} is not supported`);
    }
  }

  /** protobufjs's encode: the fields set, in field number order. */
  private write(m: Message, w: Writer, depth: number): void {
    if (depth > RECURSION_LIMIT) throw new Error('max depth exceeded');
    const fields = this.fields()
      .filter((r) => m.has(r.field.name))
      .sort((a, b) => a.field.id - b.field.id);
    for (const r of fields) {
      const v = m.get(r.field.name)!;
      if (r.field.repeated) {
        const list = v as Value[];
        if (!list.length) continue;
        if (r.message || r.field.type === 'string' || r.field.type === 'bytes') {
          for (const e of list) this.writeOne(r, e, w, depth);
        } else {
          // A list of numbers is packed: one length-delimited field.
          const packed = new Writer();
          for (const e of list) writeScalar(r, e, packed);
          w.tag(r.field.id, 2);
          w.bytes(packed.finish());
        }
      } else this.writeOne(r, v, w, depth);
    }
  }

  private writeOne(r: Resolved, v: Value, w: Writer, depth: number): void {
    if (r.message) {
      const nested = new Writer();
      r.message.write(v as Message, nested, depth + 1);
      w.tag(r.field.id, 2);
      w.bytes(nested.finish());
    } else if (r.field.type === 'string' || r.field.type === 'bytes') {
      w.tag(r.field.id, 2);
      w.bytes(typeof v === 'string' ? Buffer.from(v, 'utf8') : (v as Uint8Array));
    } else {
      w.tag(r.field.id, 0);
      writeScalar(r, v, w);
    }
  }

  /** protobufjs's decode up to the reader's end: the fields present (the last of a repeated single field wins). */
  private read(r: Reader, depth: number): Message {
    if (depth > RECURSION_LIMIT) throw new Error('maximum nesting depth exceeded');
    this.fields();
    const m: Message = new Map();
    while (r.pos < r.end) {
      const tag = r.uint32();
      const f = this.byId!.get(tag >>> 3);
      if (!f) {
        r.skip(tag & 7, depth);
        continue;
      }
      const { name, repeated, type } = f.field;
      if (repeated) {
        let list = m.get(name) as Value[] | undefined;
        if (!list) m.set(name, (list = []));
        if (!f.message && type !== 'string' && type !== 'bytes' && (tag & 7) === 2) {
          const outer = r.narrow();
          while (r.pos < r.end) list.push(readScalar(f, r));
          r.end = outer;
        } else list.push(this.readOne(f, r, depth));
      } else m.set(name, this.readOne(f, r, depth));
    }
    return m;
  }

  private readOne(f: Resolved, r: Reader, depth: number): Value {
    if (f.message) {
      const outer = r.narrow();
      const nested = f.message.read(r, depth + 1);
      r.end = outer;
      return nested;
    }
    if (f.field.type === 'string') return r.string();
    if (f.field.type === 'bytes') return r.bytes();
    return readScalar(f, r);
  }

  /** protobufjs's toObject with { longs: String, enums: String, defaults: true, oneofs: true }. */
  private toObject(m: Message, depth: number): Record<string, unknown> {
    if (depth > RECURSION_LIMIT) throw new Error('max depth exceeded');
    const fields = [...this.fields()].sort((a, b) => a.field.id - b.field.id);
    const d: Record<string, unknown> = {};
    // Defaults first (so their keys come in protobufjs's order): lists, then the other fields
    // outside a oneof.
    for (const r of fields) if (r.field.repeated && !r.field.oneof) d[r.field.name] = [];
    for (const r of fields) if (!r.field.repeated && !r.field.oneof) d[r.field.name] = defaultOf(r);
    for (const r of fields) {
      const { name, repeated, oneof } = r.field;
      const v = m.get(name);
      if (v === undefined) continue;
      if (repeated) {
        const list = v as Value[];
        if (list.length) d[name] = list.map((e) => this.valueToObject(r, e, depth));
      } else {
        d[name] = this.valueToObject(r, v, depth);
        if (oneof) d[oneof] = name;
      }
    }
    return d;
  }

  private valueToObject(r: Resolved, v: Value, depth: number): unknown {
    if (r.message) return r.message.toObject(v as Message, depth + 1);
    if (r.enumNames) return r.enumNames.get(v as number) ?? v;
    if (typeof v === 'bigint') return v.toString();
    return v;
  }
}

/** A field's default in toObject: the enum's first name, "0" for 64-bit integers, null for a message. */
function defaultOf(r: Resolved): unknown {
  if (r.message) return null;
  if (r.enumNames) return r.enumNames.get(r.enumDefault!);
  switch (r.field.type) {
    case 'int64':
    case 'uint64':
      return '0';
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    default:
      return 0;
  }
}

function isObject(v: unknown): boolean {
  return !!v && typeof v === 'object';
}

/**
 * A 64-bit integer field's value as long.js's fromValue gives it to protobufjs (as its 64 bits):
 * a decimal string exactly (modulo 2^64), a number truncated and clamped to the type's range
 * (NaN is 0), a BigInt modulo 2^64, a Long-like object by its low and high words.
 */
function toInt64(v: unknown, unsigned: boolean): bigint {
  if (typeof v === 'string') {
    if (/^[+-]?[0-9]+$/.test(v)) return BigInt.asUintN(64, BigInt(v));
    if (v === 'NaN' || v === 'Infinity' || v === '+Infinity' || v === '-Infinity') return 0n;
    throw new TypeError(`not a decimal integer: ${JSON.stringify(v)}`);
  }
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 0n;
    if (unsigned) {
      if (v < 0) return 0n;
      if (v >= TWO_64) return 2n ** 64n - 1n;
    } else {
      if (v <= -TWO_63) return 2n ** 63n; // MIN_VALUE's bits
      if (v + 1 >= TWO_63) return 2n ** 63n - 1n;
    }
    return BigInt.asUintN(64, BigInt(Math.trunc(v)));
  }
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  const { low, high } = v as { low?: number; high?: number };
  return (BigInt((high as number) >>> 0) << 32n) | BigInt((low as number) >>> 0);
}

/** A varint-encoded number as protobufjs writes the field's type (an enum as int32). */
function writeScalar(r: Resolved, v: Value, w: Writer): void {
  const type = r.enumValues ? 'int32' : r.field.type;
  switch (type) {
    case 'int64':
    case 'uint64':
      w.varint(v as bigint);
      break;
    case 'bool':
      w.varint(v ? 1n : 0n);
      break;
    case 'int32': {
      // A negative int32 takes ten bytes, as its 64-bit sign extension; NaN is 0.
      const n = v as number;
      w.varint(n < 0 && Number.isFinite(n) ? BigInt.asUintN(64, BigInt(Math.trunc(n))) : BigInt(n >>> 0));
      break;
    }
    default:
      w.varint(BigInt((v as number) >>> 0));
  }
}

/** A varint-encoded value of the field's type as protobufjs reads it (an enum as int32). */
function readScalar(f: Resolved, r: Reader): Value {
  const type = f.enumValues ? 'int32' : f.field.type;
  switch (type) {
    case 'int64':
      return BigInt.asIntN(64, r.varint());
    case 'uint64':
      return r.varint();
    case 'bool':
      return r.uint32() !== 0;
    case 'int32':
      return r.uint32() | 0;
    default:
      return r.uint32();
  }
}

/** Protobuf bytes being written: a growing buffer. */
class Writer {
  private buf = Buffer.allocUnsafe(64);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  tag(id: number, wireType: number): void {
    this.varint(BigInt(((id << 3) | wireType) >>> 0));
  }

  /** An unsigned varint of up to 64 bits. */
  varint(v: bigint): void {
    this.ensure(10);
    if (v < 0x80000000n) {
      let n = Number(v);
      while (n > 127) {
        this.buf[this.pos++] = (n & 127) | 128;
        n >>>= 7;
      }
      this.buf[this.pos++] = n;
      return;
    }
    while (v > 127n) {
      this.buf[this.pos++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** A length-delimited value: its length, then the bytes. */
  bytes(b: Uint8Array): void {
    this.varint(BigInt(b.length));
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Protobuf bytes being read, up to `end`: the message's, or a nested message's (narrow()). */
class Reader {
  pos = 0;
  end: number;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.end = bytes.length;
  }

  private outOfRange(n: number): RangeError {
    return new RangeError(`index out of range: ${this.pos} + ${n} > ${this.end}`);
  }

  /** The end of a length-delimited value of `length` bytes from here, checked. */
  limit(length: number): number {
    if (this.pos + length > this.end) throw this.outOfRange(length);
    return this.pos + length;
  }

  /** Reads a length, then ends the reading at the end of those bytes; returns the end before. */
  narrow(): number {
    const outer = this.end;
    this.end = this.limit(this.uint32());
    return outer;
  }

  /** An unsigned varint of up to 64 bits (ten bytes). */
  varint(): bigint {
    let lo = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw this.outOfRange(1);
      const b = this.buf[this.pos++]!;
      if (shift < 28) {
        lo |= (b & 127) << shift;
        if (b < 128) return BigInt(lo >>> 0);
        shift += 7;
        continue;
      }
      // Past 28 bits: the rest as a BigInt.
      let v = BigInt(lo >>> 0) | (BigInt(b & 127) << BigInt(shift));
      shift += 7;
      let last = b;
      while (last >= 128 && shift < 70) {
        if (this.pos >= this.end) throw this.outOfRange(1);
        last = this.buf[this.pos++]!;
        v |= BigInt(last & 127) << BigInt(shift);
        shift += 7;
      }
      if (last >= 128) throw new Error('invalid varint encoding');
      return BigInt.asUintN(64, v);
    }
    throw new Error('invalid varint encoding');
  }

  /**
   * A varint as a 32-bit number, read as protobufjs reads tags, lengths and 32-bit fields: its
   * first five bytes, and a longer one (a negative int32's ten) as those, the other five skipped.
   */
  uint32(): number {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) throw this.outOfRange(1);
      const b = this.buf[this.pos++]!;
      value = (value | ((b & (i === 4 ? 15 : 127)) << (7 * i))) >>> 0;
      if (b < 128) return value;
    }
    this.pos = this.limit(5);
    return value;
  }

  bytes(): Buffer {
    const length = this.uint32();
    const end = this.limit(length);
    const b = this.buf.subarray(this.pos, end);
    this.pos = end;
    return b;
  }

  /** A string field, cut at the end as protobufjs's reader of a Buffer cuts it. */
  string(): string {
    const length = this.uint32();
    const stop = Math.min(this.pos + length, this.end);
    const s = this.buf.toString('utf8', this.pos, stop);
    this.pos = stop;
    return s;
  }

  /** Skips a field of an unknown number, by its wire type. */
  skip(wireType: number, depth: number): void {
    if (depth > RECURSION_LIMIT) throw new Error('maximum nesting depth exceeded');
    switch (wireType) {
      case 0:
        do if (this.pos >= this.end) throw this.outOfRange(1);
        while (this.buf[this.pos++]! & 128);
        break;
      case 1:
        this.pos = this.limit(8);
        break;
      case 2:
        this.pos = this.limit(this.uint32());
        break;
      case 3:
        for (let t = this.uint32(); (t & 7) !== 4; t = this.uint32()) this.skip(t & 7, depth + 1);
        break;
      case 5:
        this.pos = this.limit(4);
        break;
      default:
        throw new Error(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }
}
