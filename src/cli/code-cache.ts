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
