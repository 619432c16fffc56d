/** analyze() is the one entry point: it never throws, and a failing rule costs only its own findings. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { analyze } from '../../src/lint/analyze.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import type { RuleModule } from '../../src/lint/rule.ts';
import { defineRule } from '../../src/lint/rule.ts';
import { repoRoot } from '../rules/tester.ts';
import { tempDir } from '../support/temp-dir.ts';

const S1 = path.join(repoRoot, 'fixtures/snapshots/28.5.2/s1-default-bridge-p8080');

const broken = defineRule<'x', object>({
  meta: {
    id: 'broken',
    type: 'problem',
    severity: 'error',
    docs: { description: 'throws', recommended: false, url: 'https://example.invalid/broken' },
    messages: { x: 'x' },
    schema: null,
    defaultOptions: {},
    requiresEngine: false,
  },
  create() {
    return {
      end() {
        throw new Error('boom');
      },
    };
  },
});

const engineOnly = defineRule<'x', object, true>({
  ...broken,
  meta: { ...broken.meta, requiresEngine: true },
});

describe('analyze', () => {
  it('turns a rule that throws into an internal-rule-error diagnostic and runs the others', async () => {
    const { RULES } = await import('../../rules/index.ts');
    const rules = { ...(RULES as Record<string, RuleModule>), broken: broken as RuleModule };
    const result = analyze(await loadSnapshot({ directory: S1 }), DEFAULT_CONFIG, { rules });
    expect(result.diagnostics.map((d) => d.code)).toContain('internal-rule-error');
    expect(result.findings.some((f) => f.ruleId === 'exposed-port')).toBe(true);
  });
  it('says a jump to a missing chain once: the reader says it, the engine does not repeat it', async () => {
    const dir = tempDir('dockwall-jump-');
    const file = path.join(dir, 'iptables-save.txt');
    writeFileSync(file, '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -j NOPE\nCOMMIT\n');
    const result = analyze(await loadSnapshot({ files: { iptables: file } }), DEFAULT_CONFIG, {
      rules: {},
    });
    expect(result.diagnostics.filter((d) => d.location.line === 3).map((d) => d.code)).toEqual([
      'unknown-chain',
    ]);
  });
  it('says which rules were skipped when it runs without the engine', async () => {
    const result = analyze(await loadSnapshot({ directory: S1 }), DEFAULT_CONFIG, {
      rules: { 'engine-only': engineOnly },
      engines: null,
    });
    expect(result.exposures).toEqual([]);
    expect(result.diagnostics.find((d) => d.code === 'rule-skipped')?.message).toContain(
      "'engine-only'",
    );
  });
});
