// The build's half of src/cli/etcd3-services.ts: reads etcd3's .proto files with the
// @grpc/proto-loader that etcd3 itself uses, with etcd3's options, and keeps what a gRPC client
// needs (each message type's fields with their types resolved to full names, each enum's values,
// each service's methods). cluster.cjs then carries this instead of the .proto files, the parser
// and protobufjs (src/cli/etcd3-codec.ts encodes and decodes from it).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Enum, Namespace, ReflectionObject, Root, Type } from 'protobufjs';
import { SCALARS, type Etcd3Message } from '../src/cli/etcd3-codec.js';
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
  root.resolveAll();
  const messages: Record<string, Etcd3Message> = {};
  const enums: Record<string, Record<string, number>> = {};
  collectTypes(root, messages, enums);
  return { messages, enums, services };
}

const fullName = (o: ReflectionObject) => o.fullName.replace(/^\./, '');

/** Every message and enum type under `ns`, by full name; fails on what etcd3-codec.ts cannot encode. */
function collectTypes(ns: Namespace, messages: Record<string, Etcd3Message>, enums: Record<string, Record<string, number>>): void {
  for (const child of ns.nestedArray) {
    if ('values' in child) enums[fullName(child)] = { ...(child as Enum).values };
    if ('fieldsArray' in child) {
      const type = child as Type;
      messages[fullName(type)] = {
        fields: type.fieldsArray.map((f) => {
          const where = `${fullName(type)}.${f.name}`;
          if (f.map || f.required || f.delimited || f.options) throw new Error(`${where}: a map, required, group or option field is not supported by src/cli/etcd3-codec.ts`);
          const resolved = f.resolvedType ? fullName(f.resolvedType) : f.type;
          if (!f.resolvedType && !SCALARS.includes(f.type)) throw new Error(`${where}: type ${f.type} is not supported by src/cli/etcd3-codec.ts`);
          if (f.repeated && !f.resolvedType && f.type !== 'string' && f.type !== 'bytes' && !f.packed)
            throw new Error(`${where}: an unpacked list of numbers is not supported`);
          return { name: f.name, id: f.id, type: resolved, ...(f.repeated ? { repeated: true as const } : {}), ...(f.partOf ? { oneof: f.partOf.name } : {}) };
        }),
      };
    }
    if ('nestedArray' in child && (child as Namespace).nestedArray) collectTypes(child as Namespace, messages, enums);
  }
}
