// ESLint flat config: typescript-eslint's type-aware rules, plus the pipeline's import boundaries
// (eslint.boundaries.js).
import tseslint from 'typescript-eslint';
import { boundaryConfigs } from './eslint.boundaries.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'fixtures/**', 'coverage/**', 'bin/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      eqeqeq: ['error', 'always'],
    },
  },
  { files: ['eslint.config.js', 'eslint.boundaries.js'], ...tseslint.configs.disableTypeChecked },
  ...boundaryConfigs(),
  {
    // Input reaches the review UI only through its escaping Text (src/tui/views/text.tsx).
    files: ['src/tui/**'],
    ignores: ['src/tui/views/text.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'ink',
              importNames: ['Text'],
              message:
                'Use Text from src/tui/views/text.tsx: it escapes text that came from input.',
            },
          ],
        },
      ],
    },
  },
);
