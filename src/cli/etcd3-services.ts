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
// From the precomputed descriptor, protobufjs builds only the message types, and each method
// gets the same conversions proto-loader would give it (its options below).
import type { IConversionOptions, INamespace, Root, Type } from 'protobufjs';

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

/** What the build keeps of etcd3's .proto files. */
export interface Etcd3Descriptor {
  /** The message types, protobufjs's JSON form of the parsed files (Root.toJSON). */
  types: INamespace;
  /** Each service's methods, by the service's full name (etcdserverpb.KV). */
  services: Record<string, Etcd3Method[]>;
}

/**
 * How etcd3 has proto-loader decode messages (its loadSync options; the build checks that etcd3
 * still passes exactly these): 64-bit integers and enums as strings, defaults set, oneofs named.
 */
const DECODED: IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

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
 * method (de)serializing with protobufjs as proto-loader's would. `protobuf` is protobufjs/light
 * (Root.fromJSON needs no parser).
 */
export function etcd3PackageDefinition(protobuf: { Root: typeof Root }, descriptor: Etcd3Descriptor): Record<string, Record<string, MethodDefinition>> {
  const root = protobuf.Root.fromJSON(descriptor.types);
  const definition: Record<string, Record<string, MethodDefinition>> = {};
  for (const [service, methods] of Object.entries(descriptor.services)) {
    const methodDefinitions: Record<string, MethodDefinition> = {};
    for (const m of methods) {
      // Looked up at the first call: protobufjs generates a type's code when it is first used.
      let request: Type | undefined;
      let response: Type | undefined;
      methodDefinitions[m.name] = {
        path: `/${service}/${m.name}`,
        requestStream: m.requestStream,
        responseStream: m.responseStream,
        originalName: m.originalName,
        requestSerialize(value) {
          if (Array.isArray(value)) throw new Error(`Failed to serialize message: expected object with ${m.requestType} structure, got array instead`);
          request ??= root.lookupType(m.requestType);
          return request.encode(request.fromObject(value)).finish();
        },
        responseDeserialize(bytes) {
          response ??= root.lookupType(m.responseType);
          return response.toObject(response.decode(bytes), DECODED);
        },
      };
    }
    definition[service] = methodDefinitions;
  }
  return definition;
}
