/**
 * YAML → the located value tree the JSON loaders use (`JsonValue`), read with the `yaml` package:
 * every key and value keeps its line and column, anchors and aliases are resolved, `<<` merge keys
 * applied. A hook may rewrite each string scalar as it is read (Compose's variable interpolation)
 * and report located diagnostics. YAML syntax errors become diagnostics; the part of the document
 * that could be read is still returned. A document nested deeper than JSON may be is not read.
 */
import type { CST, Node } from 'yaml';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, Parser, parseDocument } from 'yaml';
import type { Diagnostic, SourceLocation } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import type { JsonObjectEntry, JsonValue } from './json.ts';
import { MAX_NESTING, TOO_DEEP } from './json.ts';

/** What is said where a YAML document nests too deeply (it is not read at all). */
export const YAML_TOO_DEEP = `the document is ${TOO_DEEP}; dockwall does not read a document this deep`;

/**
 * Where a YAML text first nests collections deeper than `MAX_NESTING` (line and column), else
 * null. Building a document that deep overflows the call stack (the \`yaml\` package recurses per
 * level), so the parser's token tree is walked first, with a stack of its own.
 */
export function yamlTooDeep(text: string): { line: number; column: number } | null {
  const lines = new LineCounter();
  for (const token of new Parser(lines.addNewLine).parse(text)) {
    const stack: { token: CST.Token | null | undefined; depth: number }[] = [{ token, depth: 0 }];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      const t = next.token;
      if (t === null || t === undefined) continue;
      if (t.type === 'document') stack.push({ token: t.value, depth: next.depth });
      if (t.type !== 'block-map' && t.type !== 'block-seq' && t.type !== 'flow-collection') {
        continue;
      }
      if (next.depth >= MAX_NESTING) {
        const p = lines.linePos(t.offset);
        return { line: p.line, column: p.col };
      }
      for (const item of t.items) {
        if ('key' in item) stack.push({ token: item.key, depth: next.depth + 1 });
        stack.push({ token: item.value, depth: next.depth + 1 });
      }
    }
  }
  return null;
}

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
  const deep = yamlTooDeep(text);
  if (deep !== null) {
    return {
      value: null,
      diagnostics: [diagnostic('input-too-large', 'error', YAML_TOO_DEEP, { file, ...deep })],
    };
  }
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
