import tseslint from 'typescript-eslint';

const impure = ['node:*', 'fs', 'child_process', 'os', 'net', 'dockerode', 'execa', 'pino', 'p-queue', 'testcontainers'];

// The layers: core <- adapters <- runtime <- cli. An import may only point down.
// (Import cycles, which these rules cannot see, are dependency-cruiser's: .dependency-cruiser.cjs.)
const layer = (names, message) => names.map((name) => ({ group: [`../${name}/*`, `../../${name}/*`, `../${name}/**`, `../../${name}/**`], message }));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The functional core stays pure so the whole policy is testable from JSON fixtures,
    // and imports nothing outside itself (src/core has no subfolders: every `../` leaves it).
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...impure.map((group) => ({ group: [group], message: 'src/core is pure: pass side effects in from adapters/runtime.' })),
            { group: ['../*', '../**'], message: 'src/core imports only src/core: move what it needs into the core, or pass it in.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'src/core is pure.' },
        { name: 'Date', message: 'src/core is pure: pass the clock in.' },
        { name: 'setTimeout', message: 'src/core is pure.' },
      ],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'src/core is deterministic.' }],
    },
  },
  {
    // The core's tests may use test/ fixtures, but not the layers above the core.
    files: ['src/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: layer(['adapters', 'runtime', 'cli'], 'a core test tests the core: import from src/core.') }],
    },
  },
  {
    files: ['src/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: layer(['runtime', 'cli'], 'src/adapters import only src/core and other adapters: pass runtime behaviour in.') },
      ],
    },
  },
  {
    files: ['src/runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: layer(['cli'], 'src/runtime does not import src/cli: the CLI wires the runtime, not the other way round.') },
      ],
    },
  },
);
