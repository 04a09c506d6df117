// Frame generator of the protocol fuzzer: valid requests for every API and version, encoded with
// our codecs through a tracing Writer (so mutations know where each field lies), then mutated.
// Everything is drawn from one seeded PRNG, so a seed replays the same frame sequence.

import { Writer } from '../../src/protocol/primitives.js';
import { apiByKey, ApiKey } from '../../src/protocol/generated/index.js';
import { requestHeaderVersion } from '../../src/protocol/headers.js';
import { encodeRecord } from '../../src/protocol/records/records.js';
import { compressSync, CompressionType } from '../../src/protocol/records/compression.js';
import { buildRecordBatch } from '../../src/protocol/records/record-batch-builder.js';
import { BatchField, computeBatchCrc } from '../../src/protocol/records/record-batch.js';
import { SampleBuilder, schemas, seeded, type Rng } from '../protocol/schema-samples.js';
import type { RawSchema } from '../../src/protocol/codegen/generate.js';

export const FUZZ_TOPIC = 'fuzz-plain';
export const COMPACT_TOPIC = 'fuzz-compact';

/** Where one primitive landed in the encoded frame (offsets include the 4-byte size prefix). */
interface Span {
  kind: string;
  start: number;
  end: number;
}

interface Encoded {
  bytes: Buffer;
  spans: Span[];
}

export interface Frame {
  bytes: Buffer;
  /** The size prefix lies (or the frame is cut): the connection's framing is lost after it. */
  breaksFraming: boolean;
  apiKey: number;
  version: number;
  mutations: string[];
}

const TRACED = [
  'int8',
  'bool',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'uvarint',
  'varint',
  'varlong',
  'uuid',
  'string',
  'nullableString',
  'compactString',
  'compactNullableString',
  'raw',
  'bytes',
  'nullableBytes',
  'compactBytes',
  'compactNullableBytes',
  'arrayLength',
  'compactArrayLength',
] as const;

/** A Writer whose outermost primitive calls are recorded as spans. */
function tracingWriter(): { w: Writer; spans: Span[] } {
  const w = new Writer(512);
  const spans: Span[] = [];
  let depth = 0;
  const proto = Writer.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const name of TRACED) {
    const orig = proto[name];
    if (typeof orig !== 'function') continue;
    (w as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      const start = w.length;
      depth++;
      try {
        return orig.apply(w, args);
      } finally {
        depth--;
        if (depth === 0) spans.push({ kind: name, start, end: w.length });
      }
    };
  }
  return { w, spans };
}

export class Prng {
  readonly next: Rng;
  constructor(seed: number) {
    this.next = seeded(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[Math.floor(this.next() * a.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }
}

function uvarintBytes(n: number): Buffer {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/** Varints with far too many continuation bytes, or values past 32 bits. */
function hugeVarint(p: Prng): Buffer {
  switch (p.int(0, 4)) {
    case 0:
      return Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]); // 2^32-1
    case 1:
      return Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]); // past 35 bits
    case 2:
      return Buffer.concat([Buffer.alloc(p.int(5, 20), 0xff), Buffer.from([0x01])]); // 6..21 bytes
    case 3:
      return Buffer.alloc(p.int(5, 12), 0x80); // never terminates within the field
    default:
      return Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x07]); // int32 max - 1
  }
}

const INVALID_UTF8 = [
  Buffer.from([0xff]),
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xed, 0xa0, 0x80]), // lone surrogate
  Buffer.from([0xc0, 0xaf]), // overlong
  Buffer.from([0xf4, 0x90, 0x80, 0x80]), // past U+10FFFF
  Buffer.from([0xe2, 0x82]), // cut sequence
];

const INT_EXTREMES = [-1, -2, 0, 1, 0x7fffffff, -0x80000000, 0x7ffffffe, 0x10000000, 65535, 32767, -32768];

export interface GenOptions {
  /** API key -> advertised [min, max]. */
  advertised: Map<number, [number, number]>;
  /** The fuzz topics' ids by name: Produce v13 names its topic by id, so the appends get through. */
  topicIds?: Map<string, string>;
}

export class FrameGenerator {
  private readonly schemaByKey = new Map<number, RawSchema>();
  private readonly cache = new Map<string, Encoded[]>();
  private readonly keys: number[];
  private correlation = 1;
  private bombs: Buffer[] | null = null;

  constructor(
    private readonly p: Prng,
    private readonly opts: GenOptions,
  ) {
    for (const s of schemas()) if (s.type === 'request' && s.apiKey !== undefined) this.schemaByKey.set(s.apiKey, s);
    this.keys = [...this.schemaByKey.keys()].filter((k) => apiByKey.has(k)).sort((a, b) => a - b);
  }

  /** Picks an API and version: mostly advertised ones, some the broker does not advertise. */
  private pickApi(): { apiKey: number; version: number } {
    const p = this.p;
    const advertisedKeys = [...this.opts.advertised.keys()];
    if (p.chance(0.85)) {
      const apiKey = p.pick(advertisedKeys);
      const [lo, hi] = this.opts.advertised.get(apiKey) ?? [0, 0];
      return { apiKey, version: p.int(lo, hi) };
    }
    const apiKey = p.pick(this.keys);
    const spec = apiByKey.get(apiKey)!;
    return { apiKey, version: p.int(spec.minVersion, spec.maxVersion) };
  }

  /** Header + body through the tracing writer; the size prefix is patched at the end. */
  private encode(apiKey: number, version: number, body: unknown, clientId: string | null = 'fuzz'): Encoded {
    const { w, spans } = tracingWriter();
    const sizePos = w.reserveInt32();
    w.int16(apiKey);
    w.int16(version);
    w.int32(0); // correlation id, patched per frame
    w.nullableString(clientId);
    if (requestHeaderVersion(apiKey, version) >= 2) w.uvarint(0);
    apiByKey.get(apiKey)!.encodeRequest(w, version, body);
    w.patchInt32(sizePos, w.length - 4);
    return { bytes: Buffer.from(w.finish()), spans };
  }

  private sample(apiKey: number, version: number): Encoded {
    const key = `${apiKey}/${version}`;
    let list = this.cache.get(key);
    if (!list) this.cache.set(key, (list = []));
    if (list.length < 6 || this.p.chance(0.05)) {
      const schema = this.schemaByKey.get(apiKey)!;
      const spec0 = apiByKey.get(apiKey)!;
      const body = new SampleBuilder(schema, this.p.next).build(Math.min(spec0.maxVersion, Math.max(spec0.minVersion, version)));
      if (apiKey === ApiKey.Produce) (body as { acks: number }).acks = this.p.pick([0, 1, -1]);

      // Advertised versions the schemas no longer describe (Produce v0-2) are encoded at the
      // nearest version the codec knows and sent with the advertised version in the header.
      const spec = apiByKey.get(apiKey)!;
      const encodable = Math.min(spec.maxVersion, Math.max(spec.minVersion, version));
      let enc = this.encode(apiKey, encodable, body);
      if (this.p.chance(0.5)) {
        this.target(body);
        try {
          enc = this.encode(apiKey, encodable, body);
        } catch {
          // a targeted field this version cannot carry: keep the untargeted sample
        }
      }
      enc.bytes.writeInt16BE(version, 6);
      if (list.length < 6) list.push(enc);
      else list[this.p.int(0, list.length - 1)] = enc;
      return enc;
    }
    return this.p.pick(list);
  }

  /**
   * Points a sample at what exists: topic names become the fuzz topics and partition indexes 0
   * or 1, so handlers get past "unknown topic" and work on real partitions (and groups).
   */
  private target(o: unknown): void {
    const p = this.p;
    if (Array.isArray(o)) {
      for (const e of o) this.target(e);
      return;
    }
    if (o === null || typeof o !== 'object' || Buffer.isBuffer(o)) return;
    const rec = o as Record<string, unknown>;
    for (const [k, v] of Object.entries(rec)) {
      if (typeof v === 'string' && /^(name|topic|topicName|resourceName)$/.test(k) && p.chance(0.7)) rec[k] = p.pick([FUZZ_TOPIC, COMPACT_TOPIC]);
      else if (typeof v === 'string' && /^(groupId|key)$/.test(k) && p.chance(0.5)) rec[k] = p.pick(['fuzz-group-a', 'fuzz-group-b']);
      else if (typeof v === 'number' && /^(partitionIndex|partition|index|partitionId)$/.test(k) && p.chance(0.7)) rec[k] = p.int(0, 1);
      else if (typeof v === 'number' && /^(offset|fetchOffset|committedOffset)$/.test(k) && p.chance(0.5)) rec[k] = p.int(0, 50);
      else if (Array.isArray(v) && /^(partitions|partitionIndexes)$/.test(k) && v.every((x) => typeof x === 'number')) rec[k] = v.map(() => p.int(0, 1));
      else this.target(v);
    }
  }

  next(): Frame {
    const p = this.p;
    const r = p.next();
    let frame: Frame;
    if (r < 0.12) frame = this.produceFrame();
    else if (r < 0.16) frame = this.timestampLookupFrame();
    else {
      const { apiKey, version } = this.pickApi();
      const enc = this.sample(apiKey, version);
      frame = this.mutate(enc, apiKey, version);
    }
    this.setCorrelation(frame);
    return frame;
  }

  private setCorrelation(frame: Frame): void {
    if (frame.bytes.length >= 12 && !frame.mutations.includes('header')) {
      frame.bytes.writeInt32BE(this.correlation++ & 0x3fffffff, 8);
    }
  }

  /** A valid sentinel: ApiVersions v0, answered even after errors, in request order. */
  sentinel(correlationId: number): Buffer {
    const enc = this.encode(ApiKey.ApiVersions, 0, { clientSoftwareName: '', clientSoftwareVersion: '' }, 'sentinel');
    enc.bytes.writeInt32BE(correlationId, 8);
    return enc.bytes;
  }

  // --- generic mutations -----------------------------------------------------------------------

  private mutate(enc: Encoded, apiKey: number, version: number): Frame {
    const p = this.p;
    const mutations: string[] = [];
    let buf: Buffer = Buffer.from(enc.bytes);
    let spans = enc.spans;
    let breaksFraming = false;
    if (p.chance(0.08)) return { bytes: buf, breaksFraming, apiKey, version, mutations: ['none'] };
    const count = p.int(1, 3);
    for (let i = 0; i < count; i++) {
      const m = p.int(0, 11);
      const bodySpans = spans.filter((s) => s.start >= 4);
      switch (m) {
        case 0: {
          // truncation at a random point (size prefix kept consistent)
          const cut = p.int(4, Math.max(4, buf.length - 1));
          buf = buf.subarray(0, cut);
          spans = spans.filter((s) => s.end <= cut);
          mutations.push('truncate');
          break;
        }
        case 1: {
          const n = p.int(1, 8);
          for (let k = 0; k < n && buf.length > 4; k++) {
            const at = p.int(4, buf.length - 1);
            buf[at] = buf[at]! ^ (1 << p.int(0, 7));
          }
          mutations.push('bitflip');
          break;
        }
        case 2: {
          // int16/int32 fields, array counts and string/bytes length prefixes: extreme values
          const cand = bodySpans.filter((s) => ['int16', 'int32', 'arrayLength', 'string', 'nullableString', 'bytes', 'nullableBytes'].includes(s.kind));
          if (cand.length === 0) break;
          const s = p.pick(cand);
          const v = p.chance(0.7) ? p.pick(INT_EXTREMES) : p.int(-0x80000000, 0x7fffffff);
          if (s.kind === 'int16' || s.kind === 'string' || s.kind === 'nullableString') {
            if (s.end - s.start >= 2) buf.writeInt16BE((v << 16) >> 16, s.start);
          } else if (s.end - s.start >= 4) buf.writeInt32BE(v | 0, s.start);
          mutations.push(`int:${s.kind}`);
          break;
        }
        case 3: {
          // varint-encoded lengths/counts/values replaced by huge or overlong varints
          const cand = bodySpans.filter((s) => /^(uvarint|varint|varlong|compact)/.test(s.kind));
          if (cand.length === 0) break;
          const s = p.pick(cand);
          const first = varintLength(buf, s.start, s.end);
          buf = splice(buf, s.start, s.start + first, hugeVarint(p));
          spans = [];
          mutations.push(`varint:${s.kind}`);
          break;
        }
        case 4: {
          // invalid UTF-8 inside a string's bytes
          const cand = bodySpans.filter((s) => /string/i.test(s.kind) && s.end - s.start > 2);
          if (cand.length === 0) break;
          const s = p.pick(cand);
          const prefix = s.kind.startsWith('compact') ? varintLength(buf, s.start, s.end) : 2;
          const bad = p.pick(INVALID_UTF8);
          const room = s.end - s.start - prefix;
          if (room <= 0) break;
          bad.copy(buf, s.start + prefix + p.int(0, Math.max(0, room - bad.length)), 0, Math.min(bad.length, room));
          mutations.push('utf8');
          break;
        }
        case 5: {
          // bogus tagged fields where an empty tagged-field section was written
          const cand = bodySpans.filter((s) => s.kind === 'uvarint' && s.end - s.start === 1 && buf[s.start] === 0);
          if (cand.length === 0) break;
          const s = p.pick(cand);
          buf = splice(buf, s.start, s.end, this.bogusTags());
          spans = [];
          mutations.push('tags');
          break;
        }
        case 6: {
          // arrays: null (-1) or huge counts
          const cand = bodySpans.filter((s) => s.kind === 'arrayLength' || s.kind === 'compactArrayLength');
          if (cand.length === 0) break;
          const s = p.pick(cand);
          if (s.kind === 'arrayLength') buf.writeInt32BE(p.pick([-1, -2, 0x7fffffff, 1_000_000, 0x10000]), s.start);
          else {
            const rep = p.pick([Buffer.from([0]), uvarintBytes(0x7fffffff), uvarintBytes(1_000_001), hugeVarint(p)]);
            buf = splice(buf, s.start, s.start + varintLength(buf, s.start, s.end), rep);
            spans = [];
          }
          mutations.push(`array:${s.kind}`);
          break;
        }
        case 7: {
          // header: unknown API keys, versions out of range, bad client id
          if (buf.length < 14) break;
          const which = p.int(0, 3);
          if (which === 0) buf.writeInt16BE(p.pick([-1, 99, 1000, 32767, -32768, 19999]), 4);
          else if (which === 1) buf.writeInt16BE(p.pick([-1, 32767, -32768, apiByKey.get(apiKey)!.maxVersion + 1, 100]), 6);
          else if (which === 2) buf.writeInt16BE(p.pick([-2, 32767, 0x7ff0]), 12);
          else buf.writeInt32BE(p.int(-0x80000000, 0x7fffffff), 8);
          mutations.push('header');
          break;
        }
        case 8: {
          // random bytes inserted or a slice duplicated
          const at = p.int(4, buf.length);
          const ins = p.chance(0.5) ? p.bytes(p.int(1, 16)) : buf.subarray(p.int(4, at), at);
          buf = splice(buf, at, at, Buffer.from(ins));
          spans = [];
          mutations.push('insert');
          break;
        }
        case 9: {
          // a string/bytes length larger than what follows
          const cand = bodySpans.filter((s) => /(string|bytes)/i.test(s.kind));
          if (cand.length === 0) break;
          const s = p.pick(cand);
          if (s.kind.startsWith('compact')) {
            buf = splice(buf, s.start, s.start + varintLength(buf, s.start, s.end), uvarintBytes(p.pick([0x7fffffff, 1 << 24, buf.length + 2])));
            spans = [];
          } else if (/bytes/i.test(s.kind)) buf.writeInt32BE(p.pick([0x7fffffff, -5, buf.length]), s.start);
          else buf.writeInt16BE(p.pick([32767, -5, Math.min(32767, buf.length)]), s.start);
          mutations.push(`len:${s.kind}`);
          break;
        }
        case 10: {
          // trailing garbage after a valid body
          buf = Buffer.concat([buf, p.bytes(p.int(1, 64))]);
          mutations.push('trailing');
          break;
        }
        default:
          break;
      }
    }
    buf.writeInt32BE(buf.length - 4, 0);
    if (p.chance(0.02)) {
      // size prefix lies: smaller or larger than the body, negative or huge
      buf.writeInt32BE(p.pick([buf.length - 4 - p.int(1, Math.max(1, buf.length - 4)), buf.length + p.int(1, 100), -1, 0x7fffffff, 0]), 0);
      mutations.push('sizePrefix');
      breaksFraming = true;
    }
    return { bytes: buf, breaksFraming, apiKey, version, mutations };
  }

  private bogusTags(): Buffer {
    const p = this.p;
    const parts: Buffer[] = [];
    const n = p.int(1, 3);
    parts.push(p.chance(0.2) ? hugeVarint(p) : uvarintBytes(n));
    for (let i = 0; i < n; i++) {
      parts.push(uvarintBytes(p.pick([0, 1, 7, 100, 0x7fffffff, p.int(0, 5000)])));
      const kind = p.int(0, 2);
      if (kind === 0) {
        const data = p.bytes(p.int(0, 8));
        parts.push(uvarintBytes(data.length), data);
      } else if (kind === 1)
        parts.push(uvarintBytes(p.pick([1000, 0x7fffffff, 1 << 20]))); // size past the end
      else parts.push(hugeVarint(p));
    }
    return Buffer.concat(parts);
  }

  // --- record batches ----------------------------------------------------------------------------

  private produceVersion(): number {
    const [lo, hi] = this.opts.advertised.get(ApiKey.Produce) ?? [3, 9];
    return this.p.int(Math.max(3, lo), hi);
  }

  private validBatch(): Buffer {
    const p = this.p;
    const n = p.int(1, 5);
    const records = [];
    for (let i = 0; i < n; i++) records.push({ key: `k${p.int(0, 20)}`, value: p.chance(0.1) ? null : p.bytes(p.int(0, 40)), timestamp: 1_700_000_000_000 + p.int(0, 1e9) });
    return buildRecordBatch(records, { compression: p.pick(['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const) });
  }

  /**
   * Compression bombs: a few KB of zstd or gzip inflating to ~256 MiB of records (valid ones,
   * so a reader that decompresses also decodes them), plus bombs of plain zeros.
   */
  private bombBatches(): Buffer[] {
    if (this.bombs) return this.bombs;
    const value = Buffer.alloc(1024, 0x61);
    const record = (i: number) => encodeRecord({ timestampDelta: 0, offsetDelta: i, key: Buffer.from(`b${i % 1000}`), value, headers: [] });
    const parts: Buffer[] = [];
    const count = 256 * 1024;
    for (let i = 0; i < count; i++) parts.push(record(0));
    const section = Buffer.concat(parts);
    const zeros = Buffer.alloc(256 * 1024 * 1024);
    const batches: Buffer[] = [];
    for (const [codec, data, recordCount] of [
      [CompressionType.ZSTD, section, count],
      [CompressionType.GZIP, section, count],
      [CompressionType.ZSTD, zeros, 10],
      [CompressionType.GZIP, zeros, 10],
    ] as const) {
      batches.push(rawBatch(codec, compressSync(codec, data), recordCount, 1_700_000_000_000));
    }
    this.bombs = batches;
    return batches;
  }

  private produceFrame(): Frame {
    const p = this.p;
    const version = this.produceVersion();
    const mutations: string[] = [];
    let records: Buffer;
    let topic = p.chance(0.5) ? COMPACT_TOPIC : FUZZ_TOPIC;
    const r = p.next();
    if (r < 0.05) {
      records = p.pick(this.bombBatches());
      topic = COMPACT_TOPIC;
      mutations.push('bomb');
    } else {
      const batches = [];
      for (let i = p.int(1, 3); i > 0; i--) batches.push(this.validBatch());
      records = Buffer.concat(batches);
      if (r > 0.2) this.mutateBatch(records, mutations);
      else mutations.push('valid');
    }
    const body = {
      transactionalId: null,
      acks: p.pick([1, 1, -1, 0]),
      timeoutMs: 5000,
      topicData: [{ name: topic, topicId: this.opts.topicIds?.get(topic) ?? '00000000-0000-0000-0000-000000000000', partitionData: [{ index: p.int(0, 1), records }] }],
    };
    const enc = this.encode(ApiKey.Produce, version, body);
    if (p.chance(0.25)) {
      const f = this.mutate(enc, ApiKey.Produce, version);
      f.mutations.unshift(...mutations);
      return f;
    }
    return { bytes: enc.bytes, breaksFraming: false, apiKey: ApiKey.Produce, version, mutations };
  }

  /** Bad CRC, wrong magic, lying batchLength / recordCount / lastOffsetDelta, bad attributes, cut sections. */
  private mutateBatch(b: Buffer, mutations: string[]): void {
    const p = this.p;
    const m = p.int(0, 7);
    switch (m) {
      case 0:
        b.writeUInt32BE(p.int(0, 0xffffffff), BatchField.crc);
        mutations.push('batch:crc');
        break;
      case 1:
        b[BatchField.magic] = p.pick([0, 1, 3, 255]);
        mutations.push('batch:magic');
        break;
      case 2:
        b.writeInt32BE(
          p.pick([-1, 0, 10, 48, 49, b.length, 0x7fffffff, b.readInt32BE(BatchField.batchLength) - 1, b.readInt32BE(BatchField.batchLength) + 1]),
          BatchField.batchLength,
        );
        mutations.push('batch:length');
        break;
      case 3:
        b.writeInt32BE(p.pick([-1, 0, 0x7fffffff, b.readInt32BE(BatchField.recordCount) + 1, 1_000_000]), BatchField.recordCount);
        fixCrc(b, p);
        mutations.push('batch:count');
        break;
      case 4:
        b.writeInt32BE(p.pick([-1, 0x7fffffff, 1_000_000]), BatchField.lastOffsetDelta);
        fixCrc(b, p);
        mutations.push('batch:lastOffsetDelta');
        break;
      case 5:
        b.writeInt16BE(p.pick([5, 6, 7, 0x10, 0x20, 0x30, 0x08, -1]), BatchField.attributes);
        fixCrc(b, p);
        mutations.push('batch:attributes');
        break;
      case 6: {
        // garble the (possibly compressed) records section, CRC fixed so it gets past validation
        const n = p.int(1, 6);
        for (let i = 0; i < n && b.length > BatchField.records; i++) b[p.int(BatchField.records, b.length - 1)] = p.int(0, 255);
        fixCrc(b, p);
        mutations.push('batch:section');
        break;
      }
      default:
        b.writeBigInt64BE(BigInt(p.pick([-1, 0x7fffffff, 1])) * 1_000_000_000n, p.pick([BatchField.baseTimestamp, BatchField.maxTimestamp, BatchField.producerId]));
        fixCrc(b, p);
        mutations.push('batch:fields');
    }
  }

  /** ListOffsets by timestamp (and max timestamp) on the fuzz topics: exercises batch decoding. */
  private timestampLookupFrame(): Frame {
    const p = this.p;
    const [lo, hi] = this.opts.advertised.get(ApiKey.ListOffsets) ?? [1, 1];
    const version = p.int(Math.max(1, lo), hi);
    const timestamp = p.pick([1_700_000_000_000, 1_700_000_000_001, 0, 1_700_500_000_000, -3, -2, -1]);
    const body = {
      replicaId: -1,
      isolationLevel: 0,
      topics: [COMPACT_TOPIC, FUZZ_TOPIC].map((name) => ({
        name,
        partitions: [0, 1].map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })),
      })),
      timeoutMs: 5000,
    };
    if (version < 2) body.isolationLevel = 0;
    const enc = this.encode(ApiKey.ListOffsets, version, body);
    return { bytes: enc.bytes, breaksFraming: false, apiKey: ApiKey.ListOffsets, version, mutations: ['timestamp-lookup'] };
  }
}

function fixCrc(b: Buffer, p: Prng): void {
  if (p.chance(0.9)) b.writeUInt32BE(computeBatchCrc(b), BatchField.crc);
}

/** A v2 batch header around an already compressed section, with a correct CRC. */
export function rawBatch(codec: number, section: Buffer, recordCount: number, timestamp: number): Buffer {
  const b = Buffer.alloc(BatchField.records + section.length);
  b.writeBigInt64BE(0n, BatchField.baseOffset);
  b.writeInt32BE(b.length - 12, BatchField.batchLength);
  b.writeInt32BE(-1, BatchField.partitionLeaderEpoch);
  b[BatchField.magic] = 2;
  b.writeInt16BE(codec, BatchField.attributes);
  b.writeInt32BE(recordCount - 1, BatchField.lastOffsetDelta);
  b.writeBigInt64BE(BigInt(timestamp), BatchField.baseTimestamp);
  b.writeBigInt64BE(BigInt(timestamp), BatchField.maxTimestamp);
  b.writeBigInt64BE(-1n, BatchField.producerId);
  b.writeInt16BE(-1, BatchField.producerEpoch);
  b.writeInt32BE(-1, BatchField.baseSequence);
  b.writeInt32BE(recordCount, BatchField.recordCount);
  section.copy(b, BatchField.records);
  b.writeUInt32BE(computeBatchCrc(b), BatchField.crc);
  return b;
}

function varintLength(buf: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end - 1 && (buf[i]! & 0x80) !== 0) i++;
  return i - start + 1;
}

function splice(buf: Buffer, start: number, end: number, ins: Buffer): Buffer {
  return Buffer.concat([buf.subarray(0, start), ins, buf.subarray(end)]);
}

export { seeded };
