/**
 * Output that grows with the input is bounded: a rule lists at most FINDINGS_PER_RULE findings
 * (the most severe kept, the rest in one "and N more" at their worst severity), diagnostics of
 * one kind in one file are capped the same way, and host-mode conflicts are one finding per
 * port with every party counted — however many containers a host has.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { analyze, DIAGNOSTICS_PER_KIND } from '../../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import { exitCode } from '../../src/report/exit-code.ts';
import { defineRule } from '../../src/lint/rule.ts';
import { FINDINGS_PER_RULE } from '../../src/lint/runner.ts';
import { built, dockwall, repoRoot } from './support.ts';
import { tempDir } from '../support/temp-dir.ts';

const EXAMPLE = path.join(repoRoot, 'fixtures/example-host');

/**
 * Reports one warning per rule line, 3000 times over, then an error, 1000 more warnings and a
 * second error at the very end.
 */
const flood = defineRule<'w' | 'e' | 'e2', object>({
  meta: {
    id: 'flood',
    type: 'problem',
    severity: 'warning',
    docs: { description: 'floods', recommended: false, url: 'https://example.invalid/flood' },
    messages: { w: 'warning {{n}}', e: 'the one error', e2: 'the last error' },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create(context) {
    return {
      Ruleset(ruleset) {
        if (ruleset.family !== 'ipv4') return;
        for (let n = 0; n < 3000; n += 1) {
          context.report({
            messageId: 'w',
            data: { n },
            node: ruleset.tables[0]?.chains[0] ?? { location: { file: 'x', line: 1, column: 1 } },
            object: { rule: n },
          });
        }
      },
      end() {
        context.report({
          messageId: 'e',
          node: { location: { file: 'x', line: 9, column: 1 } },
          object: { rule: 99_999 },
          severity: 'error',
        });
        for (let n = 3000; n < 4000; n += 1) {
          context.report({
            messageId: 'w',
            data: { n },
            node: { location: { file: 'x', line: 1, column: 1 } },
            object: { rule: n },
          });
        }
        context.report({
          messageId: 'e2',
          node: { location: { file: 'x', line: 10, column: 1 } },
          object: { rule: 100_000 },
          severity: 'error',
        });
      },
    };
  },
});

function hostModeSnapshot(count: number): string {
  const dir = path.join(tempDir('dockwall-hostmode-'), 'snap');
  cpSync(EXAMPLE, dir, { recursive: true });
  const containers = JSON.parse(readFileSync(path.join(dir, 'containers.json'), 'utf8')) as {
    Name: string;
    Id: string;
  }[];
  const exporter = containers.find((c) => c.Name === '/node-exporter');
  const web = containers.find((c) => c.Name === '/shop-web-1');
  const copies = Array.from({ length: count }, (_, i) => ({
    ...exporter,
    Name: `/exporter-${i}`,
    Id: (i + 1).toString(16).padStart(64, '0'),
  }));
  writeFileSync(path.join(dir, 'containers.json'), JSON.stringify([...copies, web]));
  return dir;
}

describe('caps', () => {
  it('a rule lists FINDINGS_PER_RULE findings, keeps its error, and counts the rest', async () => {
    const snapshot = await loadSnapshot({ directory: EXAMPLE });
    const result = analyze(snapshot, DEFAULT_CONFIG, {
      rules: { flood },
      engines: null,
    });
    const mine = result.findings.filter((f) => f.ruleId === 'flood');
    expect(mine).toHaveLength(FINDINGS_PER_RULE + 1);
    // each error takes a warning's place, the second not the first's
    expect(mine.filter((f) => f.message === 'the one error')).toHaveLength(1);
    expect(mine.filter((f) => f.message === 'the last error')).toHaveLength(1);
    const more = mine.find((f) => f.object.more !== undefined);
    expect(more?.object.more).toBe(4002 - FINDINGS_PER_RULE);
    expect(more?.severity).toBe('warning');
    expect(more?.message).toBe(
      `…and ${4002 - FINDINGS_PER_RULE} more findings of this rule, not listed (dockwall lists at most ${FINDINGS_PER_RULE} per rule)`,
    );
  });

  it('diagnostics of one kind in one file are capped, at their worst severity', async () => {
    const dir = path.join(tempDir('dockwall-garbage-'), 'snap');
    cpSync(EXAMPLE, dir, { recursive: true });
    const rules = readFileSync(path.join(dir, 'iptables-save.txt'), 'utf8');
    const junk = Array.from({ length: 1000 }, (_, i) => `-A INPUT --junk${i} -j ACCEPT`);
    writeFileSync(
      path.join(dir, 'iptables-save.txt'),
      rules.replace('-A INPUT -i lo -j ACCEPT', `-A INPUT -i lo -j ACCEPT\n${junk.join('\n')}`),
    );
    const result = analyze(await loadSnapshot({ directory: dir }), DEFAULT_CONFIG, {
      rules: RULES,
    });
    const unknown = result.diagnostics.filter((d) => d.code === 'unknown-option');
    expect(unknown).toHaveLength(DIAGNOSTICS_PER_KIND + 1);
    expect(unknown.at(-1)?.message).toBe(
      `…and ${1000 - DIAGNOSTICS_PER_KIND} more 'unknown-option' diagnostics in this file from here on, not listed (dockwall lists at most ${DIAGNOSTICS_PER_KIND} of a kind per file)`,
    );
    expect(unknown.at(-1)?.severity).toBe('error');
    expect(exitCode(result, 'error')).toBe(1);
  });

  it('300 host-mode containers on one port: one conflict finding listing them all', async () => {
    const result = analyze(
      await loadSnapshot({ directory: hostModeSnapshot(300) }),
      DEFAULT_CONFIG,
      {
        rules: RULES,
      },
    );
    const conflicts = result.findings.filter(
      (f) => f.ruleId === 'host-network-conflict' && f.severity === 'error',
    );
    expect(conflicts.map((f) => f.message)).toEqual([
      'Host-network containers exporter-0, exporter-1, exporter-2, exporter-3, exporter-4, exporter-5, exporter-6, exporter-7, exporter-8, exporter-9 and 290 more all 300 serve 9100/tcp on the host; each one that starts after the first fails to bind (Docker does not check).',
    ]);
    expect(conflicts[0]?.object).toEqual({ port: 9100, protocol: 'tcp' });
    expect(conflicts[0]?.related.length).toBe(20);
  });

  it.skipIf(!built)(
    '9000 host-mode containers: bounded time, memory and output (needs npm run build)',
    async () => {
      const r = await dockwall(['audit', hostModeSnapshot(9000), '--format', 'json'], {
        timeoutMs: 120_000,
      });
      expect(r.code).toBe(1);
      expect(r.peakKib).toBeLessThan(1500 * 1024);
      expect(r.stdout.length).toBeLessThan(10_000_000);
      const result = JSON.parse(r.stdout) as {
        findings: { ruleId: string; severity: string; message: string; object: object }[];
        diagnostics: unknown[];
      };
      const mine = result.findings.filter((f) => f.ruleId === 'host-network-conflict');
      expect(mine.length).toBe(FINDINGS_PER_RULE + 1);
      expect(mine.filter((f) => f.severity === 'error').map((f) => f.message)).toEqual([
        expect.stringContaining('and 8990 more all 9000 serve 9100/tcp'),
      ]);
      expect(result.diagnostics.length).toBeLessThan(DIAGNOSTICS_PER_KIND * 2);
    },
  );
});
