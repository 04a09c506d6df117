import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as gen from '../../src/protocol/generated/index.js';
import { ProtocolError, Reader, Writer, ZERO_UUID, randomUuid } from '../../src/protocol/primitives.js';
import { SampleBuilder, schemas, seeded, versionBounds } from './schema-samples.js';

const bytes = (...b: number[]) => Buffer.from(b);

function written(fn: (w: Writer) => void): Buffer {
  const w = new Writer(1);
  fn(w);
  return Buffer.from(w.finish());
}

test('fixed-width integers are big-endian and signed as specified', () => {
  assert.deepStrictEqual(
    written((w) => w.int8(-1)),
    bytes(0xff),
  );
  assert.deepStrictEqual(
    written((w) => w.int16(-2)),
    bytes(0xff, 0xfe),
  );
  assert.deepStrictEqual(
    written((w) => w.uint16(65535)),
    bytes(0xff, 0xff),
  );
  assert.deepStrictEqual(
    written((w) => w.int32(0x01020304)),
    bytes(1, 2, 3, 4),
  );
  assert.deepStrictEqual(
    written((w) => w.uint32(0xfffffffe)),
    bytes(0xff, 0xff, 0xff, 0xfe),
  );
  assert.deepStrictEqual(
    written((w) => w.int64(-2)),
    Buffer.from('fffffffffffffffe', 'hex'),
  );
  assert.deepStrictEqual(
    written((w) => w.int64(2 ** 53 - 1)),
    Buffer.from('001fffffffffffff', 'hex'),
  );
  assert.deepStrictEqual(
    written((w) => w.int64(-(2 ** 40) - 5)),
    Buffer.from('fffffefffffffffb', 'hex'),
  );
  assert.deepStrictEqual(
    // eslint-disable-next-line no-loss-of-precision -- INT64_MAX as a caller would write it; it rounds to 2^63
    written((w) => w.int64(9223372036854775807)),
    Buffer.from('7fffffffffffffff', 'hex'),
  );
  assert.deepStrictEqual(
    written((w) => w.int64(-9223372036854775808)),
    Buffer.from('8000000000000000', 'hex'),
  );
  assert.deepStrictEqual(
    written((w) => w.float64(1.5)),
    Buffer.from('3ff8000000000000', 'hex'),
  );
  assert.deepStrictEqual(
    written((w) => w.bool(true)),
    bytes(1),
  );

  const r = new Reader(Buffer.from('ff fffe ffff 01020304 fffffffe fffffffffffffffe 001fffffffffffff 7fffffffffffffff 3ff8000000000000 02'.replace(/ /g, ''), 'hex'));
  assert.equal(r.int8(), -1);
  assert.equal(r.int16(), -2);
  assert.equal(r.uint16(), 65535);
  assert.equal(r.int32(), 0x01020304);
  assert.equal(r.uint32(), 0xfffffffe);
  assert.equal(r.int64(), -2);
  assert.equal(r.int64(), 2 ** 53 - 1);
  assert.equal(r.int64(), Number(0x7fffffffffffffffn)); // lossy, as documented
  assert.equal(r.float64(), 1.5);
  assert.equal(r.bool(), true);
  assert.equal(r.remaining, 0);
});

test('int64 agrees with BigInt conversion across magnitudes', () => {
  const rng = seeded(3);
  for (let i = 0; i < 2000; i++) {
    const big = BigInt.asIntN(64, (BigInt(Math.floor(rng() * 2 ** 32)) << 32n) | BigInt(Math.floor(rng() * 2 ** 32)));
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(big);
    const n = new Reader(b).int64();
    assert.equal(n, Number(big));
    if (Number.isSafeInteger(n))
      assert.deepStrictEqual(
        written((w) => w.int64(n)),
        b,
      );
  }
});

test('varints: zig-zag and unsigned encodings', () => {
  assert.deepStrictEqual(
    written((w) => w.uvarint(0)),
    bytes(0),
  );
  assert.deepStrictEqual(
    written((w) => w.uvarint(300)),
    bytes(0xac, 0x02),
  );
  assert.deepStrictEqual(
    written((w) => w.uvarint(0xffffffff)),
    bytes(0xff, 0xff, 0xff, 0xff, 0x0f),
  );
  assert.deepStrictEqual(
    written((w) => w.varint(0)),
    bytes(0),
  );
  assert.deepStrictEqual(
    written((w) => w.varint(-1)),
    bytes(1),
  );
  assert.deepStrictEqual(
    written((w) => w.varint(1)),
    bytes(2),
  );
  assert.deepStrictEqual(
    written((w) => w.varint(-64)),
    bytes(0x7f),
  );
  assert.deepStrictEqual(
    written((w) => w.varint(64)),
    bytes(0x80, 0x01),
  );
  assert.deepStrictEqual(
    written((w) => w.varint(-2147483648)),
    bytes(0xff, 0xff, 0xff, 0xff, 0x0f),
  );
  assert.deepStrictEqual(
    written((w) => w.varlong(-1)),
    bytes(1),
  );
  assert.deepStrictEqual(
    written((w) => w.varlong(2 ** 40)),
    bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x40),
  );
  for (const v of [0, 1, -1, 63, -64, 64, 8191, -8192, 2 ** 31 - 1, -(2 ** 31)]) {
    assert.equal(new Reader(written((w) => w.varint(v))).varint(), v);
  }
  for (const v of [0, 1, -1, 2 ** 40, -(2 ** 40) - 1, 2 ** 53 - 1, -(2 ** 53) + 1, 1234567890123]) {
    assert.equal(new Reader(written((w) => w.varlong(v))).varlong(), v);
  }
  assert.equal(new Reader(bytes(0xff, 0xff, 0xff, 0xff, 0x0f)).uvarint(), 0xffffffff);
  assert.throws(() => new Reader(bytes(0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).uvarint(), ProtocolError);
  assert.throws(() => new Reader(Buffer.alloc(11, 0x80)).varlong(), ProtocolError);
  assert.throws(() => new Reader(bytes(0x80, 0x80)).uvarint(), ProtocolError);
});

test('uuid: canonical lowercase text, 16 big-endian bytes', () => {
  const id = '0123abcd-4567-89ef-0011-223344556677';
  const b = written((w) => w.uuid(id));
  assert.equal(b.toString('hex'), '0123abcd456789ef0011223344556677');
  assert.equal(new Reader(b).uuid(), id);
  assert.equal(new Reader(written((w) => w.uuid('0123ABCD-4567-89EF-0011-223344556677'))).uuid(), id);
  assert.equal(new Reader(Buffer.alloc(16)).uuid(), ZERO_UUID);
  const r = randomUuid();
  assert.match(r, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(new Reader(written((w) => w.uuid(r))).uuid(), r);
  for (const bad of ['', 'xyz', '0123abcd-4567-89ef-0011-22334455667g', '0123abcd04567-89ef-0011-223344556677']) {
    assert.throws(() => written((w) => w.uuid(bad)), ProtocolError);
  }
});

test('strings and bytes: lengths, nulls, UTF-8, zero-copy views', () => {
  assert.deepStrictEqual(
    written((w) => w.string('é')),
    bytes(0, 2, 0xc3, 0xa9),
  );
  assert.deepStrictEqual(
    written((w) => w.nullableString(null)),
    bytes(0xff, 0xff),
  );
  assert.deepStrictEqual(
    written((w) => w.compactString('ab')),
    bytes(3, 0x61, 0x62),
  );
  assert.deepStrictEqual(
    written((w) => w.compactNullableString(null)),
    bytes(0),
  );
  assert.deepStrictEqual(
    written((w) => w.bytes(bytes(9))),
    bytes(0, 0, 0, 1, 9),
  );
  assert.deepStrictEqual(
    written((w) => w.nullableBytes(null)),
    bytes(0xff, 0xff, 0xff, 0xff),
  );
  assert.deepStrictEqual(
    written((w) => w.compactBytes(bytes(9, 8))),
    bytes(3, 9, 8),
  );
  assert.deepStrictEqual(
    written((w) => w.compactNullableBytes(null)),
    bytes(0),
  );
  assert.deepStrictEqual(
    written((w) => w.arrayLength(-1)),
    bytes(0xff, 0xff, 0xff, 0xff),
  );
  assert.deepStrictEqual(
    written((w) => w.compactArrayLength(-1)),
    bytes(0),
  );
  assert.deepStrictEqual(
    written((w) => w.compactArrayLength(2)),
    bytes(3),
  );
  assert.deepStrictEqual(
    written((w) => w.raw(bytes(1, 2))),
    bytes(1, 2),
  );
  assert.throws(() => written((w) => w.string('x'.repeat(0x8000))), ProtocolError);

  const input = Buffer.from([0, 0, 0, 3, 7, 8, 9]);
  const view = new Reader(input).bytes();
  assert.deepStrictEqual(view, bytes(7, 8, 9));
  input[5] = 42;
  assert.equal(view[1], 42, 'bytes are a view into the input');

  assert.equal(new Reader(bytes(0xff, 0xff)).nullableString(), null);
  assert.equal(new Reader(bytes(0)).compactNullableString(), null);
  assert.equal(new Reader(bytes(0)).compactNullableBytes(), null);
  assert.equal(new Reader(bytes(0xff, 0xff, 0xff, 0xff)).nullableBytes(), null);
  assert.equal(new Reader(bytes(0xff, 0xff, 0xff, 0xff)).nullableArrayLength(), -1);
  assert.equal(new Reader(bytes(0)).compactNullableArrayLength(), -1);
});

test('Reader rejects truncation, negative and oversized lengths without allocating', () => {
  const cases: [string, Buffer, (r: Reader) => unknown][] = [
    ['int8 empty', bytes(), (r) => r.int8()],
    ['int16 short', bytes(1), (r) => r.int16()],
    ['int32 short', bytes(1, 2, 3), (r) => r.int32()],
    ['int64 short', bytes(1, 2, 3, 4, 5, 6, 7), (r) => r.int64()],
    ['float64 short', bytes(1), (r) => r.float64()],
    ['uuid short', Buffer.alloc(15), (r) => r.uuid()],
    ['string body short', bytes(0, 5, 0x61), (r) => r.string()],
    ['string negative', bytes(0xff, 0xfe), (r) => r.string()],
    ['string null where required', bytes(0xff, 0xff), (r) => r.string()],
    ['nullable string -2', bytes(0xff, 0xfe), (r) => r.nullableString()],
    ['string 0x7fff', bytes(0x7f, 0xff, 0x61), (r) => r.string()],
    ['compact string 0x7fffffff', bytes(0xff, 0xff, 0xff, 0xff, 0x07), (r) => r.compactString()],
    ['compact string null where required', bytes(0), (r) => r.compactString()],
    ['bytes 0x7fffffff', bytes(0x7f, 0xff, 0xff, 0xff, 1), (r) => r.bytes()],
    ['bytes negative', bytes(0x80, 0, 0, 0), (r) => r.bytes()],
    ['nullable bytes -2', bytes(0xff, 0xff, 0xff, 0xfe), (r) => r.nullableBytes()],
    ['compact bytes huge', bytes(0xff, 0xff, 0xff, 0xff, 0x0f), (r) => r.compactNullableBytes()],
    ['array 0x7fffffff', bytes(0x7f, 0xff, 0xff, 0xff), (r) => r.arrayLength()],
    ['array -2', bytes(0xff, 0xff, 0xff, 0xfe), (r) => r.nullableArrayLength()],
    ['array null where required', bytes(0xff, 0xff, 0xff, 0xff), (r) => r.arrayLength()],
    ['compact array huge', bytes(0xff, 0xff, 0xff, 0xff, 0x07), (r) => r.compactArrayLength()],
    ['skip past end', bytes(1), (r) => r.skip(2)],
    ['limit past end', bytes(1), (r) => r.limit(2)],
    ['raw past end', bytes(1), (r) => r.raw(2)],
  ];
  for (const [name, buf, read] of cases) {
    assert.throws(() => read(new Reader(buf)), ProtocolError, name);
  }
  // The end bound is respected even when the underlying buffer continues.
  assert.throws(() => new Reader(bytes(0, 0, 0, 1, 2, 3), 0, 3).int32(), ProtocolError);
  assert.throws(() => new Reader(bytes(0, 2, 0x61, 0x62), 0, 3).string(), ProtocolError);

  // A huge length must be rejected before any allocation: watch Buffer allocation and toString.
  // eslint-disable-next-line @typescript-eslint/unbound-method -- saved to be put back on Buffer.prototype after the test
  const originals = { toString: Buffer.prototype.toString, alloc: Buffer.alloc, allocUnsafe: Buffer.allocUnsafe };
  let calls = 0;
  Buffer.prototype.toString = function (this: Buffer, ...args: unknown[]) {
    calls++;
    return (originals.toString as (...a: unknown[]) => string).apply(this, args);
  } as typeof Buffer.prototype.toString;
  Buffer.alloc = (...a: Parameters<typeof Buffer.alloc>) => (calls++, originals.alloc(...a));
  Buffer.allocUnsafe = (n: number) => (calls++, originals.allocUnsafe(n));
  try {
    assert.throws(() => new Reader(bytes(0xff, 0xff, 0xff, 0xff, 0x07, 0x61)).compactString(), ProtocolError);
    assert.throws(() => new Reader(bytes(0x7f, 0xff, 0x61)).string(), ProtocolError);
    // ProduceRequest v3 with a topic array claiming 0x7fffffff entries.
    assert.throws(() => gen.decodeProduceRequest(new Reader(bytes(0xff, 0xff, 0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff)), 3), ProtocolError);
  } finally {
    Buffer.prototype.toString = originals.toString;
    Buffer.alloc = originals.alloc;
    Buffer.allocUnsafe = originals.allocUnsafe;
  }
  assert.equal(calls, 0, 'no allocation before the length check');
});

test('Writer grows, reserves and patches, and inserts sizes', () => {
  const w = new Writer(4);
  const at = w.reserveInt32();
  for (let i = 0; i < 1000; i++) w.int32(i);
  w.patchInt32(at, w.length - 4);
  const out = w.finish();
  assert.equal(out.length, 4004);
  assert.equal(out.readInt32BE(0), 4000);
  assert.equal(out.readInt32BE(4 + 999 * 4), 999);

  const w2 = new Writer(8);
  w2.int8(7);
  const start = w2.length;
  w2.raw(Buffer.alloc(200, 1));
  w2.insertSizeAt(start);
  const b = w2.finish();
  assert.deepStrictEqual(b.subarray(0, 3), bytes(7, 0xc8, 0x01));
  assert.equal(b.length, 203);
  assert.ok(b.subarray(3).every((x) => x === 1));
  w2.reset();
  assert.equal(w2.length, 0);
});

test('garbage input fails with ProtocolError only (all APIs, latest versions)', () => {
  const rng = seeded(99);
  for (const schema of schemas()) {
    const bounds = versionBounds(schema.validVersions);
    if (bounds === null) continue;
    const decode = (gen as unknown as Record<string, (r: Reader, v: number) => unknown>)[`decode${schema.name}`]!;
    const encode = (gen as unknown as Record<string, (w: Writer, v: number, m: unknown) => void>)[`encode${schema.name}`]!;
    for (const version of new Set([bounds[0], bounds[1]])) {
      const w = new Writer();
      encode(w, version, new SampleBuilder(schema, seeded(version + 1)).build(version));
      const valid = Buffer.from(w.finish());
      for (let i = 0; i < 60; i++) {
        // Flip a few bytes of a valid message, or use pure noise.
        const buf = i % 3 === 0 ? Buffer.from(Array.from({ length: Math.floor(rng() * 64) }, () => Math.floor(rng() * 256))) : Buffer.from(valid);
        if (i % 3 !== 0 && buf.length > 0) for (let k = 0; k < 3; k++) buf[Math.floor(rng() * buf.length)] = Math.floor(rng() * 256);
        try {
          decode(new Reader(buf), version);
        } catch (e) {
          assert.ok(e instanceof ProtocolError, `${schema.name} v${version}: ${String(e)}`);
        }
      }
    }
  }
});

test('varlong agrees with a BigInt zig-zag reference', () => {
  const rng = seeded(5);
  const ref = (v: bigint): Buffer => {
    let z = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
    const out: number[] = [];
    while (z >= 0x80n) {
      out.push(Number(z & 0x7fn) | 0x80);
      z >>= 7n;
    }
    out.push(Number(z));
    return Buffer.from(out);
  };
  const values: bigint[] = [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n, -(2n ** 53n), 2n ** 52n - 1n];
  for (let i = 0; i < 1000; i++) {
    const bits = BigInt(1 + Math.floor(rng() * 63));
    const mag = (BigInt(Math.floor(rng() * 2 ** 32)) * BigInt(Math.floor(rng() * 2 ** 32))) % (1n << bits);
    values.push(rng() < 0.5 ? -mag : mag);
  }
  for (const v of values) {
    const encodedRef = ref(v);
    assert.equal(new Reader(encodedRef).varlong(), Number(v), `decode ${v}`);
    if (Number.isSafeInteger(Number(v)) || v === 2n ** 63n - 1n || v === -(2n ** 63n)) {
      assert.deepStrictEqual(
        written((w) => w.varlong(Number(v))),
        encodedRef,
        `encode ${v}`,
      );
    }
  }
});
