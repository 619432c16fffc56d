/**
 * The pipeline's import boundaries (eslint.boundaries.js) hold: for every folder a value import
 * from a folder it may not use fails the lint, a type import of it passes, and an import it may
 * use passes. The repository's eslint.config.js applies each folder's boundary whole (flat config
 * keeps only the last setting of a rule for a file, so a later entry could silently undo one).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import { boundaryConfigs, STAGES } from '../../eslint.boundaries.js';
import { repoRoot } from '../rules/tester.ts';

const RULE = '@typescript-eslint/no-restricted-imports';

const eslint = new ESLint({
  cwd: repoRoot,
  overrideConfigFile: true,
  overrideConfig: [
    { files: ['**/*.ts', '**/*.tsx'], ...tseslint.configs.base },
    ...boundaryConfigs(),
  ],
});

/** A file of the folder (a name no real file has) and the path from it to another folder. */
function probe(folder: string): { file: string; to: (other: string) => string } {
  const dir = folder === 'grammar' || folder === 'rules' ? folder : `src/${folder}`;
  return {
    file: path.join(repoRoot, dir, 'boundary-probe.ts'),
    to: (other) =>
      path.posix.join(
        path.posix.relative(dir, other === 'grammar' || other === 'rules' ? other : `src/${other}`),
        'x.ts',
      ),
  };
}

async function restricted(folder: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: probe(folder).file });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

const folders = STAGES.map((s) => s.folder);

describe('import boundaries', () => {
  for (const stage of STAGES) {
    const others = folders.filter((f) => f !== stage.folder);
    const forbidden = others.filter((f) => !stage.may.includes(f));
    const { to } = probe(stage.folder);
    it(`${stage.folder}/: value imports only from ${stage.may.join(', ') || 'itself'}`, async () => {
      for (const other of forbidden) {
        const got = await restricted(stage.folder, `import { x } from '${to(other)}';\nvoid x;\n`);
        expect(got, `${stage.folder} → ${other}`).toEqual([
          expect.stringMatching(new RegExp(`^${RULE}: .*${stage.folder}/ may take values only`)),
        ]);
        // A type is a contract, not a dependency that runs.
        expect(
          await restricted(
            stage.folder,
            `import type { X } from '${to(other)}';\nexport type Y = X;\n`,
          ),
        ).toEqual([]);
      }
      for (const other of stage.may) {
        expect(
          await restricted(stage.folder, `import { x } from '${to(other)}';\nvoid x;\n`),
          `${stage.folder} → ${other}`,
        ).toEqual([]);
      }
      expect(
        await restricted(stage.folder, `import { x } from '${to('test')}';\nvoid x;\n`),
      ).toHaveLength(1);
    });
  }

  it('keeps chevrotain, ink and the host’s I/O in their folders', async () => {
    expect(
      await restricted('engine', `import { Lexer } from 'chevrotain';\nvoid Lexer;\n`),
    ).toHaveLength(1);
    expect(
      await restricted('ingest', `import { Lexer } from 'chevrotain';\nvoid Lexer;\n`),
    ).toEqual([]);
    expect(await restricted('report', `import { Box } from 'ink';\nvoid Box;\n`)).toHaveLength(1);
    expect(await restricted('tui', `import { Box } from 'ink';\nvoid Box;\n`)).toEqual([]);
    expect(
      await restricted('analysis', `import { readFileSync } from 'node:fs';\nvoid readFileSync;\n`),
    ).toHaveLength(1);
    expect(
      await restricted('ingest', `import { readFileSync } from 'node:fs';\nvoid readFileSync;\n`),
    ).toEqual([]);
  });

  it('no file is excepted: the snapshot reader asks nothing of Docker', async () => {
    expect(STAGES.every((stage) => !('exceptions' in stage))).toBe(true);
    // The file that used to be the exception fails like any other file of ingest/.
    const source = `import { detectEra } from '../docker/era.ts';\nvoid detectEra;\n`;
    const [own] = await eslint.lintText(source, {
      filePath: path.join(repoRoot, 'src/ingest/snapshot.ts'),
    });
    expect((own?.messages ?? []).map((m) => m.ruleId)).toEqual([RULE]);
  });

  it('docs/architecture.md draws the same folders in the same order, one line each', () => {
    const drawn = readFileSync(path.join(repoRoot, 'docs/architecture.md'), 'utf8')
      .split('\n')
      .flatMap((line) => /^\s*[├└]─ (?:src\/)?([a-z]+)\/\s/.exec(line)?.[1] ?? []);
    expect(drawn).toEqual(folders);
  });

  it('the repository config applies each folder’s boundary whole', async () => {
    const real = new ESLint({ cwd: repoRoot });
    const expected = boundaryConfigs();
    for (const [i, stage] of STAGES.entries()) {
      const config = (await real.calculateConfigForFile(probe(stage.folder).file)) as {
        rules: Record<string, unknown[]>;
      };
      // [severity, options]: 2 is 'error'.
      expect(config.rules[RULE], stage.folder).toEqual([2, expected[i]?.rules[RULE]?.[1]]);
    }
    // Real files get their folder's boundary too (no later entry undoes it).
    const ingest = STAGES.findIndex((s) => s.folder === 'ingest');
    const config = (await real.calculateConfigForFile(
      path.join(repoRoot, 'src/ingest/snapshot.ts'),
    )) as { rules: Record<string, unknown[]> };
    expect(config.rules[RULE]).toEqual([2, expected[ingest]?.rules[RULE]?.[1]]);
  });
});
