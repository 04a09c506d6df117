// ESLint (flat config) with typescript-eslint's type-aware rules: `npm run lint` (with the
// dependency rules of .dependency-cruiser.cjs). Formatting is Prettier's (`npm run format`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Generated code is checked by its generator's tests (test/protocol/codegen-fresh.test.ts).
  { ignores: ['dist/**', 'node_modules/**', 'src/protocol/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The rules that catch real bugs in an async server.
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it/test return promises that the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // A union switch must name every case or have a default; a new state without one is an error.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Passing on what a catch or a settled promise holds is a rethrow, not a new non-Error reason.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // tsc's noUnusedLocals/noUnusedParameters report these already.
      '@typescript-eslint/no-unused-vars': 'off',
    },
  },
  {
    // One clock (src/common/clock.ts): the broker reads the time only through an injected Clock,
    // so tests can drive it with a ManualClock. client/ and protocol/ may not import common/
    // (the layer rules) and keep their own reads of the wall clock.
    files: ['src/**/*.ts'],
    ignores: ['src/common/clock.ts', 'src/client/**', 'src/protocol/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Read the time from the injected Clock (src/common/clock.ts).' },
        { object: 'performance', property: 'now', message: 'Use Clock.monotonicMs() (src/common/clock.ts).' },
        { object: 'process', property: 'hrtime', message: 'Use Clock.monotonicMs() (src/common/clock.ts).' },
      ],
    },
  },
  {
    // Tests poke at decoded responses, kafkajs and JSON without declaring every shape: the
    // no-unsafe-* family would flag each access. Everything else applies as in src/.
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // A test body may be async for uniformity without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      // Assertion and timeout messages show whatever value they got, objects included.
      '@typescript-eslint/no-base-to-string': 'off',
      // Assertion messages list arrays as `${[1, 2]}` (1,2) on purpose.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowAny: true, allowArray: true, allowBoolean: true, allowNullish: true, allowNumber: true, allowRegExp: true },
      ],
    },
  },
);
