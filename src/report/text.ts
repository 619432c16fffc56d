/**
 * The text report a person reads first: a summary line, the exposure table, findings by severity
 * with location, witness and a short trace, then input diagnostics and assumptions. Colour only
 * when the caller says the output is a terminal and NO_COLOR is unset. Every string from the
 * result passes through safeText (describe.ts does it for what it writes) before it is painted.
 */
import type { AuditResult, Exposure, Finding } from '../model/audit.ts';
import type { Diagnostic, Severity } from '../model/diagnostic.ts';
import { safeText } from '../model/safe-text.ts';
import {
  describeEra,
  describeDestination,
  describeFrom,
  describeLocation,
  describePacket,
  describeTarget,
  plural,
  shortTrace,
  unanalysedFamilies,
} from './describe.ts';

export interface TextOptions {
  readonly color: boolean;
  /** Terminal width for wrapping the table; default 100. */
  readonly width?: number;
  /** Show suppressed findings too (default: only counted). */
  readonly showSuppressed?: boolean;
}

export interface Paint {
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  green(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

export function paint(color: boolean): Paint {
  const wrap =
    (open: number, close: number) =>
    (s: string): string =>
      color ? `\u001B[${open}m${s}\u001B[${close}m` : s;
  return {
    red: wrap(31, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
    green: wrap(32, 39),
    bold: wrap(1, 22),
    dim: wrap(2, 22),
  };
}

/** Whether to colour: a TTY, and NO_COLOR unset or empty (https://no-color.org). */
export function shouldColor(
  isTty: boolean | undefined,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  const noColor = env['NO_COLOR'];
  if (noColor !== undefined && noColor !== '') return false;
  return isTty === true;
}

function severityLabel(p: Paint, s: Severity): string {
  const label = s.padEnd(7);
  return s === 'error' ? p.red(p.bold(label)) : s === 'warning' ? p.yellow(label) : p.cyan(label);
}

/**
 * Widest a column is padded to. A longer cell is written whole and pushes the rest of its own
 * row right: one long cell (a big host's port list) padding every row to its width made the
 * 104k-rule host's table 84 MB of blanks.
 */
const COLUMN_LIMIT = 60;

function table(rows: readonly string[][], p: Paint, header: readonly string[]): string[] {
  const widths = header.map((h) => Math.min(h.length, COLUMN_LIMIT));
  for (const r of rows) {
    for (let i = 0; i < widths.length; i++) {
      const n = (r[i] ?? '').length;
      if (n > (widths[i] ?? 0) && n <= COLUMN_LIMIT) widths[i] = n;
    }
  }
  const line = (r: readonly string[]): string =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [`  ${p.dim(line(header))}`];
  for (const r of rows) out.push(`  ${line(r)}`);
  return out;
}

function exposureRows(exposures: readonly Exposure[]): string[][] {
  return exposures.map((e) => [
    describeDestination(e),
    describeTarget(e),
    describeFrom(e.reachableFrom),
    e.certainty,
  ]);
}

/** The exposure table: where a client sends, what that reaches, from where, how certain. */
export function exposureTable(exposures: readonly Exposure[], p: Paint): string[] {
  return table(exposureRows(exposures), p, ['SENT TO', 'REACHES', 'FROM', 'CERTAINTY']);
}

/** How many of the possible rows' own assumptions the text report lists. */
const ROW_ASSUMPTIONS = 8;

/**
 * What the possible rows of the exposure table rest on beyond the snapshot's own assumptions
 * (listed at the end): each once, in table order, the first few.
 */
function rowAssumptions(result: AuditResult): { shown: string[]; more: number } {
  const said = new Set(result.snapshot.assumptions.map((a) => a.text));
  const all = new Set<string>();
  for (const e of result.exposures)
    if (e.certainty === 'possible') for (const a of e.assumptions) if (!said.has(a)) all.add(a);
  const list = [...all];
  return {
    shown: list.slice(0, ROW_ASSUMPTIONS),
    more: Math.max(0, list.length - ROW_ASSUMPTIONS),
  };
}

const INDENT = '        ';

/** Word-wraps `text` to `width` columns, every line indented (long words are left whole). */
export function wrap(text: string, width: number, indent = INDENT): string[] {
  const room = Math.max(20, width - indent.length);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > room) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

export function findingBlock(f: Finding, p: Paint, width: number): string[] {
  const lines = [
    `${severityLabel(p, f.severity)} ${p.bold(safeText(f.ruleId))}  ${p.dim(describeLocation(f.location))}${f.certainty === 'possible' ? p.dim('  (possible)') : ''}`,
    ...wrap(safeText(f.message), width),
  ];
  for (const a of f.assumptions ?? []) {
    // wrapped under its label, as the message is
    const [first = '', ...more] = wrap(safeText(a), width, ' '.repeat(17));
    lines.push(`        ${p.dim('assumed:')}${first.slice(16)}`, ...more);
  }
  if (f.witness !== null) lines.push(`        ${p.dim('witness:')} ${describePacket(f.witness)}`);
  const trace = shortTrace(f.trace);
  if (trace.length > 0) {
    lines.push(`        ${p.dim('trace:')}   ${trace[0] ?? ''}`);
    for (const step of trace.slice(1)) lines.push(`                 ${p.dim('→')} ${step}`);
  }
  for (const r of f.related) {
    lines.push(`        ${p.dim(`${safeText(r.message)}: ${describeLocation(r.location)}`)}`);
  }
  if (f.suppressed !== undefined) {
    lines.push(
      `        ${p.dim(safeText(`ignored: ${f.suppressed.reason}${f.suppressed.expires === undefined ? '' : ` (until ${f.suppressed.expires})`}`))}`,
    );
  }
  return lines;
}

function diagnosticLine(d: Diagnostic, p: Paint, width: number): string[] {
  const out = [
    `${severityLabel(p, d.severity)} ${safeText(d.code)}  ${p.dim(describeLocation(d.location))}`,
    ...wrap(safeText(d.message), width),
  ];
  if (d.hint !== undefined) out.push(...wrap(safeText(d.hint), width).map((l) => p.dim(l)));
  return out;
}

export function summaryLine(result: AuditResult): string {
  const f = result.summary.findings;
  const parts = [
    plural(f.error, 'error'),
    plural(f.warning, 'warning'),
    plural(f.note, 'note'),
    plural(result.summary.exposures, 'exposure'),
  ];
  const d = result.summary.diagnostics;
  const diag = d.error + d.warning + d.note;
  if (diag > 0) parts.push(plural(diag, 'input diagnostic'));
  if ((result.summary.suppressed ?? 0) > 0) parts.push(`${result.summary.suppressed ?? 0} ignored`);
  if ((result.summary.baselined ?? 0) > 0)
    parts.push(`${result.summary.baselined ?? 0} in baseline`);
  return parts.join(', ');
}

export function formatText(result: AuditResult, options: TextOptions): string {
  const p = paint(options.color);
  const width = Math.min(Math.max(options.width ?? 100, 60), 120);
  const out: string[] = [];
  const where = safeText(
    result.snapshot.directory ??
      result.snapshot.files.find((f) => f.status === 'read')?.path ??
      'snapshot',
  );
  out.push(
    `${p.bold('dockwall audit')} ${where} — ${describeEra(result.snapshot.era)}, ${plural(result.summary.containers, 'container')}`,
  );
  const f = result.summary.findings;
  const d = result.summary.diagnostics;
  if (result.diagnostics.some((x) => x.code === 'no-ruleset')) {
    out.push(`${p.red('✖')} ${p.bold('no ruleset could be read — nothing was analysed')}`, '');
  } else {
    const mark =
      f.error > 0 || d.error > 0 ? p.red('✖') : f.warning > 0 ? p.yellow('▲') : p.green('✔');
    out.push(`${mark} ${summaryLine(result)}`, '');
  }

  out.push(p.bold('Exposures') + p.dim(' — what a client outside this host reaches'));
  const tooFine = result.diagnostics.some((d) => d.code === 'discovery-limit');
  if (result.exposures.length === 0) {
    const engineMissing = result.diagnostics.some(
      (d) => d.code === 'rule-skipped' || d.code === 'engine-error',
    );
    const unread = result.diagnostics.some((d) => d.code === 'no-ruleset');
    out.push(
      unread
        ? '  (not analysed: no ruleset)'
        : engineMissing
          ? '  (not computed: the packet engine did not run)'
          : tooFine
            ? '  (not listed: more distinct addresses than the table lists, see discovery-limit)'
            : '  none',
    );
  } else {
    // a loop, not push(...rows): a spread of a big host's rows overflows the stack
    for (const l of exposureTable(result.exposures, p)) out.push(l);
    if (tooFine)
      out.push(
        `  ${p.yellow('(incomplete: part of the table holds more distinct addresses than it lists, see discovery-limit)')}`,
      );
    const restOn = rowAssumptions(result);
    if (restOn.shown.length > 0) {
      out.push(`  ${p.dim('possible rows rest on:')}`);
      for (const a of restOn.shown) out.push(`    - ${safeText(a)}`);
      if (restOn.more > 0)
        out.push(`    - … and ${restOn.more} more (--format json lists each row's)`);
    }
  }
  for (const missing of unanalysedFamilies(result)) out.push(`  ${p.yellow(`(${missing})`)}`);
  out.push('');

  const shown = result.findings.filter(
    (x) => options.showSuppressed === true || x.suppressed === undefined,
  );
  out.push(p.bold('Findings'));
  if (shown.length === 0) out.push('  none');
  for (const finding of shown) out.push(...findingBlock(finding, p, width), '');
  if (shown.length > 0) out.pop();

  if (result.diagnostics.length > 0) {
    out.push(
      '',
      p.bold('Input diagnostics') +
        p.dim(' — parts of the snapshot that could not be fully read or modelled'),
    );
    for (const d of result.diagnostics) out.push(...diagnosticLine(d, p, width));
  }
  if (result.snapshot.assumptions.length > 0) {
    out.push('', p.bold('Assumptions'));
    for (const a of result.snapshot.assumptions) out.push(`  - ${safeText(a.text)}`);
  }
  return `${out.join('\n')}\n`;
}
