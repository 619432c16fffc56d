/**
 * A small strict JSON parser that keeps the line and column of every key and value.
 *
 * Host files are hand-edited (daemon.json) or cut short (a truncated `docker inspect` dump), so
 * errors must point at the exact place and say what is wrong in words: trailing commas,
 * comments, single quotes, unterminated strings, a file that ends inside an array. On an error
 * the values completed before it are kept (`partial`), so a truncated inspect array still yields
 * the containers that were complete.
 */
import type { Diagnostic, SourceLocation } from '../model/diagnostic.ts';
import { diagnostic } from '../model/diagnostic.ts';
import { echo } from '../model/safe-text.ts';

/**
 * Deepest nesting read, in JSON and YAML. Docker's files nest about ten levels; a `[[[…]]]` bomb
 * stops here with a located error instead of exhausting the stack (parsers recurse per level).
 */
export const MAX_NESTING = 256;

/** What is said where a document nests deeper than `MAX_NESTING`. */
export const TOO_DEEP = `nested deeper than ${MAX_NESTING} levels`;

interface Located {
  readonly location: SourceLocation;
}

export interface JsonObjectEntry {
  readonly key: string;
  readonly keyLocation: SourceLocation;
  readonly value: JsonValue;
}

export type JsonValue =
  | (Located & { readonly kind: 'object'; readonly entries: readonly JsonObjectEntry[] })
  | (Located & { readonly kind: 'array'; readonly items: readonly JsonValue[] })
  | (Located & { readonly kind: 'string'; readonly value: string })
  | (Located & { readonly kind: 'number'; readonly value: number })
  | (Located & { readonly kind: 'boolean'; readonly value: boolean })
  | (Located & { readonly kind: 'null' });

export type JsonObject = Extract<JsonValue, { kind: 'object' }>;
export type JsonArray = Extract<JsonValue, { kind: 'array' }>;

export interface JsonParseResult {
  /** The whole document, or null when it could not be read to the end. */
  readonly value: JsonValue | null;
  /** On error: the top-level value with every element completed before the error. */
  readonly partial: JsonValue | null;
  readonly diagnostics: readonly Diagnostic[];
}

class JsonSyntaxError extends Error {
  readonly location: SourceLocation;
  constructor(message: string, location: SourceLocation) {
    super(message);
    this.location = location;
  }
}

interface MutableObject {
  kind: 'object';
  entries: JsonObjectEntry[];
  location: SourceLocation;
}
interface MutableArray {
  kind: 'array';
  items: JsonValue[];
  location: SourceLocation;
}

/** Parses `text` as strict JSON (RFC 8259). Never throws. */
export function parseJson(text: string, file: string): JsonParseResult {
  const parser = new Parser(text, file);
  try {
    parser.skipSpace();
    if (parser.atEnd()) {
      throw new JsonSyntaxError('the file is empty; expected a JSON value', parser.here());
    }
    const value = parser.parseValue(true);
    parser.skipSpace();
    if (!parser.atEnd()) {
      throw new JsonSyntaxError(
        `unexpected ${parser.describeNext()} after the end of the JSON value`,
        parser.here(),
      );
    }
    return { value, partial: value, diagnostics: parser.warnings };
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return {
      value: null,
      partial: parser.top,
      diagnostics: [
        ...parser.warnings,
        diagnostic('invalid-json', 'error', error.message, error.location),
      ],
    };
  }
}

// Sticky patterns matched at the current position (no slicing of the remaining text).
const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const WORD = /[A-Za-z]+/y;
/** A run of string characters that need no escape handling. */
const PLAIN = /[^"\\\u0000-\u001f]+/y;

class Parser {
  private pos = 0;
  private line = 1;
  private column = 1;
  /** The outermost container, kept even when parsing fails inside it. */
  top: JsonValue | null = null;
  readonly warnings: Diagnostic[] = [];
  private readonly text: string;
  private readonly file: string;

  constructor(text: string, file: string) {
    // A UTF-8 byte order mark is not JSON, but editors write it; skip it without a column shift.
    this.text = text.startsWith('\uFEFF') ? text.slice(1) : text;
    this.file = file;
  }

  here(): SourceLocation {
    return { file: this.file, line: this.line, column: this.column };
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  /** Moves over `n` characters known not to contain a line break. */
  private skipOnLine(n: number): void {
    this.pos += n;
    this.column += n;
  }

  private advance(): void {
    if (this.text[this.pos] === '\n') {
      this.line += 1;
      this.column = 1;
    } else {
      this.column += 1;
    }
    this.pos += 1;
  }

  describeNext(): string {
    const c = this.peek();
    if (c === undefined) return 'end of file';
    if (c === '\n') return 'line break';
    return `'${echo(c)}'`;
  }

  skipSpace(): void {
    for (;;) {
      const c = this.peek();
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        this.advance();
      } else if (
        c === '/' &&
        (this.text[this.pos + 1] === '/' || this.text[this.pos + 1] === '*')
      ) {
        throw new JsonSyntaxError('comments are not allowed in JSON', this.here());
      } else if (c === '#') {
        throw new JsonSyntaxError("comments ('#') are not allowed in JSON", this.here());
      } else {
        return;
      }
    }
  }

  parseValue(isTop = false, depth = 0): JsonValue {
    this.skipSpace();
    const line = this.line;
    const column = this.column;
    const c = this.peek();
    switch (c) {
      case '{':
      case '[':
        if (depth >= MAX_NESTING) {
          throw new JsonSyntaxError(
            `${TOO_DEEP}; dockwall reads no further`,
            this.at(line, column),
          );
        }
        return c === '{'
          ? this.parseObject(line, column, isTop, depth + 1)
          : this.parseArray(line, column, isTop, depth + 1);
      case '"':
        return { kind: 'string', value: this.parseString(), location: this.span(line, column) };
      case "'":
        throw new JsonSyntaxError('strings must use double quotes in JSON', this.at(line, column));
      case 't':
      case 'f':
      case 'n':
        return this.parseLiteral(line, column);
      case undefined:
        throw new JsonSyntaxError(
          'unexpected end of file; expected a value',
          this.at(line, column),
        );
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.parseNumber(line, column);
        if (/[A-Za-z]/.test(c)) return this.parseLiteral(line, column);
        throw new JsonSyntaxError(
          `unexpected ${this.describeNext()}; expected a value`,
          this.at(line, column),
        );
    }
  }

  /** One allocation per located value: start given as numbers, end = the current position. */
  private span(line: number, column: number): SourceLocation {
    return { file: this.file, line, column, endLine: this.line, endColumn: this.column };
  }

  private at(line: number, column: number): SourceLocation {
    return { file: this.file, line, column };
  }

  private parseObject(line: number, column: number, isTop: boolean, depth: number): JsonValue {
    const object: MutableObject = { kind: 'object', entries: [], location: this.at(line, column) };
    if (isTop) this.top = object;
    this.advance();
    const seen = new Map<string, SourceLocation>();
    this.skipSpace();
    if (this.peek() === '}') {
      this.advance();
      object.location = this.span(line, column);
      return object;
    }
    for (;;) {
      this.skipSpace();
      const keyLine = this.line;
      const keyColumn = this.column;
      const c = this.peek();
      if (c === undefined) {
        throw new JsonSyntaxError(
          `unexpected end of file: the object opened at ${line}:${column} is not closed`,
          this.at(keyLine, keyColumn),
        );
      }
      if (c === '}') {
        throw new JsonSyntaxError(
          "trailing comma before '}' is not allowed in JSON",
          this.at(keyLine, keyColumn),
        );
      }
      if (c !== '"') {
        throw new JsonSyntaxError(
          c === "'"
            ? 'object keys must use double quotes in JSON'
            : `unexpected ${this.describeNext()}; expected a quoted key`,
          this.at(keyLine, keyColumn),
        );
      }
      const key = this.parseString();
      const keySpan = this.span(keyLine, keyColumn);
      this.skipSpace();
      if (this.peek() !== ':') {
        throw new JsonSyntaxError(
          this.atEnd()
            ? `unexpected end of file: the object opened at ${line}:${column} is not closed`
            : `expected ':' after key "${echo(key)}", found ${this.describeNext()}`,
          this.here(),
        );
      }
      this.advance();
      const value = this.parseValue(false, depth);
      const previous = seen.get(key);
      if (previous !== undefined) {
        this.warnings.push(
          diagnostic(
            'duplicate-json-key',
            'warning',
            `key "${echo(key)}" appears twice (first at ${previous.line}:${previous.column}); the last one counts`,
            keySpan,
          ),
        );
      }
      seen.set(key, keySpan);
      object.entries.push({ key, keyLocation: keySpan, value });
      this.skipSpace();
      const next = this.peek();
      if (next === ',') {
        this.advance();
        continue;
      }
      if (next === '}') {
        this.advance();
        object.location = this.span(line, column);
        return object;
      }
      throw new JsonSyntaxError(
        next === undefined
          ? `unexpected end of file: the object opened at ${line}:${column} is not closed`
          : `expected ',' or '}' after the value of "${echo(key)}", found ${this.describeNext()}`,
        this.here(),
      );
    }
  }

  private parseArray(line: number, column: number, isTop: boolean, depth: number): JsonValue {
    const array: MutableArray = { kind: 'array', items: [], location: this.at(line, column) };
    if (isTop) this.top = array;
    this.advance();
    this.skipSpace();
    if (this.peek() === ']') {
      this.advance();
      array.location = this.span(line, column);
      return array;
    }
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) {
        throw new JsonSyntaxError(
          `unexpected end of file: the array opened at ${line}:${column} is not closed`,
          this.here(),
        );
      }
      if (this.peek() === ']') {
        throw new JsonSyntaxError("trailing comma before ']' is not allowed in JSON", this.here());
      }
      array.items.push(this.parseValue(false, depth));
      this.skipSpace();
      const next = this.peek();
      if (next === ',') {
        this.advance();
        continue;
      }
      if (next === ']') {
        this.advance();
        array.location = this.span(line, column);
        return array;
      }
      throw new JsonSyntaxError(
        next === undefined
          ? `unexpected end of file: the array opened at ${line}:${column} is not closed`
          : `expected ',' or ']' in the array opened at ${line}:${column}, found ${this.describeNext()}`,
        this.here(),
      );
    }
  }

  private parseString(): string {
    const startLine = this.line;
    const startColumn = this.column;
    this.advance();
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) {
        throw new JsonSyntaxError(
          `unexpected end of file inside the string that starts at ${startLine}:${startColumn}`,
          this.here(),
        );
      }
      if (c === '"') {
        this.advance();
        return out;
      }
      PLAIN.lastIndex = this.pos;
      const plain = PLAIN.exec(this.text)?.[0] ?? '';
      if (plain.length > 0) {
        out += plain;
        this.skipOnLine(plain.length);
        continue;
      }
      if (c === '\n' || c === '\r') {
        throw new JsonSyntaxError(
          `line break inside the string that starts at ${startLine}:${startColumn}`,
          this.here(),
        );
      }
      if (c < ' ') {
        throw new JsonSyntaxError('control character inside a string must be escaped', this.here());
      }
      if (c === '\\') {
        const escapeAt = this.here();
        this.advance();
        const e = this.peek();
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          this.advance();
        } else if (e === 'u') {
          this.advance();
          const hex = this.text.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
            throw new JsonSyntaxError('\\u must be followed by four hex digits', escapeAt);
          }
          out += String.fromCharCode(parseInt(hex, 16));
          for (let i = 0; i < 4; i += 1) this.advance();
        } else {
          throw new JsonSyntaxError(`invalid escape '\\${echo(e ?? '')}' in a string`, escapeAt);
        }
        continue;
      }
      out += c;
      this.advance();
    }
  }

  private parseNumber(line: number, column: number): JsonValue {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) {
      throw new JsonSyntaxError(
        `invalid number starting with ${this.describeNext()}`,
        this.at(line, column),
      );
    }
    const after = this.text[this.pos + match[0].length];
    if (after !== undefined && /[0-9A-Za-z.+-]/.test(after)) {
      throw new JsonSyntaxError(
        `invalid number '${echo(match[0] + after)}' (JSON numbers have no leading zeros, hex or trailing dots)`,
        this.at(line, column),
      );
    }
    this.skipOnLine(match[0].length);
    return { kind: 'number', value: Number(match[0]), location: this.span(line, column) };
  }

  private parseLiteral(line: number, column: number): JsonValue {
    WORD.lastIndex = this.pos;
    const word = WORD.exec(this.text)?.[0] ?? '';
    const advanceWord = (): void => this.skipOnLine(word.length);
    if (word === 'true' || word === 'false') {
      advanceWord();
      return { kind: 'boolean', value: word === 'true', location: this.span(line, column) };
    }
    if (word === 'null') {
      advanceWord();
      return { kind: 'null', location: this.span(line, column) };
    }
    throw new JsonSyntaxError(
      `unexpected word '${echo(word)}'; expected a value (strings need double quotes)`,
      this.at(line, column),
    );
  }
}

/** The entry for `key` in an object (the last one when a key repeats, as JSON decoders do). */
export function getEntry(object: JsonObject, key: string): JsonObjectEntry | undefined {
  let found: JsonObjectEntry | undefined;
  for (const entry of object.entries) if (entry.key === key) found = entry;
  return found;
}

/** The same value as plain JS data (for the manifest, kept as read). */
export function toPlain(value: JsonValue): unknown {
  switch (value.kind) {
    case 'object':
      return Object.fromEntries(value.entries.map((e) => [e.key, toPlain(e.value)]));
    case 'array':
      return value.items.map(toPlain);
    case 'null':
      return null;
    default:
      return value.value;
  }
}
