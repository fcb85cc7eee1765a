// Lint rules: typescript-eslint's recommended set, no import cycles, and Prettier owns the layout.
import js from '@eslint/js';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', 'coverage/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.jsx', '.mjs', '.cjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.jsx', '.mjs', '.cjs', '.json'] })],
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', 'bin/**'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['example-server/console/web/**'],
    languageOptions: { globals: { ...globals.browser }, parserOptions: { ecmaFeatures: { jsx: true } } },
  },
  {
    files: ['test/**'],
    languageOptions: { globals: { ...globals.jest } },
  },
  {
    // Test doubles (fake models, stores, hosts) stand in for untyped host APIs and poke at internals:
    // `any` there is the double's job, not a hole in the library's types.
    files: ['test/helpers/**', 'test/**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The harness loads both host lines and both Express majors with untyped `require()` so that one test
    // body drives either: their typings differ (5.x vs @types/oauth2-server 3; Express 5 vs 4) and do not unify.
    files: ['test/helpers/host-app.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The type tests compile the README's CommonJS snippet, `import X = require('…')`, verbatim.
    files: ['test-d/**/*.cts'],
    rules: { '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }] },
  },
  // Last: Prettier owns the layout, so lint rules about layout are off.
  prettier,
);
