// Cluster mode's packages in the build: etcd3 and what it loads (gRPC, protobufjs; its services
// come precomputed, see etcd3-services.ts), bundled into their own script, dist/cli/cluster.cjs,
// with their own code cache, cluster.v8cache (scripts/bundle-cli.ts). In the program (cli.cjs),
// `require('etcd3')` (what src/cluster's `import ... from 'etcd3'` becomes, evaluated when
// broker.ts first imports src/cluster's etcd modules, in cluster mode only) comes here. A single-node broker never
// reads, compiles or holds any of it.
//
// Why a second script: through node's loader, loading etcd3 took a broker ~140 ms (resolving,
// reading and compiling ~100 files); from this script and its cache ~60 ms, and an idle cluster
// broker holds ~2 MiB less (2026-12-07: 3 brokers, 4 alternating runs, 84.7 -> 82.8 MiB; start to
// listening 313 -> 262 ms median, noisy). Compiled into cli.cjs instead, every single-node broker
// would carry their ~0.7 MB of source.
import { join } from 'node:path';
import { runCachedScript } from './cached-script.js';
import { CLUSTER_CODE_CACHE_OUTPUT_ENV } from './code-cache.js';

let packages: Record<string, unknown> | undefined;

/** The exports of the cluster-mode package `name` (one of scripts/bundle-cli.ts's CLUSTER_PACKAGES). */
export function clusterPackage(name: string): unknown {
  packages ??= runCachedScript(join(import.meta.dirname, 'cluster.cjs'), join(import.meta.dirname, 'cluster.v8cache'), CLUSTER_CODE_CACHE_OUTPUT_ENV) as Record<
    string,
    unknown
  >;
  if (!(name in packages)) throw new Error(`${name} is not in dist/cli/cluster.cjs`);
  return packages[name];
}
