// etcd's gRPC services for etcd3, built from a descriptor the build computed from etcd3's .proto
// files (scripts/etcd3-descriptor.ts), in place of the @grpc/proto-loader call etcd3 makes when
// its connection pool module is evaluated. Bundled into dist/cli/cluster.cjs only
// (scripts/bundle-cli.ts rewrites etcd3's call to this), so a single-node broker never loads it.
//
// Why: proto-loader parsed the .proto text at every cluster broker's start, encoded a
// FileDescriptorProto of every file and turned a DescriptorProto of every request and response type
// into plain objects that the clients then kept (reflection data etcd3 never reads), and loading
// it registered Google's common protos too. That was ~17 MB of allocation in the first 170 ms,
// which grew V8's new space to 16 MB before V8's first shrinking GC, and ~1 MB of heap that
// stayed (2026-12-07, 3 idle brokers: 85.4 -> 78.4 MiB each 10 s after start, 76.6 -> 74.1 at 60 s).
// Each method (de)serializes with etcd3-codec.ts, as proto-loader's would with its options.
import { Codec, type Etcd3Types } from './etcd3-codec.js';

/** One gRPC method of an etcd service, as the build found it. */
export interface Etcd3Method {
  /** The method's name in the .proto file (Range), a key of the client's prototype. */
  name: string;
  /** proto-loader's camel-cased name (range), the one etcd3 calls. */
  originalName: string;
  /** Full names of the message types, e.g. etcdserverpb.RangeRequest. */
  requestType: string;
  responseType: string;
  requestStream: boolean;
  responseStream: boolean;
}

/** What the build keeps of etcd3's .proto files: the message and enum types, the services. */
export interface Etcd3Descriptor extends Etcd3Types {
  /** Each service's methods, by the service's full name (etcdserverpb.KV). */
  services: Record<string, Etcd3Method[]>;
}

/** A method as grpc-js's loadPackageDefinition takes it: a client needs only these fields. */
interface MethodDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  originalName: string;
  requestSerialize(value: object): Uint8Array;
  responseDeserialize(bytes: Uint8Array): object;
}

/**
 * The package definition etcd3 gives grpc-js's loadPackageDefinition: its services only, each
 * method (de)serializing as proto-loader's would.
 */
export function etcd3PackageDefinition(descriptor: Etcd3Descriptor): Record<string, Record<string, MethodDefinition>> {
  const codecs = new Map<string, Codec>();
  const definition: Record<string, Record<string, MethodDefinition>> = {};
  for (const [service, methods] of Object.entries(descriptor.services)) {
    const methodDefinitions: Record<string, MethodDefinition> = {};
    for (const m of methods) {
      const request = Codec.of(descriptor, m.requestType, codecs);
      const response = Codec.of(descriptor, m.responseType, codecs);
      methodDefinitions[m.name] = {
        path: `/${service}/${m.name}`,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        originalName: m.originalName,
        requestSerialize(value) {
          if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${m.requestType} structure, got array instead`);
          return request.encode(value);
        },
        responseDeserialize: (bytes) => response.decode(bytes),
      };
    }
    definition[service] = methodDefinitions;
  }
  return definition;
}
