/**
 * Findings one analysis has and another has not: what `dockwall diff` lists as new and fixed.
 * Suppressed findings are left out. A finding's identity across the two is its fingerprint with
 * the file named by its role in the snapshot (`old.rules` and `new.rules` are both the iptables
 * ruleset), so two differently named ruleset files compare as two versions of one.
 */
import type { AuditResult, Finding } from '../model/audit.ts';
import type { FindingChanges } from '../model/diff.ts';
import { fileKey, fingerprint } from './fingerprint.ts';

function keyed(result: AuditResult): { finding: Finding; key: string }[] {
  const roles = new Map(result.snapshot.files.map((f) => [f.path, f.role]));
  return result.findings
    .filter((f) => f.suppressed === undefined)
    .map((finding) => {
      const file = roles.get(finding.location.file) ?? fileKey(finding.location.file);
      return { finding, key: fingerprint(finding.ruleId, finding.object, file) };
    });
}

/** The findings of `a` that `b` has not. */
function missingFrom(
  a: readonly { finding: Finding; key: string }[],
  b: readonly { key: string }[],
): Finding[] {
  const keys = new Set(b.map((x) => x.key));
  return a.filter((x) => !keys.has(x.key)).map((x) => x.finding);
}

export function findingChanges(before: AuditResult, after: AuditResult): FindingChanges {
  const b = keyed(before);
  const a = keyed(after);
  return { new: missingFrom(a, b), fixed: missingFrom(b, a) };
}
