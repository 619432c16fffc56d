/**
 * Ignores from the config: each names a rule and may narrow by container, port and chain; it
 * must carry a reason and may expire. Suppressed findings stay in the result (marked) so reports
 * can say what was silenced and why. An ignore that matches nothing, or has expired, is reported.
 */
import type { Finding } from '../model/audit.ts';
import type { Diagnostic } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { Ignore } from './config-types.ts';

export function ignoreMatches(ignore: Ignore, finding: Finding): boolean {
  if (ignore.rule !== finding.ruleId) return false;
  const o = finding.object;
  if (ignore.container !== undefined && ignore.container !== o.container) return false;
  if (ignore.port !== undefined && ignore.port !== o.port) return false;
  if (ignore.chain !== undefined && ignore.chain !== o.chain) return false;
  return true;
}

/** `today` is `YYYY-MM-DD` (passed in so runs are reproducible and tests deterministic). */
export function applyIgnores(
  findings: readonly Finding[],
  ignores: readonly Ignore[],
  today: string,
): { findings: Finding[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const active = ignores.filter((ig) => {
    if (ig.expires !== undefined && ig.expires < today) {
      diagnostics.push(
        diagnostic(
          'expired-ignore',
          'warning',
          `Ignore for '${ig.rule}' expired on ${ig.expires}; its findings are reported again.`,
          ig.location,
          'Fix the findings or renew the ignore with a new expiry date and reason.',
        ),
      );
      return false;
    }
    return true;
  });
  const used = new Set<Ignore>();
  const out = findings.map((f) => {
    const ig = active.find((candidate) => ignoreMatches(candidate, f));
    if (ig === undefined) return f;
    used.add(ig);
    const suppressed =
      ig.expires === undefined ? { reason: ig.reason } : { reason: ig.reason, expires: ig.expires };
    return { ...f, suppressed };
  });
  for (const ig of active) {
    if (used.has(ig)) continue;
    const narrowed = [
      ig.container === undefined ? null : `container ${ig.container}`,
      ig.port === undefined ? null : `port ${ig.port}`,
      ig.chain === undefined ? null : `chain ${ig.chain}`,
    ].filter((x): x is string => x !== null);
    diagnostics.push(
      diagnostic(
        'unused-ignore',
        'warning',
        `Ignore for '${ig.rule}'${narrowed.length > 0 ? ` (${narrowed.join(', ')})` : ''} matches no finding.`,
        ig.location,
        'Remove it, or correct the rule id, container, port or chain it names.',
      ),
    );
  }
  return { findings: out, diagnostics };
}
