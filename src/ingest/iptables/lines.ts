/**
 * The lines of a dump: lexes the text in chunks, splits the tokens into lines, and tells each
 * line's kind. The two common lines (`-A …` commands and `:NAME POLICY [p:b]` chain lines) are
 * told by their first tokens (the fast path); every other line goes through the grammar, and a
 * line that does not parse is reported and skipped.
 */
import type { CstNode, IToken } from 'chevrotain';
import {
  ChainStart as ChainStartToken,
  Comment as CommentToken,
  Commit as CommitToken,
  Counters as CountersToken,
  Dash as DashToken,
  IptablesLexer,
  Newline,
  Option as OptionToken,
  parseLine,
  TableStart as TableStartToken,
  Word as WordToken,
} from '../../../grammar/index.ts';
import type { Diagnostic, SourceLocation } from '../../model/index.ts';
import { diagnostic } from '../../model/diagnostic.ts';
import type { DialectNote } from './dialect.ts';

/**
 * Bytes of text lexed per lexer call (rounded up to a whole line). 16 KiB: a chunk's tokens stay
 * alive while its lines are read, and smaller chunks let fewer of them survive a scavenge
 * (measured faster than 64 KiB and 256 KiB on the 100k-rule dump; 4 KiB gains nothing more).
 */
const CHUNK_SIZE = 1 << 14;

export type LineKind = 'commentLine' | 'tableLine' | 'chainLine' | 'commitLine' | 'commandLine';

export interface DumpLine {
  readonly kind: LineKind;
  /** The line's tokens (at least one), positioned on the line of the whole text. */
  readonly tokens: readonly IToken[];
  /** The line as written, without its '\n' (a CRLF file's line keeps its '\r'). */
  readonly raw: string;
}

export function tokenLocation(file: string, t: IToken): SourceLocation {
  const line = t.startLine ?? 1;
  const column = t.startColumn ?? 1;
  return { file, line, column, endLine: t.endLine ?? line, endColumn: (t.endColumn ?? column) + 1 };
}

/** The line without a carriage return at its end. */
export function lineText(raw: string): string {
  return raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
}

/**
 * Calls `onLine` for every non-empty line that is a line of the format, in order. Lexing errors
 * and lines the grammar refuses become diagnostics. Only one chunk's tokens are alive at a time:
 * one lexer call per chunk keeps the lexer's per-call cost low.
 */
export function readLines(
  text: string,
  file: string,
  diagnostics: Diagnostic[],
  dialect: DialectNote,
  onLine: (line: DumpLine) => void,
): void {
  const crIndex = text.indexOf('\r\n');
  if (crIndex !== -1) {
    const line = countLines(text, crIndex);
    dialect('crlf', { file, line, column: crIndex - text.lastIndexOf('\n', crIndex - 1) });
  }

  let lineBase = 0;
  for (let pos = 0; pos < text.length;) {
    let end = pos + CHUNK_SIZE >= text.length ? -1 : text.indexOf('\n', pos + CHUNK_SIZE);
    end = end === -1 ? text.length : end + 1;
    const chunk = text.slice(pos, end);
    pos = end;
    const lexed = IptablesLexer.tokenize(chunk);
    for (const e of lexed.errors) {
      diagnostics.push(
        diagnostic('parse-error', 'error', `unexpected character '${chunk.charAt(e.offset)}'`, {
          file,
          line: lineBase + (e.line ?? 1),
          column: e.column ?? 1,
        }),
      );
    }
    const all = lexed.tokens;
    let next = 0;
    let lineStart = 0;
    let newlines = 0;
    for (let more = true; more;) {
      const tokens: IToken[] = [];
      let newline: IToken | undefined;
      while (next < all.length) {
        const t = all[next++] as IToken;
        if (t.tokenType === Newline) {
          newline = t;
          break;
        }
        tokens.push(t);
      }
      more = newline !== undefined;
      const raw = chunk.slice(
        lineStart,
        newline === undefined ? chunk.length : newline.startOffset,
      );
      const lineNo = lineBase + newlines + 1;
      if (newline !== undefined) {
        lineStart = newline.startOffset + 1;
        newlines++;
      }
      if (tokens.length === 0) continue;
      for (const t of tokens) {
        t.startLine = lineNo;
        t.endLine = lineNo;
      }
      const kind = fastLineKind(tokens) ?? grammarLineKind(tokens, raw, file, diagnostics);
      if (kind !== undefined) onLine({ kind, tokens, raw });
    }
    lineBase += newlines;
  }
}

/**
 * A line opening with an option (`-A …`, `[0:0] -A …`) is always a valid commandLine, since every
 * other token is an Item; a plain chain line likewise, and a line of one table, COMMIT or comment
 * token. Their tokens are read directly, so the CST the parser would build is skipped, and a dump
 * of only such lines (nearly every dump) never builds the parser at all.
 */
function fastLineKind(tokens: readonly IToken[]): LineKind | undefined {
  const first = tokens[0] as IToken;
  const second = tokens[1];
  if (
    first.tokenType === OptionToken ||
    (first.tokenType === CountersToken && second?.tokenType === OptionToken)
  ) {
    return 'commandLine';
  }
  const n = tokens.length;
  if (n === 1) {
    if (first.tokenType === TableStartToken) return 'tableLine';
    if (first.tokenType === CommitToken) return 'commitLine';
    if (first.tokenType === CommentToken) return 'commentLine';
  }
  if (
    first.tokenType === ChainStartToken &&
    (n === 1 ||
      ((second?.tokenType === DashToken || second?.tokenType === WordToken) &&
        (n === 2 || (n === 3 && tokens[2]?.tokenType === CountersToken))))
  ) {
    return 'chainLine';
  }
  return undefined;
}

/** Parses an unusual line with the grammar: its kind, or undefined when reported as an error. */
function grammarLineKind(
  tokens: IToken[],
  raw: string,
  file: string,
  diagnostics: Diagnostic[],
): LineKind | undefined {
  const first = tokens[0] as IToken;
  const parsed = parseLine(tokens);
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0];
    const at =
      // Chevrotain reports a missing token at a virtual EOF token (no position): use the line start.
      e !== undefined && e.token.startOffset >= 0 && e.token.tokenType.name !== 'EOF'
        ? e.token
        : first;
    const shown = lineText(raw);
    diagnostics.push(
      diagnostic(
        'parse-error',
        'error',
        `not an iptables line: '${shown.length > 80 ? `${shown.slice(0, 77)}...` : shown}'`,
        tokenLocation(file, at),
        'remove shell prompts and command output around the dump',
      ),
    );
    return undefined;
  }
  const lineNode = parsed.cst.children;
  const child = (lineNode.commandLine ??
    lineNode.commentLine ??
    lineNode.chainLine ??
    lineNode.tableLine ??
    lineNode.commitLine)?.[0] as CstNode | undefined;
  return child?.name as LineKind | undefined;
}

function countLines(text: string, offset: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
