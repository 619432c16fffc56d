// ESLint flat config: typescript-eslint's type-aware rules, plus the pipeline's import boundaries.
import tseslint from 'typescript-eslint';

const boundary = (files, forbidden, message) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: forbidden.map((group) => ({ group: [group], message })) },
    ],
  },
});

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
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  boundary(
    ['src/model/**', 'src/engine/**', 'src/docker/**', 'src/lint/**', 'src/report/**', 'rules/**'],
    ['chevrotain', 'ink', 'react', '**/grammar/**', '**/tui/**'],
    'Only grammar/ and src/ingest/ see chevrotain; only src/tui/ sees ink and react.',
  ),
  boundary(
    ['src/engine/**'],
    ['**/docker/**', '**/lint/**', '../../rules/**'],
    'The engine knows netfilter, not Docker.',
  ),
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
  boundary(
    ['src/ingest/**', 'grammar/**'],
    ['ink', 'react', '**/engine/**', '**/lint/**'],
    'Ingest builds the model and nothing else.',
  ),
);
