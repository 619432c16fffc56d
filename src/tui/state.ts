/**
 * The review UI's state and its pure reducer. Views read the state; key presses become named
 * commands (keymap.ts) and commands become actions here. Side effects (running the engine's
 * trace, quitting) are requested through the state and carried out by the app component.
 */
import type { Exposure, Finding } from '../model/audit.ts';
import type { Severity } from '../model/diagnostic.ts';
import type { Packet, Trace } from '../model/trace.ts';
import type { CommandId, InputMode, KeyInfo } from './keymap.ts';
import { resolveKey, splitPresses } from './keymap.ts';
import type { FieldId, FormValues } from './packet-form.ts';
import { FIELDS, parseForm, valuesOf } from './packet-form.ts';
import { exposureFrom } from './format.ts';
import type { Line } from './lines.ts';
import { containerLines, diagnosticLines, findingLines, traceLines } from './lines.ts';
import type { FindingFilter, ReviewModel } from './view-model.ts';
import {
  SEVERITIES,
  chainRows,
  filterFindings,
  findingRowIndex,
  findingRows,
} from './view-model.ts';
import { bareAddress } from '../model/address-text.ts';

export type PaneId = 'findings' | 'exposures' | 'chains' | 'containers' | 'tracer' | 'diagnostics';
export const PANES: readonly PaneId[] = [
  'findings',
  'exposures',
  'chains',
  'containers',
  'tracer',
  'diagnostics',
];
const LIST_PANES = ['findings', 'exposures', 'chains', 'containers', 'diagnostics'] as const;
export type ListPane = Exclude<PaneId, 'tracer'>;

export interface Scroll {
  /** Selected item (for findings: index in the filtered list; else the row). */
  readonly cursor: number;
  /** First visible row. */
  readonly offset: number;
}

export type Detail =
  | { readonly kind: 'finding'; readonly finding: Finding }
  | { readonly kind: 'container'; readonly index: number }
  | { readonly kind: 'diagnostic'; readonly index: number };

export interface TracerState {
  readonly values: FormValues;
  /** 0..3: a field; 4: the Trace button. */
  readonly focus: number;
  /** The field being typed into, and its text so far. */
  readonly editing: { readonly field: FieldId; readonly draft: string } | null;
  /** A trace the app should run (seq tells results of older requests apart). */
  readonly request: { readonly seq: number; readonly packet: Packet } | null;
  readonly seq: number;
  readonly result: Trace | null;
  readonly error: string | null;
  /** Where the trace came from, shown above the path (`form`, or the exposure or finding). */
  readonly origin: string;
  /** First visible line of the result (paged with PageUp/PageDown). */
  readonly scroll: number;
}

export interface ReviewState {
  readonly pane: PaneId;
  readonly scroll: Readonly<Record<ListPane, Scroll>>;
  readonly filter: FindingFilter;
  /** Text filter being typed; null when not typing. */
  readonly filterDraft: string | null;
  readonly detail: Detail | null;
  readonly detailScroll: number;
  readonly help: boolean;
  readonly expanded: ReadonlySet<string>;
  readonly tracer: TracerState;
  readonly size: { readonly columns: number; readonly rows: number };
  readonly quit: boolean;
}

export type Action =
  /** A raw key press; resolved through the keymap against the state it arrives in. */
  | { readonly type: 'key'; readonly input: string; readonly key: KeyInfo }
  | { readonly type: 'command'; readonly command: CommandId }
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'backspace' }
  | { readonly type: 'resize'; readonly columns: number; readonly rows: number }
  | { readonly type: 'trace.result'; readonly seq: number; readonly trace: Trace }
  | { readonly type: 'trace.error'; readonly seq: number; readonly message: string };

// Layout shared with the views: tab bar, pane title and status line, plus a column header.
const CHROME_ROWS = 4;

/** Rows available to a pane's list (also the page size). */
export function listHeight(state: ReviewState): number {
  return Math.max(1, state.size.rows - CHROME_ROWS);
}

/** Rows available to a detail view's body. */
export function detailHeight(state: ReviewState): number {
  return Math.max(1, state.size.rows - 3);
}

const START: Scroll = { cursor: 0, offset: 0 };

function defaultInterface(model: ReviewModel): string {
  const ifaces = model.data.host?.interfaces ?? [];
  const external = ifaces.find(
    (i) => i.kind !== 'loopback' && i.kind !== 'bridge' && i.kind !== 'veth' && i.name !== 'lo',
  );
  return external?.name ?? 'eth0';
}

function defaultValues(model: ReviewModel): FormValues {
  const first = model.exposures[0];
  if (first !== undefined) return valuesOf(first.witness);
  return { from: '203.0.113.10', in: defaultInterface(model), to: '', proto: 'tcp' };
}

export function initialState(
  model: ReviewModel,
  size: { columns: number; rows: number },
): ReviewState {
  return {
    pane: 'findings',
    scroll: {
      findings: START,
      exposures: START,
      chains: START,
      containers: START,
      diagnostics: START,
    },
    filter: { severities: SEVERITIES, text: '' },
    filterDraft: null,
    detail: null,
    detailScroll: 0,
    help: false,
    expanded: model.initialExpanded,
    tracer: {
      values: defaultValues(model),
      focus: 0,
      editing: null,
      request: null,
      seq: 0,
      result: null,
      error: null,
      origin: 'form',
      scroll: 0,
    },
    size,
    quit: false,
  };
}

/** Which keymap mode the state is in. */
export function inputMode(state: ReviewState): InputMode {
  if (state.help) return 'help';
  if (state.filterDraft !== null || state.tracer.editing !== null) return 'text';
  if (state.detail !== null) return 'detail';
  return 'list';
}

// ---------------------------------------------------------------------------------------------
// Lists

/** Number of selectable items in a list pane. */
export function itemCount(model: ReviewModel, state: ReviewState, pane: ListPane): number {
  switch (pane) {
    case 'findings':
      return filterFindings(model, state.filter).length;
    case 'exposures':
      return model.exposures.length;
    case 'chains':
      return chainRows(model, state.expanded).length;
    case 'containers':
      return model.containers.length;
    case 'diagnostics':
      // Assumptions (what stood in for a missing file) are listed after the diagnostics.
      return model.data.audit.diagnostics.length + model.data.audit.snapshot.assumptions.length;
  }
}

/** The display row of the cursor (findings interleave severity headers). */
function cursorRow(model: ReviewModel, state: ReviewState, pane: ListPane, cursor: number): number {
  if (pane !== 'findings') return cursor;
  return findingRowIndex(findingRows(filterFindings(model, state.filter)), cursor);
}

function rowCount(model: ReviewModel, state: ReviewState, pane: ListPane): number {
  return pane === 'findings'
    ? findingRows(filterFindings(model, state.filter)).length
    : itemCount(model, state, pane);
}

/** Move the cursor to `cursor` (clamped) and scroll just enough to keep it visible. */
function placeCursor(
  model: ReviewModel,
  state: ReviewState,
  pane: ListPane,
  cursor: number,
): ReviewState {
  const count = itemCount(model, state, pane);
  const clamped = count === 0 ? 0 : Math.min(Math.max(0, cursor), count - 1);
  const height = listHeight(state);
  const row = cursorRow(model, state, pane, clamped);
  // Keep a group header visible when the first finding of a group is selected.
  const top = pane === 'findings' && clamped === 0 ? 0 : row;
  let offset = state.scroll[pane].offset;
  if (top < offset) offset = top;
  if (row >= offset + height) offset = row - height + 1;
  offset = Math.max(0, Math.min(offset, Math.max(0, rowCount(model, state, pane) - height)));
  return {
    ...state,
    scroll: { ...state.scroll, [pane]: { cursor: clamped, offset } },
  };
}

/** The lines of the open detail view. */
export function detailContent(model: ReviewModel, detail: Detail, width = 100): Line[] {
  if (detail.kind === 'finding') {
    return findingLines(detail.finding, model.data.ruleDoc(detail.finding.ruleId), width);
  }
  if (detail.kind === 'diagnostic') {
    const d = model.data.audit.diagnostics[detail.index];
    return d === undefined ? [] : diagnosticLines(d, width);
  }
  const row = model.containers[detail.index];
  return row === undefined ? [] : containerLines(row);
}

/** Lines of the tracer pane's result. */
export function tracerResultLines(state: ReviewState): Line[] {
  return state.tracer.result === null ? [] : traceLines(state.tracer.result);
}

/** Rows left for the trace under the tracer form (form, button, origin, blank, status). */
export function tracerResultHeight(state: ReviewState): number {
  return Math.max(1, state.size.rows - 3 - FIELDS.length - 3);
}

function clampScroll(scroll: number, length: number, height: number): number {
  return Math.max(0, Math.min(scroll, length - height));
}

function moveBy(model: ReviewModel, state: ReviewState, delta: number): ReviewState {
  if (state.detail !== null) {
    const length = detailContent(model, state.detail, state.size.columns).length;
    const detailScroll = clampScroll(state.detailScroll + delta, length, detailHeight(state));
    return { ...state, detailScroll };
  }
  if (state.pane === 'tracer' && Math.abs(delta) > 1) {
    // Paging scrolls the trace; single steps move between the form's fields.
    const length = tracerResultLines(state).length;
    const scroll = clampScroll(state.tracer.scroll + delta, length, tracerResultHeight(state));
    return { ...state, tracer: { ...state.tracer, scroll } };
  }
  if (state.pane === 'tracer') {
    const focus = Math.min(FIELDS.length, Math.max(0, state.tracer.focus + Math.sign(delta)));
    return { ...state, tracer: { ...state.tracer, focus } };
  }
  const pane = state.pane;
  return placeCursor(model, state, pane, state.scroll[pane].cursor + delta);
}

function moveTo(model: ReviewModel, state: ReviewState, end: boolean): ReviewState {
  if (state.detail !== null) {
    const length = detailContent(model, state.detail, state.size.columns).length;
    return { ...state, detailScroll: end ? clampScroll(length, length, detailHeight(state)) : 0 };
  }
  if (state.pane === 'tracer') {
    return { ...state, tracer: { ...state.tracer, focus: end ? FIELDS.length : 0 } };
  }
  return placeCursor(model, state, state.pane, end ? Number.MAX_SAFE_INTEGER : 0);
}

/** After the findings list changed (filter), keep the cursor inside it. */
function reclampFindings(model: ReviewModel, state: ReviewState): ReviewState {
  const reset = { ...state, scroll: { ...state.scroll, findings: START } };
  return placeCursor(model, reset, 'findings', state.scroll.findings.cursor);
}

// ---------------------------------------------------------------------------------------------
// Chains tree

function setExpanded(
  model: ReviewModel,
  state: ReviewState,
  open: boolean | 'toggle',
): ReviewState {
  const rows = chainRows(model, state.expanded);
  const cursor = state.scroll.chains.cursor;
  const row = rows[cursor];
  if (row === undefined) return state;
  const canOpen = row.kind === 'chain' || (row.kind === 'rule' && row.expandable);
  const isOpen = row.kind !== 'policy' && row.expanded;
  const want = open === 'toggle' ? !isOpen : open;
  if (want === isOpen || (want && !canOpen)) {
    // Closing a row that is not open moves to its parent, as file trees do.
    if (!want && !isOpen && row.depth > 0) {
      const parentKey = row.key.slice(0, row.key.lastIndexOf('#'));
      const parent = rows.findIndex((r) => r.key === parentKey);
      if (parent >= 0) return placeCursor(model, state, 'chains', parent);
    }
    return state;
  }
  const expanded = new Set(state.expanded);
  if (want) expanded.add(row.key);
  else expanded.delete(row.key);
  return placeCursor(model, { ...state, expanded }, 'chains', cursor);
}

// ---------------------------------------------------------------------------------------------
// Tracer

function requestTrace(
  model: ReviewModel,
  state: ReviewState,
  values: FormValues,
  origin: string,
  stored: Trace | null,
): ReviewState {
  const parsed = parseForm(values);
  const seq = state.tracer.seq + 1;
  const base: TracerState = { ...state.tracer, values, editing: null, seq, origin, scroll: 0 };
  if (!parsed.ok) {
    return {
      ...state,
      pane: 'tracer',
      detail: null,
      tracer: { ...base, request: null, result: null, error: `${parsed.field}: ${parsed.message}` },
    };
  }
  if (model.data.trace === null) {
    // Without an engine for this snapshot, the trace the audit stored is the best we have.
    return {
      ...state,
      pane: 'tracer',
      detail: null,
      tracer: {
        ...base,
        request: null,
        result: stored,
        error: stored === null ? 'the packet engine is not available for this snapshot' : null,
      },
    };
  }
  return {
    ...state,
    pane: 'tracer',
    detail: null,
    tracer: { ...base, request: { seq, packet: parsed.packet }, result: null, error: null },
  };
}

function exposureTrace(e: Exposure): Trace {
  const host = e.target.kind === 'host' || e.target.proxiedBy !== null;
  const first = e.target.addresses[0];
  return {
    packet: e.witness,
    verdict: 'accepted',
    certainty: e.certainty,
    steps: e.trace,
    delivery: {
      kind: host ? 'local' : 'forward',
      address: first === undefined ? e.witness.destination : bareAddress(first),
      port: e.target.ports[0]?.from ?? e.witness.destinationPort,
      outInterface: e.target.outInterface,
    },
    uncertainRules: [],
    assumptions: e.assumptions,
  };
}

function traceSelected(model: ReviewModel, state: ReviewState): ReviewState {
  if (state.pane === 'tracer' && state.detail === null) {
    return requestTrace(model, state, state.tracer.values, 'form', null);
  }
  const finding =
    state.detail?.kind === 'finding'
      ? state.detail.finding
      : state.pane === 'findings' && state.detail === null
        ? filterFindings(model, state.filter)[state.scroll.findings.cursor]
        : undefined;
  if (finding !== undefined) {
    if (finding.witness === null) return state;
    const stored: Trace | null =
      finding.trace.length === 0
        ? null
        : {
            packet: finding.witness,
            verdict: 'accepted',
            certainty: finding.certainty,
            steps: finding.trace,
            delivery: null,
            uncertainRules: [],
            assumptions: [],
          };
    return requestTrace(
      model,
      state,
      valuesOf(finding.witness),
      `witness of ${finding.ruleId}`,
      stored,
    );
  }
  if (state.pane === 'exposures' && state.detail === null) {
    const e = model.exposures[state.scroll.exposures.cursor];
    if (e === undefined) return state;
    return requestTrace(
      model,
      state,
      valuesOf(e.witness),
      `witness of exposure ${exposureFrom(e)}`,
      exposureTrace(e),
    );
  }
  return state;
}

function openItem(model: ReviewModel, state: ReviewState): ReviewState {
  switch (state.pane) {
    case 'findings': {
      const finding = filterFindings(model, state.filter)[state.scroll.findings.cursor];
      return finding === undefined
        ? state
        : { ...state, detail: { kind: 'finding', finding }, detailScroll: 0 };
    }
    case 'exposures':
      // Enter on an exposure traces its witness packet through the chains.
      return traceSelected(model, state);
    case 'chains':
      return setExpanded(model, state, 'toggle');
    case 'containers':
      return model.containers[state.scroll.containers.cursor] === undefined
        ? state
        : {
            ...state,
            detail: { kind: 'container', index: state.scroll.containers.cursor },
            detailScroll: 0,
          };
    case 'diagnostics':
      return model.data.audit.diagnostics[state.scroll.diagnostics.cursor] === undefined
        ? state
        : {
            ...state,
            detail: { kind: 'diagnostic', index: state.scroll.diagnostics.cursor },
            detailScroll: 0,
          };
    case 'tracer': {
      const field = FIELDS[state.tracer.focus];
      if (field === undefined) return traceSelected(model, state);
      return {
        ...state,
        tracer: { ...state.tracer, editing: { field, draft: state.tracer.values[field] } },
      };
    }
  }
}

function toggleSeverity(model: ReviewModel, state: ReviewState, s: Severity): ReviewState {
  const has = state.filter.severities.includes(s);
  const severities = SEVERITIES.filter((x) =>
    x === s ? !has : state.filter.severities.includes(x),
  );
  return reclampFindings(model, { ...state, filter: { ...state.filter, severities } });
}

function switchPane(state: ReviewState, pane: PaneId): ReviewState {
  return { ...state, pane, detail: null, detailScroll: 0 };
}

// ---------------------------------------------------------------------------------------------
// Text entry (the findings filter and the tracer fields)

function commitText(model: ReviewModel, state: ReviewState): ReviewState {
  if (state.filterDraft !== null) {
    return reclampFindings(model, {
      ...state,
      filter: { ...state.filter, text: state.filterDraft },
      filterDraft: null,
    });
  }
  const editing = state.tracer.editing;
  if (editing === null) return state;
  const values = { ...state.tracer.values, [editing.field]: editing.draft };
  // Confirming a field moves on to the next one, so the form fills top to bottom.
  return {
    ...state,
    tracer: { ...state.tracer, values, editing: null, focus: state.tracer.focus + 1 },
  };
}

function editText(state: ReviewState, edit: (s: string) => string): ReviewState {
  if (state.filterDraft !== null) return { ...state, filterDraft: edit(state.filterDraft) };
  const editing = state.tracer.editing;
  if (editing === null) return state;
  return {
    ...state,
    tracer: { ...state.tracer, editing: { ...editing, draft: edit(editing.draft) } },
  };
}

function back(state: ReviewState): ReviewState {
  if (state.help) return { ...state, help: false };
  if (state.filterDraft !== null) return { ...state, filterDraft: null };
  if (state.tracer.editing !== null)
    return { ...state, tracer: { ...state.tracer, editing: null } };
  if (state.detail !== null) return { ...state, detail: null, detailScroll: 0 };
  return state;
}

function command(model: ReviewModel, state: ReviewState, c: CommandId): ReviewState {
  if (c === 'app.quit') return { ...state, quit: true };
  if (c === 'help.toggle') return { ...state, help: !state.help };
  if (state.help) return c === 'item.back' ? back(state) : state;
  if (inputMode(state) === 'text') {
    return c === 'item.open' ? commitText(model, state) : c === 'item.back' ? back(state) : state;
  }
  const page = state.detail === null ? listHeight(state) : detailHeight(state);
  switch (c) {
    case 'nav.up':
      return moveBy(model, state, -1);
    case 'nav.down':
      return moveBy(model, state, 1);
    case 'nav.pageUp':
      return moveBy(model, state, -page);
    case 'nav.pageDown':
      return moveBy(model, state, page);
    case 'nav.top':
      return moveTo(model, state, false);
    case 'nav.bottom':
      return moveTo(model, state, true);
    case 'item.open':
      return state.detail === null ? openItem(model, state) : state;
    case 'item.back':
      return back(state);
    case 'tree.expand':
      return state.pane === 'chains' ? setExpanded(model, state, true) : state;
    case 'tree.collapse':
      return state.pane === 'chains' ? setExpanded(model, state, false) : state;
    case 'pane.next':
    case 'pane.prev': {
      const i = PANES.indexOf(state.pane) + (c === 'pane.next' ? 1 : -1);
      return switchPane(state, PANES[(i + PANES.length) % PANES.length] ?? 'findings');
    }
    case 'pane.findings':
    case 'pane.exposures':
    case 'pane.chains':
    case 'pane.containers':
    case 'pane.tracer':
    case 'pane.diagnostics':
      return switchPane(state, c.slice('pane.'.length) as PaneId);
    case 'filter.text':
      return state.pane === 'findings' ? { ...state, filterDraft: state.filter.text } : state;
    case 'filter.error':
    case 'filter.warning':
    case 'filter.note':
      return state.pane === 'findings'
        ? toggleSeverity(model, state, c.slice('filter.'.length) as Severity)
        : state;
    case 'filter.clear':
      return state.pane === 'findings'
        ? reclampFindings(model, { ...state, filter: { severities: SEVERITIES, text: '' } })
        : state;
    case 'trace.run':
      return traceSelected(model, state);
  }
}

export function reduce(model: ReviewModel, state: ReviewState, action: Action): ReviewState {
  switch (action.type) {
    case 'key': {
      // Keys typed faster than the app reads arrive as one string (`j\r`): take them one by one.
      const presses = splitPresses(action.input, action.key);
      if (presses.length > 1) {
        return presses.reduce((s, p) => reduce(model, s, { type: 'key', ...p }), state);
      }
      const resolved = resolveKey(inputMode(state), action.input, action.key);
      switch (resolved.kind) {
        case 'command':
          return command(model, state, resolved.command);
        case 'text':
          return editText(state, (s) => s + resolved.text);
        case 'backspace':
          return editText(state, (s) => s.slice(0, -1));
        case 'none':
          return state;
      }
    }
    case 'command':
      return command(model, state, action.command);
    case 'text':
      return editText(state, (s) => s + action.text);
    case 'backspace':
      return editText(state, (s) => s.slice(0, -1));
    case 'resize': {
      const resized = { ...state, size: { columns: action.columns, rows: action.rows } };
      // Re-place every cursor so each stays visible in the new height.
      return LIST_PANES.reduce(
        (s, pane) => placeCursor(model, s, pane, s.scroll[pane].cursor),
        resized,
      );
    }
    case 'trace.result':
      return action.seq !== state.tracer.seq
        ? state
        : {
            ...state,
            tracer: { ...state.tracer, request: null, result: action.trace, error: null },
          };
    case 'trace.error':
      return action.seq !== state.tracer.seq
        ? state
        : {
            ...state,
            tracer: { ...state.tracer, request: null, result: null, error: action.message },
          };
  }
}

/** Findings shown under the current filter (for the tab bar). */
export function filterFindingsCount(model: ReviewModel, state: ReviewState): number {
  return filterFindings(model, state.filter).length;
}
