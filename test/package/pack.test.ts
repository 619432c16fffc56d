/**
 * What `npm pack` ships: the CLI, the built sources, rules and grammar, the docs and the collector
 * script — never the kernel lab, the benches or their host generator, nor any test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../rules/tester.ts';

const built = existsSync(path.join(repoRoot, 'dist/src/cli/main.js'));

function packedFiles(): string[] {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`npm pack failed: ${r.stderr}`);
  const [pack] = JSON.parse(r.stdout) as { files: { path: string }[] }[];
  return (pack?.files ?? []).map((f) => f.path);
}

describe.skipIf(!built)(
  built ? 'npm pack' : 'npm pack (skipped: dist/ not built — run `npm test`, which builds it)',
  () => {
    it('ships what users run and no test, lab or bench file', () => {
      const files = packedFiles();
      expect(files).toContain('bin/dockwall.js');
      expect(files).toContain('dist/src/cli/main.js');
      // the CLI as bin/dockwall.js runs it (scripts/bundle-cli.ts), with review's worker
      expect(files).toContain('dist/cli/dockwall.js');
      expect(files).toContain('dist/cli/review-analysis.js');
      expect(files).toContain('dist/rules/index.js');
      expect(files).toContain('scripts/collect.sh');
      const unwanted = files.filter((f) =>
        /(^|\/)(test|tests|lab|bench)(\/|$)|\.test\.|generate-host/.test(f),
      );
      expect(unwanted).toEqual([]);
    });
  },
);
