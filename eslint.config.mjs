/**
 * ESLint for the whole tree (`npm run lint`, part of `npm test`). Formatting is Prettier's job
 * (`npm run format`), so no stylistic rules here: only rules that catch bugs.
 *
 * Typed rules read one TypeScript program over every module (tsconfig.lint.json): sources,
 * unit tests, cross-process tests and fixtures, bench/, scripts/ and the launchers. A file
 * outside it fails the lint ("not included in the project") instead of going unchecked.
 */
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['**/dist/', '**/node_modules/', 'apps/cli/bundle/', 'coverage/', '.tmp/', 'dist-pkg/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { project: './tsconfig.lint.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Promises: a dropped rejection is a silent failure or a crash at an unrelated moment.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      '@typescript-eslint/no-for-in-array': 'error',
      '@typescript-eslint/no-implied-eval': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Type-only imports vanish from the output, so they can never start a module's side effects.
      '@typescript-eslint/consistent-type-imports': ['error', { disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Deliberate in this code base: `!` after a lookup the code just checked, empty catch-alls with a comment.
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // The tray's window is browser code (DOM, JSX for Preact): its own program, browser globals.
    files: ['apps/*/src/renderer/**/*.{ts,tsx}'],
    languageOptions: {
      globals: globals.browser,
      parserOptions: { project: './apps/tray/src/renderer/tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // JavaScript files: the type-aware rules still apply (types are inferred), TS-only ones do not.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: {
      '@typescript-eslint/consistent-type-imports': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
);
