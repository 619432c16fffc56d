// The pipeline's folders and what each may import as values (type imports may cross: a type
// is a contract, not a dependency that runs). docs/architecture.md draws the same pipeline;
// test/lint/boundaries.test.ts proves that a wrong import fails.

/** Folders in pipeline order; `may` lists the folders a folder may take values from. */
export const STAGES = [
  { folder: 'grammar', files: ['grammar/**'], may: [] },
  { folder: 'model', files: ['src/model/**'], may: [] },
  { folder: 'ingest', files: ['src/ingest/**'], may: ['grammar', 'model'] },
  { folder: 'docker', files: ['src/docker/**'], may: ['model'] },
  { folder: 'engine', files: ['src/engine/**'], may: ['model'] },
  { folder: 'analysis', files: ['src/analysis/**'], may: ['model', 'docker', 'engine'] },
  // lint reads its own files (config, baseline) with ingest's readers
  { folder: 'lint', files: ['src/lint/**'], may: ['model', 'ingest', 'docker', 'analysis'] },
  { folder: 'rules', files: ['rules/**'], may: ['model', 'docker', 'analysis', 'lint'] },
  { folder: 'report', files: ['src/report/**'], may: ['model', 'analysis', 'lint'] },
  { folder: 'tui', files: ['src/tui/**'], may: ['model', 'analysis', 'lint', 'report'] },
  {
    folder: 'cli',
    files: ['src/cli/**'],
    may: [
      'grammar',
      'model',
      'ingest',
      'docker',
      'engine',
      'analysis',
      'lint',
      'rules',
      'report',
      'tui',
    ],
  },
];

/** Folders no shipped code imports: tests, the kernel lab, benchmarks. */
const NEVER = ['test', 'bench'];

/** Packages only some folders may use: the parser library, the UI library, the host's I/O. */
const PACKAGES = [
  {
    names: ['chevrotain'],
    only: ['grammar', 'ingest'],
    message: 'Only grammar/ and src/ingest/ see chevrotain.',
  },
  { names: ['ink', 'react'], only: ['tui'], message: 'Only src/tui/ sees ink and react.' },
  {
    names: ['node:fs', 'node:child_process', 'node:os', 'node:worker_threads'],
    only: ['ingest', 'lint', 'cli', 'tui'],
    message: 'Files, processes and threads belong to ingest, lint (config, baseline), cli and tui.',
  },
];

const ORDER = STAGES.map((s) => s.folder).join(' → ');

/** The restriction for the files of `stage`. */
function restriction(stage) {
  const may = stage.may;
  const folders = STAGES.map((s) => s.folder).filter((f) => f !== stage.folder && !may.includes(f));
  const patterns = [
    ...folders.map((f) => ({
      group: [`**/${f}/**`],
      allowTypeImports: true,
      message: `${stage.folder}/ may take values only from ${may.join(', ') || 'itself'} (pipeline: ${ORDER}).`,
    })),
    ...NEVER.map((f) => ({
      group: [`**/${f}/**`],
      message: 'Shipped code never imports tests, the lab or benchmarks.',
    })),
    ...PACKAGES.filter((p) => !p.only.includes(stage.folder)).map((p) => ({
      group: p.names,
      message: p.message,
    })),
  ];
  return { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] };
}

/**
 * One config entry per folder and no exceptions: flat config keeps only the last setting of a
 * rule per file, so each file gets exactly its folder's restriction.
 */
export function boundaryConfigs() {
  return STAGES.map((stage) => ({ files: stage.files, rules: restriction(stage) }));
}
