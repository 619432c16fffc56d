/**
 * Lines where reading the input failed (error diagnostics). A rule there may have lost an option
 * it really has, so analyses never take it to cover or hide another rule.
 */
import type { Rule } from '../model/ruleset.ts';
import type { Snapshot } from '../model/snapshot.ts';

export function damagedLines(snapshot: Snapshot): Set<string> {
  return new Set(
    snapshot.diagnostics
      .filter((d) => d.severity === 'error')
      .map((d) => `${d.location.file}:${d.location.line}`),
  );
}

export function isDamaged(rule: Rule, damaged: ReadonlySet<string>): boolean {
  return damaged.has(`${rule.location.file}:${rule.location.line}`);
}
