/**
 * The exit-code policy: 0 when nothing is at or above `--fail-on`, 1 when something is, 2 when
 * the input could not be analysed at all (no ruleset) — never a clean pass on unreadable input.
 * Suppressed findings never fail a run; diagnostics count at their severity, because an input
 * line that could not be read is analysis that did not happen.
 */
import type { AuditResult } from '../model/audit.ts';
import type { Diagnostic, Severity } from '../model/diagnostic.ts';
import type { FailOn } from '../lint/config-types.ts';

const RANK: Readonly<Record<Severity, number>> = { error: 3, warning: 2, note: 1 };

/** Diagnostic codes that mean nothing (or nothing trustworthy) could be analysed. */
const FATAL = new Set(['no-ruleset', 'internal-error']);

export function atOrAbove(severity: Severity, threshold: FailOn): boolean {
  return threshold !== 'never' && RANK[severity] >= RANK[threshold];
}

/** Whether the diagnostics say nothing (trustworthy) could be analysed: exit 2. */
export function unanalysable(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => FATAL.has(d.code));
}

export function exitCode(result: AuditResult, failOn: FailOn): 0 | 1 | 2 {
  if (unanalysable(result.diagnostics)) return 2;
  const failing =
    result.findings.some((f) => f.suppressed === undefined && atOrAbove(f.severity, failOn)) ||
    result.diagnostics.some((d) => atOrAbove(d.severity, failOn));
  return failing ? 1 : 0;
}
