/**
 * A report is the same on every machine: CI runners, laptops and baselines must agree, so the
 * order of anything dockwall sorts cannot follow the locale (under a Danish locale ICU sorts
 * "aab" after "zz").
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareText } from '../../src/model/text-order.ts';
import { repoRoot } from '../rules/tester.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'dockwall-locale-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function audit(locale: string): { stdout: string; files: string[] } {
  const v4 = path.join(dir, 'aab.rules');
  const v6 = path.join(dir, 'zz.rules');
  writeFileSync(
    v4,
    '*filter\n:INPUT ACCEPT [0:0]\nnot a rule\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n',
  );
  writeFileSync(
    v6,
    '*filter\n:INPUT ACCEPT [0:0]\nnor this\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n',
  );
  const run = spawnSync(
    process.execPath,
    [
      path.join(repoRoot, 'bin/dockwall.js'),
      'audit',
      '--iptables',
      v4,
      '--ip6tables',
      v6,
      '--format',
      'json',
      '--fail-on',
      'never',
    ],
    { encoding: 'utf8', env: { ...process.env, LANG: locale, LC_ALL: locale } },
  );
  expect(run.status, run.stderr).toBe(0);
  const report = JSON.parse(run.stdout) as { diagnostics: { location: { file: string } }[] };
  return {
    stdout: run.stdout,
    files: report.diagnostics.map((d) => path.basename(d.location.file)),
  };
}

describe('output order', () => {
  it('is by code unit, whatever the locale', () => {
    expect(['zz', 'aab', 'Zb', 'a-b', 'a_b'].sort(compareText)).toEqual([
      'Zb',
      'a-b',
      'a_b',
      'aab',
      'zz',
    ]);
  });

  it('of a report is the same under a Danish locale as under C', () => {
    const c = audit('C.UTF-8');
    const danish = audit('da_DK.UTF-8');
    expect(c.files).toEqual(['aab.rules', 'zz.rules']);
    expect(danish.stdout).toBe(c.stdout);
  });
});
