/**
 * YAML → the located value tree the JSON loaders use (`JsonValue`), read with the `yaml` package:
 * every key and value keeps its line and column, anchors and aliases are resolved, `<<` merge keys
 * applied. A hook may rewrite each string scalar as it is read (Compose's variable interpolation)
 * and report located diagnostics. YAML syntax errors become diagnostics; the part of the document
 * that could be read is still returned.
 */
import type { Node } from 'yaml';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Diagnostic, SourceLocation } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { JsonObjectEntry, JsonValue } from './json.ts';

export interface YamlReadResult {
  /** null when the document is empty or unreadable. */
  readonly value: JsonValue | null;
  readonly diagnostics: readonly Diagnostic[];
}

/** Rewrites one string scalar; diagnostics it reports are located at the scalar. */
export type StringHook = (value: string, location: SourceLocation) => string;

/** Aliases nest at most this deep. */
const MAX_ALIAS_DEPTH = 32;
const MAX_NODES = 200_000;

export function readYaml(text: string, file: string, hook?: StringHook): YamlReadResult {
  const lineCounter = new LineCounter();
  const diagnostics: Diagnostic[] = [];
  const at = (offset: number, end?: number): SourceLocation => {
    const p = lineCounter.linePos(offset);
    if (end === undefined) return { file, line: p.line, column: p.col };
    const e = lineCounter.linePos(end);
    return { file, line: p.line, column: p.col, endLine: e.line, endColumn: e.col };
  };
  const doc = parseDocument(text, {
    lineCounter,
    merge: true,
    uniqueKeys: false,
    prettyErrors: false,
  });
  for (const e of [...doc.errors, ...doc.warnings]) {
    const first = e.message.split('\n')[0] ?? e.message;
    diagnostics.push(
      diagnostic(
        e.name === 'YAMLWarning' ? 'yaml-warning' : 'yaml-syntax',
        e.name === 'YAMLWarning' ? 'warning' : 'error',
        first.replace(/ at line \d+, column \d+.*$/, ''),
        at(e.pos[0]),
      ),
    );
  }
  let nodes = 0;
  // An alias is converted once and shared, so a document of nested aliases (a "billion laughs")
  // stays as small as it is written.
  const aliased = new Map<unknown, JsonValue>();
  const convert = (node: unknown, depth: number): JsonValue => {
    nodes += 1;
    const n = node as Node | null;
    const range = n?.range ?? [0, 0, 0];
    const location = at(range[0], range[1]);
    if (nodes > MAX_NODES || depth > MAX_ALIAS_DEPTH) {
      return { kind: 'null', location };
    }
    if (n === null || n === undefined) return { kind: 'null', location };
    if (isAlias(n)) {
      const target = n.resolve(doc);
      if (target === undefined) {
        diagnostics.push(
          diagnostic('yaml-syntax', 'error', `unknown alias *${n.source}`, location),
        );
        return { kind: 'null', location };
      }
      const known = aliased.get(target);
      if (known !== undefined) return known;
      const value = convert(target, depth + 1);
      aliased.set(target, value);
      return value;
    }
    if (isMap(n)) {
      const entries: JsonObjectEntry[] = [];
      for (const pair of n.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key as Node | null;
        const keyLocation = keyNode?.range ? at(keyNode.range[0], keyNode.range[1]) : location;
        const keyValue = isScalar(keyNode) ? keyNode.value : null;
        const key = scalarText(keyValue);
        if (key === null) {
          diagnostics.push(
            diagnostic('yaml-syntax', 'error', 'a mapping key must be a plain value', keyLocation),
          );
          continue;
        }
        if (entries.some((e) => e.key === key)) {
          diagnostics.push(
            diagnostic('duplicate-key', 'error', `duplicate key "${key}"`, keyLocation),
          );
          continue;
        }
        entries.push({ key, keyLocation, value: convert(pair.value, depth) });
      }
      return { kind: 'object', entries, location };
    }
    if (isSeq(n)) return { kind: 'array', items: n.items.map((i) => convert(i, depth)), location };
    if (isScalar(n)) {
      const v = n.value;
      if (v === null || v === undefined) return { kind: 'null', location };
      if (typeof v === 'boolean') return { kind: 'boolean', value: v, location };
      if (typeof v === 'number' || typeof v === 'bigint') {
        return { kind: 'number', value: Number(v), location };
      }
      const s = scalarText(v) ?? '';
      return { kind: 'string', value: hook === undefined ? s : hook(s, location), location };
    }
    return { kind: 'null', location };
  };
  const value = doc.contents === null ? null : convert(doc.contents, 0);
  if (nodes > MAX_NODES) {
    diagnostics.push(
      diagnostic(
        'input-too-large',
        'error',
        `the document expands to more than ${MAX_NODES} values; the rest was not read`,
        at(0),
      ),
    );
  }
  return { value, diagnostics };
}

function scalarText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return null;
}
