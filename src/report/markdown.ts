/**
 * Markdown report for pull-request comments and wikis: summary, exposure table, findings with
 * witness and trace in collapsible details, diagnostics.
 */
import type { AuditResult } from '../model/audit.ts';
import { ruleDocsUrl } from '../lint/rule.ts';
import { safeText } from '../model/safe-text.ts';
import {
  describeEra,
  describeDestination,
  describeFrom,
  describeLocation,
  describePacket,
  describeTarget,
  shortTrace,
  unanalysedFamilies,
} from './describe.ts';
import { summaryLine } from './text.ts';

/**
 * Input text made safe for Markdown: control characters escaped and long text clipped
 * (safeText), then the characters that break a table cell or inline formatting.
 */
export function mdEscape(text: string): string {
  return safeText(text)
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/([*_`[\]<>])/g, '\\$1');
}

/**
 * Input text as an inline code span: escaped and clipped, fenced with more backticks than it
 * holds in a row, so a backtick in a name cannot end the span and start Markdown of its own.
 */
export function mdCode(text: string): string {
  const safe = safeText(text);
  const longest = Math.max(0, ...(safe.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = safe.startsWith('`') || safe.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${safe}${pad}${fence}`;
}

export function formatMarkdown(result: AuditResult, knownRules: ReadonlySet<string>): string {
  const out: string[] = [];
  const where = result.snapshot.directory ?? 'snapshot';
  out.push(`# dockwall audit: ${mdEscape(where)}`, '');
  out.push(
    `${describeEra(result.snapshot.era)}, ${result.summary.containers} container(s). **${summaryLine(result)}**`,
    '',
  );

  out.push('## Exposures', '');
  if (result.exposures.length === 0) out.push('None.', '');
  else {
    out.push('| Sent to | Reaches | From | Certainty |', '|---|---|---|---|');
    for (const e of result.exposures) {
      out.push(
        `| ${mdCode(describeDestination(e))} | ${mdEscape(describeTarget(e))} | ${mdEscape(describeFrom(e.reachableFrom))} | ${e.certainty} |`,
      );
    }
    out.push('');
  }

  for (const missing of unanalysedFamilies(result)) out.push(`**${mdEscape(missing)}.**`, '');

  out.push('## Findings', '');
  const active = result.findings.filter((f) => f.suppressed === undefined);
  if (active.length === 0) out.push('None.', '');
  for (const f of active) {
    const rule = knownRules.has(f.ruleId)
      ? `[${mdCode(f.ruleId)}](${ruleDocsUrl(f.ruleId)})`
      : mdCode(f.ruleId);
    out.push(
      `- **${f.severity}** ${rule} at ${mdCode(describeLocation(f.location))}: ${mdEscape(f.message)}`,
    );
    for (const a of f.assumptions ?? []) out.push(`  - assumed: ${mdEscape(a)}`);
    if (f.witness !== null || f.trace.length > 0) {
      out.push('  <details><summary>witness and trace</summary>', '');
      if (f.witness !== null) out.push(`  Witness: ${mdCode(describePacket(f.witness))}`, '');
      for (const step of shortTrace(f.trace, 12)) out.push(`  1. ${mdCode(step)}`);
      out.push('', '  </details>');
    }
  }
  const ignored = result.findings.filter((f) => f.suppressed !== undefined);
  if (ignored.length > 0) {
    out.push('', `<details><summary>${ignored.length} ignored finding(s)</summary>`, '');
    for (const f of ignored) {
      out.push(
        `- ${mdCode(f.ruleId)} at ${mdCode(describeLocation(f.location))}: ${mdEscape(f.suppressed?.reason ?? '')}`,
      );
    }
    out.push('', '</details>');
  }
  if (result.diagnostics.length > 0) {
    out.push('', '## Input diagnostics', '');
    for (const d of result.diagnostics) {
      out.push(
        `- **${d.severity}** ${mdCode(d.code)} at ${mdCode(describeLocation(d.location))}: ${mdEscape(d.message)}`,
      );
    }
  }
  if (result.snapshot.assumptions.length > 0) {
    out.push('', '## Assumptions', '');
    for (const a of result.snapshot.assumptions) out.push(`- ${mdEscape(a.text)}`);
  }
  return `${out.join('\n')}\n`;
}
