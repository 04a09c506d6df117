// What the build (scripts/bundle-cli.ts, scripts/code-cache-training.ts) and the launcher
// (launcher.ts) agree on about the CLI's V8 code cache.

/**
 * Set by the build's training run only: the launcher writes the V8 code cache of everything the
 * process compiled to this path when it exits.
 */
export const CODE_CACHE_OUTPUT_ENV = 'TRIBUTARY_CODE_CACHE_OUTPUT';

/**
 * The last line of the bundle names its build (a hash of the bundle), and a code cache starts with
 * the name of the build it was recorded from. V8 itself checks only the source's length, so
 * without this a cache would be used with another build of the same length: stale bytecode.
 */
export const BUILD_ID_MARK = '//# tributary-build-id=';
export const BUILD_ID_LENGTH = 16;

/**
 * The same for the cluster-mode script (dist/cli/cluster.cjs: etcd3 and gRPC, see
 * scripts/bundle-cli.ts): set by the build's cluster-mode training run only.
 */
export const CLUSTER_CODE_CACHE_OUTPUT_ENV = 'TRIBUTARY_CLUSTER_CODE_CACHE_OUTPUT';

/** Whether this process records a code cache: then it must not change V8's flags (gc-tuning.ts). */
export function recordsCodeCache(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env[CODE_CACHE_OUTPUT_ENV] || env[CLUSTER_CODE_CACHE_OUTPUT_ENV]);
}

/**
 * Set (to anything), the launcher says on stderr for each script it compiles whether V8 took its
 * code cache: `tributary: cli.cjs: code cache accepted` (or rejected by V8, stale: of another
 * build, missing). For the tests and for an operator wondering why a start is slow.
 */
export const CODE_CACHE_TRACE_ENV = 'TRIBUTARY_CODE_CACHE_TRACE';
