/**
 * `dockwall diff` output: text, Markdown (a pull-request comment), JSON and SARIF, and the exit
 * code policy.
 */
import { exposureObject } from '../analysis/exposure-object.ts';
import { fingerprint } from '../lint/fingerprint.ts';
import type { FailOn } from '../lint/config-types.ts';
import type { RuleModule } from '../lint/rule.ts';
import type { AuditResult, Exposure, Finding } from '../model/audit.ts';
import type { Severity } from '../model/diagnostic.ts';
import type { DiffResult } from '../model/diff.ts';
import { safeJson, safeText } from '../model/safe-text.ts';
import {
  describeDestination,
  describeFrom,
  describeLocation,
  describePacket,
  describeTarget,
  shortTrace,
} from './describe.ts';
import { atOrAbove, unanalysable } from './exit-code.ts';
import { mdCode, mdEscape } from './markdown.ts';
import type { RuleEntry } from './sarif.ts';
import { formatSarif, INFO_URI } from './sarif.ts';
import type { Paint } from './text.ts';
import { exposureTable, findingBlock, paint, wrap } from './text.ts';

/**
 * 2 when a side could not be analysed; 1 when anything is gained, a new finding is at or above
 * `failOn`, or an input diagnostic of either side is (a line not read may hide what it opens);
 * `never` passes whatever changed.
 */
export function diffExitCode(result: DiffResult, failOn: FailOn): 0 | 1 | 2 {
  if (unanalysable(result.diagnostics)) return 2;
  if (failOn === 'never') return 0;
  const failing =
    result.gained.length > 0 ||
    result.findings.new.some((f) => atOrAbove(f.severity, failOn)) ||
    result.diagnostics.some((d) => atOrAbove(d.severity, failOn));
  return failing ? 1 : 0;
}

function summaryLine(r: DiffResult): string {
  const s = r.summary;
  return [
    `${s.gained} gained`,
    `${s.lost} lost`,
    `${s.newFindings} new finding(s)`,
    `${s.fixedFindings} fixed`,
  ].join(', ');
}

function exposureBlock(e: Exposure, p: Paint, width: number): string[] {
  const lines = [`  ${p.bold(describeDestination(e))} → ${describeTarget(e)}`];
  lines.push(...wrap(`from ${describeFrom(e.reachableFrom)} (${e.certainty})`, width));
  lines.push(`        ${p.dim('witness:')} ${describePacket(e.witness)}`);
  const trace = shortTrace(e.trace);
  if (trace.length > 0) {
    lines.push(`        ${p.dim('trace:')}   ${trace[0] ?? ''}`);
    for (const step of trace.slice(1)) lines.push(`                 ${p.dim('→')} ${step}`);
  }
  return lines;
}

export function formatDiffText(r: DiffResult, options: { color: boolean; width?: number }): string {
  const p = paint(options.color);
  const width = Math.min(Math.max(options.width ?? 100, 60), 120);
  const name = (d: string | null) => safeText(d ?? 'snapshot');
  const out = [
    `${p.bold('dockwall diff')} ${name(r.before.directory)} → ${name(r.after.directory)}`,
    `${r.gained.length > 0 ? p.red('✖') : p.green('✔')} ${summaryLine(r)}`,
    '',
  ];
  for (const note of r.notes) out.push(...wrap(safeText(note), width, '  '), '');
  const section = (title: string, hint: string, rows: readonly Exposure[]) => {
    out.push(p.bold(title) + p.dim(hint));
    if (rows.length === 0) out.push('  none');
    else {
      for (const l of exposureTable(rows, p)) out.push(l);
      out.push('');
      for (const e of rows) out.push(...exposureBlock(e, p, width), '');
      out.pop();
    }
    out.push('');
  };
  section('Gained', ' — reachable from outside after the change, not before', r.gained);
  section('Lost', ' — reachable before the change, not after', r.lost);
  const findings = (title: string, list: readonly Finding[]) => {
    out.push(p.bold(title));
    if (list.length === 0) out.push('  none');
    for (const f of list) out.push(...findingBlock(f, p, width), '');
    if (list.length > 0) out.pop();
    out.push('');
  };
  findings('New findings', r.findings.new);
  findings('Fixed findings', r.findings.fixed);
  if (r.diagnostics.length > 0) {
    out.push(p.bold('Input diagnostics'));
    for (const d of r.diagnostics) {
      out.push(`  ${safeText(d.severity)} ${safeText(d.code)}  ${describeLocation(d.location)}`);
      out.push(...wrap(safeText(d.message), width));
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

export function formatDiffMarkdown(r: DiffResult): string {
  const out = [
    `# dockwall diff: ${mdEscape(r.before.directory ?? 'before')} → ${mdEscape(r.after.directory ?? 'after')}`,
    '',
    `**${summaryLine(r)}**`,
    '',
  ];
  for (const note of r.notes) out.push(mdEscape(note), '');
  const section = (title: string, rows: readonly Exposure[]) => {
    out.push(`## ${title}`, '');
    if (rows.length === 0) {
      out.push('None.', '');
      return;
    }
    out.push('| Sent to | Reaches | From | Certainty | Witness |', '|---|---|---|---|---|');
    for (const e of rows) {
      out.push(
        `| ${mdCode(describeDestination(e))} | ${mdEscape(describeTarget(e))} | ${mdEscape(describeFrom(e.reachableFrom))} | ${e.certainty} | ${mdCode(describePacket(e.witness))} |`,
      );
    }
    out.push('');
    for (const e of rows) {
      out.push(`<details><summary>trace of ${mdCode(describePacket(e.witness))}</summary>`, '');
      for (const step of shortTrace(e.trace, 12)) out.push(`1. ${mdCode(step)}`);
      out.push('', '</details>', '');
    }
  };
  section('Gained — reachable after, not before', r.gained);
  section('Lost — reachable before, not after', r.lost);
  for (const [title, list] of [
    ['New findings', r.findings.new],
    ['Fixed findings', r.findings.fixed],
  ] as const) {
    out.push(`## ${title}`, '');
    if (list.length === 0) out.push('None.');
    for (const f of list) {
      out.push(
        `- **${f.severity}** ${mdCode(f.ruleId)} at ${mdCode(describeLocation(f.location))}: ${mdEscape(f.message)}`,
      );
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

export function formatDiffJson(r: DiffResult): string {
  return `${safeJson(r)}\n`;
}

export const EXPOSURE_GAINED = 'exposure-gained';
export const EXPOSURE_LOST = 'exposure-lost';

const DIFF_RULES: readonly RuleEntry[] = [
  {
    id: EXPOSURE_GAINED,
    description: 'Reachable from outside the host after the change and not before',
    level: 'error',
    helpUri: `${INFO_URI}/blob/main/docs/diff.md`,
    help: 'Check that the change means to open this; the witness packet and its trace show the path.',
    tags: ['security', 'firewall', 'diff'],
  },
  {
    id: EXPOSURE_LOST,
    description: 'Reachable from outside the host before the change and not after',
    level: 'note',
    helpUri: `${INFO_URI}/blob/main/docs/diff.md`,
    help: 'Check that the change means to close this.',
    tags: ['firewall', 'diff'],
  },
];

/** An exposure change as a SARIF result: located at the rule that lets the witness through. */
function asFinding(e: Exposure, ruleId: string, level: Severity, fallback: string): Finding {
  const step = [...e.trace].reverse().find((s) => s.file !== null && s.line !== null);
  const location = { file: step?.file ?? fallback, line: step?.line ?? 1, column: 1 };
  const verb = ruleId === EXPOSURE_GAINED ? 'now reaches' : 'no longer reaches';
  return {
    ruleId,
    severity: level,
    message: `${describeDestination(e)} ${verb} ${describeTarget(e)} from ${describeFrom(e.reachableFrom)}.`,
    location,
    object: exposureObject(e),
    certainty: e.certainty,
    witness: e.witness,
    trace: e.trace,
    related: [],
    fingerprint: fingerprint(ruleId, exposureObject(e), location.file),
  };
}

export function formatDiffSarif(
  r: DiffResult,
  after: AuditResult,
  rules: Readonly<Record<string, RuleModule>>,
): string {
  const file = after.snapshot.files.find((f) => f.status === 'read')?.path ?? 'snapshot';
  const findings = [
    ...r.gained.map((e) => asFinding(e, EXPOSURE_GAINED, 'error', file)),
    ...r.lost.map((e) => asFinding(e, EXPOSURE_LOST, 'note', file)),
    ...r.findings.new,
  ];
  return formatSarif({ ...after, findings, diagnostics: r.diagnostics }, rules, DIFF_RULES);
}
