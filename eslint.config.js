import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import burrow from './tools/eslint-layers.js'

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'test/vectors/', '.scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { burrow },
    rules: { 'burrow/layers': 'error', 'no-console': 'error' },
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
)
