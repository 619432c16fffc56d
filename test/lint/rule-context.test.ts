/**
 * `requiresEngine` is a type, not a convention: a rule that requires the engine is given it
 * (never null) with the exposure table; one that does not may use the engine when it ran but is
 * given no exposures — reading them does not compile. The runner hands out the same contexts.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../src/cli/load-snapshot.ts';
import { DEFAULT_CONFIG } from '../../src/lint/config-types.ts';
import { createLintEngine } from '../../src/lint/default-engine.ts';
import { defineRule, type RuleModule } from '../../src/lint/rule.ts';
import { runRules } from '../../src/lint/runner.ts';
import { computeExposures } from '../../src/analysis/exposures.ts';
import { repoRoot } from '../rules/tester.ts';
import { RULES } from '../../rules/index.ts';

const S1 = path.join(repoRoot, 'fixtures/snapshots/28.5.2/s1-default-bridge-p8080');

const meta = {
  type: 'problem',
  severity: 'note',
  docs: { description: 'sees', recommended: false, url: 'https://example.invalid/sees' },
  messages: { seen: '{{what}}' },
  schema: null,
  defaultOptions: {},
} as const;

const seen: Record<string, string> = {};

const needsEngine = defineRule<'seen', object, true>({
  meta: { ...meta, id: 'needs-engine', requiresEngine: true },
  create(context) {
    // The engine is there: no null check compiles away a missing one.
    seen['needs-engine'] =
      `engine ${context.engine.families.join(',')}; ${context.exposures.length} exposures`;
    return {};
  },
});

const optionalEngine = defineRule<'seen', object>({
  meta: { ...meta, id: 'optional-engine', requiresEngine: false },
  create(context) {
    seen['optional-engine'] =
      `engine ${context.engine === null ? 'none' : 'given'}; exposures ${'exposures' in context ? 'given' : 'none'}`;
    return {};
  },
});

// Compile-time half: each line below must fail to type-check.
defineRule<'seen', object>({
  meta: { ...meta, id: 'reads-exposures', requiresEngine: false },
  create(context) {
    // @ts-expect-error a rule that does not require the engine is given no exposures
    void context.exposures;
    // @ts-expect-error and its engine may be null
    void context.engine.families;
    return {};
  },
});
defineRule<'seen', object, true>({
  // @ts-expect-error a rule typed as needing the engine must declare it
  meta: { ...meta, id: 'undeclared', requiresEngine: false },
  create: () => ({}),
});

describe('rule context', () => {
  it('follows requiresEngine: exposures only for rules that require the engine', async () => {
    const snapshot = await loadSnapshot({ directory: S1 });
    const { engine, engines } = createLintEngine(snapshot);
    const exposures = computeExposures(snapshot, engines).exposures;
    expect(exposures.length).toBeGreaterThan(0);
    const rules: Record<string, RuleModule> = {
      'needs-engine': needsEngine,
      'optional-engine': optionalEngine,
    };
    const run = runRules(snapshot, rules, DEFAULT_CONFIG, engine, exposures);
    expect(run.ran).toEqual(['needs-engine', 'optional-engine']);
    expect(seen['needs-engine']).toBe(`engine ipv4,ipv6; ${exposures.length} exposures`);
    expect(seen['optional-engine']).toBe('engine given; exposures none');

    const without = runRules(snapshot, rules, DEFAULT_CONFIG, null, []);
    expect(without.ran).toEqual(['optional-engine']);
    expect(without.diagnostics.map((d) => d.code)).toEqual(['rule-skipped']);
    expect(seen['optional-engine']).toBe('engine none; exposures none');
  });

  it('a rule that proves with the engine when it ran says so when it did not', async () => {
    const dir = path.join(
      repoRoot,
      'fixtures/rules/docker-user-ineffective/fires-jump-too-late-rules-only',
    );
    const snapshot = await loadSnapshot({ directory: dir });
    const run = runRules(
      snapshot,
      { 'docker-user-ineffective': RULES['docker-user-ineffective'] as RuleModule },
      DEFAULT_CONFIG,
      null,
      [],
    );
    expect(run.findings.map((f) => [f.certainty, f.assumptions])).toEqual([
      ['possible', ['the witness was not traced: the packet engine did not run']],
    ]);
  });

  it('turns a report against the rule metadata into internal-rule-error', async () => {
    const snapshot = await loadSnapshot({ directory: S1 });
    const sloppy = defineRule<'seen', object>({
      meta: { ...meta, id: 'sloppy', requiresEngine: false },
      create(context) {
        return {
          Chain(chain) {
            context.report({ messageId: 'seen', node: chain, object: {} });
          },
        };
      },
    });
    const run = runRules(snapshot, { sloppy }, DEFAULT_CONFIG, null, []);
    expect(run.findings).toEqual([]);
    expect(run.diagnostics.map((d) => [d.code, d.message])).toEqual([
      [
        'internal-rule-error',
        "Rule 'sloppy' failed: message 'seen' has no data for {{what}}. Its findings are incomplete.",
      ],
    ]);
  });
});
