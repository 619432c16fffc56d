/**
 * The CI example (docs/ci/github-actions.yml) and the README's "Before you deploy" line run as
 * written, in a repository laid out as they expect: the example host's snapshot committed as
 * deploy/host-snapshot next to a Compose file.
 */
import { cpSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { captureIo } from '../support/plan-scenarios.ts';
import { tempDir } from '../support/temp-dir.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

function repository(): string {
  const dir = tempDir('dwci-');
  cpSync(path.join(repoRoot, 'fixtures/example-host'), path.join(dir, 'deploy/host-snapshot'), {
    recursive: true,
  });
  cpSync(
    path.join(repoRoot, 'fixtures/example-compose/compose.yaml'),
    path.join(dir, 'compose.yaml'),
  );
  return dir;
}

/** Runs `dockwall …` command lines (joined by &&) in `cwd`; the exit code of the first failing one. */
async function runLine(line: string, cwd: string): Promise<{ code: number; err: string }> {
  const { io, err } = captureIo(cwd);
  for (const command of line.split('&&').map((c) => c.trim())) {
    const [tool, ...args] = command.split(/\s+/);
    expect(tool).toBe('dockwall');
    const code = await main(args, io);
    if (code !== 0) return { code, err: err() };
  }
  return { code: 0, err: err() };
}

describe('the CI example', () => {
  it('plans, writes SARIF for code scanning, and fails the pull request on what it opens', async () => {
    const workflow = parse(
      readFileSync(path.join(repoRoot, 'docs/ci/github-actions.yml'), 'utf8'),
    ) as {
      jobs: Record<string, { steps: { run?: string }[] }>;
    };
    const steps = Object.values(workflow.jobs).flatMap((j) =>
      j.steps.flatMap((s) => (s.run?.startsWith('dockwall') ? [s.run] : [])),
    );
    expect(steps).toHaveLength(3);
    const dir = repository();
    const [planStep = '', sarifStep = '', gateStep = ''] = steps;
    expect((await runLine(planStep, dir)).code).toBe(0);
    expect((await runLine(sarifStep, dir)).code).toBe(0);
    const sarif = JSON.parse(readFileSync(path.join(dir, 'dockwall.sarif'), 'utf8')) as {
      runs: { results: { ruleId: string }[] }[];
    };
    // The change publishes Redis on every address: gained, so the gate fails.
    expect(sarif.runs[0]?.results.map((r) => r.ruleId)).toContain('exposure-gained');
    expect((await runLine(gateStep, dir)).code).toBe(1);
  });

  it('the README line runs as written', async () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Before you deploy'));
    const line = /```sh\n(dockwall plan[^\n]*)\n```/.exec(section)?.[1] ?? '';
    expect(line).toContain('dockwall plan');
    const dir = repository();
    const r = await runLine(line, dir);
    expect(existsSync(path.join(dir, 'planned/iptables-save.txt'))).toBe(true);
    expect(r.code).toBe(1);
  });
});
