import { describe, expect, it } from 'vitest';
import type { Action, ReviewState } from '../../src/tui/state.ts';
import {
  detailContent,
  initialState,
  inputMode,
  listHeight,
  reduce,
  tracerResultHeight,
  tracerResultLines,
} from '../../src/tui/state.ts';
import type { ReviewModel } from '../../src/tui/view-model.ts';
import { buildModel, chainRows, filterFindings } from '../../src/tui/view-model.ts';
import { KEY } from './keys.ts';
import { exposure, recordingTracer, sampleData, sampleFindings } from './sample.ts';

const SIZE = { columns: 100, rows: 20 };

function run(model: ReviewModel, actions: Action[], start?: ReviewState): ReviewState {
  return actions.reduce((s, a) => reduce(model, s, a), start ?? initialState(model, SIZE));
}

const key = (k: keyof typeof KEY, input = ''): Action => ({ type: 'key', input, key: KEY[k] });
const type = (text: string): Action => ({ type: 'key', input: text, key: KEY.plain });

describe('findings list', () => {
  const model = buildModel(sampleData());

  it('sorts findings by severity and moves with arrows and j/k, clamped at the ends', () => {
    expect(model.findings.map((f) => f.severity)).toEqual(['error', 'warning', 'note']);
    let s = run(model, [key('down'), type('j')]);
    expect(s.scroll.findings.cursor).toBe(2);
    s = run(model, [key('down'), key('down')], s);
    expect(s.scroll.findings.cursor).toBe(2);
    s = run(model, [type('k'), key('up'), key('up')], s);
    expect(s.scroll.findings.cursor).toBe(0);
  });

  it('toggles severities and keeps the cursor inside the shorter list', () => {
    let s = run(model, [type('G')]);
    expect(s.scroll.findings.cursor).toBe(2);
    s = run(model, [type('n')], s);
    expect(s.filter.severities).toEqual(['error', 'warning']);
    expect(filterFindings(model, s.filter)).toHaveLength(2);
    expect(s.scroll.findings.cursor).toBe(1);
    s = run(model, [type('x')], s);
    expect(filterFindings(model, s.filter)).toHaveLength(3);
  });

  it('filters by text typed after /, and Esc abandons the draft', () => {
    let s = run(model, [type('/')]);
    expect(inputMode(s)).toBe('text');
    // In text mode, letters that are commands elsewhere (q, j, n) are text.
    s = run(model, [type('d'), type('o'), type('c'), type('q'), key('backspace')], s);
    expect(s.filterDraft).toBe('doc');
    expect(s.quit).toBe(false);
    s = run(model, [key('enter')], s);
    expect(s.filter.text).toBe('doc');
    expect(filterFindings(model, s.filter).map((f) => f.ruleId)).toEqual([
      'docker-user-ineffective',
    ]);
    s = run(model, [type('/'), type('zzz'), key('escape')], s);
    expect(s.filter.text).toBe('doc');
    expect(s.filterDraft).toBeNull();
  });

  it('opens the selected finding with Enter and closes it with Esc', () => {
    let s = run(model, [key('down'), key('enter')]);
    expect(s.detail).toEqual({ kind: 'finding', finding: model.findings[1] });
    expect(inputMode(s)).toBe('detail');
    s = run(model, [key('escape')], s);
    expect(s.detail).toBeNull();
  });

  it('scrolls a long list so the cursor stays visible, and pages by the list height', () => {
    const big = buildModel(sampleData({ findings: sampleFindings(500) }));
    const height = listHeight(initialState(big, SIZE));
    let s = run(big, [key('pageDown')]);
    expect(s.scroll.findings.cursor).toBe(height);
    const { cursor, offset } = s.scroll.findings;
    // The cursor's row (findings + up to 3 group headers) lies within the window.
    expect(cursor + 3).toBeGreaterThanOrEqual(offset);
    expect(cursor).toBeLessThan(offset + height);
    s = run(big, [type('G')], s);
    expect(s.scroll.findings.cursor).toBe(502);
    expect(s.scroll.findings.offset).toBe(503 + 3 - height);
  });

  it('re-places the cursor when the terminal shrinks', () => {
    const big = buildModel(sampleData({ findings: sampleFindings(100) }));
    let s = run(big, [type('G')]);
    s = reduce(big, s, { type: 'resize', columns: 80, rows: 8 });
    expect(listHeight(s)).toBe(4);
    expect(s.scroll.findings.offset).toBe(106 - 4);
  });
});

describe('panes and overlays', () => {
  const model = buildModel(sampleData());

  it('cycles panes with Tab and jumps with digits; ? toggles help; q quits', () => {
    let s = run(model, [key('tab'), key('tab')]);
    expect(s.pane).toBe('chains');
    s = run(model, [type('5')], s);
    expect(s.pane).toBe('tracer');
    s = run(model, [key('tab')], s);
    expect(s.pane).toBe('diagnostics');
    s = run(model, [key('tab')], s);
    expect(s.pane).toBe('findings');
    s = run(model, [type('?')], s);
    expect(s.help).toBe(true);
    // Help swallows navigation.
    s = run(model, [key('down'), key('tab')], s);
    expect(s.pane).toBe('findings');
    expect(s.scroll.findings.cursor).toBe(0);
    s = run(model, [key('escape'), type('q')], s);
    expect(s.help).toBe(false);
    expect(s.quit).toBe(true);
  });

  it('scrolls a detail view no further than its content', () => {
    let s = run(model, [key('enter')]);
    const lines = detailContent(model, s.detail ?? { kind: 'container', index: 0 }).length;
    s = run(
      model,
      Array.from({ length: 40 }, () => key('down')),
      s,
    );
    expect(s.detailScroll).toBe(Math.max(0, lines - (SIZE.rows - 3)));
  });

  it('opens a container detail listing its findings', () => {
    const s = run(model, [type('4'), key('enter')]);
    expect(s.detail).toEqual({ kind: 'container', index: 0 });
    const text = detailContent(model, { kind: 'container', index: 0 })
      .map((l) => l.map((seg) => seg.text).join(''))
      .join('\n');
    expect(text).toContain('exposed-database');
    expect(text).toContain('0.0.0.0:5432→5432/tcp');
  });
});

describe('chains tree', () => {
  const model = buildModel(sampleData());

  it('starts with the hooks open and jumps closed, unreferenced chains listed after', () => {
    const rows = chainRows(model, model.initialExpanded);
    const titles = rows.map((r) =>
      r.kind === 'chain'
        ? r.title
        : r.kind === 'rule'
          ? `  #${r.rule.index} ${r.rule.text}`
          : `  ${r.text}`,
    );
    expect(titles[0]).toBe('filter FORWARD policy DROP (3 rules)');
    expect(titles).toContain('filter ORPHAN (1 rule)');
    expect(titles.indexOf('filter INPUT policy ACCEPT (1 rule)')).toBeGreaterThan(0);
  });

  it('opens a jump with Enter or →, closes with ←, and refuses to open a loop', () => {
    let s = run(model, [type('3'), key('down'), key('right')]);
    let rows = chainRows(model, s.expanded);
    expect(rows[2]).toMatchObject({ kind: 'rule', depth: 2, rule: { chain: 'DOCKER-USER' } });
    s = run(model, [key('left')], s);
    rows = chainRows(model, s.expanded);
    expect(rows[2]).toMatchObject({ kind: 'rule', depth: 1, rule: { chain: 'FORWARD', index: 2 } });
    // FORWARD #3 jumps to LOOPY, whose only rule jumps to itself.
    s = run(model, [key('down'), key('down'), key('enter'), key('down'), key('enter')], s);
    rows = chainRows(model, s.expanded);
    const loopy = rows.find((r) => r.kind === 'rule' && r.rule.chain === 'LOOPY');
    expect(loopy).toMatchObject({ expandable: false, note: 'loop: already on this path' });
  });

  it('closes the whole hook from one of its rules with ← twice', () => {
    let s = run(model, [type('3'), key('down'), key('left')]);
    expect(s.scroll.chains.cursor).toBe(0);
    s = run(model, [key('left')], s);
    expect(chainRows(model, s.expanded)[1]).toMatchObject({ kind: 'chain' });
  });

  it('counts the findings that touch each rule', () => {
    const rows = chainRows(model, new Set([...model.initialExpanded, 'filter FORWARD#2']));
    const dockerRule = rows.find((r) => r.kind === 'rule' && r.rule.chain === 'DOCKER');
    expect(dockerRule).toMatchObject({ findings: 1 });
  });
});

describe('packet tracer', () => {
  it('edits fields, validates them, and asks the app to run the trace', () => {
    const model = buildModel(sampleData());
    let s = run(model, [type('5')]);
    // The form starts with the first exposure's witness.
    expect(s.tracer.values).toEqual({
      from: '198.51.100.7',
      in: 'eth0',
      to: '192.0.2.10:5432',
      proto: 'tcp',
    });
    s = run(model, [key('down'), key('down'), key('enter')], s);
    expect(s.tracer.editing).toEqual({ field: 'to', draft: '192.0.2.10:5432' });
    s = run(
      model,
      [...Array.from({ length: 4 }, () => key('backspace')), type('80'), key('enter')],
      s,
    );
    expect(s.tracer.values.to).toBe('192.0.2.10:80');
    expect(s.tracer.focus).toBe(3);
    s = run(model, [key('down'), key('enter')], s);
    expect(s.tracer.request?.packet).toMatchObject({
      destination: '192.0.2.10',
      destinationPort: 80,
      protocol: 'tcp',
      inInterface: 'eth0',
    });
    const seq = s.tracer.request?.seq ?? -1;
    s = reduce(model, s, { type: 'trace.error', seq: seq - 1, message: 'stale' });
    expect(s.tracer.error).toBeNull();
    s = reduce(model, s, { type: 'trace.error', seq, message: 'boom' });
    expect(s.tracer.error).toBe('boom');
  });

  it('reports a malformed field instead of tracing', () => {
    const model = buildModel(sampleData());
    let s = run(model, [type('5'), key('enter')]);
    s = run(
      model,
      [
        ...Array.from({ length: 20 }, () => key('backspace')),
        type('not-an-ip'),
        key('enter'),
        type('t'),
      ],
      s,
    );
    expect(s.tracer.request).toBeNull();
    expect(s.tracer.error).toBe("from: 'not-an-ip' is not an IPv4 or IPv6 address");
  });

  it('traces the witness of an exposure on Enter, or shows the stored trace without an engine', () => {
    const withEngine = buildModel(sampleData());
    let s = run(withEngine, [type('2'), key('enter')]);
    expect(s.pane).toBe('tracer');
    expect(s.tracer.request?.packet).toEqual(exposure.witness);
    const noEngine = buildModel(sampleData({ tracer: null }));
    s = run(noEngine, [type('2'), key('enter')]);
    expect(s.tracer.request).toBeNull();
    expect(s.tracer.result?.steps).toEqual(exposure.trace);
  });
});

describe('keys typed faster than they are read', () => {
  it('takes `jj\\r` as three presses, and a pasted filter with Enter as text then Enter', () => {
    const model = buildModel(sampleData());
    let s = run(model, [type('j\r')]);
    expect(s.scroll.findings.cursor).toBe(1);
    expect(s.detail).toEqual({ kind: 'finding', finding: model.findings[1] });
    s = run(model, [key('escape'), type('/'), type('shadowed\r')], s);
    expect(s.filter.text).toBe('shadowed');
    expect(s.filterDraft).toBeNull();
  });
});

describe('diagnostics pane', () => {
  it('lists what could not be read and opens one with its hint', () => {
    const data = sampleData();
    const model = buildModel({
      ...data,
      audit: {
        ...data.audit,
        diagnostics: [
          {
            code: 'parse-error',
            severity: 'error',
            message: "unexpected token 'frobnicate'",
            location: { file: 'iptables.txt', line: 7, column: 3 },
            hint: 'Is this really iptables-save output?',
          },
        ],
      },
    });
    const s = run(model, [type('6'), key('enter')]);
    expect(s.detail).toEqual({ kind: 'diagnostic', index: 0 });
    const text = detailContent(model, { kind: 'diagnostic', index: 0 })
      .map((l) => l.map((seg) => seg.text).join(''))
      .join('\n');
    expect(text).toContain('ERROR  parse-error');
    expect(text).toContain('iptables.txt:7:3');
    expect(text).toContain('Is this really iptables-save output?');
  });
});

describe('tracer result scrolling', () => {
  it('pages through a long path and stops at its end, while ↑↓ still move between fields', () => {
    const model = buildModel(sampleData());
    const small = { columns: 100, rows: 14 };
    let s = [type('5'), type('t')].reduce(
      (st, a) => reduce(model, st, a),
      initialState(model, small),
    );
    const seq = s.tracer.request?.seq ?? -1;
    const { packets, tracer } = recordingTracer();
    const trace = tracer(exposure.witness);
    expect(packets).toHaveLength(1);
    s = reduce(model, s, { type: 'trace.result', seq, trace });
    const length = tracerResultLines(s).length;
    const height = tracerResultHeight(s);
    expect(length).toBeGreaterThan(height);
    s = run(model, [key('pageDown'), key('pageDown'), key('pageDown')], s);
    expect(s.tracer.scroll).toBe(length - height);
    s = run(model, [key('down')], s);
    expect(s.tracer.focus).toBe(1);
    expect(s.tracer.scroll).toBe(length - height);
  });
});
