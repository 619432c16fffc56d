/**
 * Every rule against its fixtures: cases that must fire (with the message ids and lines a user
 * would see) and cases that must stay silent. Many cases are the real dockerd captures under
 * fixtures/snapshots, unchanged or with one file replaced.
 */
import { describe, expect, it } from 'vitest';
import { RULES } from '../../rules/index.ts';
import type { RuleModule } from '../../src/lint/rule.ts';
import { loadCase, ruleCases, runRule } from './tester.ts';

const rules = RULES;

for (const id of Object.keys(rules).sort()) {
  const rule = rules[id] as RuleModule;
  describe(`rule ${id}`, () => {
    const cases = ruleCases(id);
    it('has fixtures that fire it and fixtures that must not', () => {
      expect(cases.some((c) => c.reports.length > 0)).toBe(true);
      expect(cases.some((c) => c.reports.length === 0)).toBe(true);
    });
    for (const c of cases) {
      it(`${c.name}: ${c.description}`, async () => {
        const snapshot = await loadCase(c);
        const got = runRule(rule, snapshot, c.options);
        const summary = got.map((r) => `${r.messageId} ${r.file}:${r.line} ${r.message}`);
        // a possible finding says what it rests on: an assumption, or an undecided step
        for (const r of got)
          if (r.descriptor.certainty === 'possible')
            expect(
              (r.descriptor.assumptions ?? []).length > 0 ||
                (r.descriptor.trace ?? []).some((step) => step.uncertain),
              `possible with no reason given: ${r.message}`,
            ).toBe(true);
        if (c.reports.length === 0) {
          expect(summary).toEqual([]);
          return;
        }
        expect(got.length, summary.join('\n')).toBe(c.reports.length);
        for (const want of c.reports) {
          const match = got.find(
            (r) =>
              r.messageId === want.messageId &&
              (want.file === undefined || r.file === want.file) &&
              (want.line === undefined || r.line === want.line) &&
              (want.message === undefined || r.message === want.message),
          );
          expect(
            match,
            `expected ${JSON.stringify(want)} among\n${summary.join('\n')}`,
          ).toBeDefined();
          if (match === undefined) continue;
          if (want.witness === null) expect(match.descriptor.witness ?? null).toBeNull();
          else if (want.witness !== undefined) {
            expect(match.descriptor.witness).toMatchObject(want.witness);
          }
          if (want.traceLines !== undefined) {
            const passed = (match.descriptor.trace ?? []).map((s) => s.line);
            for (const line of want.traceLines) expect(passed, match.message).toContain(line);
          }
          if (want.noTrace === true) expect(match.descriptor.trace ?? []).toEqual([]);
          if (want.certainty !== undefined) {
            expect(match.descriptor.certainty ?? 'certain', match.message).toBe(want.certainty);
          }
          if (want.related !== undefined) {
            expect((match.descriptor.related ?? []).map((r) => r.location.line)).toEqual(
              want.related,
            );
          }
        }
      });
    }
  });
}
