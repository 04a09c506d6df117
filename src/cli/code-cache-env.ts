/**
 * Set by the build's training run only (scripts/code-cache-training.ts): the launcher writes the
 * V8 code cache of everything the process compiled to this path when it exits.
 */
export const CODE_CACHE_OUTPUT_ENV = 'TRIBUTARY_CODE_CACHE_OUTPUT';
