/**
 * Detail views and traces as plain lines of styled text. Kept apart from ink so the reducer can
 * clamp scrolling to the real length and tests can read the content without rendering.
 */
import type { Finding } from '../model/audit.ts';
import type { Diagnostic, Severity } from '../model/diagnostic.ts';
import type { Trace, TraceStep } from '../model/trace.ts';
import {
  decidingStep,
  findingObject,
  formatLocation,
  formatPacket,
  ruleBody,
  traceSummary,
} from './format.ts';
import type { ContainerRow } from './view-model.ts';

export type Tone = 'title' | 'label' | 'dim' | 'highlight' | 'good' | 'bad' | Severity;

export interface Segment {
  readonly text: string;
  readonly tone?: Tone;
}

export type Line = readonly Segment[];

const blank: Line = [];
const LABEL = 11;

/** Word-wraps text to `width` columns (a word longer than a line is cut). */
export function wrapText(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/ +/)) {
    let w = word;
    while (w.length > width) {
      if (line !== '') {
        out.push(line);
        line = '';
      }
      out.push(w.slice(0, width));
      w = w.slice(width);
    }
    if (line === '') line = w;
    else if (line.length + 1 + w.length <= width) line += ` ${w}`;
    else {
      out.push(line);
      line = w;
    }
  }
  if (line !== '' || out.length === 0) out.push(line);
  return out;
}

/** Prose that wraps: a paragraph, or a labelled value continued under its value column. */
function prose(width: number, text: string, label?: string, tone?: Tone): Line[] {
  const indent = label === undefined ? 0 : LABEL;
  const parts = wrapText(text, Math.max(10, width - indent - 2));
  return parts.map((part, i) => {
    const value: Segment = tone === undefined ? { text: part } : { text: part, tone };
    if (label === undefined) return [value];
    const head = i === 0 ? `${label.padEnd(LABEL - 1)} ` : ' '.repeat(LABEL);
    return [{ text: head, tone: 'label' }, value];
  });
}

function labelled(label: string, value: string, tone?: Tone): Line {
  return [
    { text: `${label.padEnd(LABEL - 1)} `, tone: 'label' },
    tone === undefined ? { text: value } : { text: value, tone },
  ];
}

export function traceHeader(): Line {
  return [
    {
      text: `${'#'.padStart(3)} ${'table/chain'.padEnd(26)} ${'rule'.padStart(4)} ${'line'.padStart(5)} ${'action'.padEnd(24)} rule`,
      tone: 'label',
    },
  ];
}

function stepLine(step: TraceStep, n: number, deciding: boolean): Line {
  const marker = deciding ? '▶' : ' ';
  const rule = step.rule === null ? '-' : `#${step.rule}`;
  const line = step.line === null ? '-' : String(step.line);
  const uncertain = step.uncertain ? ' ?' : '';
  const where = `${step.table}/${step.chain}`;
  const text =
    `${marker}${String(n).padStart(2)} ${where.slice(0, 26).padEnd(26)} ${rule.padStart(4)} ` +
    `${line.padStart(5)} ${(step.action + uncertain).slice(0, 24).padEnd(24)} ` +
    ruleBody(step.ruleText, step.chain);
  const tone: Tone | null = deciding ? 'highlight' : step.uncertain ? 'warning' : null;
  return [tone === null ? { text } : { text, tone }];
}

/**
 * The step-by-step table of a trace, under a heading for each hook the packet passes; the step
 * that decided the verdict is marked ▶.
 */
export function stepLines(steps: readonly TraceStep[]): Line[] {
  if (steps.length === 0) return [[{ text: '(no steps recorded)', tone: 'dim' }]];
  const deciding = decidingStep(steps);
  const lines: Line[] = [traceHeader()];
  let hook: string | null = null;
  steps.forEach((s, i) => {
    if (s.hook !== hook) {
      hook = s.hook;
      lines.push([{ text: `   ${hook}`, tone: 'title' }]);
    }
    lines.push(stepLine(s, i + 1, i === deciding));
  });
  return lines;
}

export function traceLines(trace: Trace): Line[] {
  const verdictTone: Tone = trace.verdict === 'accepted' ? 'bad' : 'good';
  const lines: Line[] = [
    labelled('Packet', formatPacket(trace.packet)),
    labelled('Verdict', traceSummary(trace), verdictTone),
  ];
  if (trace.uncertainRules.length > 0) {
    lines.push(
      labelled('Uncertain', `unmodelled matches in ${trace.uncertainRules.join(', ')}`, 'warning'),
    );
  }
  for (const a of trace.assumptions) lines.push(labelled('Assumed', a, 'warning'));
  lines.push(blank, ...stepLines(trace.steps));
  const decided = trace.steps[decidingStep(trace.steps)];
  if (decided?.file !== null && decided?.file !== undefined && decided.line !== null) {
    lines.push(
      blank,
      labelled(
        'Decided by',
        `${decided.file}:${decided.line}  ${decided.ruleText || decided.action}`,
        'highlight',
      ),
    );
  }
  return lines;
}

export function findingLines(f: Finding, doc: string | null, width = 100): Line[] {
  const lines: Line[] = [
    [
      { text: f.severity.toUpperCase(), tone: f.severity },
      { text: `  ${f.ruleId}`, tone: 'title' },
      { text: f.certainty === 'certain' ? '  certain' : '  possible', tone: 'dim' },
    ],
    ...prose(width, f.message),
    blank,
    ...prose(
      width,
      doc ?? '(no documentation found for this rule)',
      'Rule',
      doc === null ? 'dim' : undefined,
    ),
    labelled('About', findingObject(f) || '-'),
    labelled('Where', formatLocation(f.location)),
    ...(f.assumptions ?? []).flatMap((a) => prose(width, a, 'Assumed', 'dim')),
  ];
  if (f.suppressed !== undefined) {
    const until = f.suppressed.expires === undefined ? '' : ` (until ${f.suppressed.expires})`;
    lines.push(labelled('Suppressed', `${f.suppressed.reason}${until}`, 'dim'));
  }
  for (const r of f.related)
    lines.push(...prose(width, `${formatLocation(r.location)}  ${r.message}`, 'Related'));
  lines.push(blank);
  lines.push(
    labelled(
      'Witness',
      f.witness === null ? '(none: this finding is not about a packet)' : formatPacket(f.witness),
    ),
  );
  if (f.trace.length > 0) {
    lines.push(blank, [{ text: 'Trace', tone: 'title' }], ...stepLines(f.trace));
    const decided = f.trace[decidingStep(f.trace)];
    if (decided !== undefined && decided.file !== null && decided.line !== null) {
      lines.push(
        blank,
        labelled(
          'Decided by',
          `${decided.file}:${decided.line}  ${decided.ruleText || decided.action}`,
          'highlight',
        ),
      );
    }
  }
  return lines;
}

export function containerLines(row: ContainerRow): Line[] {
  const c = row.container;
  const lines: Line[] = [
    [
      { text: c.name, tone: 'title' },
      { text: `  ${c.image}  ${c.running ? 'running' : 'stopped'}`, tone: 'dim' },
    ],
    labelled('Mode', row.mode),
    labelled('Networks', row.networks.length === 0 ? '(none)' : row.networks.join(', ')),
    labelled('Published', row.ports.length === 0 ? '(none)' : row.ports.join(', ')),
    labelled('Defined', formatLocation(c.location)),
    blank,
    [{ text: `Findings (${row.findings.length})`, tone: 'title' }],
  ];
  if (row.findings.length === 0)
    lines.push([{ text: 'no findings about this container', tone: 'dim' }]);
  for (const f of row.findings) {
    lines.push([
      { text: f.severity.padEnd(8), tone: f.severity },
      { text: `${f.ruleId}  `, tone: 'title' },
      { text: f.message },
    ]);
  }
  return lines;
}

export function diagnosticLines(d: Diagnostic, width = 100): Line[] {
  const where = `${d.location.file}:${d.location.line}:${d.location.column}`;
  const lines: Line[] = [
    [
      { text: d.severity.toUpperCase(), tone: d.severity },
      { text: `  ${d.code}`, tone: 'title' },
    ],
    ...prose(width, d.message),
    blank,
    labelled('Where', where),
  ];
  if (d.hint !== undefined) lines.push(...prose(width, d.hint, 'Hint'));
  return lines;
}
