// etcd's gRPC services as cluster.cjs builds them (src/cli/etcd3-services.ts, from the descriptor
// scripts/etcd3-descriptor.ts computes at build time) must be what etcd3's own proto-loader call
// gives: the same methods, names and paths, the same bytes on the wire for a request, the same
// objects decoded from a response (64-bit integers and enums as strings, defaults, oneofs).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { etcd3PackageDefinition } from '../../src/cli/etcd3-services.js';
import { etcd3Descriptor } from '../../scripts/etcd3-descriptor.js';
import { repoRoot } from '../helpers/dist.js';

const etcd3Dir = join(repoRoot, 'node_modules', 'etcd3');
const fromEtcd3 = createRequire(join(etcd3Dir, 'package.json'));
/** What cluster.cjs passes (scripts/bundle-cli.ts): protobufjs's runtime without its parser. */
const protobufLight = createRequire(join(repoRoot, 'package.json'))('protobufjs/light') as Parameters<typeof etcd3PackageDefinition>[0];

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
  return loadSync(join(etcd3Dir, 'proto', 'rpc.proto'), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
}

describe("etcd3's services from the build's descriptor", () => {
  const ours = etcd3PackageDefinition(protobufLight, etcd3Descriptor(etcd3Dir)) as unknown as Record<string, Record<string, Method>>;
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
