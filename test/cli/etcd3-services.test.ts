// etcd's gRPC services as cluster.cjs builds them (src/cli/etcd3-services.ts, from the descriptor
// scripts/etcd3-descriptor.ts computes at build time) must be what etcd3's own proto-loader call
// gives: the same methods, names and paths, the same bytes on the wire for a request, the same
// objects decoded from a response (64-bit integers and enums as strings, defaults, oneofs). The
// codec (src/cli/etcd3-codec.ts) is compared with protobufjs, which proto-loader runs, on random
// messages of every etcd message type.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Root } from 'protobufjs';
import { Codec, type Etcd3Field } from '../../src/cli/etcd3-codec.js';
import { etcd3PackageDefinition, type Etcd3Descriptor } from '../../src/cli/etcd3-services.js';
import { etcd3Descriptor } from '../../scripts/etcd3-descriptor.js';
import { repoRoot } from '../helpers/dist.js';
import { rng } from '../helpers/rng.js';

const etcd3Dir = join(repoRoot, 'node_modules', 'etcd3');
const fromEtcd3 = createRequire(join(etcd3Dir, 'package.json'));
/** etcd3's options for proto-loader (lib/connection-pool.js), which proto-loader hands to protobufjs. */
const ETCD3_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

interface Method {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  originalName: string;
  requestSerialize(value: object): Uint8Array;
  responseSerialize(value: object): Uint8Array;
  responseDeserialize(bytes: Uint8Array): object;
}

/** etcd3's own package definition: its loadSync call (lib/connection-pool.js). */
function etcd3sOwn(): Record<string, Record<string, Method>> {
  const { loadSync } = fromEtcd3('@grpc/proto-loader') as { loadSync: (file: string, options: object) => Record<string, Record<string, Method>> };
  return loadSync(join(etcd3Dir, 'proto', 'rpc.proto'), ETCD3_OPTIONS);
}

describe("etcd3's services from the build's descriptor", () => {
  const ours = etcd3PackageDefinition(etcd3Descriptor(etcd3Dir)) as unknown as Record<string, Record<string, Method>>;
  const theirs = etcd3sOwn();

  it("has every service and method of etcd3's proto-loader call, with its path, name and streaming", () => {
    const services = Object.keys(theirs).filter((name) => !('format' in theirs[name]!));
    assert.deepEqual(Object.keys(ours).sort(), services.sort());
    assert.ok(services.includes('etcdserverpb.KV') && services.includes('etcdserverpb.Lease'));
    for (const service of services) {
      assert.deepEqual(Object.keys(ours[service]!).sort(), Object.keys(theirs[service]!).sort(), service);
      for (const [name, m] of Object.entries(theirs[service]!)) {
        const { path, requestStream, responseStream, originalName } = ours[service]![name]!;
        assert.deepEqual(
          { path, requestStream, responseStream, originalName },
          { path: m.path, requestStream: m.requestStream, responseStream: m.responseStream, originalName: m.originalName },
        );
      }
    }
  });

  it('encodes requests to the same bytes', () => {
    const requests: [string, string, object][] = [
      ['etcdserverpb.KV', 'Range', { key: Buffer.from('/t/'), range_end: Buffer.from('/t0'), revision: '42', sort_order: 'DESCEND', limit: 7 }],
      [
        'etcdserverpb.KV',
        'Txn',
        {
          compare: [{ key: Buffer.from('/t/a'), target: 'CREATE', result: 'EQUAL', create_revision: '0' }],
          success: [{ request_put: { key: Buffer.from('/t/a'), value: Buffer.from('{}'), lease: '7587883288915364107' } }],
          failure: [{ request_range: { key: Buffer.from('/t/a') } }],
        },
      ],
      ['etcdserverpb.Lease', 'LeaseGrant', { TTL: '18', ID: '0' }],
      ['etcdserverpb.Watch', 'Watch', { create_request: { key: Buffer.from('/t/'), range_end: Buffer.from('/t0'), start_revision: '9', progress_notify: true } }],
    ];
    for (const [service, method, request] of requests) {
      assert.deepEqual(
        Buffer.from(ours[service]![method]!.requestSerialize(request)),
        Buffer.from(theirs[service]![method]!.requestSerialize(request)),
        `${service}.${method}`,
      );
    }
  });

  it('decodes responses to the same objects: 64-bit integers and enums as strings, defaults, oneofs', () => {
    const responses: [string, string, object][] = [
      [
        'etcdserverpb.KV',
        'Range',
        {
          header: { cluster_id: '14841639068965178418', member_id: '10276657743932975437', revision: '12', raft_term: '2' },
          kvs: [{ key: Buffer.from('/t/a'), create_revision: '3', mod_revision: '12', version: '2', value: Buffer.from('{}'), lease: '0' }],
          count: '1',
        },
      ],
      ['etcdserverpb.KV', 'Txn', { header: { revision: '13' }, succeeded: true, responses: [{ response_put: { header: { revision: '13' } } }] }],
      ['etcdserverpb.Watch', 'Watch', { watch_id: '1', created: true, events: [{ type: 'DELETE', kv: { key: Buffer.from('/t/a'), mod_revision: '14' } }] }],
      ['etcdserverpb.Lease', 'LeaseKeepAlive', { ID: '7587883288915364107', TTL: '18' }],
    ];
    for (const [service, method, response] of responses) {
      // The bytes etcd would send, encoded by etcd3's own definition (a server's side).
      const bytes = theirs[service]![method]!.responseSerialize(response);
      const decoded = ours[service]![method]!.responseDeserialize(bytes);
      assert.deepEqual(decoded, theirs[service]![method]!.responseDeserialize(bytes), `${service}.${method}`);
    }
    const txn = ours['etcdserverpb.KV']!.Txn!.responseDeserialize(
      theirs['etcdserverpb.KV']!.Txn!.responseSerialize({ header: { revision: '13' }, succeeded: true, responses: [{ response_put: {} }] }),
    ) as { header: { revision: unknown }; responses: { response: string }[] };
    assert.equal(txn.header.revision, '13');
    assert.equal(txn.responses[0]!.response, 'response_put');
  });
});

/** protobufjs's Root of etcd3's .proto files as proto-loader loads it: what it encodes and decodes with. */
function etcd3sRoot(): Root {
  const { loadProtosWithOptionsSync } = fromEtcd3('@grpc/proto-loader/build/src/util.js') as { loadProtosWithOptionsSync: (file: string, options: object) => Root };
  return loadProtosWithOptionsSync(join(etcd3Dir, 'proto', 'rpc.proto'), ETCD3_OPTIONS);
}

/** A random value for `field`, of the kinds a caller may pass protobufjs's fromObject (some odd). */
function randomValue(descriptor: Etcd3Descriptor, field: Etcd3Field, random: () => number, depth: number): unknown {
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
  const int64 = () => BigInt.asIntN(64, (BigInt(Math.floor(random() * 2 ** 32)) << 32n) | BigInt(Math.floor(random() * 2 ** 32)));
  if (descriptor.messages[field.type]) return depth > 3 ? {} : randomMessage(descriptor, field.type, random, depth + 1);
  const values = descriptor.enums[field.type];
  if (values) return pick<unknown>([...Object.keys(values), ...Object.values(values), 7, 'NOT_A_NAME', -1]);
  switch (field.type) {
    case 'int64':
    case 'uint64':
      return pick<() => unknown>([
        () => String(int64()),
        () => String(BigInt.asUintN(64, int64())),
        () => Math.floor(random() * 1000),
        () => -Math.floor(random() * 1000),
        () => 2 ** 60 + 2 ** 12,
        () => -(2 ** 62),
        () => 12.75,
        () => 2 ** 70,
        () => NaN,
        () => '0',
        () => int64(),
      ])();
    case 'uint32':
    case 'int32':
      return pick([0, 1, 300, -5, 2 ** 31 + 7, 2 ** 40, 3.9]);
    case 'bool':
      return pick<unknown>([true, false, 1, 0, 'yes']);
    case 'string':
      return pick(['', 'a', '/t/topics/x', 'ünïcødé ☃ 𝄞', 'x'.repeat(200)]);
    case 'bytes':
      return pick<unknown>([Buffer.from('/t/a'), Buffer.alloc(0), Buffer.from(Array.from({ length: 300 }, (_, i) => i & 255)), 'aGVsbG8=', [1, 2, 3]]);
    default:
      throw new Error(`no random value for ${field.type}`);
  }
}

function randomMessage(descriptor: Etcd3Descriptor, type: string, random: () => number, depth = 0): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  for (const field of descriptor.messages[type]!.fields) {
    const r = random();
    if (r < 0.4) continue;
    if (r < 0.45) m[field.name] = null;
    else if (field.repeated) m[field.name] = Array.from({ length: Math.floor(random() * 4) }, () => randomValue(descriptor, field, random, depth));
    else m[field.name] = randomValue(descriptor, field, random, depth);
  }
  return m;
}

describe('the etcd codec against protobufjs, on every etcd message type', () => {
  const descriptor = etcd3Descriptor(etcd3Dir);
  const root = etcd3sRoot();
  const codecs = new Map<string, Codec>();
  const types = Object.keys(descriptor.messages);

  it("covers every message type of etcd3's .proto files", () => {
    assert.equal(types.length, 101);
    assert.ok(types.includes('etcdserverpb.RangeRequest') && types.includes('mvccpb.KeyValue'));
  });

  it('encodes random requests to the same bytes and decodes those bytes to the same objects', () => {
    const random = rng(13);
    let compared = 0;
    for (const type of types) {
      const ours = Codec.of(descriptor, type, codecs);
      const theirs = root.lookupType(type);
      for (let i = 0; i < 40; i++) {
        const value = randomMessage(descriptor, type, random);
        const label = `${type} ${JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))}`;
        let expected: Uint8Array;
        try {
          expected = theirs.encode(theirs.fromObject(value)).finish();
        } catch {
          assert.throws(() => ours.encode(value), label);
          continue;
        }
        const bytes = ours.encode(value);
        assert.deepEqual(Buffer.from(bytes), Buffer.from(expected), label);
        assert.deepEqual(ours.decode(bytes), theirs.toObject(theirs.decode(bytes), ETCD3_OPTIONS), label);
        compared++;
      }
    }
    assert.ok(compared > types.length * 20, `${compared} messages compared`);
  });

  it('decodes altered bytes as protobufjs does, or refuses them as it does; cut bytes the same or refused', () => {
    const random = rng(17);
    let compared = 0;
    for (const type of types) {
      const ours = Codec.of(descriptor, type, codecs);
      const theirs = root.lookupType(type);
      for (let i = 0; i < 20; i++) {
        let value: Uint8Array;
        try {
          value = theirs.encode(theirs.fromObject(randomMessage(descriptor, type, random))).finish();
        } catch {
          continue;
        }
        const bytes = Buffer.from(value);
        const cut = random() < 0.5;
        const altered = cut ? bytes.subarray(0, Math.floor(random() * bytes.length)) : Buffer.from(bytes.map((b) => (random() < 0.05 ? Math.floor(random() * 256) : b)));
        const label = `${type} ${altered.toString('hex')}`;
        let expected: unknown;
        try {
          expected = theirs.toObject(theirs.decode(altered), ETCD3_OPTIONS);
        } catch {
          assert.throws(() => ours.decode(altered), label);
          continue;
        }
        let got: unknown;
        try {
          got = ours.decode(altered);
        } catch (err) {
          // protobufjs reads a varint cut off at the end of the message as if zero bits followed;
          // the codec refuses it (gRPC delivers whole messages, so etcd's never are).
          if (cut && err instanceof RangeError) continue;
          throw new Error(`${label}: ${(err as Error).message}`);
        }
        assert.deepEqual(got, expected, label);
        compared++;
      }
    }
    assert.ok(compared > types.length * 5, `${compared} messages compared`);
  });
});
