import tseslint from 'typescript-eslint';

const impure = ['node:*', 'fs', 'child_process', 'os', 'net', 'dockerode', 'execa', 'pino', 'p-queue', 'testcontainers'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The functional core stays pure so the whole policy is testable from JSON fixtures.
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: impure.map((group) => ({ group: [group], message: 'src/core is pure: pass side effects in from adapters/runtime.' })) }],
      'no-restricted-globals': ['error', { name: 'process', message: 'src/core is pure.' }, { name: 'Date', message: 'src/core is pure: pass the clock in.' }, { name: 'setTimeout', message: 'src/core is pure.' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'src/core is deterministic.' }],
    },
  },
);
