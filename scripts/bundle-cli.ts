// Bundles the command line (src/cli/main.ts, what `npm start` and bin/tributary.js run) into
// dist/cli/:
// - cli.cjs, the whole program as one CommonJS script, with pino and commander (see
//   BUNDLED_PACKAGES). Node 20 spends most of a broker's start-up resolving, linking and
//   compiling its ~300 separate ES modules; as a bundle it starts in well under half the time,
//   and as CommonJS it can be compiled from V8's code cache.
// - tributary.js, the launcher (src/cli/launcher.ts): compiles cli.cjs with the cache and runs it.
// - cli.v8cache, the code cache, recorded from a training broker (scripts/code-cache-training.ts).
// - cluster.cjs, cluster mode's packages (CLUSTER_PACKAGES: etcd3 with gRPC) as a
//   script of their own, and its cache cluster.v8cache, recorded from a training broker in cluster
//   mode, with etcd's gRPC services precomputed from etcd3's .proto files (etcd3Services). The
//   program loads them in cluster mode only (src/cli/cluster-packages.ts).
// The library (dist/index.js, `startBroker`) stays tsc's module-per-file output.
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { BUILD_ID_LENGTH, BUILD_ID_MARK } from '../src/cli/code-cache.js';
import { trainClusterCodeCache, trainCodeCache } from './code-cache-training.js';
import { etcd3Descriptor } from './etcd3-descriptor.js';

const root = resolve(import.meta.dirname, '..');
const outdir = join(root, 'dist', 'cli');

/**
 * Packages compiled into the bundle, and so into the code cache, rather than loaded from
 * node_modules at run time: the pure-JavaScript ones that every start loads. Through node's
 * CommonJS loader, pino and commander (~30 files with their dependencies, which come along) cost
 * a broker ~4 MiB of its idle RSS, more of node's own code running to resolve, read and compile
 * them, and a few ms of its start. Everything else stays in node_modules: native addons
 * (@node-rs/crc32, the compression codecs) and what loads only on demand (fastify, prom-client,
 * pino-pretty, protobufjs for OTLP) or only in cluster mode (CLUSTER_PACKAGES). pino's transports,
 * worker threads that load its files by path, would not work from the bundle; the broker logs
 * through pino's own destination.
 */
const BUNDLED_PACKAGES = new Set(['pino', 'commander']);
/**
 * Packages that only a broker in cluster mode loads, and that are big: etcd3 with gRPC (~0.5 MB
 * bundled; etcd3's proto loader is replaced, see etcd3Services).
 * Through node's CommonJS loader they cost a cluster broker ~2 MiB more idle RSS and ~80 ms more
 * to load; compiled into cli.cjs, every single-node broker would carry their source. So they are
 * a second script, cluster.cjs, with a code cache of its own; in cli.cjs, `require('etcd3')`
 * becomes a call that runs it (src/cli/cluster-packages.ts).
 */
const CLUSTER_PACKAGES = ['etcd3'];
const clusterPackagesModule = join(root, 'src', 'cli', 'cluster-packages.ts');
const inNodeModules = `${sep}node_modules${sep}`;
const packageName = (specifier: string) => specifier.split('/', specifier.startsWith('@') ? 2 : 1).join('/');
const bundledPackages: Plugin = {
  name: 'bundled-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.kind === 'dynamic-import') return undefined; // packagesImportedLazily's
      if (CLUSTER_PACKAGES.includes(args.path)) return { path: args.path, namespace: 'cluster-package' };
      const bundled = BUNDLED_PACKAGES.has(packageName(args.path)) || args.importer.includes(inNodeModules);
      return bundled ? undefined : { path: args.path, external: true };
    });
    b.onLoad({ filter: /.*/, namespace: 'cluster-package' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(clusterPackagesModule)}).clusterPackage(${JSON.stringify(args.path)});`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};

const etcd3Dir = join(root, 'node_modules', 'etcd3');
const etcd3ServicesModule = join(root, 'src', 'cli', 'etcd3-services.ts');
/** etcd3's call that parses its .proto files, exactly (a new etcd3 that differs fails the build). */
const ETCD3_PROTO_LOADING = [
  'const packageDefinition = (0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`, {',
  '    keepCase: true,',
  '    longs: String,',
  '    enums: String,',
  '    defaults: true,',
  '    oneofs: true,',
  '});',
  'const services = grpc.loadPackageDefinition(packageDefinition);',
].join('\n');
const ETCD3_PROTO_LOADER_IMPORT = 'const proto_loader_1 = require("@grpc/proto-loader");\n';
/**
 * etcd3 parses its .proto files with @grpc/proto-loader when its connection pool module is
 * evaluated; in cluster.cjs it builds the same services from a descriptor computed here
 * (src/cli/etcd3-services.ts says why), and encodes messages with src/cli/etcd3-codec.ts, so
 * neither the .proto files nor proto-loader nor protobufjs are in the bundle.
 */
const etcd3Services: Plugin = {
  name: 'etcd3-services',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8').replace(/\r\n/g, '\n');
      if (!source.includes(ETCD3_PROTO_LOADING) || !source.includes(ETCD3_PROTO_LOADER_IMPORT)) {
        throw new Error(`${args.path} no longer loads its .proto files as scripts/bundle-cli.ts expects: update it and src/cli/etcd3-services.ts`);
      }
      const services = `const services = grpc.loadPackageDefinition(require(${JSON.stringify(etcd3ServicesModule)}).etcd3PackageDefinition(require("tributary:etcd3-descriptor")));`;
      return { contents: source.replace(ETCD3_PROTO_LOADER_IMPORT, '').replace(ETCD3_PROTO_LOADING, services), loader: 'js' };
    });
    // grpc-js requires proto-loader only inside the functions that build a server's channelz and
    // ORCA services (from .proto files the bundle does not carry either); a client never calls them.
    b.onResolve({ filter: /^@grpc\/proto-loader$/ }, (args) => ({ path: args.path, namespace: 'not-bundled' }));
    b.onLoad({ filter: /.*/, namespace: 'not-bundled' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not in dist/cli/cluster.cjs (scripts/bundle-cli.ts)`)});`,
      loader: 'js',
    }));
    b.onResolve({ filter: /^tributary:etcd3-descriptor$/ }, (args) => ({ path: args.path, namespace: 'etcd3-descriptor' }));
    b.onLoad({ filter: /.*/, namespace: 'etcd3-descriptor' }, () => ({ contents: JSON.stringify(etcd3Descriptor(etcd3Dir)), loader: 'json' }));
  },
};

/** grpc-js's two additions of a delay to a Date, done in local time (checked). */
const GRPC_LOCAL_TIME_ADDITIONS = [
  'this.endTime.setMilliseconds(this.endTime.getMilliseconds() + delay);',
  'newEndTime.setMilliseconds(newEndTime.getMilliseconds() + this.nextDelay);',
];
/**
 * grpc-js's backoff timer (the etcd client's connection attempts) adds its delay to a Date with
 * setMilliseconds(getMilliseconds() + delay), a local-time operation; in cluster.cjs it uses the
 * UTC pair, the same instant (and exactly time + delay, even across a daylight-saving change).
 *
 * Why: a Date's first local-time operation makes V8 load the time zone from ICU, ~0.5 MiB of
 * node's binary (ICU's code and its zone data) resident in every cluster broker for that one
 * addition; nothing else in a broker asks for local time (a single node never does).
 */
const grpcBackoffInUtc: Plugin = {
  name: 'grpc-backoff-in-utc',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]@grpc[\\/]grpc-js[\\/]build[\\/]src[\\/]backoff-timeout\.js$/ }, (args) => {
      let source = readFileSync(args.path, 'utf8').replace(/\r\n/g, '\n');
      for (const addition of GRPC_LOCAL_TIME_ADDITIONS) {
        if (source.split(addition).length !== 2) throw new Error(`${args.path} no longer adds its delays as scripts/bundle-cli.ts expects: update it`);
        source = source.replace(addition, addition.replace(/(set|get)Milliseconds/g, '$1UTCMilliseconds'));
      }
      if (/\.(set|get)Milliseconds\(/.test(source)) throw new Error(`${args.path} has a local-time operation scripts/bundle-cli.ts does not expect`);
      return { contents: source, loader: 'js' };
    });
  },
};

/** Appends the build id (src/cli/code-cache.ts) to the script at `path`: a hash of its content. */
function nameBuild(path: string): void {
  const buildId = createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, BUILD_ID_LENGTH);
  appendFileSync(path, `\n${BUILD_ID_MARK}${buildId}\n`);
}

/**
 * `await import('pino')` and the like become lazy require() calls: every dependency is
 * CommonJS, and a dynamic import() inside a vm.Script needs a loader callback that Node 20 offers
 * only as an experimental feature (with a warning on every start).
 */
const packagesImportedLazily: Plugin = {
  name: 'packages-imported-lazily',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.kind === 'dynamic-import' ? { path: args.path, namespace: 'lazy-package' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'lazy-package' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      resolveDir: root,
      loader: 'js',
    }));
  },
};

const program = join(outdir, 'cli.cjs');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outfile: program,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  plugins: [bundledPackages, packagesImportedLazily],
  // The sources are ES modules; these are their CommonJS equivalents. The bundle sits in
  // dist/cli, at the depth of dist/http: src/http/console.ts and the bench find dist/console
  // and the package root relative to their own module.
  define: { 'import.meta.dirname': '__dirname', 'import.meta.url': '__importMetaUrl' },
  banner: { js: '"use strict";var __importMetaUrl=require("node:url").pathToFileURL(__filename).href;' },
  sourcemap: 'linked',
  // V8 still reads the whole source into a string, and compiles what the cache lacks from it.
  // Names are kept (no minifyIdentifiers), so logged stacks still say which
  // function failed; the linked source map gives the line in src/.
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
// The build's name, which the cache must carry to be used (src/cli/code-cache.ts).
nameBuild(program);
const clusterScript = join(outdir, 'cluster.cjs');
await build({
  stdin: {
    contents: `module.exports = {${CLUSTER_PACKAGES.map((p) => `${JSON.stringify(p)}: require(${JSON.stringify(p)})`).join(', ')}};`,
    resolveDir: root,
    loader: 'js',
    sourcefile: 'cluster-packages.cjs',
  },
  outfile: clusterScript,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  plugins: [etcd3Services, grpcBackoffInUtc],
  banner: { js: '"use strict";' },
  sourcemap: 'linked',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
nameBuild(clusterScript);
await build({
  entryPoints: [join(root, 'src', 'cli', 'launcher.ts')],
  outfile: join(outdir, 'tributary.js'),
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
try {
  await trainCodeCache(join(outdir, 'tributary.js'), join(outdir, 'cli.v8cache'));
} catch (err) {
  // Without the cache the CLI works as well and starts ~40 ms slower; test/cli/launcher.test.ts
  // fails on a build that lacks it.
  console.warn(`warning: no V8 code cache for the CLI: ${(err as Error).message}`);
}
try {
  await trainClusterCodeCache(join(outdir, 'tributary.js'), join(outdir, 'cluster.v8cache'));
} catch (err) {
  // Likewise for cluster mode (test/cli/launcher.test.ts fails on a build that lacks it).
  console.warn(`warning: no V8 code cache for cluster mode: ${(err as Error).message}`);
}
