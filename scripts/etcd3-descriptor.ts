// The build's half of src/cli/etcd3-services.ts: reads etcd3's .proto files with the
// @grpc/proto-loader that etcd3 itself uses, with etcd3's options, and keeps what a gRPC client
// needs (the message types as protobufjs JSON, each service's methods). cluster.cjs then carries
// this instead of the .proto files and the parser.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { INamespace, Root } from 'protobufjs';
import type { Etcd3Descriptor, Etcd3Method } from '../src/cli/etcd3-services.js';

/** etcd3's loadSync options (lib/connection-pool.js; bundle-cli.ts checks the call). */
const ETCD3_LOAD_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

interface MethodAttributes {
  path: string;
  originalName: string;
  requestStream: boolean;
  responseStream: boolean;
}

/** The descriptor of etcd3's services (its proto/rpc.proto) in `etcd3Dir`, from etcd3's own loader. */
export function etcd3Descriptor(etcd3Dir: string): Etcd3Descriptor {
  const fromEtcd3 = createRequire(join(etcd3Dir, 'package.json'));
  const protoFile = join(etcd3Dir, 'proto', 'rpc.proto');
  const { loadProtosWithOptionsSync } = fromEtcd3('@grpc/proto-loader/build/src/util.js') as { loadProtosWithOptionsSync: (file: string, options: object) => Root };
  const { loadSync } = fromEtcd3('@grpc/proto-loader') as { loadSync: (file: string, options: object) => Record<string, unknown> };
  const root = loadProtosWithOptionsSync(protoFile, ETCD3_LOAD_OPTIONS);
  // proto-loader's own package definition: its method paths and camel-cased names are the ones
  // etcd3 calls, so they are taken from it rather than recomputed.
  const definition = loadSync(protoFile, ETCD3_LOAD_OPTIONS);
  const services: Record<string, Etcd3Method[]> = {};
  for (const [name, entry] of Object.entries(definition)) {
    if ('format' in (entry as object)) continue; // a message or enum type
    const service = root.lookupService(name);
    services[name] = service.methodsArray.map((m) => {
      const attrs = (entry as Record<string, MethodAttributes>)[m.name]!;
      if (attrs.path !== `/${name}/${m.name}`) throw new Error(`unexpected gRPC path ${attrs.path} of ${name}.${m.name}`);
      return {
        name: m.name,
        originalName: attrs.originalName,
        requestType: m.resolvedRequestType!.fullName.replace(/^\./, ''),
        responseType: m.resolvedResponseType!.fullName.replace(/^\./, ''),
        requestStream: attrs.requestStream,
        responseStream: attrs.responseStream,
      };
    });
  }
  if (Object.keys(services).length === 0) throw new Error(`no gRPC service in ${protoFile}`);
  return { types: withoutServices(root.toJSON()), services };
}

/** `ns` without its services: the client is built from `services`, protobufjs needs the messages only. */
function withoutServices(ns: INamespace): INamespace {
  if (!ns.nested) return ns;
  const nested: NonNullable<INamespace['nested']> = {};
  for (const [name, child] of Object.entries(ns.nested)) if (!('methods' in child)) nested[name] = withoutServices(child);
  return { ...ns, nested };
}
