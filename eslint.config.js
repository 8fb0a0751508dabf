// ESLint: the JavaScript and typescript-eslint recommended rules, with type information.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Generated (checked by `npm run proto:check`), built, installed or measured: not linted here.
  {ignores: ['**/gen/**', 'dist/**', 'client/dist/**', 'client/api-docs/**', 'protocol/dist/**', 'node_modules/**', '.tools/**', 'interop/**', 'bench/results/**', '.probe/**']},
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {languageOptions: {parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname}}},
  {
    rules: {
      // State lives in closures, and no code reads `this` (classes only for errors): a method taken off its object keeps working.
      '@typescript-eslint/unbound-method': 'off',
      // What a catch or an aborted signal holds is rethrown as it is: the caller's error, or the signal's reason.
      '@typescript-eslint/only-throw-error': ['error', {allowThrowingAny: true, allowThrowingUnknown: true}],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', {allowThrowingAny: true, allowThrowingUnknown: true}],
      // Prettier lays the code out, with semicolons: a line that starts with `[` continues the expression above it.
      'no-unexpected-multiline': 'off',
    },
  },
  {
    // Stub services in tests and the no-storage server answer at once, through async methods of the real interface.
    files: ['test/**', 'bench/**'],
    rules: {'@typescript-eslint/require-await': 'off'},
  },
  {
    // Tests take `any` from vitest's matchers (`expect.stringContaining`), from an iterator's `next()` (its return
    // value is typed `any`) and from grpc-js's generic clients; what they check is asserted at run time.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
  // Plain JavaScript (this file; the contract's crash writer, which runs without TypeScript): no type information.
  {files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked},
  {files: ['**/*.mjs'], languageOptions: {globals: {process: 'readonly', Buffer: 'readonly'}}},
);
